// What a client can make the server hold or hide, through raw loopback sockets:
// error answers a client that writes before it reads still gets (413, 400,
// 408), the connection cap that keeps serving, and WebSocket queues that stay
// bounded under a ping flood.
#include <gtest/gtest.h>

#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/ws_client.hpp"
#include "support/run_io.hpp"

using namespace aa;
using namespace aa::net;
using tcp = asio::ip::tcp;

namespace {

Url local(uint16_t port) {
  return *parse_url("http://127.0.0.1:" + std::to_string(port));
}

/// Everything the server sends until it closes the connection (or `limit` passes).
awaitable<std::string> read_all(tcp::socket& s, std::chrono::milliseconds limit) {
  std::string in;
  const auto until = std::chrono::steady_clock::now() + limit;
  asio::steady_timer guard(s.get_executor());
  guard.expires_at(until);
  guard.async_wait([&s](const boost::system::error_code& ec) {
    boost::system::error_code ignored;
    if (!ec) s.cancel(ignored);
  });
  for (;;) {
    char buf[4096];
    boost::system::error_code ec;
    const size_t n =
        co_await s.async_read_some(asio::buffer(buf), asio::redirect_error(use_awaitable, ec));
    if (ec) break;
    in.append(buf, n);
  }
  guard.cancel();
  co_return in;
}

awaitable<tcp::socket> connect_raw(uint16_t port) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket s(ex);
  co_await s.async_connect({asio::ip::make_address("127.0.0.1"), port}, use_awaitable);
  co_return s;
}

/// A server answering every request 200 `{"ok":true}`, with small limits.
struct Server {
  explicit Server(asio::io_context& io, ServerOptions o = {}) : server(io, tune(std::move(o))) {
    server.on_request(
        [](Request&) -> awaitable<Response> { co_return Response::json(200, R"({"ok":true})"); });
    port = server.start();
  }
  static ServerOptions tune(ServerOptions o) {
    o.body_limit = [](const Request&) -> size_t { return 64 * 1024; };
    return o;
  }
  HttpServer server;
  uint16_t port = 0;
};

std::string status_line(const std::string& response) {
  return response.substr(0, response.find("\r\n"));
}

std::string body_of(const std::string& response) {
  const size_t p = response.find("\r\n\r\n");
  return p == std::string::npos ? std::string{} : response.substr(p + 4);
}

}  // namespace

// Python's requests and Node write the whole body before they read: the 413
// must be readable, not lost to a reset caused by closing with unread bytes.
TEST(HttpServerHardening, OversizedBodyWrittenBeforeReadingGetsA413) {
  asio::io_context io;
  Server srv(io);
  test::run_coro(io, [&]() -> awaitable<void> {
    tcp::socket s = co_await connect_raw(srv.port);
    const std::string body(4 * 1024 * 1024, 'x');
    const std::string req =
        "POST /calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
    boost::system::error_code ec;
    co_await asio::async_write(s, asio::buffer(req), asio::redirect_error(use_awaitable, ec));
    EXPECT_FALSE(ec) << "the whole body could not be written: " << ec.message();
    const std::string in = co_await read_all(s, std::chrono::seconds(10));
    EXPECT_EQ(status_line(in), "HTTP/1.1 413 Payload Too Large") << in.substr(0, 200);
    EXPECT_NE(body_of(in).find("\"error\""), std::string::npos) << in;
  });
}

TEST(HttpServerHardening, OversizedChunkedBodyWrittenBeforeReadingGetsA413) {
  asio::io_context io;
  Server srv(io);
  test::run_coro(io, [&]() -> awaitable<void> {
    tcp::socket s = co_await connect_raw(srv.port);
    std::string req = "POST /calls HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    const std::string chunk(32 * 1024, 'y');
    for (int i = 0; i < 64; ++i) req += "8000\r\n" + chunk + "\r\n";
    req += "0\r\n\r\n";
    boost::system::error_code ec;
    co_await asio::async_write(s, asio::buffer(req), asio::redirect_error(use_awaitable, ec));
    EXPECT_FALSE(ec) << ec.message();
    const std::string in = co_await read_all(s, std::chrono::seconds(10));
    EXPECT_EQ(status_line(in), "HTTP/1.1 413 Payload Too Large") << in.substr(0, 200);
  });
}

TEST(HttpServerHardening, MalformedChunkedBodyGetsA400) {
  asio::io_context io;
  Server srv(io);
  test::run_coro(io, [&]() -> awaitable<void> {
    const std::vector<std::string> bads = {"ZZZ\r\nhello\r\n0\r\n\r\n", "5\r\nhelloXX0\r\n\r\n",
                                           "5;\x01=\r\nhello\r\n0\r\n\r\n"};
    for (const auto& bad : bads) {
      tcp::socket s = co_await connect_raw(srv.port);
      const std::string req =
          "POST /calls HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + bad;
      co_await asio::async_write(s, asio::buffer(req), use_awaitable);
      const std::string in = co_await read_all(s, std::chrono::seconds(5));
      EXPECT_EQ(status_line(in), "HTTP/1.1 400 Bad Request") << testing::PrintToString(bad);
      EXPECT_NE(body_of(in).find("Malformed"), std::string::npos) << in;
    }
  });
}

TEST(HttpServerHardening, BodyThatArrivesTooSlowlyGetsA408) {
  asio::io_context io;
  ServerOptions o;
  o.body_timeout = std::chrono::milliseconds(300);
  Server srv(io, o);
  test::run_coro(io, [&]() -> awaitable<void> {
    tcp::socket s = co_await connect_raw(srv.port);
    const std::string req =
        "POST /calls HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 100\r\n\r\n{\"endpoint\":";
    co_await asio::async_write(s, asio::buffer(req), use_awaitable);
    const std::string in = co_await read_all(s, std::chrono::seconds(5));
    EXPECT_EQ(status_line(in), "HTTP/1.1 408 Request Timeout") << in;
    EXPECT_NE(body_of(in).find("not received in time"), std::string::npos) << in;
  });
}

TEST(HttpServerHardening, HeaderCutShortGetsA408AndAnIdleConnectionIsClosedSilently) {
  asio::io_context io;
  ServerOptions o;
  o.header_timeout = std::chrono::milliseconds(300);
  Server srv(io, o);
  test::run_coro(io, [&]() -> awaitable<void> {
    tcp::socket partial = co_await connect_raw(srv.port);
    const std::string start = "GET /health HTTP/1.1\r\nHost: x\r\n";
    co_await asio::async_write(partial, asio::buffer(start), use_awaitable);
    tcp::socket idle = co_await connect_raw(srv.port);
    const std::string in = co_await read_all(partial, std::chrono::seconds(5));
    EXPECT_EQ(status_line(in), "HTTP/1.1 408 Request Timeout") << in;
    EXPECT_EQ(co_await read_all(idle, std::chrono::seconds(5)), "");
  });
}

// A few thousand sockets that never send a request must not lock real clients
// out: at the cap the longest-idle connection makes room.
TEST(HttpServerHardening, IdleConnectionsAtTheCapDoNotStarveNewClients) {
  asio::io_context io;
  ServerOptions o;
  o.max_connections = 8;
  Server srv(io, o);
  test::run_coro(io, [&]() -> awaitable<void> {
    std::vector<tcp::socket> idle;
    for (int i = 0; i < 8; ++i) idle.push_back(co_await connect_raw(srv.port));
    CO_ASSERT_TRUE(co_await test::wait_until([&] { return srv.server.open_connections() == 8; }));
    for (int round = 0; round < 3; ++round) {
      const ClientOptions co;
      auto r =
          co_await http_fetch("GET", "http://127.0.0.1:" + std::to_string(srv.port) + "/health", "",
                              "", HttpClient::no_headers(), co);
      EXPECT_EQ(r.status, 200) << r.error_message;
    }
    EXPECT_GE(srv.server.evicted_connections(), 1u);
    EXPECT_LE(srv.server.open_connections(), 8u);
    // The first idle socket was the longest idle: it was closed.
    EXPECT_EQ(co_await read_all(idle.front(), std::chrono::seconds(2)), "");
  });
}

TEST(HttpServerHardening, AtTheCapWithNothingIdleTheNewConnectionIsAnswered503) {
  asio::io_context io;
  ServerOptions o;
  o.max_connections = 16;
  HttpServer server(io, o);
  std::vector<std::shared_ptr<WsConnection>> sockets;
  server.on_websocket(
      [](const Request&) -> std::optional<Response> { return std::nullopt; },
      [&](std::shared_ptr<WsConnection> c, const Request&) { sockets.push_back(std::move(c)); });
  const uint16_t port = server.start();
  test::run_coro(io, [&]() -> awaitable<void> {
    // WebSockets are never evicted.
    std::vector<std::shared_ptr<WsConnection>> clients;
    for (int i = 0; i < 16; ++i) {
      const WsClientOptions wo;
      auto r = co_await ws_connect(local(port), "/events", wo);
      CO_ASSERT_TRUE(r.connection);
      clients.push_back(r.connection);
    }
    CO_ASSERT_TRUE(co_await test::wait_until([&] { return server.open_websockets() == 16; }));
    tcp::socket s = co_await connect_raw(port);
    const std::string in = co_await read_all(s, std::chrono::seconds(5));
    EXPECT_EQ(status_line(in), "HTTP/1.1 503 Service Unavailable") << in;
    EXPECT_EQ(server.refused_connections(), 1u);
    EXPECT_EQ(server.open_websockets(), 16u);
    for (auto& c : clients) c->close(1000);
    CO_ASSERT_TRUE(co_await test::wait_until([&] { return server.open_websockets() == 0; }));
  });
}

// A client that sends pings and never reads: the pongs must not pile up.
TEST(WebSocketHardening, PingFloodWithoutReadingKeepsTheQueueBounded) {
  asio::io_context io;
  HttpServer server(io, {});
  std::shared_ptr<WsConnection> peer;
  server.on_websocket([](const Request&) -> std::optional<Response> { return std::nullopt; },
                      [&](std::shared_ptr<WsConnection> c, const Request&) { peer = c; });
  const uint16_t port = server.start();
  size_t max_queued = 0;
  size_t sent = 0;
  test::run_coro(io, [&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    tcp::socket s(ex);
    s.open(tcp::v4());
    s.set_option(asio::socket_base::receive_buffer_size(4096));
    co_await s.async_connect({asio::ip::make_address("127.0.0.1"), port}, use_awaitable);
    const std::string hs =
        "GET /events HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    co_await asio::async_write(s, asio::buffer(hs), use_awaitable);
    std::string in;
    co_await asio::async_read_until(s, asio::dynamic_buffer(in), "\r\n\r\n", use_awaitable);
    CO_ASSERT_TRUE(co_await test::wait_until([&] { return peer != nullptr; }));
    // 125-byte masked pings, 8 MiB of them, and never a read.
    std::string ping = "\x89";
    ping += static_cast<char>(0x80 | 125);
    ping += std::string("\x01\x02\x03\x04", 4);
    ping += std::string(125, 'p');
    std::string batch;
    for (int i = 0; i < 1024; ++i) batch += ping;
    bool writing = true, sampled = false;
    auto sampler = [&]() -> awaitable<void> {
      while (writing) {
        if (peer) max_queued = std::max(max_queued, peer->queued_bytes());
        co_await sleep_for(std::chrono::milliseconds(1));
      }
      sampled = true;
    };
    spawn(ex, sampler(), "sampler");
    boost::system::error_code ec;
    while (sent < 8u * 1024 * 1024) {
      co_await asio::async_write(s, asio::buffer(batch), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      sent += batch.size();
      max_queued = std::max(max_queued, peer->queued_bytes());
    }
    writing = false;
    co_await test::wait_until([&] { return sampled; });
    // Either the server kept reading with a bounded queue, or it cut the client.
    if (!ec) {
      EXPECT_TRUE(peer->is_open());
      EXPECT_LE(peer->queued_bytes(), 1024u);
    }
    EXPECT_LE(max_queued, 1024u) << "pongs queued without bound";
    std::printf("[ figures ] ping flood: %zu bytes of pings sent, at most %zu bytes queued\n", sent,
                max_queued);
  });
}
