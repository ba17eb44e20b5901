#pragma once
/// Speech recognition behind one small interface: embedded PocketSphinx
/// (pocketsphinx_asr.hpp) or the remote WebSocket protocol of the original's
/// ASR server (ws_asr.hpp). One session per audio capture (per call).
///
/// Audio in is 16-bit signed mono PCM at 16 kHz (slin16, host order), as
/// chan_websocket delivers it (640 bytes per 20 ms). Results follow the newest
/// qwen3-asr semantics, which the AI-agent client expects: cumulative partials
/// (the whole utterance so far, about every 0.5 s of speech), then one final
/// per utterance (end of speech by the engine's VAD, and on finish()).
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "common/error.hpp"

namespace aa::speech {

struct Transcript {
  std::string text;
  bool is_final = false;
  /// Where the utterance ended, in seconds of audio fed to this session (0:
  /// unknown). The voice layer turns it into a latency figure.
  double audio_end_s = 0;
};

struct AsrSessionOptions {
  std::string language;  // "English", "auto", ... (remote engines); Flite/PocketSphinx: US English
  std::string call_id;   // for logs
};

/// Callbacks run on the engine's io executor, never concurrently.
struct AsrCallbacks {
  std::function<void(const Transcript&)> on_transcript;
  /// Something went wrong for good (engine failed, cannot keep up, remote
  /// server gone after its retries). The session delivers nothing more.
  std::function<void(const Error&)> on_error;
};

class AsrSession {
 public:
  virtual ~AsrSession() = default;
  /// Append audio. Never blocks: audio is queued for the engine's worker; a
  /// session whose backlog passes its bound reports on_error instead of
  /// growing memory.
  virtual void feed(std::span<const int16_t> pcm) = 0;
  /// End of capture: flush what is buffered, deliver the last final
  /// transcript (exactly once, possibly empty text is not sent), then call
  /// `done` — within about 2 s even if the engine does not answer.
  virtual void finish(std::function<void()> done) = 0;
  /// Drop everything now; no callback runs after this returns.
  virtual void cancel() = 0;
};

class AsrEngine {
 public:
  virtual ~AsrEngine() = default;
  virtual std::string_view name() const = 0;
  /// A new session; an Error (asr_unavailable) when the engine is at capacity.
  virtual Outcome<std::unique_ptr<AsrSession>> open(AsrSessionOptions opts, AsrCallbacks cb) = 0;
};

}  // namespace aa::speech
