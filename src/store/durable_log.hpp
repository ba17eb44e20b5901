#pragma once
/// The durable path of every domain event (issue 12): the event is appended to
/// the store — with its webhook delivery in the same transaction — and passed
/// on to the next sink (the `/events` fan-out, the webhook outbox, metrics) only
/// once its batch is committed, so whatever a client or a receiver sees is in
/// the log, even after `kill -9`. Every call event also writes the call's
/// history row. `call.audio_frame` is never stored (live audio, not history)
/// but keeps its place in the order.
///
/// When the store cannot keep up or the disk fails, events are never held back
/// for long: after `max_hold` they go on unstored (counted; health is degraded
/// by the store itself). Without a store, events pass straight through.
/// Single-threaded: publish on the io executor given to the constructor.
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "calls/model.hpp"
#include "common/asio.hpp"
#include "store/event_store.hpp"

namespace aa::store {

class DurableLog final : public calls::EventSink {
 public:
  /// The webhook delivery of an event (nullopt: none), stored with it.
  using DeliveryMaker = std::function<std::optional<Delivery>(const calls::DomainEvent&)>;

  /// `store` may be null (no durability); `store` and `next` must outlive this.
  DurableLog(asio::any_io_executor ex, EventStore* store, calls::EventSink& next);
  ~DurableLog() override;
  DurableLog(const DurableLog&) = delete;
  DurableLog& operator=(const DurableLog&) = delete;

  void set_delivery_maker(DeliveryMaker maker);
  /// How long an event may wait for its commit before it goes on anyway.
  void set_max_hold(std::chrono::milliseconds d);

  void publish(const calls::DomainEvent& e) override;
  /// The seq of the last event the domain raised (published here, maybe still held).
  uint64_t last_seq() const;

  struct Stats {
    uint64_t stored = 0;         // appended to the store
    uint64_t unstored = 0;       // passed on without being stored (store full or failing)
    size_t held = 0;             // waiting for their commit now
    uint64_t hold_us_total = 0;  // time from publish to release, summed (µs)
    uint64_t released = 0;
  };
  Stats stats() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// The history row of a call record: its columns and the record as JSON (the
/// CallRecord's fields plus durationSeconds, billableSeconds and bridgeIds).
CallRow call_row(const calls::CallRecord& c, const std::vector<std::string>& bridge_ids);

}  // namespace aa::store
