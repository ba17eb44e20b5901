#include "audio/pcm.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace aa::audio {

namespace {

int16_t decode_one(const unsigned char* p, SampleFormat f) {
  switch (f) {
    case SampleFormat::u8:
      return static_cast<int16_t>((static_cast<int>(p[0]) - 128) * 256);
    case SampleFormat::s16:
      return static_cast<int16_t>(static_cast<uint16_t>(p[0] | (p[1] << 8)));
    case SampleFormat::s24:  // the top two of three bytes
      return static_cast<int16_t>(static_cast<uint16_t>(p[1] | (p[2] << 8)));
    case SampleFormat::s32:  // the top two of four bytes
      return static_cast<int16_t>(static_cast<uint16_t>(p[2] | (p[3] << 8)));
    case SampleFormat::f32: {
      uint32_t bits =
          uint32_t(p[0]) | (uint32_t(p[1]) << 8) | (uint32_t(p[2]) << 16) | (uint32_t(p[3]) << 24);
      float v;
      std::memcpy(&v, &bits, sizeof v);
      if (std::isnan(v)) return 0;
      if (v > 1.0f) v = 1.0f;
      if (v < -1.0f) v = -1.0f;
      return static_cast<int16_t>(std::lround(v * 32767.0f));
    }
  }
  return 0;
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

size_t to_s16(std::string_view bytes, SampleFormat format, uint16_t channels,
              std::vector<int16_t>& out) {
  if (channels == 0) return 0;
  const size_t width = bytes_per_sample(format);
  const size_t frames = bytes.size() / (width * channels);
  const size_t n = frames * channels;
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  make_room(out, n);
  for (size_t i = 0; i < n; ++i, p += width) out.push_back(decode_one(p, format));
  return frames;
}

size_t to_mono_s16(std::string_view bytes, SampleFormat format, uint16_t channels,
                   std::vector<int16_t>& out) {
  if (channels == 0) return 0;
  const size_t width = bytes_per_sample(format);
  const size_t frames = bytes.size() / (width * channels);
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  make_room(out, frames);
  for (size_t f = 0; f < frames; ++f) {
    int32_t sum = 0;
    for (uint16_t c = 0; c < channels; ++c, p += width) sum += decode_one(p, format);
    out.push_back(static_cast<int16_t>(sum / channels));
  }
  return frames;
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
