#pragma once
/// The ARI events socket (/ari/events?app=...): connects, parses each message
/// into an `Event`, and reconnects by itself, forever, until stop(). Reports
/// connected/disconnected.
///
/// Reconnecting: the first attempt after a loss is immediate. While nothing
/// answers (connection refused or unreachable, as during an Asterisk restart)
/// it probes every `probe_interval` ±25 %, so the stream is back within about
/// one interval once Asterisk listens again. While Asterisk answers but refuses
/// (a non-101 handshake such as 503 while it boots, or a socket that drops
/// within `min_stable`) attempts are at least `backoff_initial` apart (≤ 4/s);
/// 401/403 — credentials that will not fix themselves — back off exponentially
/// up to `backoff_max`.
///
/// Closing: stop(), shutdown() and reconnect() send a close frame with 1001
/// ("going away") and wait up to `close_timeout` for Asterisk's close frame
/// before dropping the TCP connection (Asterisk logs "closed abruptly" otherwise).
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
  std::chrono::milliseconds probe_interval{200};
  std::chrono::milliseconds backoff_initial{250};
  std::chrono::milliseconds backoff_max{10'000};
  /// A connection that lived less than this counts as a refusal, not a loss.
  std::chrono::milliseconds min_stable{1'000};
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds close_timeout{1'000};
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
  /// executor must still exist. The socket is then closed with 1001 in the
  /// background (as long as the executor runs; see shutdown()).
  void stop();
  /// stop(), then wait (on the executor) until the socket is closed: Asterisk's
  /// close frame arrived, or `close_timeout` passed and the connection was dropped.
  awaitable<void> shutdown();
  /// Close the socket with 1001 (waiting for Asterisk's close as above) and
  /// connect again at once. Does nothing while not connected. Io thread only.
  void reconnect();
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
