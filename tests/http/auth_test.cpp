// Authentication: the three ways to give the key, wrong/missing key, redaction for logs.
#include "http/auth.hpp"

#include <gtest/gtest.h>

#include "common/json.hpp"

using namespace aa;
using namespace aa::http;

namespace {

net::Request req(std::string target, std::vector<net::Header> headers = {}) {
  net::Request r;
  r.method = "GET";
  r.target = std::move(target);
  split_target(r.target, r.path, r.query);
  r.headers = std::move(headers);
  return r;
}

}  // namespace

TEST(Auth, OffWhenNoKey) {
  Auth a("");
  EXPECT_FALSE(a.enabled());
  EXPECT_TRUE(a.allowed(req("/calls")));
}

TEST(Auth, AcceptsTheThreeWays) {
  Auth a("s3cret");
  EXPECT_TRUE(a.allowed(req("/calls", {{"X-API-Key", "s3cret"}})));
  EXPECT_TRUE(a.allowed(req("/calls", {{"x-api-key", "s3cret"}})));
  EXPECT_TRUE(a.allowed(req("/calls?api_key=s3cret")));
  EXPECT_TRUE(a.allowed(req("/calls?x=1&api_key=s3cret")));
  EXPECT_TRUE(a.allowed(req("/calls", {{"Authorization", "Bearer s3cret"}})));
  EXPECT_TRUE(a.allowed(req("/calls", {{"authorization", "bearer s3cret"}})));
  // A wrong key in one place does not hide the right one in another.
  EXPECT_TRUE(a.allowed(req("/calls?api_key=nope", {{"X-API-Key", "s3cret"}})));
}

TEST(Auth, RejectsMissingAndWrongKeys) {
  Auth a("s3cret");
  EXPECT_FALSE(a.allowed(req("/calls")));
  EXPECT_FALSE(a.allowed(req("/calls", {{"X-API-Key", "s3cre"}})));
  EXPECT_FALSE(a.allowed(req("/calls", {{"X-API-Key", "s3cret2"}})));
  EXPECT_FALSE(a.allowed(req("/calls?api_key=S3CRET")));
  EXPECT_FALSE(a.allowed(req("/calls", {{"Authorization", "Basic s3cret"}})));
  EXPECT_FALSE(a.allowed(req("/calls", {{"Authorization", "Bearer"}})));
  auto r = a.check(req("/calls", {{"X-API-Key", "bad"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->content_type, "application/json");
  EXPECT_EQ(r->body.find("bad"), std::string::npos);
  auto doc = json::parse(r->body);
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::get_string(*doc, "code"), "UNAUTHORIZED");
  EXPECT_FALSE(a.check(req("/calls", {{"X-API-Key", "s3cret"}})));
}

TEST(Auth, UsesConstantTimeCompare) {
  // The comparison is aa::constant_time_equal (what auth.cpp calls); pin its behaviour.
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
}

TEST(Auth, RedactsKeyFromTargets) {
  EXPECT_EQ(redact_target("/calls"), "/calls");
  EXPECT_EQ(redact_target("/calls?api_key=s3cret"), "/calls?api_key=***");
  EXPECT_EQ(redact_target("/events?x=1&api_key=s3cret&y=2"), "/events?x=1&api_key=***&y=2");
  EXPECT_EQ(redact_target("/events?api%5Fkey=s3cret"), "/events?api%5Fkey=***");
}
