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
  RestApi(Engine& engine, Credentials creds);
  ~RestApi();
  RestApi(const RestApi&) = delete;
  RestApi& operator=(const RestApi&) = delete;

  /// Handle one request whose path starts with /ari, including the Swagger
  /// documents under /ari/api-docs/ (resources.json, <resource>.json).
  net::Response handle(const net::Request& req);
  /// Events socket handshake: a Response refuses it; nullopt accepts.
  std::optional<net::Response> check_events_upgrade(const net::Request& req) const;
  /// An accepted events socket.
  void open_events(std::shared_ptr<net::WsConnection> ws, const net::Request& req);

  bool authorized(const net::Request& req) const;
  /// "host:port" of this simulator, for api-docs requests without a usable
  /// Host header (set by the Simulator once it listens).
  void set_self_host(std::string host_port) { self_host_ = std::move(host_port); }

 private:
  struct Routes;  // the route table (rest_routes.hpp) and its operations
  net::Response api_docs(const net::Request& req, std::string_view file) const;
  /// "http://<host>/ari", the basePath of the api-docs.
  std::string base_path(const net::Request& req) const;

  Engine& engine_;
  Credentials creds_;
  std::unique_ptr<Routes> routes_;
  std::string self_host_ = "127.0.0.1:8088";
};

/// Asterisk's HTML error page (used for a few handshake and restart errors).
std::string asterisk_html_error(int status, std::string_view title, std::string_view text);

}  // namespace aa::sim
