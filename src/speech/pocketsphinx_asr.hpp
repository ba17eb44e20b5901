#pragma once
/// Embedded speech recognition with CMU PocketSphinx 5prealpha (Debian
/// libpocketsphinx3 + pocketsphinx-en-us; BSD-style licence), fed slin16.
///
/// Two modes: the open-vocabulary US English language model (en-us.lm.bin,
/// -maxhmmpf 2000 -fwdflat no: ~0.3x real time on one core, ~100 MB per
/// decoder), or a JSGF grammar (PocketSphinxOptions::grammar): only the
/// grammar's sentences, exact and fast (~0.05x real time, ~30 MB).
///
/// Decoders take ~1 s to load, so the engine keeps the idle ones (at most
/// max_sessions) and prewarms one at start on a worker. Each session runs on a
/// strand of the WorkerPool: feed() queues audio (bounded by max_backlog; past
/// it the session reports asr_failed "cannot keep up" and stops), the worker
/// runs the decoder and its voice activity detection: a cumulative partial
/// about every partial_interval of speech (when the text changed, never
/// empty), and one final per utterance when the VAD says speech ended, with
/// audio_end_s = where the speech ended (the VAD's 0.5 s post-speech window
/// taken off). finish() decodes what is queued and delivers the final of an
/// open utterance once.
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include "common/asio.hpp"
#include "common/worker_pool.hpp"
#include "speech/asr.hpp"
#include "speech/speech_options.hpp"

namespace aa::speech {

class PocketSphinxAsr final : public AsrEngine {
 public:
  /// Callbacks go to `io`; decoding runs on `pool` (which must outlive the
  /// engine and its sessions). Starts the prewarm when opts.prewarm.
  PocketSphinxAsr(asio::any_io_executor io, WorkerPool& pool, PocketSphinxOptions opts);
  PocketSphinxAsr(asio::any_io_executor io, WorkerPool& pool)
      : PocketSphinxAsr(std::move(io), pool, {}) {}
  ~PocketSphinxAsr() override;

  std::string_view name() const override { return "pocketsphinx"; }
  /// asr_unavailable (503) beyond max_sessions, or when the decoder cannot be
  /// created (missing model, invalid grammar: the detail says which).
  /// Call on the io executor; the session's methods too.
  Outcome<std::unique_ptr<AsrSession>> open(AsrSessionOptions opts, AsrCallbacks cb) override;

  /// Sessions open (opened, not yet finished or cancelled).
  size_t active_sessions() const;
  /// Initialised decoders waiting for a session.
  size_t idle_decoders() const;
  /// Block the calling thread (never the io thread) until the prewarmed
  /// decoder is ready or failed, at most `limit`: its status.
  Status wait_ready(std::chrono::milliseconds limit);

  struct Core;

 private:
  asio::any_io_executor io_;
  WorkerPool& pool_;
  std::shared_ptr<Core> core_;
};

}  // namespace aa::speech
