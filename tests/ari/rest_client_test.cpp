// RestClient against a fake ARI server on a real socket: every operation's
// method, path, query and body; every error kind; timeouts; the observer hook.
#include "ari/rest_client.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>

#include "ari/test_support.hpp"
#include "common/json.hpp"
#include "common/util.hpp"

namespace aa::ari {
namespace {

using namespace std::chrono_literals;
using test::await;
using test::Canned;
using test::FakeAri;

const std::string kChannel =
    R"({"id":"c1","name":"PJSIP/1001-00000001","state":"Up","protocol_id":"",)"
    R"("caller":{"name":"Alice","number":"5551234"},"connected":{"name":"","number":""},)"
    R"("accountcode":"","dialplan":{"context":"openclaw-voice","exten":"s","priority":1,)"
    R"("app_name":"Stasis","app_data":"app"},"creationtime":"2026-11-26T03:35:18.560+0000",)"
    R"("language":"en"})";
const std::string kBridge =
    R"({"id":"b1","technology":"simple_bridge","bridge_type":"mixing","bridge_class":"stasis",)"
    R"("creator":"Stasis","name":"n","channels":["c1"],"creationtime":"t","video_mode":"talker"})";
const std::string kPlayback =
    R"({"id":"pb1","media_uri":"sound:hello-world","target_uri":"channel:c1","language":"en",)"
    R"("state":"queued"})";
const std::string kLive =
    R"({"name":"r1","format":"wav","state":"queued","target_uri":"channel:c1"})";
const std::string kStored = R"({"name":"r1","format":"wav"})";
const std::string kEndpoint =
    R"({"technology":"PJSIP","resource":"1001","state":"online","channel_ids":[]})";
const std::string kInfo =
    R"({"build":{"os":"Linux"},"system":{"version":"22.11.0-rc1","entity_id":"02:fc:00:00:00:01"},)"
    R"("config":{"name":""},"status":{"startup_time":"2026-11-26T03:41:26.562+0000",)"
    R"("last_reload_time":"2026-11-26T03:41:26.562+0000"}})";

class RestClientTest : public ::testing::Test {
 protected:
  RestClientTest() : ari(io) {}

  std::unique_ptr<RestClient> make(std::chrono::milliseconds timeout = 2s) {
    RestClientOptions o;
    o.base_url = ari.base_url();
    o.username = "asterisk_ari";
    o.password = "secret pass";
    o.request_timeout = timeout;
    o.connect_timeout = 1s;
    return std::make_unique<RestClient>(io.get_executor(), o);
  }

  asio::io_context io;
  FakeAri ari;
};

struct OpCase {
  const char* name;
  std::function<awaitable<bool>(RestClient&)> call;
  const char* method;
  const char* path;
  QueryParams query;
  int status;
  std::string body;
};

TEST_F(RestClientTest, EveryOperationMethodPathAndParams) {
  auto client = make();
  std::vector<std::pair<std::string, int>> observed;
  client->set_observer([&](std::string_view op, int status, std::chrono::microseconds us) {
    EXPECT_GE(us.count(), 0);
    observed.emplace_back(std::string(op), status);
  });

  std::vector<OpCase> cases = {
      {"originate_extension",
       [](RestClient& c) -> awaitable<bool> {
         OriginateParams p;
         p.endpoint = "Local/100@test-answer";
         p.extension = "100";
         p.context = "test-answer";
         p.priority = 1;
         p.originator = "c0";
         p.formats = "ulaw,alaw";
         auto r = co_await c.originate(p);
         co_return r.ok() && r->id == "c1";
       },
       "POST",
       "/ari/channels",
       {{"endpoint", "Local/100@test-answer"},
        {"extension", "100"},
        {"context", "test-answer"},
        {"priority", "1"},
        {"originator", "c0"},
        {"formats", "ulaw,alaw"}},
       200,
       kChannel},
      {"get_channel",
       [](RestClient& c) -> awaitable<bool> {
         auto r = co_await c.get_channel("c1;2");
         co_return r.ok() && r->caller.name == "Alice" && r->dialplan.priority == 1;
       },
       "GET",
       "/ari/channels/c1;2",
       {},
       200,
       kChannel},
      {"list_channels",
       [](RestClient& c) -> awaitable<bool> {
         auto r = co_await c.list_channels();
         co_return r.ok() && r->size() == 2;
       },
       "GET",
       "/ari/channels",
       {},
       200,
       "[" + kChannel + "," + kChannel + "]"},
      {"hangup_reason",
       [](RestClient& c) -> awaitable<bool> { co_return (co_await c.hangup("c1", "busy")).ok(); },
       "DELETE",
       "/ari/channels/c1",
       {{"reason", "busy"}},
       204,
       ""},
      {"hangup",
       [](RestClient& c) -> awaitable<bool> { co_return (co_await c.hangup("c1")).ok(); },
       "DELETE",
       "/ari/channels/c1",
       {},
       204,
       ""},
      {"answer",
       [](RestClient& c) -> awaitable<bool> { co_return (co_await c.answer("c1")).ok(); },
       "POST",
       "/ari/channels/c1/answer",
       {},
       204,
       ""},
      {"ring",
       [](RestClient& c) -> awaitable<bool> { co_return (co_await c.ring("c1")).ok(); },
       "POST",
       "/ari/channels/c1/ring",
       {},
       204,
       ""},
      {"play",
       [](RestClient& c) -> awaitable<bool> {
         PlayParams p;
         p.media.push_back("sound:hello-world");
         p.media.push_back("sound:beep");
         p.playback_id = "pb1";
         p.lang = "en";
         p.offsetms = 0;
         p.skipms = 3000;
         auto r = co_await c.play("c1", p);
         co_return r.ok() && r->id == "pb1" && r->state == "queued";
       },
       "POST",
       "/ari/channels/c1/play",
       {{"media", "sound:hello-world,sound:beep"},
        {"lang", "en"},
        {"offsetms", "0"},
        {"skipms", "3000"},
        {"playbackId", "pb1"}},
       201,
       kPlayback},
      {"record",
       [](RestClient& c) -> awaitable<bool> {
         RecordParams p;
         p.name = "r1";
         p.format = "wav";
         p.max_duration_seconds = 30;
         p.max_silence_seconds = 2;
         p.if_exists = "overwrite";
         p.beep = false;
         p.terminate_on = "#";
         auto r = co_await c.record("c1", p);
         co_return r.ok() && r->name == "r1" && !r->duration;
       },
       "POST",
       "/ari/channels/c1/record",
       {{"name", "r1"},
        {"format", "wav"},
        {"maxDurationSeconds", "30"},
        {"maxSilenceSeconds", "2"},
        {"ifExists", "overwrite"},
        {"beep", "false"},
        {"terminateOn", "#"}},
       201,
       kLive},
      {"send_dtmf",
       [](RestClient& c) -> awaitable<bool> {
         DtmfParams p;
         p.dtmf = "12#";
         p.before = 10;
         p.between = 100;
         p.duration = 120;
         p.after = 5;
         co_return (co_await c.send_dtmf("c1", p)).ok();
       },
       "POST",
       "/ari/channels/c1/dtmf",
       {{"dtmf", "12#"}, {"before", "10"}, {"between", "100"}, {"duration", "120"}, {"after", "5"}},
       204,
       ""},
      {"continue_in_dialplan",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.continue_in_dialplan("c1", "ctx", "100", 2)).ok();
       },
       "POST",
       "/ari/channels/c1/continue",
       {{"context", "ctx"}, {"extension", "100"}, {"priority", "2"}},
       204,
       ""},
      {"continue_bare",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.continue_in_dialplan("c1", "", "", std::nullopt)).ok();
       },
       "POST",
       "/ari/channels/c1/continue",
       {},
       204,
       ""},
      {"redirect",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.redirect("c1", "PJSIP/1002")).ok();
       },
       "POST",
       "/ari/channels/c1/redirect",
       {{"endpoint", "PJSIP/1002"}},
       204,
       ""},
      {"snoop",
       [](RestClient& c) -> awaitable<bool> {
         SnoopParams p;
         p.app = "app";
         p.spy = "in";
         p.whisper = "none";
         p.app_args = "x";
         p.snoop_id = "snoop1";
         co_return (co_await c.snoop("c1", p)).ok();
       },
       "POST",
       "/ari/channels/c1/snoop",
       {{"spy", "in"},
        {"whisper", "none"},
        {"app", "app"},
        {"appArgs", "x"},
        {"snoopId", "snoop1"}},
       200,
       kChannel},
      {"external_media",
       [](RestClient& c) -> awaitable<bool> {
         ExternalMediaParams p;
         p.app = "app";
         p.external_host = "127.0.0.1:9999";
         p.format = "ulaw";
         p.channel_id = "em1";
         p.encapsulation = "rtp";
         p.transport = "udp";
         p.connection_type = "client";
         p.direction = "both";
         co_return (co_await c.external_media(p)).ok();
       },
       "POST",
       "/ari/channels/externalMedia",
       {{"channelId", "em1"},
        {"app", "app"},
        {"external_host", "127.0.0.1:9999"},
        {"encapsulation", "rtp"},
        {"transport", "udp"},
        {"connection_type", "client"},
        {"format", "ulaw"},
        {"direction", "both"}},
       200,
       kChannel},
      {"get_variable",
       [](RestClient& c) -> awaitable<bool> {
         auto r = co_await c.get_variable("c1", "CHANNEL(linkedid)");
         co_return r.ok() && *r == "vc-a";
       },
       "GET",
       "/ari/channels/c1/variable",
       {{"variable", "CHANNEL(linkedid)"}},
       200,
       R"({"value":"vc-a"})"},
      {"set_variable",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.set_variable("c1", "X_REP", "v 2&3")).ok();
       },
       "POST",
       "/ari/channels/c1/variable",
       {{"variable", "X_REP"}, {"value", "v 2&3"}},
       204,
       ""},
      {"create_bridge",
       [](RestClient& c) -> awaitable<bool> {
         auto r = co_await c.create_bridge("mixing", "b1", "two leg");
         co_return r.ok() && r->id == "b1" && r->channels.size() == 1;
       },
       "POST",
       "/ari/bridges",
       {{"type", "mixing"}, {"bridgeId", "b1"}, {"name", "two leg"}},
       200,
       kBridge},
      {"get_bridge",
       [](RestClient& c) -> awaitable<bool> { co_return (co_await c.get_bridge("b1")).ok(); },
       "GET",
       "/ari/bridges/b1",
       {},
       200,
       kBridge},
      {"list_bridges",
       [](RestClient& c) -> awaitable<bool> {
         auto r = co_await c.list_bridges();
         co_return r.ok() && r->size() == 1;
       },
       "GET",
       "/ari/bridges",
       {},
       200,
       "[" + kBridge + "]"},
      {"destroy_bridge",
       [](RestClient& c) -> awaitable<bool> { co_return (co_await c.destroy_bridge("b1")).ok(); },
       "DELETE",
       "/ari/bridges/b1",
       {},
       204,
       ""},
      {"add_channels",
       [](RestClient& c) -> awaitable<bool> {
         std::vector<std::string> ids{"c1", "c2"};
         co_return (co_await c.add_channels("b1", ids)).ok();
       },
       "POST",
       "/ari/bridges/b1/addChannel",
       {{"channel", "c1,c2"}},
       204,
       ""},
      {"remove_channels",
       [](RestClient& c) -> awaitable<bool> {
         std::vector<std::string> ids{"c1"};
         co_return (co_await c.remove_channels("b1", ids)).ok();
       },
       "POST",
       "/ari/bridges/b1/removeChannel",
       {{"channel", "c1"}},
       204,
       ""},
      {"play_bridge",
       [](RestClient& c) -> awaitable<bool> {
         PlayParams p;
         p.media.push_back("sound:hello-world");
         p.playback_id = "pb2";
         co_return (co_await c.play_bridge("b1", p)).ok();
       },
       "POST",
       "/ari/bridges/b1/play",
       {{"media", "sound:hello-world"}, {"playbackId", "pb2"}},
       201,
       kPlayback},
      {"record_bridge",
       [](RestClient& c) -> awaitable<bool> {
         RecordParams p;
         p.name = "r1";
         p.format = "wav";
         co_return (co_await c.record_bridge("b1", p)).ok();
       },
       "POST",
       "/ari/bridges/b1/record",
       {{"name", "r1"}, {"format", "wav"}},
       201,
       kLive},
      {"get_playback",
       [](RestClient& c) -> awaitable<bool> { co_return (co_await c.get_playback("pb1")).ok(); },
       "GET",
       "/ari/playbacks/pb1",
       {},
       200,
       kPlayback},
      {"stop_playback",
       [](RestClient& c) -> awaitable<bool> { co_return (co_await c.stop_playback("pb1")).ok(); },
       "DELETE",
       "/ari/playbacks/pb1",
       {},
       204,
       ""},
      {"control_playback",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.control_playback("pb1", "pause")).ok();
       },
       "POST",
       "/ari/playbacks/pb1/control",
       {{"operation", "pause"}},
       204,
       ""},
      {"get_live_recording",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.get_live_recording("r1")).ok();
       },
       "GET",
       "/ari/recordings/live/r1",
       {},
       200,
       kLive},
      {"stop_live_recording",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.stop_live_recording("r1")).ok();
       },
       "POST",
       "/ari/recordings/live/r1/stop",
       {},
       204,
       ""},
      {"cancel_live_recording",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.cancel_live_recording("r1")).ok();
       },
       "DELETE",
       "/ari/recordings/live/r1",
       {},
       204,
       ""},
      {"list_stored_recordings",
       [](RestClient& c) -> awaitable<bool> {
         auto r = co_await c.list_stored_recordings();
         co_return r.ok() && r->size() == 1 && (*r)[0].format == "wav";
       },
       "GET",
       "/ari/recordings/stored",
       {},
       200,
       "[" + kStored + "]"},
      {"get_stored_recording",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.get_stored_recording("r1")).ok();
       },
       "GET",
       "/ari/recordings/stored/r1",
       {},
       200,
       kStored},
      {"copy_stored_recording",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.copy_stored_recording("r1", "r2")).ok();
       },
       "POST",
       "/ari/recordings/stored/r1/copy",
       {{"destinationRecordingName", "r2"}},
       200,
       R"({"name":"r2","format":"wav"})"},
      {"delete_stored_recording",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.delete_stored_recording("r1")).ok();
       },
       "DELETE",
       "/ari/recordings/stored/r1",
       {},
       204,
       ""},
      {"list_endpoints",
       [](RestClient& c) -> awaitable<bool> {
         auto r = co_await c.list_endpoints();
         co_return r.ok() && r->size() == 1 && (*r)[0].state == "online";
       },
       "GET",
       "/ari/endpoints",
       {},
       200,
       "[" + kEndpoint + "]"},
      {"list_endpoints_by_tech",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.list_endpoints_by_tech("PJSIP")).ok();
       },
       "GET",
       "/ari/endpoints/PJSIP",
       {},
       200,
       "[" + kEndpoint + "]"},
      {"get_endpoint",
       [](RestClient& c) -> awaitable<bool> {
         auto r = co_await c.get_endpoint("PJSIP", "1001");
         co_return r.ok() && r->resource == "1001";
       },
       "GET",
       "/ari/endpoints/PJSIP/1001",
       {},
       200,
       kEndpoint},
      {"subscribe",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.subscribe("openclaw-voice", "bridge:b1")).ok();
       },
       "POST",
       "/ari/applications/openclaw-voice/subscription",
       {{"eventSource", "bridge:b1"}},
       200,
       R"({"name":"openclaw-voice","channel_ids":[],"bridge_ids":["b1"]})"},
      {"unsubscribe",
       [](RestClient& c) -> awaitable<bool> {
         co_return (co_await c.unsubscribe("openclaw-voice", "endpoint:PJSIP/1001")).ok();
       },
       "DELETE",
       "/ari/applications/openclaw-voice/subscription",
       {{"eventSource", "endpoint:PJSIP/1001"}},
       200,
       R"({"name":"openclaw-voice"})"},
      {"asterisk_info",
       [](RestClient& c) -> awaitable<bool> {
         auto r = co_await c.asterisk_info();
         co_return r.ok() && r->version == "22.11.0-rc1" && r->entity_id == "02:fc:00:00:00:01" &&
             r->startup_time == "2026-11-26T03:41:26.562+0000" &&
             r->raw.find("build") != std::string::npos;
       },
       "GET",
       "/ari/asterisk/info",
       {},
       200,
       kInfo},
  };

  std::string expected_auth = "Basic " + base64_encode("asterisk_ari:secret pass");
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    ari.requests.clear();
    ari.push(c.status, c.body, c.body.empty() ? "" : "application/json");
    bool ok = await(io, [&] { return c.call(*client); });
    EXPECT_TRUE(ok);
    ASSERT_EQ(ari.requests.size(), 1u);
    const auto& req = ari.requests[0];
    EXPECT_EQ(req.method, c.method);
    EXPECT_EQ(req.path, c.path);
    EXPECT_EQ(req.query, c.query);
    EXPECT_EQ(req.header("Authorization"), expected_auth);
    EXPECT_TRUE(req.body.empty()) << req.body;
  }
  ASSERT_EQ(observed.size(), cases.size());
  EXPECT_EQ(observed[0].first, "originate");
  EXPECT_EQ(observed[0].second, 200);
  EXPECT_EQ(observed[3].first, "hangup");
  EXPECT_EQ(observed[3].second, 204);
}

TEST_F(RestClientTest, OriginateSendsIdsAndVariablesInJsonBody) {
  auto client = make();
  ari.push(200, kChannel);
  auto r = await(io, [&]() -> awaitable<Result<Channel>> {
    OriginateParams p;
    p.endpoint = "PJSIP/1001";
    p.app = "openclaw-voice";
    p.app_args = "outbound,probe";
    p.channel_id = "c1";
    p.other_channel_id = "c1-2";
    p.caller_id = "\"Alice\" <5551234>";
    p.timeout = 30;
    p.variables.emplace_back("X_FOO", "bar \"q\"");
    p.variables.emplace_back("CALLERID(name)", "Bob");
    co_return co_await client->originate(p);
  });
  ASSERT_TRUE(r.ok()) << describe(r.error);
  EXPECT_EQ(r->id, "c1");
  ASSERT_EQ(ari.requests.size(), 1u);
  const auto& req = ari.requests[0];
  EXPECT_EQ(req.method, "POST");
  EXPECT_EQ(req.path, "/ari/channels");
  EXPECT_EQ(req.query, (QueryParams{{"endpoint", "PJSIP/1001"},
                                    {"app", "openclaw-voice"},
                                    {"appArgs", "outbound,probe"},
                                    {"callerId", "\"Alice\" <5551234>"},
                                    {"timeout", "30"},
                                    {"channelId", "c1"},
                                    {"otherChannelId", "c1-2"}}));
  EXPECT_EQ(req.content_type(), "application/json");
  EXPECT_EQ(req.body, "{\"variables\":{\"X_FOO\":\"bar \\\"q\\\"\",\"CALLERID(name)\":\"Bob\"}}");
  // The raw target is percent-encoded.
  EXPECT_NE(req.target.find("endpoint=PJSIP%2F1001"), std::string::npos) << req.target;
  EXPECT_NE(req.target.find("callerId=%22Alice%22%20%3C5551234%3E"), std::string::npos)
      << req.target;
}

TEST_F(RestClientTest, ExternalMediaVariablesInBody) {
  auto client = make();
  ari.push(200, kChannel);
  auto r = await(io, [&]() -> awaitable<Result<Channel>> {
    ExternalMediaParams p;
    p.app = "a";
    p.external_host = "h:1";
    p.format = "slin16";
    p.variables.emplace_back("K", "V");
    co_return co_await client->external_media(p);
  });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ari.requests.at(0).body, R"({"variables":{"K":"V"}})");
}

TEST_F(RestClientTest, PathSegmentsAreEncoded) {
  auto client = make();
  ari.push(200, kChannel);
  auto r = await(io, [&] { return client->get_channel("rc-1;2/x y"); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(ari.requests.at(0).target, "/ari/channels/rc-1%3B2%2Fx%20y");
}

TEST_F(RestClientTest, BaseUrlWithAriPathIsNotDoubled) {
  RestClient c(io.get_executor(), ari.base_url() + "/ari/", "u", "p", 2s);
  EXPECT_EQ(c.base().path, "/ari");
  ari.push(200, "[]");
  auto r = await(io, [&] { return c.list_channels(); });
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->empty());
  EXPECT_EQ(ari.requests.at(0).path, "/ari/channels");
  EXPECT_THROW(RestClient(io.get_executor(), "ftp://x", "u", "p"), std::invalid_argument);
  EXPECT_THROW(RestClient(io.get_executor(), "not a url", "u", "p"), std::invalid_argument);
}

TEST_F(RestClientTest, HttpErrorsCarryStatusAndMessage) {
  auto client = make();
  struct ErrCase {
    int status;
    std::string body;
    std::string content_type;
    std::string message;
  };
  std::vector<ErrCase> cases = {
      {404, R"({"message": "Channel not found"})", "application/json", "Channel not found"},
      {409, R"({"message":"Channel not in Stasis application"})", "application/json",
       "Channel not in Stasis application"},
      {422, R"({"message":"Channel not in this bridge"})", "application/json",
       "Channel not in this bridge"},
      {400, R"({"message":"Endpoint must be specified"})", "application/json",
       "Endpoint must be specified"},
      {500, R"({"error":"Allocation failed"})", "application/json", "Allocation failed"},
      {401, R"({"message":"Authentication required"})", "application/json",
       "Authentication required"},
      {503,
       "<html><head><title>503 Service Unavailable</title></head><body>Shutdown in "
       "progress</body></html>",
       "text/html", "Service Unavailable"},
      {404, "<!DOCTYPE html><html>Not Found</html>", "text/html", "Not Found"},
      {500, "", "", "Internal Server Error"},
      {502, "upstream broke", "text/plain", "upstream broke"},
      {409, R"({"other":"x"})", "application/json", "Conflict"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.status);
    ari.push(c.status, c.body, c.content_type);
    auto r = await(io, [&] { return client->get_channel("nope"); });
    EXPECT_FALSE(r.ok());
    EXPECT_FALSE(r.value);
    EXPECT_EQ(r.error.kind, AriError::Kind::http);
    EXPECT_EQ(r.error.status, c.status);
    EXPECT_EQ(r.error.message, c.message);
  }
  // Status-only operations map errors the same way.
  ari.push(404, R"({"message":"Bridge not found"})");
  auto s = await(io, [&] { return client->destroy_bridge("nope"); });
  EXPECT_EQ(s.error.kind, AriError::Kind::http);
  EXPECT_EQ(s.error.status, 404);
  EXPECT_EQ(s.error.message, "Bridge not found");
  EXPECT_EQ(describe(s.error), "http 404: Bridge not found");
}

TEST_F(RestClientTest, BadResponses) {
  auto client = make();
  ari.push(200, "this is not json", "text/plain");
  auto a = await(io, [&] { return client->get_channel("c1"); });
  EXPECT_EQ(a.error.kind, AriError::Kind::bad_response);
  ari.push(200, "{}");
  auto b = await(io, [&] { return client->get_channel("c1"); });
  EXPECT_EQ(b.error.kind, AriError::Kind::bad_response);
  ari.push(200, "{}");
  auto c = await(io, [&] { return client->list_bridges(); });
  EXPECT_EQ(c.error.kind, AriError::Kind::bad_response);
  ari.push(200, R"({"nothing":1})");
  auto d = await(io, [&] { return client->get_variable("c1", "X"); });
  EXPECT_EQ(d.error.kind, AriError::Kind::bad_response);
  // A list keeps its good entries.
  ari.push(200, "[" + kChannel + ",{\"id\":5},7]");
  auto e = await(io, [&] { return client->list_channels(); });
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->size(), 1u);
  // Status calls ignore the body of a 2xx.
  ari.push(200, "garbage");
  auto f = await(io, [&] { return client->answer("c1"); });
  EXPECT_TRUE(f.ok());
}

TEST_F(RestClientTest, TimeoutWhenNoAnswerInTime) {
  auto client = make(150ms);
  int observed_status = -1;
  client->set_observer(
      [&](std::string_view, int status, std::chrono::microseconds) { observed_status = status; });
  ari.push(Canned{200, kChannel, "application/json", 1500ms});
  auto start = std::chrono::steady_clock::now();
  auto r = await(io, [&] { return client->get_channel("c1"); });
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(r.error.kind, AriError::Kind::timeout) << describe(r.error);
  EXPECT_LT(took, 1000ms);
  EXPECT_EQ(observed_status, 0);
  // The client still works afterwards (a fresh connection), and the timeout is adjustable.
  client->set_request_timeout(2s);
  ari.push(Canned{200, kChannel, "application/json", 200ms});
  auto ok = await(io, [&] { return client->get_channel("c1"); });
  EXPECT_TRUE(ok.ok()) << describe(ok.error);
  test::run_for(io, 1500ms);  // let the first slow handler finish
}

TEST_F(RestClientTest, UnavailableWhenNothingListens) {
  uint16_t port;
  {
    FakeAri gone(io);
    port = gone.port();
    gone.close();
    // Let the server's accept loop see the closed acceptor before the server is
    // destroyed (net::HttpServer must outlive its pending accept).
    test::run_for(io, 20ms);
  }
  RestClient client(io.get_executor(), "http://127.0.0.1:" + std::to_string(port), "u", "p", 1s);
  auto r = await(io, [&] { return client.get_channel("c1"); });
  EXPECT_EQ(r.error.kind, AriError::Kind::unavailable) << describe(r.error);
  EXPECT_FALSE(r.error.message.empty());
  auto s = await(io, [&] { return client.hangup("c1"); });
  EXPECT_EQ(s.error.kind, AriError::Kind::unavailable);
}

TEST_F(RestClientTest, KeepAliveReusesConnections) {
  auto client = make();
  for (int i = 0; i < 5; ++i) {
    ari.push(200, kChannel);
    auto r = await(io, [&] { return client->get_channel("c1"); });
    ASSERT_TRUE(r.ok());
  }
  std::set<std::string> remotes;
  for (const auto& r : ari.requests) remotes.insert(r.remote);
  EXPECT_EQ(remotes.size(), 1u);
}

TEST_F(RestClientTest, ConcurrentRequests) {
  auto client = make();
  ari.fallback = Canned{200, kChannel, "application/json", 50ms};
  int done = 0;
  for (int i = 0; i < 8; ++i) {
    asio::co_spawn(
        io,
        [&]() -> awaitable<void> {
          auto r = co_await client->get_channel("c1");
          EXPECT_TRUE(r.ok());
          ++done;
        },
        asio::detached);
  }
  EXPECT_TRUE(test::run_until(io, [&] { return done == 8; }));
  EXPECT_EQ(ari.requests.size(), 8u);
}

TEST_F(RestClientTest, DownloadStoredRecording) {
  auto client = make();
  std::string wav = std::string("RIFF\x24\x00\x00\x00WAVEfmt ", 16) + std::string(1000, 'x');
  ari.push(200, wav, "audio/wav");
  auto path =
      std::filesystem::temp_directory_path() / ("ari-dl-" + std::to_string(::getpid()) + ".wav");
  const std::string file = path.string();  // must outlive the lazily started coroutine
  auto r = await(io, [&] { return client->download_stored_recording("probe1", file); });
  ASSERT_TRUE(r.ok()) << describe(r.error);
  EXPECT_EQ(*r, "audio/wav");
  EXPECT_EQ(ari.requests.at(0).method, "GET");
  EXPECT_EQ(ari.requests.at(0).path, "/ari/recordings/stored/probe1/file");
  EXPECT_EQ(std::filesystem::file_size(path), wav.size());
  std::ifstream in(path, std::ios::binary);
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, wav);
  std::filesystem::remove(path);

  ari.push(404, R"({"message":"Recording not found"})");
  auto e = await(io, [&] { return client->download_stored_recording("nope", file); });
  EXPECT_EQ(e.error.kind, AriError::Kind::http);
  EXPECT_EQ(e.error.message, "Recording not found");
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST_F(RestClientTest, RawRequest) {
  auto client = make();
  ari.push(200, R"({"ping":"pong"})");
  auto r = await(io, [&] { return client->raw_request("ping", "GET", "/asterisk/ping"); });
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, R"({"ping":"pong"})");
  EXPECT_EQ(ari.requests.at(0).path, "/ari/asterisk/ping");
}

TEST(AriErrors, ErrorFromResponse) {
  auto e = error_from_response(500, "application/json", R"({"error":"Allocation failed"})");
  EXPECT_EQ(e.kind, AriError::Kind::http);
  EXPECT_EQ(e.status, 500);
  EXPECT_EQ(e.message, "Allocation failed");
  EXPECT_EQ(error_from_response(503, "text/html", "<html>x</html>").message, "Service Unavailable");
  EXPECT_EQ(
      error_from_response(503, "application/json", R"({"message":"Asterisk not booted"})").message,
      "Asterisk not booted");
  EXPECT_EQ(error_from_response(418, "", "").message, "Client Error");
  AriError t;
  t.kind = AriError::Kind::timeout;
  t.message = "x";
  EXPECT_EQ(describe(t), "timeout: x");
}

}  // namespace
}  // namespace aa::ari
