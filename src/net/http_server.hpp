#pragma once
// HTTP/1.1 + WebSocket server on Boost.Beast and C++20 coroutines.
// One coroutine per connection owns its socket; the server keeps weak
// references to sessions for shutdown. All callbacks run on the io thread.
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/asio.hpp"
#include "net/http_types.hpp"

namespace aa::net {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port
  /// A new connection must have sent its first request's headers by then (an
  /// idle one is closed silently; one that sent part of a request gets 408).
  std::chrono::milliseconds header_timeout{10'000};
  /// The whole body must have arrived by then (else 408).
  std::chrono::milliseconds body_timeout{60'000};
  std::chrono::milliseconds idle_timeout{75'000};  // keep-alive, between requests
  /// Open connections (HTTP and WebSocket). At the cap, the connection idle
  /// the longest (never sent a request, or keep-alive between requests) is
  /// closed to make room; when none is idle the new one is answered 503.
  size_t max_connections = 4096;
  /// After an error answer that ends the connection (413, 400, 408, 431), what
  /// the client still sends is read and discarded — up to these bounds — so
  /// that a client writing its whole body before reading sees the answer
  /// instead of a reset.
  size_t drain_max_bytes = 32 * 1024 * 1024;
  std::chrono::milliseconds drain_timeout{5'000};
  size_t max_header_bytes = 16 * 1024;
  size_t default_body_limit = 1024 * 1024;
  /// Called once the headers are read (body still empty); returns the body limit.
  std::function<size_t(const Request&)> body_limit;
  /// Builds protocol-level error bodies (400 bad request, 413, 408...).
  std::function<Response(int status, std::string_view message)> error_response;
  size_t ws_max_queue = 1024;  // frames queued per WebSocket before it is closed
  /// Bytes queued per WebSocket (frames encoded, pongs included) before it is
  /// closed; a single frame larger than this still goes out when the queue is empty.
  size_t ws_max_queued_bytes = 16 * 1024 * 1024;
  uint16_t ws_overflow_close_code = 1008;
  size_t ws_max_message = 64 * 1024;  // largest message a client may send (else 1009)
  std::string server_header;          // empty: none
  /// Called after each HTTP response is written (for access logs / metrics).
  std::function<void(const Request&, const Response&, std::chrono::microseconds)> on_complete;
};

using HttpHandler = std::function<awaitable<Response>(Request&)>;
/// Decides on a WebSocket upgrade: a Response refuses it (e.g. 401, 404); nullopt accepts.
/// A Response with status 101 accepts too, adding its headers to the handshake
/// answer (e.g. `Sec-WebSocket-Protocol: media`).
using WsUpgradeCheck = std::function<std::optional<Response>(const Request&)>;
/// Called on the io thread once the handshake completed.
using WsOpenHandler = std::function<void(std::shared_ptr<WsConnection>, const Request&)>;

class HttpServer {
 public:
  HttpServer(asio::io_context& io, ServerOptions opts);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  void on_request(HttpHandler handler);
  void on_websocket(WsUpgradeCheck check, WsOpenHandler open);

  /// Bind, listen and start accepting. Returns the bound port. Throws on failure.
  uint16_t start();
  uint16_t port() const;
  /// Stop accepting new connections (existing ones continue).
  void stop_accepting();
  /// Close every WebSocket with `code` (1001 on shutdown).
  void close_websockets(uint16_t code, std::string reason = {});
  /// Close idle keep-alive connections and wait until in-flight requests are
  /// done or `deadline` passed; then close everything.
  awaitable<void> shutdown(std::chrono::milliseconds deadline);
  /// HTTP connections (not upgraded) open now.
  size_t open_connections() const;
  size_t open_websockets() const;
  /// Connections closed to make room at max_connections, and connections
  /// answered 503 because nothing could be closed.
  uint64_t evicted_connections() const;
  uint64_t refused_connections() const;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace aa::net
