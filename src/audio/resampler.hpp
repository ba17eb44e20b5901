#pragma once
/// Sample-rate conversion of mono int16 audio with libspeexdsp's resampler
/// (Debian libspeexdsp, BSD licence; speex/speex_resampler.h). Streaming: feed
/// blocks of any size as they arrive, then flush() once at the end of the
/// stream. Output is time-aligned with the input (no leading filter delay) and,
/// after flush(), exactly round(frames_in × out_hz / in_hz) samples long.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace aa::audio {

class Resampler {
 public:
  /// speexdsp quality 0..10: 3 is its VoIP setting, 5 its desktop setting.
  /// kQualitySpeech keeps a 1 kHz tone's level within 0.2 dB and its phase.
  /// CPU per second of mono input to 16 kHz, measured on this machine: ~1 ms
  /// from 24 kHz, ~2.5 ms from 48 kHz, ~9 ms from 44.1 kHz (ratios that do not
  /// reduce are slower): keep long inputs off the io thread.
  static constexpr int kQualityVoip = 3;
  static constexpr int kQualitySpeech = 6;
  static constexpr int kQualityMax = 10;

  /// Rates in Hz, each 1..768000 (std::invalid_argument otherwise); quality is
  /// clamped to 0..10. Equal rates copy samples through.
  Resampler(uint32_t in_hz, uint32_t out_hz, int quality = kQualitySpeech);
  ~Resampler();
  Resampler(Resampler&&) noexcept;
  Resampler& operator=(Resampler&&) noexcept;
  Resampler(const Resampler&) = delete;
  Resampler& operator=(const Resampler&) = delete;

  /// Resample `n` input samples; output samples are appended to `out`.
  void process(const int16_t* in, size_t n, std::vector<int16_t>& out);
  void process(std::span<const int16_t> in, std::vector<int16_t>& out) {
    process(in.data(), in.size(), out);
  }
  /// End of stream: append the samples still held in the filter, so that the
  /// total output is round(total input × out_hz / in_hz). The resampler is then
  /// ready for a new, independent stream.
  void flush(std::vector<int16_t>& out);

  uint32_t in_hz() const { return in_hz_; }
  uint32_t out_hz() const { return out_hz_; }

 private:
  struct State;
  void reset();
  uint32_t in_hz_, out_hz_;
  int quality_;
  std::unique_ptr<State> st_;  // null when the rates are equal
  uint64_t in_total_ = 0;
  uint64_t out_total_ = 0;
};

/// One-shot: all of `in` at `in_hz` to `out_hz` (mono).
std::vector<int16_t> resample(std::span<const int16_t> in, uint32_t in_hz, uint32_t out_hz,
                              int quality = Resampler::kQualitySpeech);

}  // namespace aa::audio
