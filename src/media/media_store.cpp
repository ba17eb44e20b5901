#include "media/media_store.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <vector>

#include "common/log.hpp"
#include "common/util.hpp"

namespace aa::media {

namespace fs = std::filesystem;

namespace {

std::string sanitize(std::string_view name) {
  std::string clean;
  for (char c : name) {
    if (clean.size() >= 64) break;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_')
      clean.push_back(c);
  }
  return clean.empty() ? "audio" : clean;
}

// Write all of `bytes` to a new file (0600, never an existing one). 0 or errno.
int write_new_file(const std::string& path, std::string_view bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno;
  int err = 0;
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (::close(fd) != 0 && err == 0) err = errno;
  if (err != 0) ::unlink(path.c_str());
  return err;
}

}  // namespace

std::string StoredMedia::sound_name() const {
  const auto dot = file_name.rfind('.');
  return dot == std::string::npos ? file_name : file_name.substr(0, dot);
}

std::string StoredMedia::extension() const {
  const auto dot = file_name.rfind('.');
  return dot == std::string::npos ? std::string{} : file_name.substr(dot + 1);
}

std::string_view content_type_for_asterisk(std::string_view extension) {
  return extension == "wav" ? "audio/wav" : "application/octet-stream";
}

MediaStore::MediaStore(MediaStoreOptions opts) : opts_(std::move(opts)) {
  std::error_code ec;
  fs::path parent =
      opts_.parent_dir.empty() ? fs::temp_directory_path(ec) : fs::path(opts_.parent_dir);
  if (ec) parent = "/tmp";
  std::string tmpl = (parent / "asterisk-api-media-XXXXXX").string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  // mkdtemp creates the directory 0700: only this user can list or read it.
  if (!::mkdtemp(buf.data()))
    throw std::runtime_error("cannot create the media directory under " + parent.string() + ": " +
                             std::strerror(errno));
  dir_ = buf.data();
}

MediaStore::~MediaStore() {
  worker_.join();
  if (sweeper_) sweeper_->cancel();
  std::error_code ec;
  fs::remove_all(dir_, ec);
  if (ec) log::warn("media: cannot remove {}: {}", dir_, ec.message());
}

void MediaStore::erase(std::unordered_map<std::string, StoredMedia>::iterator it) {
  ::unlink(it->second.disk_path.c_str());
  total_bytes_ -= it->second.size;
  files_.erase(it);
}

Outcome<StoredMedia> MediaStore::put(std::string_view bytes, std::string_view name,
                                     std::string_view extension, std::chrono::seconds ttl) {
  sweep();
  if (bytes.size() > opts_.max_bytes)
    return Error(ErrorCode::payload_too_large, "The audio is larger than the media store (" +
                                                   std::to_string(opts_.max_bytes) + " bytes)");
  if (files_.size() + 1 > opts_.max_files || total_bytes_ + bytes.size() > opts_.max_bytes)
    return Error(ErrorCode::media_store_full,
                 "The media store is full (" + std::to_string(files_.size()) + " files, " +
                     std::to_string(total_bytes_) + " of " + std::to_string(opts_.max_bytes) +
                     " bytes); retry when playbacks have ended");
  StoredMedia m;
  m.token = random_hex(16);
  m.file_name = sanitize(name) + "." + std::string(extension);
  m.disk_path = dir_ + "/" + m.token + "." + std::string(extension);
  m.size = bytes.size();
  m.expires = std::chrono::steady_clock::now() + ttl;
  if (const int err = write_new_file(m.disk_path, bytes); err != 0) {
    if (err == ENOSPC || err == EDQUOT)
      return Error(ErrorCode::media_store_full, "No disk space left for uploaded audio",
                   "media: " + m.disk_path + ": " + std::strerror(err));
    return Error(ErrorCode::internal, "Cannot store the audio",
                 "media: " + m.disk_path + ": " + std::strerror(err));
  }
  total_bytes_ += m.size;
  files_.emplace(m.token, m);
  return m;
}

std::optional<StoredMedia> MediaStore::find(std::string_view token, std::string_view file_name) {
  auto it = files_.find(std::string(token));
  if (it == files_.end() || it->second.file_name != file_name) return std::nullopt;
  if (it->second.expires < std::chrono::steady_clock::now()) {
    erase(it);
    return std::nullopt;
  }
  return it->second;
}

void MediaStore::remove(std::string_view token) {
  auto it = files_.find(std::string(token));
  if (it != files_.end()) erase(it);
}

void MediaStore::sweep() {
  const auto now = std::chrono::steady_clock::now();
  for (auto it = files_.begin(); it != files_.end();) {
    auto next = std::next(it);
    if (it->second.expires < now) erase(it);
    it = next;
  }
}

void MediaStore::start_sweeper(asio::any_io_executor ex, std::chrono::milliseconds period) {
  sweeper_ = std::make_unique<asio::steady_timer>(ex);
  sweep_period_ = period;
  arm_sweeper();
}

void MediaStore::arm_sweeper() {
  sweeper_->expires_after(sweep_period_);
  // The weak flag keeps a late handler off a destroyed store.
  sweeper_->async_wait(
      [this, alive = std::weak_ptr<bool>(alive_)](const boost::system::error_code& ec) {
        if (ec || alive.expired()) return;
        sweep();
        arm_sweeper();
      });
}

namespace {
// Runs on the worker. Parameters, no captures (see docs/CODING.md); the result is
// wrapped in optional because co_spawn's completion needs a default value.
awaitable<std::optional<Outcome<PreparedAudio>>> convert(std::string wav) {
  co_return prepare_for_asterisk(wav);
}
}  // namespace

awaitable<Outcome<PreparedAudio>> MediaStore::prepare(std::string wav) {
  std::optional<Outcome<PreparedAudio>> r =
      co_await asio::co_spawn(worker_.get_executor(), convert(std::move(wav)), use_awaitable);
  if (!r) co_return Error(ErrorCode::internal, "Audio conversion failed");
  co_return std::move(*r);
}

std::chrono::seconds MediaStore::retry_after() const {
  auto first = std::chrono::steady_clock::time_point::max();
  for (const auto& [token, m] : files_) first = std::min(first, m.expires);
  if (files_.empty()) return std::chrono::seconds(5);
  const auto left =
      std::chrono::ceil<std::chrono::seconds>(first - std::chrono::steady_clock::now());
  return std::clamp(left, std::chrono::seconds(1), std::chrono::seconds(30));
}

}  // namespace aa::media
