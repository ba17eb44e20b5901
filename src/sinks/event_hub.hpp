#pragma once
/// Fan-out of domain events to the `/events` WebSocket clients. A new client
/// first receives a snapshot of the active calls, then every event's envelope
/// in publish order. Each envelope is formatted once and the same text goes to
/// every client. A client that cannot keep up overflows its bounded queue in
/// the net layer and is closed there (1008); the hub counts those drops.
/// Single-threaded: use it on the io thread that runs the domain.
///
/// Replay (issue 12): a client that gives `since` gets, instead of the
/// snapshot, every stored event after that seq (read page by page through the
/// ReplaySource, paced by how fast it reads), then the live events, with no
/// gap or duplicate at the seam: live events published during the replay wait
/// (bounded) and follow it. A `since` from before what the log still holds
/// gets `{"type":"gap","from":since+1,"to":<last lost seq>}` and the snapshot.
/// Filters (`callId`, `types`) apply to the replay, the snapshot and live events.
///
/// Given an executor, delivery is batched: events published while a delivery
/// round is pending go out together, one write per client for all of them,
/// and the next round waits as long as the previous one took. Under light load
/// a round runs right after the publishing handler; under heavy load (many
/// clients, high rates) batches grow instead of the backlog, as a plain
/// broadcaster's would. Without an executor every event is delivered at once.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "calls/model.hpp"
#include "common/asio.hpp"
#include "net/http_types.hpp"

namespace aa::sinks {

class EventHub final : public calls::EventSink {
 public:
  using SnapshotSource = std::function<std::vector<calls::CallRecord>()>;

  EventHub();
  explicit EventHub(asio::any_io_executor ex);
  ~EventHub() override;
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  /// Where the snapshot for new clients comes from (the CallManager's active calls).
  void set_snapshot_source(SnapshotSource source);
  /// The seq the snapshot is current as of (the last event the domain raised):
  /// events up to it that reach the hub later (held for their commit) are
  /// already in a new client's snapshot, and are not sent to it again.
  void set_snapshot_seq(std::function<uint64_t()> source);
  /// Where seq stood before this run (the store's last seq): a `since` before
  /// it replays, one at it is up to date.
  void set_last_seq(uint64_t seq);

  /// calls::EventSink: send the event's envelope to every client.
  void publish(const calls::DomainEvent& e) override;

  struct ClientOptions {
    /// Also send `call.audio_frame` (the caller's audio, ~10 events/s per
    /// capture): only to clients that ask (`/events?audio=1`).
    bool audio_frames = false;
    /// Replay the log after this seq instead of sending the snapshot.
    std::optional<uint64_t> since;
    /// Only this call's events (and snapshot); "" all.
    std::string call_id;
    /// Only these event types ("call.dtmf", ...); empty: all.
    std::vector<std::string> types;
  };

  /// One page of the stored log, read off the io thread.
  struct ReplayPage {
    bool ok = true;
    std::string error;
    /// The log no longer holds what follows `after`: seqs up to gap_to are lost.
    uint64_t gap_to = 0;
    struct Item {
      uint64_t seq;
      std::string type, body;
    };
    std::vector<Item> items;  // seq order, seq > after
  };
  /// Read up to `limit` stored events after `after` (only `call_id`'s when set)
  /// and call `done` on the hub's executor.
  using ReplaySource = std::function<void(uint64_t after, size_t limit, std::string call_id,
                                          std::function<void(ReplayPage)> done)>;
  void set_replay_source(ReplaySource source);
  /// Events replayed to clients so far.
  uint64_t replayed() const;
  /// The highest seq published so far.
  uint64_t last_seq() const;
  /// Take a freshly opened `/events` connection: snapshot now, events from now on.
  void add_client(std::shared_ptr<net::WsConnection> conn);
  void add_client(std::shared_ptr<net::WsConnection> conn, ClientOptions o);
  /// Clients that asked for audio frames.
  size_t audio_clients() const;

  /// Close every client with `code` (1001 "going away" on shutdown).
  void close_all(uint16_t code = 1001);

  size_t clients() const;
  /// Clients closed because their queue overflowed (slow readers).
  uint64_t dropped() const;
  /// Messages (envelopes and snapshots) handed to clients.
  uint64_t sent() const;
  uint64_t events_published() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace aa::sinks
