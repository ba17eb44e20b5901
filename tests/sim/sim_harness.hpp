#pragma once
// Test harness: a Simulator and its clients on one io_context, one thread.
// Clients are the real ones (net::http_fetch, net::ws_connect) over TCP.
#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/asio.hpp"
#include "common/json.hpp"
#include "common/util.hpp"
#include "net/http_client.hpp"
#include "net/ws_client.hpp"
#include "sim/simulator.hpp"

namespace aa::simtest {

/// One received event, with the members the tests look at pre-extracted.
struct Ev {
  std::string raw;
  std::string type, channel_id, state, dialstatus, target, item_state, digit;
  std::optional<int64_t> cause;
  bool soft = false;
  std::vector<std::string> args;
  int64_t duration = -1;
};

inline Ev summarize(const std::string& text) {
  Ev e;
  e.raw = text;
  auto doc = json::parse(text);
  if (!doc) return e;
  const json::Value& v = *doc;
  e.type = json::get_string(v, "type");
  const json::Value* ch = json::find(v, "channel");
  if (!ch) ch = json::find(v, "peer");
  if (ch) {
    e.channel_id = json::get_string(*ch, "id");
    e.state = json::get_string(*ch, "state");
  }
  e.dialstatus = json::get_string(v, "dialstatus");
  if (auto* c = json::find(v, "cause"); c && c->IsInt64()) e.cause = c->GetInt64();
  e.soft = json::get_bool(v, "soft");
  e.digit = json::get_string(v, "digit");
  if (auto* a = json::find(v, "args"); a && a->IsArray())
    for (const auto& x : a->GetArray()) e.args.emplace_back(json::as_view(x));
  for (const char* k : {"playback", "recording"})
    if (auto* p = json::find(v, k)) {
      e.target = json::get_string(*p, "target_uri");
      e.item_state = json::get_string(*p, "state");
      e.channel_id =
          std::string(json::get_string(*p, k == std::string("playback") ? "id" : "name"));
      e.duration = json::get_int(*p, "duration", -1);
    }
  return e;
}

struct EventLog {
  std::shared_ptr<net::WsConnection> ws;
  std::vector<Ev> events;
  bool closed = false;
};

class Harness {
 public:
  explicit Harness(double time_scale = 0.02, std::vector<sim::EndpointConfig> endpoints = {}) {
    sim::SimulatorOptions o;
    o.engine.time_scale = time_scale;
    o.engine.endpoints = std::move(endpoints);
    sim = std::make_unique<sim::Simulator>(io, o);
    port = sim->start();
    base = "http://127.0.0.1:" + std::to_string(port);
  }
  ~Harness() {
    sim->stop();
    io.run_for(std::chrono::milliseconds(50));
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

  awaitable<net::ClientResponse> ari(std::string method, std::string target, std::string body = {},
                                     bool auth = true) {
    std::vector<net::Header> headers;
    if (auth)
      headers.push_back(
          {"Authorization", "Basic " + base64_encode("asterisk_ari:asterisk_ari_pass")});
    // Locals, not temporaries, in co_await expressions: g++ 12 mishandles the latter.
    const std::string ct = body.empty() ? "" : "application/json";
    const std::string url = base + "/ari" + target;
    net::ClientOptions opts;
    net::ClientResponse r =
        co_await net::http_fetch(method, url, std::move(body), ct, headers, opts);
    co_return r;
  }
  awaitable<net::ClientResponse> control(std::string method, std::string target,
                                         std::string body = {}) {
    const std::string ct = body.empty() ? "" : "application/json";
    const std::string url = base + "/_sim" + target;
    const std::vector<net::Header> headers;
    net::ClientOptions opts;
    net::ClientResponse r =
        co_await net::http_fetch(method, url, std::move(body), ct, headers, opts);
    co_return r;
  }

  awaitable<std::shared_ptr<EventLog>> events(std::string query = "app=openclaw-voice") {
    auto log = std::make_shared<EventLog>();
    auto url = parse_url(base);
    net::WsClientOptions o;
    o.basic_auth = "asterisk_ari:asterisk_ari_pass";
    const std::string target = "/ari/events?" + query;
    auto r = co_await net::ws_connect(*url, target, o);
    EXPECT_TRUE(r.connection) << r.error << " " << r.http_status << " " << r.body;
    if (!r.connection) co_return log;
    log->ws = r.connection;
    std::weak_ptr<EventLog> weak = log;
    log->ws->on_message = [weak](std::string_view m) {
      if (auto l = weak.lock()) l->events.push_back(summarize(std::string(m)));
    };
    log->ws->on_close = [weak] {
      if (auto l = weak.lock()) l->closed = true;
    };
    co_return log;
  }

  /// Wait until `pred` holds (real time limit), polling. `pred` is taken by
  /// reference: g++ 12 double-destroys non-trivial temporaries in co_await.
  template <typename Pred>
  static awaitable<bool> until(const Pred& pred, int limit_ms = 5000) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
    while (!pred()) {
      if (std::chrono::steady_clock::now() > end) co_return false;
      co_await sleep_for(std::chrono::milliseconds(2));
    }
    co_return true;
  }
  static bool has_event(const EventLog& log, std::string_view type, std::string_view id) {
    for (const auto& e : log.events)
      if (e.type == type && (id.empty() || e.channel_id == id)) return true;
    return false;
  }
  static awaitable<bool> wait_event(std::shared_ptr<EventLog> log, std::string type,
                                    std::string id = {}, int limit_ms = 5000) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
    while (!has_event(*log, type, id)) {
      if (std::chrono::steady_clock::now() > end) co_return false;
      co_await sleep_for(std::chrono::milliseconds(2));
    }
    co_return true;
  }

  asio::io_context io;
  std::unique_ptr<sim::Simulator> sim;
  uint16_t port = 0;
  std::string base;
};

inline json::Document parse_body(const net::ClientResponse& r) {
  auto d = json::parse(r.body);
  json::Document empty;
  empty.SetObject();
  return d ? std::move(*d) : std::move(empty);
}

}  // namespace aa::simtest
