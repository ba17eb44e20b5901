// The length limits of every string field (http::limits), checked on the
// parsers directly: at the limit accepted, one byte over a 400 naming the field.
// Also: key-like query parameters are redacted in what is logged.
#include <gtest/gtest.h>

#include <algorithm>

#include "http/auth.hpp"
#include "http/validation.hpp"

using namespace aa;
using namespace aa::http;

namespace {

net::Request json_req(std::string body) {
  net::Request r;
  r.method = "POST";
  r.target = r.path = "/x";
  r.headers.push_back({"Content-Type", "application/json"});
  r.body = std::move(body);
  return r;
}

std::string str(size_t n, char c = 'a') {
  return std::string(n, c);
}

template <typename T>
bool names_limit(const Outcome<T>& o, const std::string& field) {
  if (o.ok()) return false;
  return std::any_of(o.error().details.begin(), o.error().details.end(), [&](const auto& d) {
    return d.rfind(field + ": ", 0) == 0 && d.find("at most") != std::string::npos;
  });
}

}  // namespace

TEST(Limits, OriginateFieldsAreBounded) {
  auto at = parse_originate(json_req(R"({"endpoint":"PJSIP/)" + str(limits::kEndpoint - 6) +
                                     R"(","callerId":")" + str(limits::kCallerId) + "\"}"));
  EXPECT_TRUE(at.ok());
  EXPECT_TRUE(names_limit(
      parse_originate(json_req(R"({"endpoint":")" + str(limits::kEndpoint + 1) + "\"}")),
      "endpoint"));
  EXPECT_TRUE(names_limit(parse_originate(json_req(R"({"endpoint":"PJSIP/1","callerId":")" +
                                                   str(limits::kCallerId + 1) + "\"}")),
                          "callerId"));
}

TEST(Limits, VariablesAreBoundedInCountNameAndValue) {
  std::string many = R"({"endpoint":"PJSIP/1","variables":{)";
  for (size_t i = 0; i <= limits::kVariables; ++i)
    many += (i ? "," : "") + std::string("\"V") + std::to_string(i) + "\":\"x\"";
  many += "}}";
  EXPECT_TRUE(names_limit(parse_originate(json_req(many)), "variables"));
  EXPECT_TRUE(names_limit(parse_originate(json_req(R"({"endpoint":"PJSIP/1","variables":{")" +
                                                   str(limits::kVariableName + 1) + R"(":"x"}})")),
                          "variables"));
  EXPECT_TRUE(names_limit(parse_originate(json_req(R"({"endpoint":"PJSIP/1","variables":{"K":")" +
                                                   str(limits::kVariableValue + 1) + "\"}}")),
                          "variables.K"));
  EXPECT_TRUE(parse_originate(json_req(R"({"endpoint":"PJSIP/1","variables":{")" +
                                       str(limits::kVariableName) + R"(":")" +
                                       str(limits::kVariableValue) + "\"}}"))
                  .ok());
}

TEST(Limits, PlayMediaItemsAndTheirNumberAreBounded) {
  EXPECT_TRUE(
      parse_play(json_req(R"({"media":"sound:)" + str(limits::kMediaItem - 6) + "\"}")).ok());
  EXPECT_TRUE(names_limit(
      parse_play(json_req(R"({"media":"sound:)" + str(limits::kMediaItem) + "\"}")), "media"));
  EXPECT_TRUE(names_limit(
      parse_play(json_req(R"({"media":["sound:a","sound:)" + str(limits::kMediaItem) + "\"]}")),
      "media[1]"));
  std::string items = R"({"media":[)";
  for (size_t i = 0; i <= limits::kMediaItems; ++i)
    items += (i ? "," : "") + std::string("\"sound:a\"");
  EXPECT_TRUE(names_limit(parse_play(json_req(items + "]}")), "media"));
}

TEST(Limits, DtmfNamesReasonAndIdsAreBounded) {
  EXPECT_TRUE(parse_dtmf(json_req(R"({"dtmf":")" + str(limits::kDtmf, '1') + "\"}")).ok());
  EXPECT_TRUE(names_limit(
      parse_dtmf(json_req(R"({"dtmf":")" + str(limits::kDtmf + 1, '1') + "\"}")), "dtmf"));
  EXPECT_TRUE(names_limit(
      parse_bridge_create(json_req(R"({"name":")" + str(limits::kName + 1) + "\"}")), "name"));
  EXPECT_TRUE(parse_bridge_create(json_req(R"({"name":")" + str(limits::kName) + "\"}")).ok());
  EXPECT_TRUE(
      names_limit(parse_record(json_req(R"({"name":")" + str(limits::kName + 1) + "\"}")), "name"));
  EXPECT_TRUE(
      names_limit(parse_copy(json_req(R"({"destinationName":")" + str(limits::kName + 1) + "\"}")),
                  "destinationName"));
  EXPECT_TRUE(names_limit(
      parse_hangup(json_req(R"({"reason":")" + str(limits::kReason + 1) + "\"}")), "reason"));
  net::Request q = json_req("");
  q.query.emplace_back("reason", str(limits::kReason + 1));
  EXPECT_TRUE(names_limit(parse_hangup(q), "reason"));
  EXPECT_TRUE(names_limit(
      parse_bridge_channel(json_req(R"({"callId":")" + str(limits::kId + 1) + "\"}")), "callId"));
  EXPECT_TRUE(
      names_limit(parse_transfer(json_req(R"({"endpoint":")" + str(limits::kEndpoint + 1) + "\"}")),
                  "endpoint"));
  EXPECT_TRUE(names_limit(parse_transfer(json_req(R"({"endpoint":"PJSIP/1","callerId":")" +
                                                  str(limits::kCallerId + 1) + "\"}")),
                          "callerId"));
}

// The key must not reach a log line under a name we do not accept either.
TEST(Limits, KeyLikeQueryParametersAreRedactedInLogs) {
  EXPECT_EQ(redact_target("/calls?apikey=s3cret"), "/calls?apikey=***");
  EXPECT_EQ(redact_target("/calls?API_KEY=s3cret&x=1"), "/calls?API_KEY=***&x=1");
  EXPECT_EQ(redact_target("/events?token=s3cret"), "/events?token=***");
  EXPECT_EQ(redact_target("/events?access_token=a&Secret=b&PASSWORD=c&auth=d&x-Auth-Key=e"),
            "/events?access_token=***&Secret=***&PASSWORD=***&auth=***&x-Auth-Key=***");
  EXPECT_EQ(redact_target("/events?%74oken=s3cret"), "/events?%74oken=***");  // "token", encoded
  EXPECT_EQ(redact_target("/calls?stored=true&name=x"), "/calls?stored=true&name=x");
}
