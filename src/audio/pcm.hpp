#pragma once
/// PCM audio in memory and the plain sample arithmetic around it: decoding
/// little-endian samples (as WAV stores them) to signed 16-bit, and mixing
/// channels down to mono. No codecs and no resampling here (see resampler.hpp).
///
/// Units: rates in Hz, durations in ms, sizes in bytes unless a name says
/// `frames` (one sample per channel) or `samples` (int16 values).
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace aa::audio {

/// Signed 16-bit PCM, channels interleaved (L R L R … for stereo).
struct Pcm {
  std::vector<int16_t> samples;
  uint32_t rate_hz = 0;
  uint16_t channels = 1;

  size_t frames() const { return channels ? samples.size() / channels : 0; }
  /// Length in ms, rounded down (0 when the rate is unknown).
  int64_t duration_ms() const {
    return rate_hz ? static_cast<int64_t>(frames() * 1000 / rate_hz) : 0;
  }
};

/// How one sample is stored, little-endian, as in WAV files.
enum class SampleFormat {
  u8,   // unsigned 8-bit, 128 = silence
  s16,  // signed 16-bit
  s24,  // signed 24-bit packed in 3 bytes
  s32,  // signed 32-bit (also 24-bit samples left-aligned in 32-bit containers)
  f32,  // IEEE float 32, full scale ±1.0
};

/// Bytes one sample of `f` occupies (1, 2, 3, 4, 4).
size_t bytes_per_sample(SampleFormat f);
/// "8-bit unsigned", "16-bit", "24-bit", "32-bit", "32-bit float".
std::string_view describe(SampleFormat f);

/// Decode whole frames of `channels` interleaved samples of `format` from `bytes`
/// to int16, appended to `out` (channels stay interleaved). Wider samples keep
/// their top 16 bits; floats are clamped to ±1.0 and scaled to ±32767 (NaN → 0).
/// A trailing partial frame is ignored. Returns the number of frames decoded.
size_t to_s16(std::string_view bytes, SampleFormat format, uint16_t channels,
              std::vector<int16_t>& out);

/// As to_s16, then each frame's channels averaged into one mono sample.
size_t to_mono_s16(std::string_view bytes, SampleFormat format, uint16_t channels,
                   std::vector<int16_t>& out);

/// Average interleaved int16 frames of `channels` into mono, appended to `out`.
/// A trailing partial frame is ignored; channels == 1 copies.
void downmix_to_mono(std::span<const int16_t> interleaved, uint16_t channels,
                     std::vector<int16_t>& out);

/// `pcm` with its channels averaged into one (unchanged when already mono).
Pcm to_mono(Pcm pcm);

}  // namespace aa::audio
