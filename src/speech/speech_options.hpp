#pragma once
/// Which speech engines the service runs and how they are tuned, from the
/// environment (src/app/config.cpp parses the variables named here; the
/// defaults below are the documented ones).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>

namespace aa::speech {

/// Embedded Flite (flite_tts.hpp).
struct FliteOptions {
  /// slt, kal16, awb or rms; anything else is replaced by slt (logged).
  std::string default_voice = "slt";
  /// Audio is handed to the io thread in pieces of at least this many samples
  /// (the first piece of each sentence goes at once, for latency).
  size_t chunk_samples = 1600;  // 100 ms at 16 kHz
};

/// Remote OpenAI-compatible TTS (http_tts.hpp), `POST {url}/v1/audio/speech`.
struct HttpTtsOptions {
  std::string url;                       // TTS_URL: http(s)://host[:port][/base], without /v1/...
  std::string default_voice = "vivian";  // TTS_DEFAULT_VOICE (tts-srv's default)
  std::string default_language = "English";  // TTS_DEFAULT_LANGUAGE
  /// TTS_TIMEOUT_MS: the whole request, connect to last byte (a cold remote
  /// model takes 10-20 s to load: the original's default).
  std::chrono::milliseconds timeout{30'000};
  std::chrono::milliseconds connect_timeout{5'000};
  bool verify_tls = true;
  /// Largest WAV accepted: 5000 characters of speech is ~6 min, 17 MB at 24 kHz.
  size_t max_body_bytes = 64 * 1024 * 1024;
};

/// Embedded PocketSphinx (pocketsphinx_asr.hpp).
struct PocketSphinxOptions {
  /// Debian's pocketsphinx-en-us: en-us/ (acoustic model), en-us.lm.bin, cmudict-en-us.dict.
  std::string model_dir = "/usr/share/pocketsphinx/model/en-us";
  /// A JSGF grammar (text): recognise only its sentences (exact, fast,
  /// deterministic; ~40 MB per decoder instead of ~100 MB). Empty: the
  /// open-vocabulary language model.
  std::string grammar;
  size_t max_sessions = 4;  // ASR_MAX_SESSIONS: open() beyond it is asr_unavailable
  /// Audio queued for a session's worker at most; beyond it the session
  /// reports asr_failed ("cannot keep up") and stops.
  std::chrono::milliseconds max_backlog{10'000};
  /// Cumulative partial hypotheses every this much speech (when changed).
  std::chrono::milliseconds partial_interval{500};
  /// finish() gives up waiting for the worker after this long.
  std::chrono::milliseconds finish_timeout{3'000};
  int max_hmm_per_frame = 2000;  // -maxhmmpf: ~0.3x real time instead of ~0.8x (default)
  bool prewarm = true;           // initialise one decoder when the engine starts
};

/// Remote ASR over WebSocket (ws_asr.hpp), the original's qwen3-asr protocol.
struct WsAsrOptions {
  std::string url;                   // ASR_URL: ws(s)://host[:port]/path
  std::string language = "English";  // ASR_LANGUAGE; "auto": no config message
  size_t max_sessions = 256;
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds reconnect_delay{2'000};
  int max_reconnects = 10;  // consecutive failed attempts before on_error
  /// Audio kept while (re)connecting; older audio is dropped (logged).
  std::chrono::milliseconds connect_buffer{2'000};
  /// finish(): how long to wait for the final after {"action":"flush"}.
  std::chrono::milliseconds flush_timeout{2'000};
  bool verify_tls = true;
};

/// Everything the factories (engines.hpp) need, from the environment.
struct SpeechOptions {
  /// TTS_ENGINE: "flite", "http" or "none"; empty: http when TTS_URL is set, else flite.
  std::string tts_engine;
  /// ASR_ENGINE: "pocketsphinx", "ws" or "none"; empty: ws when ASR_URL is set, else pocketsphinx.
  std::string asr_engine;
  /// TTS_DEFAULT_VOICE; empty: the engine's own default (slt, vivian).
  std::string tts_default_voice;
  std::string tts_default_language = "English";   // TTS_DEFAULT_LANGUAGE
  std::string tts_url;                            // TTS_URL
  std::chrono::milliseconds tts_timeout{30'000};  // TTS_TIMEOUT_MS
  std::string asr_url;                            // ASR_URL
  std::string asr_language = "English";           // ASR_LANGUAGE
  std::string asr_grammar_file;                   // ASR_GRAMMAR: JSGF file for PocketSphinx
  size_t asr_max_sessions = 0;                    // ASR_MAX_SESSIONS; 0: the engine's default
};

}  // namespace aa::speech
