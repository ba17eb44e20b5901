// The durable event log's store (src/store): appends committed in order by its
// writer thread, read back by seq and call, seq continuing across a reopen,
// retention by age and count (the newest always kept), clear errors at open.
#include "store/event_store.hpp"

#include <gtest/gtest.h>
#include <sqlite3.h>
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

TEST(EventStore, DeliveriesAndCallsAreWrittenReadAndPruned) {
  TempDir d;
  auto s = open_in(d);
  ASSERT_TRUE(s);
  auto delivery = [](uint64_t id, std::string call, int64_t created) {
    Delivery x;
    x.id = id;
    x.call_id = std::move(call);
    x.event = "call.dtmf";
    x.body = R"({"event":"call.dtmf"})";
    x.status = "pending";
    x.created_ms = created;
    x.next_at_ms = created;
    return x;
  };
  for (uint64_t i = 1; i <= 4; ++i) ASSERT_TRUE(s->append(ev(i, "a"), delivery(i, "a", 1'000'000)));
  // One delivered (gone), one failed after 3 attempts.
  s->delete_delivery(1);
  Delivery failed = delivery(2, "a", 1'000'000);
  failed.status = "failed";
  failed.attempts = 3;
  failed.last_status = 500;
  failed.last_error = "the receiver answered 500";
  s->put_delivery(failed);
  auto now = 10'000'000'000LL;
  for (int i = 0; i < 3; ++i) {
    CallRow c;
    c.id = "call-" + std::to_string(i);
    c.created_ms = now - 1000 * i;
    c.direction = i == 1 ? "outbound" : "inbound";
    c.cause = "normal";
    c.record = R"({"id":")" + c.id + R"("})";
    s->put_call(c);
  }
  ASSERT_TRUE(s->flush());
  auto pending = s->deliveries("pending", 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 2u);
  EXPECT_EQ((*pending)[0].id, 3u);
  auto f = s->delivery(2);
  ASSERT_TRUE(f.ok() && f->has_value());
  EXPECT_EQ((*f)->status, "failed");
  EXPECT_EQ((*f)->attempts, 3);
  EXPECT_EQ((*f)->last_error, "the receiver answered 500");
  EXPECT_FALSE(s->delivery(1)->has_value());
  // Newest first, keyset pages, filters.
  CallQuery q;
  q.limit = 2;
  auto p1 = s->calls(q);
  ASSERT_TRUE(p1.ok());
  ASSERT_EQ(p1->size(), 2u);
  EXPECT_EQ((*p1)[0].id, "call-0");
  EXPECT_EQ((*p1)[1].id, "call-1");
  q.before = std::make_pair((*p1)[1].created_ms, (*p1)[1].id);
  auto p2 = s->calls(q);
  ASSERT_EQ(p2->size(), 1u);
  EXPECT_EQ((*p2)[0].id, "call-2");
  CallQuery out;
  out.direction = "outbound";
  EXPECT_EQ(s->calls(out)->size(), 1u);
  EXPECT_TRUE(s->call("call-1")->has_value());
  // Failed deliveries go with the event retention; calls with theirs.
  const size_t gone = s->prune(now + 24LL * 3600 * 1000 * 40);
  EXPECT_GE(gone, 3u + 1u + 3u);
  EXPECT_FALSE(s->delivery(2)->has_value());
  EXPECT_TRUE(s->delivery(3)->has_value());  // pending ones stay: they are owed
  EXPECT_EQ(s->calls(CallQuery{})->size(), 0u);
}

TEST(EventStore, AVersion1StoreIsMigratedKeepingItsEvents) {
  TempDir d;
  const auto dir = d.path / "data";
  fs::create_directories(dir);
  {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open((dir / "events.sqlite3").c_str(), &db), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(db,
                           "CREATE TABLE events(seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, "
                           "type TEXT NOT NULL, call_id TEXT NOT NULL, body TEXT NOT NULL);"
                           "INSERT INTO events VALUES (41, 1, 'call.dtmf', 'a', '{}');"
                           "PRAGMA user_version=1;",
                           nullptr, nullptr, nullptr),
              SQLITE_OK);
    sqlite3_close(db);
  }
  auto s = open_in(d);
  ASSERT_TRUE(s);
  EXPECT_EQ(s->last_seq_at_open(), 41u);
  Delivery x;
  x.id = 42;
  x.status = "pending";
  ASSERT_TRUE(s->append(ev(42, "a"), x));
  ASSERT_TRUE(s->flush());
  EXPECT_EQ(s->deliveries("pending", 10)->size(), 1u);
  EXPECT_EQ(s->read(0, 10)->size(), 2u);
}

TEST(EventStore, AFullDiskKeepsTheWritesRetriesAndRecoversWhenRetentionFreesRoom) {
  TempDir d;
  EventStoreOptions o;
  o.max_bytes = 64 * 1024;
  auto s = open_in(d, o);
  ASSERT_TRUE(s);
  const std::string big(2000, 'x');
  uint64_t seq = 0;
  for (int i = 0; i < 200 && s->healthy(); ++i) {
    for (int k = 0; k < 10; ++k) s->append(StoredEvent{++seq, 1000, "call.dtmf", "a", big});
    s->flush(std::chrono::milliseconds(200));
  }
  ASSERT_FALSE(s->healthy());
  EXPECT_NE(s->last_error().find("full"), std::string::npos) << s->last_error();
  EXPECT_GT(s->stats().write_errors, 0u);
  EXPECT_FALSE(s->flush(std::chrono::milliseconds(100)));  // the batch waits, not dropped
  // Retention frees room (every event is old now): the kept batch goes in.
  s->prune(1000 + 100LL * 3600 * 1000);
  EXPECT_TRUE(s->flush(std::chrono::seconds(5)));
  EXPECT_TRUE(s->healthy());
  auto last = s->read(seq - 1, 10);
  ASSERT_TRUE(last.ok());
  ASSERT_EQ(last->size(), 1u);  // the newest event of the failed batch is stored
  EXPECT_EQ((*last)[0].seq, seq);
}
