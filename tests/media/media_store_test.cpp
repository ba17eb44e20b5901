// The media store keeps uploads on disk in a private directory, within its
// caps at all times, and removes files on remove, expiry and destruction.
#include "media/media_store.hpp"

#include <gtest/gtest.h>
#include <malloc.h>
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>

#include "common/asio.hpp"
#include "common/util.hpp"

namespace aa {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

std::string read_file(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
}

unsigned mode_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.is_regular_file() ? 1 : 0;
  return n;
}

TEST(MediaStore, KeepsUploadsOnDiskInAPrivateDirectory) {
  std::string dir;
  {
    media::MediaStore store;
    dir = store.directory();
    ASSERT_TRUE(fs::is_directory(dir));
    EXPECT_EQ(mode_of(dir), 0700u);
    EXPECT_EQ(files_in(dir), 0u);

    auto put = store.put("RIFF-bytes", "greeting", "wav16", seconds(60));
    ASSERT_TRUE(put) << put.error().message;
    EXPECT_EQ(put->token.size(), 32u);
    EXPECT_EQ(put->file_name, "greeting.wav16");
    EXPECT_EQ(put->sound_name(), "greeting");
    EXPECT_EQ(put->extension(), "wav16");
    EXPECT_EQ(put->path(), "/media/" + put->token + "/greeting.wav16");
    EXPECT_EQ(read_file(put->disk_path), "RIFF-bytes");
    EXPECT_EQ(mode_of(put->disk_path), 0600u);
    EXPECT_EQ(fs::path(put->disk_path).parent_path(), fs::path(dir));
    EXPECT_EQ(store.size(), 1u);
    EXPECT_EQ(store.bytes(), 10u);

    auto found = store.find(put->token, "greeting.wav16");
    ASSERT_TRUE(found);
    EXPECT_EQ(found->disk_path, put->disk_path);
    EXPECT_FALSE(store.find(put->token, "greeting.wav"));
    EXPECT_FALSE(store.find("0123456789abcdef0123456789abcdef", "greeting.wav16"));

    store.remove(put->token);
    EXPECT_FALSE(fs::exists(put->disk_path));
    EXPECT_EQ(store.size(), 0u);
    EXPECT_EQ(store.bytes(), 0u);

    auto kept = store.put("abc", "../../etc/passwd", "wav", seconds(60));
    ASSERT_TRUE(kept);
    EXPECT_EQ(kept->file_name, "etcpasswd.wav");
    EXPECT_EQ(files_in(dir), 1u);
  }
  // Destroyed (shutdown): the files and the directory are gone.
  EXPECT_FALSE(fs::exists(dir));
}

TEST(MediaStore, ExpiredFilesAreDeletedFromDisk) {
  media::MediaStore store;
  auto old = store.put("old", "a", "wav", seconds(-1));
  ASSERT_TRUE(old);
  EXPECT_TRUE(fs::exists(old->disk_path));
  EXPECT_FALSE(store.find(old->token, "a.wav"));
  EXPECT_FALSE(fs::exists(old->disk_path));
  auto old2 = store.put("old", "b", "wav", seconds(-1));
  ASSERT_TRUE(old2);
  store.sweep();
  EXPECT_FALSE(fs::exists(old2->disk_path));
  EXPECT_EQ(store.size(), 0u);
}

TEST(MediaStore, TheSweeperDeletesExpiredFilesWithoutAnyRequest) {
  asio::io_context io;
  media::MediaStore store;
  store.start_sweeper(io.get_executor(), std::chrono::milliseconds(5));
  auto old = store.put("old", "a", "wav", seconds(-1));
  ASSERT_TRUE(old);
  const auto until = std::chrono::steady_clock::now() + seconds(10);
  while (fs::exists(old->disk_path) && std::chrono::steady_clock::now() < until)
    io.run_one_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(fs::exists(old->disk_path));
  EXPECT_EQ(store.size(), 0u);
}

TEST(MediaStore, APutOverTheCountCapIsRefusedAndNothingIsEvicted) {
  media::MediaStoreOptions o;
  o.max_files = 2;
  media::MediaStore store(o);
  auto a = store.put("a", "a", "wav", seconds(60));
  auto b = store.put("b", "b", "wav", seconds(60));
  ASSERT_TRUE(a && b);
  auto c = store.put("c", "c", "wav", seconds(60));
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code, ErrorCode::media_store_full);
  EXPECT_NE(c.error().message.find("full"), std::string::npos);
  // The files already there (perhaps playing) are untouched.
  EXPECT_TRUE(fs::exists(a->disk_path));
  EXPECT_TRUE(fs::exists(b->disk_path));
  EXPECT_EQ(files_in(store.directory()), 2u);
  const auto retry = store.retry_after();
  EXPECT_GE(retry.count(), 1);
  EXPECT_LE(retry.count(), 30);
  // A playback ends: room again.
  store.remove(a->token);
  EXPECT_TRUE(store.put("c", "c", "wav", seconds(60)));
}

TEST(MediaStore, APutOverTheByteCapIsRefused) {
  media::MediaStoreOptions o;
  o.max_bytes = 100;
  media::MediaStore store(o);
  ASSERT_TRUE(store.put(std::string(60, 'x'), "a", "wav", seconds(60)));
  auto over = store.put(std::string(41, 'x'), "b", "wav", seconds(60));
  ASSERT_FALSE(over);
  EXPECT_EQ(over.error().code, ErrorCode::media_store_full);
  EXPECT_TRUE(store.put(std::string(40, 'x'), "b", "wav", seconds(60)));
  EXPECT_EQ(store.bytes(), 100u);
  // Larger than the whole store: never fits, so not "retry later".
  auto huge = store.put(std::string(101, 'x'), "c", "wav", seconds(60));
  ASSERT_FALSE(huge);
  EXPECT_EQ(huge.error().code, ErrorCode::payload_too_large);
}

TEST(MediaStore, HoldsTheAudioOnDiskNotInMemory) {
  media::MediaStore store;
  // One put first: what the first use allocates once (the logger's buffers,
  // the directory) is not per file.
  ASSERT_TRUE(store.put(std::string(16, 'w'), "warm-up", "wav16", seconds(60)));
  // glibc's count of bytes in use; ASan replaces malloc and reports 0 here, which
  // passes trivially there — the Release run is the one that measures.
  const size_t before = mallinfo2().uordblks;
  for (int i = 0; i < 8; ++i) {
    auto bytes = std::make_unique<std::string>(1024 * 1024, static_cast<char>('a' + i));
    ASSERT_TRUE(store.put(*bytes, "file" + std::to_string(i), "wav16", seconds(60)));
  }
  const size_t after = mallinfo2().uordblks;
  EXPECT_EQ(store.bytes(), 8u * 1024 * 1024 + 16);
  EXPECT_EQ(files_in(store.directory()), 9u);
  EXPECT_LT(after - std::min(after, before), 64u * 1024)
      << "the store kept " << after - before << " bytes in memory for 8 MiB stored";
}

TEST(MediaStore, ContentTypeLetsAsteriskChooseTheReaderByExtension) {
  EXPECT_EQ(media::content_type_for_asterisk("wav"), "audio/wav");
  // audio/wav would make Asterisk read a 16 kHz file with its 8 kHz reader.
  EXPECT_EQ(media::content_type_for_asterisk("wav16"), "application/octet-stream");
}

}  // namespace
}  // namespace aa
