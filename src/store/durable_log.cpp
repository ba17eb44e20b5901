#include "store/durable_log.hpp"

#include <algorithm>
#include <cmath>
#include <deque>
#include <unordered_map>

#include "api/wire.hpp"
#include "common/json.hpp"
#include "common/log.hpp"

namespace aa::store {

CallRow call_row(const calls::CallRecord& c, const std::vector<std::string>& bridge_ids) {
  CallRow row;
  row.id = c.id;
  row.created_ms = c.created_at_ms;
  row.direction = std::string(calls::to_string(c.direction));
  row.cause = calls::is_final(c.state) ? c.hangup_cause : std::string{};
  row.ended_ms = c.ended_at_ms;
  json::Writer w;
  api::write_call(w, c);
  std::string rec = w.str();
  rec.pop_back();  // the closing brace: the history fields join the CallRecord's
  json::Writer extra;
  extra.begin_object();
  // Whole seconds, rounded (as Asterisk's CDR duration and billsec).
  auto secs = [](int64_t from, int64_t to) {
    return static_cast<int64_t>(std::llround(static_cast<double>(to - from) / 1000.0));
  };
  if (c.ended_at_ms > 0) {
    extra.field_int("durationSeconds", secs(c.created_at_ms, c.ended_at_ms));
    extra.field_int("billableSeconds",
                    c.answered_at_ms > 0 ? secs(c.answered_at_ms, c.ended_at_ms) : 0);
  }
  extra.key("bridgeIds").begin_array();
  for (const auto& b : bridge_ids) extra.string(b);
  extra.end_array();
  extra.end_object();
  const std::string more = extra.str();  // {"...":...}
  rec += ',';
  rec.append(more, 1, std::string::npos);
  row.record = std::move(rec);
  return row;
}

struct DurableLog::State : std::enable_shared_from_this<DurableLog::State> {
  struct Held {
    calls::DomainEvent e;
    bool stored = false;
    std::chrono::steady_clock::time_point at;
  };
  asio::any_io_executor ex;
  EventStore* store;
  calls::EventSink& next;
  DeliveryMaker make_delivery;
  std::chrono::milliseconds max_hold{1000};
  std::deque<Held> held;
  uint64_t committed = 0;  // the highest seq the store has committed
  uint64_t last_seq = 0;   // the highest seq published here
  asio::steady_timer timer;
  bool timer_armed = false;
  bool releasing = false;
  Stats st;
  // Per active call: the bridges it has been in (its history row lists them),
  // and the row last written (an event that changes nothing writes nothing).
  struct Tracked {
    std::vector<std::string> bridges;
    std::string record;
  };
  std::unordered_map<std::string, Tracked> tracked;

  State(asio::any_io_executor e, EventStore* s, calls::EventSink& n)
      : ex(e), store(s), next(n), timer(e) {}

  void release(bool force) {
    if (releasing) return;  // a sink published meanwhile: this loop takes it
    releasing = true;
    const auto now = std::chrono::steady_clock::now();
    while (!held.empty()) {
      Held& h = held.front();
      const bool committed_now = !h.stored || h.e.seq <= committed;
      if (!committed_now && !force && now - h.at < max_hold) break;
      if (!committed_now) {
        ++st.unstored;
        if (st.unstored == 1 || st.unstored % 1000 == 0)
          log::warn("event store is behind: events go out before they are stored ({} so far)",
                    st.unstored);
      }
      st.hold_us_total += static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::microseconds>(now - h.at).count());
      ++st.released;
      const calls::DomainEvent e = std::move(h.e);
      held.pop_front();
      next.publish(e);
    }
    releasing = false;
    arm();
  }

  // While events wait, a timer makes sure none waits beyond max_hold.
  void arm() {
    if (held.empty() || timer_armed) return;
    timer_armed = true;
    timer.expires_at(held.front().at + max_hold);
    std::weak_ptr<State> weak = weak_from_this();
    timer.async_wait([weak](boost::system::error_code ec) {
      auto s = weak.lock();
      if (!s) return;
      s->timer_armed = false;
      if (!ec) s->release(false);
    });
  }

  void write_history(const calls::DomainEvent& e) {
    if (!e.call) return;
    const auto& c = *e.call;
    auto& t = tracked[c.id];
    if (!c.bridge_id.empty() &&
        std::find(t.bridges.begin(), t.bridges.end(), c.bridge_id) == t.bridges.end())
      t.bridges.push_back(c.bridge_id);
    CallRow row = call_row(c, t.bridges);
    if (row.record != t.record) {
      std::string record = row.record;
      // Remembered only once queued: a refused write is tried again next time.
      if (store->put_call(std::move(row))) t.record = std::move(record);
    }
    if (calls::is_final(c.state)) tracked.erase(c.id);
  }
};

DurableLog::DurableLog(asio::any_io_executor ex, EventStore* store, calls::EventSink& next)
    : state_(std::make_shared<State>(ex, store, next)) {
  if (!store) return;
  std::weak_ptr<State> weak = state_;
  store->set_commit_listener([weak, ex](uint64_t seq) {
    // On the writer thread: hand the news to the io thread.
    asio::post(ex, [weak, seq] {
      if (auto s = weak.lock()) {
        s->committed = std::max(s->committed, seq);
        s->release(false);
      }
    });
  });
}

DurableLog::~DurableLog() {
  if (state_->store) state_->store->set_commit_listener(nullptr);
  state_->timer.cancel();
}

void DurableLog::set_delivery_maker(DeliveryMaker maker) {
  state_->make_delivery = std::move(maker);
}
void DurableLog::set_max_hold(std::chrono::milliseconds d) {
  state_->max_hold = d;
}

void DurableLog::publish(const calls::DomainEvent& e) {
  auto& st = *state_;
  st.last_seq = std::max(st.last_seq, e.seq);
  if (!st.store) {
    st.next.publish(e);
    return;
  }
  State::Held h{e, false, std::chrono::steady_clock::now()};
  if (e.kind == calls::EventKind::call_audio_frame) {
    // Not stored, but its seq is used: the next run starts above it.
    st.store->mark_seq(e.seq);
  } else {
    StoredEvent se{e.seq, e.timestamp_ms, std::string(calls::event_type_name(e.kind)), e.call_id,
                   api::event_envelope(e)};
    std::optional<Delivery> d;
    if (st.make_delivery) d = st.make_delivery(e);
    h.stored = d ? st.store->append(std::move(se), std::move(*d)) : st.store->append(std::move(se));
    if (h.stored)
      ++st.st.stored;
    else
      ++st.st.unstored;  // the store's queue is full: it goes on unstored
    st.write_history(e);
  }
  if (st.held.empty() && !h.stored) {
    // Nothing waits before it: no reason to hold it.
    st.next.publish(e);
    return;
  }
  st.held.push_back(std::move(h));
  st.arm();
}

uint64_t DurableLog::last_seq() const {
  return state_->last_seq;
}

DurableLog::Stats DurableLog::stats() const {
  Stats s = state_->st;
  s.held = state_->held.size();
  return s;
}

}  // namespace aa::store
