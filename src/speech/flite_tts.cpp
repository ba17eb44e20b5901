#include "speech/flite_tts.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <mutex>
#include <optional>

#include "audio/resampler.hpp"
#include "common/log.hpp"

extern "C" {
#include <flite/flite.h>
cst_voice* register_cmu_us_slt(const char* voxdir);
cst_voice* register_cmu_us_kal16(const char* voxdir);
cst_voice* register_cmu_us_awb(const char* voxdir);
cst_voice* register_cmu_us_rms(const char* voxdir);
}

namespace aa::speech {

namespace {

constexpr const char* kVoiceNames[] = {"slt", "kal16", "awb", "rms"};

// Flite's global tables are set up once per process; voices are registered
// once and kept for the process's lifetime (they are read-only afterwards).
cst_voice* find_voice(const std::string& name) {
  static const std::map<std::string, cst_voice*> voices = [] {
    flite_init();
    std::map<std::string, cst_voice*> m;
    m["slt"] = register_cmu_us_slt(nullptr);
    m["kal16"] = register_cmu_us_kal16(nullptr);
    m["awb"] = register_cmu_us_awb(nullptr);
    m["rms"] = register_cmu_us_rms(nullptr);
    return m;
  }();
  auto it = voices.find(name);
  return it == voices.end() ? nullptr : it->second;
}

bool known_voice(std::string_view name) {
  return std::find(std::begin(kVoiceNames), std::end(kVoiceNames), name) != std::end(kVoiceNames);
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// A word before a '.' that does not end a sentence.
bool is_abbreviation(std::string_view word) {
  static constexpr std::string_view kAbbrev[] = {
      "mr",  "mrs", "ms",  "dr",   "st",  "jr",  "sr",     "prof", "vs",  "etc", "e.g",
      "i.e", "mt",  "ft",  "inc",  "ltd", "co",  "approx", "dept", "est", "fig", "gen",
      "gov", "lt",  "sgt", "capt", "col", "rev", "ave",    "blvd", "rd",  "jan", "feb",
      "mar", "apr", "jun", "jul",  "aug", "sep", "sept",   "oct",  "nov", "dec"};
  if (word.size() == 1 && std::isalpha(static_cast<unsigned char>(word[0])))
    return true;                                              // initials
  if (word.find('.') != std::string_view::npos) return true;  // "p.m", "U.S", "e.g"
  const std::string w = lower(word);
  return std::find(std::begin(kAbbrev), std::end(kAbbrev), w) != std::end(kAbbrev);
}

// One synthesis; shared by the caller (TtsJob handle), the worker and the
// posted callbacks. `cb` is touched only on the io thread.
struct Job final : TtsJob, std::enable_shared_from_this<Job> {
  asio::any_io_executor io;
  TtsCallbacks cb;
  std::atomic<bool> cancelled{false};

  void cancel() override { cancelled = true; }

  void post_audio(std::vector<int16_t> pcm) {
    if (pcm.empty()) return;
    asio::post(io, [self = shared_from_this(), pcm = std::move(pcm)]() mutable {
      if (!self->cancelled && self->cb.on_audio) self->cb.on_audio(std::move(pcm));
    });
  }
  // Always the last post: releases the callbacks (and what they hold).
  void post_done(Status st) {
    asio::post(io, [self = shared_from_this(), st = std::move(st)]() mutable {
      auto cb = std::move(self->cb);
      self->cb = {};
      if (!self->cancelled && cb.on_done) cb.on_done(std::move(st));
    });
  }
};

// Worker-side state of one synthesis: collects Flite's 20 ms pieces and hands
// them to the io thread in larger ones (converted to the requested rate).
struct Collector {
  std::shared_ptr<Job> job;
  size_t chunk_samples;
  uint32_t out_rate;
  std::optional<audio::Resampler> resampler;
  std::vector<int16_t> pending;
  bool sent_any = false;

  void add(const int16_t* s, size_t n, uint32_t rate) {
    if (rate != out_rate && !resampler) resampler.emplace(rate, out_rate);
    if (resampler)
      resampler->process(s, n, pending);
    else
      pending.insert(pending.end(), s, s + n);
    if (!sent_any || pending.size() >= chunk_samples) flush();
  }
  void flush() {
    if (pending.empty()) return;
    sent_any = true;
    std::vector<int16_t> out;
    out.swap(pending);
    pending.reserve(chunk_samples);
    job->post_audio(std::move(out));
  }
  void finish() {
    if (resampler) resampler->flush(pending);
    flush();
  }
};

int on_flite_audio(const cst_wave* w, int start, int size, int /*last*/,
                   cst_audio_streaming_info* asi) {
  auto* c = static_cast<Collector*>(asi->userdata);
  if (c->job->cancelled) return CST_AUDIO_STREAM_STOP;
  if (size > 0)
    c->add(w->samples + start, static_cast<size_t>(size), static_cast<uint32_t>(w->sample_rate));
  return CST_AUDIO_STREAM_CONT;
}

// Synthesise one sentence through the streaming callback. False when Flite
// produced nothing (and was not cancelled).
bool synth_sentence(cst_voice* voice, const std::string& text, double speed, Collector& c) {
  cst_utterance* u = new_utterance();
  utt_set_input_text(u, text.c_str());
  utt_init(u, voice);
  if (speed != 1.0)
    feat_set_float(u->features, "duration_stretch", static_cast<float>(1.0 / speed));
  cst_audio_streaming_info* asi = new_audio_streaming_info();  // owned by the utterance
  asi->min_buffsize = 320;                                     // 20 ms at 16 kHz
  asi->asc = on_flite_audio;
  asi->userdata = &c;
  feat_set(u->features, "streaming_info", audio_streaming_info_val(asi));
  cst_utterance* r = utt_synth(u);
  delete_utterance(u);
  return r != nullptr || c.job->cancelled;
}

}  // namespace

FliteTts::FliteTts(asio::any_io_executor io, WorkerPool& pool, FliteOptions opts)
    : io_(std::move(io)), pool_(pool), opts_(std::move(opts)) {
  default_voice_ = lower(opts_.default_voice);
  if (!known_voice(default_voice_)) {
    log::warn("Flite has no voice '{}' (slt, kal16, awb, rms): using slt", opts_.default_voice);
    default_voice_ = "slt";
  }
  if (opts_.chunk_samples == 0) opts_.chunk_samples = 1;
  // Register the voices now rather than during the first request.
  (void)find_voice(default_voice_);
}

std::vector<std::string> FliteTts::voices() const {
  return {std::begin(kVoiceNames), std::end(kVoiceNames)};
}

std::shared_ptr<TtsJob> FliteTts::synthesize(TtsRequest req, TtsCallbacks cb) {
  auto job = std::make_shared<Job>();
  job->io = io_;
  job->cb = std::move(cb);
  std::string voice = lower(req.voice);
  if (!known_voice(voice)) voice = default_voice_;
  const uint32_t rate = req.rate_hz ? req.rate_hz : 16000;
  asio::post(io_, [job, start = TtsStart{voice, rate}] {
    if (!job->cancelled && job->cb.on_start) job->cb.on_start(start);
  });
  const double speed = std::clamp(req.speed > 0 ? req.speed : 1.0, 0.25, 4.0);
  const size_t chunk = opts_.chunk_samples;
  bool queued = pool_.post([job, voice, text = std::move(req.text), speed, rate, chunk] {
    cst_voice* v = find_voice(voice);
    Collector c{job, chunk, rate, std::nullopt, {}, false};
    for (const auto& sentence : split_sentences(text)) {
      if (job->cancelled) break;
      if (!synth_sentence(v, sentence, speed, c)) {
        c.flush();
        job->post_done(Error(ErrorCode::tts_failed, "Speech synthesis failed",
                             "Flite produced no audio for: " + sentence.substr(0, 80)));
        return;
      }
      c.flush();  // a sentence's tail goes out before the next one's front end runs
    }
    if (!job->cancelled) c.finish();
    job->post_done(ok_status());
  });
  if (!queued) {
    job->post_done(Error(ErrorCode::tts_busy, "Speech synthesis is overloaded, try again",
                         "worker pool queue full"));
  }
  return job;
}

std::vector<std::string> FliteTts::split_sentences(std::string_view text, size_t max_chars) {
  std::vector<std::string> out;
  if (max_chars < 16) max_chars = 16;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  auto push = [&](std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    // Too long for one breath: cut at the last comma-like mark, else a space.
    while (s.size() > max_chars) {
      size_t cut = std::string_view::npos;
      for (size_t i = max_chars; i > max_chars / 3; --i) {
        const char c = s[i - 1];
        if ((c == ',' || c == ';' || c == ':') && is_space(s[i])) {
          cut = i;
          break;
        }
      }
      if (cut == std::string_view::npos) {
        size_t sp = s.substr(0, max_chars).find_last_of(" \t\r\n");
        cut = sp == std::string_view::npos || sp == 0 ? max_chars : sp;
      }
      std::string_view head = s.substr(0, cut);
      while (!head.empty() && is_space(head.back())) head.remove_suffix(1);
      if (!head.empty()) out.emplace_back(head);
      s.remove_prefix(cut);
      while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    }
    if (!s.empty()) out.emplace_back(s);
  };
  size_t begin = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\n') {
      push(text.substr(begin, i - begin));
      begin = i + 1;
      continue;
    }
    if (c != '.' && c != '!' && c != '?') continue;
    // Swallow repeated marks and closing quotes/brackets ("Really?!" "end.)").
    size_t j = i + 1;
    while (j < text.size() && std::string_view(".!?\"')]").find(text[j]) != std::string_view::npos)
      ++j;
    if (j < text.size() && !is_space(text[j])) {  // "3.5", "e.g.x", "a.m.": not an end
      i = j - 1;
      continue;
    }
    if (c == '.') {
      size_t w = i;
      while (w > begin && !is_space(text[w - 1])) --w;
      std::string_view word = text.substr(w, i - w);
      while (!word.empty() &&
             std::string_view("\"'([").find(word.front()) != std::string_view::npos)
        word.remove_prefix(1);
      if (is_abbreviation(word)) {
        i = j - 1;
        continue;
      }
    }
    push(text.substr(begin, j - begin));
    begin = j;
    i = j - 1;
  }
  if (begin < text.size()) push(text.substr(begin));
  return out;
}

}  // namespace aa::speech
