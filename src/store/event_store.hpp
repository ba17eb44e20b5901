#pragma once
/// The durable event log (issue 12's store, first layer): every event the
/// service publishes, in `seq` order, in SQLite (Debian libsqlite3, WAL mode).
/// One writer thread takes appends from a bounded queue and commits them in
/// batches, so the io thread never waits on the disk; reads use their own
/// connection and may run on any thread. Not wired into the service yet: the
/// event hub, replay (`/events?since=`) and the webhook outbox come next.
///
/// Schema (versioned with PRAGMA user_version, migrated at open):
///   events(seq INTEGER PRIMARY KEY, ts_ms INTEGER, type TEXT, call_id TEXT, body TEXT)
///   index events_by_call(call_id, seq)
/// Retention: by age (`retention`) and by count (`max_events`), prune().
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/error.hpp"

namespace aa::store {

struct StoredEvent {
  uint64_t seq = 0;          // strictly increasing, never reused across restarts
  int64_t timestamp_ms = 0;  // Unix ms
  std::string type;          // "call.dtmf", ...
  std::string call_id;       // "" for bridge events
  std::string body;          // the /events envelope (JSON text)
};

struct EventStoreOptions {
  /// Folder of the database (created with its parents when missing).
  std::string dir = "data";
  std::string file = "events.sqlite3";
  std::chrono::hours retention{72};  // EVENT_RETENTION_HOURS
  size_t max_events = 5'000'000;     // kept at most (the oldest go first)
  /// Appends waiting for the writer, at most; beyond it append() refuses.
  size_t max_queue = 100'000;
  /// Most events in one transaction.
  size_t max_batch = 4096;
};

struct EventStoreStats {
  uint64_t appended = 0, committed = 0, refused = 0, batches = 0, write_errors = 0;
  size_t queued = 0;
  double last_commit_ms = 0, max_commit_ms = 0;  // one batch's commit time
};

class EventStore {
 public:
  /// Open (create, migrate) the database. Errors (internal code, a readable
  /// message naming the path and SQLite's reason): the folder cannot be
  /// created or written, the file is not a database, a newer schema.
  static Outcome<std::unique_ptr<EventStore>> open(EventStoreOptions opts);
  ~EventStore();
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;

  /// The highest seq stored when the store was opened (0: empty): the
  /// service's seq counter continues after it.
  uint64_t last_seq_at_open() const { return last_seq_at_open_; }
  /// Queue `e` for the writer (thread-safe, never blocks on the disk).
  /// False when the queue is full (the event is not stored; counted).
  bool append(StoredEvent e);
  /// Wait until everything appended before this call is committed (or failed).
  void flush();
  /// Events with seq > after_seq, in order, at most `limit`; only `call_id`'s
  /// when it is not empty. Thread-safe.
  Outcome<std::vector<StoredEvent>> read(uint64_t after_seq, size_t limit,
                                         std::string_view call_id = {}) const;
  /// The lowest seq stored (0: none).
  uint64_t oldest_seq() const;
  /// Delete what is older than the retention (relative to `now_ms`) and the
  /// oldest beyond max_events. Returns how many went.
  size_t prune(int64_t now_ms);
  EventStoreStats stats() const;
  const std::string& path() const { return path_; }

  struct Impl;

 private:
  explicit EventStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  uint64_t last_seq_at_open_ = 0;
  std::string path_;
};

}  // namespace aa::store
