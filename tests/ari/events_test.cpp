// EventStream against a fake ARI events socket: handshake target and auth,
// ordered delivery, unknown events passed through, reconnect timing after
// drops and refusals, stop() semantics and the close handshake (1001).
#include "ari/events.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "ari/test_support.hpp"
#include "common/json.hpp"
#include "common/util.hpp"
#include "net/ws_frames.hpp"

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
    o.probe_interval = 20ms;
    o.backoff_initial = 20ms;
    o.backoff_max = 160ms;
    o.min_stable = 0ms;
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

  // 2. Asterisk goes away: connections are refused for a while. The socket's
  // loss is retried at once, then refused connects are probed every
  // probe_interval ±25 %, without growing.
  retries.clear();
  ari.close();
  ASSERT_TRUE(run_until(io, [&] { return s->failed_attempts() >= 6; }));
  EXPECT_FALSE(s->connected());
  EXPECT_EQ(transitions.back(), false);
  ASSERT_GE(retries.size(), 6u);
  EXPECT_EQ(retries[0].second, "connection lost");
  EXPECT_EQ(retries[0].first, 0ms);
  for (size_t i = 1; i < retries.size(); ++i) {
    EXPECT_GE(retries[i].first, 15ms) << i;
    EXPECT_LE(retries[i].first, 25ms) << i;
  }

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
  EXPECT_EQ(retries[0].first, 0ms);  // a loss is retried at once
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
  o.probe_interval = 2000ms;
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

// Asterisk logs "Web socket closed abruptly" for a socket dropped without a
// close frame: stop() sends 1001 and waits for Asterisk's close.
TEST_F(EventStreamTest, StopSendsACloseFrame1001AndWaitsForTheAnswer) {
  auto s = make(options());
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->connected() && ari.last_socket(); }));
  auto sock = ari.last_socket();
  bool done = false;
  const auto t0 = std::chrono::steady_clock::now();
  asio::co_spawn(io, s->shutdown(), [&](std::exception_ptr) { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done; }));
  const auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(sock->peer_close_code(), 1001);
  EXPECT_FALSE(sock->is_open());
  // Our fake answers the close at once: no waiting out the timeout.
  EXPECT_LT(took, 900ms);
  EXPECT_EQ(transitions, std::vector<bool>{true});
}

TEST_F(EventStreamTest, ReconnectClosesWith1001AndConnectsAgainAtOnce) {
  auto s = make(options());
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->connected() && ari.last_socket(); }));
  auto first = ari.last_socket();
  s->reconnect();
  ASSERT_TRUE(run_until(io, [&] { return s->reconnects() == 1 && s->connected(); }));
  EXPECT_EQ(first->peer_close_code(), 1001);
  EXPECT_EQ(ari.ws_requests.size(), 2u);
  ASSERT_FALSE(retries.empty());
  EXPECT_EQ(retries.back().first, 0ms);
  s->stop();
}

namespace {

/// An events "server" that completes the handshake and then only reads: it
/// never answers a close frame (a hung Asterisk). Records the close code.
struct SilentAri {
  explicit SilentAri(asio::io_context& io)
      : acceptor(io, {asio::ip::make_address("127.0.0.1"), 0}) {
    spawn(io, serve(), "silent ari");
  }
  uint16_t port() const { return acceptor.local_endpoint().port(); }
  awaitable<void> serve() {
    boost::system::error_code ec;
    auto sock = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    std::string in;
    co_await asio::async_read_until(sock, asio::dynamic_buffer(in), "\r\n\r\n",
                                    asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    const size_t k = in.find("Sec-WebSocket-Key: ");
    const std::string key = in.substr(k + 19, in.find("\r\n", k) - k - 19);
    const std::string answer =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        net::ws::accept_key(key) + "\r\n\r\n";
    co_await asio::async_write(sock, asio::buffer(answer), asio::redirect_error(use_awaitable, ec));
    in.erase(0, in.find("\r\n\r\n") + 4);
    net::ws::FrameParser parser(1 << 20);
    parser.feed(in);
    connected = true;
    for (;;) {
      net::ws::FrameParser::Message m;
      while (parser.next(m))
        if (m.opcode == net::ws::Opcode::close && m.payload.size() >= 2)
          close_code = static_cast<uint16_t>((static_cast<uint8_t>(m.payload[0]) << 8) |
                                             static_cast<uint8_t>(m.payload[1]));
      char buf[1024];
      const size_t n =
          co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      parser.feed(std::string_view(buf, n));
    }
    dropped_at = std::chrono::steady_clock::now();
  }
  asio::ip::tcp::acceptor acceptor;
  bool connected = false;
  uint16_t close_code = 0;
  std::optional<std::chrono::steady_clock::time_point> dropped_at;
};

}  // namespace

TEST_F(EventStreamTest, ShutdownDropsTheSocketWhenAsteriskNeverAnswersTheClose) {
  SilentAri silent(io);
  auto o = options();
  o.url = *parse_url("http://127.0.0.1:" + std::to_string(silent.port()));
  o.close_timeout = 300ms;
  auto s = make(o);
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->connected() && silent.connected; }));
  bool done = false;
  const auto t0 = std::chrono::steady_clock::now();
  asio::co_spawn(io, s->shutdown(), [&](std::exception_ptr) { done = true; });
  ASSERT_TRUE(run_until(io, [&] { return done && silent.dropped_at; }));
  EXPECT_EQ(silent.close_code, 1001);
  // It waited for the answer (close_timeout), then dropped the connection.
  EXPECT_GE(*silent.dropped_at - t0, 250ms);
  EXPECT_LT(*silent.dropped_at - t0, 3s);
}

// While Asterisk is down (connections refused) the stream probes every
// probe_interval (200 ms ±25 % by default): once it listens again the stream
// is up within about one interval.
TEST_F(EventStreamTest, IsUpSoonAfterAsteriskAcceptsConnectionsAgain) {
  auto o = options();
  o.probe_interval = EventStreamOptions{}.probe_interval;
  auto s = make(o);
  s->start();
  ASSERT_TRUE(run_until(io, [&] { return s->connected(); }));
  std::vector<double> took_ms;
  for (int round = 0; round < 4; ++round) {
    ari.close();
    ASSERT_TRUE(run_until(io, [&] { return !s->connected() && s->failed_attempts() >= 2; }));
    run_for(io, std::chrono::milliseconds(100 + 37 * round));  // any phase of the probe cycle
    const auto t0 = std::chrono::steady_clock::now();
    ari.reopen();
    ASSERT_TRUE(run_until(
        io, [&] { return s->connected(); }, 5s));
    took_ms.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    // Generous for a loaded machine; by design it is at most 250 ms + a handshake.
    EXPECT_LT(took_ms.back(), 1500) << round;
  }
  for (const auto& [delay, why] : retries) {
    if (why == "connection lost") continue;
    EXPECT_GE(delay, 150ms) << why;
    EXPECT_LE(delay, 250ms) << why;
  }
  std::printf("[ figures ] events socket up after accepting again (ms):");
  for (double t : took_ms) std::printf(" %.0f", t);
  std::printf("\n");
  s->stop();
}

// Asterisk answers but refuses (503 while it boots): at most ~4 attempts a
// second; bad credentials (401) back off further, up to backoff_max.
TEST_F(EventStreamTest, AnsweringButRefusingIsRetriedAtMostFourTimesASecond) {
  ari.refuse_ws = std::make_pair(503, std::string(R"({"message":"Asterisk not booted"})"));
  auto o = options();
  o.backoff_initial = EventStreamOptions{}.backoff_initial;
  o.backoff_max = 2000ms;
  auto s = make(o);
  s->start();
  run_for(io, 1100ms);
  EXPECT_LE(ari.ws_requests.size(), 6u);
  EXPECT_GE(ari.ws_requests.size(), 3u);
  for (const auto& [delay, why] : retries) {
    EXPECT_GE(delay, 250ms) << why;
    EXPECT_LE(delay, 275ms) << why;
  }
  // Once it answers, the stream is up within one delay.
  ari.refuse_ws.reset();
  ASSERT_TRUE(run_until(
      io, [&] { return s->connected(); }, 2s));
  s->stop();

  retries.clear();
  ari.refuse_ws = std::make_pair(401, std::string(R"({"message":"Authentication required"})"));
  auto a = make(o);
  a->start();
  ASSERT_TRUE(run_until(
      io, [&] { return retries.size() >= 4; }, 10s));
  for (size_t i = 0; i < retries.size(); ++i) EXPECT_GE(retries[i].first, 250ms) << i;
  EXPECT_GT(retries[3].first, retries[0].first);  // growing
  a->stop();
}

}  // namespace
}  // namespace aa::ari
