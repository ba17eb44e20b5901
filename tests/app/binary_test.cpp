// The real `asterisk-api` binary, started as a user would: it prints where it
// listens, serves the API against its embedded simulator, and stops cleanly on
// SIGTERM (in-flight clients told, exit status 0); it holds the README's
// simulated voice conversation with its embedded engines. Also the operator
// options.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "net/http_client.hpp"
#include "net/ws_client.hpp"
#include "support/child_process.hpp"
#include "support/regex.hpp"
#include "support/run_io.hpp"

using namespace aa;
using aa::test::base_env;
using aa::test::Child;

TEST(Binary, ServesCallsThenStopsCleanlyOnSigterm) {
  Child svc({AA_SERVICE_BINARY}, base_env());
  const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
  auto m = svc.wait_for(listening, std::chrono::seconds(20));
  ASSERT_FALSE(m.empty()) << svc.output;
  const std::string port = m[1];
  EXPECT_NE(svc.output.find("SIMULATED ASTERISK"), std::string::npos);
  const std::string base = "http://127.0.0.1:" + port;

  asio::io_context io;
  bool ws_closed = false;
  std::shared_ptr<net::WsConnection> ws;
  test::run_coro(io, [&]() -> awaitable<void> {
    const std::vector<net::Header> key = {{"X-API-Key", "bin-key"}};
    const net::ClientOptions o;
    const std::string json_ct = "application/json";
    const std::string health = base + "/health";
    // The events socket may take a moment after "listening".
    bool ok = false;
    for (int i = 0; i < 200 && !ok; ++i) {
      auto h = co_await net::http_fetch("GET", health, std::string{}, json_ct, key, o);
      auto doc = json::parse(h.body);
      ok = h.status == 200 && doc && json::get_string(*doc, "status") == "ok";
      if (!ok) co_await sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(ok);
    const std::string calls = base + "/calls";
    auto made =
        co_await net::http_fetch("POST", calls, R"({"endpoint":"PJSIP/1001"})", json_ct, key, o);
    EXPECT_EQ(made.status, 201) << made.body;
    auto bad = co_await net::http_fetch("POST", calls, R"({"endpoint":)", json_ct, key, o);
    EXPECT_EQ(bad.status, 400) << bad.body;

    const Url url = *parse_url(base);
    std::string target = "/events?api_key=bin-key";
    auto c = co_await net::ws_connect(url, std::move(target));
    EXPECT_TRUE(c.connection);
    ws = c.connection;
    if (ws) ws->on_close = [&] { ws_closed = true; };
  });
  ASSERT_TRUE(ws);

  ASSERT_EQ(kill(svc.pid(), SIGTERM), 0);
  // The /events client is closed by the server while it shuts down.
  test::run_coro(io, [&]() -> awaitable<void> {
    const bool closed = co_await test::wait_until([&] { return ws_closed; });
    EXPECT_TRUE(closed);
  });
  EXPECT_EQ(svc.wait_exit(std::chrono::seconds(10)), 0) << svc.output;
  EXPECT_NE(svc.output.find("shutdown complete"), std::string::npos) << svc.output;
}

TEST(Binary, OperatorOptions) {
  {
    Child v({AA_SERVICE_BINARY, "--version"}, base_env());
    EXPECT_EQ(v.wait_exit(std::chrono::seconds(10)), 0);
    EXPECT_TRUE(std::regex_search(v.output, std::regex(R"(^asterisk-api \d+\.\d+\.\d+ \()")))
        << v.output;
  }
  {
    Child h({AA_SERVICE_BINARY, "--help"}, base_env());
    EXPECT_EQ(h.wait_exit(std::chrono::seconds(10)), 0);
    for (const char* var : {"ARI_URL", "API_KEY", "WEBHOOK_URL", "LOG_FORMAT"})
      EXPECT_NE(h.output.find(var), std::string::npos) << var;
  }
  {
    auto env = base_env();
    env.push_back("ARI_URL=localhost:8088");  // no scheme
    Child c({AA_SERVICE_BINARY, "--check-config"}, env);
    EXPECT_EQ(c.wait_exit(std::chrono::seconds(10)), 2);
    EXPECT_NE(c.output.find("ARI_URL:"), std::string::npos) << c.output;
  }
  {
    Child c({AA_SERVICE_BINARY, "--check-config"}, base_env());
    EXPECT_EQ(c.wait_exit(std::chrono::seconds(10)), 0) << c.output;
  }
  {
    Child u({AA_SERVICE_BINARY, "--frobnicate"}, base_env());
    EXPECT_EQ(u.wait_exit(std::chrono::seconds(10)), 2);
  }
}

// The README's walkthrough, through the binary as a newcomer runs it: a caller
// rings in, capture starts by itself, what the caller says comes back as one
// final transcription, the agent's answer is heard for as long as the 200
// says, and a hang-up leaves nothing behind at "Asterisk".
TEST(Binary, HoldsTheReadmeVoiceConversationWithItsEmbeddedEngines) {
  const auto grammar =
      std::filesystem::temp_directory_path() / ("aa-bin-" + std::to_string(getpid()) + ".jsgf");
  std::ofstream(grammar) << "#JSGF V1.0;\ngrammar agent;\npublic <s> = what time do you open "
                            "tomorrow | please call me back later | yes please;\n";
  auto env = base_env();
  for (auto& e : env)
    if (e.starts_with("SIM_TIME_SCALE=")) e = "SIM_TIME_SCALE=1";  // audio at Asterisk's pace
  env.push_back("ASR_GRAMMAR=" + grammar.string());
  Child svc({AA_SERVICE_BINARY}, env);
  auto api = svc.wait_for(std::regex(R"(listening on http://127\.0\.0\.1:(\d+))"),
                          std::chrono::seconds(30));
  ASSERT_FALSE(api.empty()) << svc.output;
  const std::string base = "http://127.0.0.1:" + std::string(api[1]);
  auto simm = svc.wait_for(std::regex(R"(ari-sim listening on 127\.0\.0\.1:(\d+))"),
                           std::chrono::seconds(5));
  ASSERT_FALSE(simm.empty()) << svc.output;
  const std::string sim = "http://127.0.0.1:" + std::string(simm[1]);

  asio::io_context io;
  std::vector<std::string> events;
  test::run_coro(
      io,
      [&]() -> awaitable<void> {
        const std::vector<net::Header> key = {{"X-API-Key", "bin-key"}};
        const std::vector<net::Header> none;
        const std::vector<net::Header> ari = {
            {"Authorization", "Basic " + base64_encode("asterisk_ari:asterisk_ari_pass")}};
        net::ClientOptions o;
        o.request_timeout = std::chrono::seconds(30);
        const std::string json_ct = "application/json";
        auto call = [&](std::string method, std::string url, std::string body,
                        const std::vector<net::Header>& h) -> awaitable<net::ClientResponse> {
          auto r = co_await net::http_fetch(method, url, std::move(body), json_ct, h, o);
          co_return r;
        };
        auto of = [&](std::string_view type) {
          std::vector<json::Document> out;
          for (const auto& m : events)
            if (auto d = json::parse(m); d && json::get_string(*d, "type") == type)
              out.push_back(std::move(*d));
          return out;
        };
        // Ready: health ok (the ARI events socket is up).
        bool ok = false;
        for (int i = 0; i < 500 && !ok; ++i) {
          auto h = co_await call("GET", base + "/health", {}, key);
          auto doc = json::parse(h.body);
          ok = h.status == 200 && doc && json::get_string(*doc, "status") == "ok";
          if (!ok) co_await sleep_for(std::chrono::milliseconds(20));
        }
        CO_ASSERT_TRUE(ok);
        const Url url = *parse_url(base);
        std::string target = "/events?api_key=bin-key";
        auto c = co_await net::ws_connect(url, std::move(target));
        CO_ASSERT_TRUE(c.connection != nullptr);
        auto ws = c.connection;
        ws->on_message = [&](std::string_view m) { events.emplace_back(m); };

        // A caller rings in.
        auto in =
            co_await call("POST", sim + "/_sim/inbound", R"({"from":"5551234","to":"1001"})", none);
        CO_ASSERT_TRUE(in.status == 201);
        auto ind = json::parse(in.body);
        CO_ASSERT_TRUE(ind.has_value());
        const std::string channel(json::get_string(*ind, "channelId"));
        std::string call_id;
        const bool ready = co_await test::wait_until(
            [&] {
              for (const auto& e : of("call.ready"))
                if (json::get_string(e, "channelId") == channel)
                  call_id = json::get_string(e, "callId");
              return !call_id.empty() && !of("call.audio_capture_started").empty();
            },
            std::chrono::seconds(20));
        CO_ASSERT_TRUE(ready);

        // The caller speaks: partials, then one final with the words.
        auto say = co_await call("POST", sim + "/_sim/channels/" + channel + "/say",
                                 R"({"text":"what time do you open tomorrow"})", none);
        EXPECT_EQ(say.status, 200) << say.body;
        const bool heard_final = co_await test::wait_until(
            [&] {
              for (const auto& e : of("call.transcription"))
                if (json::get_bool(e, "is_final")) return true;
              return false;
            },
            std::chrono::seconds(30));
        EXPECT_TRUE(heard_final);
        co_await sleep_for(std::chrono::milliseconds(300));  // a second final would come now
        std::vector<std::string> finals;
        for (const auto& e : of("call.transcription"))
          if (json::get_bool(e, "is_final")) finals.emplace_back(json::get_string(e, "text"));
        EXPECT_EQ(finals, std::vector<std::string>{"what time do you open tomorrow"});

        // The agent answers; the 200 comes once the caller heard it.
        co_await call("DELETE", sim + "/_sim/channels/" + channel + "/heard", {}, none);
        auto spoke = co_await call("POST", base + "/calls/" + call_id + "/speak",
                                   R"({"text":"Please call me back later."})", key);
        EXPECT_EQ(spoke.status, 200) << spoke.body;
        auto sd = json::parse(spoke.body);
        CO_ASSERT_TRUE(sd.has_value());
        const double duration = json::get_double(*sd, "durationSeconds");
        EXPECT_GT(duration, 0.5);
        auto heard = co_await call("GET", sim + "/_sim/channels/" + channel + "/heard", {}, none);
        auto hd = json::parse(heard.body);
        CO_ASSERT_TRUE(hd.has_value());
        const json::Value* sound = json::find(*hd, "sound");
        CO_ASSERT_TRUE(sound && sound->IsArray() && sound->Size() > 0);
        const double span_s =
            static_cast<double>(json::get_int((*sound)[sound->Size() - 1], "endMs") -
                                json::get_int((*sound)[0], "startMs")) /
            1000.0;
        EXPECT_NEAR(span_s, duration, 0.1 * duration) << heard.body;
        // The event goes out with the 200, on another socket: it may land just after.
        const bool finished = co_await test::wait_until(
            [&] { return !of("call.speak_finished").empty(); }, std::chrono::seconds(5));
        EXPECT_TRUE(finished);
        EXPECT_EQ(of("call.speak_finished").size(), 1u);

        // Hang up: no channel or bridge is left at "Asterisk".
        auto bye = co_await call("DELETE", base + "/calls/" + call_id, {}, key);
        EXPECT_TRUE(bye.status == 200 || bye.status == 204) << bye.status << " " << bye.body;
        const bool ended = co_await test::wait_until([&] { return !of("call.ended").empty(); },
                                                     std::chrono::seconds(10));
        EXPECT_TRUE(ended);
        bool clean = false;
        for (int i = 0; i < 100 && !clean; ++i) {
          auto chans = co_await call("GET", sim + "/ari/channels", {}, ari);
          auto bridges = co_await call("GET", sim + "/ari/bridges", {}, ari);
          clean = chans.body == "[]" && bridges.body == "[]";
          if (!clean) co_await sleep_for(std::chrono::milliseconds(50));
        }
        EXPECT_TRUE(clean);
        ws->close(1000);
      },
      std::chrono::seconds(120));
  ASSERT_EQ(kill(svc.pid(), SIGTERM), 0);
  EXPECT_EQ(svc.wait_exit(std::chrono::seconds(20)), 0) << svc.output;
  std::filesystem::remove(grammar);
}
