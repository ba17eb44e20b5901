#pragma once
// Helpers for the ARI client tests: run coroutines on a test-owned io_context
// with a deadline, and a tiny fake ARI server on net::HttpServer.
#include <gtest/gtest.h>

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "net/http_server.hpp"

namespace aa::ari::test {

using namespace std::chrono_literals;

/// Run the io_context until `done()` or the deadline; returns done().
inline bool run_until(asio::io_context& io, const std::function<bool()>& done,
                      std::chrono::milliseconds deadline = 5s) {
  auto end = std::chrono::steady_clock::now() + deadline;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    if (io.stopped()) io.restart();
    io.run_for(5ms);
  }
  return true;
}

/// Spawn `make()` (returning awaitable<T>) and run the io_context until it completes.
template <typename F>
auto await(asio::io_context& io, F make, std::chrono::milliseconds deadline = 10s) {
  using Aw = decltype(make());
  using T = typename Aw::value_type;
  std::optional<T> out;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, make(), [&](std::exception_ptr ep, T v) {
    error = ep;
    if (!ep) out.emplace(std::move(v));
    done = true;
  });
  bool finished = run_until(
      io, [&] { return done; }, deadline);
  if (!finished) throw std::runtime_error("coroutine did not finish before the deadline");
  if (error) std::rethrow_exception(error);
  return std::move(*out);
}

/// Run the io_context for `d` (lets timers and sockets progress).
inline void run_for(asio::io_context& io, std::chrono::milliseconds d) {
  auto end = std::chrono::steady_clock::now() + d;
  while (std::chrono::steady_clock::now() < end) {
    if (io.stopped()) io.restart();
    io.run_for(2ms);
  }
}

/// A canned answer.
struct Canned {
  int status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::chrono::milliseconds delay{0};
};

/// Fake ARI: records every request, answers from a queue of canned responses
/// (or `fallback`), and serves /ari/events WebSockets.
class FakeAri {
 public:
  explicit FakeAri(asio::io_context& io, uint16_t port = 0) : io_(io) { listen(port); }
  ~FakeAri() { close(); }

  uint16_t port() const { return port_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  /// Stop listening and close every socket (connections are then refused).
  void close() {
    if (!server_) return;
    server_->stop_accepting();
    server_->close_websockets(1001, "going away");
    retired_.push_back(std::move(server_));
  }
  /// Listen again on the same port.
  void reopen() {
    if (!server_) listen(port_);
  }
  bool listening() const { return server_ != nullptr; }

  void push(Canned c) { queue_.push_back(std::move(c)); }
  void push(int status, std::string body = {}, std::string content_type = "application/json") {
    push(Canned{status, std::move(body), std::move(content_type), {}});
  }

  std::vector<net::Request> requests;
  Canned fallback{200, "{}", "application/json", {}};

  // --- events socket ---
  /// When set, the upgrade is refused with this status and JSON body.
  std::optional<std::pair<int, std::string>> refuse_ws;
  std::vector<net::Request> ws_requests;
  std::vector<std::shared_ptr<net::WsConnection>> sockets;
  std::shared_ptr<net::WsConnection> last_socket() const {
    return sockets.empty() ? nullptr : sockets.back();
  }
  size_t open_sockets() const {
    size_t n = 0;
    for (const auto& s : sockets)
      if (s->is_open()) ++n;
    return n;
  }
  /// Close every events socket with `code` (the client sees a drop).
  void drop_sockets(uint16_t code = 1001) {
    if (server_) server_->close_websockets(code, "dropped");
  }

 private:
  void listen(uint16_t port) {
    net::ServerOptions so;
    so.host = "127.0.0.1";
    so.port = port;
    server_ = std::make_unique<net::HttpServer>(io_, so);
    server_->on_request([this](net::Request& req) -> awaitable<net::Response> {
      requests.push_back(req);
      Canned c = fallback;
      if (!queue_.empty()) {
        c = std::move(queue_.front());
        queue_.pop_front();
      }
      if (c.delay.count() > 0) co_await sleep_for(c.delay);
      net::Response r;
      r.status = c.status;
      r.body = std::move(c.body);
      r.content_type = c.content_type;
      if (r.status == 204) r.content_type.clear();
      co_return r;
    });
    server_->on_websocket(
        [this](const net::Request& req) -> std::optional<net::Response> {
          ws_requests.push_back(req);
          if (refuse_ws) return net::Response::json(refuse_ws->first, refuse_ws->second);
          return std::nullopt;
        },
        [this](std::shared_ptr<net::WsConnection> c, const net::Request&) {
          sockets.push_back(std::move(c));
        });
    port_ = server_->start();
  }

  asio::io_context& io_;
  std::unique_ptr<net::HttpServer> server_;
  std::vector<std::unique_ptr<net::HttpServer>> retired_;
  std::deque<Canned> queue_;
  uint16_t port_ = 0;
};

}  // namespace aa::ari::test
