#include "media/asterisk_audio.hpp"

#include <cstring>
#include <optional>
#include <vector>

#include "audio/resampler.hpp"

namespace aa::media {

namespace {

constexpr uint32_t kNarrowbandHz = 8000;
constexpr uint32_t kWidebandHz = 16000;
// Input decoded per step: bounds the scratch buffers, whatever the upload size.
constexpr size_t kStepBytes = 64 * 1024;

Error unsupported(const Error& problem) {
  Error e(ErrorCode::validation_failed,
          "Unsupported audio: send " + std::string(audio::kAcceptedWav));
  e.details.push_back("body: " + problem.message);
  return e;
}

void append_s16le(std::string& out, const std::vector<int16_t>& s) {
  const size_t at = out.size();
  out.resize(at + s.size() * 2);
  char* p = out.data() + at;
  for (int16_t v : s) {
    const auto u = static_cast<uint16_t>(v);
    *p++ = static_cast<char>(u & 0xff);
    *p++ = static_cast<char>(u >> 8);
  }
}

}  // namespace

Outcome<PreparedAudio> prepare_for_asterisk(std::string_view wav) {
  audio::WavStreamParser parser;
  std::optional<audio::Resampler> resampler;
  PreparedAudio out;
  std::vector<int16_t> decoded, mono, resampled;
  out.bytes.assign(44, '\0');  // the header, once the length is known
  bool started = false;
  for (size_t at = 0; at < wav.size(); at += kStepBytes) {
    decoded.clear();
    if (auto st = parser.feed(wav.substr(at, kStepBytes), decoded); !st)
      return unsupported(st.error());
    if (!started && parser.format()) {
      started = true;
      out.source = *parser.format();
      out.rate_hz = out.source.rate_hz == kNarrowbandHz ? kNarrowbandHz : kWidebandHz;
      if (out.source.rate_hz != out.rate_hz) {
        resampler.emplace(out.source.rate_hz, out.rate_hz);
        out.resampled = true;
      }
      out.bytes.reserve(
          44 +
          static_cast<size_t>(uint64_t(wav.size()) * out.rate_hz * 2 /
                              (uint64_t(out.source.rate_hz) * out.source.frame_bytes())) +
          64);
    }
    if (decoded.empty()) continue;
    mono.clear();
    audio::downmix_to_mono(decoded, out.source.channels, mono);
    if (resampler) {
      resampled.clear();
      resampler->process(mono, resampled);
      append_s16le(out.bytes, resampled);
    } else {
      append_s16le(out.bytes, mono);
    }
  }
  if (auto st = parser.finish(); !st) return unsupported(st.error());
  if (resampler) {
    resampled.clear();
    resampler->flush(resampled);
    append_s16le(out.bytes, resampled);
  }
  const size_t data = out.bytes.size() - 44;
  if (data == 0) return unsupported(Error(ErrorCode::validation_failed, "it holds no samples"));
  const std::string header = audio::wav_header(out.rate_hz, 1, static_cast<uint32_t>(data));
  std::memcpy(out.bytes.data(), header.data(), header.size());
  out.extension = out.rate_hz == kNarrowbandHz ? "wav" : "wav16";
  out.duration_ms = static_cast<int64_t>(data / 2 * 1000 / out.rate_hz);
  return out;
}

}  // namespace aa::media
