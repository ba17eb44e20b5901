#include "audio/pcm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace aa::audio {

namespace {

template <SampleFormat F>
int16_t decode_one(const unsigned char* p) {
  if constexpr (F == SampleFormat::u8) {
    return static_cast<int16_t>((static_cast<int>(p[0]) - 128) * 256);
  } else if constexpr (F == SampleFormat::s16) {
    return static_cast<int16_t>(static_cast<uint16_t>(p[0] | (p[1] << 8)));
  } else if constexpr (F == SampleFormat::s24) {  // the top two of three bytes
    return static_cast<int16_t>(static_cast<uint16_t>(p[1] | (p[2] << 8)));
  } else if constexpr (F == SampleFormat::s32) {  // the top two of four bytes
    return static_cast<int16_t>(static_cast<uint16_t>(p[2] | (p[3] << 8)));
  } else {
    const uint32_t bits =
        uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
    float v;
    std::memcpy(&v, &bits, sizeof v);
    if (std::isnan(v)) return 0;
    v = std::clamp(v, -1.0f, 1.0f);
    return static_cast<int16_t>(std::lround(v * 32767.0f));
  }
}

// Decode `frames` frames of `channels` samples, each frame averaged to one
// sample when `mono`. The format is a template parameter: no switch per sample.
template <SampleFormat F>
void decode(const unsigned char* p, size_t frames, uint16_t channels, bool mono,
            std::vector<int16_t>& out) {
  constexpr size_t width = F == SampleFormat::u8    ? 1
                           : F == SampleFormat::s16 ? 2
                           : F == SampleFormat::s24 ? 3
                                                    : 4;
  if (!mono || channels == 1) {
    const size_t n = frames * channels;
    const size_t at = out.size();
    out.resize(at + n);
    int16_t* o = out.data() + at;
    for (size_t i = 0; i < n; ++i, p += width) o[i] = decode_one<F>(p);
    return;
  }
  const size_t at = out.size();
  out.resize(at + frames);
  int16_t* o = out.data() + at;
  for (size_t f = 0; f < frames; ++f) {
    int32_t sum = 0;
    for (uint16_t c = 0; c < channels; ++c, p += width) sum += decode_one<F>(p);
    o[f] = static_cast<int16_t>(sum / channels);
  }
}

// Room for `n` more, growing geometrically: streaming callers append a few
// samples at a time, and an exact reserve each time would be quadratic.
void make_room(std::vector<int16_t>& out, size_t n) {
  if (out.capacity() - out.size() < n) out.reserve(std::max(out.size() + n, out.capacity() * 2));
}

}  // namespace

size_t bytes_per_sample(SampleFormat f) {
  switch (f) {
    case SampleFormat::u8:
      return 1;
    case SampleFormat::s16:
      return 2;
    case SampleFormat::s24:
      return 3;
    case SampleFormat::s32:
    case SampleFormat::f32:
      return 4;
  }
  return 2;
}

std::string_view describe(SampleFormat f) {
  switch (f) {
    case SampleFormat::u8:
      return "8-bit unsigned";
    case SampleFormat::s16:
      return "16-bit";
    case SampleFormat::s24:
      return "24-bit";
    case SampleFormat::s32:
      return "32-bit";
    case SampleFormat::f32:
      return "32-bit float";
  }
  return "?";
}

namespace {

size_t decode_any(std::string_view bytes, SampleFormat format, uint16_t channels, bool mono,
                  std::vector<int16_t>& out) {
  if (channels == 0) return 0;
  const size_t frames = bytes.size() / (bytes_per_sample(format) * channels);
  make_room(out, mono ? frames : frames * channels);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  switch (format) {
    case SampleFormat::u8:
      decode<SampleFormat::u8>(p, frames, channels, mono, out);
      break;
    case SampleFormat::s16:
      decode<SampleFormat::s16>(p, frames, channels, mono, out);
      break;
    case SampleFormat::s24:
      decode<SampleFormat::s24>(p, frames, channels, mono, out);
      break;
    case SampleFormat::s32:
      decode<SampleFormat::s32>(p, frames, channels, mono, out);
      break;
    case SampleFormat::f32:
      decode<SampleFormat::f32>(p, frames, channels, mono, out);
      break;
  }
  return frames;
}

}  // namespace

size_t to_s16(std::string_view bytes, SampleFormat format, uint16_t channels,
              std::vector<int16_t>& out) {
  return decode_any(bytes, format, channels, false, out);
}

size_t to_mono_s16(std::string_view bytes, SampleFormat format, uint16_t channels,
                   std::vector<int16_t>& out) {
  return decode_any(bytes, format, channels, true, out);
}

void downmix_to_mono(std::span<const int16_t> interleaved, uint16_t channels,
                     std::vector<int16_t>& out) {
  if (channels == 0) return;
  if (channels == 1) {
    out.insert(out.end(), interleaved.begin(), interleaved.end());
    return;
  }
  const size_t frames = interleaved.size() / channels;
  make_room(out, frames);
  for (size_t f = 0; f < frames; ++f) {
    int32_t sum = 0;
    for (uint16_t c = 0; c < channels; ++c) sum += interleaved[f * channels + c];
    out.push_back(static_cast<int16_t>(sum / channels));
  }
}

Pcm to_mono(Pcm pcm) {
  if (pcm.channels <= 1) return pcm;
  Pcm mono;
  mono.rate_hz = pcm.rate_hz;
  mono.channels = 1;
  downmix_to_mono(pcm.samples, pcm.channels, mono.samples);
  return mono;
}

}  // namespace aa::audio
