#pragma once
/// Text-to-speech behind one small interface, so the voice layer never knows
/// which engine speaks: embedded Flite (flite_tts.hpp) or a remote
/// OpenAI-compatible `POST {TTS_URL}/v1/audio/speech` (http_tts.hpp).
///
/// Audio leaves every engine as 16-bit signed mono PCM (host order) at the
/// rate the request asks for (`TtsRequest::rate_hz`, 16000 for slin16): an
/// engine whose voice speaks at another rate resamples (libspeexdsp, see
/// src/audio) on its worker, never on the io thread.
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace aa::speech {

struct TtsRequest {
  std::string text;          // 1–5000 characters, UTF-8
  std::string voice;         // "" or unknown to the engine: its default (see TtsStart::voice)
  std::string language;      // passed to remote engines; Flite speaks US English
  double speed = 1.0;        // 0.25–4
  uint32_t rate_hz = 16000;  // output sample rate
};

/// What the engine decided before the first sample.
struct TtsStart {
  std::string voice;  // the voice actually used
  uint32_t rate_hz = 16000;
};

/// Callbacks run on the executor given to the engine (the io thread), in this
/// order: on_start once, on_audio zero or more times, on_done once. After
/// cancel() no callback runs any more (on_done included).
struct TtsCallbacks {
  std::function<void(const TtsStart&)> on_start;
  /// The next piece of audio, in order; any length (engines send what they have).
  std::function<void(std::vector<int16_t> pcm)> on_audio;
  /// ok when all audio was delivered; otherwise an Error with code
  /// tts_timeout (504), tts_failed (502), tts_busy (503: the worker queue is
  /// full) or tts_unavailable (501).
  std::function<void(Status)> on_done;
};

/// One synthesis in progress.
class TtsJob {
 public:
  virtual ~TtsJob() = default;
  /// Stop as soon as possible (HTTP request aborted, synthesis abandoned at
  /// the next chunk). Idempotent; safe after on_done.
  virtual void cancel() = 0;
};

class TtsEngine {
 public:
  virtual ~TtsEngine() = default;
  /// "flite", "http", ...
  virtual std::string_view name() const = 0;
  virtual std::string default_voice() const = 0;
  /// Voices the engine knows (empty: it accepts any name, e.g. a remote engine).
  virtual std::vector<std::string> voices() const = 0;
  /// Start synthesizing; returns at once (never blocks the io thread).
  virtual std::shared_ptr<TtsJob> synthesize(TtsRequest req, TtsCallbacks cb) = 0;
};

}  // namespace aa::speech
