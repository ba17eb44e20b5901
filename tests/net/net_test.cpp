// The net layer through real loopback sockets: HTTP server + pooled client, WebSocket both ways.
#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/ws_client.hpp"
#include "support/run_io.hpp"

using namespace aa;
using namespace aa::net;

namespace {

Url local(uint16_t port) {
  return *parse_url("http://127.0.0.1:" + std::to_string(port));
}

}  // namespace

TEST(HttpServer, ServesAndReusesKeepAliveConnections) {
  asio::io_context io;
  HttpServer server(io, {});
  int seen = 0;
  server.on_request([&](Request& req) -> awaitable<Response> {
    ++seen;
    co_return Response::json(200, "{\"path\":\"" + req.path + "\",\"q\":\"" +
                                      std::string(req.param("x").value_or("")) + "\"}");
  });
  uint16_t port = server.start();
  test::run_coro(io, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    const Url url = local(port);
    const WsClientOptions wso;
    HttpClient client(ex, local(port));
    for (int i = 0; i < 5; ++i) {
      auto r = co_await client.request("GET", "/a%20b?x=1%262");
      EXPECT_TRUE(r.ok()) << r.error_message;
      EXPECT_EQ(r.status, 200);
      EXPECT_EQ(r.body, R"({"path":"/a b","q":"1&2"})");
      EXPECT_EQ(r.content_type, "application/json");
    }
    EXPECT_EQ(server.open_connections(), 1u);  // one pooled keep-alive connection
  });
  EXPECT_EQ(seen, 5);
}

TEST(HttpServer, RejectsBodiesOverTheLimitWith413) {
  asio::io_context io;
  ServerOptions opts;
  opts.body_limit = [](const Request& r) -> size_t { return r.path == "/big" ? 4096 : 16; };
  HttpServer server(io, opts);
  server.on_request([](Request& req) -> awaitable<Response> {
    co_return Response::json(200, std::to_string(req.body.size()));
  });
  uint16_t port = server.start();
  test::run_coro(io, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    const Url url = local(port);
    const WsClientOptions wso;
    HttpClient client(ex, local(port));
    auto small = co_await client.request("POST", "/x", std::string(16, 'a'), "text/plain");
    EXPECT_EQ(small.status, 200);
    auto large = co_await client.request("POST", "/x", std::string(17, 'a'), "text/plain");
    EXPECT_EQ(large.status, 413);
    EXPECT_NE(large.body.find("too large"), std::string::npos);
    auto big = co_await client.request("POST", "/big", std::string(4000, 'a'), "text/plain");
    EXPECT_EQ(big.status, 200);
    EXPECT_EQ(big.body, "4000");
  });
}

TEST(HttpServer, MalformedRequestGets400) {
  asio::io_context io;
  HttpServer server(io, {});
  server.on_request([](Request&) -> awaitable<Response> { co_return Response::json(200, "{}"); });
  uint16_t port = server.start();
  test::run_coro(io, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    const Url url = local(port);
    const WsClientOptions wso;
    asio::ip::tcp::socket s(io);
    co_await s.async_connect({asio::ip::make_address("127.0.0.1"), port}, use_awaitable);
    std::string garbage = "NOT HTTP AT ALL\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(garbage), use_awaitable);
    std::string buf(4096, '\0');
    boost::system::error_code ec;
    size_t n =
        co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    buf.resize(n);
    EXPECT_NE(buf.find("400"), std::string::npos) << buf;
  });
}

TEST(HttpClient, ReportsConnectFailureAndTimeout) {
  asio::io_context io;
  HttpServer server(io, {});
  server.on_request([&](Request&) -> awaitable<Response> {
    co_await sleep_for(std::chrono::milliseconds(500));
    co_return Response::json(200, "{}");
  });
  uint16_t port = server.start();
  test::run_coro(io, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    const Url url = local(port);
    const WsClientOptions wso;
    ClientOptions o;
    o.request_timeout = std::chrono::milliseconds(50);
    HttpClient slow(ex, local(port), o);
    auto r = co_await slow.request("GET", "/");
    EXPECT_EQ(r.error, ClientResponse::Error::timeout);
    HttpClient nowhere(ex, local(1), o);
    auto r2 = co_await nowhere.request("GET", "/");
    EXPECT_EQ(r2.error, ClientResponse::Error::connect);
  });
}

TEST(WebSocket, EchoAndRefusal) {
  asio::io_context io;
  HttpServer server(io, {});
  server.on_websocket(
      [](const Request& r) -> std::optional<Response> {
        if (r.path != "/ws") return Response::json(404, R"({"message":"Resource not found"})");
        return std::nullopt;
      },
      [](std::shared_ptr<WsConnection> c, const Request&) {
        std::weak_ptr<WsConnection> weak = c;
        c->on_message = [weak](std::string_view m) {
          if (auto s = weak.lock()) s->send("echo:" + std::string(m));
        };
      });
  uint16_t port = server.start();
  test::run_coro(io, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    const Url url = local(port);
    const WsClientOptions wso;
    auto refused = co_await ws_connect(url, "/nope", wso);
    EXPECT_FALSE(refused.connection);
    EXPECT_EQ(refused.http_status, 404);
    auto res = co_await ws_connect(url, "/ws", wso);
    EXPECT_TRUE(res.connection) << res.error;
    std::vector<std::string> got;
    bool closed = false;
    res.connection->on_message = [&](std::string_view m) { got.emplace_back(m); };
    res.connection->on_close = [&] { closed = true; };
    res.connection->send("one");
    res.connection->send("two");
    EXPECT_TRUE(co_await test::wait_until([&] { return got.size() == 2; }));
    EXPECT_EQ(got[0], "echo:one");
    EXPECT_EQ(got[1], "echo:two");
    server.close_websockets(1001);
    EXPECT_TRUE(co_await test::wait_until([&] { return closed; }));
  });
}

TEST(WebSocket, SlowReaderIsClosedWhileFastReaderKeepsReceiving) {
  asio::io_context io;
  ServerOptions opts;
  opts.ws_max_queue = 64;
  HttpServer server(io, opts);
  std::vector<std::shared_ptr<WsConnection>> peers;
  server.on_websocket([](const Request&) -> std::optional<Response> { return std::nullopt; },
                      [&](std::shared_ptr<WsConnection> c, const Request&) { peers.push_back(c); });
  uint16_t port = server.start();
  test::run_coro(io, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    const Url url = local(port);
    const WsClientOptions wso;
    auto fast = co_await ws_connect(url, "/", wso);
    size_t fast_got = 0;
    fast.connection->on_message = [&](std::string_view) { ++fast_got; };
    // The slow reader is a raw socket that completes the handshake and then never reads.
    asio::ip::tcp::socket slow(io);
    co_await slow.async_connect({asio::ip::make_address("127.0.0.1"), port}, use_awaitable);
    std::string hs =
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    co_await asio::async_write(slow, asio::buffer(hs), use_awaitable);
    EXPECT_TRUE(co_await test::wait_until([&] { return peers.size() == 2; }));
    std::string payload(2000, 'x');
    const int total = 5000;
    for (int i = 0; i < total; ++i) {
      for (auto& p : peers) p->send(payload);
      if (i % 10 == 0) co_await sleep_for(std::chrono::milliseconds(1));
    }
    EXPECT_TRUE(peers[0]->is_open());   // the fast one keeps up
    EXPECT_FALSE(peers[1]->is_open());  // the slow one was dropped
    EXPECT_LE(peers[1]->queued(), 64u);
    EXPECT_TRUE(
        co_await test::wait_until([&] { return fast_got == total; }, std::chrono::seconds(15)));
  });
}

// A raw client: the server answers ping with pong, echoes a close frame with
// the client's code, then closes the socket; what was sent before the close
// arrives complete and in order (coalesced writes keep frame boundaries).
TEST(WebSocket, PingPongCloseEchoAndOrderOnARawSocket) {
  asio::io_context io;
  HttpServer server(io, {});
  std::shared_ptr<WsConnection> peer;
  bool peer_closed = false;
  server.on_websocket([](const Request&) -> std::optional<Response> { return std::nullopt; },
                      [&](std::shared_ptr<WsConnection> c, const Request&) {
                        peer = c;
                        c->on_close = [&] { peer_closed = true; };
                      });
  uint16_t port = server.start();
  test::run_coro(io, [&]() -> awaitable<void> {
    asio::ip::tcp::socket s(io);
    co_await s.async_connect({asio::ip::make_address("127.0.0.1"), port}, use_awaitable);
    std::string hs =
        "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(hs), use_awaitable);
    std::string in;
    co_await asio::async_read_until(s, asio::dynamic_buffer(in), "\r\n\r\n", use_awaitable);
    EXPECT_NE(in.find("101 Switching Protocols"), std::string::npos) << in;
    EXPECT_NE(in.find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos);
    in.erase(0, in.find("\r\n\r\n") + 4);
    EXPECT_TRUE(co_await test::wait_until([&] { return peer != nullptr; }));
    if (!peer) co_return;
    for (int i = 0; i < 100; ++i) peer->send("m" + std::to_string(i));
    // A masked ping ("hi"), then a masked close with code 4000.
    const char mask[4] = {1, 2, 3, 4};
    std::string frames;
    frames += "\x89\x82";
    frames.append(mask, 4);
    frames += static_cast<char>('h' ^ 1);
    frames += static_cast<char>('i' ^ 2);
    frames += "\x88\x82";
    frames.append(mask, 4);
    frames += static_cast<char>(0x0F ^ 1);  // 4000 = 0x0FA0
    frames += static_cast<char>(0xA0 ^ 2);
    co_await asio::async_write(s, asio::buffer(frames), use_awaitable);
    // Read until the server closes the socket.
    boost::system::error_code ec;
    for (;;) {
      char buf[4096];
      size_t n =
          co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      in.append(buf, n);
    }
    // Decode the server's (unmasked, small) frames.
    std::vector<std::pair<int, std::string>> got;
    size_t i = 0;
    while (i + 2 <= in.size()) {
      const int op = static_cast<uint8_t>(in[i]) & 0x0F;
      const size_t len = static_cast<uint8_t>(in[i + 1]) & 0x7F;
      got.emplace_back(op, in.substr(i + 2, len));
      i += 2 + len;
    }
    EXPECT_EQ(i, in.size());
    CO_ASSERT_EQ(got.size(), 102u);
    for (int k = 0; k < 100; ++k) {
      EXPECT_EQ(got[k].first, 1);
      EXPECT_EQ(got[k].second, "m" + std::to_string(k));
    }
    EXPECT_EQ(got[100], (std::pair<int, std::string>{0xA, "hi"}));
    EXPECT_EQ(got[101], (std::pair<int, std::string>{0x8, std::string("\x0F\xA0", 2)}));
    EXPECT_TRUE(co_await test::wait_until([&] { return peer_closed; }));
  });
}
