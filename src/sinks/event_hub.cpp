#include "sinks/event_hub.hpp"

#include <algorithm>

#include "api/wire.hpp"
#include "common/log.hpp"

namespace aa::sinks {

struct EventHub::State {
  SnapshotSource snapshot;
  std::vector<std::shared_ptr<net::WsConnection>> clients;
  uint64_t dropped = 0;
  uint64_t sent = 0;
  uint64_t published = 0;

  void remove(const net::WsConnection* c) {
    std::erase_if(clients, [c](const auto& p) { return p.get() == c; });
  }

  // Send to one client; false when the client is gone (and removed by the caller).
  bool deliver(net::WsConnection& c, const std::string& text) {
    if (!c.is_open()) return false;
    if (c.send(text)) {
      ++sent;
      return true;
    }
    // It was open a moment ago: the send overflowed its queue and the net layer closed it.
    ++dropped;
    log::warn("events: dropped a slow /events client ({} frames queued)", c.queued());
    return false;
  }
};

EventHub::EventHub() : state_(std::make_shared<State>()) {}

EventHub::~EventHub() {
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
  ++st.published;
  if (st.clients.empty()) return;
  const std::string text = api::event_envelope(e);
  // Deliver to a copy: a failing send may run on_close and change the list.
  auto targets = st.clients;
  std::vector<const net::WsConnection*> gone;
  for (auto& c : targets)
    if (!st.deliver(*c, text)) gone.push_back(c.get());
  for (auto* c : gone) st.remove(c);
}

void EventHub::add_client(std::shared_ptr<net::WsConnection> conn) {
  if (!conn) return;
  auto& st = *state_;
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
  st.clients.push_back(std::move(conn));
}

void EventHub::close_all(uint16_t code) {
  auto targets = state_->clients;
  state_->clients.clear();
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
