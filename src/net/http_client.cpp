#include "net/http_client.hpp"

#include <openssl/ssl.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <deque>
#include <variant>

#include "common/log.hpp"

namespace aa::net {

namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using PlainStream = beast::tcp_stream;
using TlsStream = beast::ssl_stream<beast::tcp_stream>;

struct Connection {
  std::variant<std::unique_ptr<PlainStream>, std::unique_ptr<TlsStream>> stream;
  beast::flat_buffer buffer;

  beast::tcp_stream& lowest() {
    if (auto* p = std::get_if<std::unique_ptr<PlainStream>>(&stream)) return **p;
    return beast::get_lowest_layer(*std::get<std::unique_ptr<TlsStream>>(stream));
  }
};

ClientResponse failure(ClientResponse::Error e, std::string msg) {
  ClientResponse r;
  r.error = e;
  r.error_message = std::move(msg);
  return r;
}

ClientResponse::Error classify(const boost::system::error_code& ec) {
  if (ec == beast::error::timeout) return ClientResponse::Error::timeout;
  if (ec == http::error::body_limit) return ClientResponse::Error::too_large;
  return ClientResponse::Error::io;
}

}  // namespace

struct HttpClient::Impl {
  asio::any_io_executor ex;
  Url base;
  ClientOptions opts;
  std::string auth_header;
  std::string host_header;
  std::unique_ptr<ssl::context> tls;
  std::deque<std::unique_ptr<Connection>> idle;

  Impl(asio::any_io_executor e, Url b, ClientOptions o)
      : ex(std::move(e)), base(std::move(b)), opts(std::move(o)) {
    if (!opts.basic_auth.empty()) auth_header = "Basic " + base64_encode(opts.basic_auth);
    else if (!base.userinfo.empty()) auth_header = "Basic " + base64_encode(url_decode(base.userinfo, false));
    bool default_port = base.port == (base.tls() ? "443" : "80");
    host_header = base.host.find(':') != std::string::npos ? "[" + base.host + "]" : base.host;
    if (!default_port) host_header += ":" + base.port;
    if (base.tls()) {
      tls = std::make_unique<ssl::context>(ssl::context::tls_client);
      tls->set_default_verify_paths();
      tls->set_verify_mode(opts.verify_tls ? ssl::verify_peer : ssl::verify_none);
    }
  }

  awaitable<std::unique_ptr<Connection>> connect(boost::system::error_code& ec) {
    tcp::resolver resolver(ex);
    // async_resolve runs getaddrinfo off the io thread.
    auto results = co_await resolver.async_resolve(base.host, base.port,
                                                   asio::redirect_error(use_awaitable, ec));
    if (ec) co_return nullptr;
    auto conn = std::make_unique<Connection>();
    if (!tls) {
      auto s = std::make_unique<PlainStream>(ex);
      s->expires_after(opts.connect_timeout);
      co_await s->async_connect(results, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return nullptr;
      s->socket().set_option(tcp::no_delay(true), ec);
      ec = {};
      conn->stream = std::move(s);
    } else {
      auto s = std::make_unique<TlsStream>(ex, *tls);
      auto& low = beast::get_lowest_layer(*s);
      low.expires_after(opts.connect_timeout);
      co_await low.async_connect(results, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return nullptr;
      if (!SSL_set_tlsext_host_name(s->native_handle(), base.host.c_str())) {
        ec = boost::system::error_code(static_cast<int>(::ERR_get_error()),
                                       asio::error::get_ssl_category());
        co_return nullptr;
      }
      if (opts.verify_tls) s->set_verify_callback(ssl::host_name_verification(base.host));
      co_await s->async_handshake(ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
      if (ec) co_return nullptr;
      conn->stream = std::move(s);
    }
    co_return conn;
  }

  http::request<http::string_body> build(std::string_view method, std::string_view target,
                                         std::string body, std::string_view content_type,
                                         const std::vector<Header>& extra) {
    http::request<http::string_body> req;
    req.method_string(method);
    req.target(base.path + std::string(target));
    req.version(11);
    req.set(http::field::host, host_header);
    req.set(http::field::user_agent, opts.user_agent);
    if (!auth_header.empty()) req.set(http::field::authorization, auth_header);
    if (!content_type.empty()) req.set(http::field::content_type, content_type);
    for (const auto& h : extra) req.set(h.name, h.value);
    req.body() = std::move(body);
    req.keep_alive(true);
    req.prepare_payload();
    return req;
  }

  template <typename Stream, typename Parser>
  awaitable<void> exchange(Stream& s, Connection& c, http::request<http::string_body>& req,
                           Parser& parser, bool header_only_then_body,
                           boost::system::error_code& ec) {
    c.lowest().expires_after(opts.request_timeout);
    co_await http::async_write(s, req, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return;
    if (header_only_then_body) {
      co_await http::async_read_header(s, c.buffer, parser, asio::redirect_error(use_awaitable, ec));
    } else {
      co_await http::async_read(s, c.buffer, parser, asio::redirect_error(use_awaitable, ec));
    }
  }

  // One attempt on `conn`. `sent` tells whether any byte of a response arrived.
  awaitable<ClientResponse> attempt(Connection& conn, http::request<http::string_body>& req,
                                    const std::string* file_path, bool& got_response,
                                    bool& reusable) {
    boost::system::error_code ec;
    http::response_parser<http::string_body> parser;
    parser.body_limit(opts.max_response_body);
    parser.header_limit(64 * 1024);
    auto run = [&](auto& s) -> awaitable<void> {
      co_await exchange(s, conn, req, parser, true, ec);
    };
    if (auto* p = std::get_if<std::unique_ptr<PlainStream>>(&conn.stream)) {
      co_await run(**p);
    } else {
      co_await run(*std::get<std::unique_ptr<TlsStream>>(conn.stream));
    }
    if (ec) {
      got_response = false;
      reusable = false;
      co_return failure(classify(ec), ec.message());
    }
    got_response = true;
    ClientResponse out;
    out.status = static_cast<int>(parser.get().result_int());
    for (const auto& f : parser.get())
      out.headers.push_back({std::string(f.name_string()), std::string(f.value())});
    out.content_type = std::string(parser.get()[http::field::content_type]);
    bool to_file = file_path && out.status >= 200 && out.status < 300;
    if (to_file) {
      http::response_parser<http::file_body> fparser(std::move(parser));
      fparser.body_limit(opts.max_response_body);
      fparser.get().body().open(file_path->c_str(), beast::file_mode::write, ec);
      if (ec) {
        reusable = false;
        co_return failure(ClientResponse::Error::io, "cannot open " + *file_path + ": " + ec.message());
      }
      auto body = [&](auto& s) -> awaitable<void> {
        co_await http::async_read(s, conn.buffer, fparser, asio::redirect_error(use_awaitable, ec));
      };
      if (auto* p = std::get_if<std::unique_ptr<PlainStream>>(&conn.stream)) co_await body(**p);
      else co_await body(*std::get<std::unique_ptr<TlsStream>>(conn.stream));
      reusable = !ec && fparser.get().keep_alive();
    } else {
      auto body = [&](auto& s) -> awaitable<void> {
        co_await http::async_read(s, conn.buffer, parser, asio::redirect_error(use_awaitable, ec));
      };
      if (auto* p = std::get_if<std::unique_ptr<PlainStream>>(&conn.stream)) co_await body(**p);
      else co_await body(*std::get<std::unique_ptr<TlsStream>>(conn.stream));
      if (!ec) out.body = std::move(parser.get().body());
      reusable = !ec && parser.get().keep_alive();
    }
    if (ec) {
      reusable = false;
      co_return failure(classify(ec), ec.message());
    }
    conn.lowest().expires_never();
    co_return out;
  }

  awaitable<ClientResponse> run(std::string_view method, std::string_view target, std::string body,
                                std::string_view content_type, const std::vector<Header>& extra,
                                const std::string* file_path) {
    auto req = build(method, target, std::move(body), content_type, extra);
    // A pooled connection may have been closed by the server while idle: if it
    // fails before any response arrives, retry once on a fresh connection.
    for (int round = 0; round < 2; ++round) {
      std::unique_ptr<Connection> conn;
      bool pooled = false;
      if (round == 0 && !idle.empty()) {
        conn = std::move(idle.back());
        idle.pop_back();
        pooled = true;
      } else {
        boost::system::error_code ec;
        conn = co_await connect(ec);
        if (!conn) {
          auto kind = ec == beast::error::timeout ? ClientResponse::Error::timeout
                                                  : ClientResponse::Error::connect;
          co_return failure(kind, "cannot connect to " + base.host + ":" + base.port + ": " +
                                      ec.message());
        }
      }
      bool got_response = false, reusable = false;
      ClientResponse r = co_await attempt(*conn, req, file_path, got_response, reusable);
      if (!r.ok() && pooled && !got_response && r.error != ClientResponse::Error::timeout) continue;
      if (reusable && idle.size() < opts.max_idle_connections) idle.push_back(std::move(conn));
      co_return r;
    }
    co_return failure(ClientResponse::Error::io, "request failed");
  }
};

HttpClient::HttpClient(asio::any_io_executor ex, Url base, ClientOptions opts)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(base), std::move(opts))) {}

HttpClient::~HttpClient() = default;

const std::vector<Header>& HttpClient::no_headers() {
  static const std::vector<Header> none;
  return none;
}

awaitable<ClientResponse> HttpClient::request(std::string_view method, std::string_view target,
                                              std::string body, std::string_view content_type,
                                              const std::vector<Header>& extra_headers) {
  auto impl = impl_;  // keep alive across suspension
  auto r = co_await impl->run(method, target, std::move(body), content_type, extra_headers, nullptr);
  co_return r;
}

awaitable<ClientResponse> HttpClient::download(std::string_view target,
                                               const std::string& file_path) {
  auto impl = impl_;
  const std::vector<Header> none;
  auto r = co_await impl->run("GET", target, std::string{}, std::string_view{}, none, &file_path);
  co_return r;
}

void HttpClient::close_idle() { impl_->idle.clear(); }
const Url& HttpClient::base() const { return impl_->base; }
void HttpClient::set_request_timeout(std::chrono::milliseconds t) { impl_->opts.request_timeout = t; }

awaitable<ClientResponse> http_fetch(std::string_view method, std::string_view url,
                                     std::string body, std::string_view content_type,
                                     const std::vector<Header>& extra_headers,
                                     ClientOptions opts) {
  auto parsed = parse_url(url);
  if (!parsed) co_return failure(ClientResponse::Error::connect, "invalid URL");
  std::string target = parsed->path.empty() ? "/" : parsed->path;
  // parse_url strips the query into path? keep the raw remainder after the authority.
  size_t scheme_end = url.find("://");
  size_t slash = url.find('/', scheme_end + 3);
  if (slash != std::string_view::npos) target = std::string(url.substr(slash));
  Url base = *parsed;
  base.path.clear();
  opts.max_idle_connections = 0;
  auto ex = co_await asio::this_coro::executor;
  HttpClient client(ex, base, opts);
  auto r = co_await client.request(method, target, std::move(body), content_type, extra_headers);
  co_return r;
}

}  // namespace aa::net
