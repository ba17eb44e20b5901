#include "net/http_stream.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <variant>

namespace aa::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using clock = std::chrono::steady_clock;

namespace {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

// The TLS contexts must outlive every stream: one per process.
ssl::context& tls_context(bool verify) {
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
  return verify ? verify_ctx : noverify_ctx;
}

class Stream final : public HttpStream, public std::enable_shared_from_this<Stream> {
 public:
  Stream(asio::any_io_executor ex, StreamRequest req, StreamCallbacks cb)
      : ex_(std::move(ex)),
        req_(std::move(req)),
        cb_(std::move(cb)),
        resolver_(ex_),
        deadline_timer_(ex_) {}

  void begin() {
    deadline_ = clock::now() + req_.total_timeout;
    deadline_timer_.expires_at(deadline_);
    deadline_timer_.async_wait([weak = weak_from_this()](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->finished_) return;
      self->timed_out_ = true;
      self->abort_io();
    });
    spawn(ex_, run(shared_from_this()), "http stream");
  }

  void cancel() override {
    if (cancelled_) return;
    cancelled_ = true;  // callbacks stay alive: cancel() may be called from one of them
    abort_io();
    deadline_timer_.cancel();
  }

 private:
  void abort_io() {
    resolver_.cancel();
    if (auto* p = std::get_if<std::unique_ptr<PlainStream>>(&stream_); p && *p) (*p)->close();
    if (auto* t = std::get_if<std::unique_ptr<TlsStream>>(&stream_); t && *t)
      beast::get_lowest_layer(**t).close();
  }

  beast::tcp_stream& lowest() {
    if (auto* p = std::get_if<std::unique_ptr<PlainStream>>(&stream_)) return **p;
    return beast::get_lowest_layer(*std::get<std::unique_ptr<TlsStream>>(stream_));
  }

  void expire_within(std::chrono::milliseconds d) {
    lowest().expires_at(std::min(deadline_, clock::now() + d));
  }

  void end(StreamEnd::Error e, std::string msg) {
    if (finished_) return;
    finished_ = true;
    deadline_timer_.cancel();
    auto cb = std::move(cb_.on_end);
    cb_ = {};
    if (cb && !cancelled_) cb(StreamEnd{e, std::move(msg)});
  }

  // Why an operation failed: our own deadline, a per-step timeout, or I/O.
  void fail(const boost::system::error_code& ec, std::string_view step) {
    if (cancelled_) return end(StreamEnd::Error::io, "cancelled");
    if (timed_out_ || ec == beast::error::timeout) {
      const bool total = timed_out_ || clock::now() >= deadline_;
      return end(
          StreamEnd::Error::timeout,
          total ? "no complete answer within " + std::to_string(req_.total_timeout.count()) + " ms"
                : std::string(step) + " timed out");
    }
    if (ec == http::error::body_limit)
      return end(StreamEnd::Error::too_large,
                 "body larger than " + std::to_string(req_.max_body) + " bytes");
    end(step == "connect" ? StreamEnd::Error::connect : StreamEnd::Error::io,
        std::string(step) + ": " + ec.message());
  }

  template <typename S>
  awaitable<void> exchange(S& s, std::shared_ptr<Stream> self) {
    (void)self;
    boost::system::error_code ec;
    http::request<http::string_body> req;
    req.method_string(req_.method);
    req.target(target_);
    req.version(11);
    req.set(http::field::host, host_header_);
    req.set(http::field::user_agent, req_.user_agent);
    if (!url_.userinfo.empty())
      req.set(http::field::authorization,
              "Basic " + base64_encode(url_decode(url_.userinfo, false)));
    if (!req_.content_type.empty()) req.set(http::field::content_type, req_.content_type);
    for (const auto& h : req_.headers) req.set(h.name, h.value);
    req.body() = std::move(req_.body);
    req.keep_alive(false);
    req.prepare_payload();

    expire_within(req_.first_byte_timeout);
    co_await http::async_write(s, req, asio::redirect_error(use_awaitable, ec));
    if (ec || cancelled_) co_return fail(ec, "sending the request");
    beast::flat_buffer buffer;
    // Beast reads at most the buffer's free capacity (512 bytes when empty):
    // room for 16 KiB per socket read keeps the pieces large.
    buffer.reserve(16 * 1024);
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(req_.max_body);
    parser.header_limit(64 * 1024);
    co_await http::async_read_header(s, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec || cancelled_) co_return fail(ec, "waiting for the response");
    {
      StreamHead head;
      head.status = static_cast<int>(parser.get().result_int());
      for (const auto& f : parser.get())
        head.headers.push_back({std::string(f.name_string()), std::string(f.value())});
      if (cb_.on_head) cb_.on_head(head);
      if (cancelled_) co_return;
    }
    // The body: read_some returns with whatever arrived (not a full buffer),
    // so a slow producer's bytes reach the caller as they come.
    lowest().expires_at(deadline_);
    std::vector<char> piece(16 * 1024);
    while (!parser.is_done()) {
      parser.get().body().data = piece.data();
      parser.get().body().size = piece.size();
      co_await http::async_read_some(s, buffer, parser, asio::redirect_error(use_awaitable, ec));
      if (ec == http::error::need_buffer) ec = {};
      if (ec || cancelled_) co_return fail(ec, "reading the body");
      const size_t n = piece.size() - parser.get().body().size;
      if (n && cb_.on_body) cb_.on_body(std::string_view(piece.data(), n));
      if (cancelled_) co_return;
    }
    end(StreamEnd::Error::none, {});
  }

  awaitable<void> run(std::shared_ptr<Stream> self) {
    auto parsed = parse_url(req_.url);
    if (!parsed || (parsed->scheme != "http" && parsed->scheme != "https")) {
      end(StreamEnd::Error::connect, "invalid URL " + req_.url);
      co_return;
    }
    url_ = *parsed;
    target_ = url_.path.empty() ? "/" : url_.path;
    host_header_ = url_.host.find(':') != std::string::npos ? "[" + url_.host + "]" : url_.host;
    if (url_.port != (url_.tls() ? "443" : "80")) host_header_ += ":" + url_.port;

    boost::system::error_code ec;
    auto results = co_await resolver_.async_resolve(url_.host, url_.port,
                                                    asio::redirect_error(use_awaitable, ec));
    if (ec || cancelled_) co_return fail(ec, "connect");
    if (!url_.tls()) {
      stream_ = std::make_unique<PlainStream>(ex_);
      auto& s = *std::get<std::unique_ptr<PlainStream>>(stream_);
      expire_within(req_.connect_timeout);
      co_await s.async_connect(results, asio::redirect_error(use_awaitable, ec));
      if (ec || cancelled_) co_return fail(ec, "connect");
      s.socket().set_option(tcp::no_delay(true), ec);
      co_await exchange(s, self);
      co_return;
    }
    stream_ = std::make_unique<TlsStream>(ex_, tls_context(req_.verify_tls));
    auto& s = *std::get<std::unique_ptr<TlsStream>>(stream_);
    expire_within(req_.connect_timeout);
    co_await beast::get_lowest_layer(s).async_connect(results,
                                                      asio::redirect_error(use_awaitable, ec));
    if (ec || cancelled_) co_return fail(ec, "connect");
    SSL_set_tlsext_host_name(s.native_handle(), url_.host.c_str());
    if (req_.verify_tls) s.set_verify_callback(ssl::host_name_verification(url_.host));
    co_await s.async_handshake(ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
    if (ec || cancelled_) co_return fail(ec, "connect");
    co_await exchange(s, self);
  }

  asio::any_io_executor ex_;
  StreamRequest req_;
  StreamCallbacks cb_;
  Url url_;
  std::string target_;
  std::string host_header_;
  tcp::resolver resolver_;
  asio::steady_timer deadline_timer_;
  clock::time_point deadline_;
  std::variant<std::unique_ptr<PlainStream>, std::unique_ptr<TlsStream>> stream_;
  bool cancelled_ = false;
  bool timed_out_ = false;
  bool finished_ = false;
};

}  // namespace

std::shared_ptr<HttpStream> HttpStream::start(asio::any_io_executor ex, StreamRequest req,
                                              StreamCallbacks cb) {
  auto s = std::make_shared<Stream>(std::move(ex), std::move(req), std::move(cb));
  s->begin();
  return s;
}

}  // namespace aa::net
