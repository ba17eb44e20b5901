#pragma once
/// Service configuration from the environment and an optional `.env` file.
/// Real environment variables win over `.env`. A bad value is an error that
/// names the variable; the caller prints it on one line and exits.
#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "common/error.hpp"
#include "speech/speech_options.hpp"

namespace aa::app {

struct Config {
  std::string ari_url;  // empty: start the embedded simulator
  std::string ari_username = "asterisk_ari";
  std::string ari_password = "asterisk_ari_pass";
  std::string ari_app = "openclaw-voice";
  std::chrono::milliseconds ari_timeout{10'000};
  std::string api_host = "0.0.0.0";
  uint16_t api_port = 3456;
  std::string api_key;      // empty: auth off
  std::string webhook_url;  // WEBHOOK_URL, or OPENCLAW_WEBHOOK_URL
  std::string webhook_secret;
  std::chrono::milliseconds webhook_timeout{5'000};
  std::string media_base_url;  // how Asterisk reaches us; empty: http://127.0.0.1:<port>
  std::string log_level = "info";
  std::string log_format = "text";
  uint16_t sim_port = 8088;  // embedded simulator (only without ARI_URL); 0 = any free port
  double sim_time_scale = 1.0;
  std::chrono::milliseconds shutdown_grace{5'000};
  /// Open HTTP + WebSocket connections; at the cap the longest-idle one is closed.
  size_t max_connections = 4096;
  /// UNTRACKED_CHANNELS: "adopt" (default) or "hangup" — what to do with a
  /// channel in our Stasis app that we do not track, found at start-up or after
  /// an events-socket outage.
  std::string untracked_channels = "adopt";
  /// ALLOWLIST_FILE: JSON {inbound:[digits], outbound:[digits]} (empty: everyone allowed).
  std::string allowlist_file;
  /// ASR_AUTO_START: "inbound" (default), "all" or "off" — which calls start an
  /// audio capture (and transcription) by themselves once ready.
  std::string asr_auto_start = "inbound";
  /// STREAM_URL: every inbound call streams to this agent server (ws:// or
  /// wss://) once answered, Twilio Media Streams–compatible; empty: off.
  std::string stream_url;
  std::string stream_format = "mulaw8k";  // STREAM_FORMAT: mulaw8k|slin16
  std::string stream_tracks = "inbound";  // STREAM_TRACKS: inbound|both
  std::chrono::milliseconds stream_connect_timeout{5'000};
  /// DATA_DIR: the event store's folder (events, webhook outbox, call history).
  /// load_config() defaults it to "data"; empty (DATA_DIR=off, and a Config
  /// built in code): no store — nothing survives a restart, no replay.
  std::string data_dir;
  std::chrono::hours event_retention{72};                // EVENT_RETENTION_HOURS
  std::chrono::hours call_retention{24 * 30};            // CALL_RETENTION_DAYS
  uint64_t store_max_bytes = 2048ull << 20;              // STORE_MAX_MB (the database's size bound)
  int webhook_max_attempts = 20;                         // WEBHOOK_MAX_ATTEMPTS
  std::chrono::seconds webhook_max_age{24 * 3600};       // WEBHOOK_MAX_AGE (s, or 30m, 24h, 2d)
  size_t webhook_max_pending = 100'000;                  // WEBHOOK_MAX_PENDING
  std::chrono::milliseconds webhook_retry_base{1000};    // WEBHOOK_RETRY_BASE_MS (first backoff)
  std::chrono::milliseconds webhook_retry_max{600'000};  // WEBHOOK_RETRY_MAX_MS (backoff cap)
  /// TTS_* and ASR_*: which speech engines run (speech/engines.hpp builds them).
  speech::SpeechOptions speech;

  bool simulated() const { return ari_url.empty(); }
};

using Environment = std::map<std::string, std::string>;

/// Parse KEY=VALUE lines (comments, blank lines, `export `, single/double quotes).
Environment parse_dotenv(std::string_view text);
/// The process environment, over the `.env` in `dir` (if any).
Environment read_environment(const std::string& dir = ".");
/// Validate and build the configuration.
Outcome<Config> load_config(const Environment& env);
/// Every variable with a one-line description (for --help and .env.example).
std::string describe_variables();

}  // namespace aa::app
