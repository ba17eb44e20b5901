#pragma once
// ARI REST (/ari/...) and the events WebSocket handshake, mapped onto the Engine.
// Authentication: HTTP basic auth or ?api_key=user:password, like Asterisk.
#include <memory>
#include <optional>
#include <string>

#include "net/http_types.hpp"
#include "sim/engine.hpp"

namespace aa::sim {

struct Credentials {
  std::string user = "asterisk_ari";
  std::string password = "asterisk_ari_pass";
};

class RestApi {
 public:
  RestApi(Engine& engine, Credentials creds) : engine_(engine), creds_(std::move(creds)) {}

  /// Handle one request whose path starts with /ari.
  net::Response handle(const net::Request& req);
  /// Events socket handshake: a Response refuses it; nullopt accepts.
  std::optional<net::Response> check_events_upgrade(const net::Request& req) const;
  /// An accepted events socket.
  void open_events(std::shared_ptr<net::WsConnection> ws, const net::Request& req);

  bool authorized(const net::Request& req) const;

 private:
  Engine& engine_;
  Credentials creds_;
  std::shared_ptr<void> routes_;  // built on first use (type private to rest_api.cpp)
};

/// Asterisk's HTML error page (used for a few handshake and restart errors).
std::string asterisk_html_error(int status, std::string_view title, std::string_view text);

}  // namespace aa::sim
