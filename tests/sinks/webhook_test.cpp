// WebhookSender (the webhook outbox) against a real local receiver: bodies,
// X-Event-Id and the timestamped signature, retries with backoff, per-call
// order, 410 = stop, failed deliveries retried by hand, filtering, and a dead
// or stuck receiver never slowing the publisher down (the outbox is bounded).
#include <gtest/gtest.h>

#include <map>

#include "api/wire.hpp"
#include "common/json.hpp"
#include "http/wait.hpp"
#include "net/http_server.hpp"
#include "sinks/webhook_sender.hpp"
#include "support/regex.hpp"
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
  std::string event_id;
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
  int fail_first = 0;  // answer 500 to this many requests first
  int status_on_fail = 500;
  std::chrono::milliseconds delay{0};  // before answering
  uint16_t port = 0;

  explicit Receiver(asio::io_context& io_) : io(io_) {
    server = std::make_unique<net::HttpServer>(io, net::ServerOptions{});
    server->on_request([this](net::Request& req) -> awaitable<net::Response> {
      if (delay.count() > 0) co_await sleep_for(delay);
      hits.push_back({req.body, std::string(req.header("x-signature")),
                      std::string(req.header("x-webhook-event")), req.content_type(), req.target,
                      std::string(req.header("x-event-id"))});
      if (fail_first > 0) {
        --fail_first;
        co_return net::Response::json(status_on_fail, "{}");
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
  o.concurrency = 1;  // one at a time: the receiver sees them in seq order
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
    // t=<unix>,v1=<HMAC of "t.body">,sha256=<HMAC of the body>
    std::smatch m;
    const std::string sig = h.signature;
    ASSERT_TRUE(
        std::regex_match(sig, m, std::regex("t=(\\d+),v1=([0-9a-f]{64}),sha256=([0-9a-f]{64})")))
        << sig;
    const std::string t = m[1];
    EXPECT_LE(std::abs(std::stoll(t) - now_epoch_ms() / 1000), 60);
    EXPECT_EQ(m[2].str(), hmac_sha256_hex("hook-secret", t + "." + h.body));
    EXPECT_EQ(m[3].str(), hmac_sha256_hex("hook-secret", h.body));
    EXPECT_EQ(h.event_id, std::to_string(events[i].seq));
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
  WebhookOptions bad;
  bad.url = "not a url";
  EXPECT_THROW(WebhookSender(io.get_executor(), bad), std::invalid_argument);
}

TEST(Webhook, RetriesWithBackoffUntilTheReceiverTakesItThenGivesUpAtMaxAttempts) {
  asio::io_context io;
  Receiver rx(io);
  rx.fail_first = 3;
  WebhookOptions o;
  o.url = rx.url();
  o.retry_base = std::chrono::milliseconds(20);
  o.retry_max = std::chrono::milliseconds(200);
  o.max_attempts = 4;
  WebhookSender sender(io.get_executor(), o);
  test::run_coro(io, [&]() -> awaitable<void> {
    auto e = call_event(1, calls::EventKind::call_ready, calls::Direction::outbound);
    const auto t0 = std::chrono::steady_clock::now();
    sender.publish(e);
    const bool done = co_await test::until([&] { return sender.stats().delivered == 1; });
    EXPECT_TRUE(done);
    // Three waits of 20, 40, 80 ms (each jittered down to half at most).
    EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(70));
    EXPECT_EQ(sender.stats().retries, 3u);
    // Failing beyond max_attempts: failed, listed, and the outbox is empty again.
    rx.fail_first = 100;
    auto e2 = call_event(2, calls::EventKind::call_ready, calls::Direction::outbound);
    sender.publish(e2);
    const bool failed = co_await test::until([&] { return sender.stats().failed == 1; });
    EXPECT_TRUE(failed);
    EXPECT_EQ(sender.stats().queued, 0u);
    auto list = sender.failed_recent(10);
    CO_ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].id, 2u);
    EXPECT_EQ(list[0].attempts, 4);
    EXPECT_EQ(list[0].last_status, 500);
    // Retried by hand once the receiver is back.
    rx.fail_first = 0;
    auto again = sender.requeue(list[0]);
    EXPECT_TRUE(again.has_value());
    const bool delivered = co_await test::until([&] { return sender.stats().delivered == 2; });
    EXPECT_TRUE(delivered);
  });
  EXPECT_EQ(rx.hits.size(), 4u + 4u + 1u);
  for (const auto& h : rx.hits) EXPECT_FALSE(h.event_id.empty());
}

TEST(Webhook, A410StopsThatDeliveryAtOnce) {
  asio::io_context io;
  Receiver rx(io);
  rx.fail_first = 1;
  rx.status_on_fail = 410;
  WebhookOptions o;
  o.url = rx.url();
  o.retry_base = std::chrono::milliseconds(10);
  WebhookSender sender(io.get_executor(), o);
  test::run_coro(io, [&]() -> awaitable<void> {
    auto e = call_event(1, calls::EventKind::call_ended, calls::Direction::outbound);
    sender.publish(e);
    const bool failed = co_await test::until([&] { return sender.stats().failed == 1; });
    EXPECT_TRUE(failed);
    co_await sleep_for(std::chrono::milliseconds(100));
  });
  EXPECT_EQ(rx.hits.size(), 1u);
  auto list = sender.failed_recent(10);
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].last_status, 410);
  EXPECT_NE(list[0].last_error.find("410"), std::string::npos);
}

TEST(Webhook, ACallsDeliveriesKeepTheirOrderWhileAnotherCallsGoOn) {
  asio::io_context io;
  Receiver rx(io);
  WebhookOptions o;
  o.url = rx.url();
  o.retry_base = std::chrono::milliseconds(30);
  o.retry_max = std::chrono::milliseconds(30);
  WebhookSender sender(io.get_executor(), o);
  // Call A's first delivery fails twice; A's second must wait for it, B's go on.
  int a_failures = 2;
  rx.server->on_request([&](net::Request& req) -> awaitable<net::Response> {
    auto d = json::parse(req.body);
    const std::string id(d ? json::get_string(*json::find(*d, "data"), "id") : "");
    rx.hits.push_back({req.body,
                       {},
                       std::string(req.header("x-webhook-event")),
                       {},
                       id,
                       std::string(req.header("x-event-id"))});
    if (id == "A" && a_failures > 0) {
      --a_failures;
      co_return net::Response::json(503, "{}");
    }
    co_return net::Response::json(200, "{}");
  });
  test::run_coro(io, [&]() -> awaitable<void> {
    uint64_t seq = 0;
    for (int i = 0; i < 3; ++i)
      for (const char* call : {"A", "B"}) {
        auto e = call_event(++seq, calls::EventKind::call_dtmf, calls::Direction::inbound);
        e.call_id = call;
        auto rec = std::make_shared<calls::CallRecord>(*e.call);
        rec->id = call;
        e.call = rec;
        sender.publish(e);
      }
    const bool all = co_await test::until([&] { return sender.stats().delivered == 6; });
    EXPECT_TRUE(all);
  });
  std::map<std::string, std::vector<uint64_t>> firsts;  // per call: ids as first accepted
  std::vector<std::string> order;
  for (const auto& h : rx.hits) {
    order.push_back(h.path + h.event_id);
    auto& v = firsts[h.path];
    const uint64_t id = std::stoull(h.event_id);
    if (std::find(v.begin(), v.end(), id) == v.end()) v.push_back(id);
  }
  EXPECT_EQ(firsts["A"], (std::vector<uint64_t>{1, 3, 5}));
  EXPECT_EQ(firsts["B"], (std::vector<uint64_t>{2, 4, 6}));
  // B did not wait for A's retries: all of B was in before A's second delivery.
  const auto pos = [&](const std::string& k) {
    return std::find(order.begin(), order.end(), k) - order.begin();
  };
  EXPECT_LT(pos("B6"), pos("A3"));
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
  o.max_pending = 16;
  o.timeout = std::chrono::milliseconds(200);
  o.max_attempts = 1;
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
    EXPECT_GE(st.dropped, 1000u - 16u);  // refused once the outbox is full, never evicted
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
  o.max_pending = 4;
  o.timeout = std::chrono::milliseconds(100);
  o.max_attempts = 1;
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
