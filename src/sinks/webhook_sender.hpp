#pragma once
/// Webhook delivery: POSTs `api::webhook_body` of call events to a URL, off the
/// call path. publish() only formats and enqueues (a bounded queue that drops
/// the oldest entry when full); one worker coroutine sends them in order with a
/// timeout and one retry. A slow or dead receiver never slows the publisher.
/// With a secret, each request carries `X-Signature: sha256=<hex HMAC-SHA256 of the body>`.
/// Single-threaded: publish on the executor given to the constructor.
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "calls/model.hpp"
#include "common/asio.hpp"

namespace aa::sinks {

struct WebhookOptions {
  std::string url;     // http(s)://host[:port]/path; empty: webhooks off
  std::string secret;  // empty: no X-Signature header
  size_t max_queue = 1000;
  std::chrono::milliseconds timeout{5'000};    // per attempt (connect + response)
  std::chrono::milliseconds retry_delay{500};  // before the single retry
  int retries = 1;
};

class WebhookSender final : public calls::EventSink {
 public:
  /// Throws std::invalid_argument when `opts.url` is set but not an http(s) URL.
  WebhookSender(asio::any_io_executor ex, WebhookOptions opts);
  ~WebhookSender() override;
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  bool enabled() const;
  /// calls::EventSink: enqueue call.* events (as named by api::webhook_event_name).
  void publish(const calls::DomainEvent& e) override;
  /// Stop the worker; queued deliveries are abandoned.
  void stop();

  struct Stats {
    uint64_t enqueued = 0;
    uint64_t delivered = 0;  // 2xx answers
    uint64_t failed = 0;     // gave up after the retry
    uint64_t dropped = 0;    // evicted from a full queue
    size_t queued = 0;       // waiting now (not counting the one in flight)
    bool busy = false;       // a delivery is in flight
  };
  Stats stats() const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

/// Lowercase hex HMAC-SHA256 of `body` with `secret`.
std::string hmac_sha256_hex(std::string_view secret, std::string_view body);

}  // namespace aa::sinks
