#pragma once
/// The durable store (issue 12): the event log, the webhook outbox and the call
/// history, in one SQLite database (Debian libsqlite3, WAL mode) under DATA_DIR.
/// One writer thread takes writes from a bounded queue and commits them in
/// batches, in the order they were queued (an event and its webhook delivery
/// land in the same transaction), so the io thread never waits on the disk.
/// Reads use their own connection and may run on any thread (a worker, never
/// the io thread: they touch the disk).
///
/// A batch that cannot be written (disk full, read-only, I/O error) is kept and
/// retried every second: nothing queued is dropped while the disk recovers;
/// meanwhile healthy() is false, last_error() says why, and appends beyond the
/// queue bound are refused (counted).
///
/// Schema (versioned with PRAGMA user_version, migrated at open):
///   v1 events(seq INTEGER PRIMARY KEY, ts_ms, type, call_id, body)   body = /events envelope
///   v2 deliveries(id = the event's seq, call_id, event, body, status, attempts,
///                 created_ms, next_at_ms, last_status, last_error)
///      calls(id PRIMARY KEY, created_ms, direction, cause, ended_ms, record)   record = JSON
///      meta(key PRIMARY KEY, value)   "pruned_through": the highest seq retention removed
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
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

/// One webhook delivery of the outbox: one event to WEBHOOK_URL.
struct Delivery {
  uint64_t id = 0;  // the event's seq (also X-Event-Id)
  std::string call_id;
  std::string event;       // "call.dtmf", ...
  std::string body;        // the POST body
  std::string status;      // "pending" | "failed"
  int attempts = 0;        // made so far
  int64_t created_ms = 0;  // Unix ms
  int64_t next_at_ms = 0;  // pending: next attempt not before (Unix ms)
  int last_status = 0;     // the receiver's last HTTP status (0: none)
  std::string last_error;  // why the last attempt failed
};

/// A call as history keeps it: a few columns to filter on, the record as JSON.
struct CallRow {
  std::string id;
  int64_t created_ms = 0;
  std::string direction;  // inbound | outbound
  std::string cause;      // hangup cause ("" while active)
  int64_t ended_ms = 0;   // 0: not ended (or the service stopped first)
  std::string record;     // JSON object (the CallRecord + history fields)
};

struct CallQuery {
  int64_t from_ms = 0, to_ms = 0;  // created in [from, to) (0: open)
  std::string direction, cause;    // "" any
  size_t limit = 50;
  /// Keyset cursor: strictly older than (created_ms, id) in (created_ms DESC, id DESC) order.
  std::optional<std::pair<int64_t, std::string>> before;
};

struct EventStoreOptions {
  /// Folder of the database (created with its parents when missing).
  std::string dir = "data";
  std::string file = "events.sqlite3";
  std::chrono::hours retention{72};            // EVENT_RETENTION_HOURS (events, failed deliveries)
  std::chrono::hours call_retention{24 * 30};  // calls
  size_t max_events = 5'000'000;               // kept at most (the oldest go first)
  /// The database's size bound (bytes, 0: none): past it writes fail as a full disk would.
  uint64_t max_bytes = 0;
  /// Writes waiting for the writer, at most; beyond it they are refused.
  size_t max_queue = 100'000;
  /// Most writes in one transaction.
  size_t max_batch = 4096;
  /// Most rows one prune pass deletes per table (keeps the writer's pauses short).
  size_t prune_chunk = 50'000;
};

struct EventStoreStats {
  uint64_t appended = 0, committed = 0, refused = 0, batches = 0, write_errors = 0;
  size_t queued = 0;
  double last_commit_ms = 0, max_commit_ms = 0;  // one batch's commit time
  uint64_t commit_us_total = 0;                  // all batches' commit time (µs)
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

  /// The highest seq used when the store was opened (stored events,
  /// deliveries, mark_seq; 0: empty): the service's seq counter continues after it.
  uint64_t last_seq_at_open() const { return last_seq_at_open_; }

  // ---- writes (thread-safe, queued, never block on the disk) ----
  /// False when the queue is full (nothing is stored; counted as refused).
  bool append(StoredEvent e);
  /// The event and its delivery in one transaction.
  bool append(StoredEvent e, Delivery d);
  /// Insert or replace a delivery (its state after an attempt or a retry).
  bool put_delivery(Delivery d);
  /// Forget a delivery (delivered).
  bool delete_delivery(uint64_t id);
  /// Insert or replace a call's history row.
  bool put_call(CallRow c);
  /// A seq used by an event that is not stored (live audio): the next open's
  /// last_seq_at_open() is at least this, so seq never repeats.
  bool mark_seq(uint64_t seq);
  /// Told (on the writer thread) after each committed batch: the highest event
  /// seq written so far. Set it before the first append.
  void set_commit_listener(std::function<void(uint64_t committed_seq)> listener);
  /// Wait until everything queued before this call is written (or `limit`
  /// passed while the disk fails). True when it was written.
  bool flush(std::chrono::milliseconds limit = std::chrono::seconds(5));

  // ---- reads (thread-safe; the disk: not on the io thread) ----
  /// Events with seq > after_seq, in order, at most `limit`; only `call_id`'s
  /// when it is not empty.
  Outcome<std::vector<StoredEvent>> read(uint64_t after_seq, size_t limit,
                                         std::string_view call_id = {}) const;
  /// The lowest seq stored (0: none).
  uint64_t oldest_seq() const;
  /// The highest seq retention has removed (0: none): a replay from before it has a gap.
  uint64_t pruned_through() const;
  /// Deliveries with `status` ("pending" | "failed"), oldest first, id > after_id.
  Outcome<std::vector<Delivery>> deliveries(std::string_view status, size_t limit,
                                            uint64_t after_id = 0) const;
  Outcome<std::optional<Delivery>> delivery(uint64_t id) const;
  Outcome<std::optional<CallRow>> call(std::string_view id) const;
  /// Calls newest first (created_ms DESC, id DESC), filtered.
  Outcome<std::vector<CallRow>> calls(const CallQuery& q) const;
  /// The database's size on disk (main file + WAL), bytes.
  uint64_t size_bytes() const;
  /// Copy the WAL into the database and truncate it (a background thread
  /// does this passively every 500 ms; this waits for it to be complete).
  void checkpoint();

  /// Delete events and failed deliveries older than the retention, calls older
  /// than the call retention (relative to `now_ms`) and the oldest events
  /// beyond max_events; the newest event always stays. Runs on the writer
  /// thread (queued behind earlier writes); returns how many rows went.
  size_t prune(int64_t now_ms);

  /// False while the last write failed (disk full, read-only, I/O error).
  bool healthy() const;
  /// Why the last write failed ("" when healthy).
  std::string last_error() const;
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
