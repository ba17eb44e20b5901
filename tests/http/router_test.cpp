// Router: :params, first match wins, 404 and 405 (with Allow) as JSON, HEAD as GET.
#include "http/router.hpp"

#include <gtest/gtest.h>

#include "common/json.hpp"
#include "support/run_io.hpp"

using namespace aa;
using namespace aa::http;

namespace {

RouteHandler echo(std::string tag) {
  return [tag](net::Request&, const PathParams& p) -> awaitable<net::Response> {
    std::string body = tag;
    for (const auto& [k, v] : p.items()) body += " " + k + "=" + v;
    co_return net::Response::json(200, body);
  };
}

net::Request request(std::string method, std::string target) {
  net::Request r;
  r.method = std::move(method);
  r.target = std::move(target);
  split_target(r.target, r.path, r.query);
  return r;
}

Router sample() {
  Router r;
  r.add("GET", "/calls", "list", echo("list"));
  r.add("POST", "/calls", "create", echo("create"));
  r.add("GET", "/calls/:id", "get", echo("get"));
  r.add("DELETE", "/calls/:id", "delete", echo("delete"));
  r.add("POST", "/calls/:id/play", "play", echo("play"));
  r.add("POST", "/calls/:id/play/file", "file", echo("file"));
  r.add("GET", "/recordings/:name/file", "rec", echo("rec"));
  r.add_listing("WS", "/events", "events");
  return r;
}

net::Response dispatch(const Router& r, net::Request req) {
  asio::io_context io;
  net::Response out;
  test::run_coro(io, [&]() -> awaitable<void> { out = co_await r.dispatch(req); });
  return out;
}

}  // namespace

TEST(Router, MatchesLiteralAndParamSegments) {
  Router r = sample();
  auto m = r.match("POST", "/calls/abc-123/play/file");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/calls/:id/play/file");
  EXPECT_EQ(m.params["id"], "abc-123");
  EXPECT_EQ(m.params["missing"], "");

  m = r.match("POST", "/calls/x/play");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->pattern, "/calls/:id/play");

  m = r.match("GET", "/recordings/my.rec/file");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.params["name"], "my.rec");
}

TEST(Router, TrailingSlashAndHeadAsGet) {
  Router r = sample();
  EXPECT_NE(r.match("GET", "/calls/").route, nullptr);
  auto m = r.match("HEAD", "/calls/1");
  ASSERT_NE(m.route, nullptr);
  EXPECT_EQ(m.route->method, "GET");
}

TEST(Router, UnknownPathIs404Json) {
  auto res = dispatch(sample(), request("GET", "/nope"));
  EXPECT_EQ(res.status, 404);
  EXPECT_EQ(res.content_type, "application/json");
  auto doc = json::parse(res.body);
  ASSERT_TRUE(doc);
  EXPECT_FALSE(json::get_string(*doc, "error").empty());
  EXPECT_EQ(json::get_string(*doc, "code"), "NOT_FOUND");
  // A listing-only entry is not dispatched.
  EXPECT_EQ(dispatch(sample(), request("GET", "/events")).status, 404);
  // Same prefix, more segments.
  EXPECT_EQ(dispatch(sample(), request("GET", "/calls/1/2/3/4")).status, 404);
}

TEST(Router, WrongMethodIs405WithAllow) {
  auto res = dispatch(sample(), request("PUT", "/calls/42"));
  EXPECT_EQ(res.status, 405);
  std::string allow;
  for (const auto& h : res.headers)
    if (h.name == "Allow") allow = h.value;
  EXPECT_EQ(allow, "GET, DELETE, HEAD");
  auto doc = json::parse(res.body);
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::get_string(*doc, "code"), "METHOD_NOT_ALLOWED");

  res = dispatch(sample(), request("GET", "/calls/42/play"));
  EXPECT_EQ(res.status, 405);
}

TEST(Router, DispatchPassesParams) {
  auto res = dispatch(sample(), request("DELETE", "/calls/k%20y"));
  EXPECT_EQ(res.status, 200);
  EXPECT_EQ(res.body, "delete id=k y");
}

TEST(Router, ListsEveryRouteWithPaddedKeys) {
  Router r = sample();
  EXPECT_EQ(r.routes().size(), 8u);
  EXPECT_EQ(Router::listing_key(r.routes()[0]), "GET  /calls");
  EXPECT_EQ(Router::listing_key(r.routes()[1]), "POST /calls");
  EXPECT_EQ(Router::listing_key(r.routes()[3]), "DELETE /calls/:id");
  EXPECT_EQ(Router::listing_key(r.routes()[7]), "WS   /events");
}
