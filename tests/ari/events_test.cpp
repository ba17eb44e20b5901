// EventStream against a fake ARI events socket: handshake target and auth,
// ordered delivery, unknown events passed through, reconnect with backoff
// after drops and refusals, stop() semantics.
#include "ari/events.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "ari/test_support.hpp"
#include "common/json.hpp"
#include "common/util.hpp"

namespace aa::ari {
namespace {

using namespace std::chrono_literals;
using test::FakeAri;
using test::run_for;
using test::run_until;

std::string event_json(std::string_view type, std::string_view channel_id, int n = 0) {
  return std::string(R"({"type":")") + std::string(type) +
         R"(","timestamp":"2026-11-26T02:36:46.773+0000","n":)" + std::to_string(n) +
         R"(,"channel":{"id":")" + std::string(channel_id) +
         R"(","state":"Up"},"asterisk_id":"02:fc:00:00:00:01","application":"app"})";
}

class EventStreamTest : public ::testing::Test {
 protected:
  EventStreamTest() : ari(io) {}

  EventStreamOptions options() {
    EventStreamOptions o;
    o.url = *parse_url(ari.base_url());
    o.app = "openclaw voice";
    o.username = "asterisk_ari";
    o.password = "pw";
    o.subscribe_all = true;
    o.backoff_initial = 20ms;
    o.backoff_max = 160ms;
    o.connect_timeout = 500ms;
    return o;
  }

  std::unique_ptr<EventStream> make(EventStreamOptions o) {
    auto s = std::make_unique<EventStream>(io.get_executor(), std::move(o));
    s->on_event = [this](const Event& e) { events.push_back(e); };
    s->on_connection = [this](bool up) { transitions.push_back(up); };
    s->on_retry = [this](std::chrono::milliseconds d, const std::string& why) {
      retries.emplace_back(d, why);
    };
    return s;
  }

  asio::io_context io;
  FakeAri ari;
  std::vector<Event> events;
  std::vector<bool> transitions;
  std::vector<std::pair<std::chrono::milliseconds, std::string>> retries;
};

TEST_F(EventStreamTest, ConnectsWithAppAuthAndDeliversInOrder) {
  auto s = make(options());
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->connected() && ari.last_socket(); }));
  ASSERT_EQ(transitions, std::vector<bool>{true});
  EXPECT_EQ(s->reconnects(), 0u);
  const auto& req = ari.ws_requests.at(0);
  EXPECT_EQ(req.path, "/ari/events");
  EXPECT_EQ(req.query, (QueryParams{{"app", "openclaw voice"}, {"subscribeAll", "true"}}));
  EXPECT_EQ(req.header("Authorization"), "Basic " + base64_encode("asterisk_ari:pw"));

  auto sock = ari.last_socket();
  sock->send(event_json("StasisStart", "c1", 1));
  sock->send(event_json("ChannelVarset", "c1", 2));  // not modelled: passed through
  sock->send("not json at all");                     // ignored
  sock->send(event_json("ChannelStateChange", "c1", 3));
  for (int i = 0; i < 50; ++i) sock->send(event_json("ChannelDtmfReceived", "c1", 10 + i));
  ASSERT_TRUE(run_until(io, [&] { return events.size() == 53; }));
  EXPECT_EQ(events[0].type, EventType::StasisStart);
  EXPECT_EQ(events[0].channel_id(), "c1");
  EXPECT_EQ(events[1].type, EventType::Other);
  EXPECT_EQ(events[1].type_name, "ChannelVarset");
  EXPECT_EQ(events[1].raw, event_json("ChannelVarset", "c1", 2));
  EXPECT_EQ(events[2].type, EventType::ChannelStateChange);
  for (int i = 0; i < 50; ++i) {
    auto doc = json::parse(events[3 + i].raw);
    ASSERT_TRUE(doc);
    EXPECT_EQ(json::get_int(*doc, "n"), 10 + i);
  }
  s->stop();
  EXPECT_FALSE(s->connected());
  ASSERT_TRUE(run_until(io, [&] { return ari.open_sockets() == 0; }));
  EXPECT_EQ(transitions, std::vector<bool>{true});  // no "false" after stop()
}

TEST_F(EventStreamTest, ReconnectsAfterDropAndAfterRefusals) {
  auto s = make(options());
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->connected(); }));

  // 1. The socket drops (like Asterisk's 1006 on restart): reconnect at once-ish.
  ari.drop_sockets();
  ASSERT_TRUE(run_until(io, [&] { return transitions.size() >= 3; }));
  EXPECT_EQ(transitions, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(s->reconnects(), 1u);
  ASSERT_FALSE(retries.empty());
  EXPECT_EQ(retries[0].second, "connection lost");
  EXPECT_LE(retries[0].first, 20ms);

  // 2. Asterisk goes away: connections are refused for a while.
  retries.clear();
  ari.close();
  ASSERT_TRUE(run_until(io, [&] { return s->failed_attempts() >= 6; }));
  EXPECT_FALSE(s->connected());
  EXPECT_EQ(transitions.back(), false);
  // Capped exponential backoff with full jitter: attempt n waits in [0, min(max, initial*2^n)].
  auto cap = 20ms;
  for (size_t i = 0; i < retries.size(); ++i) {
    EXPECT_LE(retries[i].first, cap) << i;
    cap = std::min<std::chrono::milliseconds>(cap * 2, 160ms);
  }
  EXPECT_GE(retries.size(), 6u);

  // 3. It comes back: connected again, backoff reset.
  ari.reopen();
  ASSERT_TRUE(run_until(
      io, [&] { return s->connected(); }, 3s));
  EXPECT_EQ(s->reconnects(), 2u);
  EXPECT_EQ(transitions.back(), true);
  ASSERT_TRUE(run_until(io, [&] { return ari.last_socket() && ari.last_socket()->is_open(); }));
  ari.last_socket()->send(event_json("StasisEnd", "c9"));
  ASSERT_TRUE(run_until(io, [&] { return !events.empty(); }));
  EXPECT_EQ(events.back().type, EventType::StasisEnd);

  retries.clear();
  ari.drop_sockets();
  ASSERT_TRUE(run_until(io, [&] { return s->reconnects() == 3; }));
  ASSERT_FALSE(retries.empty());
  EXPECT_LE(retries[0].first, 20ms);  // reset after the good connect
  s->stop();
}

TEST_F(EventStreamTest, RefusedHandshakeKeepsRetrying) {
  ari.refuse_ws = std::make_pair(401, std::string(R"({"message":"Authentication required"})"));
  auto s = make(options());
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->failed_attempts() >= 3; }));
  EXPECT_FALSE(s->connected());
  EXPECT_TRUE(transitions.empty());
  ASSERT_FALSE(retries.empty());
  EXPECT_NE(retries[0].second.find("401"), std::string::npos) << retries[0].second;
  ari.refuse_ws.reset();
  ASSERT_TRUE(run_until(io, [&] { return s->connected(); }));
  EXPECT_EQ(transitions, std::vector<bool>{true});
  EXPECT_EQ(s->reconnects(), 0u);  // the first successful connect is not a reconnect
  s->stop();
}

TEST_F(EventStreamTest, StopEndsEverythingAndNoCallbacksAfter) {
  auto s = make(options());
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->connected() && ari.last_socket(); }));
  auto sock = ari.last_socket();
  s->stop();
  s->stop();  // idempotent
  sock->send(event_json("StasisStart", "late"));
  run_for(io, 100ms);
  EXPECT_TRUE(events.empty());
  EXPECT_EQ(transitions, std::vector<bool>{true});
  EXPECT_FALSE(sock->is_open());
  // No reconnect attempts after stop.
  size_t attempts = ari.ws_requests.size();
  run_for(io, 100ms);
  EXPECT_EQ(ari.ws_requests.size(), attempts);
  s.reset();  // safe to destroy
  run_for(io, 20ms);
}

TEST_F(EventStreamTest, StopWhileBackingOffAndDestroy) {
  ari.close();
  auto o = options();
  o.backoff_initial = 2000ms;
  o.backoff_max = 5000ms;
  auto s = make(o);
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->failed_attempts() >= 1; }));
  s.reset();  // destroys while the loop sleeps: must wake and end cleanly
  run_for(io, 50ms);
  EXPECT_TRUE(transitions.empty());
}

TEST_F(EventStreamTest, StopFromInsideCallback) {
  auto s = make(options());
  s->on_event = [&](const Event& e) {
    events.push_back(e);
    s->stop();
  };
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->connected() && ari.last_socket(); }));
  ari.last_socket()->send(event_json("StasisStart", "c1"));
  ari.last_socket()->send(event_json("StasisEnd", "c1"));
  run_for(io, 100ms);
  EXPECT_EQ(events.size(), 1u);
  EXPECT_FALSE(s->connected());
}

TEST_F(EventStreamTest, UrlPathPrefixAndSubscribeAllFalse) {
  auto o = options();
  o.url = *parse_url(ari.base_url() + "/ari");
  o.subscribe_all = false;
  o.app = "a&b";
  auto s = make(o);
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->connected(); }));
  EXPECT_EQ(ari.ws_requests.at(0).path, "/ari/events");
  EXPECT_EQ(ari.ws_requests.at(0).query, (QueryParams{{"app", "a&b"}, {"subscribeAll", "false"}}));
  s->stop();
}

TEST_F(EventStreamTest, StopFromAnotherThreadWaitsForCallbacks) {
  auto s = make(options());
  std::atomic<int> in_callback{0};
  std::atomic<bool> after_stop_call{false};
  std::atomic<int> late{0};
  s->on_event = [&](const Event&) {
    if (after_stop_call) ++late;
    ++in_callback;
    std::this_thread::sleep_for(5ms);
  };
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->connected() && ari.last_socket(); }));
  for (int i = 0; i < 200; ++i) ari.last_socket()->send(event_json("ChannelDtmfReceived", "c1", i));
  std::thread io_thread([&] {
    auto end = std::chrono::steady_clock::now() + 1s;
    while (std::chrono::steady_clock::now() < end) io.run_for(5ms);
  });
  while (in_callback < 5) std::this_thread::sleep_for(1ms);
  s->stop();
  after_stop_call = true;
  io_thread.join();
  EXPECT_EQ(late.load(), 0);
  EXPECT_LT(in_callback.load(), 200);
}

}  // namespace
}  // namespace aa::ari
