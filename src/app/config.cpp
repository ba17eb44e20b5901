#include "app/config.hpp"

#include <charconv>
#include <fstream>
#include <sstream>

#include "common/util.hpp"

extern char** environ;

namespace aa::app {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

Error bad(std::string_view var, std::string_view why) {
  return Error(ErrorCode::validation_failed, std::string(var) + ": " + std::string(why));
}

bool parse_int(std::string_view s, int64_t lo, int64_t hi, int64_t& out) {
  int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  out = v;
  return true;
}

struct Var {
  const char* name;
  const char* help;
};
constexpr Var kVars[] = {
    {"ARI_URL", "Asterisk ARI base URL, e.g. http://127.0.0.1:8088 (empty: embedded simulator)"},
    {"ARI_USERNAME", "ARI user (ari.conf), default asterisk_ari"},
    {"ARI_PASSWORD", "ARI password, default asterisk_ari_pass"},
    {"ARI_APP", "Stasis application name, default openclaw-voice"},
    {"ARI_TIMEOUT_MS", "how long to wait for an ARI answer, default 10000"},
    {"API_HOST", "address to listen on, default 0.0.0.0"},
    {"API_PORT", "port to listen on, default 3456; 0 = any free port (logged at start)"},
    {"API_KEY", "API key required on every request but GET / (empty: auth off)"},
    {"WEBHOOK_URL", "where to POST call events (alias OPENCLAW_WEBHOOK_URL; empty: off)"},
    {"WEBHOOK_SECRET",
     "if set, webhooks carry X-Signature: t=<unix>,v1=<HMAC of t.body>,sha256=<HMAC of the body>"},
    {"WEBHOOK_TIMEOUT_MS", "webhook request timeout, default 5000"},
    {"WEBHOOK_MAX_ATTEMPTS", "attempts per webhook delivery before it is failed, default 20"},
    {"WEBHOOK_MAX_AGE", "how long a delivery is retried (seconds, or 30m, 24h, 2d), default 24h"},
    {"WEBHOOK_MAX_PENDING",
     "webhook deliveries waiting at most; beyond it new ones are refused, "
     "default 100000"},
    {"WEBHOOK_RETRY_BASE_MS", "first retry delay (doubles per attempt, with jitter), default 1000"},
    {"WEBHOOK_RETRY_MAX_MS", "longest retry delay, default 600000"},
    {"DATA_DIR",
     "folder of the event store (event log, webhook outbox, call history), default data; off: "
     "no store"},
    {"EVENT_RETENTION_HOURS", "how long events and failed deliveries are kept, default 72"},
    {"CALL_RETENTION_DAYS", "how long call history is kept, default 30"},
    {"STORE_MAX_MB", "the event store's size bound on disk (MB), default 2048"},
    {"MEDIA_BASE_URL",
     "URL at which Asterisk reaches this service for uploaded audio, default "
     "http://127.0.0.1:<API_PORT>"},
    {"LOG_LEVEL", "trace|debug|info|warn|error, default info"},
    {"LOG_FORMAT", "text|json, default text"},
    {"SIM_PORT", "port of the embedded simulator (no ARI_URL), default 8088; 0 = any free port"},
    {"SIM_TIME_SCALE", "embedded simulator's time scale (1 = real time), default 1"},
    {"SHUTDOWN_GRACE_MS", "how long in-flight requests may finish on SIGTERM, default 5000"},
    {"MAX_CONNECTIONS",
     "open HTTP + WebSocket connections; at the cap the longest-idle one is closed, default 4096"},
    {"ALLOWLIST_FILE",
     "JSON {inbound:[digits], outbound:[digits]}: who may call in and be called (empty list: "
     "all); re-read when it changes; invalid at start-up is a start-up error"},
    {"ASR_AUTO_START",
     "inbound|all|off: which calls start audio capture + transcription once ready, default "
     "inbound"},
    {"UNTRACKED_CHANNELS",
     "adopt|hangup: channels in our Stasis app that we do not track (found at start-up or "
     "after an outage) become calls, or are hung up; default adopt"},
    {"STREAM_URL",
     "ws:// or wss:// agent server: every inbound call streams there once answered (Twilio "
     "Media Streams protocol); empty: off"},
    {"STREAM_FORMAT", "mulaw8k|slin16: audio of STREAM_URL streams, default mulaw8k"},
    {"STREAM_TRACKS", "inbound|both: tracks of STREAM_URL streams, default inbound"},
    {"STREAM_CONNECT_TIMEOUT_MS", "how long dialling an agent server may take, default 5000"},
    {"TTS_ENGINE", "flite|http|none; default http when TTS_URL is set, else flite (embedded)"},
    {"TTS_URL", "OpenAI-compatible TTS server base URL (POST <url>/v1/audio/speech, WAV answer)"},
    {"TTS_DEFAULT_VOICE", "voice when a request names none; default slt (flite), vivian (http)"},
    {"TTS_DEFAULT_LANGUAGE", "language sent to the TTS server, default English"},
    {"TTS_TIMEOUT_MS", "whole TTS request (remote engine), default 30000, then 504"},
    {"ASR_ENGINE", "pocketsphinx|ws|none; default ws when ASR_URL is set, else pocketsphinx"},
    {"ASR_URL", "WebSocket ASR server (qwen3-asr protocol), e.g. ws://host:8001/ws/transcribe"},
    {"ASR_LANGUAGE",
     "language the ASR server is told (config message), default English; auto: none"},
    {"ASR_GRAMMAR", "JSGF grammar file: PocketSphinx recognises only its sentences (exact, fast)"},
    {"ASR_MAX_SESSIONS", "concurrent recognition sessions; default 4 (pocketsphinx), 256 (ws)"},
};

std::string lower(std::string s) {
  for (auto& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

template <typename Get, typename SetMs>
Status load_speech(Get& get, SetMs& set_ms, speech::SpeechOptions& s) {
  s.tts_url = get("TTS_URL");
  while (!s.tts_url.empty() && s.tts_url.back() == '/') s.tts_url.pop_back();
  if (!s.tts_url.empty()) {
    auto u = parse_url(s.tts_url);
    if (!u || (u->scheme != "http" && u->scheme != "https"))
      return bad("TTS_URL",
                 "must be an http:// or https:// base URL such as http://127.0.0.1:8000");
  }
  s.tts_engine = lower(get("TTS_ENGINE"));
  if (!s.tts_engine.empty() && s.tts_engine != "flite" && s.tts_engine != "http" &&
      s.tts_engine != "none")
    return bad("TTS_ENGINE", "must be flite, http or none");
  if (s.tts_engine == "http" && s.tts_url.empty())
    return bad("TTS_URL", "must be set when TTS_ENGINE is http");
  s.tts_default_voice = get("TTS_DEFAULT_VOICE");
  if (auto v = get("TTS_DEFAULT_LANGUAGE"); !v.empty()) s.tts_default_language = v;
  if (!set_ms("TTS_TIMEOUT_MS", s.tts_timeout, 100, 600'000))
    return bad("TTS_TIMEOUT_MS", "must be a whole number of milliseconds from 100 to 600000");
  s.asr_url = get("ASR_URL");
  if (!s.asr_url.empty()) {
    auto u = parse_url(s.asr_url);
    if (!u || (u->scheme != "ws" && u->scheme != "wss"))
      return bad("ASR_URL",
                 "must be a ws:// or wss:// URL such as ws://127.0.0.1:8001/ws/transcribe");
  }
  s.asr_engine = lower(get("ASR_ENGINE"));
  if (!s.asr_engine.empty() && s.asr_engine != "pocketsphinx" && s.asr_engine != "ws" &&
      s.asr_engine != "none")
    return bad("ASR_ENGINE", "must be pocketsphinx, ws or none");
  if (s.asr_engine == "ws" && s.asr_url.empty())
    return bad("ASR_URL", "must be set when ASR_ENGINE is ws");
  if (auto v = get("ASR_LANGUAGE"); !v.empty()) s.asr_language = v;
  s.asr_grammar_file = get("ASR_GRAMMAR");
  if (!s.asr_grammar_file.empty() && !std::ifstream(s.asr_grammar_file))
    return bad("ASR_GRAMMAR", "cannot read " + s.asr_grammar_file);
  if (auto v = get("ASR_MAX_SESSIONS"); !v.empty()) {
    int64_t n;
    if (!parse_int(v, 1, 10'000, n))
      return bad("ASR_MAX_SESSIONS", "must be a whole number from 1 to 10000");
    s.asr_max_sessions = static_cast<size_t>(n);
  }
  return ok_status();
}

}  // namespace

Environment parse_dotenv(std::string_view text) {
  Environment env;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::string_view l = trim(line);
    if (l.empty() || l.front() == '#') continue;
    if (l.substr(0, 7) == "export ") l = trim(l.substr(7));
    size_t eq = l.find('=');
    if (eq == std::string_view::npos) continue;
    std::string key(trim(l.substr(0, eq)));
    std::string_view value = trim(l.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    } else if (size_t hash = value.find(" #"); hash != std::string_view::npos) {
      value = trim(value.substr(0, hash));  // inline comment
    }
    if (!key.empty()) env[key] = std::string(value);
  }
  return env;
}

Environment read_environment(const std::string& dir) {
  Environment env;
  std::ifstream f(dir + "/.env");
  if (f) {
    std::stringstream ss;
    ss << f.rdbuf();
    env = parse_dotenv(ss.str());
  }
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq != std::string_view::npos)
      env[std::string(kv.substr(0, eq))] = std::string(kv.substr(eq + 1));
  }
  return env;
}

Outcome<Config> load_config(const Environment& env) {
  Config c;
  auto get = [&](const char* k) -> std::string {
    auto it = env.find(k);
    return it == env.end() ? std::string{} : std::string(trim(it->second));
  };
  auto set_ms = [&](const char* k, std::chrono::milliseconds& out, int64_t lo, int64_t hi) -> bool {
    std::string v = get(k);
    if (v.empty()) return true;
    int64_t n;
    if (!parse_int(v, lo, hi, n)) return false;
    out = std::chrono::milliseconds(n);
    return true;
  };

  c.ari_url = get("ARI_URL");
  while (!c.ari_url.empty() && c.ari_url.back() == '/') c.ari_url.pop_back();
  if (!c.ari_url.empty()) {
    auto u = parse_url(c.ari_url);
    if (!u)
      return bad("ARI_URL", "must be an http:// or https:// URL such as http://127.0.0.1:8088");
    if (u->scheme == "ws" || u->scheme == "wss")
      return bad("ARI_URL", "use the http(s):// base URL; the events socket is derived from it");
    // Accept a URL that already ends in /ari.
    if (c.ari_url.size() >= 4 && c.ari_url.substr(c.ari_url.size() - 4) == "/ari")
      c.ari_url.resize(c.ari_url.size() - 4);
  }
  if (auto v = get("ARI_USERNAME"); !v.empty()) c.ari_username = v;
  if (auto v = get("ARI_PASSWORD"); !v.empty()) c.ari_password = v;
  if (auto v = get("ARI_APP"); !v.empty()) {
    for (char ch : v)
      if (!(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_' || ch == '.'))
        return bad("ARI_APP", "may contain only letters, digits, '-', '_' and '.'");
    c.ari_app = v;
  }
  if (!set_ms("ARI_TIMEOUT_MS", c.ari_timeout, 100, 600'000))
    return bad("ARI_TIMEOUT_MS", "must be a whole number of milliseconds from 100 to 600000");
  if (auto v = get("API_HOST"); !v.empty()) c.api_host = v;
  if (auto v = get("API_PORT"); !v.empty()) {
    int64_t n;
    if (!parse_int(v, 0, 65535, n)) return bad("API_PORT", "must be a port number from 0 to 65535");
    c.api_port = static_cast<uint16_t>(n);
  }
  c.api_key = get("API_KEY");
  c.webhook_url = get("WEBHOOK_URL");
  if (c.webhook_url.empty()) c.webhook_url = get("OPENCLAW_WEBHOOK_URL");
  if (!c.webhook_url.empty()) {
    auto u = parse_url(c.webhook_url);
    if (!u || (u->scheme != "http" && u->scheme != "https"))
      return bad(get("WEBHOOK_URL").empty() ? "OPENCLAW_WEBHOOK_URL" : "WEBHOOK_URL",
                 "must be an http:// or https:// URL");
  }
  c.webhook_secret = get("WEBHOOK_SECRET");
  if (!set_ms("WEBHOOK_TIMEOUT_MS", c.webhook_timeout, 100, 120'000))
    return bad("WEBHOOK_TIMEOUT_MS", "must be a whole number of milliseconds from 100 to 120000");
  c.media_base_url = get("MEDIA_BASE_URL");
  while (!c.media_base_url.empty() && c.media_base_url.back() == '/') c.media_base_url.pop_back();
  if (!c.media_base_url.empty()) {
    auto u = parse_url(c.media_base_url);
    if (!u || (u->scheme != "http" && u->scheme != "https"))
      return bad("MEDIA_BASE_URL", "must be an http:// or https:// URL that Asterisk can reach");
  }  // empty: the service derives http://127.0.0.1:<bound port>
  if (auto v = get("LOG_LEVEL"); !v.empty()) {
    for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (v != "trace" && v != "debug" && v != "info" && v != "warn" && v != "error" && v != "off")
      return bad("LOG_LEVEL", "must be one of trace, debug, info, warn, error, off");
    c.log_level = v;
  }
  if (auto v = get("LOG_FORMAT"); !v.empty()) {
    if (v != "text" && v != "json") return bad("LOG_FORMAT", "must be text or json");
    c.log_format = v;
  }
  if (auto v = get("SIM_PORT"); !v.empty()) {
    int64_t n;
    if (!parse_int(v, 0, 65535, n)) return bad("SIM_PORT", "must be a port number from 0 to 65535");
    c.sim_port = static_cast<uint16_t>(n);
  }
  if (auto v = get("SIM_TIME_SCALE"); !v.empty()) {
    char* end = nullptr;
    double d = std::strtod(v.c_str(), &end);
    if (end != v.c_str() + v.size() || !(d > 0) || d > 100)
      return bad("SIM_TIME_SCALE", "must be a number greater than 0 and at most 100");
    c.sim_time_scale = d;
  }
  if (!set_ms("SHUTDOWN_GRACE_MS", c.shutdown_grace, 0, 600'000))
    return bad("SHUTDOWN_GRACE_MS", "must be a whole number of milliseconds from 0 to 600000");
  if (auto v = get("MAX_CONNECTIONS"); !v.empty()) {
    int64_t n;
    if (!parse_int(v, 16, 1'000'000, n))
      return bad("MAX_CONNECTIONS", "must be a whole number from 16 to 1000000");
    c.max_connections = static_cast<size_t>(n);
  }
  c.allowlist_file = get("ALLOWLIST_FILE");
  if (auto v = get("ASR_AUTO_START"); !v.empty()) {
    for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (v != "inbound" && v != "all" && v != "off")
      return bad("ASR_AUTO_START", "must be inbound, all or off");
    c.asr_auto_start = v;
  }
  if (auto v = get("UNTRACKED_CHANNELS"); !v.empty()) {
    for (auto& ch : v) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (v != "adopt" && v != "hangup") return bad("UNTRACKED_CHANNELS", "must be adopt or hangup");
    c.untracked_channels = v;
  }
  c.stream_url = get("STREAM_URL");
  if (!c.stream_url.empty()) {
    auto u = parse_url(c.stream_url);
    if (!u || (u->scheme != "ws" && u->scheme != "wss"))
      return bad("STREAM_URL", "must be a ws:// or wss:// URL of an agent server");
  }
  if (auto v = lower(get("STREAM_FORMAT")); !v.empty()) {
    if (v != "mulaw8k" && v != "slin16") return bad("STREAM_FORMAT", "must be mulaw8k or slin16");
    c.stream_format = v;
  }
  if (auto v = lower(get("STREAM_TRACKS")); !v.empty()) {
    if (v != "inbound" && v != "both") return bad("STREAM_TRACKS", "must be inbound or both");
    c.stream_tracks = v;
  }
  if (!set_ms("STREAM_CONNECT_TIMEOUT_MS", c.stream_connect_timeout, 100, 60'000))
    return bad("STREAM_CONNECT_TIMEOUT_MS",
               "must be a whole number of milliseconds from 100 to 60000");
  c.data_dir = "data";
  if (auto v = get("DATA_DIR"); !v.empty()) c.data_dir = lower(v) == "off" ? std::string{} : v;
  auto set_int = [&](const char* k, int64_t lo, int64_t hi, auto& out) -> bool {
    std::string v = get(k);
    if (v.empty()) return true;
    int64_t n;
    if (!parse_int(v, lo, hi, n)) return false;
    out = static_cast<std::decay_t<decltype(out)>>(n);
    return true;
  };
  int64_t hours = c.event_retention.count(), days = c.call_retention.count() / 24,
          mb = static_cast<int64_t>(c.store_max_bytes >> 20);
  if (!set_int("EVENT_RETENTION_HOURS", 1, 24 * 365, hours))
    return bad("EVENT_RETENTION_HOURS", "must be a whole number of hours from 1 to 8760");
  c.event_retention = std::chrono::hours(hours);
  if (!set_int("CALL_RETENTION_DAYS", 1, 3650, days))
    return bad("CALL_RETENTION_DAYS", "must be a whole number of days from 1 to 3650");
  c.call_retention = std::chrono::hours(24 * days);
  if (!set_int("STORE_MAX_MB", 1, 1'000'000, mb))
    return bad("STORE_MAX_MB", "must be a whole number of megabytes from 1 to 1000000");
  c.store_max_bytes = static_cast<uint64_t>(mb) << 20;
  if (!set_int("WEBHOOK_MAX_ATTEMPTS", 1, 1000, c.webhook_max_attempts))
    return bad("WEBHOOK_MAX_ATTEMPTS", "must be a whole number from 1 to 1000");
  if (!set_int("WEBHOOK_MAX_PENDING", 10, 10'000'000, c.webhook_max_pending))
    return bad("WEBHOOK_MAX_PENDING", "must be a whole number from 10 to 10000000");
  if (auto v = lower(get("WEBHOOK_MAX_AGE")); !v.empty()) {
    int64_t unit = 1;
    if (v.back() == 's' || v.back() == 'm' || v.back() == 'h' || v.back() == 'd') {
      unit = v.back() == 'm' ? 60 : v.back() == 'h' ? 3600 : v.back() == 'd' ? 86400 : 1;
      v.pop_back();
    }
    int64_t n;
    if (!parse_int(v, 1, 365 * 86400, n) || n * unit > 365 * 86400)
      return bad("WEBHOOK_MAX_AGE",
                 "must be a duration such as 3600, 90m, 24h or 7d (at most 365d)");
    c.webhook_max_age = std::chrono::seconds(n * unit);
  }
  if (!set_ms("WEBHOOK_RETRY_BASE_MS", c.webhook_retry_base, 10, 3'600'000))
    return bad("WEBHOOK_RETRY_BASE_MS",
               "must be a whole number of milliseconds from 10 to 3600000");
  if (!set_ms("WEBHOOK_RETRY_MAX_MS", c.webhook_retry_max, 10, 86'400'000))
    return bad("WEBHOOK_RETRY_MAX_MS",
               "must be a whole number of milliseconds from 10 to 86400000");
  if (auto st = load_speech(get, set_ms, c.speech); !st) return st.error();
  return c;
}

std::string describe_variables() {
  std::string out;
  for (const auto& v : kVars) {
    out += "  ";
    out += v.name;
    out.append(v.name[0] ? 22 - std::min<size_t>(21, std::string_view(v.name).size()) : 1, ' ');
    out += v.help;
    out += '\n';
  }
  return out;
}

}  // namespace aa::app
