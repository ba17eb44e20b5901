#pragma once
/// The ARI events socket (/ari/events?app=...): connects, parses each message
/// into an `Event`, and reconnects by itself with capped exponential backoff
/// and jitter, forever, until stop(). Reports connected/disconnected.
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "ari/models.hpp"
#include "common/asio.hpp"
#include "common/util.hpp"

namespace aa::ari {

struct EventStreamOptions {
  Url url;  // base, e.g. http://127.0.0.1:8088 (ws scheme derived from it)
  std::string app;
  std::string username;
  std::string password;
  bool subscribe_all = false;
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{10'000};
  std::chrono::milliseconds connect_timeout{5'000};
  bool verify_tls = true;
};

class EventStream {
 public:
  EventStream(asio::any_io_executor ex, EventStreamOptions opts);
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  /// Called on the executor for every message, in order.
  std::function<void(const Event&)> on_event;
  /// Called when the socket comes up (true) or goes down (false).
  std::function<void(bool connected)> on_connection;
  /// Called before each wait between attempts: the jittered delay and why
  /// (connect error, refused handshake, connection lost). For logs/metrics/tests.
  std::function<void(std::chrono::milliseconds delay, const std::string& reason)> on_retry;

  /// Callbacks are taken at start(): set them before.
  void start();
  /// Ends the loop: once it returns no callback runs any more (it waits for one
  /// running on another thread). Idempotent; the destructor calls it. The
  /// executor must still exist.
  void stop();
  bool connected() const;
  /// Number of successful connects after the first.
  uint64_t reconnects() const;
  /// Connection attempts that failed (refused, handshake error, timeout).
  uint64_t failed_attempts() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace aa::ari
