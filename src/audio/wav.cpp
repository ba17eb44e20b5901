#include "audio/wav.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace aa::audio {

namespace {

uint32_t le32(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(u[0]) | (uint32_t(u[1]) << 8) | (uint32_t(u[2]) << 16) | (uint32_t(u[3]) << 24);
}
uint16_t le16(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(u[0] | (u[1] << 8));
}
void put32(std::string& s, uint32_t v) {
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put16(std::string& s, uint16_t v) {
  s.push_back(static_cast<char>(v & 0xff));
  s.push_back(static_cast<char>(v >> 8));
}

// A fmt chunk is 16, 18 or 40 bytes; anything this large is not one.
constexpr uint32_t kMaxFmtBytes = 1024;
// Data sizes that streaming writers leave behind when they cannot seek back.
constexpr uint32_t kStreamingSizeFloor = 0x7FFFF000;

// Bytes 2..15 of every KSDATAFORMAT_SUBTYPE_* GUID (the first two are the format tag).
constexpr unsigned char kSubtypeTail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                            0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

std::string tag_name(uint16_t tag) {
  std::string_view name;
  switch (tag) {
    case 0x0002:
      name = "Microsoft ADPCM";
      break;
    case 0x0006:
      name = "A-law";
      break;
    case 0x0007:
      name = "mu-law";
      break;
    case 0x0011:
      name = "IMA ADPCM";
      break;
    case 0x0031:
      name = "GSM 6.10";
      break;
    case 0x0050:
      name = "MPEG audio";
      break;
    case 0x0055:
      name = "MP3";
      break;
    case 0x0064:
      name = "G.726 ADPCM";
      break;
    case 0x0065:
      name = "G.722 ADPCM";
      break;
    default:
      break;
  }
  if (name.empty()) return fmt::format("format tag 0x{:04X} is not PCM", tag);
  return fmt::format("{} (format tag 0x{:04X}) is a compressed format", name, tag);
}

}  // namespace

Status WavStreamParser::fail(std::string message) {
  state_ = State::failed;
  error_ = Error(ErrorCode::validation_failed, std::move(message));
  pending_.clear();
  pending_.shrink_to_fit();
  return error_;
}

Status WavStreamParser::parse_fmt(std::string_view b) {
  uint16_t tag = le16(b.data());
  const uint16_t channels = le16(b.data() + 2);
  const uint32_t rate = le32(b.data() + 4);
  const uint16_t block_align = le16(b.data() + 12);
  const uint16_t bits = le16(b.data() + 14);
  WavFormat f;
  f.format_tag = tag;
  if (tag == kWaveExtensible) {
    if (b.size() < 40 || le16(b.data() + 16) < 22)
      return fail(fmt::format("the WAVE_FORMAT_EXTENSIBLE fmt chunk is {} bytes long; it needs 40",
                              b.size()));
    tag = le16(b.data() + 24);
    if (std::memcmp(b.data() + 26, kSubtypeTail, sizeof kSubtypeTail) != 0)
      return fail("WAVE_FORMAT_EXTENSIBLE with an unknown sub-format GUID");
  }
  if (tag == kWavePcm) {
    switch (bits) {
      case 8:
        f.sample_format = SampleFormat::u8;
        break;
      case 16:
        f.sample_format = SampleFormat::s16;
        break;
      case 24:
        f.sample_format = SampleFormat::s24;
        break;
      case 32:
        f.sample_format = SampleFormat::s32;
        break;
      default:
        return fail(fmt::format("{}-bit integer samples are not supported", bits));
    }
  } else if (tag == kWaveFloat) {
    if (bits != 32)
      return fail(fmt::format("{}-bit float samples are not supported (only 32-bit)", bits));
    f.sample_format = SampleFormat::f32;
  } else {
    return fail(tag_name(tag));
  }
  if (channels == 0) return fail("the fmt chunk says 0 channels");
  if (channels > accept_.max_channels)
    return fail(fmt::format("{} channels (at most {})", channels, accept_.max_channels));
  if (rate < accept_.min_rate_hz || rate > accept_.max_rate_hz)
    return fail(fmt::format("a sample rate of {} Hz is outside {}-{} Hz", rate, accept_.min_rate_hz,
                            accept_.max_rate_hz));
  f.channels = channels;
  f.rate_hz = rate;
  f.bits_per_sample = bits;
  if (block_align != f.frame_bytes())
    return fail(fmt::format("block align {} does not match {} channel(s) of {} bits", block_align,
                            channels, bits));
  format_ = f;
  have_fmt_ = true;
  return ok_status();
}

void WavStreamParser::decode(std::string_view bytes, std::vector<int16_t>& out) {
  const size_t frame = format_.frame_bytes();
  if (!pending_.empty()) {
    const size_t take = std::min(frame - pending_.size(), bytes.size());
    pending_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (pending_.size() < frame) return;
    frames_ += to_s16(pending_, format_.sample_format, format_.channels, out);
    pending_.clear();
  }
  const size_t whole = bytes.size() / frame * frame;
  frames_ += to_s16(bytes.substr(0, whole), format_.sample_format, format_.channels, out);
  pending_.assign(bytes.substr(whole));
}

Status WavStreamParser::feed(std::string_view in, std::vector<int16_t>& out) {
  if (state_ == State::failed) return error_;
  if (!in.empty()) fed_any_ = true;
  // Header states gather exactly want_ bytes in pending_ before acting on them.
  auto gather = [&]() -> bool {
    const size_t take = std::min(want_ - pending_.size(), in.size());
    pending_.append(in.substr(0, take));
    in.remove_prefix(take);
    return pending_.size() == want_;
  };
  while (!in.empty()) {
    switch (state_) {
      case State::riff: {
        if (!gather()) return ok_status();
        const std::string_view id(pending_.data(), 4);
        if (id == "RF64") return fail("RF64 (64-bit RIFF) is not supported");
        if (id == "RIFX") return fail("big-endian RIFX files are not supported");
        if (id != "RIFF" || std::string_view(pending_.data() + 8, 4) != "WAVE")
          return fail("it does not start with a RIFF/WAVE header");
        pending_.clear();
        want_ = 8;
        state_ = State::chunk_header;
        break;
      }
      case State::chunk_header: {
        if (!gather()) return ok_status();
        const std::string id = pending_.substr(0, 4);
        chunk_size_ = le32(pending_.data() + 4);
        pending_.clear();
        if (id == "fmt ") {
          if (have_fmt_) return fail("it has two fmt chunks");
          if (chunk_size_ < 16)
            return fail(fmt::format("the fmt chunk is {} bytes long; it needs 16", chunk_size_));
          if (chunk_size_ > kMaxFmtBytes)
            return fail(fmt::format("the fmt chunk is {} bytes long", chunk_size_));
          want_ = chunk_size_ + (chunk_size_ & 1);
          state_ = State::fmt_body;
        } else if (id == "data") {
          if (!have_fmt_) return fail("the data chunk comes before the fmt chunk");
          data_size_known_ = chunk_size_ != 0 && chunk_size_ < kStreamingSizeFloor;
          data_declared_ = chunk_size_;
          data_left_ = chunk_size_;
          state_ = State::data;
        } else {
          skip_left_ = uint64_t(chunk_size_) + (chunk_size_ & 1);
          state_ = State::skip;
        }
        break;
      }
      case State::fmt_body: {
        if (!gather()) return ok_status();
        if (auto st = parse_fmt(std::string_view(pending_).substr(0, chunk_size_)); !st) return st;
        pending_.clear();
        want_ = 8;
        state_ = State::chunk_header;
        break;
      }
      case State::skip: {
        const size_t take = static_cast<size_t>(std::min<uint64_t>(skip_left_, in.size()));
        in.remove_prefix(take);
        skip_left_ -= take;
        if (skip_left_ == 0) {
          want_ = 8;
          state_ = State::chunk_header;
        }
        break;
      }
      case State::data: {
        size_t take = in.size();
        if (data_size_known_) take = static_cast<size_t>(std::min<uint64_t>(data_left_, take));
        decode(in.substr(0, take), out);
        in.remove_prefix(take);
        data_seen_ += take;
        if (data_size_known_) {
          data_left_ -= take;
          if (data_left_ == 0) {
            pending_.clear();  // a size that is not a whole number of frames
            state_ = State::after_data;
          }
        }
        break;
      }
      case State::after_data:
        // Trailing chunks (LIST, id3, a pad byte) carry nothing we play.
        return ok_status();
      case State::failed:
        return error_;
    }
  }
  return ok_status();
}

Status WavStreamParser::finish() {
  switch (state_) {
    case State::failed:
      return error_;
    case State::riff:
      return fail(fed_any_ ? "it is too short for a RIFF/WAVE header" : "it is empty");
    case State::chunk_header:
    case State::skip:
      return fail(have_fmt_ ? "it has no data chunk" : "it has no fmt chunk");
    case State::fmt_body:
      return fail("the fmt chunk is truncated");
    case State::data:
      if (data_size_known_ && data_left_ > 0)
        return fail(fmt::format("it is truncated: the data chunk declares {} bytes, {} are present",
                                data_declared_, data_seen_));
      pending_.clear();
      state_ = State::after_data;
      return ok_status();
    case State::after_data:
      return ok_status();
  }
  return ok_status();
}

Outcome<DecodedWav> parse_wav(std::string_view bytes, WavAccept accept) {
  WavStreamParser p(accept);
  DecodedWav out;
  if (auto st = p.feed(bytes, out.pcm.samples); !st) return st.error();
  if (auto st = p.finish(); !st) return st.error();
  out.format = *p.format();
  out.pcm.rate_hz = out.format.rate_hz;
  out.pcm.channels = out.format.channels;
  return out;
}

std::string wav_header(uint32_t rate_hz, uint16_t channels, uint32_t data_bytes) {
  std::string h;
  h.reserve(44);
  h += "RIFF";
  put32(h, data_bytes <= 0xFFFFFFFFu - 36 ? 36 + data_bytes : 0xFFFFFFFFu);
  h += "WAVEfmt ";
  put32(h, 16);
  put16(h, kWavePcm);
  put16(h, channels);
  put32(h, rate_hz);
  put32(h, rate_hz * channels * 2);
  put16(h, static_cast<uint16_t>(channels * 2));
  put16(h, 16);
  h += "data";
  put32(h, data_bytes);
  return h;
}

std::string write_wav(const Pcm& pcm) {
  const size_t data = pcm.samples.size() * 2;
  std::string out = wav_header(pcm.rate_hz, pcm.channels, static_cast<uint32_t>(data));
  out.reserve(out.size() + data);
  for (int16_t s : pcm.samples) put16(out, static_cast<uint16_t>(s));
  return out;
}

}  // namespace aa::audio
