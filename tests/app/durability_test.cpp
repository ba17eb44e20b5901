// Nothing lost (issue 12), with the real binary: kill -9 under load — 50 calls,
// events flowing, the webhook receiver down — then a restart on the same
// DATA_DIR. seq continues; every event a client saw before the kill is in the
// log; once the receiver is back it gets every webhook the log owes (count
// emitted = count delivered; a duplicate only ever repeats an X-Event-Id).
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "common/json.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/ws_client.hpp"
#include "support/child_process.hpp"
#include "support/run_io.hpp"

using namespace aa;
using aa::test::Child;

namespace {

constexpr std::string_view kJson = "application/json";

uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

struct Running {
  std::unique_ptr<Child> child;
  std::string base, sim;
};

Running start(const std::vector<std::string>& env) {
  Running r;
  r.child = std::make_unique<Child>(std::vector<std::string>{AA_SERVICE_BINARY}, env);
  auto m = r.child->wait_for(std::regex(R"(listening on http://127\.0\.0\.1:(\d+))"),
                             std::chrono::seconds(30));
  if (m.empty()) return r;
  r.base = "http://127.0.0.1:" + m[1].str();
  auto s = r.child->wait_for(std::regex(R"(Embedded ARI simulator: (http://[0-9.:]+)/ari)"),
                             std::chrono::seconds(5));
  if (!s.empty()) r.sim = s[1].str();
  return r;
}

awaitable<net::ClientResponse> get(std::string url) {
  const std::vector<net::Header> key = {{"X-API-Key", "bin-key"}};
  const net::ClientOptions o;
  auto r = co_await net::http_fetch("GET", url, std::string{}, kJson, key, o);
  co_return r;
}
awaitable<net::ClientResponse> post(std::string url, std::string body) {
  const net::ClientOptions o;
  const std::vector<net::Header> none;
  auto r = co_await net::http_fetch("POST", url, std::move(body), kJson, none, o);
  co_return r;
}

awaitable<bool> wait_healthy(std::string base) {
  for (int i = 0; i < 500; ++i) {
    auto h = co_await get(base + "/health");
    auto d = json::parse(h.body);
    if (h.status == 200 && d && json::get_string(*d, "status") == "ok") co_return true;
    co_await sleep_for(std::chrono::milliseconds(20));
  }
  co_return false;
}

/// Every event in the log: seq → type.
awaitable<std::map<uint64_t, std::string>> read_log(std::string base) {
  std::map<uint64_t, std::string> out;
  uint64_t since = 0;
  for (int page = 0; page < 1000; ++page) {
    auto r = co_await get(base + "/events/log?limit=1000&since=" + std::to_string(since));
    EXPECT_EQ(r.status, 200) << r.body;
    auto d = json::parse(r.body);
    if (!d) break;
    for (const auto& e : (*json::find(*d, "events")).GetArray())
      out[e["seq"].GetUint64()] = std::string(json::get_string(e, "type"));
    since = static_cast<uint64_t>(json::get_int(*d, "nextSince"));
    const auto* more = json::find(*d, "hasMore");
    if (!more || !more->GetBool()) break;
  }
  co_return out;
}

}  // namespace

TEST(Durability, Kill9UnderLoadLosesNoEventAndNoWebhook) {
  const auto data =
      std::filesystem::temp_directory_path() / ("aa-kill9-" + std::to_string(::getpid()));
  std::filesystem::remove_all(data);
  const uint16_t hook_port = free_port();  // nobody listens there yet: the receiver is down
  auto env = test::base_env();
  std::erase_if(env, [](const std::string& v) { return v.rfind("DATA_DIR=", 0) == 0; });
  env.push_back("DATA_DIR=" + data.string());  // the same for both runs
  env.push_back("WEBHOOK_URL=http://127.0.0.1:" + std::to_string(hook_port) + "/hook");
  env.push_back("WEBHOOK_RETRY_BASE_MS=100");
  env.push_back("WEBHOOK_RETRY_MAX_MS=400");
  env.push_back("WEBHOOK_TIMEOUT_MS=1000");
  env.push_back("ASR_AUTO_START=off");

  asio::io_context io;
  std::vector<uint64_t> seen;  // seqs an /events client got before the kill
  {
    Running svc = start(env);
    ASSERT_FALSE(svc.base.empty()) << svc.child->output;
    ASSERT_FALSE(svc.sim.empty()) << svc.child->output;
    test::run_coro(
        io,
        [&]() -> awaitable<void> {
          const bool up = co_await wait_healthy(svc.base);
          CO_ASSERT_TRUE(up);
          const Url url = *parse_url(svc.base);
          std::string target = "/events?api_key=bin-key";
          auto c = co_await net::ws_connect(url, std::move(target));
          CO_ASSERT_TRUE(c.connection != nullptr);
          c.connection->on_message = [&](std::string_view m) {
            auto d = json::parse(m);
            if (d && json::find(*d, "seq")) seen.push_back((*json::find(*d, "seq")).GetUint64());
          };
          // 50 calls, then digits on all of them until the kill.
          std::vector<std::string> channels;
          for (int i = 0; i < 50; ++i) {
            auto r =
                co_await post(svc.sim + "/_sim/inbound",
                              R"({"from":"55500)" + std::to_string(10 + i) + R"(","to":"1001"})");
            EXPECT_EQ(r.status, 201) << r.body;
            if (auto d = json::parse(r.body))
              channels.emplace_back(json::get_string(*d, "channelId"));
          }
          co_await test::wait_until([&] { return seen.size() >= 150; }, std::chrono::seconds(20));
          for (int round = 0; round < 6; ++round)
            for (const auto& ch : channels)
              co_await post(svc.sim + "/_sim/channels/" + ch + "/dtmf", R"({"digits":"1"})");
          const bool flowing = co_await test::wait_until([&] { return seen.size() > 300; },
                                                         std::chrono::seconds(20));
          EXPECT_TRUE(flowing) << seen.size() << " events seen";
          // Mid-flow: more digits are on their way as the process dies.
          for (const auto& ch : channels)
            co_await post(svc.sim + "/_sim/channels/" + ch + "/dtmf", R"({"digits":"2"})");
          ::kill(svc.child->pid(), SIGKILL);
          co_await sleep_for(std::chrono::milliseconds(100));
        },
        std::chrono::seconds(90));
    EXPECT_EQ(svc.child->wait_exit(std::chrono::seconds(10)), 128 + SIGKILL);
  }
  ASSERT_FALSE(seen.empty());
  const uint64_t seen_max = *std::max_element(seen.begin(), seen.end());

  // The receiver is back, and so is the service, on the same data.
  struct Hit {
    std::string id, body;
  };
  std::vector<Hit> hits;
  net::HttpServer receiver(io, [&] {
    net::ServerOptions o;
    o.host = "127.0.0.1";
    o.port = hook_port;
    return o;
  }());
  receiver.on_request([&](net::Request& req) -> awaitable<net::Response> {
    hits.push_back({std::string(req.header("x-event-id")), req.body});
    co_return net::Response::json(200, "{}");
  });
  receiver.start();
  Running again = start(env);
  ASSERT_FALSE(again.base.empty()) << again.child->output;
  test::run_coro(
      io,
      [&]() -> awaitable<void> {
        const bool up = co_await wait_healthy(again.base);
        CO_ASSERT_TRUE(up);
        auto log = co_await read_log(again.base);
        CO_ASSERT_TRUE(!log.empty());
        // Every event a client saw is in the log.
        size_t missing = 0;
        for (uint64_t s : seen) missing += log.count(s) == 0;
        EXPECT_EQ(missing, 0u);
        // seq continues after what the log holds.
        const uint64_t log_max = log.rbegin()->first;
        EXPECT_GE(log_max, seen_max);
        auto r = co_await post(again.sim + "/_sim/inbound", R"({"from":"5550999","to":"1001"})");
        EXPECT_EQ(r.status, 201);
        co_await test::wait_until([&] { return !hits.empty(); }, std::chrono::seconds(10));
        // Every webhook the log owes arrives: the /events-only kinds excepted.
        std::map<uint64_t, std::string> after;
        std::set<std::string> owed;
        auto owed_now = [&]() -> awaitable<void> {
          after = co_await read_log(again.base);
          owed.clear();
          for (const auto& [seq, type] : after)
            if (type.rfind("call.", 0) == 0 && type != "call.inbound" && type != "call.answered")
              owed.insert(std::to_string(seq));
        };
        auto all_in = [&] {
          std::set<std::string> got;
          for (const auto& h : hits) got.insert(h.id);
          return std::includes(got.begin(), got.end(), owed.begin(), owed.end());
        };
        co_await owed_now();
        EXPECT_GT(after.rbegin()->first, log_max);
        const bool all = co_await test::wait_until(all_in, std::chrono::seconds(60));
        EXPECT_TRUE(all);
        // The new call has settled by now: what the log owes at last.
        co_await sleep_for(std::chrono::milliseconds(500));
        co_await owed_now();
        const bool all_final = co_await test::wait_until(all_in, std::chrono::seconds(10));
        EXPECT_TRUE(all_final);
        std::map<std::string, std::string> body_of;
        size_t duplicates = 0;
        for (const auto& h : hits) {
          auto [it, fresh] = body_of.emplace(h.id, h.body);
          if (!fresh) {
            ++duplicates;
            EXPECT_EQ(it->second, h.body) << "a duplicate with another body, id " << h.id;
          }
        }
        std::set<std::string> got;
        for (const auto& [id, body] : body_of) got.insert(id);
        EXPECT_EQ(got, owed);  // count emitted = count delivered, none extra
        std::printf(
            "[ kill -9 ] %zu events seen before the kill (max seq %llu), %zu in the log, "
            "%zu webhooks owed, %zu delivered, %zu duplicates\n",
            seen.size(), static_cast<unsigned long long>(seen_max), after.size(), owed.size(),
            got.size(), duplicates);
      },
      std::chrono::seconds(120));
  ::kill(again.child->pid(), SIGTERM);
  EXPECT_EQ(again.child->wait_exit(std::chrono::seconds(15)), 0);
  std::filesystem::remove_all(data);
}
