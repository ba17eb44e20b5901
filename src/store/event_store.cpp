#include "store/event_store.hpp"

#include <sqlite3.h>

#include <condition_variable>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>

#include "common/log.hpp"

namespace aa::store {

namespace {

constexpr int kSchemaVersion = 1;

using Db = std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)>;
using Stmt = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;

Error store_error(const std::string& what, const std::string& path, sqlite3* db) {
  return Error(ErrorCode::internal,
               what + " (" + path + "): " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

Stmt prepare(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  return Stmt(s, &sqlite3_finalize);
}

bool exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

Outcome<Db> open_db(const std::string& path, int flags) {
  sqlite3* raw = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &raw, flags | SQLITE_OPEN_NOMUTEX, nullptr);
  Db db(raw, &sqlite3_close_v2);
  if (rc != SQLITE_OK) return store_error("cannot open the event store", path, raw);
  sqlite3_busy_timeout(raw, 5000);
  return db;
}

uint64_t scalar(sqlite3* db, const char* sql) {
  auto s = prepare(db, sql);
  if (!s || sqlite3_step(s.get()) != SQLITE_ROW) return 0;
  return static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
}

}  // namespace

struct EventStore::Impl {
  EventStoreOptions opts;
  std::string path;
  Db writer{nullptr, &sqlite3_close_v2};
  Db reader{nullptr, &sqlite3_close_v2};
  mutable std::mutex read_mu;  // the reader connection is used by one thread at a time

  std::mutex mu;
  std::condition_variable cv, done_cv;
  std::deque<StoredEvent> queue;
  uint64_t enqueued = 0, processed = 0;  // appends taken / written (or failed)
  bool stopping = false;
  EventStoreStats st;
  std::thread thread;

  void run() {
    auto insert = prepare(writer.get(),
                          "INSERT OR IGNORE INTO events(seq, ts_ms, type, call_id, body) "
                          "VALUES (?1, ?2, ?3, ?4, ?5)");
    std::vector<StoredEvent> batch;
    for (;;) {
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return stopping || !queue.empty(); });
        if (queue.empty() && stopping) return;
        const size_t n = std::min(queue.size(), opts.max_batch);
        batch.assign(std::make_move_iterator(queue.begin()),
                     std::make_move_iterator(queue.begin() + static_cast<long>(n)));
        queue.erase(queue.begin(), queue.begin() + static_cast<long>(n));
      }
      const auto t0 = std::chrono::steady_clock::now();
      bool ok = exec(writer.get(), "BEGIN");
      for (const auto& e : batch) {
        if (!ok || !insert) break;
        sqlite3_bind_int64(insert.get(), 1, static_cast<sqlite3_int64>(e.seq));
        sqlite3_bind_int64(insert.get(), 2, e.timestamp_ms);
        sqlite3_bind_text(insert.get(), 3, e.type.data(), static_cast<int>(e.type.size()),
                          SQLITE_STATIC);
        sqlite3_bind_text(insert.get(), 4, e.call_id.data(), static_cast<int>(e.call_id.size()),
                          SQLITE_STATIC);
        sqlite3_bind_text(insert.get(), 5, e.body.data(), static_cast<int>(e.body.size()),
                          SQLITE_STATIC);
        ok = sqlite3_step(insert.get()) == SQLITE_DONE;
        sqlite3_reset(insert.get());
      }
      ok = ok && exec(writer.get(), "COMMIT");
      if (!ok) {
        const std::string why = sqlite3_errmsg(writer.get());
        exec(writer.get(), "ROLLBACK");
        log::error("event store {}: {} events not written: {}", path, batch.size(), why);
      }
      const double ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      {
        std::lock_guard lk(mu);
        processed += batch.size();
        ++st.batches;
        if (ok)
          st.committed += batch.size();
        else
          ++st.write_errors;
        st.last_commit_ms = ms;
        st.max_commit_ms = std::max(st.max_commit_ms, ms);
      }
      done_cv.notify_all();
      batch.clear();
    }
  }
};

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventStore::~EventStore() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

Outcome<std::unique_ptr<EventStore>> EventStore::open(EventStoreOptions opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(opts.dir, ec);
  if (ec)
    return Error(ErrorCode::internal,
                 "cannot create the data folder " + opts.dir + ": " + ec.message());
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->path = (fs::path(opts.dir) / opts.file).string();
  auto w = open_db(impl->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!w) return w.error();
  impl->writer = std::move(*w);
  sqlite3* db = impl->writer.get();
  // WAL: readers never block the writer; NORMAL sync is durable across a
  // process crash (kill -9), which is what the service promises.
  if (!exec(db, "PRAGMA journal_mode=WAL") || !exec(db, "PRAGMA synchronous=NORMAL"))
    return store_error("cannot set up the event store", impl->path, db);
  const auto version = static_cast<int>(scalar(db, "PRAGMA user_version"));
  if (version > kSchemaVersion)
    return Error(ErrorCode::internal, "the event store " + impl->path + " has schema version " +
                                          std::to_string(version) + ", newer than this build's " +
                                          std::to_string(kSchemaVersion));
  if (version < 1) {
    const bool ok =
        exec(db, "BEGIN") &&
        exec(db,
             "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, "
             "type TEXT NOT NULL, call_id TEXT NOT NULL, body TEXT NOT NULL)") &&
        exec(db, "CREATE INDEX IF NOT EXISTS events_by_call ON events(call_id, seq)") &&
        exec(db, "PRAGMA user_version=1") && exec(db, "COMMIT");
    if (!ok) {
      auto e = store_error("cannot create the event store's tables", impl->path, db);
      exec(db, "ROLLBACK");
      return e;
    }
  }
  // A write probe: a read-only folder or file fails here, at start, clearly.
  if (!exec(db, "BEGIN IMMEDIATE") || !exec(db, "COMMIT"))
    return store_error("the event store is not writable", impl->path, db);
  auto r = open_db(impl->path, SQLITE_OPEN_READONLY);
  if (!r) return r.error();
  impl->reader = std::move(*r);
  const uint64_t last = scalar(db, "SELECT COALESCE(MAX(seq), 0) FROM events");
  std::string path = impl->path;
  std::unique_ptr<EventStore> store(new EventStore(std::move(impl)));
  store->last_seq_at_open_ = last;
  store->path_ = std::move(path);
  Impl* im = store->impl_.get();
  im->thread = std::thread([im] { im->run(); });
  return store;
}

bool EventStore::append(StoredEvent e) {
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->queue.size() >= impl_->opts.max_queue) {
      ++impl_->st.refused;
      return false;
    }
    impl_->queue.push_back(std::move(e));
    ++impl_->enqueued;
    ++impl_->st.appended;
  }
  impl_->cv.notify_one();
  return true;
}

void EventStore::flush() {
  std::unique_lock lk(impl_->mu);
  const uint64_t target = impl_->enqueued;
  impl_->done_cv.wait(lk, [&] { return impl_->processed >= target; });
}

Outcome<std::vector<StoredEvent>> EventStore::read(uint64_t after_seq, size_t limit,
                                                   std::string_view call_id) const {
  std::lock_guard lk(impl_->read_mu);
  sqlite3* db = impl_->reader.get();
  auto s = prepare(db, call_id.empty()
                           ? "SELECT seq, ts_ms, type, call_id, body FROM events WHERE seq > ?1 "
                             "ORDER BY seq LIMIT ?2"
                           : "SELECT seq, ts_ms, type, call_id, body FROM events WHERE seq > ?1 "
                             "AND call_id = ?3 ORDER BY seq LIMIT ?2");
  if (!s) return store_error("cannot read the event store", impl_->path, db);
  sqlite3_bind_int64(s.get(), 1, static_cast<sqlite3_int64>(after_seq));
  sqlite3_bind_int64(s.get(), 2, static_cast<sqlite3_int64>(limit));
  if (!call_id.empty())
    sqlite3_bind_text(s.get(), 3, call_id.data(), static_cast<int>(call_id.size()), SQLITE_STATIC);
  std::vector<StoredEvent> out;
  int rc;
  auto text = [&](int col) {
    const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s.get(), col));
    return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s.get(), col)))
             : std::string{};
  };
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    StoredEvent e;
    e.seq = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
    e.timestamp_ms = sqlite3_column_int64(s.get(), 1);
    e.type = text(2);
    e.call_id = text(3);
    e.body = text(4);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return store_error("cannot read the event store", impl_->path, db);
  return out;
}

uint64_t EventStore::oldest_seq() const {
  std::lock_guard lk(impl_->read_mu);
  return scalar(impl_->reader.get(), "SELECT COALESCE(MIN(seq), 0) FROM events");
}

size_t EventStore::prune(int64_t now_ms) {
  // On the caller's thread with a connection of its own (the writer's is the
  // writer thread's): WAL lets it wait for the writer's lock briefly.
  auto c = open_db(impl_->path, SQLITE_OPEN_READWRITE);
  if (!c) return 0;
  sqlite3* db = c->get();
  const int64_t cutoff =
      now_ms - std::chrono::duration_cast<std::chrono::milliseconds>(impl_->opts.retention).count();
  size_t n = 0;
  // The newest event always stays: MAX(seq) is where the next start continues.
  auto by_age =
      prepare(db, "DELETE FROM events WHERE ts_ms < ?1 AND seq < (SELECT MAX(seq) FROM events)");
  if (by_age) {
    sqlite3_bind_int64(by_age.get(), 1, cutoff);
    if (sqlite3_step(by_age.get()) == SQLITE_DONE) n += static_cast<size_t>(sqlite3_changes(db));
  }
  auto by_count =
      prepare(db,
              "DELETE FROM events WHERE seq <= (SELECT seq FROM events ORDER BY seq DESC "
              "LIMIT 1 OFFSET ?1)");
  if (by_count) {
    sqlite3_bind_int64(by_count.get(), 1, static_cast<sqlite3_int64>(impl_->opts.max_events));
    if (sqlite3_step(by_count.get()) == SQLITE_DONE) n += static_cast<size_t>(sqlite3_changes(db));
  }
  return n;
}

EventStoreStats EventStore::stats() const {
  std::lock_guard lk(impl_->mu);
  EventStoreStats s = impl_->st;
  s.queued = impl_->queue.size();
  return s;
}

}  // namespace aa::store
