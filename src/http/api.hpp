#pragma once
/// The HTTP API of API-CONTRACT.md: every route, the `/events` WebSocket, the
/// `/media/<token>/<name>.wav|.wav16` files that Asterisk fetches, authentication and
/// the access log. Handlers are thin: validate → call the domain → map the result.
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "common/asio.hpp"
#include "http/auth.hpp"
#include "http/router.hpp"
#include "net/http_server.hpp"
#include "net/http_types.hpp"

namespace aa::calls {
class CallManager;
class AllowlistFile;
}  // namespace aa::calls
namespace aa::voice {
class VoiceManager;
}
namespace aa::stream {
class StreamManager;
}
namespace aa::media {
class MediaStore;
}
namespace aa::sinks {
class EventHub;
class WebhookSender;
}  // namespace aa::sinks
namespace aa::store {
class EventStore;
}
namespace aa {
class WorkerPool;
}

namespace aa::http {

struct ApiOptions {
  std::string api_key;  // empty: authentication off
  std::string name = "asterisk-api";
  std::string description =
      "REST API bridge for Asterisk ARI: call control, media, "
      "recordings, bridges and a real-time event stream";
  std::string version = AA_VERSION;
  size_t max_json_body = 64 * 1024;
  size_t max_upload = 10 * 1024 * 1024;  // POST /calls/:id/play/file
  /// Where recordings are downloaded before they are streamed (empty: the system temp dir).
  std::string temp_dir;
  bool access_log = true;
  /// The `GET /metrics` body in Prometheus text format (unset: 404).
  std::function<std::string()> metrics_text;
  /// Told of every answered request (after the access log), e.g. for metrics.
  std::function<void(const net::Request&, const net::Response&, std::chrono::microseconds)>
      on_request_done;
  /// Speak, barge-in and audio capture (null: those routes answer 501).
  voice::VoiceManager* voice = nullptr;
  /// GET /allowlist, POST /allowlist/reload (null: open mode, reload 404).
  calls::AllowlistFile* allowlist = nullptr;
  /// Agent streams: POST/DELETE /calls/:id/stream, WS /calls/:id/stream, POST /calls `stream`.
  stream::StreamManager* streams = nullptr;
  /// The durable store (null: DATA_DIR=off): /events?since=, GET /events/log,
  /// GET /calls/history, ended calls by id, transcripts; its reads run on `pool`.
  store::EventStore* store = nullptr;
  WorkerPool* pool = nullptr;
  /// The webhook outbox: GET /webhooks/deliveries, POST …/:id/retry.
  sinks::WebhookSender* webhooks = nullptr;
};

class Api {
 public:
  Api(calls::CallManager& calls, media::MediaStore& media, sinks::EventHub& hub, ApiOptions opts);
  ~Api();
  Api(const Api&) = delete;
  Api& operator=(const Api&) = delete;

  /// Answer one HTTP request (authentication included). Never throws.
  awaitable<net::Response> handle(net::Request& req);
  /// Request body limit, decided on the headers: max_upload for POST
  /// /calls/:id/play/file, max_json_body otherwise.
  size_t body_limit(const net::Request& req) const;
  /// The WebSocket upgrade: nullopt accepts (`/events` with a valid key);
  /// otherwise the refusal (404 for other paths, 401 without the key).
  std::optional<net::Response> check_websocket(const net::Request& req) const;
  /// A new `/events` client: handed to the EventHub (snapshot, then events).
  void open_websocket(std::shared_ptr<net::WsConnection> conn, const net::Request& req);
  /// A request was answered: one access-log line (method, target with api_key
  /// redacted, status, ms), then `on_request_done`.
  void request_done(const net::Request& req, const net::Response& res,
                    std::chrono::microseconds elapsed) const;

  /// Install the hooks that live in ServerOptions (body limit, JSON protocol
  /// errors, access log) — call before constructing the HttpServer.
  void configure(net::ServerOptions& opts);
  /// The same hooks for a server that must exist before the Api does (its port
  /// goes into the media base URL): they forward to `*api` once it is set, and
  /// use the defaults (64 KiB limit, JSON errors, no access log) before.
  static void configure_deferred(net::ServerOptions& opts, const std::unique_ptr<Api>& api);
  /// Install the request and WebSocket handlers on `server`.
  void attach(net::HttpServer& server);

  const Router& router() const { return router_; }

 private:
  struct Handlers;
  void build_routes();

  calls::CallManager& calls_;
  media::MediaStore& media_;
  sinks::EventHub& hub_;
  ApiOptions opts_;
  Auth auth_;
  Router router_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace aa::http
