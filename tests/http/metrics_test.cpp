// GET /metrics through the production wiring (app::Service): a scrape after a
// known sequence of calls and requests shows the right counts.
#include <gtest/gtest.h>

#include <map>
#include <sstream>

#include "app/service.hpp"
#include "calls/call_manager.hpp"
#include "common/json.hpp"
#include "http/wait.hpp"
#include "net/http_client.hpp"
#include "sim/simulator.hpp"
#include "support/regex.hpp"
#include "support/run_io.hpp"

using namespace aa;

namespace {

app::Config metrics_config() {
  app::Config c;
  c.api_host = "127.0.0.1";
  c.api_port = 0;
  c.sim_port = 0;
  c.sim_time_scale = 0.02;
  c.api_key = "m-key";
  c.log_level = "warn";
  return c;
}

/// The scrape as {series (name + labels) → value}; every line must be a
/// comment or `series value` (the exposition format's grammar, simplified).
std::map<std::string, double> parse_exposition(const std::string& text, std::string* error) {
  static const std::regex sample(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*\})?) (\S+)$)");
  std::map<std::string, double> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) continue;
    std::smatch m;
    if (!std::regex_match(line, m, sample)) {
      *error = "bad line: " + line;
      return out;
    }
    const std::string v = m[5];
    out[m[1]] = v == "+Inf" ? INFINITY : std::stod(v);
  }
  return out;
}

double value_of(const std::map<std::string, double>& s, const std::string& series) {
  auto it = s.find(series);
  return it == s.end() ? -1 : it->second;
}

}  // namespace

TEST(Metrics, ScrapeAfterAKnownSequenceOfCalls) {
  asio::io_context io;
  app::Service svc(io, metrics_config());
  const uint16_t port = svc.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::string sim = svc.simulator_url();
  test::run_coro(io, [&]() -> awaitable<void> {
    auto& calls = svc.calls();
    const bool up = co_await test::until([&] { return calls.ari_connected(); });
    EXPECT_TRUE(up);
    const std::vector<net::Header> key = {{"X-API-Key", "m-key"}};
    const net::ClientOptions o;
    const std::string json_ct = "application/json";

    // /metrics is behind the key.
    const std::string metrics_url = base + "/metrics";
    auto refused = co_await net::http_fetch("GET", metrics_url);
    EXPECT_EQ(refused.status, 401);

    // A busy endpoint in the simulator.
    const std::string busy_ep = sim + "/_sim/endpoints/PJSIP/2001";
    auto made = co_await net::http_fetch("PUT", busy_ep, R"({"behavior":"busy"})", json_ct);
    EXPECT_EQ(made.status / 100, 2) << made.body;

    // 1) outbound, answered, hung up by us.
    const std::string calls_url = base + "/calls";
    auto a = co_await net::http_fetch("POST", calls_url, R"({"endpoint":"PJSIP/1001"})", json_ct,
                                      key, o);
    EXPECT_EQ(a.status, 201) << a.body;
    auto a_doc = json::parse(a.body);
    std::string a_id;
    if (a_doc) a_id = json::get_string(*a_doc, "callId");
    const bool answered = co_await test::until([&] {
      auto c = calls.get_call(a_id);
      return c && c->answered_at_ms > 0;
    });
    EXPECT_TRUE(answered);
    const std::string a_url = base + "/calls/" + a_id;
    auto hung = co_await net::http_fetch("DELETE", a_url, std::string{}, json_ct, key, o);
    EXPECT_EQ(hung.status, 200) << hung.body;

    // 2) outbound to the busy endpoint: unanswered, busy.
    auto b = co_await net::http_fetch("POST", calls_url, R"({"endpoint":"PJSIP/2001"})", json_ct,
                                      key, o);
    EXPECT_EQ(b.status, 201) << b.body;

    // 3) inbound (auto-answered), then the far end hangs up.
    const std::string inbound_url = sim + "/_sim/inbound";
    auto in =
        co_await net::http_fetch("POST", inbound_url, R"({"from":"5551234","to":"1001"})", json_ct);
    EXPECT_EQ(in.status, 201) << in.body;
    auto in_doc = json::parse(in.body);
    std::string channel;
    if (in_doc) channel = json::get_string(*in_doc, "channelId");
    const bool inbound_answered = co_await test::until([&] {
      for (const auto& c : calls.active_calls())
        if (c.direction == calls::Direction::inbound && c.answered_at_ms > 0) return true;
      return false;
    });
    EXPECT_TRUE(inbound_answered);
    const std::string far_hangup = sim + "/_sim/channels/" + channel + "/hangup";
    auto fh = co_await net::http_fetch("POST", far_hangup, R"({"cause":16})", json_ct);
    EXPECT_EQ(fh.status / 100, 2) << fh.body;

    const bool all_ended = co_await test::until([&] { return calls.active_count() == 0; });
    EXPECT_TRUE(all_ended);

    // A 404 on a templated route, a 401 on another, an unmatched path.
    const std::string missing = base + "/calls/no-such-call";
    auto nf = co_await net::http_fetch("GET", missing, std::string{}, json_ct, key, o);
    EXPECT_EQ(nf.status, 404);
    const std::string health = base + "/health";
    auto h401 = co_await net::http_fetch("GET", health);
    EXPECT_EQ(h401.status, 401);
    const std::string nowhere = base + "/nowhere/at/all";
    auto unmatched = co_await net::http_fetch("GET", nowhere, std::string{}, json_ct, key, o);
    EXPECT_EQ(unmatched.status, 404);

    auto scrape = co_await net::http_fetch("GET", metrics_url, std::string{}, json_ct, key, o);
    EXPECT_EQ(scrape.status, 200);
    const std::string ct = std::string(scrape.header("content-type"));
    EXPECT_EQ(ct.rfind("text/plain; version=0.0.4", 0), 0u) << ct;
    std::string error;
    const auto s = parse_exposition(scrape.body, &error);
    EXPECT_EQ(error, "");

    EXPECT_EQ(value_of(s, "asterisk_api_ari_connected"), 1);
    EXPECT_EQ(value_of(s, "asterisk_api_active_calls"), 0);
    EXPECT_EQ(value_of(s, "asterisk_api_calls_started_total{direction=\"outbound\"}"), 2)
        << scrape.body;
    EXPECT_EQ(value_of(s, "asterisk_api_calls_started_total{direction=\"inbound\"}"), 1);
    EXPECT_EQ(value_of(s,
                       "asterisk_api_calls_ended_total{direction=\"outbound\",outcome="
                       "\"answered\",cause=\"normal\"}"),
              1)
        << scrape.body;
    EXPECT_EQ(value_of(s,
                       "asterisk_api_calls_ended_total{direction=\"outbound\",outcome="
                       "\"unanswered\",cause=\"busy\"}"),
              1);
    EXPECT_EQ(value_of(s,
                       "asterisk_api_calls_ended_total{direction=\"inbound\",outcome="
                       "\"answered\",cause=\"normal\"}"),
              1);
    EXPECT_EQ(value_of(s,
                       "asterisk_api_http_requests_total{method=\"POST\",route=\"/calls\","
                       "status=\"201\"}"),
              2);
    EXPECT_EQ(value_of(s,
                       "asterisk_api_http_requests_total{method=\"DELETE\",route=\"/calls/"
                       ":id\",status=\"200\"}"),
              1);
    EXPECT_EQ(value_of(s,
                       "asterisk_api_http_requests_total{method=\"GET\",route=\"/calls/:id\","
                       "status=\"404\"}"),
              1);
    EXPECT_EQ(value_of(s,
                       "asterisk_api_http_requests_total{method=\"GET\",route=\"/health\","
                       "status=\"401\"}"),
              1);
    EXPECT_EQ(value_of(s,
                       "asterisk_api_http_requests_total{method=\"GET\",route=\"/metrics\","
                       "status=\"401\"}"),
              1);
    EXPECT_EQ(value_of(s,
                       "asterisk_api_http_requests_total{method=\"GET\",route=\"unmatched\","
                       "status=\"404\"}"),
              1);
    EXPECT_EQ(value_of(s,
                       "asterisk_api_http_request_duration_seconds_count{method=\"POST\","
                       "route=\"/calls\"}"),
              2);
    // Two originates and one hangup went to ARI, all answered 2xx.
    EXPECT_EQ(value_of(s,
                       "asterisk_api_ari_requests_total{operation=\"originate\",status="
                       "\"2xx\"}"),
              2)
        << scrape.body;
    EXPECT_EQ(value_of(s,
                       "asterisk_api_ari_request_duration_seconds_count{operation="
                       "\"originate\"}"),
              2);
    EXPECT_EQ(value_of(s,
                       "asterisk_api_ari_request_duration_seconds_bucket{operation="
                       "\"originate\",le=\"+Inf\"}"),
              2);
    EXPECT_EQ(value_of(s, "asterisk_api_events_clients"), 0);
    EXPECT_EQ(value_of(s, "asterisk_api_webhook_enabled"), 0);
    EXPECT_GT(value_of(s, "process_resident_memory_bytes"), 1e6);
    EXPECT_GT(value_of(s, "process_open_fds"), 2);
    EXPECT_GE(value_of(s, "asterisk_api_ari_reconnects_total"), 0);
    co_await svc.shutdown();
  });
}

TEST(Metrics, ARestartedServiceToldToHangsUpUntrackedChannelsAndCountsThem) {
  // "Asterisk" outlives the service: a simulator of our own.
  sim::SimulatorOptions so;
  so.engine.time_scale = 0.02;
  sim::SimThread asterisk(so);
  app::Config c = metrics_config();
  c.ari_url = asterisk.base_url();
  const std::vector<net::Header> key = {{"X-API-Key", "m-key"}};
  const net::ClientOptions o;
  std::string channel;
  {
    asio::io_context io;
    app::Service first(io, c);
    const std::string base = "http://127.0.0.1:" + std::to_string(first.start());
    test::run_coro(io, [&]() -> awaitable<void> {
      auto& calls = first.calls();
      const bool step1 = co_await test::until([&] { return calls.ari_connected(); });
      CO_ASSERT_TRUE(step1);
      const std::string calls_url = base + "/calls";
      auto a = co_await net::http_fetch("POST", calls_url, R"({"endpoint":"PJSIP/1001"})",
                                        "application/json", key, o);
      EXPECT_EQ(a.status, 201) << a.body;
      const bool answered = co_await test::until([&] {
        auto all = calls.active_calls();
        if (all.empty() || all[0].answered_at_ms == 0) return false;
        channel = all[0].channel_id;
        return true;
      });
      EXPECT_TRUE(answered);
      co_await first.shutdown();
    });
  }
  ASSERT_FALSE(channel.empty());
  auto live = [&] {
    bool found = false;
    asterisk.run(
        [&](sim::Simulator& sm) { found = sm.engine().get_channel(channel).status == 200; });
    return found;
  };
  ASSERT_TRUE(live());  // the call outlived the service

  c.untracked_channels = "hangup";
  asio::io_context io;
  app::Service second(io, c);
  const std::string base = "http://127.0.0.1:" + std::to_string(second.start());
  test::run_coro(io, [&]() -> awaitable<void> {
    auto& calls = second.calls();
    const bool hung_up = co_await test::until([&] { return calls.untracked_stats().hung_up == 1; });
    EXPECT_TRUE(hung_up);
    const bool gone = co_await test::until([&] { return !live(); });
    EXPECT_TRUE(gone);
    EXPECT_EQ(calls.active_count(), 0u);
    const std::string metrics_url = base + "/metrics";
    auto scrape = co_await net::http_fetch("GET", metrics_url, std::string{}, "", key, o);
    EXPECT_EQ(scrape.status, 200);
    std::string error;
    const auto s = parse_exposition(scrape.body, &error);
    EXPECT_EQ(error, "");
    EXPECT_EQ(value_of(s, "asterisk_api_untracked_channels_total{action=\"hung_up\"}"), 1)
        << scrape.body;
    EXPECT_EQ(value_of(s, "asterisk_api_untracked_channels_total{action=\"adopted\"}"), 0);
    co_await second.shutdown();
  });
}
