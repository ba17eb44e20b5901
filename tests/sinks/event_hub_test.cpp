// EventHub through real sockets: snapshot first, events in order to every client,
// a slow client is dropped (1008) while a fast one keeps receiving, close_all(1001).
#include "sinks/event_hub.hpp"

#include <gtest/gtest.h>

#include "api/wire.hpp"
#include "common/json.hpp"
#include "http/wait.hpp"
#include "net/http_server.hpp"
#include "net/ws_client.hpp"
#include "sinks/fan_out.hpp"
#include "support/run_io.hpp"

using namespace aa;
using namespace aa::sinks;

namespace {

struct Received {
  std::vector<std::string> messages;
  bool closed = false;
};

calls::DomainEvent make_event(uint64_t seq, calls::EventKind kind, std::string call_id) {
  calls::DomainEvent e;
  e.kind = kind;
  e.seq = seq;
  e.timestamp_ms = now_epoch_ms();
  e.call_id = std::move(call_id);
  auto rec = std::make_shared<calls::CallRecord>();
  rec->id = e.call_id;
  rec->channel_id = "1700000000.1";
  rec->state = calls::CallState::answered;
  rec->direction = calls::Direction::inbound;
  rec->created_at_ms = e.timestamp_ms;
  e.call = rec;
  e.state = calls::CallState::answered;
  return e;
}

struct HubServer {
  asio::io_context io;
  EventHub hub{io.get_executor()};  // batched, as the service runs it
  std::unique_ptr<net::HttpServer> server;
  uint16_t port = 0;

  explicit HubServer(size_t max_queue = 1024) {
    net::ServerOptions o;
    o.ws_max_queue = max_queue;
    server = std::make_unique<net::HttpServer>(io, o);
    server->on_websocket(
        [](const net::Request& r) -> std::optional<net::Response> {
          if (r.path != "/events") return net::Response::json(404, "{}");
          return std::nullopt;
        },
        [this](std::shared_ptr<net::WsConnection> c, const net::Request&) {
          hub.add_client(std::move(c));
        });
    port = server->start();
  }
  Url url() const { return *parse_url("http://127.0.0.1:" + std::to_string(port)); }
};

awaitable<std::shared_ptr<net::WsConnection>> connect(Url url, std::shared_ptr<Received> rx) {
  std::string target = "/events";
  auto r = co_await net::ws_connect(url, std::move(target));
  EXPECT_TRUE(r.connection) << r.error;
  if (!r.connection) co_return nullptr;
  std::weak_ptr<Received> w = rx;
  r.connection->on_message = [w](std::string_view m) {
    if (auto x = w.lock()) x->messages.emplace_back(m);
  };
  r.connection->on_close = [w] {
    if (auto x = w.lock()) x->closed = true;
  };
  co_return r.connection;
}

}  // namespace

TEST(EventHub, SnapshotThenEventsInOrderToEveryClient) {
  HubServer s;
  calls::CallRecord active;
  active.id = "call-1";
  active.state = calls::CallState::answered;
  s.hub.set_snapshot_source([&] { return std::vector<calls::CallRecord>{active}; });
  test::run_coro(s.io, [&]() -> awaitable<void> {
    auto a = std::make_shared<Received>();
    auto b = std::make_shared<Received>();
    const Url url_ca = s.url();
    auto ca = co_await connect(url_ca, a);
    const Url url_cb = s.url();
    auto cb = co_await connect(url_cb, b);
    const bool two = co_await test::until([&] { return s.hub.clients() == 2; });
    EXPECT_TRUE(two);
    std::vector<calls::DomainEvent> sent;
    for (uint64_t i = 1; i <= 50; ++i) {
      sent.push_back(make_event(i, calls::EventKind::call_dtmf, "call-1"));
      sent.back().digit = std::to_string(i % 10);
      s.hub.publish(sent.back());
    }
    const bool all =
        co_await test::until([&] { return a->messages.size() == 51 && b->messages.size() == 51; });
    EXPECT_TRUE(all);
    for (auto* rx : {a.get(), b.get()}) {
      EXPECT_FALSE(rx->messages.empty());
      if (rx->messages.empty()) co_return;
      auto snap = json::parse(rx->messages[0]);
      EXPECT_TRUE(snap);
      if (!(snap)) co_return;
      EXPECT_EQ(json::get_string(*snap, "type"), "snapshot");
      const auto* calls = json::find(*snap, "calls");
      EXPECT_TRUE(calls && calls->IsArray());
      if (!(calls && calls->IsArray())) co_return;
      EXPECT_EQ(calls->Size(), 1u);
      int64_t last = 0;
      for (size_t i = 1; i < rx->messages.size(); ++i) {
        auto ev = json::parse(rx->messages[i]);
        EXPECT_TRUE(ev);
        if (!(ev)) co_return;
        EXPECT_EQ(json::get_string(*ev, "type"), "call.dtmf");
        EXPECT_EQ(json::get_string(*ev, "callId"), "call-1");
        EXPECT_EQ(json::get_string(*ev, "state"), "answered");
        int64_t seq = json::get_int(*ev, "seq");
        EXPECT_EQ(seq, last + 1);
        last = seq;
      }
    }
    // The envelope is the wire module's, byte for byte.
    for (size_t i = 0; i < sent.size() && i + 1 < a->messages.size(); ++i)
      EXPECT_EQ(a->messages[i + 1], api::event_envelope(sent[i]));
    ca->close(1000);
    const bool gone = co_await test::until([&] { return s.hub.clients() == 1; });
    EXPECT_TRUE(gone);
    EXPECT_EQ(s.hub.dropped(), 0u);
    cb->close(1000);
    co_await test::until([&] { return s.hub.clients() == 0; });
  });
}

TEST(EventHub, LateClientGetsCurrentSnapshotAndOnlyLaterEvents) {
  HubServer s;
  std::vector<calls::CallRecord> active;
  s.hub.set_snapshot_source([&] { return active; });
  test::run_coro(s.io, [&]() -> awaitable<void> {
    s.hub.publish(make_event(1, calls::EventKind::call_created, "c1"));  // nobody listening
    calls::CallRecord c;
    c.id = "c1";
    active.push_back(c);
    auto a = std::make_shared<Received>();
    const Url url_ca = s.url();
    auto ca = co_await connect(url_ca, a);
    co_await test::until([&] { return !a->messages.empty(); });
    s.hub.publish(make_event(2, calls::EventKind::call_ended, "c1"));
    const bool got = co_await test::until([&] { return a->messages.size() == 2; });
    EXPECT_TRUE(got);
    auto snap = json::parse(a->messages.at(0));
    EXPECT_TRUE(snap);
    if (!(snap)) co_return;
    EXPECT_EQ(json::find(*snap, "calls")->Size(), 1u);
    auto ev = json::parse(a->messages.at(1));
    EXPECT_TRUE(ev);
    if (!(ev)) co_return;
    EXPECT_EQ(json::get_int(*ev, "seq"), 2);
    EXPECT_EQ(json::get_string(*ev, "type"), "call.ended");
    ca->close(1000);
    co_await test::until([&] { return s.hub.clients() == 0; });
  });
}

TEST(EventHub, SlowClientIsDroppedWhileFastOneKeepsReceiving) {
  HubServer s(64);  // room for a fast reader even under sanitizers
  test::run_coro(
      s.io,
      [&]() -> awaitable<void> {
        auto fast = std::make_shared<Received>();
        const Url url_cf = s.url();
        auto cf = co_await connect(url_cf, fast);
        // The slow client: a raw socket that completes the handshake and then never reads.
        asio::ip::tcp::socket slow(s.io);
        // A tiny receive buffer, so the server's queue for it fills quickly.
        slow.open(asio::ip::tcp::v4());
        slow.set_option(asio::socket_base::receive_buffer_size(4096));
        co_await slow.async_connect({asio::ip::make_address("127.0.0.1"), s.port}, use_awaitable);
        std::string hs =
            "GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n";
        co_await asio::async_write(slow, asio::buffer(hs), use_awaitable);
        const bool both = co_await test::until([&] { return s.hub.clients() == 2; });
        EXPECT_TRUE(both);
        const std::string big(32 * 1024, 'x');
        const int n =
            400;  // ~13 MB: beyond the socket buffers (≤ 4 MB send + 4 KB receive) + 64 queued
        for (int i = 1; i <= n; ++i) {
          auto e =
              make_event(static_cast<uint64_t>(i), calls::EventKind::call_playback_started, "c1");
          e.media = big;
          s.hub.publish(e);
          // Let the writers run: a reader that keeps up never has more than a few queued.
          co_await sleep_for(std::chrono::microseconds(200));
          if (i % 8 == 0)
            co_await test::until([&] { return fast->messages.size() + 16 >= size_t(i); });
        }
        const bool all =
            co_await test::until([&] { return fast->messages.size() == size_t(n) + 1; }, 10000);
        EXPECT_TRUE(all) << fast->messages.size();
        EXPECT_EQ(s.hub.dropped(), 1u);
        EXPECT_EQ(s.hub.clients(), 1u);
        EXPECT_FALSE(fast->closed);
        cf->close(1000);
        boost::system::error_code ec;
        slow.close(ec);
      },
      std::chrono::seconds(120));  // generous: sanitizer builds on a loaded machine are slow
}

namespace {

/// Records what the hub hands to a connection, without sockets.
struct RecordingConnection : net::WsConnection {
  std::vector<std::vector<std::string>> writes;  // one entry per send/send_batch call
  bool send(std::string_view text) override {
    writes.push_back({std::string(text)});
    return true;
  }
  bool send_batch(const std::vector<std::string>& texts) override {
    writes.push_back(texts);
    return true;
  }
  bool send_binary(std::string_view) override { return true; }
  void close(uint16_t, std::string) override {}
  bool is_open() const override { return true; }
  size_t queued() const override { return 0; }
};

}  // namespace

TEST(EventHub, EventsPublishedTogetherGoToEachClientAsOneBatch) {
  asio::io_context io;
  EventHub hub(io.get_executor());
  auto a = std::make_shared<RecordingConnection>();
  auto b = std::make_shared<RecordingConnection>();
  hub.add_client(a);
  hub.add_client(b);
  ASSERT_EQ(a->writes.size(), 1u);  // the snapshot, at once
  for (uint64_t i = 1; i <= 5; ++i) hub.publish(make_event(i, calls::EventKind::call_dtmf, "c1"));
  EXPECT_EQ(a->writes.size(), 1u);  // nothing yet: the round runs after this handler
  io.run();
  for (auto* c : {a.get(), b.get()}) {
    ASSERT_EQ(c->writes.size(), 2u);
    ASSERT_EQ(c->writes[1].size(), 5u);
    for (uint64_t i = 0; i < 5; ++i) {
      auto d = json::parse(c->writes[1][i]);
      ASSERT_TRUE(d);
      EXPECT_EQ(json::get_int(*d, "seq"), static_cast<int64_t>(i + 1));
    }
  }
  EXPECT_EQ(hub.sent(), 2u + 10u);
  // A client that joins while events are pending gets the others' events
  // delivered first, and then only its snapshot.
  hub.publish(make_event(6, calls::EventKind::call_dtmf, "c1"));
  auto late = std::make_shared<RecordingConnection>();
  hub.add_client(late);
  EXPECT_EQ(a->writes.size(), 3u);
  EXPECT_EQ(late->writes.size(), 1u);
  io.restart();
  io.run();
  EXPECT_EQ(late->writes.size(), 1u);
}

TEST(EventHub, WithoutAnExecutorEveryEventGoesOutAtOnce) {
  EventHub hub;
  auto a = std::make_shared<RecordingConnection>();
  hub.add_client(a);
  for (uint64_t i = 1; i <= 3; ++i) hub.publish(make_event(i, calls::EventKind::call_dtmf, "c1"));
  EXPECT_EQ(a->writes.size(), 4u);
}

TEST(EventHub, CloseAllSends1001) {
  HubServer s;
  test::run_coro(s.io, [&]() -> awaitable<void> {
    auto a = std::make_shared<Received>();
    const Url url_ca = s.url();
    auto ca = co_await connect(url_ca, a);
    co_await test::until([&] { return s.hub.clients() == 1; });
    s.hub.close_all(1001);
    EXPECT_EQ(s.hub.clients(), 0u);
    const bool closed = co_await test::until([&] { return a->closed; });
    EXPECT_TRUE(closed);
  });
}

TEST(FanOut, ForwardsToEverySinkInOrder) {
  struct Rec : calls::EventSink {
    std::vector<uint64_t>* log;
    int tag;
    void publish(const calls::DomainEvent& e) override {
      log->push_back(static_cast<uint64_t>(tag) * 100 + e.seq);
    }
  };
  std::vector<uint64_t> log;
  Rec a, b;
  a.log = b.log = &log;
  a.tag = 1;
  b.tag = 2;
  FanOut f;
  f.add(a);
  f.add(b);
  f.publish(make_event(7, calls::EventKind::call_ready, "c"));
  EXPECT_EQ(log, (std::vector<uint64_t>{107, 207}));
  f.remove(a);
  f.publish(make_event(8, calls::EventKind::call_ready, "c"));
  EXPECT_EQ(log.back(), 208u);
  EXPECT_EQ(f.size(), 1u);
}
