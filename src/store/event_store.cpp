#include "store/event_store.hpp"

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <future>
#include <mutex>
#include <thread>
#include <variant>

#include "common/log.hpp"

namespace aa::store {

namespace {

constexpr int kSchemaVersion = 2;

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
  // Waits for another connection's lock in short steps (SQLite's own
  // busy_timeout sleeps up to 100 ms at a time: a held event would wait that long).
  sqlite3_busy_handler(
      raw,
      [](void*, int tries) -> int {
        if (tries >= 50'000) return 0;  // about 5 s
        std::this_thread::sleep_for(std::chrono::microseconds(100));
        return 1;
      },
      nullptr);
  return db;
}

uint64_t scalar(sqlite3* db, const char* sql) {
  auto s = prepare(db, sql);
  if (!s || sqlite3_step(s.get()) != SQLITE_ROW) return 0;
  return static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
}

// What the writer thread is asked to do, in queue order.
struct PutDelivery {
  Delivery d;
};
struct DeleteDelivery {
  uint64_t id;
};
struct EventWithDelivery {
  StoredEvent e;
  Delivery d;
};
struct SeqMark {
  uint64_t seq;
};
struct PruneRequest {
  int64_t now_ms;
  std::shared_ptr<std::promise<size_t>> done;
};
using Op = std::variant<StoredEvent, EventWithDelivery, PutDelivery, DeleteDelivery, CallRow,
                        SeqMark, PruneRequest>;

void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}

std::string column_text(sqlite3_stmt* s, int col) {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(s, col));
  return p ? std::string(p, static_cast<size_t>(sqlite3_column_bytes(s, col))) : std::string{};
}

}  // namespace

struct EventStore::Impl {
  EventStoreOptions opts;
  std::string path;
  Db writer{nullptr, &sqlite3_close_v2};
  Db reader{nullptr, &sqlite3_close_v2};
  mutable std::mutex read_mu;  // the reader connection is used by one thread at a time

  mutable std::mutex mu;
  std::condition_variable cv, done_cv;
  std::deque<Op> queue;
  uint64_t enqueued = 0, processed = 0;  // writes taken / written
  bool stopping = false;
  bool failing = false;
  std::string error;
  EventStoreStats st;
  std::atomic<uint64_t> pruned_through{0};
  std::function<void(uint64_t)> on_commit;
  uint64_t max_event_seq = 0;  // the highest event seq committed (writer thread)
  uint64_t seq_mark = 0;       // meta 'seq_mark' (writer thread)
  std::thread thread;
  // Checkpoints run on their own thread and connection: the writer never waits
  // for the WAL to be copied back (and synced) into the database.
  Db checkpointer{nullptr, &sqlite3_close_v2};
  std::thread checkpoint_thread;

  void run_checkpoints() {
    for (;;) {
      {
        std::unique_lock lk(mu);
        if (cv_checkpoint.wait_for(lk, std::chrono::milliseconds(5000), [&] { return stopping; }))
          return;
      }
      std::lock_guard cl(checkpoint_mu);
      const int rc = sqlite3_wal_checkpoint_v2(checkpointer.get(), nullptr,
                                               SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      if (rc != SQLITE_OK && rc != SQLITE_BUSY)
        log::warn("event store {}: checkpoint failed: {}", path,
                  sqlite3_errmsg(checkpointer.get()));
    }
  }
  std::condition_variable cv_checkpoint;
  std::mutex checkpoint_mu;  // the checkpointer connection, one thread at a time

  Stmt ins_event{nullptr, &sqlite3_finalize}, put_delivery{nullptr, &sqlite3_finalize},
      del_delivery{nullptr, &sqlite3_finalize}, put_call{nullptr, &sqlite3_finalize};

  bool push(Op op) {
    {
      std::lock_guard lk(mu);
      if (queue.size() >= opts.max_queue) {
        ++st.refused;
        return false;
      }
      queue.push_back(std::move(op));
      ++enqueued;
      ++st.appended;
    }
    cv.notify_one();
    return true;
  }

  bool step(sqlite3_stmt* s) {
    const bool ok = s && sqlite3_step(s) == SQLITE_DONE;
    if (s) sqlite3_reset(s);
    return ok;
  }

  bool write_event(const StoredEvent& e) {
    sqlite3_stmt* s = ins_event.get();
    if (!s) return false;
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(e.seq));
    sqlite3_bind_int64(s, 2, e.timestamp_ms);
    bind_text(s, 3, e.type);
    bind_text(s, 4, e.call_id);
    bind_text(s, 5, e.body);
    return step(s);
  }
  bool write_delivery(const Delivery& d) {
    sqlite3_stmt* s = put_delivery.get();
    if (!s) return false;
    sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(d.id));
    bind_text(s, 2, d.call_id);
    bind_text(s, 3, d.event);
    bind_text(s, 4, d.body);
    bind_text(s, 5, d.status);
    sqlite3_bind_int(s, 6, d.attempts);
    sqlite3_bind_int64(s, 7, d.created_ms);
    sqlite3_bind_int64(s, 8, d.next_at_ms);
    sqlite3_bind_int(s, 9, d.last_status);
    bind_text(s, 10, d.last_error);
    return step(s);
  }
  bool write_call(const CallRow& c) {
    sqlite3_stmt* s = put_call.get();
    if (!s) return false;
    bind_text(s, 1, c.id);
    sqlite3_bind_int64(s, 2, c.created_ms);
    bind_text(s, 3, c.direction);
    bind_text(s, 4, c.cause);
    sqlite3_bind_int64(s, 5, c.ended_ms);
    bind_text(s, 6, c.record);
    return step(s);
  }

  size_t do_prune(int64_t now_ms) {
    sqlite3* db = writer.get();
    const auto ms = [](auto d) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    };
    const int64_t cutoff = now_ms - ms(opts.retention);
    const int64_t call_cutoff = now_ms - ms(opts.call_retention);
    const auto chunk = static_cast<sqlite3_int64>(opts.prune_chunk);
    size_t n = 0;
    auto run = [&](const char* sql, auto bind) {
      auto s = prepare(db, sql);
      if (!s) return;
      bind(s.get());
      if (sqlite3_step(s.get()) == SQLITE_DONE) n += static_cast<size_t>(sqlite3_changes(db));
    };
    if (!exec(db, "BEGIN")) return 0;
    // The newest event always stays: MAX(seq) is where the next start continues.
    run("DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE ts_ms < ?1 AND "
        "seq < (SELECT MAX(seq) FROM events) ORDER BY seq LIMIT ?2)",
        [&](sqlite3_stmt* s) {
          sqlite3_bind_int64(s, 1, cutoff);
          sqlite3_bind_int64(s, 2, chunk);
        });
    run("DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= (SELECT seq FROM "
        "events ORDER BY seq DESC LIMIT 1 OFFSET ?1) ORDER BY seq LIMIT ?2)",
        [&](sqlite3_stmt* s) {
          sqlite3_bind_int64(s, 1, static_cast<sqlite3_int64>(opts.max_events));
          sqlite3_bind_int64(s, 2, chunk);
        });
    const size_t events_gone = n;
    run("DELETE FROM deliveries WHERE id IN (SELECT id FROM deliveries WHERE status = 'failed' "
        "AND created_ms < ?1 LIMIT ?2)",
        [&](sqlite3_stmt* s) {
          sqlite3_bind_int64(s, 1, cutoff);
          sqlite3_bind_int64(s, 2, chunk);
        });
    run("DELETE FROM calls WHERE id IN (SELECT id FROM calls WHERE created_ms < ?1 LIMIT ?2)",
        [&](sqlite3_stmt* s) {
          sqlite3_bind_int64(s, 1, call_cutoff);
          sqlite3_bind_int64(s, 2, chunk);
        });
    if (events_gone > 0) {
      // Everything below the oldest kept event is gone (or was never stored).
      const uint64_t oldest = scalar(db, "SELECT COALESCE(MIN(seq), 0) FROM events");
      const uint64_t through = oldest > 0 ? oldest - 1 : 0;
      if (through > pruned_through.load()) {
        pruned_through = through;
        auto s =
            prepare(db, "INSERT OR REPLACE INTO meta(key, value) VALUES ('pruned_through', ?1)");
        if (s) {
          sqlite3_bind_int64(s.get(), 1, static_cast<sqlite3_int64>(through));
          sqlite3_step(s.get());
        }
      }
    }
    if (!exec(db, "COMMIT")) {
      exec(db, "ROLLBACK");
      return 0;
    }
    return n;
  }

  bool apply(Op& op) {
    return std::visit(
        [&](auto& v) -> bool {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, StoredEvent>) {
            return write_event(v);
          } else if constexpr (std::is_same_v<T, EventWithDelivery>) {
            return write_event(v.e) && write_delivery(v.d);
          } else if constexpr (std::is_same_v<T, PutDelivery>) {
            return write_delivery(v.d);
          } else if constexpr (std::is_same_v<T, DeleteDelivery>) {
            sqlite3_bind_int64(del_delivery.get(), 1, static_cast<sqlite3_int64>(v.id));
            return step(del_delivery.get());
          } else if constexpr (std::is_same_v<T, CallRow>) {
            return write_call(v);
          } else if constexpr (std::is_same_v<T, SeqMark>) {
            return true;  // written once per batch, below
          } else {
            return true;  // PruneRequest: run outside the batch's transaction
          }
        },
        op);
  }

  void run() {
    ins_event = prepare(writer.get(),
                        "INSERT OR IGNORE INTO events(seq, ts_ms, type, call_id, body) "
                        "VALUES (?1, ?2, ?3, ?4, ?5)");
    put_delivery = prepare(writer.get(),
                           "INSERT OR REPLACE INTO deliveries(id, call_id, event, body, status, "
                           "attempts, created_ms, next_at_ms, last_status, last_error) VALUES "
                           "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
    del_delivery = prepare(writer.get(), "DELETE FROM deliveries WHERE id = ?1");
    put_call = prepare(writer.get(),
                       "INSERT OR REPLACE INTO calls(id, created_ms, direction, cause, ended_ms, "
                       "record) VALUES (?1, ?2, ?3, ?4, ?5, ?6)");
    std::vector<Op> batch;
    for (;;) {
      {
        std::unique_lock lk(mu);
        cv.wait(lk, [&] { return stopping || !queue.empty(); });
        // No waiting for more: at high rates the queue fills while a batch
        // commits, so batches grow by themselves; alone, an event goes at once.
        if (queue.empty() && stopping) return;
        // A prune runs alone, between batches.
        size_t n = 0;
        while (n < queue.size() && n < opts.max_batch &&
               !std::holds_alternative<PruneRequest>(queue[n]))
          ++n;
        if (n == 0) n = 1;
        batch.assign(std::make_move_iterator(queue.begin()),
                     std::make_move_iterator(queue.begin() + static_cast<long>(n)));
        queue.erase(queue.begin(), queue.begin() + static_cast<long>(n));
      }
      if (auto* p = std::get_if<PruneRequest>(&batch.front())) {
        // Not a write: flush() does not wait for prunes.
        p->done->set_value(do_prune(p->now_ms));
        batch.clear();
        continue;
      }
      for (;;) {
        const auto t0 = std::chrono::steady_clock::now();
        bool ok = exec(writer.get(), "BEGIN");
        for (auto& op : batch) {
          if (!ok) break;
          ok = apply(op);
        }
        if (ok) {
          // A seq no stored event carries (live audio) still counts for the next open.
          uint64_t marked = 0, stored = 0;
          for (const auto& op : batch) {
            if (const auto* m = std::get_if<SeqMark>(&op)) marked = std::max(marked, m->seq);
            if (const auto* e = std::get_if<StoredEvent>(&op)) stored = std::max(stored, e->seq);
            if (const auto* ed = std::get_if<EventWithDelivery>(&op))
              stored = std::max(stored, ed->e.seq);
          }
          if (marked > stored && marked > seq_mark) {
            auto m = prepare(writer.get(),
                             "INSERT OR REPLACE INTO meta(key, value) VALUES ('seq_mark', ?1)");
            sqlite3_bind_int64(m.get(), 1, static_cast<sqlite3_int64>(marked));
            ok = m && sqlite3_step(m.get()) == SQLITE_DONE;
            if (ok) seq_mark = marked;
          }
        }
        ok = ok && exec(writer.get(), "COMMIT");
        std::string why;
        if (!ok) {
          why = sqlite3_errmsg(writer.get());
          exec(writer.get(), "ROLLBACK");
        }
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - t0)
                            .count();
        if (ok) {
          for (const auto& op : batch) {
            if (const auto* e = std::get_if<StoredEvent>(&op))
              max_event_seq = std::max(max_event_seq, e->seq);
            else if (const auto* ed = std::get_if<EventWithDelivery>(&op))
              max_event_seq = std::max(max_event_seq, ed->e.seq);
          }
          finish(batch.size(), true, us, {});
          std::function<void(uint64_t)> listener;
          {
            std::lock_guard lk(mu);
            listener = on_commit;
          }
          if (listener) listener(max_event_seq);
          break;
        }
        // Keep the batch and try again: a full or read-only disk may recover.
        finish(0, false, us, why);
        std::vector<PruneRequest> prunes;
        {
          std::unique_lock lk(mu);
          if (cv.wait_for(lk, std::chrono::seconds(1), [&] { return stopping; })) {
            log::error("event store {}: stopping with {} writes not stored: {}", path,
                       batch.size() + queue.size(), why);
            return;
          }
          // Retention may free the room the batch needs: it runs ahead of it.
          for (auto it = queue.begin(); it != queue.end();) {
            if (auto* p = std::get_if<PruneRequest>(&*it)) {
              prunes.push_back(std::move(*p));
              it = queue.erase(it);
            } else {
              ++it;
            }
          }
        }
        for (auto& p : prunes) p.done->set_value(do_prune(p.now_ms));
      }
      batch.clear();
    }
  }

  void finish(size_t written, bool ok, int64_t us, const std::string& why) {
    {
      std::lock_guard lk(mu);
      processed += written;
      if (ok) {
        if (failing) log::info("event store {}: writing again", path);
        failing = false;
        error.clear();
        if (us > 0) {
          ++st.batches;
          st.committed += written;
          st.last_commit_ms = static_cast<double>(us) / 1000.0;
          st.max_commit_ms = std::max(st.max_commit_ms, st.last_commit_ms);
          st.commit_us_total += static_cast<uint64_t>(us);
        }
      } else {
        ++st.write_errors;
        if (!failing || error != why)
          log::error("event store {}: cannot write ({}); keeping {} queued writes and retrying",
                     path, why, queue.size());
        failing = true;
        error = why;
      }
    }
    done_cv.notify_all();
  }
};

EventStore::EventStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

EventStore::~EventStore() {
  {
    std::lock_guard lk(impl_->mu);
    impl_->stopping = true;
  }
  impl_->cv.notify_all();
  impl_->cv_checkpoint.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->checkpoint_thread.joinable()) impl_->checkpoint_thread.join();
  // Prunes still queued (the store closes first) are answered.
  for (auto& op : impl_->queue)
    if (auto* p = std::get_if<PruneRequest>(&op)) p->done->set_value(0);
}

namespace {

bool migrate(sqlite3* db, int from) {
  bool ok = exec(db, "BEGIN");
  if (from < 1)
    ok = ok &&
         exec(db,
              "CREATE TABLE IF NOT EXISTS events(seq INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL, "
              "type TEXT NOT NULL, call_id TEXT NOT NULL, body TEXT NOT NULL)") &&
         exec(db, "CREATE INDEX IF NOT EXISTS events_by_call ON events(call_id, seq)");
  if (from < 2)
    ok = ok &&
         exec(db,
              "CREATE TABLE IF NOT EXISTS deliveries(id INTEGER PRIMARY KEY, call_id TEXT NOT "
              "NULL, event TEXT NOT NULL, body TEXT NOT NULL, status TEXT NOT NULL, attempts "
              "INTEGER NOT NULL, created_ms INTEGER NOT NULL, next_at_ms INTEGER NOT NULL, "
              "last_status INTEGER NOT NULL, last_error TEXT NOT NULL)") &&
         exec(db, "CREATE INDEX IF NOT EXISTS deliveries_by_status ON deliveries(status, id)") &&
         exec(db,
              "CREATE TABLE IF NOT EXISTS calls(id TEXT PRIMARY KEY, created_ms INTEGER NOT NULL, "
              "direction TEXT NOT NULL, cause TEXT NOT NULL, ended_ms INTEGER NOT NULL, record "
              "TEXT NOT NULL)") &&
         exec(db, "CREATE INDEX IF NOT EXISTS calls_by_created ON calls(created_ms, id)") &&
         exec(db, "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value INTEGER)");
  ok = ok && exec(db, ("PRAGMA user_version=" + std::to_string(kSchemaVersion)).c_str()) &&
       exec(db, "COMMIT");
  if (!ok) exec(db, "ROLLBACK");
  return ok;
}

}  // namespace

Outcome<std::unique_ptr<EventStore>> EventStore::open(EventStoreOptions opts) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(opts.dir, ec);
  if (ec)
    return Error(ErrorCode::internal,
                 "cannot create the data folder " + opts.dir + ": " + ec.message());
  if (!fs::is_directory(opts.dir, ec))
    return Error(ErrorCode::internal, "the data folder " + opts.dir + " is not a folder");
  auto impl = std::make_unique<Impl>();
  impl->opts = opts;
  impl->path = (fs::path(opts.dir) / opts.file).string();
  auto w = open_db(impl->path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  if (!w) return w.error();
  impl->writer = std::move(*w);
  sqlite3* db = impl->writer.get();
  // WAL: readers never block the writer; NORMAL sync is durable across a
  // process crash (kill -9), which is what the service promises.
  // Small pages (for a new file): each commit appends whole pages to the WAL,
  // and a commit of a few events touches few bytes.
  exec(db, "PRAGMA page_size=1024");
  if (!exec(db, "PRAGMA journal_mode=WAL") || !exec(db, "PRAGMA synchronous=NORMAL") ||
      !exec(db, "PRAGMA wal_autocheckpoint=0"))
    return store_error("cannot set up the event store", impl->path, db);
  const auto version = static_cast<int>(scalar(db, "PRAGMA user_version"));
  if (version > kSchemaVersion)
    return Error(ErrorCode::internal, "the event store " + impl->path + " has schema version " +
                                          std::to_string(version) + ", newer than this build's " +
                                          std::to_string(kSchemaVersion));
  if (version < kSchemaVersion && !migrate(db, version))
    return store_error("cannot create the event store's tables", impl->path, db);
  if (opts.max_bytes > 0) {
    // The size bound: past it SQLite answers SQLITE_FULL, as a full disk would.
    const uint64_t page = std::max<uint64_t>(scalar(db, "PRAGMA page_size"), 512);
    const uint64_t pages = std::max<uint64_t>(opts.max_bytes / page, 16);
    exec(db, ("PRAGMA max_page_count=" + std::to_string(pages)).c_str());
  }
  // A write probe: a read-only folder or file fails here, at start, clearly.
  if (!exec(db, "BEGIN IMMEDIATE") || !exec(db, "COMMIT"))
    return store_error("the event store is not writable", impl->path, db);
  auto r = open_db(impl->path, SQLITE_OPEN_READONLY);
  if (!r) return r.error();
  impl->reader = std::move(*r);
  auto cp = open_db(impl->path, SQLITE_OPEN_READWRITE);
  if (!cp) return cp.error();
  impl->checkpointer = std::move(*cp);
  // A connection learns that the file is in WAL mode when it first reads it;
  // until then a checkpoint through it does nothing.
  scalar(impl->checkpointer.get(), "SELECT COUNT(*) FROM sqlite_master");
  // Where seq continues: above every seq used (stored events, deliveries,
  // seqs of events never stored).
  const uint64_t last =
      std::max({scalar(db, "SELECT COALESCE(MAX(seq), 0) FROM events"),
                scalar(db, "SELECT COALESCE(MAX(id), 0) FROM deliveries"),
                scalar(db, "SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'seq_mark'")});
  impl->seq_mark = scalar(db, "SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'seq_mark'");
  impl->pruned_through =
      scalar(db, "SELECT COALESCE(MAX(value), 0) FROM meta WHERE key = 'pruned_through'");
  std::string path = impl->path;
  std::unique_ptr<EventStore> store(new EventStore(std::move(impl)));
  store->last_seq_at_open_ = last;
  store->path_ = std::move(path);
  Impl* im = store->impl_.get();
  im->thread = std::thread([im] { im->run(); });
  im->checkpoint_thread = std::thread([im] { im->run_checkpoints(); });
  return store;
}

bool EventStore::append(StoredEvent e) {
  return impl_->push(std::move(e));
}
bool EventStore::append(StoredEvent e, Delivery d) {
  return impl_->push(EventWithDelivery{std::move(e), std::move(d)});
}
bool EventStore::put_delivery(Delivery d) {
  return impl_->push(PutDelivery{std::move(d)});
}
bool EventStore::delete_delivery(uint64_t id) {
  return impl_->push(DeleteDelivery{id});
}
bool EventStore::put_call(CallRow c) {
  return impl_->push(std::move(c));
}
bool EventStore::mark_seq(uint64_t seq) {
  return impl_->push(SeqMark{seq});
}

void EventStore::set_commit_listener(std::function<void(uint64_t)> listener) {
  std::lock_guard lk(impl_->mu);
  impl_->on_commit = std::move(listener);
}

bool EventStore::flush(std::chrono::milliseconds limit) {
  std::unique_lock lk(impl_->mu);
  const uint64_t target = impl_->enqueued;
  return impl_->done_cv.wait_for(lk, limit, [&] { return impl_->processed >= target; });
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
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
    StoredEvent e;
    e.seq = static_cast<uint64_t>(sqlite3_column_int64(s.get(), 0));
    e.timestamp_ms = sqlite3_column_int64(s.get(), 1);
    e.type = column_text(s.get(), 2);
    e.call_id = column_text(s.get(), 3);
    e.body = column_text(s.get(), 4);
    out.push_back(std::move(e));
  }
  if (rc != SQLITE_DONE) return store_error("cannot read the event store", impl_->path, db);
  return out;
}

uint64_t EventStore::oldest_seq() const {
  std::lock_guard lk(impl_->read_mu);
  return scalar(impl_->reader.get(), "SELECT COALESCE(MIN(seq), 0) FROM events");
}

uint64_t EventStore::pruned_through() const {
  return impl_->pruned_through.load();
}

namespace {
constexpr const char* kDeliveryColumns =
    "SELECT id, call_id, event, body, status, attempts, created_ms, next_at_ms, last_status, "
    "last_error FROM deliveries ";
Delivery delivery_row(sqlite3_stmt* s) {
  Delivery d;
  d.id = static_cast<uint64_t>(sqlite3_column_int64(s, 0));
  d.call_id = column_text(s, 1);
  d.event = column_text(s, 2);
  d.body = column_text(s, 3);
  d.status = column_text(s, 4);
  d.attempts = sqlite3_column_int(s, 5);
  d.created_ms = sqlite3_column_int64(s, 6);
  d.next_at_ms = sqlite3_column_int64(s, 7);
  d.last_status = sqlite3_column_int(s, 8);
  d.last_error = column_text(s, 9);
  return d;
}
constexpr const char* kCallColumns =
    "SELECT id, created_ms, direction, cause, ended_ms, record FROM calls ";
CallRow call_row(sqlite3_stmt* s) {
  CallRow c;
  c.id = column_text(s, 0);
  c.created_ms = sqlite3_column_int64(s, 1);
  c.direction = column_text(s, 2);
  c.cause = column_text(s, 3);
  c.ended_ms = sqlite3_column_int64(s, 4);
  c.record = column_text(s, 5);
  return c;
}
}  // namespace

Outcome<std::vector<Delivery>> EventStore::deliveries(std::string_view status, size_t limit,
                                                      uint64_t after_id) const {
  std::lock_guard lk(impl_->read_mu);
  sqlite3* db = impl_->reader.get();
  auto s = prepare(
      db, (std::string(kDeliveryColumns) + "WHERE status = ?1 AND id > ?2 ORDER BY id LIMIT ?3")
              .c_str());
  if (!s) return store_error("cannot read the webhook outbox", impl_->path, db);
  sqlite3_bind_text(s.get(), 1, status.data(), static_cast<int>(status.size()), SQLITE_STATIC);
  sqlite3_bind_int64(s.get(), 2, static_cast<sqlite3_int64>(after_id));
  sqlite3_bind_int64(s.get(), 3, static_cast<sqlite3_int64>(limit));
  std::vector<Delivery> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(delivery_row(s.get()));
  if (rc != SQLITE_DONE) return store_error("cannot read the webhook outbox", impl_->path, db);
  return out;
}

Outcome<std::optional<Delivery>> EventStore::delivery(uint64_t id) const {
  std::lock_guard lk(impl_->read_mu);
  sqlite3* db = impl_->reader.get();
  auto s = prepare(db, (std::string(kDeliveryColumns) + "WHERE id = ?1").c_str());
  if (!s) return store_error("cannot read the webhook outbox", impl_->path, db);
  sqlite3_bind_int64(s.get(), 1, static_cast<sqlite3_int64>(id));
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return std::optional<Delivery>(delivery_row(s.get()));
  if (rc != SQLITE_DONE) return store_error("cannot read the webhook outbox", impl_->path, db);
  return std::optional<Delivery>();
}

Outcome<std::optional<CallRow>> EventStore::call(std::string_view id) const {
  std::lock_guard lk(impl_->read_mu);
  sqlite3* db = impl_->reader.get();
  auto s = prepare(db, (std::string(kCallColumns) + "WHERE id = ?1").c_str());
  if (!s) return store_error("cannot read the call history", impl_->path, db);
  sqlite3_bind_text(s.get(), 1, id.data(), static_cast<int>(id.size()), SQLITE_STATIC);
  const int rc = sqlite3_step(s.get());
  if (rc == SQLITE_ROW) return std::optional<CallRow>(call_row(s.get()));
  if (rc != SQLITE_DONE) return store_error("cannot read the call history", impl_->path, db);
  return std::optional<CallRow>();
}

Outcome<std::vector<CallRow>> EventStore::calls(const CallQuery& q) const {
  std::lock_guard lk(impl_->read_mu);
  sqlite3* db = impl_->reader.get();
  std::string sql = std::string(kCallColumns) + "WHERE 1";
  if (q.from_ms > 0) sql += " AND created_ms >= ?1";
  if (q.to_ms > 0) sql += " AND created_ms < ?2";
  if (!q.direction.empty()) sql += " AND direction = ?3";
  if (!q.cause.empty()) sql += " AND cause = ?4";
  if (q.before) sql += " AND (created_ms < ?5 OR (created_ms = ?5 AND id < ?6))";
  sql += " ORDER BY created_ms DESC, id DESC LIMIT ?7";
  auto s = prepare(db, sql.c_str());
  if (!s) return store_error("cannot read the call history", impl_->path, db);
  sqlite3_bind_int64(s.get(), 1, q.from_ms);
  sqlite3_bind_int64(s.get(), 2, q.to_ms);
  sqlite3_bind_text(s.get(), 3, q.direction.data(), static_cast<int>(q.direction.size()),
                    SQLITE_STATIC);
  sqlite3_bind_text(s.get(), 4, q.cause.data(), static_cast<int>(q.cause.size()), SQLITE_STATIC);
  if (q.before) {
    sqlite3_bind_int64(s.get(), 5, q.before->first);
    sqlite3_bind_text(s.get(), 6, q.before->second.data(),
                      static_cast<int>(q.before->second.size()), SQLITE_STATIC);
  }
  sqlite3_bind_int64(s.get(), 7, static_cast<sqlite3_int64>(q.limit));
  std::vector<CallRow> out;
  int rc;
  while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) out.push_back(call_row(s.get()));
  if (rc != SQLITE_DONE) return store_error("cannot read the call history", impl_->path, db);
  return out;
}

uint64_t EventStore::size_bytes() const {
  std::error_code ec;
  uint64_t n = 0;
  for (const char* suffix : {"", "-wal"}) {
    const auto sz = std::filesystem::file_size(impl_->path + suffix, ec);
    if (!ec) n += sz;
  }
  return n;
}

void EventStore::checkpoint() {
  std::lock_guard cl(impl_->checkpoint_mu);
  // A reader or the writer may hold it up for a moment: try a few times.
  for (int i = 0; i < 50; ++i) {
    if (sqlite3_wal_checkpoint_v2(impl_->checkpointer.get(), nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                  nullptr, nullptr) == SQLITE_OK)
      return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

size_t EventStore::prune(int64_t now_ms) {
  auto done = std::make_shared<std::promise<size_t>>();
  auto result = done->get_future();
  {
    std::lock_guard lk(impl_->mu);
    if (impl_->stopping) return 0;
    // Not bounded by max_queue: one small request.
    impl_->queue.push_back(PruneRequest{now_ms, done});
  }
  impl_->cv.notify_one();
  return result.get();
}

bool EventStore::healthy() const {
  std::lock_guard lk(impl_->mu);
  return !impl_->failing;
}

std::string EventStore::last_error() const {
  std::lock_guard lk(impl_->mu);
  return impl_->error;
}

EventStoreStats EventStore::stats() const {
  std::lock_guard lk(impl_->mu);
  EventStoreStats s = impl_->st;
  s.queued = impl_->queue.size();
  return s;
}

}  // namespace aa::store
