#pragma once
// The whole service in-process, wired like main would: the ARI simulator on its
// own thread, and on the test's io_context the real RestClient + EventStream +
// CallManager + MediaStore + EventHub + WebhookSender + http::Api on a
// net::HttpServer (port 0), plus a local webhook receiver. Tests speak HTTP and
// WebSocket to it through real sockets, like a client.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "ari/events.hpp"
#include "ari/rest_client.hpp"
#include "calls/call_manager.hpp"
#include "common/asio.hpp"
#include "common/json.hpp"
#include "common/util.hpp"
#include "http/api.hpp"
#include "http/errors.hpp"
#include "http/wait.hpp"
#include "media/media_store.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/ws_client.hpp"
#include "sim/simulator.hpp"
#include "sinks/event_hub.hpp"
#include "sinks/fan_out.hpp"
#include "sinks/webhook_sender.hpp"

namespace aa::test {

struct HarnessOptions {
  std::string api_key;
  double time_scale = 0.02;
  std::string webhook_secret;
  bool webhooks = true;
  size_t ws_max_queue = 1024;
  std::vector<sim::EndpointConfig> endpoints;  // empty: the simulator's defaults
  std::string temp_dir;                        // Api's download dir (empty: system temp)
  media::MediaStoreOptions media;              // uploaded audio: caps and where
  calls::UntrackedPolicy untracked = calls::UntrackedPolicy::adopt;
};

/// One message received on /events, parsed.
struct WsLog {
  std::shared_ptr<net::WsConnection> ws;
  std::vector<std::string> raw;
  bool closed = false;
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& m : raw)
      if (auto d = json::parse(m)) out.emplace_back(json::get_string(*d, "type"));
    return out;
  }
};

struct Webhook {
  std::string body;
  std::string event;
  std::string signature;
};

/// A valid mono 16-bit 8 kHz PCM WAV of `samples` silent samples.
inline std::string wav_bytes(size_t samples) {
  auto le32 = [](std::string& s, uint32_t v) {
    for (int i = 0; i < 4; ++i) s += static_cast<char>((v >> (8 * i)) & 0xff);
  };
  auto le16 = [](std::string& s, uint16_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>(v >> 8);
  };
  const uint32_t data = static_cast<uint32_t>(samples * 2);
  std::string w = "RIFF";
  le32(w, 36 + data);
  w += "WAVEfmt ";
  le32(w, 16);
  le16(w, 1);     // PCM
  le16(w, 1);     // mono
  le32(w, 8000);  // rate
  le32(w, 16000);
  le16(w, 2);
  le16(w, 16);
  w += "data";
  le32(w, data);
  w.append(data, '\0');
  return w;
}

class Service {
 public:
  explicit Service(HarnessOptions o = {}) : opts_(std::move(o)) {
    sim::SimulatorOptions so;
    so.engine.time_scale = opts_.time_scale;
    so.engine.endpoints = opts_.endpoints;
    sim_ = std::make_unique<sim::SimThread>(so);
    sim_base = sim_->base_url();

    auto ex = io.get_executor();
    // Webhook receiver.
    receiver_ = std::make_unique<net::HttpServer>(io, net::ServerOptions{});
    receiver_->on_request([this](net::Request& req) -> awaitable<net::Response> {
      webhooks.push_back({req.body, std::string(req.header("x-webhook-event")),
                          std::string(req.header("x-signature"))});
      co_return net::Response::json(200, "{}");
    });
    const uint16_t rport = receiver_->start();

    // The API server first (its port goes into the media base URL); its hooks
    // forward to the Api once it exists.
    net::ServerOptions sopts;
    sopts.ws_max_queue = opts_.ws_max_queue;
    http::Api::configure_deferred(sopts, api);
    server = std::make_unique<net::HttpServer>(io, sopts);
    port = server->start();
    base = "http://127.0.0.1:" + std::to_string(port);

    rest = std::make_unique<ari::RestClient>(ex, sim_base, "asterisk_ari", "asterisk_ari_pass",
                                             std::chrono::seconds(5));
    media = std::make_unique<media::MediaStore>(opts_.media);
    hub = std::make_unique<sinks::EventHub>(ex);
    sinks::WebhookOptions wo;
    if (opts_.webhooks) wo.url = "http://127.0.0.1:" + std::to_string(rport) + "/voice/webhook";
    wo.secret = opts_.webhook_secret;
    webhook = std::make_unique<sinks::WebhookSender>(ex, wo);
    fan.add(*hub);
    fan.add(*webhook);
    start_service();
  }

  /// The service's own part — CallManager, Api, events socket — as a process
  /// start builds it, against the simulator (which keeps its calls).
  void start_service() {
    auto ex = io.get_executor();
    calls::CallManagerOptions co;
    co.media_base_url = base;
    co.untracked = opts_.untracked;
    manager = std::make_unique<calls::CallManager>(ex, *rest, fan, *media, co);
    http::ApiOptions ao;
    ao.api_key = opts_.api_key;
    ao.access_log = false;
    ao.temp_dir = opts_.temp_dir;
    api = std::make_unique<http::Api>(*manager, *media, *hub, ao);
    api->attach(*server);

    ari::EventStreamOptions eo;
    eo.url = *parse_url(sim_base);
    eo.app = "openclaw-voice";
    eo.username = "asterisk_ari";
    eo.password = "asterisk_ari_pass";
    eo.backoff_initial = std::chrono::milliseconds(20);
    eo.backoff_max = std::chrono::milliseconds(200);
    events = std::make_unique<ari::EventStream>(ex, eo);
    events->on_event = [this](const ari::Event& e) { manager->on_ari_event(e); };
    events->on_connection = [this](bool up) { manager->on_ari_connection(up); };
    events->start();
  }

  /// As a service restart: the events socket closes, everything the service
  /// knew is forgotten, and a new CallManager/Api/events socket start. Call
  /// from a test body (no request of ours may be in flight).
  void restart_service() {
    stop_service();
    start_service();
  }
  /// The service "process" goes away (its events socket closes); start_service() brings it back.
  void stop_service() {
    events->stop();
    retired_events_.push_back(std::move(events));  // its coroutine may still unwind
    api.reset();
    manager.reset();
  }

  ~Service() {
    events->stop();
    hub->close_all(1001);
    webhook->stop();
    server->stop_accepting();
    receiver_->stop_accepting();
    io.run_for(std::chrono::milliseconds(50));
    sim_->stop();
  }

  /// Run a test body on the io_context (fails the test after `limit`).
  void run(std::function<awaitable<void>()> body,
           std::chrono::seconds limit = std::chrono::seconds(30)) {
    bool done = false;
    std::exception_ptr error;
    asio::co_spawn(io, body(), [&](std::exception_ptr e) {
      done = true;
      error = e;
    });
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!done && std::chrono::steady_clock::now() < until)
      io.run_one_for(std::chrono::milliseconds(20));
    if (!done) ADD_FAILURE() << "test body did not finish in time";
    if (error) std::rethrow_exception(error);
  }

  /// Wait until the service's ARI events socket is up.
  awaitable<bool> ready() {
    // Connected, and the start-up pass over Asterisk's channels is over (a
    // channel a test makes before then would be seen as left by a past run).
    const bool up = co_await until(
        [this] { return manager->ari_connected() && manager->untracked_stats().passes > 0; }, 5000);
    co_return up;
  }

  /// An HTTP request to the API. `key` (when not empty) goes in X-API-Key.
  awaitable<net::ClientResponse> call(std::string method, std::string target, std::string body,
                                      std::string content_type, std::vector<net::Header> headers) {
    const std::string url = base + target;
    net::ClientOptions o;
    o.request_timeout = std::chrono::seconds(20);
    net::ClientResponse r =
        co_await net::http_fetch(method, url, std::move(body), content_type, headers, o);
    co_return r;
  }
  awaitable<net::ClientResponse> get(std::string target) {
    net::ClientResponse r = co_await call("GET", std::move(target), {}, {}, auth_headers());
    co_return r;
  }
  awaitable<net::ClientResponse> del(std::string target) {
    net::ClientResponse r = co_await call("DELETE", std::move(target), {}, {}, auth_headers());
    co_return r;
  }
  awaitable<net::ClientResponse> post(std::string target, std::string json_body) {
    const std::string ct = json_body.empty() ? "" : "application/json";
    net::ClientResponse r =
        co_await call("POST", std::move(target), std::move(json_body), ct, auth_headers());
    co_return r;
  }
  std::vector<net::Header> auth_headers() const {
    std::vector<net::Header> h;
    if (!opts_.api_key.empty()) h.push_back({"X-API-Key", opts_.api_key});
    return h;
  }

  /// A request to the simulator's /_sim control API.
  awaitable<net::ClientResponse> sim(std::string method, std::string target, std::string body) {
    const std::string url = sim_base + "/_sim" + target;
    const std::string ct = body.empty() ? "" : "application/json";
    const net::ClientOptions o;
    net::ClientResponse r = co_await net::http_fetch(method, url, std::move(body), ct,
                                                     net::HttpClient::no_headers(), o);
    co_return r;
  }

  /// Connect to /events (target may carry ?api_key=). Null ws on refusal; see http_status.
  awaitable<std::shared_ptr<WsLog>> connect_events(std::string target,
                                                   std::vector<net::Header> headers,
                                                   int* http_status) {
    auto log = std::make_shared<WsLog>();
    const Url url = *parse_url(base);
    net::WsClientOptions o;
    o.headers = std::move(headers);
    net::WsConnectResult r = co_await net::ws_connect(url, std::move(target), o);
    if (http_status) *http_status = r.http_status;
    if (!r.connection) co_return log;
    log->ws = r.connection;
    std::weak_ptr<WsLog> weak = log;
    log->ws->on_message = [weak](std::string_view m) {
      if (auto l = weak.lock()) l->raw.emplace_back(m);
    };
    log->ws->on_close = [weak] {
      if (auto l = weak.lock()) l->closed = true;
    };
    co_return log;
  }
  awaitable<std::shared_ptr<WsLog>> connect_events() {
    std::string target = "/events";
    auto log = co_await connect_events(std::move(target), auth_headers(), nullptr);
    co_return log;
  }

  asio::io_context io;
  std::string sim_base;
  std::unique_ptr<net::HttpServer> server;
  uint16_t port = 0;
  std::string base;
  std::unique_ptr<ari::RestClient> rest;
  std::unique_ptr<media::MediaStore> media;
  std::unique_ptr<sinks::EventHub> hub;
  std::unique_ptr<sinks::WebhookSender> webhook;
  sinks::FanOut fan;
  std::unique_ptr<calls::CallManager> manager;
  std::unique_ptr<http::Api> api;
  std::unique_ptr<ari::EventStream> events;
  std::vector<Webhook> webhooks;

  sim::SimThread& simulator() { return *sim_; }

 private:
  HarnessOptions opts_;
  std::vector<std::unique_ptr<ari::EventStream>> retired_events_;
  std::unique_ptr<sim::SimThread> sim_;
  std::unique_ptr<net::HttpServer> receiver_;
};

inline json::Document body_of(const net::ClientResponse& r) {
  auto d = json::parse(r.body);
  json::Document empty;
  empty.SetObject();
  return d ? std::move(*d) : std::move(empty);
}

}  // namespace aa::test
