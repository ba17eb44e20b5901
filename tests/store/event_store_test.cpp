// The durable event log's store (src/store): appends committed in order by its
// writer thread, read back by seq and call, seq continuing across a reopen,
// retention by age and count (the newest always kept), clear errors at open.
#include "store/event_store.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

using namespace aa;
using namespace aa::store;
namespace fs = std::filesystem;

namespace {

struct TempDir {
  fs::path path;
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("aa-store-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

StoredEvent ev(uint64_t seq, std::string call, int64_t ts = 1'000'000) {
  return StoredEvent{seq, ts, "call.dtmf", std::move(call),
                     R"({"type":"call.dtmf","seq":)" + std::to_string(seq) + "}"};
}

std::unique_ptr<EventStore> open_in(const TempDir& d, EventStoreOptions o = {}) {
  o.dir = (d.path / "data").string();
  auto s = EventStore::open(o);
  EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
  return s.ok() ? std::move(*s) : nullptr;
}

}  // namespace

TEST(EventStore, AppendsAreCommittedInOrderAndReadBack) {
  TempDir d;
  auto s = open_in(d);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_seq_at_open(), 0u);
  for (uint64_t i = 1; i <= 5000; ++i) ASSERT_TRUE(s->append(ev(i, i % 2 ? "a" : "b")));
  s->flush();
  const auto st = s->stats();
  EXPECT_EQ(st.committed, 5000u);
  EXPECT_EQ(st.write_errors, 0u);
  EXPECT_LT(st.batches, 5000u);  // batched commits, not one per event
  auto r = s->read(500, 100);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->size(), 100u);
  for (size_t i = 0; i < r->size(); ++i) EXPECT_EQ((*r)[i].seq, 501 + i);
  EXPECT_EQ((*r)[0].body, R"({"type":"call.dtmf","seq":501})");
  EXPECT_EQ((*r)[0].type, "call.dtmf");
  // One call's events only.
  auto b = s->read(0, 10, "b");
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 10u);
  for (const auto& e : *b) EXPECT_EQ(e.seq % 2, 0u);
  EXPECT_EQ(s->oldest_seq(), 1u);
  std::printf("[ store ] 5000 events in %llu batches, slowest commit %.2f ms\n",
              static_cast<unsigned long long>(st.batches), st.max_commit_ms);
}

TEST(EventStore, SeqContinuesAcrossAReopen) {
  TempDir d;
  {
    auto s = open_in(d);
    ASSERT_TRUE(s);
    for (uint64_t i = 1; i <= 42; ++i) s->append(ev(i, "c"));
    // Destroyed without flush(): the writer still drains what was appended.
  }
  auto s = open_in(d);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_seq_at_open(), 42u);
  auto r = s->read(40, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 2u);
}

TEST(EventStore, RetentionByAgeAndCountKeepsTheNewest) {
  TempDir d;
  EventStoreOptions o;
  o.retention = std::chrono::hours(1);
  o.max_events = 100;
  auto s = open_in(d, o);
  ASSERT_TRUE(s);
  const int64_t now = 10 * 3'600'000;
  for (uint64_t i = 1; i <= 300; ++i) s->append(ev(i, "c", now - 7'200'000 + 0));  // 2 h old
  for (uint64_t i = 301; i <= 500; ++i) s->append(ev(i, "c", now));
  s->flush();
  const size_t gone = s->prune(now);
  EXPECT_EQ(gone, 400u);  // 300 by age, then 100 beyond the newest 100
  EXPECT_EQ(s->oldest_seq(), 401u);
  // Everything old: the newest event stays, so a restart continues after it.
  const size_t all = s->prune(now + 10 * 3'600'000);
  EXPECT_EQ(all, 99u);
  EXPECT_EQ(s->oldest_seq(), 500u);
  s.reset();
  auto again = open_in(d, o);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->last_seq_at_open(), 500u);
}

TEST(EventStore, AFolderThatCannotBeMadeOrAFileThatIsNoDatabaseIsAClearError) {
  TempDir d;
  std::ofstream(d.path / "plain-file") << "x";
  EventStoreOptions o;
  o.dir = (d.path / "plain-file" / "data").string();
  auto s = EventStore::open(o);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.error().message.find("cannot create the data folder"), std::string::npos)
      << s.error().message;
  EXPECT_NE(s.error().message.find("plain-file"), std::string::npos);

  fs::create_directories(d.path / "bad");
  std::ofstream(d.path / "bad" / "events.sqlite3") << std::string(4096, 'z');
  o.dir = (d.path / "bad").string();
  auto t = EventStore::open(o);
  ASSERT_FALSE(t.ok());
  EXPECT_NE(t.error().message.find("events.sqlite3"), std::string::npos) << t.error().message;
}

TEST(EventStore, ReadsRunBesideTheWriter) {
  TempDir d;
  auto s = open_in(d);
  ASSERT_TRUE(s);
  std::thread reader([&] {
    uint64_t last = 0;
    for (int i = 0; i < 200; ++i) {
      auto r = s->read(last, 1000);
      ASSERT_TRUE(r.ok());
      for (const auto& e : *r) {
        EXPECT_EQ(e.seq, last + 1);  // no gap, no duplicate, in order
        last = e.seq;
      }
    }
  });
  for (uint64_t i = 1; i <= 20000; ++i) s->append(ev(i, "c"));
  reader.join();
  s->flush();
  auto r = s->read(19990, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->size(), 10u);
}
