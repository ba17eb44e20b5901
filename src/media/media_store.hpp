#pragma once
/// Uploaded audio that Asterisk fetches from us over HTTP, kept on disk.
///
/// Each file lives under a long unguessable URL path
/// (/media/<32-hex-token>/<name>.<ext>): short URIs break Asterisk's media
/// cache (see ari-traces README), and the token is the only access control.
/// The bytes are written to a private directory created at start (0700, files
/// 0600, under $TMPDIR unless told otherwise) and served from there with the
/// HTTP server's file streaming, so the store holds only metadata in memory.
/// Files go when their playback ends (the caller removes them), when their TTL
/// passes, and all of them when the store is destroyed.
///
/// Bounded in count and bytes at all times, files still playing included: a
/// put that would exceed either cap is refused (ErrorCode::media_store_full),
/// nothing is evicted under a playing call.
#include <boost/asio/thread_pool.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/asio.hpp"
#include "common/error.hpp"
#include "media/asterisk_audio.hpp"

namespace aa::media {

struct MediaStoreOptions {
  /// Where the private directory is created (empty: the system temp dir, $TMPDIR).
  std::string parent_dir;
  size_t max_files = 256;
  size_t max_bytes = 512u * 1024 * 1024;
};

struct StoredMedia {
  std::string token;      // 32 hex chars (128 random bits)
  std::string file_name;  // "<name>.<extension>", as in the URL
  std::string disk_path;  // the file on disk
  size_t size = 0;        // bytes
  std::chrono::steady_clock::time_point expires;

  /// The URL path: "/media/<token>/<file_name>".
  std::string path() const { return "/media/" + token + "/" + file_name; }
  /// file_name without its extension (what the API reports as soundName).
  std::string sound_name() const;
  /// The extension without the dot ("wav", "wav16").
  std::string extension() const;
};

/// The Content-Type a stored file is served with. Asterisk's media cache
/// chooses the file reader by Content-Type first and by the URL's extension
/// only when no reader claims the type (res_http_media_cache.c,
/// bucket_file_set_extension); format_wav claims audio/wav and audio/x-wav for
/// its 8 kHz "wav" reader alone. So "wav" is served as audio/wav, and anything
/// else ("wav16") as application/octet-stream, which no reader claims, so that
/// the extension decides: a 16 kHz file sent as audio/wav would fail.
std::string_view content_type_for_asterisk(std::string_view extension);

class MediaStore {
 public:
  /// Creates the private directory; throws std::runtime_error if it cannot.
  explicit MediaStore(MediaStoreOptions opts = {});
  /// Removes every file and the directory.
  ~MediaStore();
  MediaStore(const MediaStore&) = delete;
  MediaStore& operator=(const MediaStore&) = delete;

  /// prepare_for_asterisk(wav) on the store's worker thread, so that decoding
  /// and resampling (~0.5 s for a minute of 44.1 kHz audio) never hold up the
  /// io thread; resumes on the caller's executor. One conversion at a time.
  awaitable<Outcome<PreparedAudio>> prepare(std::string wav);

  /// Write `bytes` to a new file named after `name` (sanitized to
  /// [A-Za-z0-9_-], at most 64 characters, "audio" if nothing is left) and
  /// `extension` (e.g. "wav16"). Expired files are dropped first. Errors:
  /// media_store_full when the file would take the store over max_files or
  /// max_bytes, or the disk is full; payload_too_large when `bytes` alone is
  /// larger than max_bytes; internal on other I/O failures.
  Outcome<StoredMedia> put(std::string_view bytes, std::string_view name,
                           std::string_view extension, std::chrono::seconds ttl);
  /// The file at /media/<token>/<file_name>, if present and not expired.
  std::optional<StoredMedia> find(std::string_view token, std::string_view file_name);
  /// Delete the file of `token` (no-op when unknown).
  void remove(std::string_view token);
  /// Drop expired files (also done on every put and find, and by the sweeper).
  void sweep();
  /// Sweep every `period` on `ex` until the store is destroyed.
  void start_sweeper(asio::any_io_executor ex,
                     std::chrono::milliseconds period = std::chrono::seconds(30));

  size_t size() const { return files_.size(); }
  /// Bytes on disk (what max_bytes bounds).
  size_t bytes() const { return total_bytes_; }
  size_t max_files() const { return opts_.max_files; }
  size_t max_bytes() const { return opts_.max_bytes; }
  const std::string& directory() const { return dir_; }
  /// A Retry-After hint for a refused put: seconds until the first file
  /// expires, 1..30 (files playing are freed earlier, when they end).
  std::chrono::seconds retry_after() const;

 private:
  void erase(std::unordered_map<std::string, StoredMedia>::iterator it);
  void arm_sweeper();

  MediaStoreOptions opts_;
  std::string dir_;
  size_t total_bytes_ = 0;
  std::unordered_map<std::string, StoredMedia> files_;  // by token
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  std::unique_ptr<asio::steady_timer> sweeper_;
  std::chrono::milliseconds sweep_period_{30000};
  asio::thread_pool worker_{1};  // last member: joined first, while the rest still exists
};

}  // namespace aa::media
