#include "ari/events.hpp"

#include <algorithm>
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

  // io thread only:
  std::shared_ptr<net::WsConnection> conn;
  bool socket_closed = false;
  bool reconnect_requested = false;
  bool finished = false;        // run() has ended
  asio::steady_timer done{ex};  // cancelled when run() ends (shutdown() waits on it)
  uint64_t outage_attempts = 0;
  std::chrono::steady_clock::time_point last_failure_log{};

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

  /// Uniform in [lo, hi] milliseconds.
  std::chrono::milliseconds uniform(int64_t lo, int64_t hi) {
    if (hi <= lo) return std::chrono::milliseconds(std::max<int64_t>(lo, 0));
    std::uniform_int_distribution<int64_t> d(lo, hi);
    return std::chrono::milliseconds(d(rng));
  }
  /// Nothing answers: probe again soon (a refused connect costs nothing).
  std::chrono::milliseconds probe_delay() {
    const int64_t p = opts.probe_interval.count();
    return uniform(p - p / 4, p + p / 4);
  }
  /// Asterisk answers but refuses: at least backoff_initial apart; `growing`
  /// (bad credentials, a socket that keeps dropping at once) doubles per attempt.
  std::chrono::milliseconds refusal_delay(int refusals, bool growing) {
    const int64_t base = opts.backoff_initial.count();
    if (!growing) return uniform(base, base + base / 10);
    int64_t cap = base;
    for (int i = 1; i < refusals && cap < opts.backoff_max.count(); ++i) cap *= 2;
    cap = std::min<int64_t>(cap, opts.backoff_max.count());
    return uniform(std::max(base, cap - cap / 4), cap);
  }

  /// One log line when an outage starts, then one every 30 s while it lasts.
  void log_failure(const std::string& reason, bool auth) {
    const auto now = std::chrono::steady_clock::now();
    ++outage_attempts;
    if (outage_attempts > 1 && now - last_failure_log < std::chrono::seconds(30)) {
      log::debug("ari events: cannot connect: {}", reason);
      return;
    }
    last_failure_log = now;
    if (auth)
      log::error("ari events: {} (check ARI username/password)", reason);
    else if (outage_attempts == 1)
      log::warn("ari events: cannot connect: {}", reason);
    else
      log::warn("ari events: still cannot connect after {} attempts: {}", outage_attempts, reason);
  }

  void attach(const std::shared_ptr<net::WsConnection>& c) {
    socket_closed = false;
    std::weak_ptr<Impl> weak = shared_from_this();
    c->on_message = [weak](std::string_view text) {
      if (auto s = weak.lock()) s->handle_message(text);
    };
    c->on_close = [weak] {
      if (auto s = weak.lock()) {
        s->socket_closed = true;
        s->timer.cancel();
      }
    };
  }

  /// Close frame 1001, then wait (≤ close_timeout) for the peer's close frame;
  /// drop the connection if it does not come.
  awaitable<void> close_gracefully(std::shared_ptr<net::WsConnection> c) {
    if (!c || socket_closed) co_return;
    if (c->is_open()) c->close(1001, stopped ? "shutting down" : "reconnecting");
    const auto deadline = std::chrono::steady_clock::now() + opts.close_timeout;
    while (!socket_closed && std::chrono::steady_clock::now() < deadline) {
      timer.expires_at(deadline);
      boost::system::error_code ec;
      co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
    }
    if (!socket_closed) {
      log::debug("ari events: no close frame from Asterisk within {} ms; dropping the socket",
                 opts.close_timeout.count());
      c->abort();
    }
  }

  awaitable<void> run() {
    auto self = shared_from_this();
    int refusals = 0;  // consecutive attempts that Asterisk answered but refused
    bool first = true;
    net::WsClientOptions wo;
    wo.connect_timeout = opts.connect_timeout;
    wo.verify_tls = opts.verify_tls;
    if (!opts.username.empty() || !opts.password.empty())
      wo.basic_auth = opts.username + ":" + opts.password;
    while (!stopped) {
      net::WsConnectResult r = co_await net::ws_connect(opts.url, target(), wo);
      if (stopped) {
        if (r.connection) {
          attach(r.connection);
          co_await close_gracefully(r.connection);
        }
        break;
      }
      std::string reason;
      std::chrono::milliseconds delay{0};
      if (r.connection) {
        conn = std::move(r.connection);
        attach(conn);
        connected = true;
        if (!first) ++connects;
        first = false;
        outage_attempts = 0;
        log::info("ari events: connected to {}:{} (app {})", opts.url.host, opts.url.port,
                  opts.app);
        report(true);
        const auto up_since = std::chrono::steady_clock::now();
        while (!socket_closed && !stopped && !reconnect_requested) {
          timer.expires_at(std::chrono::steady_clock::time_point::max());
          boost::system::error_code ec;
          co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
        }
        connected = false;
        const bool deliberate = stopped || reconnect_requested;
        if (deliberate) co_await close_gracefully(conn);
        conn.reset();
        if (stopped) break;
        report(false);
        if (deliberate) {
          reconnect_requested = false;
          reason = "reconnect requested";
          refusals = 0;
        } else if (std::chrono::steady_clock::now() - up_since >= opts.min_stable) {
          log::warn("ari events: connection lost");
          reason = "connection lost";
          refusals = 0;  // the next attempt goes at once
        } else {
          log::warn("ari events: connection lost right after it was established");
          reason = "connection lost";
          delay = refusal_delay(++refusals, true);
        }
      } else {
        ++failures;
        if (r.http_status) {
          const bool auth = r.http_status == 401 || r.http_status == 403;
          reason = "handshake refused with " + std::to_string(r.http_status) + " " +
                   r.body.substr(0, 200);
          delay = refusal_delay(++refusals, auth);
          log_failure(reason, auth);
        } else {
          reason = r.error;
          delay = probe_delay();
          log_failure(reason, false);
        }
      }
      report_retry(delay, reason);
      if (stopped) break;
      if (delay.count() > 0) {
        timer.expires_after(delay);
        boost::system::error_code ec;
        co_await timer.async_wait(asio::redirect_error(use_awaitable, ec));
      }
    }
    connected = false;
    finished = true;
    done.cancel();
  }

  /// On the io thread: wake the loop, which closes the socket and ends.
  void halt() { timer.cancel(); }
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

awaitable<void> EventStream::shutdown() {
  stop();
  auto impl = impl_;
  if (!impl->started) co_return;
  // The loop ends after at most the close handshake; a connect in progress
  // may take longer, and is not waited for beyond that.
  const auto deadline =
      std::chrono::steady_clock::now() + impl->opts.close_timeout + std::chrono::milliseconds(250);
  while (!impl->finished && std::chrono::steady_clock::now() < deadline) {
    impl->done.expires_at(deadline);
    boost::system::error_code ec;
    co_await impl->done.async_wait(asio::redirect_error(use_awaitable, ec));
  }
}

void EventStream::reconnect() {
  if (impl_->stopped || !impl_->connected) return;
  impl_->reconnect_requested = true;
  impl_->timer.cancel();
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
