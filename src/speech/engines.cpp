#include "speech/engines.hpp"

#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.hpp"
#include "speech/flite_tts.hpp"
#include "speech/http_tts.hpp"
#include "speech/pocketsphinx_asr.hpp"
#include "speech/ws_asr.hpp"

namespace aa::speech {

namespace {

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

Error config_error(std::string_view var, std::string_view why) {
  return Error(ErrorCode::validation_failed, std::string(var) + ": " + std::string(why));
}

}  // namespace

std::string resolved_tts_engine(const SpeechOptions& o) {
  if (!o.tts_engine.empty()) return lower(o.tts_engine);
  return o.tts_url.empty() ? "flite" : "http";
}

std::string resolved_asr_engine(const SpeechOptions& o) {
  if (!o.asr_engine.empty()) return lower(o.asr_engine);
  return o.asr_url.empty() ? "pocketsphinx" : "ws";
}

Outcome<std::shared_ptr<TtsEngine>> make_tts_engine(const SpeechOptions& o,
                                                    asio::any_io_executor io, WorkerPool& pool) {
  const std::string engine = resolved_tts_engine(o);
  if (engine == "none") return std::shared_ptr<TtsEngine>();
  if (engine == "flite") {
    FliteOptions f;
    if (!o.tts_default_voice.empty()) f.default_voice = o.tts_default_voice;
    return std::shared_ptr<TtsEngine>(std::make_shared<FliteTts>(std::move(io), pool, f));
  }
  if (engine == "http") {
    if (o.tts_url.empty()) return config_error("TTS_URL", "must be set when TTS_ENGINE is http");
    HttpTtsOptions h;
    h.url = o.tts_url;
    if (!o.tts_default_voice.empty()) h.default_voice = o.tts_default_voice;
    if (!o.tts_default_language.empty()) h.default_language = o.tts_default_language;
    h.timeout = o.tts_timeout;
    return std::shared_ptr<TtsEngine>(std::make_shared<HttpTts>(std::move(io), pool, h));
  }
  return config_error("TTS_ENGINE", "must be flite, http or none");
}

Outcome<std::shared_ptr<AsrEngine>> make_asr_engine(const SpeechOptions& o,
                                                    asio::any_io_executor io, WorkerPool& pool) {
  const std::string engine = resolved_asr_engine(o);
  if (engine == "none") return std::shared_ptr<AsrEngine>();
  if (engine == "pocketsphinx") {
    PocketSphinxOptions p;
    if (o.asr_max_sessions) p.max_sessions = o.asr_max_sessions;
    // Loaded on the first capture, not at start: an idle service does not hold
    // ~90 MB of language model (the first capture's audio waits ~1 s for it).
    // A missing model is still a start-up error.
    p.prewarm = false;
    if (std::error_code ec; !std::filesystem::is_directory(p.model_dir, ec))
      return config_error("ASR_ENGINE", "pocketsphinx: no acoustic model at " + p.model_dir +
                                            " (Debian package pocketsphinx-en-us)");
    if (!o.asr_grammar_file.empty()) {
      std::ifstream f(o.asr_grammar_file);
      if (!f) return config_error("ASR_GRAMMAR", "cannot read " + o.asr_grammar_file);
      std::stringstream ss;
      ss << f.rdbuf();
      p.grammar = ss.str();
      if (p.grammar.find_first_not_of(" \t\r\n") == std::string::npos)
        return config_error("ASR_GRAMMAR", o.asr_grammar_file + " is empty");
    }
    return std::shared_ptr<AsrEngine>(std::make_shared<PocketSphinxAsr>(std::move(io), pool, p));
  }
  if (engine == "ws") {
    if (o.asr_url.empty()) return config_error("ASR_URL", "must be set when ASR_ENGINE is ws");
    WsAsrOptions w;
    w.url = o.asr_url;
    if (!o.asr_language.empty()) w.language = o.asr_language;
    if (o.asr_max_sessions) w.max_sessions = o.asr_max_sessions;
    return std::shared_ptr<AsrEngine>(std::make_shared<WsAsr>(std::move(io), w));
  }
  return config_error("ASR_ENGINE", "must be pocketsphinx, ws or none");
}

}  // namespace aa::speech
