#pragma once
/// Embedded text-to-speech with CMU Flite 2.2 (Debian flite1-dev; BSD-style
/// licence). US English voices, all natively 16 kHz: slt (female, default),
/// kal16 (male, diphone: fastest), awb (male, Scottish), rms (male).
///
/// Streaming: the text is cut into sentences and each is synthesised with
/// Flite's audio-streaming callback, so the first audio leaves after the first
/// sentence's front end (tens of ms), not after the whole text. Work runs on
/// the WorkerPool; audio is posted to the io executor in pieces of
/// FliteOptions::chunk_samples (the first piece at once). `speed` is Flite's
/// duration_stretch (1/speed). cancel() abandons the synthesis at its next
/// streaming callback (every 20 ms of audio).
///
/// Thread safety: syntheses run concurrently without a lock, also with the
/// same voice: Flite 2.x keeps per-synthesis state in the utterance and links
/// the voice's features read-only (cst_synth.c utt_init). Checked here with 6
/// threads x 60 syntheses over slt/kal16/awb and with one voice, under
/// AddressSanitizer with leak detection: no error, no leak, sample counts
/// equal to sequential runs (slt/awb/rms add random noise to unvoiced sounds,
/// so samples differ from run to run; lengths do not). tests/speech keeps a
/// concurrent test that runs under the sanitizer build.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/asio.hpp"
#include "common/worker_pool.hpp"
#include "speech/speech_options.hpp"
#include "speech/tts.hpp"

namespace aa::speech {

class FliteTts final : public TtsEngine {
 public:
  /// Callbacks go to `io`; synthesis runs on `pool`, which must outlive the
  /// engine and its jobs.
  FliteTts(asio::any_io_executor io, WorkerPool& pool, FliteOptions opts);
  FliteTts(asio::any_io_executor io, WorkerPool& pool) : FliteTts(std::move(io), pool, {}) {}

  std::string_view name() const override { return "flite"; }
  std::string default_voice() const override { return default_voice_; }
  std::vector<std::string> voices() const override;
  /// Errors via on_done: tts_busy (503) when the worker queue is full,
  /// tts_failed (502) when Flite produces nothing for a sentence.
  std::shared_ptr<TtsJob> synthesize(TtsRequest req, TtsCallbacks cb) override;

  /// Sentences of `text` in order, each at most `max_chars` long (longer ones
  /// are cut at a comma, then a space); abbreviations such as "Dr." and
  /// initials do not end a sentence; blank lines and line breaks do.
  static std::vector<std::string> split_sentences(std::string_view text, size_t max_chars = 300);

 private:
  asio::any_io_executor io_;
  WorkerPool& pool_;
  FliteOptions opts_;
  std::string default_voice_;
};

}  // namespace aa::speech
