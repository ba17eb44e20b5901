// Fuzzing the HTTP request path: routing, validation and JSON bodies through
// http::Api::handle in-process (the whole service against the simulator), and
// raw mutated bytes through a real net::HttpServer socket. Invariants: no
// crash, no hang, never a 500, every JSON answer valid JSON and valid UTF-8.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <map>

#include "common/utf8.hpp"
#include "fuzz/fuzz.hpp"
#include "http/harness.hpp"
#include "support/run_io.hpp"

namespace aa::fuzz {
namespace {

struct RouteSeed {
  std::string method;
  std::string pattern;  // ":x" segments are filled in
  std::vector<std::string> bodies;
};

const std::vector<RouteSeed>& route_seeds() {
  static const std::vector<RouteSeed> v = {
      {"GET", "/", {}},
      {"GET", "/health", {}},
      {"GET", "/calls", {}},
      {"GET", "/calls/:id", {}},
      {"GET", "/bridges/:id", {}},
      {"GET", "/recordings/:name", {}},
      {"GET", "/media/:token/:file", {}},
      {"GET", "/events", {}},
      {"GET", "/openapi.json", {}},
      {"POST",
       "/calls",
       {R"({"endpoint":"PJSIP/404404","callerId":"\"Alice\" <5551234>","timeout":30,)"
        R"("variables":{"X_FOO":"bar"}})",
        "{\"endpoint\":\"PJSIP/404404\",\"callerId\":\"Bob <555\xFF"
        "0111>\"}",
        R"({"endpoint":"PJSIP/404404","timeout":1.5})",
        R"({"endpoint":")" + std::string(16 * 1024, 'a') + "\"}",
        R"({"endpoint":"PJSIP/404404","callerId":")" + std::string(16 * 1024, 'c') + "\"}"}},
      {"DELETE", "/calls/:id", {R"({"reason":"busy"})", ""}},
      {"POST",
       "/calls/:id/play",
       {R"({"media":"sound:beep"})", R"({"media":["sound:a","sound:b"],"wait":false})",
        R"({"media":"sound:)" + std::string(16 * 1024, 'm') + "\"}"}},
      {"POST",
       "/calls/:id/record",
       {R"({"name":"rec-1","format":"wav","maxDurationSeconds":5,"beep":true})"}},
      {"POST",
       "/calls/:id/dtmf",
       {R"({"dtmf":"12#"})", R"({"dtmf":")" + std::string(16384, '1') + "\"}"}},
      {"POST", "/calls/:id/transfer", {R"({"endpoint":"PJSIP/1002","callerId":"1","timeout":1})"}},
      {"POST", "/bridges", {R"({"name":"b1"})", R"({"name":")" + std::string(16384, 'n') + "\"}"}},
      {"DELETE", "/bridges/:id", {}},
      {"POST", "/bridges/:id/addChannel", {R"({"callId":"c"})"}},
      {"POST", "/bridges/:id/removeChannel", {R"({"callId":"c"})"}},
      {"POST", "/recordings/:name/copy", {R"({"destinationName":"copy-1"})"}},
      {"DELETE", "/recordings/:name?stored=true", {}},
  };
  return v;
}

/// A path segment: a fake id, a mutated one, percent-encoded garbage.
std::string segment(Rng& r) {
  switch (r.below(6)) {
    case 0:
      return "00000000-0000-4000-8000-" + std::to_string(100000000000 + r.below(1000000));
    case 1:
      return url_encode(r.weird().substr(0, 400));
    case 2:
      return "%ff%c0%af";
    case 3:
      return std::string(r.chance(50) ? 300 : 256, 'i');
    case 4:
      return r.mutate("1795660606.98");
    default:
      return "x";
  }
}

net::Request make_request(Rng& r) {
  const RouteSeed& seed = r.pick(route_seeds());
  net::Request req;
  req.method = r.chance(5) ? r.pick(std::vector<std::string>{"PUT", "PATCH", "HEAD", "OPTIONS",
                                                             "INVENTED", "get", ""})
                           : seed.method;
  std::string target;
  for (const auto& part : http::split_path(seed.pattern)) {
    target += "/";
    target += !part.empty() && part[0] == ':' ? segment(r) : part;
  }
  if (target.empty()) target = "/";
  if (r.chance(10)) target = r.mutate(target);
  if (r.chance(15))
    target += "?" + url_encode(r.weird().substr(0, 50)) + "=" + url_encode(r.weird().substr(0, 50));
  req.target = target;
  split_target(req.target, req.path, req.query);
  if (!seed.bodies.empty() || r.chance(10)) {
    const std::string base = seed.bodies.empty() ? std::string("{}") : r.pick(seed.bodies);
    req.body = r.chance(80) ? mutate_json(r, base) : r.mutate(base);
    const std::vector<std::string> types = {"application/json",
                                            "application/json",
                                            "application/json; charset=utf-8",
                                            "text/plain",
                                            "application/merge-patch+json",
                                            "audio/wav",
                                            ""};
    const std::string ct = r.pick(types);
    if (!ct.empty()) req.headers.push_back({"Content-Type", ct});
  }
  return req;
}

/// The invariants on one answer.
void check_answer(const net::Request& req, const net::Response& res) {
  const std::string what =
      req.method + " " + req.target + " body " + testing::PrintToString(req.body.substr(0, 300));
  EXPECT_NE(res.status, 500) << what << "\n-> " << res.body;
  EXPECT_GE(res.status, 100) << what;
  EXPECT_LE(res.status, 599) << what;
  if (res.content_type.rfind("application/json", 0) == 0 && res.file_path.empty()) {
    EXPECT_TRUE(utf8::is_valid(res.body)) << what << "\n-> " << testing::PrintToString(res.body);
    std::string why;
    EXPECT_TRUE(json::parse_utf8(res.body, &why)) << why << " " << what << "\n-> " << res.body;
  }
}

TEST(FuzzHttp, ApiHandleNeverAnswers500OrInvalidJson) {
  spdlog::set_level(spdlog::level::warn);  // thousands of requests: keep the output readable
  test::Service s;
  const size_t n = iterations(1500);
  std::string current;
  std::map<int, size_t> statuses;
  s.run(
      [&]() -> awaitable<void> {
        CO_ASSERT_TRUE(co_await s.ready());
        Rng r(seed(5));
        for (size_t i = 0; i < n; ++i) {
          net::Request req = make_request(r);
          current = req.method + " " + req.target;
          net::Response res = co_await s.api->handle(req);
          check_answer(req, res);
          ++statuses[res.status];
          if (::testing::Test::HasFailure()) co_return;
        }
        current.clear();
      },
      std::chrono::seconds(60 + n / 100));
  std::printf("[ figures ] %zu requests, statuses:", n);
  for (const auto& [status, count] : statuses) std::printf(" %d x%zu", status, count);
  std::printf("\n");
  // Validation, routing and the domain were all reached.
  EXPECT_GT(statuses[400], n / 10);
  EXPECT_GT(statuses[404], n / 10);
  EXPECT_TRUE(current.empty()) << "stopped at " << current;
}

/// Raw requests, mutated at the byte level, through the service's socket.
const std::vector<std::string>& raw_seeds() {
  static const std::vector<std::string> v = {
      "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /nothing%ff HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
      "47\r\n\r\n{\"endpoint\":\"PJSIP/404\",\"callerId\":\"Bob \xFF"
      "0111\"}",
      "POST /calls HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: "
      "application/json\r\n\r\n5\r\n{\"a\":\r\n3\r\n\"b\"\r\n1\r\n}\r\n0\r\n\r\n",
      "POST /bridges HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Type: "
      "application/json\r\nContent-Length: 12\r\n\r\n{\"name\":\"b\"}",
      "GET /calls HTTP/1.1\r\nHost: x\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
      "\x89\x80\x01\x02\x03\x04",
      "DELETE /calls/abc?reason=busy&apikey=s3cret HTTP/1.1\r\nHost: x\r\n\r\n",
      "POST /calls/abc/play/file HTTP/1.1\r\nHost: x\r\nContent-Type: audio/wav\r\n"
      "Content-Length: 4\r\n\r\nRIFF",
      "INVENTEDMETHOD / HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET / HTTP/1.0\r\n\r\n",
  };
  return v;
}

TEST(FuzzHttp, RawBytesThroughARealServerNeverGet500) {
  spdlog::set_level(spdlog::level::warn);
  test::Service s;
  const size_t n = iterations(150, 20);
  s.run(
      [&]() -> awaitable<void> {
        auto ex = co_await asio::this_coro::executor;
        Rng r(seed(6));
        for (size_t i = 0; i < n; ++i) {
          const std::string& base = r.pick(raw_seeds());
          const std::string input = r.chance(85) ? r.mutate(base, r.pick(raw_seeds())) : base;
          asio::ip::tcp::socket sock(ex);
          co_await sock.async_connect({asio::ip::make_address("127.0.0.1"), s.port}, use_awaitable);
          boost::system::error_code ec;
          co_await asio::async_write(sock, asio::buffer(input),
                                     asio::redirect_error(use_awaitable, ec));
          sock.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
          // The server must finish and close by itself (we sent everything).
          std::string out;
          asio::steady_timer guard(ex);
          bool hung = false;
          guard.expires_after(std::chrono::seconds(5));
          guard.async_wait([&](const boost::system::error_code& e) {
            if (e) return;
            hung = true;
            boost::system::error_code ignored;
            sock.cancel(ignored);
          });
          for (;;) {
            char buf[4096];
            const size_t got = co_await sock.async_read_some(
                asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
            if (ec) break;
            out.append(buf, got);
          }
          guard.cancel();
          const std::string what = testing::PrintToString(input.substr(0, 300));
          EXPECT_FALSE(hung) << "no answer and no close within 5 s for " << what;
          EXPECT_EQ(out.find("HTTP/1.1 500"), std::string::npos) << what << "\n-> " << out;
          if (!out.empty() && out.find("Upgrade: websocket") == std::string::npos) {
            EXPECT_EQ(out.rfind("HTTP/1.", 0), 0u) << what << "\n-> " << out;
            if (out.find("Content-Type: audio") == std::string::npos) {
              EXPECT_TRUE(utf8::is_valid(out)) << what << "\n-> " << testing::PrintToString(out);
            }
          }
          if (::testing::Test::HasFailure()) co_return;
        }
      },
      std::chrono::seconds(60 + n / 10));
}

}  // namespace
}  // namespace aa::fuzz
