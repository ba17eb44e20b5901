#pragma once
// One HTTP/1.1 request whose response body is delivered in pieces as they
// arrive (http and https, system CA store), for answers that are consumed
// while they are still being produced: a remote TTS server's WAV. HttpClient
// reads whole bodies; this reads them as a stream. Cancellable; connect,
// first-byte and total timeouts. Not thread-safe: use it from the executor it
// was started on (callbacks run there too).
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/asio.hpp"
#include "net/http_types.hpp"

namespace aa::net {

struct StreamRequest {
  std::string method = "POST";
  std::string url;  // absolute http(s) URL, path and query included
  std::string body;
  std::string content_type;  // empty: no Content-Type header
  std::vector<Header> headers;
  std::chrono::milliseconds connect_timeout{5'000};      // TCP (+TLS) connect
  std::chrono::milliseconds first_byte_timeout{30'000};  // request sent -> response headers
  std::chrono::milliseconds total_timeout{30'000};       // start -> last body byte
  bool verify_tls = true;
  size_t max_body = 64 * 1024 * 1024;  // larger bodies end with Error::too_large
  std::string user_agent = "asterisk-api";
};

struct StreamHead {
  int status = 0;
  std::vector<Header> headers;
  std::string_view header(std::string_view name) const {
    for (const auto& h : headers)
      if (iequals(h.name, name)) return h.value;
    return {};
  }
};

struct StreamEnd {
  enum class Error { none, connect, timeout, io, too_large };
  Error error = Error::none;
  std::string message;  // readable reason when failed
  bool ok() const { return error == Error::none; }
};

struct StreamCallbacks {
  /// The status line and headers (once, before any body piece).
  std::function<void(const StreamHead&)> on_head;
  /// The next piece of the body (decoded from chunked transfer encoding), in order.
  std::function<void(std::string_view)> on_body;
  /// Once, last: the whole body arrived (ok) or the request failed. A failure
  /// before on_head means no response was received.
  std::function<void(const StreamEnd&)> on_end;
};

class HttpStream {
 public:
  /// Start the request on `ex`; returns at once. Callbacks run on `ex`, never
  /// from within start().
  static std::shared_ptr<HttpStream> start(asio::any_io_executor ex, StreamRequest req,
                                           StreamCallbacks cb);
  virtual ~HttpStream() = default;
  /// Abort the request (the connection is closed). No callback runs after
  /// this returns. Idempotent; safe after on_end. Call it on the executor.
  virtual void cancel() = 0;
};

}  // namespace aa::net
