// /metrics through the production wiring: 1,000 requests with invented method
// names (no key needed: refused requests are counted too) add no series.
#include <gtest/gtest.h>

#include <sstream>

#include "app/service.hpp"
#include "calls/call_manager.hpp"
#include "http/wait.hpp"
#include "net/http_client.hpp"
#include "support/run_io.hpp"

using namespace aa;

namespace {

size_t series_count(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line))
    if (!line.empty() && line[0] != '#') ++n;
  return n;
}

}  // namespace

TEST(MetricsBounds, AThousandInventedMethodsAddNoSeries) {
  asio::io_context io;
  app::Config c;
  c.api_host = "127.0.0.1";
  c.api_port = 0;
  c.sim_port = 0;
  c.sim_time_scale = 0.02;
  c.api_key = "m-key";
  c.log_level = "warn";
  app::Service svc(io, c);
  const uint16_t port = svc.start();
  test::run_coro(io, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    net::HttpClient client(ex, *parse_url("http://127.0.0.1:" + std::to_string(port)));
    const std::vector<net::Header> key = {{"X-API-Key", "m-key"}};
    // Warm up: one invented method with and without the key.
    auto w1 = co_await client.request("INVENTED", "/calls", {}, {}, key);
    EXPECT_EQ(w1.status, 405);
    auto w2 = co_await client.request("INVENTED", "/calls");
    EXPECT_EQ(w2.status, 401);
    auto w3 = co_await client.request("INVENTED", "/nothing", {}, {}, key);
    EXPECT_EQ(w3.status, 404);
    // The start-up ARI requests (reconcile, the media support probe) add their
    // operation series once: let them land before counting.
    co_await test::until([&] { return svc.calls().ari_connected(); });
    co_await sleep_for(std::chrono::milliseconds(300));
    const size_t before = series_count(svc.metrics_text());
    const size_t bytes_before = svc.metrics_text().size();
    for (int i = 0; i < 1000; ++i) {
      const std::string method = "M" + std::string(100, 'X') + std::to_string(i);
      net::ClientResponse r;
      if (i % 2) {
        r = co_await client.request(method, "/calls");
      } else {
        r = co_await client.request(method, "/calls", std::string{}, std::string_view{}, key);
      }
      EXPECT_TRUE(r.status == 401 || r.status == 405) << r.status;
    }
    const std::string after = svc.metrics_text();
    // Only the process figures change; no series is added.
    EXPECT_EQ(series_count(after), before);
    EXPECT_EQ(after.find("XXXX"), std::string::npos);
    std::printf(
        "[ figures ] /metrics after 1,000 invented methods: %zu series (%zu before), "
        "%zu bytes (%zu before)\n",
        series_count(after), before, after.size(), bytes_before);
    co_await svc.shutdown();
  });
}
