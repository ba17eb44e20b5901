// WebhookSender against a real local receiver: bodies, signature, retry, filtering,
// and a dead or stuck receiver never slowing the publisher down.
#include <gtest/gtest.h>

#include "api/wire.hpp"
#include "common/json.hpp"
#include "http/wait.hpp"
#include "net/http_server.hpp"
#include "sinks/webhook_sender.hpp"
#include "support/run_io.hpp"

using namespace aa;
using namespace aa::sinks;

namespace {

struct Hit {
  std::string body;
  std::string signature;
  std::string event_header;
  std::string content_type;
  std::string path;
};

calls::DomainEvent call_event(uint64_t seq, calls::EventKind kind, calls::Direction dir) {
  calls::DomainEvent e;
  e.kind = kind;
  e.seq = seq;
  e.timestamp_ms = now_epoch_ms();
  e.call_id = "call-" + std::to_string(seq);
  auto rec = std::make_shared<calls::CallRecord>();
  rec->id = e.call_id;
  rec->channel_id = "1700000000." + std::to_string(seq);
  rec->direction = dir;
  rec->state = calls::CallState::answered;
  rec->caller_number = "5551234";
  rec->created_at_ms = e.timestamp_ms;
  e.call = rec;
  e.state = rec->state;
  return e;
}

struct Receiver {
  asio::io_context& io;
  std::unique_ptr<net::HttpServer> server;
  std::vector<Hit> hits;
  int fail_first = 0;                  // answer 500 to this many requests first
  std::chrono::milliseconds delay{0};  // before answering
  uint16_t port = 0;

  explicit Receiver(asio::io_context& io_) : io(io_) {
    server = std::make_unique<net::HttpServer>(io, net::ServerOptions{});
    server->on_request([this](net::Request& req) -> awaitable<net::Response> {
      if (delay.count() > 0) co_await sleep_for(delay);
      hits.push_back({req.body, std::string(req.header("x-signature")),
                      std::string(req.header("x-webhook-event")), req.content_type(), req.target});
      if (fail_first > 0) {
        --fail_first;
        co_return net::Response::json(500, "{}");
      }
      co_return net::Response::json(200, "{}");
    });
    port = server->start();
  }
  std::string url(std::string path = "/voice/webhook") const {
    return "http://127.0.0.1:" + std::to_string(port) + path;
  }
};

}  // namespace

TEST(Webhook, HmacMatchesRfc4231) {
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Webhook, PostsContractBodiesInOrderWithSignature) {
  asio::io_context io;
  Receiver rx(io);
  WebhookOptions o;
  o.url = rx.url("/voice/webhook?x=1");
  o.secret = "hook-secret";
  WebhookSender sender(io.get_executor(), o);
  ASSERT_TRUE(sender.enabled());
  std::vector<calls::DomainEvent> events;
  events.push_back(call_event(1, calls::EventKind::call_created, calls::Direction::inbound));
  auto answered = call_event(2, calls::EventKind::call_state_changed, calls::Direction::inbound);
  answered.previous_state = calls::CallState::ringing;
  events.push_back(answered);
  events.push_back(call_event(3, calls::EventKind::call_ready, calls::Direction::outbound));
  auto dtmf = call_event(4, calls::EventKind::call_dtmf, calls::Direction::inbound);
  dtmf.digit = "5";
  events.push_back(dtmf);
  auto ended = call_event(5, calls::EventKind::call_ended, calls::Direction::inbound);
  ended.cause = "normal";
  events.push_back(ended);
  calls::DomainEvent bridge;
  bridge.kind = calls::EventKind::bridge_created;
  bridge.seq = 6;
  bridge.bridge_id = "b1";
  events.push_back(bridge);

  test::run_coro(io, [&]() -> awaitable<void> {
    for (const auto& e : events) sender.publish(e);
    const bool done = co_await test::until([&] { return sender.stats().delivered == 5; });
    EXPECT_TRUE(done);
  });
  ASSERT_EQ(rx.hits.size(), 5u);  // the bridge event is not a webhook
  const char* names[] = {"call.inbound", "call.answered", "call.ready", "call.dtmf", "call.ended"};
  for (size_t i = 0; i < 5; ++i) {
    const Hit& h = rx.hits[i];
    EXPECT_EQ(h.body, api::webhook_body(events[i]));
    EXPECT_EQ(h.signature, "sha256=" + hmac_sha256_hex("hook-secret", h.body));
    EXPECT_EQ(h.content_type, "application/json");
    EXPECT_EQ(h.event_header, names[i]);
    EXPECT_EQ(h.path, "/voice/webhook?x=1");
    auto doc = json::parse(h.body);
    ASSERT_TRUE(doc);
    EXPECT_EQ(json::get_string(*doc, "event"), names[i]);
    const auto* data = json::find(*doc, "data");
    ASSERT_TRUE(data);
    EXPECT_EQ(json::get_string(*data, "id"), events[i].call_id);
  }
  auto dtmf_doc = json::parse(rx.hits[3].body);
  EXPECT_EQ(json::get_string(*json::find(*dtmf_doc, "data"), "digit"), "5");
  auto st = sender.stats();
  EXPECT_EQ(st.enqueued, 5u);
  EXPECT_EQ(st.failed, 0u);
  EXPECT_EQ(st.dropped, 0u);
}

TEST(Webhook, NoSignatureWithoutSecretAndOffWithoutUrl) {
  asio::io_context io;
  Receiver rx(io);
  WebhookOptions o;
  o.url = rx.url();
  WebhookSender sender(io.get_executor(), o);
  WebhookSender off(io.get_executor(), WebhookOptions{});
  EXPECT_FALSE(off.enabled());
  test::run_coro(io, [&]() -> awaitable<void> {
    auto e = call_event(1, calls::EventKind::call_ended, calls::Direction::outbound);
    sender.publish(e);
    off.publish(e);
    const bool done = co_await test::until([&] { return sender.stats().delivered == 1; });
    EXPECT_TRUE(done);
  });
  ASSERT_EQ(rx.hits.size(), 1u);
  EXPECT_EQ(rx.hits[0].signature, "");
  EXPECT_EQ(off.stats().enqueued, 0u);
  EXPECT_THROW(WebhookSender(io.get_executor(), WebhookOptions{"not a url", "", 10, {}, {}, 1}),
               std::invalid_argument);
}

TEST(Webhook, RetriesOnceAfterServerError) {
  asio::io_context io;
  Receiver rx(io);
  rx.fail_first = 1;
  WebhookOptions o;
  o.url = rx.url();
  o.retry_delay = std::chrono::milliseconds(10);
  WebhookSender sender(io.get_executor(), o);
  test::run_coro(io, [&]() -> awaitable<void> {
    auto e = call_event(1, calls::EventKind::call_ready, calls::Direction::outbound);
    sender.publish(e);
    const bool done = co_await test::until([&] { return sender.stats().delivered == 1; });
    EXPECT_TRUE(done);
    // Two failures in a row: gives up after the single retry.
    rx.fail_first = 2;
    auto e2 = call_event(2, calls::EventKind::call_ready, calls::Direction::outbound);
    sender.publish(e2);
    const bool failed = co_await test::until([&] { return sender.stats().failed == 1; });
    EXPECT_TRUE(failed);
  });
  EXPECT_EQ(rx.hits.size(), 4u);
}

TEST(Webhook, DeadReceiverNeverBlocksPublish) {
  asio::io_context io;
  // A port where nobody listens.
  uint16_t dead_port = 0;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    dead_port = a.local_endpoint().port();
  }
  WebhookOptions o;
  o.url = "http://127.0.0.1:" + std::to_string(dead_port) + "/hook";
  o.max_queue = 16;
  o.timeout = std::chrono::milliseconds(200);
  o.retry_delay = std::chrono::milliseconds(10);
  WebhookSender sender(io.get_executor(), o);
  test::run_coro(io, [&]() -> awaitable<void> {
    const auto t0 = std::chrono::steady_clock::now();
    for (uint64_t i = 1; i <= 1000; ++i) {
      auto e = call_event(i, calls::EventKind::call_dtmf, calls::Direction::inbound);
      sender.publish(e);
    }
    const auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_LT(took, std::chrono::milliseconds(500));
    auto st = sender.stats();
    EXPECT_LE(st.queued, 16u);
    EXPECT_GE(st.dropped, 1000u - 16u - 1u);
    const bool gave_up = co_await test::until([&] { return sender.stats().failed >= 1; });
    EXPECT_TRUE(gave_up);
  });
}

TEST(Webhook, StuckReceiverTimesOutAndQueueStaysBounded) {
  asio::io_context io;
  Receiver rx(io);
  rx.delay = std::chrono::milliseconds(2000);
  WebhookOptions o;
  o.url = rx.url();
  o.max_queue = 4;
  o.timeout = std::chrono::milliseconds(100);
  o.retries = 0;
  WebhookSender sender(io.get_executor(), o);
  test::run_coro(io, [&]() -> awaitable<void> {
    for (uint64_t i = 1; i <= 10; ++i) {
      auto e = call_event(i, calls::EventKind::call_ended, calls::Direction::inbound);
      sender.publish(e);
    }
    EXPECT_LE(sender.stats().queued, 4u);
    const bool first_failed =
        co_await test::until([&] { return sender.stats().failed >= 1; }, 3000);
    EXPECT_TRUE(first_failed);
    sender.stop();
  });
  EXPECT_GE(sender.stats().dropped, 5u);
}
