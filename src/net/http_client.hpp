#pragma once
// Async HTTP/1.1 client with a keep-alive connection pool to one origin
// (http or https). Used for ARI REST, webhooks, media fetches and tests.
// Not thread-safe: use it from the executor it was created with.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "net/http_types.hpp"

namespace aa::net {

struct ClientOptions {
  std::chrono::milliseconds connect_timeout{5'000};
  std::chrono::milliseconds request_timeout{10'000};
  size_t max_idle_connections = 16;
  std::string basic_auth;  // "user:password"; empty: none
  bool verify_tls = true;
  size_t max_response_body = 256 * 1024 * 1024;
  std::string user_agent = "asterisk-api";
};

struct ClientResponse {
  enum class Error { none, connect, timeout, io, too_large };
  int status = 0;  // 0 when there is no response
  std::string body;
  std::string content_type;
  std::vector<Header> headers;
  Error error = Error::none;
  std::string error_message;

  bool ok() const { return error == Error::none; }
  std::string_view header(std::string_view name) const {
    for (const auto& h : headers)
      if (iequals(h.name, name)) return h.value;
    return {};
  }
};

class HttpClient {
 public:
  HttpClient(asio::any_io_executor ex, Url base, ClientOptions opts = {});  // not a coroutine
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  /// `target` is the path (+ query) below the base URL's path, e.g. "/channels?x=1".
  /// Never throws for network problems: they are reported in `error`.
  awaitable<ClientResponse> request(std::string_view method, std::string_view target,
                                    std::string body, std::string_view content_type,
                                    const std::vector<Header>& extra_headers);
  // Overloads instead of default arguments: g++ 12 mishandles defaulted
  // by-value parameters of coroutines.
  awaitable<ClientResponse> request(std::string_view method, std::string_view target) {
    return request(method, target, std::string{}, std::string_view{}, no_headers());
  }
  awaitable<ClientResponse> request(std::string_view method, std::string_view target,
                                    std::string body, std::string_view content_type) {
    return request(method, target, std::move(body), content_type, no_headers());
  }
  static const std::vector<Header>& no_headers();
  /// Like request(), but streams a 2xx body into `file_path` (other bodies stay in memory).
  awaitable<ClientResponse> download(std::string_view target, const std::string& file_path);

  /// Drop pooled idle connections (e.g. after the peer restarted).
  void close_idle();
  const Url& base() const;
  void set_request_timeout(std::chrono::milliseconds t);

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

/// One-shot convenience: parse `url`, send, close. For tests and webhooks to arbitrary URLs.
awaitable<ClientResponse> http_fetch(std::string_view method, std::string_view url,
                                     std::string body, std::string_view content_type,
                                     const std::vector<Header>& extra_headers, ClientOptions opts);
inline awaitable<ClientResponse> http_fetch(std::string_view method, std::string_view url) {
  return http_fetch(method, url, std::string{}, std::string_view{}, HttpClient::no_headers(),
                    ClientOptions{});
}
inline awaitable<ClientResponse> http_fetch(std::string_view method, std::string_view url,
                                            std::string body, std::string_view content_type) {
  return http_fetch(method, url, std::move(body), content_type, HttpClient::no_headers(),
                    ClientOptions{});
}

}  // namespace aa::net
