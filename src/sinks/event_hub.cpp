#include "sinks/event_hub.hpp"

#include <algorithm>
#include <deque>
#include <optional>

#include "api/wire.hpp"
#include "common/json.hpp"
#include "common/log.hpp"
#include "common/util.hpp"

namespace aa::sinks {

namespace {
// Stored events read per replay page; frames queued to a replaying client
// before the next page is read (page + high water stay well under the net
// layer's 1,024-frame queue: a replay never overflows it by itself); live
// events a replaying client may owe.
constexpr size_t kReplayPage = 256;
constexpr size_t kReplayHighWater = 32;
constexpr size_t kMaxWaiting = 10'000;
constexpr size_t kMaxWaitingBytes = 16u << 20;
// A replaying client whose queue does not move for this long is closed.
constexpr auto kReplayStall = std::chrono::seconds(10);
}  // namespace

struct EventHub::State : std::enable_shared_from_this<EventHub::State> {
  struct Entry {
    uint64_t seq;
    std::string_view type;
    std::string call_id;
    std::string text;
    bool audio;
  };
  struct Client {
    std::shared_ptr<net::WsConnection> conn;
    bool audio = false;
    std::string call_id;
    std::vector<std::string> types;
    bool replaying = false;
    uint64_t replay_upto = 0;         // the replay covers seqs up to here; live ones follow
    uint64_t replay_upto_from = 0;    // the first seq asked for (since + 1)
    std::deque<std::string> waiting;  // live envelopes owed after the replay
    size_t waiting_bytes = 0;
    uint64_t skip_through = 0;  // events up to here are in its snapshot already
    std::chrono::steady_clock::time_point stalled_since{};

    bool filtered() const { return !call_id.empty() || !types.empty() || skip_through > 0; }
    bool wants(uint64_t seq, std::string_view type, std::string_view call, bool is_audio) const {
      if (seq <= skip_through) return false;
      if (is_audio && !audio) return false;
      if (!call_id.empty() && call != call_id) return false;
      return types.empty() || std::find(types.begin(), types.end(), type) != types.end();
    }
  };

  SnapshotSource snapshot;
  std::function<uint64_t()> snapshot_seq;
  ReplaySource replay_source;
  std::vector<std::shared_ptr<Client>> clients;
  size_t audio_count = 0;
  uint64_t dropped = 0;
  uint64_t sent = 0;
  uint64_t published = 0;
  uint64_t replayed = 0;
  uint64_t last_seq = 0;

  // Envelopes waiting for the next delivery round (batched with an executor).
  std::optional<asio::steady_timer> round_timer;
  std::vector<Entry> pending;
  bool round_scheduled = false;
  std::chrono::steady_clock::duration last_round{};

  void remove(const net::WsConnection* c) {
    std::erase_if(clients, [&](const auto& p) {
      if (p->conn.get() != c) return false;
      if (p->audio) --audio_count;
      return true;
    });
  }

  void count_drop(const net::WsConnection& c) {
    // It was open a moment ago: the send overflowed its queue and the net layer closed it.
    ++dropped;
    log::warn("events: dropped a slow /events client ({} frames queued)", c.queued());
  }

  // Send to one client; false when the client is gone (and removed by the caller).
  bool deliver(net::WsConnection& c, const std::string& text) {
    if (!c.is_open()) return false;
    if (c.send(text)) {
      ++sent;
      return true;
    }
    count_drop(c);
    return false;
  }

  std::string snapshot_for(const Client& c) {
    std::vector<calls::CallRecord> calls;
    if (snapshot) calls = snapshot();
    if (!c.call_id.empty()) std::erase_if(calls, [&](const auto& r) { return r.id != c.call_id; });
    return api::snapshot(calls);
  }

  void deliver_to_all(const std::vector<Entry>& batch) {
    // Built once, for every client without filters.
    std::vector<std::string> all, plain;
    bool built = false;
    auto build = [&] {
      if (built) return;
      built = true;
      for (const auto& e : batch) {
        all.push_back(e.text);
        if (!e.audio) plain.push_back(e.text);
      }
    };
    // Deliver to a copy: a failing send may run on_close and change the list.
    auto targets = clients;
    std::vector<const net::WsConnection*> gone;
    std::vector<std::string> mine;
    for (auto& cl : targets) {
      auto& c = *cl->conn;
      if (!c.is_open()) {
        gone.push_back(&c);
        continue;
      }
      if (cl->replaying) {
        for (const auto& e : batch)
          if (cl->wants(e.seq, e.type, e.call_id, e.audio)) {
            cl->waiting.push_back(e.text);
            cl->waiting_bytes += e.text.size();
          }
        if (cl->waiting.size() > kMaxWaiting || cl->waiting_bytes > kMaxWaitingBytes) {
          ++dropped;
          log::warn("events: a replaying client fell {} events behind: closing it",
                    cl->waiting.size());
          c.close(1008, "too slow to catch up");
          gone.push_back(&c);
        }
        continue;
      }
      const std::vector<std::string>* out;
      if (cl->filtered()) {
        mine.clear();
        for (const auto& e : batch)
          if (cl->wants(e.seq, e.type, e.call_id, e.audio)) mine.push_back(e.text);
        if (!batch.empty() && batch.back().seq > cl->skip_through) cl->skip_through = 0;
        out = &mine;
      } else {
        build();
        out = cl->audio ? &all : &plain;
      }
      if (out->empty()) continue;
      if (c.send_batch(*out)) {
        sent += out->size();
      } else {
        count_drop(c);
        gone.push_back(&c);
      }
    }
    for (auto* c : gone) remove(c);
  }

  /// Hand every pending envelope to every client (one batch each).
  void run_round() {
    round_scheduled = false;
    if (pending.empty()) return;
    const auto started = std::chrono::steady_clock::now();
    std::vector<Entry> batch;
    batch.swap(pending);
    deliver_to_all(batch);
    last_round = std::chrono::steady_clock::now() - started;
  }

  void schedule_round() {
    if (round_scheduled) return;
    round_scheduled = true;
    std::weak_ptr<State> weak = weak_from_this();
    // Wait as long as the last round took (capped): the events that arrive
    // meanwhile join this batch. A cheap round (few clients) runs right away.
    const auto wait =
        std::min<std::chrono::steady_clock::duration>(last_round, std::chrono::milliseconds(20));
    if (wait < std::chrono::microseconds(50)) {
      asio::post(round_timer->get_executor(), [weak] {
        if (auto s = weak.lock(); s && s->round_scheduled) s->run_round();
      });
      return;
    }
    round_timer->expires_after(wait);
    round_timer->async_wait([weak](boost::system::error_code ec) {
      if (auto s = weak.lock(); !ec && s && s->round_scheduled) s->run_round();
    });
  }

  bool alive(const std::shared_ptr<Client>& cl) const {
    return cl->conn->is_open() && std::find(clients.begin(), clients.end(), cl) != clients.end();
  }

  // The replay is over: what waited goes out, paced as the replay was, then live.
  void go_live(const std::shared_ptr<Client>& cl) {
    if (!alive(cl)) return;
    while (!cl->waiting.empty()) {
      if (!wait_for_room(cl, [this, cl] { go_live(cl); })) return;
      std::vector<std::string> chunk;
      while (!cl->waiting.empty() && chunk.size() < kReplayPage) {
        cl->waiting_bytes -= cl->waiting.front().size();
        chunk.push_back(std::move(cl->waiting.front()));
        cl->waiting.pop_front();
      }
      if (!cl->conn->send_batch(chunk)) {
        count_drop(*cl->conn);
        remove(cl->conn.get());
        return;
      }
      sent += chunk.size();
    }
    cl->replaying = false;
  }

  // True when the client has room for a page now; otherwise `then` runs once
  // it has (a short timer), or the client is closed when it stopped reading.
  template <typename Then>
  bool wait_for_room(const std::shared_ptr<Client>& cl, Then then) {
    if (cl->conn->queued() <= kReplayHighWater) {
      cl->stalled_since = {};
      return true;
    }
    const auto now = std::chrono::steady_clock::now();
    if (cl->stalled_since == std::chrono::steady_clock::time_point{}) cl->stalled_since = now;
    if (now - cl->stalled_since > kReplayStall) {
      ++dropped;
      log::warn("events: a replaying client stopped reading: closing it");
      cl->conn->close(1008, "not reading");
      remove(cl->conn.get());
      return false;
    }
    auto t = std::make_shared<asio::steady_timer>(round_timer->get_executor());
    t->expires_after(std::chrono::milliseconds(2));
    std::weak_ptr<State> weak = weak_from_this();
    t->async_wait([weak, t, then](boost::system::error_code ec) {
      if (auto s = weak.lock(); s && !ec) then();
    });
    return false;
  }

  void next_page(const std::shared_ptr<Client>& cl, uint64_t after, bool first) {
    if (!alive(cl)) return;
    // Paced by the client: the next page is read once it has taken most of this one.
    if (!wait_for_room(cl, [this, cl, after, first] { next_page(cl, after, first); })) return;
    std::weak_ptr<State> weak = weak_from_this();
    replay_source(after, kReplayPage, cl->call_id, [weak, cl, first](ReplayPage page) {
      if (auto s = weak.lock()) s->on_page(cl, std::move(page), first);
    });
  }

  void on_page(const std::shared_ptr<Client>& cl, ReplayPage page, bool first) {
    if (!alive(cl)) return;
    if (!page.ok) {
      log::error("events: cannot replay the log: {}", page.error);
      cl->conn->close(1011, "cannot read the event log");
      remove(cl->conn.get());
      return;
    }
    if (first && page.gap_to > 0) {
      // Older than what the log keeps: say what is lost, then the current state.
      json::Writer w;
      w.begin_object()
          .field("type", "gap")
          .field_int("from", static_cast<int64_t>(cl->replay_upto_from))
          .field_int("to", static_cast<int64_t>(page.gap_to))
          .field("timestamp", iso8601_utc(now_epoch_ms()))
          .end_object();
      // The snapshot is as of the last event raised: what waited and is not
      // newer than it is in the snapshot already.
      run_round();
      const uint64_t as_of = snapshot_seq ? snapshot_seq() : 0;
      cl->waiting.clear();
      cl->waiting_bytes = 0;
      cl->skip_through = as_of;
      if (!deliver(*cl->conn, w.str()) || !deliver(*cl->conn, snapshot_for(*cl))) {
        remove(cl->conn.get());
        return;
      }
      cl->replaying = false;
      return;
    }
    std::vector<std::string> out;
    uint64_t last = 0;
    bool done = page.items.size() < kReplayPage;
    for (auto& it : page.items) {
      if (it.seq > cl->replay_upto) {
        done = true;  // committed, not yet published: it comes live
        break;
      }
      last = it.seq;
      if (cl->types.empty() ||
          std::find(cl->types.begin(), cl->types.end(), it.type) != cl->types.end())
        out.push_back(std::move(it.body));
    }
    if (last >= cl->replay_upto) done = true;
    if (!out.empty()) {
      if (!cl->conn->send_batch(out)) {
        count_drop(*cl->conn);
        remove(cl->conn.get());
        return;
      }
      sent += out.size();
      replayed += out.size();
    }
    if (done) {
      go_live(cl);
      return;
    }
    next_page(cl, last, false);
  }
};

EventHub::EventHub() : state_(std::make_shared<State>()) {}

EventHub::EventHub(asio::any_io_executor ex) : state_(std::make_shared<State>()) {
  state_->round_timer.emplace(ex);
}

EventHub::~EventHub() {
  if (state_->round_timer) state_->round_timer->cancel();
  // Connections may outlive the hub: detach our callbacks from them.
  for (auto& c : state_->clients) {
    c->conn->on_close = nullptr;
    c->conn->on_message = nullptr;
  }
}

void EventHub::set_snapshot_source(SnapshotSource source) {
  state_->snapshot = std::move(source);
}

void EventHub::set_snapshot_seq(std::function<uint64_t()> source) {
  state_->snapshot_seq = std::move(source);
}

void EventHub::set_last_seq(uint64_t seq) {
  state_->last_seq = std::max(state_->last_seq, seq);
}

void EventHub::set_replay_source(ReplaySource source) {
  state_->replay_source = std::move(source);
}

void EventHub::publish(const calls::DomainEvent& e) {
  auto& st = *state_;
  st.last_seq = std::max(st.last_seq, e.seq);
  const bool audio = e.kind == calls::EventKind::call_audio_frame;
  if (audio && st.audio_count == 0) return;  // never to everyone by default
  ++st.published;
  if (st.clients.empty()) return;
  st.pending.push_back(State::Entry{e.seq, calls::event_type_name(e.kind), e.call_id,
                                    api::event_envelope(e), audio});
  if (st.round_timer) {
    st.schedule_round();
  } else {
    st.run_round();  // no executor: every event at once
  }
}

void EventHub::add_client(std::shared_ptr<net::WsConnection> conn) {
  add_client(std::move(conn), ClientOptions{});
}

void EventHub::add_client(std::shared_ptr<net::WsConnection> conn, ClientOptions o) {
  if (!conn) return;
  auto& st = *state_;
  // Events published before this client came are in its snapshot (or its
  // replay): deliver them to the others first.
  st.run_round();
  std::weak_ptr<State> weak = state_;
  const net::WsConnection* raw = conn.get();
  conn->on_close = [weak, raw] {
    if (auto s = weak.lock()) s->remove(raw);
  };
  // Clients have nothing to say to us; ignore what they send.
  conn->on_message = [](std::string_view) {};
  auto cl = std::make_shared<State::Client>();
  cl->conn = std::move(conn);
  cl->audio = o.audio_frames;
  cl->call_id = std::move(o.call_id);
  cl->types = std::move(o.types);

  const bool replay = o.since && *o.since < st.last_seq;
  if (replay && st.replay_source && st.round_timer) {
    cl->replaying = true;
    cl->replay_upto = st.last_seq;
    cl->replay_upto_from = *o.since + 1;
    if (cl->audio) ++st.audio_count;
    st.clients.push_back(cl);
    st.next_page(cl, *o.since, true);
    return;
  }
  if (replay) {
    // No log to replay from: all of it is a gap.
    json::Writer w;
    w.begin_object()
        .field("type", "gap")
        .field_int("from", static_cast<int64_t>(*o.since + 1))
        .field_int("to", static_cast<int64_t>(st.last_seq))
        .field("timestamp", iso8601_utc(now_epoch_ms()))
        .end_object();
    if (!st.deliver(*cl->conn, w.str())) return;
  }
  // Up to date already (since == the last seq): live events only.
  const bool up_to_date = o.since && *o.since == st.last_seq;
  if (!up_to_date) {
    // Events raised before the snapshot but still on their way here are in it.
    cl->skip_through = st.snapshot_seq ? st.snapshot_seq() : 0;
    if (cl->skip_through <= st.last_seq) cl->skip_through = 0;
    if (!st.deliver(*cl->conn, st.snapshot_for(*cl))) return;
  }
  if (cl->audio) ++st.audio_count;
  st.clients.push_back(std::move(cl));
}

size_t EventHub::audio_clients() const {
  return state_->audio_count;
}

void EventHub::close_all(uint16_t code) {
  state_->run_round();  // what was published before the close goes out first
  auto targets = state_->clients;
  state_->clients.clear();
  state_->audio_count = 0;
  for (auto& c : targets) {
    c->conn->on_close = nullptr;
    if (c->conn->is_open()) c->conn->close(code, code == 1001 ? "server shutting down" : "");
  }
}

size_t EventHub::clients() const {
  return state_->clients.size();
}
uint64_t EventHub::dropped() const {
  return state_->dropped;
}
uint64_t EventHub::sent() const {
  return state_->sent;
}
uint64_t EventHub::events_published() const {
  return state_->published;
}
uint64_t EventHub::replayed() const {
  return state_->replayed;
}
uint64_t EventHub::last_seq() const {
  return state_->last_seq;
}

}  // namespace aa::sinks
