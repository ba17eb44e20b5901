#pragma once
// WebSocket client (ws:// and wss://) on Beast coroutines.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "net/http_types.hpp"

namespace aa::net {

struct WsClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::vector<Header> headers;  // extra handshake headers
  std::string basic_auth;       // "user:password"; empty: none
  bool verify_tls = true;
  size_t max_queue = 1024;                     // frames waiting to be written
  size_t max_queued_bytes = 16 * 1024 * 1024;  // bytes waiting to be written
  size_t max_message = 16 * 1024 * 1024;
};

struct WsConnectResult {
  std::shared_ptr<WsConnection> connection;  // null on failure
  int http_status = 0;                       // handshake status when refused (e.g. 401)
  std::string body;                          // handshake response body when refused
  std::string error;                         // readable reason when failed
  bool timed_out = false;                    // connect or handshake took too long
};

/// Connect to `url` (ws/wss/http/https scheme accepted), `target` = path+query.
/// The returned connection reads in the background and calls on_message/on_close;
/// set those callbacks right after this returns (no message is delivered before
/// the caller's coroutine resumes, as both run on the same thread).
awaitable<WsConnectResult> ws_connect(const Url& url, std::string target, WsClientOptions opts);
/// Same with default options. (No default arguments on coroutines: g++ 12
/// destroys a defaulted by-value coroutine parameter twice.)
inline awaitable<WsConnectResult> ws_connect(const Url& url, std::string target) {
  return ws_connect(url, std::move(target), WsClientOptions{});
}

}  // namespace aa::net
