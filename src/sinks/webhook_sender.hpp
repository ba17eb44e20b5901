#pragma once
/// The webhook outbox (issue 12): every call event becomes a delivery — one
/// POST of `api::webhook_body` to WEBHOOK_URL — kept until the receiver takes
/// it. At least once, in order per call (a call's next delivery waits for the
/// one before it; different calls go in parallel, `concurrency` at a time),
/// retried with exponential backoff and full jitter until `max_attempts` or
/// `max_age`, then failed (listed, retryable by hand). 2xx = delivered; 410 =
/// the receiver says stop: failed at once; anything else (network errors,
/// timeouts, 4xx, 5xx) = try again later.
///
/// With an EventStore the outbox is durable: a delivery is written in the same
/// transaction as its event (see store::DurableLog, which asks make_delivery),
/// every attempt's outcome is written, and load() takes the pending ones back
/// after a restart. The outbox is bounded (`max_pending`): beyond it new
/// deliveries are refused, counted and logged — never dropped once accepted.
///
/// Each POST carries `X-Webhook-Event: <event>`, `X-Event-Id: <seq>` (the same
/// on every attempt: receivers deduplicate on it) and, with a secret,
/// `X-Signature: t=<unix s>,v1=<hex HMAC-SHA256 of "<t>.<body>">,sha256=<hex
/// HMAC-SHA256 of the body>` (v1 is timestamped, so a captured request cannot be
/// replayed later; sha256 is the earlier form).
/// A slow or dead receiver never slows the publisher. Single-threaded: use it
/// on the executor given to the constructor.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "calls/model.hpp"
#include "common/asio.hpp"
#include "store/event_store.hpp"

namespace aa::sinks {

struct WebhookOptions {
  std::string url;                           // http(s)://host[:port]/path; empty: webhooks off
  std::string secret;                        // empty: no X-Signature header
  size_t max_pending = 100'000;              // WEBHOOK_MAX_PENDING
  std::chrono::milliseconds timeout{5'000};  // per attempt (connect + response)
  int max_attempts = 20;                     // WEBHOOK_MAX_ATTEMPTS
  std::chrono::milliseconds max_age{24 * 3600'000};  // WEBHOOK_MAX_AGE
  std::chrono::milliseconds retry_base{1'000};       // first backoff; doubles per attempt
  std::chrono::milliseconds retry_max{600'000};      // backoff cap
  size_t concurrency = 4;                            // deliveries in flight (different calls)
};

class WebhookSender final : public calls::EventSink {
 public:
  /// Throws std::invalid_argument when `opts.url` is set but not an http(s) URL.
  /// `store` (may be null: in memory only) must outlive this.
  WebhookSender(asio::any_io_executor ex, WebhookOptions opts, store::EventStore* store = nullptr);
  ~WebhookSender() override;
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  bool enabled() const;
  /// Take back the pending deliveries of an earlier run (reads the store: at
  /// start, before the io thread runs). Returns how many.
  size_t load();
  /// For store::DurableLog: the delivery of `e` to store with it (nullopt: not
  /// a webhook event, webhooks off, or the outbox is full). A delivery made
  /// here is queued when `e` is published.
  std::optional<store::Delivery> make_delivery(const calls::DomainEvent& e);
  /// calls::EventSink: queue call.* events (as named by api::webhook_event_name).
  void publish(const calls::DomainEvent& e) override;
  /// Stop sending; what is pending stays in the store for the next run.
  void stop();

  /// Pending deliveries, oldest first (id > after_id), at most `limit`.
  std::vector<store::Delivery> pending(size_t limit, uint64_t after_id = 0) const;
  /// Failed deliveries this run kept in memory (the store has all of them).
  std::vector<store::Delivery> failed_recent(size_t limit, uint64_t after_id = 0) const;
  /// A pending delivery: its next attempt is now. Returns it, or nullopt.
  std::optional<store::Delivery> retry_now(uint64_t id);
  /// Queue a failed delivery again (attempts and age start over). Returns it
  /// as queued; nullopt when it is already pending or the outbox is full.
  std::optional<store::Delivery> requeue(store::Delivery d);

  struct Stats {
    uint64_t enqueued = 0;
    uint64_t delivered = 0;  // 2xx answers
    uint64_t failed = 0;     // gave up (attempts, age, 410)
    uint64_t dropped = 0;    // refused: the outbox was full
    uint64_t attempts = 0;   // POSTs made
    uint64_t retries = 0;    // attempts after a failed one
    size_t queued = 0;       // pending now (in flight included)
    size_t in_flight = 0;
    int64_t oldest_pending_ms = 0;  // Unix ms of the oldest pending delivery (0: none)
    bool busy = false;              // a delivery is in flight
  };
  Stats stats() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// Lowercase hex HMAC-SHA256 of `body` with `secret`.
std::string hmac_sha256_hex(std::string_view secret, std::string_view body);
/// The X-Signature value for `body` at Unix time `t` (seconds).
std::string webhook_signature(std::string_view secret, int64_t t, std::string_view body);

}  // namespace aa::sinks
