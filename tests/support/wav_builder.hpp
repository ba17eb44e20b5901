#pragma once
// Generated WAV files for tests: any sample format, channel count, rate and
// chunk layout (extensible fmt, LIST chunks, odd sizes, streaming data sizes),
// written byte by byte from the RIFF/WAVE layout, plus tone tools (a sine
// generator and Goertzel power) to check audio after conversion.
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace aa::test {

inline void put_le(std::string& s, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

struct WavSpec {
  uint16_t tag = 1;  // 1 PCM, 3 float, 7 mu-law, …
  uint16_t channels = 1;
  uint32_t rate = 8000;
  uint16_t bits = 16;
  bool extensible = false;              // fmt as WAVE_FORMAT_EXTENSIBLE with `tag` as sub-format
  std::optional<uint16_t> block_align;  // default: channels * bits / 8
  std::string data;                     // the data chunk's bytes
  std::optional<uint32_t> data_size;    // declared size (default: data.size())
  std::string chunks_before_fmt;        // raw chunks (id + size + body) inserted there
  std::string chunks_before_data;
  std::string chunks_after_data;
};

/// A chunk: id, little-endian size, body, and the pad byte when the size is odd.
inline std::string chunk(std::string_view id, std::string_view body) {
  std::string c(id);
  put_le(c, body.size(), 4);
  c += body;
  if (body.size() % 2) c.push_back('\0');
  return c;
}

inline std::string build_wav(const WavSpec& s) {
  std::string fmt;
  const uint16_t fmt_tag = s.extensible ? 0xFFFE : s.tag;
  put_le(fmt, fmt_tag, 2);
  put_le(fmt, s.channels, 2);
  put_le(fmt, s.rate, 4);
  const uint16_t align = s.block_align.value_or(static_cast<uint16_t>(s.channels * s.bits / 8));
  put_le(fmt, uint64_t(s.rate) * align, 4);
  put_le(fmt, align, 2);
  put_le(fmt, s.bits, 2);
  if (s.extensible) {
    put_le(fmt, 22, 2);                       // cbSize
    put_le(fmt, s.bits, 2);                   // valid bits
    put_le(fmt, s.channels == 2 ? 3 : 4, 4);  // channel mask
    put_le(fmt, s.tag, 2);  // sub-format GUID: tag, then the fixed KSDATAFORMAT tail
    const unsigned char tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                    0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};
    fmt.append(reinterpret_cast<const char*>(tail), sizeof tail);
  }
  std::string body = "WAVE";
  body += s.chunks_before_fmt;
  body += chunk("fmt ", fmt);
  body += s.chunks_before_data;
  body += "data";
  put_le(body, s.data_size.value_or(static_cast<uint32_t>(s.data.size())), 4);
  body += s.data;
  if (s.data.size() % 2 && !s.chunks_after_data.empty()) body.push_back('\0');
  body += s.chunks_after_data;
  std::string out = "RIFF";
  put_le(out, body.size(), 4);
  return out + body;
}

/// A sine of `freq_hz`, amplitude `amp` (full scale 1.0), `frames` long at `rate_hz`.
inline std::vector<double> sine(double freq_hz, uint32_t rate_hz, size_t frames, double amp = 0.5) {
  std::vector<double> v(frames);
  for (size_t i = 0; i < frames; ++i)
    v[i] = amp * std::sin(2 * M_PI * freq_hz * double(i) / rate_hz);
  return v;
}

/// Encode full-scale samples (each repeated on every channel, or `right` for
/// channel 2 when given) as little-endian `bits`-bit integers (8 = unsigned) or,
/// with `is_float`, IEEE float 32.
inline std::string encode(const std::vector<double>& left, uint16_t channels, uint16_t bits,
                          bool is_float = false, const std::vector<double>* right = nullptr) {
  std::string out;
  for (size_t i = 0; i < left.size(); ++i) {
    for (uint16_t c = 0; c < channels; ++c) {
      const double x = (c == 1 && right) ? (*right)[i] : left[i];
      if (is_float) {
        const float f = static_cast<float>(x);
        uint32_t u;
        std::memcpy(&u, &f, 4);
        put_le(out, u, 4);
      } else if (bits == 8) {
        out.push_back(static_cast<char>(std::lround(128 + x * 127)));
      } else {
        const double scale = std::ldexp(1.0, bits - 1) - 1;
        const int64_t v = std::llround(x * scale);
        put_le(out, static_cast<uint64_t>(v), bits / 8);
      }
    }
  }
  return out;
}

/// Goertzel power of `freq_hz` in `s` (normalised by length).
inline double goertzel(std::span<const int16_t> s, double freq_hz, uint32_t rate_hz) {
  const double w = 2 * M_PI * freq_hz / rate_hz, c = 2 * std::cos(w);
  double s1 = 0, s2 = 0;
  for (int16_t x : s) {
    const double s0 = x + c * s1 - s2;
    s2 = s1;
    s1 = s0;
  }
  const double p = s1 * s1 + s2 * s2 - c * s1 * s2;
  return p / (double(s.size()) * double(s.size()));
}

/// Frequency estimated from rising zero crossings of `s` at `rate_hz`, with
/// sub-sample interpolation between the first and the last crossing.
inline double zero_crossing_hz(std::span<const int16_t> s, uint32_t rate_hz) {
  double first = -1, last = -1;
  int count = 0;
  for (size_t i = 1; i < s.size(); ++i) {
    if (s[i - 1] < 0 && s[i] >= 0) {
      const double t = double(i - 1) + double(-s[i - 1]) / double(s[i] - s[i - 1]);
      if (first < 0) first = t;
      last = t;
      ++count;
    }
  }
  if (count < 2) return 0;
  return double(count - 1) * rate_hz / (last - first);
}

inline double rms(std::span<const int16_t> s) {
  double sum = 0;
  for (int16_t x : s) sum += double(x) * x;
  return s.empty() ? 0 : std::sqrt(sum / double(s.size()));
}

}  // namespace aa::test
