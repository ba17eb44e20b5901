// The HTTP API as app::Service wires it (the production wiring), through real sockets.
#include "app/service.hpp"

#include <gtest/gtest.h>

#include "calls/call_manager.hpp"
#include "common/json.hpp"
#include "http/wait.hpp"
#include "net/http_client.hpp"
#include "net/ws_client.hpp"
#include "support/run_io.hpp"

using namespace aa;

namespace {

app::Config test_config() {
  app::Config c;
  c.api_host = "127.0.0.1";
  c.api_port = 0;
  c.sim_port = 0;
  c.sim_time_scale = 0.02;
  c.api_key = "svc-key";
  c.log_level = "warn";
  return c;
}

}  // namespace

TEST(ServiceWiring, RoutesAuthAndEventsThroughTheRealService) {
  asio::io_context io;
  app::Service svc(io, test_config());
  const uint16_t port = svc.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  test::run_coro(io, [&]() -> awaitable<void> {
    auto& calls = svc.calls();
    const bool up = co_await test::until([&] { return calls.ari_connected(); });
    EXPECT_TRUE(up);
    const std::string root = base + "/";
    auto index = co_await net::http_fetch("GET", root);
    EXPECT_EQ(index.status, 200);
    const std::string health = base + "/health";
    auto refused = co_await net::http_fetch("GET", health);
    EXPECT_EQ(refused.status, 401);
    const std::string health_q = base + "/health?api_key=svc-key";
    auto ok = co_await net::http_fetch("GET", health_q);
    EXPECT_EQ(ok.status, 200);
    auto doc = json::parse(ok.body);
    EXPECT_TRUE(doc && json::get_string(*doc, "status") == "ok");

    const Url url = *parse_url(base);
    std::string no_key = "/events";
    auto ws_refused = co_await net::ws_connect(url, std::move(no_key));
    EXPECT_FALSE(ws_refused.connection);
    EXPECT_EQ(ws_refused.http_status, 401);
    std::string with_key = "/events?api_key=svc-key";
    auto ws = co_await net::ws_connect(url, std::move(with_key));
    EXPECT_TRUE(ws.connection);
    std::vector<std::string> got;
    if (ws.connection) ws.connection->on_message = [&](std::string_view m) { got.emplace_back(m); };
    const bool snap = co_await test::until([&] { return !got.empty(); });
    EXPECT_TRUE(snap);
    if (snap) {
      EXPECT_NE(got[0].find("\"snapshot\""), std::string::npos);
    }
    if (ws.connection) ws.connection->close(1000);
    co_await svc.shutdown();
  });
}

// The Service installs the Api's ServerOptions hooks: 10 MB uploads, 64 KiB
// JSON bodies, protocol errors in our JSON shape.
TEST(ServiceWiring, BodyLimitsAndProtocolErrorsUseTheApiHooks) {
  asio::io_context io;
  app::Service svc(io, test_config());
  const uint16_t port = svc.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  test::run_coro(io, [&]() -> awaitable<void> {
    const std::vector<net::Header> key = {{"X-API-Key", "svc-key"}};
    const net::ClientOptions o;
    // 2 MB that is not a WAV: read (within the 10 MB upload limit), then judged → 400 "not a WAV".
    const std::string upload = base + "/calls/x/play/file";
    std::string junk(2 * 1024 * 1024, 'a');
    const std::string wav_ct = "audio/wav";
    auto up = co_await net::http_fetch("POST", upload, std::move(junk), wav_ct, key, o);
    EXPECT_EQ(up.status, 400);
    EXPECT_NE(up.body.find("WAV"), std::string::npos) << up.body;
    // 100 KB of JSON on a JSON route: 413.
    const std::string calls_url = base + "/calls";
    std::string big = "{\"endpoint\":\"" + std::string(100 * 1024, 'a') + "\"}";
    const std::string json_ct = "application/json";
    auto too_big = co_await net::http_fetch("POST", calls_url, std::move(big), json_ct, key, o);
    EXPECT_EQ(too_big.status, 413);
    EXPECT_NE(too_big.body.find("PAYLOAD_TOO_LARGE"), std::string::npos) << too_big.body;
    co_await svc.shutdown();
  });
}
