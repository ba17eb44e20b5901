#include "sim/audio_mix.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>

namespace aa::sim {
namespace {

using Codec = MediaFormat::Codec;

// optimal_frame_size = default_ms (20) × minimum_bytes / minimum_ms, from
// Asterisk's codec_builtin.c; opaque ones with minimum_bytes ≤ 10 pass through.
constexpr MediaFormat kFormats[] = {
    {"slin", Codec::slin, 8000, 320},       {"slin12", Codec::slin, 12000, 480},
    {"slin16", Codec::slin, 16000, 640},    {"slin24", Codec::slin, 24000, 960},
    {"slin32", Codec::slin, 32000, 1280},   {"slin44", Codec::slin, 44100, 1764},
    {"slin48", Codec::slin, 48000, 1920},   {"slin96", Codec::slin, 96000, 3840},
    {"slin192", Codec::slin, 192000, 7680}, {"ulaw", Codec::ulaw, 8000, 160},
    {"alaw", Codec::alaw, 8000, 160},       {"gsm", Codec::opaque, 8000, 33},
    {"g722", Codec::opaque, 16000, 0},      {"g729", Codec::opaque, 8000, 0},
    {"opus", Codec::opaque, 48000, 0},      {"ilbc", Codec::opaque, 8000, 0},
    {"speex", Codec::opaque, 8000, 0},      {"speex16", Codec::opaque, 16000, 0},
    {"speex32", Codec::opaque, 32000, 0},   {"g726", Codec::opaque, 8000, 0},
    {"g726aal2", Codec::opaque, 8000, 0},   {"adpcm", Codec::opaque, 8000, 0},
    {"lpc10", Codec::opaque, 8000, 0},      {"g723", Codec::opaque, 8000, 0},
    {"siren7", Codec::opaque, 16000, 0},    {"siren14", Codec::opaque, 32000, 0},
    {"codec2", Codec::opaque, 8000, 0},
};

/// Linear interpolation of `n_in` samples onto `n_out` (per frame: 20 ms pieces
/// keep their length in time; good enough for a simulator's far end).
void stretch(const int16_t* in, size_t n_in, size_t n_out, std::vector<int16_t>& out) {
  if (n_in == 0 || n_out == 0) return;
  if (n_in == n_out) {
    out.insert(out.end(), in, in + n_in);
    return;
  }
  const double step = static_cast<double>(n_in) / static_cast<double>(n_out);
  for (size_t j = 0; j < n_out; ++j) {
    const double pos = (static_cast<double>(j) + 0.5) * step - 0.5;
    const double p = std::clamp(pos, 0.0, static_cast<double>(n_in - 1));
    const size_t i = static_cast<size_t>(p);
    const double frac = p - static_cast<double>(i);
    const int32_t a = in[i];
    const int32_t b = in[std::min(i + 1, n_in - 1)];
    out.push_back(sat16(static_cast<int32_t>(std::lround(a + (b - a) * frac))));
  }
}

size_t scaled(size_t n, int from_hz, int to_hz) {
  return static_cast<size_t>((static_cast<int64_t>(n) * to_hz + from_hz / 2) / from_hz);
}

int16_t le16(const unsigned char* p) {
  return static_cast<int16_t>(static_cast<uint16_t>(p[0] | (p[1] << 8)));
}

}  // namespace

const MediaFormat* find_media_format(std::string_view name) {
  for (const auto& f : kFormats)
    if (f.name == name) return &f;
  return nullptr;
}

// ---- G.711 ----

uint8_t ulaw_encode(int16_t sample) {
  constexpr int kBias = 0x84, kClip = 32635;
  int s = sample;
  const int sign = s < 0 ? 0x80 : 0;
  if (s < 0) s = -s;
  if (s > kClip) s = kClip;
  s += kBias;
  int exponent = 7;
  for (int mask = 0x4000; (s & mask) == 0 && exponent > 0; mask >>= 1) --exponent;
  const int mantissa = (s >> (exponent + 3)) & 0x0F;
  return static_cast<uint8_t>(~(sign | (exponent << 4) | mantissa));
}

int16_t ulaw_decode(uint8_t b) {
  const int u = ~b & 0xFF;
  const int exponent = (u >> 4) & 0x07;
  const int mantissa = u & 0x0F;
  const int magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
  return static_cast<int16_t>((u & 0x80) ? -magnitude : magnitude);
}

uint8_t alaw_encode(int16_t sample) {
  // 13-bit magnitude, segment = position of its top bit, 4 bits of mantissa.
  int v = sample >> 3;
  int mask = 0xD5;
  if (v < 0) {
    mask = 0x55;
    v = -v - 1;
  }
  static constexpr int kSegEnd[8] = {0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF};
  int seg = 0;
  while (seg < 8 && v > kSegEnd[seg]) ++seg;
  if (seg >= 8) return static_cast<uint8_t>(0x7F ^ mask);
  const int mantissa = (seg < 2 ? v >> 1 : v >> seg) & 0x0F;
  return static_cast<uint8_t>(((seg << 4) | mantissa) ^ mask);
}

int16_t alaw_decode(uint8_t b) {
  const int a = b ^ 0x55;
  const int seg = (a >> 4) & 0x07;
  int t = (a & 0x0F) << 4;
  t += seg == 0 ? 8 : 0x108;
  if (seg > 1) t <<= seg - 1;
  return static_cast<int16_t>((a & 0x80) ? t : -t);
}

// ---- frames ----

void decode_to_mix(const MediaFormat& f, std::string_view bytes, std::vector<int16_t>& out) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  thread_local std::vector<int16_t> tmp;
  tmp.clear();
  switch (f.codec) {
    case Codec::slin:
      for (size_t i = 0; i + 1 < bytes.size(); i += 2) tmp.push_back(le16(p + i));
      break;
    case Codec::ulaw:
      for (size_t i = 0; i < bytes.size(); ++i) tmp.push_back(ulaw_decode(p[i]));
      break;
    case Codec::alaw:
      for (size_t i = 0; i < bytes.size(); ++i) tmp.push_back(alaw_decode(p[i]));
      break;
    case Codec::opaque:
      return;
  }
  stretch(tmp.data(), tmp.size(), scaled(tmp.size(), f.rate_hz, kMixRate), out);
}

void encode_from_mix(const MediaFormat& f, const int16_t* s, size_t n, std::string& out) {
  if (f.codec == Codec::opaque) return;
  thread_local std::vector<int16_t> tmp;
  tmp.clear();
  stretch(s, n, scaled(n, kMixRate, f.rate_hz), tmp);
  switch (f.codec) {
    case Codec::slin: {
      const size_t at = out.size();
      out.resize(at + tmp.size() * 2);
      for (size_t i = 0; i < tmp.size(); ++i) {
        const auto u = static_cast<uint16_t>(tmp[i]);
        out[at + 2 * i] = static_cast<char>(u & 0xFF);
        out[at + 2 * i + 1] = static_cast<char>(u >> 8);
      }
      break;
    }
    case Codec::ulaw:
      for (int16_t v : tmp) out.push_back(static_cast<char>(ulaw_encode(v)));
      break;
    case Codec::alaw:
      for (int16_t v : tmp) out.push_back(static_cast<char>(alaw_encode(v)));
      break;
    case Codec::opaque:
      break;
  }
}

int16_t tone_sample(int hz, int amplitude, int64_t index) {
  constexpr double kTwoPi = 6.283185307179586;
  const int64_t period_pos = (index * hz) % kMixRate;  // exact phase, no drift
  return static_cast<int16_t>(
      std::lround(amplitude * std::sin(kTwoPi * static_cast<double>(period_pos) / kMixRate)));
}

double rms(const int16_t* s, size_t n) {
  if (n == 0) return 0;
  double acc = 0;
  for (size_t i = 0; i < n; ++i) acc += static_cast<double>(s[i]) * s[i];
  return std::sqrt(acc / static_cast<double>(n));
}

// ---- WAV ----

std::string wav_bytes(const int16_t* s, size_t n, int rate_hz) {
  std::string out;
  out.reserve(44 + n * 2);
  auto u32 = [&out](uint32_t v) {
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  };
  auto u16 = [&out](uint16_t v) {
    out.push_back(static_cast<char>(v & 0xFF));
    out.push_back(static_cast<char>(v >> 8));
  };
  const auto data = static_cast<uint32_t>(n * 2);
  out += "RIFF";
  u32(36 + data);
  out += "WAVEfmt ";
  u32(16);
  u16(1);
  u16(1);
  u32(static_cast<uint32_t>(rate_hz));
  u32(static_cast<uint32_t>(rate_hz * 2));
  u16(2);
  u16(16);
  out += "data";
  u32(data);
  const size_t at = out.size();
  out.resize(at + n * 2);
  for (size_t i = 0; i < n; ++i) {
    const auto u = static_cast<uint16_t>(s[i]);
    out[at + 2 * i] = static_cast<char>(u & 0xFF);
    out[at + 2 * i + 1] = static_cast<char>(u >> 8);
  }
  return out;
}

Outcome<std::vector<int16_t>> decode_wav_to_mix(std::string_view bytes) {
  auto bad = [](std::string why) { return Error(ErrorCode::validation_failed, std::move(why)); };
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  auto u32 = [p](size_t at) {
    return static_cast<uint32_t>(p[at] | (p[at + 1] << 8) | (p[at + 2] << 16)) |
           (static_cast<uint32_t>(p[at + 3]) << 24);
  };
  auto u16 = [p](size_t at) { return static_cast<uint16_t>(p[at] | (p[at + 1] << 8)); };
  if (bytes.size() < 12 || bytes.substr(0, 4) != "RIFF" || bytes.substr(8, 4) != "WAVE")
    return bad("not a RIFF/WAVE file");
  size_t pos = 12;
  uint16_t tag = 0, channels = 0, bits = 0;
  uint32_t rate = 0;
  bool have_fmt = false;
  std::string_view data;
  while (pos + 8 <= bytes.size()) {
    const std::string_view id = bytes.substr(pos, 4);
    const uint32_t size = u32(pos + 4);
    const size_t body = pos + 8;
    const size_t avail = bytes.size() - body;
    if (id == "fmt ") {
      if (size < 16 || avail < 16) return bad("fmt chunk too short");
      tag = u16(body);
      channels = u16(body + 2);
      rate = u32(body + 4);
      bits = u16(body + 14);
      if (tag == 0xFFFE && size >= 26 && avail >= 26) tag = u16(body + 24);  // extensible
      have_fmt = true;
    } else if (id == "data") {
      data = bytes.substr(body, std::min<size_t>(size == 0 ? avail : size, avail));
      break;
    }
    pos = body + size + (size & 1);
  }
  if (!have_fmt) return bad("no fmt chunk");
  if (data.data() == nullptr) return bad("no data chunk");
  if (tag != 1 && !(tag == 3 && bits == 32))
    return bad("not PCM (format tag " + std::to_string(tag) + ")");
  if (channels < 1 || channels > 2) return bad("only mono or stereo");
  if (rate < 8000 || rate > 48000) return bad("sample rate must be 8000-48000 Hz");
  if (bits != 8 && bits != 16 && bits != 24 && bits != 32) return bad("unsupported sample size");
  const size_t width = bits / 8;
  const size_t frame = width * channels;
  const auto* d = reinterpret_cast<const unsigned char*>(data.data());
  std::vector<int16_t> mono;
  mono.reserve(data.size() / frame);
  auto sample = [&](size_t at) -> int32_t {
    switch (bits) {
      case 8:
        return (static_cast<int32_t>(d[at]) - 128) << 8;
      case 16:
        return le16(d + at);
      case 24:
        return static_cast<int16_t>(static_cast<uint16_t>(d[at + 1] | (d[at + 2] << 8)));
      default: {
        if (tag == 3) {
          float f;
          std::memcpy(&f, d + at, 4);
          return sat16(static_cast<int32_t>(std::lround(std::clamp(f, -1.0f, 1.0f) * 32767)));
        }
        return static_cast<int16_t>(static_cast<uint16_t>(d[at + 2] | (d[at + 3] << 8)));
      }
    }
  };
  for (size_t at = 0; at + frame <= data.size(); at += frame) {
    int32_t v = sample(at);
    if (channels == 2) v = (v + sample(at + width)) / 2;
    mono.push_back(static_cast<int16_t>(v));
  }
  if (rate == static_cast<uint32_t>(kMixRate)) return mono;
  std::vector<int16_t> out;
  out.reserve(scaled(mono.size(), static_cast<int>(rate), kMixRate) + 1);
  // Whole 20 ms pieces keep the interpolation local and cheap.
  const size_t piece = rate / 50;
  for (size_t at = 0; at < mono.size(); at += piece) {
    const size_t n = std::min(piece, mono.size() - at);
    stretch(mono.data() + at, n, scaled(n, static_cast<int>(rate), kMixRate), out);
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view in) {
  static const std::array<int8_t, 256> table = [] {
    std::array<int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int i = 0; i < 64; ++i)
      t[static_cast<unsigned char>(alphabet[i])] = static_cast<int8_t>(i);
    return t;
  }();
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  bool padding = false;
  for (char c : in) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') continue;
    if (c == '=') {
      padding = true;
      continue;
    }
    if (padding) return std::nullopt;  // data after padding
    const int v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  if (bits >= 6) return std::nullopt;  // a lone trailing character
  return out;
}

// ---- HeardLog ----

void HeardLog::append(int64_t sim_ms, const int16_t* s, size_t n) {
  if (max_ticks_ <= 0) return;
  const bool silent = s == nullptr || n == 0;
  const bool contiguous =
      !chunks_.empty() && chunks_.back().start_ms + chunks_.back().ticks * kTickMs == sim_ms;
  // Audio pieces stay ≤ 1 s so that dropping the oldest is cheap.
  // A new piece on a gap (the media clock restarted), a change between sound
  // and silence, or after 1 s of sound.
  if (!contiguous || chunks_.back().samples.empty() != silent ||
      (!silent && chunks_.back().ticks >= 50))
    chunks_.push_back(Chunk{sim_ms, 0, {}});
  Chunk& c = chunks_.back();
  ++c.ticks;
  ++ticks_;
  if (!silent) {
    const size_t take = std::min<size_t>(n, kTickSamples);
    c.samples.insert(c.samples.end(), s, s + take);
    c.samples.resize(c.samples.size() + (kTickSamples - take), 0);
    samples_ += kTickSamples;
  }
  trim();
}

void HeardLog::trim() {
  while (ticks_ > max_ticks_ && !chunks_.empty()) {
    Chunk& f = chunks_.front();
    const int64_t excess = ticks_ - max_ticks_;
    if (f.samples.empty() && f.ticks > excess) {
      f.ticks -= excess;
      f.start_ms += excess * kTickMs;
      ticks_ -= excess;
      break;
    }
    ticks_ -= f.ticks;
    samples_ -= f.samples.size();
    chunks_.pop_front();
  }
}

void HeardLog::clear() {
  chunks_.clear();
  ticks_ = 0;
  samples_ = 0;
}

void HeardLog::set_max_ticks(int64_t t) {
  max_ticks_ = t < 0 ? 0 : t;
  trim();
}

std::string HeardLog::wav() const {
  std::vector<int16_t> all;
  all.reserve(static_cast<size_t>(ticks_) * kTickSamples);
  int64_t at_ms = start_ms();
  for (const auto& c : chunks_) {
    // A gap between runs (the media clock stopped) is written as silence.
    if (c.start_ms > at_ms)
      all.resize(all.size() + static_cast<size_t>((c.start_ms - at_ms) * kMixRate / 1000), 0);
    if (c.samples.empty())
      all.resize(all.size() + static_cast<size_t>(c.ticks) * kTickSamples, 0);
    else
      all.insert(all.end(), c.samples.begin(), c.samples.end());
    at_ms = c.start_ms + c.ticks * kTickMs;
  }
  return wav_bytes(all.data(), all.size());
}

std::vector<std::pair<int64_t, int64_t>> HeardLog::sound_stretches(double threshold,
                                                                   int64_t join_ms) const {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& c : chunks_) {
    if (c.samples.empty()) continue;
    for (int64_t t = 0; t < c.ticks; ++t) {
      const int16_t* s = c.samples.data() + t * kTickSamples;
      if (rms(s, kTickSamples) <= threshold) continue;
      const int64_t start = c.start_ms + t * kTickMs;
      if (!out.empty() && start - out.back().second <= join_ms)
        out.back().second = start + kTickMs;
      else
        out.emplace_back(start, start + kTickMs);
    }
  }
  return out;
}

}  // namespace aa::sim
