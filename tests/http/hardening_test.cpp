// Issue 9, server side, end to end through real sockets: nothing we emit is
// invalid UTF-8 whatever its source (request, path, ARI); bodies that are not
// UTF-8 are a 400; every string field and path parameter has a limit (400/404,
// never an ARI round trip); a 413 is read by a client that writes first;
// GET / lists the WebSocket.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>

#include "common/utf8.hpp"
#include "http/harness.hpp"
#include "http/validation.hpp"
#include "support/run_io.hpp"

using namespace aa;
using aa::test::body_of;
using aa::test::Service;

namespace {

const std::string kFffd = "\xEF\xBF\xBD";

std::vector<std::string> details(const net::ClientResponse& r) {
  std::vector<std::string> out;
  auto d = body_of(r);
  if (const auto* a = json::find(d, "details"); a && a->IsArray())
    for (const auto& x : a->GetArray()) out.emplace_back(json::as_view(x));
  return out;
}

/// True when some detail starts with `field + ": "` and mentions "at most".
bool names_limit(const net::ClientResponse& r, const std::string& field) {
  for (const auto& d : details(r))
    if (d.rfind(field + ": ", 0) == 0 && d.find("at most") != std::string::npos) return true;
  return false;
}

/// A live outbound call's id (PJSIP/1001 answers in the simulator).
awaitable<std::string> live_call(Service& s) {
  auto c = co_await s.post("/calls", R"({"endpoint":"PJSIP/1001"})");
  std::string id(json::get_string(body_of(c), "callId"));
  // Answered (PJSIP/1001 answers at once in simulated time): media operations can succeed.
  co_await test::until([&] {
    auto rec = s.manager->get_call(id);
    return rec && rec->answered_at_ms > 0;
  });
  co_return id;
}

}  // namespace

TEST(Utf8Hardening, RawByteInCallerIdIsA400SayingTheBodyIsNotUtf8) {
  Service s;
  s.run([&]() -> awaitable<void> {
    CO_ASSERT_TRUE(co_await s.ready());
    const std::string body =
        "{\"endpoint\":\"PJSIP/1001\",\"callerId\":\"Bob <555\xFF"
        "0111>\"}";
    auto r = co_await s.post("/calls", body);
    EXPECT_EQ(r.status, 400);
    EXPECT_NE(std::string(json::get_string(body_of(r), "error")).find("not valid UTF-8"),
              std::string::npos)
        << r.body;
    EXPECT_TRUE(utf8::is_valid(r.body));
    // An escaped lone surrogate is not text either.
    auto esc = co_await s.post("/calls", R"({"endpoint":"PJSIP/1001","callerId":"\udc00"})");
    EXPECT_EQ(esc.status, 400) << esc.body;
    auto calls = co_await s.get("/calls");
    EXPECT_EQ(calls.body, R"({"calls":[]})");
  });
}

// ARI events are parsed tolerantly, so a caller name or number with a bad byte
// reaches the domain; every frame, snapshot, body and webhook must still be
// valid UTF-8 (a conforming WebSocket client closes the stream otherwise).
TEST(Utf8Hardening, BadByteFromAriStillGivesValidUtf8Everywhere) {
  Service s;
  s.run([&]() -> awaitable<void> {
    CO_ASSERT_TRUE(co_await s.ready());
    auto events = co_await s.connect_events();
    CO_ASSERT_TRUE(events->ws);
    // The far end calls with a raw 0xFF in its caller number (straight into the
    // simulator's engine: no JSON on the way).
    s.simulator().run([](sim::Simulator& sim) {
      (void)sim.engine().inbound(
          "Bob <555\xFF"
          "0111>",
          "", "1001", {}, "", "");
    });
    const bool created = co_await test::until([&] {
      for (const auto& m : events->raw)
        if (m.find("call.created") != std::string::npos) return true;
      return events->closed;
    });
    CO_ASSERT_TRUE(created);
    EXPECT_FALSE(events->closed) << "the /events client was closed (invalid UTF-8 frame?)";
    for (const auto& m : events->raw) {
      EXPECT_TRUE(utf8::is_valid(m)) << m;
      EXPECT_TRUE(json::parse_utf8(m)) << m;
    }
    // A client connecting now gets a snapshot with the call in it.
    auto late = co_await s.connect_events();
    CO_ASSERT_TRUE(late->ws);
    CO_ASSERT_TRUE(co_await test::until([&] { return !late->raw.empty() || late->closed; }));
    EXPECT_FALSE(late->closed);
    CO_ASSERT_TRUE(!late->raw.empty());
    EXPECT_NE(late->raw[0].find(kFffd), std::string::npos) << late->raw[0];
    EXPECT_TRUE(utf8::is_valid(late->raw[0]));
    auto list = co_await s.get("/calls");
    EXPECT_TRUE(utf8::is_valid(list.body)) << list.body;
    EXPECT_NE(list.body.find(kFffd), std::string::npos) << list.body;
    CO_ASSERT_TRUE(co_await test::until([&] { return !s.webhooks.empty(); }));
    for (const auto& w : s.webhooks) EXPECT_TRUE(utf8::is_valid(w.body)) << w.body;
  });
}

TEST(Utf8Hardening, NotFoundBodyEchoingAPathIsValidUtf8) {
  Service s;
  s.run([&]() -> awaitable<void> {
    const std::vector<std::string> targets = {"/nothing%ff", "/calls/%c0%af",
                                              "/bridges/%ed%a0%80/x"};
    for (const auto& target : targets) {
      auto r = co_await s.get(target);
      EXPECT_TRUE(r.status == 404 || r.status == 405) << target << " " << r.status;
      EXPECT_TRUE(utf8::is_valid(r.body)) << r.body;
      EXPECT_TRUE(json::parse_utf8(r.body)) << r.body;
    }
    auto r = co_await s.get("/nothing%ff");
    EXPECT_NE(std::string(json::get_string(body_of(r), "error")).find("/nothing" + kFffd),
              std::string::npos)
        << r.body;
  });
}

// ~16 KB fields used to travel into the ARI URL and come back as 502.
TEST(LimitsHardening, OverlongFieldsAreA400NamingTheFieldNotA502) {
  Service s;
  s.run([&]() -> awaitable<void> {
    CO_ASSERT_TRUE(co_await s.ready());
    const std::string big(16 * 1024, 'a');
    auto cid = co_await s.post("/calls", R"({"endpoint":"PJSIP/1001","callerId":")" + big + "\"}");
    EXPECT_EQ(cid.status, 400);
    EXPECT_TRUE(names_limit(cid, "callerId")) << cid.body;
    auto ep = co_await s.post("/calls", R"({"endpoint":"PJSIP/)" + big + "\"}");
    EXPECT_EQ(ep.status, 400);
    EXPECT_TRUE(names_limit(ep, "endpoint")) << ep.body;
    auto var =
        co_await s.post("/calls", R"({"endpoint":"PJSIP/1001","variables":{"X":")" + big + "\"}}");
    EXPECT_EQ(var.status, 400);
    EXPECT_TRUE(names_limit(var, "variables.X")) << var.body;
    auto bridge = co_await s.post("/bridges", R"({"name":")" + big + "\"}");
    EXPECT_EQ(bridge.status, 400);
    EXPECT_TRUE(names_limit(bridge, "name")) << bridge.body;

    const std::string id = co_await live_call(s);
    CO_ASSERT_TRUE(!id.empty());
    auto play = co_await s.post("/calls/" + id + "/play", R"({"media":"sound:)" + big + "\"}");
    EXPECT_EQ(play.status, 400);
    EXPECT_TRUE(names_limit(play, "media")) << play.body;
    std::string many = R"({"media":[)";
    for (int i = 0; i < 33; ++i) many += std::string(i ? "," : "") + "\"sound:beep\"";
    auto items = co_await s.post("/calls/" + id + "/play", many + "]}");
    EXPECT_EQ(items.status, 400);
    EXPECT_TRUE(names_limit(items, "media")) << items.body;
    auto dtmf =
        co_await s.post("/calls/" + id + "/dtmf", R"({"dtmf":")" + std::string(65, '1') + "\"}");
    EXPECT_EQ(dtmf.status, 400);
    EXPECT_TRUE(names_limit(dtmf, "dtmf")) << dtmf.body;
    auto tr = co_await s.post("/calls/" + id + "/transfer", R"({"endpoint":")" + big + "\"}");
    EXPECT_EQ(tr.status, 400);
    EXPECT_TRUE(names_limit(tr, "endpoint")) << tr.body;
    auto rec = co_await s.post("/calls/" + id + "/record", R"({"name":")" + big + "\"}");
    EXPECT_EQ(rec.status, 400);
    EXPECT_TRUE(names_limit(rec, "name")) << rec.body;
    auto hang = co_await s.call("DELETE", "/calls/" + id, R"({"reason":")" + big + "\"}",
                                "application/json", s.auth_headers());
    EXPECT_EQ(hang.status, 400);
    EXPECT_TRUE(names_limit(hang, "reason")) << hang.body;
    auto copy = co_await s.post("/recordings/x/copy", R"({"destinationName":")" + big + "\"}");
    EXPECT_EQ(copy.status, 400);
    EXPECT_TRUE(names_limit(copy, "destinationName")) << copy.body;
    // The call is still fine.
    auto ok = co_await s.post("/calls/" + id + "/dtmf", R"({"dtmf":"1"})");
    EXPECT_EQ(ok.status, 200) << ok.body;
  });
}

TEST(LimitsHardening, OverlongPathParameterIsA404WithoutAnAriRoundTrip) {
  Service s;
  int ari_requests = 0;
  s.rest->set_observer([&](std::string_view, int, std::chrono::microseconds) { ++ari_requests; });
  s.run([&]() -> awaitable<void> {
    CO_ASSERT_TRUE(co_await s.ready());
    const std::string long_id(http::limits::kPathParam + 1, 'b');
    // The connect-time ARI requests (reconcile) land first: wait until none arrive.
    for (int last = -1; last != ari_requests;) {
      last = ari_requests;
      co_await sleep_for(std::chrono::milliseconds(100));
    }
    const int before = ari_requests;
    const std::vector<std::string> targets = {"/bridges/" + long_id, "/recordings/" + long_id,
                                              "/recordings/" + long_id + "/file",
                                              "/calls/" + long_id};
    for (const auto& target : targets) {
      auto r = co_await s.get(target);
      EXPECT_EQ(r.status, 404) << target;
      EXPECT_NE(r.body.find("longer than"), std::string::npos) << r.body;
    }
    auto d = co_await s.del("/bridges/" + long_id);
    EXPECT_EQ(d.status, 404);
    auto a = co_await s.post("/bridges/" + long_id + "/addChannel", R"({"callId":"x"})");
    EXPECT_EQ(a.status, 404);
    EXPECT_EQ(ari_requests, before);
  });
}

TEST(LimitsHardening, OversizedBodyIsA413ThatAClientWritingFirstCanRead) {
  Service s;
  s.run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    asio::ip::tcp::socket sock(ex);
    co_await sock.async_connect({asio::ip::make_address("127.0.0.1"), s.port}, use_awaitable);
    const std::string body = R"({"endpoint":")" + std::string(2 * 1024 * 1024, 'x') + "\"}";
    const std::string req =
        "POST /calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    boost::system::error_code ec;
    co_await asio::async_write(sock, asio::buffer(req), asio::redirect_error(use_awaitable, ec));
    EXPECT_FALSE(ec) << ec.message();
    std::string in;
    for (;;) {
      char buf[4096];
      const size_t n =
          co_await sock.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      in.append(buf, n);
    }
    EXPECT_EQ(in.substr(0, in.find("\r\n")), "HTTP/1.1 413 Payload Too Large") << in;
    auto doc = json::parse(in.substr(in.find("\r\n\r\n") + 4));
    CO_ASSERT_TRUE(doc);
    EXPECT_EQ(json::get_string(*doc, "code"), "PAYLOAD_TOO_LARGE");
  });
}

TEST(IndexHardening, ListsTheEventsWebSocketAsItsOwnEntry) {
  Service s;
  s.run([&]() -> awaitable<void> {
    auto r = co_await s.call("GET", "/", {}, {}, {});
    auto d = body_of(r);
    const auto* eps = json::find(d, "endpoints");
    CO_ASSERT_TRUE(eps);
    EXPECT_TRUE(json::find(*eps, "WS   /events")) << r.body;
    EXPECT_TRUE(json::find(*eps, "GET  /events")) << r.body;
  });
}
