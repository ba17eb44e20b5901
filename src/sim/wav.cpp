#include "sim/wav.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "audio/wav.hpp"
#include "common/util.hpp"

namespace aa::sim {
namespace {

void put_u32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}
uint32_t get_u32(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}
uint16_t get_u16(std::string_view s, size_t at) {
  return static_cast<uint16_t>(static_cast<uint8_t>(s[at]) |
                               (static_cast<uint8_t>(s[at + 1]) << 8));
}

}  // namespace

std::string make_wav(int64_t duration_ms, int64_t tone_ms) {
  if (duration_ms < 0) duration_ms = 0;
  const uint32_t samples = static_cast<uint32_t>(duration_ms * kSampleRate / 1000);
  const uint32_t data_bytes = samples * 2;
  std::string out;
  out.reserve(44 + data_bytes);
  out += "RIFF";
  put_u32(out, 36 + data_bytes);
  out += "WAVEfmt ";
  put_u32(out, 16);
  put_u16(out, 1);  // PCM
  put_u16(out, 1);  // mono
  put_u32(out, kSampleRate);
  put_u32(out, kSampleRate * 2);
  put_u16(out, 2);
  put_u16(out, 16);
  out += "data";
  put_u32(out, data_bytes);
  const uint32_t tone_samples = static_cast<uint32_t>(tone_ms * kSampleRate / 1000);
  for (uint32_t i = 0; i < samples; ++i) {
    int16_t v = 0;
    if (i < tone_samples)
      v = static_cast<int16_t>(8000 * std::sin(2 * M_PI * 1000.0 * i / kSampleRate));
    put_u16(out, static_cast<uint16_t>(v));
  }
  return out;
}

std::string make_raw_audio(std::string_view format, int64_t duration_ms) {
  if (duration_ms < 0) duration_ms = 0;
  const size_t samples = static_cast<size_t>(duration_ms * kSampleRate / 1000);
  if (format == "ulaw") return std::string(samples, '\xff');
  if (format == "alaw") return std::string(samples, '\xd5');
  if (format == "gsm") return std::string(samples / 160 * 33, '\0');  // 33-byte frames per 20 ms
  if (format == "sln16" || format == "wav16" || format == "g722")
    return std::string(samples * (format == "g722" ? 1 : 4), '\0');
  return std::string(samples * 2, '\0');  // slin and anything else: 16-bit zeros
}

std::optional<int64_t> wav_duration_ms(std::string_view b) {
  if (b.size() < 12 || b.substr(0, 4) != "RIFF" || b.substr(8, 4) != "WAVE") return std::nullopt;
  uint32_t byte_rate = 0;
  size_t pos = 12;
  while (pos + 8 <= b.size()) {
    const std::string_view id = b.substr(pos, 4);
    const uint32_t len = get_u32(b, pos + 4);
    if (id == "fmt " && pos + 8 + 16 <= b.size()) {
      byte_rate = get_u32(b, pos + 8 + 8);
      if (get_u16(b, pos + 8 + 2) == 0) return std::nullopt;
    } else if (id == "data") {
      if (byte_rate == 0) return std::nullopt;
      // Tolerate a truncated body or a streaming header (0 / 0xffffffff length).
      uint64_t data_len = len;
      const uint64_t available = b.size() - (pos + 8);
      if (data_len == 0 || data_len > available) data_len = available;
      return static_cast<int64_t>(data_len * 1000 / byte_rate);
    }
    pos += 8 + len + (len & 1);
  }
  return std::nullopt;
}

std::string remote_media_extension(std::string_view url, std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  if (iequals(type, "audio/wav") || iequals(type, "audio/x-wav")) return "wav";
  std::string_view path = url;
  if (auto scheme = path.find("://"); scheme != std::string_view::npos) {
    path.remove_prefix(scheme + 3);
    const auto slash = path.find('/');
    path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash);
  }
  path = path.substr(0, path.find_first_of("?#"));
  const auto last = path.rfind('/');
  const std::string_view file = last == std::string_view::npos ? path : path.substr(last + 1);
  const auto dot = file.rfind('.');
  return dot == std::string_view::npos ? std::string{} : std::string(file.substr(dot + 1));
}

std::optional<int64_t> remote_media_duration_ms(std::string_view extension,
                                                std::string_view bytes) {
  if (extension == "wav" || extension == "wav16") {
    const uint32_t hz = extension == "wav" ? 8000 : 16000;
    auto wav = audio::parse_wav(bytes, audio::WavAccept{hz, hz, 1});
    if (!wav || wav->format.sample_format != audio::SampleFormat::s16) return std::nullopt;
    return wav->pcm.duration_ms();
  }
  if (extension == "sln" || extension == "sln16") {
    if (bytes.size() % 2 != 0) return std::nullopt;
    return static_cast<int64_t>(bytes.size() * 1000 / (extension == "sln" ? 16000 : 32000));
  }
  return wav_duration_ms(bytes);
}

std::optional<int64_t> raw_duration_ms(std::string_view format, uint64_t size) {
  if (format == "ulaw" || format == "alaw") return static_cast<int64_t>(size * 1000 / kSampleRate);
  if (format == "gsm") return static_cast<int64_t>(size / 33 * 20);
  if (format == "sln16" || format == "wav16") return static_cast<int64_t>(size * 1000 / 32000);
  if (format == "g722") return static_cast<int64_t>(size * 1000 / kSampleRate);
  return static_cast<int64_t>(size * 1000 / (2 * kSampleRate));
}

bool write_file(const std::string& path, std::string_view bytes) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  const std::string tmp = path + ".part";
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return false;
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!f) return false;
  }
  std::filesystem::rename(tmp, path, ec);
  return !ec;
}

}  // namespace aa::sim
