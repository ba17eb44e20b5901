#pragma once
// Plain request/response values shared by the HTTP server, the HTTP client and
// every handler. Nothing here includes Beast, so handlers compile fast.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/util.hpp"

namespace aa::net {

struct Header {
  std::string name;  // as received; compare with iequals
  std::string value;
};

struct Request {
  std::string method;  // upper case, e.g. "GET"
  std::string target;  // raw target, with query string
  std::string path;    // percent-decoded path, no query
  QueryParams query;   // decoded query parameters, in order
  std::vector<Header> headers;
  std::string body;
  std::string remote;  // peer address, for logs
  /// The route pattern that matched ("/calls/:id"), set by the router; for
  /// metrics and logs, whose labels must not contain ids.
  std::string route;

  /// Case-insensitive header lookup; empty view when absent.
  std::string_view header(std::string_view name) const {
    for (const auto& h : headers)
      if (iequals(h.name, name)) return h.value;
    return {};
  }
  std::optional<std::string_view> param(std::string_view name) const {
    return find_param(query, name);
  }
  /// Media type without parameters, lower case ("application/json").
  std::string content_type() const;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<Header> headers;
  /// When set, the body is streamed from this file instead of `body`.
  std::string file_path;
  /// Kept alive until the response has been written, then released (e.g. a
  /// temporary file behind `file_path` that deletes itself).
  std::shared_ptr<const void> keep_until_sent;

  static Response json(int status, std::string body) {
    Response r;
    r.status = status;
    r.body = std::move(body);
    return r;
  }
  static Response empty(int status) {
    Response r;
    r.status = status;
    r.content_type.clear();
    return r;
  }
};

/// A WebSocket peer (server- or client-side). All calls are made on the
/// connection's io thread. Sending never blocks: frames are queued up to a
/// bound, and a peer that cannot keep up is closed with `overflow_close_code`.
class WsConnection {
 public:
  virtual ~WsConnection() = default;
  /// Queue a text frame (the text is copied). Returns false if the connection
  /// is closed or was just closed because its queue overflowed.
  virtual bool send(std::string_view text) = 0;
  /// Queue several text frames at once: one write for all of them where the
  /// transport can. Same result as send() for each, in order.
  virtual bool send_batch(const std::vector<std::string>& texts) {
    for (const auto& t : texts)
      if (!send(t)) return false;
    return true;
  }
  /// Queue a binary frame (copied). Same bound and result as send().
  virtual bool send_binary(std::string_view data) = 0;
  /// Send a close frame with `code` after what is already queued, then close.
  virtual void close(uint16_t code, std::string reason = {}) = 0;
  virtual bool is_open() const = 0;
  /// Frames queued and not yet written.
  virtual size_t queued() const = 0;
  /// Bytes queued and not yet written (where the transport knows; else 0).
  virtual size_t queued_bytes() const { return 0; }
  /// Drop the connection now, without (waiting for) a close handshake.
  virtual void abort() { close(1001); }
  /// The status code of the close frame the peer sent (0: none received yet).
  virtual uint16_t peer_close_code() const { return 0; }
  /// Called for each text message received, and for binary messages too when
  /// `on_binary` is not set. The frame's opcode decides, never its payload.
  std::function<void(std::string_view)> on_message;
  /// Called for each binary message received (when set).
  std::function<void(std::string_view)> on_binary;
  /// Called once when the connection is gone (either side closed, or error).
  std::function<void()> on_close;
  /// Server side: called when the peer's close frame arrives (with its code,
  /// 1005 when it carried none), before on_close. A connection that ends
  /// without one (TCP dropped) never calls it.
  std::function<void(uint16_t code)> on_close_frame;
};

}  // namespace aa::net
