#include "net/ws_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include "net/ws_peer.hpp"

namespace aa::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

// The stream lives in the peer from the start: moving Beast streams through
// coroutine parameters trips g++ 12's coroutine code generation.
template <typename NextLayer>
awaitable<WsConnectResult> handshake(std::shared_ptr<detail::WsPeer<NextLayer>> peer,
                                     const Url& url, const std::string& target,
                                     const WsClientOptions& opts) {
  WsConnectResult out;
  auto& ws = peer->stream();
  std::string host = url.host;
  if (url.port != (url.tls() ? "443" : "80")) host += ":" + url.port;
  std::string auth =
      opts.basic_auth.empty() ? std::string{} : "Basic " + base64_encode(opts.basic_auth);
  auto headers = opts.headers;
  ws.set_option(websocket::stream_base::decorator([auth, headers](websocket::request_type& req) {
    req.set(http::field::user_agent, "asterisk-api");
    if (!auth.empty()) req.set(http::field::authorization, auth);
    for (const auto& h : headers) req.set(h.name, h.value);
  }));
  websocket::stream_base::timeout to{};
  to.handshake_timeout = opts.connect_timeout;
  // Ping an idle peer so a dead one is noticed (Asterisk answers pings).
  to.idle_timeout = std::chrono::seconds(20);
  to.keep_alive_pings = true;
  ws.set_option(to);
  ws.read_message_max(opts.max_message);
  websocket::response_type res;
  boost::system::error_code ec;
  co_await ws.async_handshake(res, host, target, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    // A status only when an answer came (Beast's response defaults to 200).
    if (ec == websocket::error::upgrade_declined) {
      out.http_status = static_cast<int>(res.result_int());
      out.body = res.body();
    }
    out.timed_out = ec == beast::error::timeout;
    out.error = ec == beast::error::timeout ? "no WebSocket answer in time" : ec.message();
    co_return out;
  }
  beast::get_lowest_layer(ws).expires_never();
  out.http_status = 101;
  out.connection = peer;
  spawn(peer->stream().get_executor(), peer->read_loop(peer), "websocket client reader");
  co_return out;
}

}  // namespace

awaitable<WsConnectResult> ws_connect(const Url& url, std::string target, WsClientOptions opts) {
  auto ex = co_await asio::this_coro::executor;
  WsConnectResult out;
  tcp::resolver resolver(ex);
  boost::system::error_code ec;
  auto results =
      co_await resolver.async_resolve(url.host, url.port, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    out.error = "cannot resolve " + url.host + ": " + ec.message();
    co_return out;
  }
  if (!url.tls()) {
    beast::tcp_stream s(ex);
    s.expires_after(opts.connect_timeout);
    co_await s.async_connect(results, asio::redirect_error(use_awaitable, ec));
    if (ec) {
      out.error = "cannot connect to " + url.host + ":" + url.port + ": " + ec.message();
      out.timed_out = ec == beast::error::timeout;
      co_return out;
    }
    s.socket().set_option(tcp::no_delay(true), ec);
    auto peer = std::make_shared<detail::WsPeer<beast::tcp_stream>>(
        websocket::stream<beast::tcp_stream>(std::move(s)), opts.max_queue, opts.max_queued_bytes,
        1008);
    auto r = co_await handshake(peer, url, target, opts);
    co_return r;
  }
  // The TLS context must outlive the stream: keep one per process.
  static ssl::context verify_ctx = [] {
    ssl::context c(ssl::context::tls_client);
    c.set_default_verify_paths();
    c.set_verify_mode(ssl::verify_peer);
    return c;
  }();
  static ssl::context noverify_ctx = [] {
    ssl::context c(ssl::context::tls_client);
    c.set_verify_mode(ssl::verify_none);
    return c;
  }();
  using Tls = beast::ssl_stream<beast::tcp_stream>;
  Tls s(ex, opts.verify_tls ? verify_ctx : noverify_ctx);
  auto& low = beast::get_lowest_layer(s);
  low.expires_after(opts.connect_timeout);
  co_await low.async_connect(results, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    out.error = "cannot connect to " + url.host + ":" + url.port + ": " + ec.message();
    out.timed_out = ec == beast::error::timeout;
    co_return out;
  }
  SSL_set_tlsext_host_name(s.native_handle(), url.host.c_str());
  if (opts.verify_tls) s.set_verify_callback(ssl::host_name_verification(url.host));
  co_await s.async_handshake(ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
  if (ec) {
    out.error = "TLS handshake with " + url.host + " failed: " + ec.message();
    co_return out;
  }
  low.expires_never();
  auto peer = std::make_shared<detail::WsPeer<Tls>>(websocket::stream<Tls>(std::move(s)),
                                                    opts.max_queue, opts.max_queued_bytes, 1008);
  auto r = co_await handshake(peer, url, target, opts);
  co_return r;
}

}  // namespace aa::net
