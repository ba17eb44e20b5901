#include "sinks/event_hub.hpp"

#include <algorithm>
#include <optional>

#include "api/wire.hpp"
#include "common/log.hpp"

namespace aa::sinks {

struct EventHub::State : std::enable_shared_from_this<EventHub::State> {
  SnapshotSource snapshot;
  std::vector<std::shared_ptr<net::WsConnection>> clients;
  // Clients that asked for call.audio_frame (/events?audio=1): a subset of `clients`.
  std::vector<const net::WsConnection*> audio_clients;
  uint64_t dropped = 0;
  uint64_t sent = 0;
  uint64_t published = 0;

  // Envelopes waiting for the next delivery round (batched with an executor).
  std::optional<asio::steady_timer> round_timer;
  std::vector<std::string> pending;  // envelopes not yet handed to clients
  std::vector<bool> pending_audio;   // which of them are call.audio_frame
  bool round_scheduled = false;
  std::chrono::steady_clock::duration last_round{};

  void remove(const net::WsConnection* c) {
    std::erase_if(clients, [c](const auto& p) { return p.get() == c; });
    std::erase(audio_clients, c);
  }
  bool wants_audio(const net::WsConnection* c) const {
    return std::find(audio_clients.begin(), audio_clients.end(), c) != audio_clients.end();
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

  /// `batch` to audio clients, `plain` (the batch without audio frames) to the others.
  void deliver_to_all(const std::vector<std::string>& batch,
                      const std::vector<std::string>& plain) {
    // Deliver to a copy: a failing send may run on_close and change the list.
    auto targets = clients;
    std::vector<const net::WsConnection*> gone;
    for (auto& c : targets) {
      const auto& mine = wants_audio(c.get()) ? batch : plain;
      if (mine.empty()) continue;
      if (!c->is_open()) {
        gone.push_back(c.get());
      } else if (c->send_batch(mine)) {
        sent += mine.size();
      } else {
        count_drop(*c);
        gone.push_back(c.get());
      }
    }
    for (auto* c : gone) remove(c);
  }

  /// Hand every pending envelope to every client (one batch each).
  void run_round() {
    round_scheduled = false;
    if (pending.empty()) return;
    const auto started = std::chrono::steady_clock::now();
    std::vector<std::string> batch;
    std::vector<bool> audio;
    batch.swap(pending);
    audio.swap(pending_audio);
    if (std::find(audio.begin(), audio.end(), true) == audio.end()) {
      deliver_to_all(batch, batch);
    } else {
      std::vector<std::string> plain;
      for (size_t i = 0; i < batch.size(); ++i)
        if (!audio[i]) plain.push_back(batch[i]);
      deliver_to_all(batch, plain);
    }
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
};

EventHub::EventHub() : state_(std::make_shared<State>()) {}

EventHub::EventHub(asio::any_io_executor ex) : state_(std::make_shared<State>()) {
  state_->round_timer.emplace(ex);
}

EventHub::~EventHub() {
  if (state_->round_timer) state_->round_timer->cancel();
  // Connections may outlive the hub: detach our callbacks from them.
  for (auto& c : state_->clients) {
    c->on_close = nullptr;
    c->on_message = nullptr;
  }
}

void EventHub::set_snapshot_source(SnapshotSource source) {
  state_->snapshot = std::move(source);
}

void EventHub::publish(const calls::DomainEvent& e) {
  auto& st = *state_;
  const bool audio = e.kind == calls::EventKind::call_audio_frame;
  if (audio && st.audio_clients.empty()) return;  // never to everyone by default
  ++st.published;
  if (st.clients.empty()) return;
  st.pending.push_back(api::event_envelope(e));
  st.pending_audio.push_back(audio);
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
  // Events published before this client came are in its snapshot: deliver
  // them to the others first.
  st.run_round();
  std::weak_ptr<State> weak = state_;
  const net::WsConnection* raw = conn.get();
  conn->on_close = [weak, raw] {
    if (auto s = weak.lock()) s->remove(raw);
  };
  // Clients have nothing to say to us; ignore what they send.
  conn->on_message = [](std::string_view) {};
  std::vector<calls::CallRecord> calls;
  if (st.snapshot) calls = st.snapshot();
  if (!st.deliver(*conn, api::snapshot(calls))) return;
  if (o.audio_frames) st.audio_clients.push_back(raw);
  st.clients.push_back(std::move(conn));
}

size_t EventHub::audio_clients() const {
  return state_->audio_clients.size();
}

void EventHub::close_all(uint16_t code) {
  state_->run_round();  // what was published before the close goes out first
  auto targets = state_->clients;
  state_->clients.clear();
  state_->audio_clients.clear();
  for (auto& c : targets) {
    c->on_close = nullptr;
    if (c->is_open()) c->close(code, code == 1001 ? "server shutting down" : "");
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

}  // namespace aa::sinks
