// Request-body validation: every contract rule, every bad field named, 400/415 as the contract
// says.
#include "http/validation.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "http/errors.hpp"

using namespace aa;
using namespace aa::http;

namespace {

net::Request json_req(std::string body, std::string ct = "application/json") {
  net::Request r;
  r.method = "POST";
  r.target = r.path = "/x";
  if (!ct.empty()) r.headers.push_back({"Content-Type", ct});
  r.body = std::move(body);
  return r;
}

bool has(const std::vector<std::string>& v, std::string_view prefix) {
  return std::any_of(v.begin(), v.end(),
                     [&](const std::string& s) { return s.rfind(prefix, 0) == 0; });
}

template <typename T>
std::vector<std::string> details(const Outcome<T>& o) {
  EXPECT_FALSE(o.ok());
  return o.ok() ? std::vector<std::string>{} : o.error().details;
}

}  // namespace

TEST(Validation, BodyReading) {
  // Empty and whitespace bodies read as {} whatever the content type.
  EXPECT_TRUE(read_json_object(json_req("", "")).ok());
  EXPECT_TRUE(read_json_object(json_req("  \n", "text/plain")).ok());
  // Content type with parameters and +json variants.
  EXPECT_TRUE(read_json_object(json_req("{}", "application/json; charset=utf-8")).ok());
  EXPECT_TRUE(read_json_object(json_req("{}", "Application/JSON")).ok());
  EXPECT_TRUE(read_json_object(json_req("{}", "application/merge-patch+json")).ok());

  auto r = read_json_object(json_req("{}", "text/plain"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::unsupported_media_type);
  EXPECT_EQ(http_status(r.error().code), 415);
  r = read_json_object(json_req("{}", ""));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(http_status(r.error().code), 415);
  r = read_json_object(json_req("endpoint=x", "application/x-www-form-urlencoded"));
  EXPECT_EQ(http_status(r.error().code), 415);

  r = read_json_object(json_req("{\"endpoint\": "));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, ErrorCode::bad_json);
  EXPECT_EQ(http_status(r.error().code), 400);
  r = read_json_object(json_req("[1,2]"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(http_status(r.error().code), 400);
  r = read_json_object(json_req("null"));
  EXPECT_FALSE(r.ok());
}

TEST(Validation, Originate) {
  auto ok = parse_originate(json_req(
      R"({"endpoint":"PJSIP/1001","callerId":"555","timeout":45,"variables":{"A":"1"},"x":1})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->endpoint, "PJSIP/1001");
  EXPECT_EQ(ok->caller_id, "555");
  EXPECT_EQ(ok->timeout_s, 45);
  ASSERT_EQ(ok->variables.size(), 1u);
  EXPECT_EQ(ok->variables[0].second, "1");

  auto def = parse_originate(json_req(R"({"endpoint":"Local/100@ctx"})"));
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->timeout_s, 30);
  // 30.0 is an integer in JSON's sense.
  EXPECT_TRUE(parse_originate(json_req(R"({"endpoint":"x","timeout":30.0})")).ok());

  auto d = details(parse_originate(json_req("")));
  EXPECT_TRUE(has(d, "endpoint: is required"));

  // Every bad field is named at once.
  auto bad = parse_originate(
      json_req(R"({"endpoint":5,"callerId":true,"timeout":0,"variables":{"A":1,"B":"ok"}})"));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(http_status(bad.error().code), 400);
  d = bad.error().details;
  EXPECT_EQ(d.size(), 4u);
  EXPECT_TRUE(has(d, "endpoint: must be a string"));
  EXPECT_TRUE(has(d, "callerId: must be a string"));
  EXPECT_TRUE(has(d, "timeout: must be between 1 and 120"));
  EXPECT_TRUE(has(d, "variables.A: must be a string"));

  EXPECT_TRUE(
      has(details(parse_originate(json_req(R"({"endpoint":""})"))), "endpoint: must not be empty"));
  EXPECT_TRUE(
      has(details(parse_originate(json_req(R"({"endpoint":"x","timeout":121})"))), "timeout:"));
  EXPECT_TRUE(has(details(parse_originate(json_req(R"({"endpoint":"x","timeout":2.5})"))),
                  "timeout: must be an integer"));
  EXPECT_TRUE(has(details(parse_originate(json_req(R"({"endpoint":"x","timeout":"30"})"))),
                  "timeout: must be an integer"));
  EXPECT_TRUE(has(details(parse_originate(json_req(R"({"endpoint":"x","variables":[]})"))),
                  "variables: must be an object"));
}

TEST(Validation, Play) {
  auto one = parse_play(json_req(R"({"media":"sound:hello-world"})"));
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->media, std::vector<std::string>{"sound:hello-world"});
  EXPECT_TRUE(one->wait);
  auto list = parse_play(json_req(R"({"media":["sound:a","sound:b"],"wait":false})"));
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->media.size(), 2u);
  EXPECT_FALSE(list->wait);

  EXPECT_TRUE(has(details(parse_play(json_req("{}"))), "media: is required"));
  EXPECT_TRUE(has(details(parse_play(json_req(R"({"media":[]})"))), "media: must not be an empty"));
  EXPECT_TRUE(has(details(parse_play(json_req(R"({"media":""})"))), "media: must not be empty"));
  EXPECT_TRUE(has(details(parse_play(json_req(R"({"media":42})"))), "media: must be a string or"));
  auto d = details(parse_play(json_req(R"({"media":["sound:a",7,null],"wait":"yes"})")));
  EXPECT_EQ(d.size(), 3u);
  EXPECT_TRUE(has(d, "media[1]: must be a string"));
  EXPECT_TRUE(has(d, "media[2]: must be a string"));
  EXPECT_TRUE(has(d, "wait: must be a boolean"));
}

TEST(Validation, Record) {
  auto def = parse_record(json_req(""));
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->name, "");
  EXPECT_EQ(def->format, "wav");
  EXPECT_EQ(def->max_duration_s, 300);
  EXPECT_FALSE(def->beep);
  auto full = parse_record(
      json_req(R"({"name":"my-rec_1.a","format":"sln16","maxDurationSeconds":7200,"beep":true})"));
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->name, "my-rec_1.a");
  EXPECT_EQ(full->format, "sln16");
  EXPECT_EQ(full->max_duration_s, 7200);
  EXPECT_TRUE(full->beep);
  for (const char* f : {"wav", "gsm", "ulaw", "alaw", "sln", "sln16"}) {
    std::string body = std::string(R"({"format":")") + f + "\"}";
    EXPECT_TRUE(parse_record(json_req(body)).ok()) << f;
  }
  auto d = details(parse_record(
      json_req(R"({"name":"../etc/passwd","format":"mp3","maxDurationSeconds":0,"beep":1})")));
  EXPECT_EQ(d.size(), 4u);
  EXPECT_TRUE(has(d, "name:"));
  EXPECT_TRUE(has(d, "format: must be one of"));
  EXPECT_TRUE(has(d, "maxDurationSeconds: must be between 1 and 7200"));
  EXPECT_TRUE(has(d, "beep: must be a boolean"));
  EXPECT_TRUE(
      has(details(parse_record(json_req(R"({"maxDurationSeconds":7201})"))), "maxDurationSeconds"));
  EXPECT_TRUE(has(details(parse_record(json_req(R"({"name":""})"))), "name:"));
  EXPECT_TRUE(has(details(parse_record(json_req(R"({"name":"a b"})"))), "name:"));
}

TEST(Validation, Dtmf) {
  auto ok = parse_dtmf(json_req(R"({"dtmf":"12abcd*#"})"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "12ABCD*#");
  EXPECT_TRUE(has(details(parse_dtmf(json_req("{}"))), "dtmf: is required"));
  EXPECT_TRUE(has(details(parse_dtmf(json_req(R"({"dtmf":""})"))), "dtmf: must match"));
  EXPECT_TRUE(has(details(parse_dtmf(json_req(R"({"dtmf":"12E"})"))), "dtmf: must match"));
  EXPECT_TRUE(has(details(parse_dtmf(json_req(R"({"dtmf":"1 2"})"))), "dtmf: must match"));
  EXPECT_TRUE(has(details(parse_dtmf(json_req(R"({"dtmf":123})"))), "dtmf: must be a string"));
  EXPECT_EQ(normalize_dtmf("0123456789ABCDabcd*#"), "0123456789ABCDABCD*#");
}

TEST(Validation, TransferBridgesCopyHangup) {
  auto t = parse_transfer(json_req(R"({"endpoint":"PJSIP/1002","timeout":10})"));
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->endpoint, "PJSIP/1002");
  EXPECT_EQ(t->timeout_s, 10);
  auto td = details(parse_transfer(json_req(R"({"callerId":1,"timeout":500})")));
  EXPECT_EQ(td.size(), 3u);
  EXPECT_TRUE(has(td, "endpoint: is required"));

  auto b = parse_bridge_create(json_req(""));
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(*b, "");
  EXPECT_EQ(*parse_bridge_create(json_req(R"({"name":"conf"})")), "conf");
  EXPECT_TRUE(
      has(details(parse_bridge_create(json_req(R"({"name":[]})"))), "name: must be a string"));

  EXPECT_EQ(*parse_bridge_channel(json_req(R"({"callId":"c1"})")), "c1");
  EXPECT_TRUE(has(details(parse_bridge_channel(json_req("{}"))), "callId: is required"));

  EXPECT_EQ(*parse_copy(json_req(R"({"destinationName":"copy-1"})")), "copy-1");
  EXPECT_TRUE(has(details(parse_copy(json_req("{}"))), "destinationName: is required"));
  EXPECT_TRUE(
      has(details(parse_copy(json_req(R"({"destinationName":"a/../b"})"))), "destinationName:"));

  EXPECT_EQ(*parse_hangup(json_req("")), "");
  EXPECT_EQ(*parse_hangup(json_req(R"({"reason":"busy"})")), "busy");
  EXPECT_TRUE(has(details(parse_hangup(json_req(R"({"reason":"because"})"))), "reason:"));
}

TEST(Validation, Upload) {
  net::Request r;
  r.method = "POST";
  r.body = "RIFF";
  for (const char* ct : {"audio/wav", "audio/x-wav", "audio/wave", "application/octet-stream"}) {
    r.headers = {{"Content-Type", ct}};
    EXPECT_TRUE(check_upload_content_type(r).ok()) << ct;
  }
  r.headers = {{"Content-Type", "application/json"}};
  EXPECT_EQ(http_status(check_upload_content_type(r).error().code), 415);
  r.headers = {};
  EXPECT_EQ(http_status(check_upload_content_type(r).error().code), 415);
  r.headers = {{"Content-Type", "audio/wav"}};
  r.body.clear();
  EXPECT_EQ(http_status(check_upload_content_type(r).error().code), 400);

  r.headers = {{"Content-Disposition", "attachment; filename=\"dir/greeting.wav\""}};
  EXPECT_EQ(upload_file_name(r), "greeting");
  r.headers = {{"Content-Disposition", "form-data; name=x; filename=hello.WAV; size=3"}};
  EXPECT_EQ(upload_file_name(r), "hello");
  r.headers = {};
  EXPECT_EQ(upload_file_name(r), "");
}

TEST(Errors, OneTableMapsEveryCode) {
  EXPECT_EQ(http_status(ErrorCode::validation_failed), 400);
  EXPECT_EQ(http_status(ErrorCode::bad_json), 400);
  EXPECT_EQ(http_status(ErrorCode::unauthorized), 401);
  EXPECT_EQ(http_status(ErrorCode::not_found), 404);
  EXPECT_EQ(http_status(ErrorCode::call_not_found), 404);
  EXPECT_EQ(http_status(ErrorCode::bridge_not_found), 404);
  EXPECT_EQ(http_status(ErrorCode::recording_not_found), 404);
  EXPECT_EQ(http_status(ErrorCode::endpoint_not_found), 404);
  EXPECT_EQ(http_status(ErrorCode::method_not_allowed), 405);
  EXPECT_EQ(http_status(ErrorCode::transfer_timeout), 408);
  EXPECT_EQ(http_status(ErrorCode::wrong_state), 409);
  EXPECT_EQ(http_status(ErrorCode::recording_exists), 409);
  EXPECT_EQ(http_status(ErrorCode::payload_too_large), 413);
  EXPECT_EQ(http_status(ErrorCode::unsupported_media_type), 415);
  EXPECT_EQ(http_status(ErrorCode::ari_error), 502);
  EXPECT_EQ(http_status(ErrorCode::ari_unavailable), 503);
  EXPECT_EQ(http_status(ErrorCode::ari_timeout), 504);
  EXPECT_EQ(http_status(ErrorCode::internal), 500);
}

TEST(Errors, InternalDetailIsNeverSent) {
  Error e(ErrorCode::ari_error, "Asterisk answered with an unexpected error",
          "http 500: secret upstream text");
  auto r = to_response(e);
  EXPECT_EQ(r.status, 502);
  EXPECT_EQ(r.content_type, "application/json");
  EXPECT_EQ(r.body.find("secret"), std::string::npos);
  auto doc = json::parse(r.body);
  ASSERT_TRUE(doc);
  EXPECT_EQ(json::get_string(*doc, "error"), "Asterisk answered with an unexpected error");

  Error v = validation_error({"a: is required", "b: must be a string"});
  auto vr = to_response(v);
  EXPECT_EQ(vr.status, 400);
  doc = json::parse(vr.body);
  ASSERT_TRUE(doc);
  const auto* d = json::find(*doc, "details");
  ASSERT_TRUE(d && d->IsArray());
  EXPECT_EQ(d->Size(), 2u);

  auto p = protocol_error(413, "Request body too large");
  EXPECT_EQ(p.status, 413);
  EXPECT_NE(p.body.find("PAYLOAD_TOO_LARGE"), std::string::npos);
}
