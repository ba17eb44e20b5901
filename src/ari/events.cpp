#include "ari/events.hpp"

#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <mutex>
#include <random>

#include "common/log.hpp"
#include "net/ws_client.hpp"

namespace aa::ari {

struct EventStream::Impl : std::enable_shared_from_this<EventStream::Impl> {
  Impl(asio::any_io_executor e, EventStreamOptions o)
      : ex(std::move(e)), opts(std::move(o)), timer(ex), rng(std::random_device{}()) {}

  asio::any_io_executor ex;
  EventStreamOptions opts;
  asio::steady_timer timer;  // backoff sleep, and "wait until the socket closes"
  std::mt19937_64 rng;

  // Copied from the owner at start(); invoked only while !stopped, under `mu`,
  // so that stop() from another thread returns only once no callback runs.
  std::function<void(const Event&)> on_event;
  std::function<void(bool)> on_connection;
  std::function<void(std::chrono::milliseconds, const std::string&)> on_retry;
  std::recursive_mutex mu;

  std::atomic<bool> started{false};
  std::atomic<bool> stopped{false};
  std::atomic<bool> connected{false};
  std::atomic<uint64_t> connects{0};
  std::atomic<uint64_t> failures{0};

  std::shared_ptr<net::WsConnection> conn;  // io thread only
  bool socket_closed = false;               // io thread only

  std::string target() const {
    std::string prefix = opts.url.path;
    if (prefix.size() < 4 || prefix.compare(prefix.size() - 4, 4, "/ari") != 0) prefix += "/ari";
    return prefix + "/events?app=" + url_encode(opts.app) +
           "&subscribeAll=" + (opts.subscribe_all ? "true" : "false");
  }

  void deliver(const Event& e) {
    std::lock_guard lock(mu);
    if (stopped || !on_event) return;
    try {
      on_event(e);
    } catch (const std::exception& ex) {
      log::error("ari events: on_event threw: {}", ex.what());
    }
  }

  void report(bool up) {
    std::lock_guard lock(mu);
    if (stopped || !on_connection) return;
    try {
      on_connection(up);
    } catch (const std::exception& ex) {
      log::error("ari events: on_connection threw: {}", ex.what());
    }
  }

  void report_retry(std::chrono::milliseconds delay, const std::string& reason) {
    std::lock_guard lock(mu);
    if (stopped || !on_retry) return;
    try {
      on_retry(delay, reason);
    } catch (const std::exception& ex) {
      log::error("ari events: on_retry threw: {}", ex.what());
    }
  }

  void handle_message(std::string_view text) {
    if (stopped) return;
    auto e = parse_event(text);
    if (!e) {
      log::warn("ari events: ignoring a message that is not an event: {:.200}", text);
      return;
    }
    deliver(*e);
  }

  /// Full jitter: uniform in [0, backoff].
  std::chrono::milliseconds jittered(std::chrono::milliseconds backoff) {
    if (backoff.count() <= 0) return std::chrono::milliseconds(0);
    std::uniform_int_distribution<int64_t> d(0, backoff.count());
    return std::chrono::milliseconds(d(rng));
  }

  awaitable<void> run() {
    auto self = shared_from_this();
    auto backoff = opts.backoff_initial;
    bool first = true;
    net::WsClientOptions wo;
    wo.connect_timeout = opts.connect_timeout;
    wo.verify_tls = opts.verify_tls;
    if (!opts.username.empty() || !opts.password.empty())
      wo.basic_auth = opts.username + ":" + opts.password;
    while (!stopped) {
      net::WsConnectResult r = co_await net::ws_connect(opts.url, target(), wo);
      if (stopped) {
        if (r.connection) r.connection->close(1000, "stopping");
        break;
      }
      std::string reason;
      if (r.connection) {
        conn = std::move(r.connection);
        socket_closed = false;
        std::weak_ptr<Impl> weak = self;
        conn->on_message = [weak](std::string_view text) {
          if (auto s = weak.lock()) s->handle_message(text);
        };
        conn->on_close = [weak] {
          if (auto s = weak.lock()) {
            s->socket_closed = true;
            s->timer.cancel();
          }
        };
        connected = true;
        if (!first) ++connects;
        first = false;
        backoff = opts.backoff_initial;  // a good connect resets the backoff
        log::info("ari events: connected to {}:{} (app {})", opts.url.host, opts.url.port,
                  opts.app);
        report(true);
        while (!socket_closed && !stopped) {
          timer.expires_at(std::chrono::steady_clock::time_point::max());
          boost::system::error_code ec;
          co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
        }
        connected = false;
        if (conn) {
          if (conn->is_open()) conn->close(1000, "stopping");
          conn.reset();
        }
        if (stopped) break;
        log::warn("ari events: connection lost");
        report(false);
        reason = "connection lost";
      } else {
        ++failures;
        reason = r.http_status ? "handshake refused with " + std::to_string(r.http_status) + " " +
                                     r.body.substr(0, 200)
                               : r.error;
        if (r.http_status == 401 || r.http_status == 403)
          log::error("ari events: {} (check ARI username/password)", reason);
        else
          log::warn("ari events: cannot connect: {}", reason);
      }
      auto delay = jittered(backoff);
      backoff = std::min(opts.backoff_max, backoff * 2);
      report_retry(delay, reason);
      if (stopped) break;
      timer.expires_after(delay);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    connected = false;
  }

  /// On the io thread: end the socket and wake the loop.
  void halt() {
    timer.cancel();
    if (conn && conn->is_open()) conn->close(1000, "stopping");
  }
};

EventStream::EventStream(asio::any_io_executor ex, EventStreamOptions opts)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(opts))) {}

EventStream::~EventStream() {
  stop();
}

void EventStream::start() {
  if (impl_->started.exchange(true)) return;
  {
    std::lock_guard lock(impl_->mu);
    impl_->on_event = on_event;
    impl_->on_connection = on_connection;
    impl_->on_retry = on_retry;
  }
  auto impl = impl_;
  spawn(
      impl->ex, [impl]() -> awaitable<void> { co_await impl->run(); }, "ari event stream");
}

void EventStream::stop() {
  auto impl = impl_;
  {
    // Waits for a callback running on another thread; re-entrant from a callback.
    std::lock_guard lock(impl->mu);
    if (impl->stopped.exchange(true)) return;
  }
  impl->connected = false;
  if (!impl->started) return;
  asio::dispatch(impl->ex, [impl] { impl->halt(); });
}

bool EventStream::connected() const {
  return impl_->connected;
}
uint64_t EventStream::reconnects() const {
  return impl_->connects;
}
uint64_t EventStream::failed_attempts() const {
  return impl_->failures;
}

}  // namespace aa::ari
