#pragma once
/// Remote speech recognition over WebSocket, the original's protocol for its
/// qwen3-asr server (research voice-loop.md §3.1; asr-srv /ws/transcribe):
///
///   connect ASR_URL (one socket per session; connect timeout 5 s)
///   -> {"action":"config","language":"<lang>"}     unless the language is "auto"
///   -> binary frames: 16 kHz s16le mono, as fed
///   <- {"status":"connected"|"configured"|...}      logged (debug)
///   <- {"text":"...","is_partial":b,"is_final":b}    -> Transcript
///   <- {"error":...} / {"code","message"}            logged (warn)
///   finish(): -> {"action":"flush"}, wait for is_final (<= 2 s), close 1000
///
/// Differences from the original: audio fed while the socket connects is kept
/// (the last ~2 s; older audio is dropped with a log line) instead of being
/// dropped; a final is delivered once (the original emitted it twice), empty
/// finals and partials are not delivered, and a partial equal to the previous
/// one is skipped. After a drop the session reconnects every 2 s; after 10
/// consecutive failed attempts it reports asr_unavailable through on_error.
/// Transcript::audio_end_s is 0 (the protocol does not say where speech ended).
#include <cstddef>
#include <memory>
#include <string_view>

#include "common/asio.hpp"
#include "speech/asr.hpp"
#include "speech/speech_options.hpp"

namespace aa::speech {

class WsAsr final : public AsrEngine {
 public:
  WsAsr(asio::any_io_executor io, WsAsrOptions opts);

  std::string_view name() const override { return "ws"; }
  /// asr_unavailable (503) beyond max_sessions. The socket connects in the
  /// background: open() never waits for it. Call on the io executor; the
  /// session's methods too.
  Outcome<std::unique_ptr<AsrSession>> open(AsrSessionOptions opts, AsrCallbacks cb) override;
  size_t active_sessions() const { return *active_; }

 private:
  asio::any_io_executor io_;
  WsAsrOptions opts_;
  std::shared_ptr<size_t> active_ = std::make_shared<size_t>(0);
};

}  // namespace aa::speech
