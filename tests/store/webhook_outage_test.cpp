// The webhook outbox end to end: a receiver that answers 500 for 2 minutes
// (20 s under the sanitizers, whose run is slower) and then recovers gets
// every delivery, in order per call; meanwhile the pending deliveries are
// listed with their attempts and the calls go on unslowed. Also the delivery
// routes' error paths.
#include <gtest/gtest.h>

#include <map>

#include "net/http_server.hpp"
#include "sinks/webhook_sender.hpp"
#include "support/voice_rig.hpp"

using namespace aa;
using namespace aa::test::voice_rig;

namespace {

#if defined(__SANITIZE_ADDRESS__)
constexpr auto kOutage = std::chrono::seconds(20);
#else
constexpr auto kOutage = std::chrono::seconds(120);
#endif

/// A service with a store whose webhooks go to the receiver on `port`.
app::Config outbox_config(const TempDir& dir, uint16_t port) {
  app::Config c = voice_config(dir);
  c.data_dir = (dir.path / "data").string();
  c.asr_auto_start = "off";
  c.webhook_url = "http://127.0.0.1:" + std::to_string(port) + "/hook";
  return c;
}

std::unique_ptr<net::HttpServer> local_receiver(asio::io_context& io) {
  net::ServerOptions ro;
  ro.host = "127.0.0.1";
  return std::make_unique<net::HttpServer>(io, ro);
}

struct Hit {
  uint64_t id;
  std::string call_id;
  int status;
};

}  // namespace

TEST(WebhookOutbox, AReceiverDownTwoMinutesGetsEveryDeliveryInPerCallOrder) {
  TempDir dir;
  asio::io_context io;
  auto receiver = local_receiver(io);
  const auto down_until = std::chrono::steady_clock::now() + kOutage;
  std::vector<Hit> hits;
  receiver->on_request([&](net::Request& req) -> awaitable<net::Response> {
    auto d = json::parse(req.body);
    const json::Value* data = d ? json::find(*d, "data") : nullptr;
    const int status = std::chrono::steady_clock::now() < down_until ? 500 : 200;
    hits.push_back({std::stoull(std::string(req.header("x-event-id"))),
                    data ? std::string(json::get_string(*data, "id")) : "", status});
    co_return net::Response::json(status, "{}");
  });
  app::Config c = outbox_config(dir, receiver->start());
  c.webhook_retry_base = std::chrono::milliseconds(200);
  c.webhook_retry_max = std::chrono::milliseconds(15'000);
  run_service_on(
      io, c,
      [&](app::Service& svc, Rig& rig) -> awaitable<void> {
        std::vector<std::pair<std::string, std::string>> calls;
        for (int i = 0; i < 3; ++i)
          calls.push_back(co_await rig.inbound("555000" + std::to_string(i)));
        // Digits on all three, interleaved, while the receiver is down; the
        // calls answer as fast as ever.
        for (int round = 0; round < 5; ++round)
          for (const auto& [id, ch] : calls) {
            const auto t0 = std::chrono::steady_clock::now();
            auto r = co_await rig.sim_call("POST", "/_sim/channels/" + ch + "/dtmf",
                                           R"({"digits":")" + std::to_string(round) + R"("})");
            EXPECT_EQ(r.status, 204);
            EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(1));
          }
        co_await sleep_for(std::chrono::seconds(2));
        auto p = co_await rig.call("GET", "/webhooks/deliveries?status=pending&limit=1000", "");
        EXPECT_EQ(p.status, 200);
        auto pd = json::parse(p.body);
        CO_ASSERT_TRUE(pd.has_value());
        const auto* list = json::find(*pd, "deliveries");
        CO_ASSERT_TRUE(list && list->IsArray());
        EXPECT_GE(list->Size(), 3u * 5u);
        bool retried = false;
        for (const auto& d : list->GetArray()) retried |= json::get_int(d, "attempts") >= 1;
        EXPECT_TRUE(retried);
        // Wait out the outage, then for the outbox to empty.
        const bool drained = co_await test::until(
            [&] {
              return std::chrono::steady_clock::now() > down_until &&
                     svc.webhooks().stats().queued == 0;
            },
            static_cast<int>(
                std::chrono::duration_cast<std::chrono::milliseconds>(kOutage).count()) +
                60'000);
        EXPECT_TRUE(drained);
        const auto st = svc.webhooks().stats();
        EXPECT_EQ(st.failed, 0u);
        EXPECT_GT(st.retries, 0u);
        // Per call: the accepted deliveries in seq order, each once; every pending one accepted.
        std::map<std::string, std::vector<uint64_t>> accepted;
        for (const auto& h : hits)
          if (h.status == 200) accepted[h.call_id].push_back(h.id);
        for (const auto& [id, ch] : calls) {
          const auto& v = accepted[id];
          EXPECT_GE(v.size(), 5u) << id;
          EXPECT_TRUE(std::is_sorted(v.begin(), v.end())) << id;
          EXPECT_EQ(std::adjacent_find(v.begin(), v.end()), v.end()) << id;
        }
        size_t failed_attempts = 0;
        for (const auto& h : hits) failed_attempts += h.status != 200;
        std::printf("[ outbox ] %zu s outage: %zu failed attempts, %llu delivered, 0 lost\n",
                    static_cast<size_t>(kOutage.count()), failed_attempts,
                    static_cast<unsigned long long>(st.delivered));
        // The delivery routes' error paths.
        for (std::string bad : {"status=done", "limit=0", "after=x"}) {
          auto r = co_await rig.call("GET", "/webhooks/deliveries?" + bad, "");
          EXPECT_EQ(r.status, 400) << bad;
        }
        auto none = co_await rig.post("/webhooks/deliveries/999999999/retry", "");
        EXPECT_EQ(none.status, 404);
        EXPECT_NE(none.body.find("DELIVERY_NOT_FOUND"), std::string::npos);
        auto junk = co_await rig.post("/webhooks/deliveries/abc/retry", "");
        EXPECT_EQ(junk.status, 404);
      },
      kOutage + std::chrono::seconds(120));
}

TEST(WebhookOutbox, AFailedDeliveryIsListedAndRetriedByHand) {
  TempDir dir;
  asio::io_context io;
  auto receiver = local_receiver(io);
  int answer = 410;  // the receiver says stop
  std::vector<uint64_t> ok_ids;
  receiver->on_request([&](net::Request& req) -> awaitable<net::Response> {
    if (answer == 200) ok_ids.push_back(std::stoull(std::string(req.header("x-event-id"))));
    co_return net::Response::json(answer, "{}");
  });
  const app::Config c = outbox_config(dir, receiver->start());
  run_service_on(io, c, [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    co_await test::until([&] { return svc.webhooks().stats().failed >= 3; });
    co_await sleep_for(std::chrono::milliseconds(200));
    auto f = co_await rig.call("GET", "/webhooks/deliveries?status=failed", "");
    EXPECT_EQ(f.status, 200);
    auto d = json::parse(f.body);
    CO_ASSERT_TRUE(d.has_value());
    const auto& list = *json::find(*d, "deliveries");
    CO_ASSERT_TRUE(list.IsArray() && list.Size() >= 3u);
    const std::string id(json::get_string(list[0], "id"));
    EXPECT_EQ(json::get_string(list[0], "status"), "failed");
    EXPECT_EQ(json::get_int(list[0], "lastStatus"), 410);
    EXPECT_EQ(json::get_string(list[0], "callId"), call_id);
    answer = 200;
    auto r = co_await rig.post("/webhooks/deliveries/" + id + "/retry", "");
    EXPECT_EQ(r.status, 202) << r.body;
    const bool delivered = co_await test::until([&] { return !ok_ids.empty(); });
    EXPECT_TRUE(delivered);
    if (!ok_ids.empty()) {
      EXPECT_EQ(std::to_string(ok_ids[0]), id);
    }
  });
}
