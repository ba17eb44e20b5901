#include "media/media_store.hpp"

#include <cstring>

#include "common/util.hpp"

namespace aa::media {

namespace {

uint32_t le32(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return uint32_t(u[0]) | (uint32_t(u[1]) << 8) | (uint32_t(u[2]) << 16) | (uint32_t(u[3]) << 24);
}
uint16_t le16(const char* p) {
  auto u = reinterpret_cast<const unsigned char*>(p);
  return static_cast<uint16_t>(u[0] | (u[1] << 8));
}

}  // namespace

Outcome<WavInfo> inspect_wav(std::string_view b) {
  auto bad = [](std::string msg) {
    Error e(ErrorCode::validation_failed, "The body is not a valid WAV file: " + msg);
    return Outcome<WavInfo>(std::move(e));
  };
  if (b.empty()) return Outcome<WavInfo>(Error(ErrorCode::validation_failed, "The body is empty"));
  if (b.size() < 12 || std::memcmp(b.data(), "RIFF", 4) != 0 ||
      std::memcmp(b.data() + 8, "WAVE", 4) != 0)
    return bad("missing RIFF/WAVE header");
  WavInfo info;
  bool have_fmt = false, have_data = false;
  size_t pos = 12;
  while (pos + 8 <= b.size()) {
    std::string_view id = b.substr(pos, 4);
    uint32_t size = le32(b.data() + pos + 4);
    size_t body = pos + 8;
    if (id == "fmt ") {
      if (size < 16 || body + 16 > b.size()) return bad("truncated fmt chunk");
      info.format = le16(b.data() + body);
      info.channels = le16(b.data() + body + 2);
      info.sample_rate = le32(b.data() + body + 4);
      info.bits_per_sample = le16(b.data() + body + 14);
      have_fmt = true;
    } else if (id == "data") {
      // Streaming writers leave 0 or 0xFFFFFFFF: take what is actually there.
      size_t avail = b.size() - body;
      info.data_bytes = static_cast<uint32_t>(size == 0 || size > avail ? avail : size);
      have_data = true;
      break;
    }
    size_t next = body + size + (size & 1);
    if (next <= pos) break;
    pos = next;
  }
  if (!have_fmt) return bad("no fmt chunk");
  if (!have_data) return bad("no data chunk");
  if (info.channels == 0 || info.sample_rate == 0 || info.bits_per_sample == 0)
    return bad("fmt chunk has zero channels, rate or sample size");
  double bytes_per_second = double(info.sample_rate) * info.channels * (info.bits_per_sample / 8.0);
  info.duration_s = bytes_per_second > 0 ? info.data_bytes / bytes_per_second : 0;
  return info;
}

MediaStore::MediaStore(size_t max_files, size_t max_bytes)
    : max_files_(max_files), max_bytes_(max_bytes) {}

StoredMedia MediaStore::put(std::string bytes, std::string_view name, std::chrono::seconds ttl) {
  sweep();
  std::string clean;
  for (char c : name) {
    if (clean.size() >= 64) break;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_')
      clean.push_back(c);
  }
  if (clean.empty()) clean = "audio";
  StoredMedia m;
  m.token = random_hex(16);
  m.file_name = clean + ".wav";
  m.bytes = std::make_shared<const std::string>(std::move(bytes));
  m.expires = std::chrono::steady_clock::now() + ttl;
  // Bounded: evict the entries closest to expiry first.
  while (!files_.empty() &&
         (files_.size() >= max_files_ || total_bytes_ + m.bytes->size() > max_bytes_)) {
    auto oldest = files_.begin();
    for (auto it = files_.begin(); it != files_.end(); ++it)
      if (it->second.expires < oldest->second.expires) oldest = it;
    total_bytes_ -= oldest->second.bytes->size();
    files_.erase(oldest);
  }
  total_bytes_ += m.bytes->size();
  files_.emplace(m.token, m);
  return m;
}

std::shared_ptr<const std::string> MediaStore::get(std::string_view token,
                                                   std::string_view file_name) {
  auto it = files_.find(std::string(token));
  if (it == files_.end() || it->second.file_name != file_name) return nullptr;
  if (it->second.expires < std::chrono::steady_clock::now()) {
    total_bytes_ -= it->second.bytes->size();
    files_.erase(it);
    return nullptr;
  }
  return it->second.bytes;
}

void MediaStore::remove(std::string_view token) {
  auto it = files_.find(std::string(token));
  if (it == files_.end()) return;
  total_bytes_ -= it->second.bytes->size();
  files_.erase(it);
}

void MediaStore::sweep() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = files_.begin(); it != files_.end();) {
    if (it->second.expires < now) {
      total_bytes_ -= it->second.bytes->size();
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
}

}  // namespace aa::media
