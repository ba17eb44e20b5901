#include "net/http_server.hpp"

#include <array>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <limits>
#include <unordered_set>

#include "common/json.hpp"
#include "common/log.hpp"
#include "net/ws_frames.hpp"
#include "net/ws_server_peer.hpp"

namespace aa::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;

namespace {

// What the server knows of one open connection, for shutdown and eviction.
struct ConnState {
  beast::tcp_stream* stream = nullptr;
  bool busy = false;  // a request is being handled
  bool idle = true;   // waiting for a request's headers (never spoke, or keep-alive)
  bool evicted = false;
  std::chrono::steady_clock::time_point idle_since = std::chrono::steady_clock::now();
};

/// Cancels the socket's pending operations when `after` has passed, so that
/// the session can still answer (408) — Beast's own stream timeout closes the
/// socket instead. Does nothing once destroyed.
class Deadline {
 public:
  Deadline(tcp::socket& sock, std::chrono::milliseconds after)
      : timer_(sock.get_executor()), state_(std::make_shared<State>()) {
    timer_.expires_after(after);
    timer_.async_wait([st = state_, &sock](const boost::system::error_code& ec) {
      if (ec || !st->armed) return;
      st->expired = true;
      boost::system::error_code ignored;
      sock.cancel(ignored);
    });
  }
  ~Deadline() {
    state_->armed = false;
    timer_.cancel();
  }
  Deadline(const Deadline&) = delete;
  Deadline& operator=(const Deadline&) = delete;
  bool expired() const { return state_->expired; }

 private:
  struct State {
    bool armed = true;
    bool expired = false;
  };
  asio::steady_timer timer_;
  std::shared_ptr<State> state_;
};

/// Errors that mean the peer went away (or we closed it): nothing to answer.
bool peer_gone(const boost::system::error_code& ec) {
  return ec == http::error::end_of_stream || ec == http::error::partial_message ||
         ec == asio::error::eof || ec == asio::error::connection_reset ||
         ec == asio::error::broken_pipe || ec == asio::error::operation_aborted ||
         ec == beast::error::timeout;
}

Request to_request(http::request<http::string_body>& msg, const std::string& remote) {
  Request r;
  r.method = std::string(msg.method_string());
  r.target = std::string(msg.target());
  split_target(r.target, r.path, r.query);
  for (const auto& f : msg)
    r.headers.push_back({std::string(f.name_string()), std::string(f.value())});
  r.body = std::move(msg.body());
  r.remote = remote;
  return r;
}

}  // namespace

struct HttpServer::Impl : std::enable_shared_from_this<HttpServer::Impl> {
  asio::io_context& io;
  ServerOptions opts;
  tcp::acceptor acceptor;
  HttpHandler handler;
  WsUpgradeCheck ws_check;
  WsOpenHandler ws_open;
  std::unordered_set<std::shared_ptr<ConnState>> conns;
  std::vector<std::weak_ptr<WsConnection>> websockets;
  size_t live_websockets = 0;  // upgraded sessions still reading
  size_t evicting = 0;         // evicted, their sessions not yet ended
  uint64_t evicted = 0, refused = 0;
  bool accepting = false;
  bool draining = false;
  uint16_t bound_port = 0;

  Impl(asio::io_context& io_, ServerOptions o) : io(io_), opts(std::move(o)), acceptor(io_) {}

  Response error_response(int status, std::string_view message) {
    if (opts.error_response) return opts.error_response(status, message);
    return Response::json(status, json::object_with("error", message));
  }

  // `self` is a parameter, not a local: a coroutine starts lazily, and the
  // server may be destroyed before the first resume.
  awaitable<void> accept_loop(std::shared_ptr<Impl> self) {
    while (accepting) {
      boost::system::error_code ec;
      tcp::socket sock = co_await acceptor.async_accept(asio::redirect_error(use_awaitable, ec));
      if (ec) {
        if (!accepting || ec == asio::error::operation_aborted) break;
        log::warn("accept failed: {}", ec.message());
        // Out of fds and similar: back off a little instead of spinning.
        co_await sleep_for(std::chrono::milliseconds(50));
        continue;
      }
      sock.set_option(tcp::no_delay(true), ec);
      if (!make_room()) {
        ++refused;
        spawn(io.get_executor(), refuse(std::move(sock)), "http refuse");
        continue;
      }
      spawn(io.get_executor(), session(self, std::move(sock)), "http session");
    }
  }

  /// Below max_connections, or made so by closing the connection idle the longest.
  bool make_room() {
    if (conns.size() - evicting + live_websockets < opts.max_connections) return true;
    std::shared_ptr<ConnState> oldest;
    for (const auto& c : conns)
      if (c->idle && !c->evicted && c->stream && (!oldest || c->idle_since < oldest->idle_since))
        oldest = c;
    if (!oldest) return false;
    oldest->evicted = true;
    ++evicting;
    boost::system::error_code ec;
    oldest->stream->socket().cancel(ec);  // its session ends at once and closes it
    ++evicted;
    return true;  // the evicted one leaves `conns` as soon as its session resumes
  }

  /// Every connection is busy: say so instead of a bare close.
  awaitable<void> refuse(tcp::socket sock) {
    Response r = error_response(503, "Too many connections");
    std::string out = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: " + r.content_type +
                      "\r\nContent-Length: " + std::to_string(r.body.size()) +
                      "\r\nRetry-After: 1\r\nConnection: close\r\n\r\n" + r.body;
    boost::system::error_code ec;
    {
      Deadline dl(sock, std::chrono::milliseconds(1000));
      co_await asio::async_write(sock, asio::buffer(out), asio::redirect_error(use_awaitable, ec));
    }
    sock.shutdown(tcp::socket::shutdown_send, ec);
    sock.close(ec);
  }

  /// After an answer that ends the connection: send FIN, then read and discard
  /// what the client still sends (bounded in bytes and time) before closing,
  /// so that closing with unread bytes does not reset the connection before the
  /// client has read the answer.
  awaitable<void> linger(beast::tcp_stream& stream, beast::flat_buffer& buffer) {
    boost::system::error_code ec;
    stream.expires_never();
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    size_t total = buffer.size();
    buffer.consume(buffer.size());
    Deadline dl(stream.socket(), opts.drain_timeout);
    std::array<char, 16 * 1024> scratch;
    while (total < opts.drain_max_bytes) {
      const size_t n = co_await stream.socket().async_read_some(
          asio::buffer(scratch), asio::redirect_error(use_awaitable, ec));
      if (ec) break;
      total += n;
    }
  }

  template <typename Body>
  static void finish_headers(http::response<Body>& res, const Response& r, bool keep_alive,
                             const std::string& server) {
    if (!r.content_type.empty()) res.set(http::field::content_type, r.content_type);
    if (!server.empty()) res.set(http::field::server, server);
    for (const auto& h : r.headers) res.insert(h.name, h.value);
    res.keep_alive(keep_alive);
  }

  awaitable<bool> write_response(beast::tcp_stream& stream, Response& r, unsigned version,
                                 bool keep_alive, bool head) {
    boost::system::error_code ec;
    stream.expires_after(opts.body_timeout);
    if (!r.file_path.empty()) {
      http::response<http::file_body> res{static_cast<http::status>(r.status), version};
      res.body().open(r.file_path.c_str(), beast::file_mode::scan, ec);
      if (ec) {
        Response err = error_response(404, "File not found");
        co_return co_await write_response(stream, err, version, keep_alive, head);
      }
      finish_headers(res, r, keep_alive, opts.server_header);
      res.prepare_payload();
      if (head) {
        http::response_serializer<http::file_body> sr{res};
        co_await http::async_write_header(stream, sr, asio::redirect_error(use_awaitable, ec));
      } else {
        co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
      }
    } else {
      http::response<http::string_body> res{static_cast<http::status>(r.status), version};
      finish_headers(res, r, keep_alive, opts.server_header);
      res.body() = std::move(r.body);
      res.prepare_payload();
      if (head) res.body().clear();
      co_await http::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
    }
    co_return !ec;
  }

  awaitable<void> session(std::shared_ptr<Impl> self, tcp::socket sock) {
    (void)self;
    std::string remote;
    {
      boost::system::error_code ec;
      auto ep = sock.remote_endpoint(ec);
      if (!ec) remote = ep.address().to_string() + ":" + std::to_string(ep.port());
    }
    beast::tcp_stream stream(std::move(sock));
    auto state = std::make_shared<ConnState>();
    state->stream = &stream;
    conns.insert(state);
    struct Erase {
      Impl* impl;
      std::shared_ptr<ConnState> st;
      ~Erase() {
        st->stream = nullptr;
        if (st->evicted) --impl->evicting;
        impl->conns.erase(st);
      }
    } erase{this, state};

    beast::flat_buffer buffer;
    bool first = true;
    bool graceful = false;  // linger before closing (an error answer was sent)
    for (;;) {
      if (draining) break;
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(opts.max_header_bytes));
      // No body limit while reading the headers: the per-request limit is decided
      // on them below, and an oversized Content-Length must be a 413, not a 400.
      // (Not boost::none: Beast 1.74 compares a known length against an empty optional as "over".)
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      state->idle = true;
      state->idle_since = std::chrono::steady_clock::now();
      stream.expires_never();  // our Deadline decides, so that a late request still gets 408
      boost::system::error_code ec;
      bool timed_out = false;
      {
        Deadline dl(stream.socket(), first ? opts.header_timeout : opts.idle_timeout);
        co_await http::async_read_header(stream, buffer, parser,
                                         asio::redirect_error(use_awaitable, ec));
        timed_out = dl.expired();
      }
      first = false;
      state->idle = false;
      if (state->evicted) break;
      if (ec) {
        Response r;
        if (timed_out) {
          // Silence for an idle connection; a request cut short is told why.
          if (buffer.size() == 0) break;
          r = error_response(408, "Request header not received in time");
        } else if (ec == http::error::header_limit) {
          r = error_response(431, "Request header fields too large");
        } else if (!peer_gone(ec)) {
          r = error_response(400, "Malformed HTTP request");
        } else {
          break;
        }
        graceful = co_await write_response(stream, r, 11, false, false);
        break;
      }
      state->busy = true;
      auto started = std::chrono::steady_clock::now();
      auto& hdr = parser.get();
      unsigned version = hdr.version();

      // Body limit per request, decided on the headers.
      Request probe;
      probe.method = std::string(hdr.method_string());
      probe.target = std::string(hdr.target());
      split_target(probe.target, probe.path, probe.query);
      for (const auto& f : hdr)
        probe.headers.push_back({std::string(f.name_string()), std::string(f.value())});
      size_t limit = opts.body_limit ? opts.body_limit(probe) : opts.default_body_limit;
      parser.body_limit(limit);
      auto content_length = parser.content_length();
      if (content_length && *content_length > limit) {
        Response r = error_response(413, "Request body too large");
        graceful = co_await write_response(stream, r, version, false, false);
        finish(probe, r, started);
        break;
      }

      if (websocket::is_upgrade(hdr) && ws_check) {
        stream.expires_never();
        std::optional<Response> refuse = ws_check(probe);
        // A 101 "refusal" is an acceptance with extra handshake headers
        // (e.g. the Sec-WebSocket-Protocol chosen).
        std::vector<Header> accept_headers;
        if (refuse && refuse->status == 101) {
          accept_headers = std::move(refuse->headers);
          refuse.reset();
        }
        if (refuse) {
          co_await write_response(stream, *refuse, version, false, false);
          finish(probe, *refuse, started);
          break;
        }
        const std::string key(hdr["Sec-WebSocket-Key"]);
        if (key.empty() || hdr["Sec-WebSocket-Version"] != "13") {
          Response r = key.empty() ? error_response(400, "Missing Sec-WebSocket-Key")
                                   : error_response(426, "Unsupported WebSocket version");
          r.headers.push_back({"Sec-WebSocket-Version", "13"});
          co_await write_response(stream, r, version, false, false);
          finish(probe, r, started);
          break;
        }
        state->stream = nullptr;  // the socket is about to belong to the WebSocket
        state->busy = false;
        conns.erase(state);
        ++live_websockets;
        struct Unlive {
          size_t& n;
          ~Unlive() { --n; }
        } unlive{live_websockets};
        std::string answer =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: "
            "Upgrade\r\nSec-WebSocket-Accept: " +
            ws::accept_key(key) + "\r\n";
        for (const auto& h : accept_headers) answer += h.name + ": " + h.value + "\r\n";
        if (!opts.server_header.empty()) answer += "Server: " + opts.server_header + "\r\n";
        answer += "\r\n";
        stream.expires_after(opts.header_timeout);
        co_await asio::async_write(stream, asio::buffer(answer),
                                   asio::redirect_error(use_awaitable, ec));
        if (ec) break;
        stream.expires_never();
        // Bytes past the upgrade request are the client's first frames.
        const auto rest = buffer.data();
        std::string early(static_cast<const char*>(rest.data()), rest.size());
        auto peer = std::make_shared<detail::ServerWsPeer>(
            stream.release_socket(), opts.ws_max_queue, opts.ws_max_queued_bytes,
            opts.ws_overflow_close_code, opts.ws_max_message);
        websockets.push_back(peer);
        if (ws_open) ws_open(peer, probe);
        co_await peer->read_loop(peer, std::move(early));
        std::erase_if(websockets, [](const auto& w) { return w.expired(); });
        co_return;  // the WebSocket owned the socket
      }

      if (hdr[http::field::expect] == "100-continue") {
        http::response<http::empty_body> cont{http::status::continue_, version};
        co_await http::async_write(stream, cont, asio::redirect_error(use_awaitable, ec));
        if (ec) break;
      }
      {
        stream.expires_never();
        Deadline dl(stream.socket(), opts.body_timeout);
        co_await http::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
        timed_out = dl.expired();
      }
      if (ec) {
        Response r;
        if (timed_out) {
          r = error_response(408, "Request body not received in time");
        } else if (ec == http::error::body_limit) {
          r = error_response(413, "Request body too large");
        } else if (!peer_gone(ec)) {
          // A malformed chunked encoding and the like.
          r = error_response(400, "Malformed request body");
        } else {
          break;
        }
        graceful = co_await write_response(stream, r, version, false, false);
        finish(probe, r, started);
        break;
      }
      auto msg = parser.release();
      bool keep_alive = msg.keep_alive();
      bool head = msg.method() == http::verb::head;
      Request req = to_request(msg, remote);
      Response res;
      stream.expires_never();  // the handler may legitimately wait (e.g. play and wait)
      try {
        if (handler) {
          res = co_await handler(req);
        } else {
          res = error_response(404, "Not found");
        }
      } catch (const std::exception& e) {
        log::error("handler for {} {} threw: {}", req.method, req.path, e.what());
        res = error_response(500, "Internal error");
      }
      if (draining) keep_alive = false;
      bool ok = co_await write_response(stream, res, version, keep_alive, head);
      finish(req, res, started);
      state->busy = false;
      if (!ok || !keep_alive) break;
    }
    if (graceful && !state->evicted) {
      state->busy = false;  // nothing left to answer: shutdown may cut the wait short
      co_await linger(stream, buffer);
    }
    boost::system::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream.close();
  }

  void finish(const Request& req, const Response& res, std::chrono::steady_clock::time_point t0) {
    if (opts.on_complete) {
      auto us = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - t0);
      opts.on_complete(req, res, us);
    }
  }
};

HttpServer::HttpServer(asio::io_context& io, ServerOptions opts)
    : impl_(std::make_shared<Impl>(io, std::move(opts))) {}

HttpServer::~HttpServer() {
  boost::system::error_code ec;
  impl_->accepting = false;
  impl_->acceptor.close(ec);
}

void HttpServer::on_request(HttpHandler handler) {
  impl_->handler = std::move(handler);
}

void HttpServer::on_websocket(WsUpgradeCheck check, WsOpenHandler open) {
  impl_->ws_check = std::move(check);
  impl_->ws_open = std::move(open);
}

uint16_t HttpServer::start() {
  auto& im = *impl_;
  tcp::resolver resolver(im.io);
  // Listening addresses are literals or "localhost"; resolve synchronously once at start-up.
  auto results = resolver.resolve(im.opts.host, std::to_string(im.opts.port),
                                  tcp::resolver::passive | tcp::resolver::numeric_service);
  tcp::endpoint ep = results.begin()->endpoint();
  im.acceptor.open(ep.protocol());
  im.acceptor.set_option(tcp::acceptor::reuse_address(true));
  im.acceptor.bind(ep);
  im.acceptor.listen(asio::socket_base::max_listen_connections);
  im.bound_port = im.acceptor.local_endpoint().port();
  im.accepting = true;
  im.draining = false;
  spawn(im.io.get_executor(), im.accept_loop(impl_), "http accept");
  return im.bound_port;
}

uint16_t HttpServer::port() const {
  return impl_->bound_port;
}

void HttpServer::stop_accepting() {
  boost::system::error_code ec;
  impl_->accepting = false;
  impl_->acceptor.close(ec);
}

void HttpServer::close_websockets(uint16_t code, std::string reason) {
  for (auto& w : impl_->websockets)
    if (auto c = w.lock()) c->close(code, reason);
}

awaitable<void> HttpServer::shutdown(std::chrono::milliseconds deadline) {
  auto im = impl_;
  im->draining = true;
  stop_accepting();
  auto until = std::chrono::steady_clock::now() + deadline;
  for (;;) {
    // Idle keep-alive connections are waiting for a request that may never come.
    for (auto& c : im->conns)
      if (c->stream && !c->busy) c->stream->cancel();
    bool any_busy = false;
    for (auto& c : im->conns) any_busy |= c->busy;
    if (!any_busy || std::chrono::steady_clock::now() >= until) break;
    co_await sleep_for(std::chrono::milliseconds(10));
  }
  for (auto& c : im->conns)
    if (c->stream) c->stream->cancel();
  for (auto& w : im->websockets)
    if (auto c = w.lock()) std::static_pointer_cast<detail::ServerWsPeer>(c)->hard_close();
}

size_t HttpServer::open_connections() const {
  return impl_->conns.size();
}

uint64_t HttpServer::evicted_connections() const {
  return impl_->evicted;
}

uint64_t HttpServer::refused_connections() const {
  return impl_->refused;
}

size_t HttpServer::open_websockets() const {
  size_t n = 0;
  for (auto& w : impl_->websockets)
    if (auto c = w.lock(); c && c->is_open()) ++n;
  return n;
}

}  // namespace aa::net
