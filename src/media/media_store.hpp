#pragma once
/// Uploaded audio that Asterisk fetches from us over HTTP. Each file lives under
/// a long unguessable path (/media/<32-hex-token>/<name>.wav): short URIs break
/// Asterisk's media cache (see ari-traces README), and the token is the only
/// access control. Files expire after their playback or a TTL; the store is
/// bounded in count and bytes.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/error.hpp"

namespace aa::media {

struct WavInfo {
  uint16_t channels = 0;
  uint32_t sample_rate = 0;
  uint16_t bits_per_sample = 0;
  uint16_t format = 0;  // 1 = PCM
  uint32_t data_bytes = 0;
  double duration_s = 0;
};
/// Checks RIFF/WAVE structure (fmt and data chunks). Error says what is wrong.
Outcome<WavInfo> inspect_wav(std::string_view bytes);

struct StoredMedia {
  std::string token;
  std::string file_name;  // "<name>.wav"
  std::shared_ptr<const std::string> bytes;
  std::chrono::steady_clock::time_point expires;
  std::string path() const { return "/media/" + token + "/" + file_name; }
};

class MediaStore {
 public:
  explicit MediaStore(size_t max_files = 256, size_t max_bytes = 512u * 1024 * 1024);
  /// Keep `bytes`; `name` is sanitized to [A-Za-z0-9_-] (max 64) + ".wav".
  StoredMedia put(std::string bytes, std::string_view name, std::chrono::seconds ttl);
  /// The file at /media/<token>/<file_name>, if present and not expired.
  std::shared_ptr<const std::string> get(std::string_view token, std::string_view file_name);
  void remove(std::string_view token);
  /// Drop expired entries (also done on every put).
  void sweep();
  size_t size() const { return files_.size(); }
  size_t bytes() const { return total_bytes_; }

 private:
  size_t max_files_, max_bytes_;
  size_t total_bytes_ = 0;
  std::unordered_map<std::string, StoredMedia> files_;
};

}  // namespace aa::media
