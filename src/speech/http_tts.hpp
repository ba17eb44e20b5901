#pragma once
/// Remote text-to-speech, the original service's protocol (OpenAI-compatible
/// with an extra `language`; research voice-loop.md §3.2):
///
///   POST {TTS_URL}/v1/audio/speech   Content-Type: application/json
///   {"input": text, "voice": v, "response_format": "wav", "speed": s, "language": l}
///   -> 2xx, a WAV file (tts-srv / Qwen3-TTS: 24 kHz s16 mono)
///
/// Streaming: the body is parsed as it arrives (audio::WavStreamParser) and
/// converted on the WorkerPool (8/16/24/32-bit or float, mono or stereo,
/// 8-48 kHz -> 16-bit mono at TtsRequest::rate_hz with libspeexdsp), so the
/// first audio reaches the caller while the server is still sending.
///
/// Errors (on_done): TTS_TIMEOUT_MS passed (the whole request) -> tts_timeout
/// (504); non-2xx -> tts_failed (502) with the status and the first 200 bytes
/// of the body in the internal detail; unreachable server, unusable WAV ->
/// tts_failed; worker queue full -> tts_busy (503). cancel() aborts the HTTP
/// request. The answer's voice is the requested one (a remote server accepts
/// any name), else HttpTtsOptions::default_voice.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/asio.hpp"
#include "common/worker_pool.hpp"
#include "speech/speech_options.hpp"
#include "speech/tts.hpp"

namespace aa::speech {

class HttpTts final : public TtsEngine {
 public:
  /// `opts.url` is the base URL (scheme, host, port, optional path prefix).
  HttpTts(asio::any_io_executor io, WorkerPool& pool, HttpTtsOptions opts);

  std::string_view name() const override { return "http"; }
  std::string default_voice() const override { return opts_.default_voice; }
  std::vector<std::string> voices() const override { return {}; }
  /// Call on the io executor.
  std::shared_ptr<TtsJob> synthesize(TtsRequest req, TtsCallbacks cb) override;

  /// The JSON body sent for `req` (defaults filled in).
  std::string request_body(const TtsRequest& req) const;

 private:
  asio::any_io_executor io_;
  WorkerPool& pool_;
  HttpTtsOptions opts_;
  std::string endpoint_;  // {url}/v1/audio/speech
};

}  // namespace aa::speech
