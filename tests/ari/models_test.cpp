#include "ari/models.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "common/json.hpp"

namespace aa::ari {
namespace {

std::filesystem::path shared_dir() {
  if (const char* env = std::getenv("AA_SHARED_DIR"); env && *env) return env;
  return "../shared";
}

/// Compact re-serialization of any JSON text (for order-sensitive comparison).
std::string compact(std::string_view text) {
  auto doc = json::parse(text);
  EXPECT_TRUE(doc.has_value()) << text;
  return doc ? json::stringify(*doc) : std::string{};
}

const char* kStasisStart =
    R"({"type":"StasisStart","timestamp":"2026-11-26T02:36:46.773+0000","args":["outbound","probe"],)"
    R"("channel":{"id":"1795660606.97","name":"Local/100@test-answer-00000026;1","state":"Up",)"
    R"("protocol_id":"","caller":{"name":"Probe","number":"5550100"},"connected":{"name":"Probe",)"
    R"("number":"5550100"},"accountcode":"","dialplan":{"context":"test-answer","exten":"100",)"
    R"("priority":1,"app_name":"Stasis","app_data":"openclaw-voice,outbound,probe"},)"
    R"("creationtime":"2026-11-26T02:36:46.769+0000","language":"en"},)"
    R"("asterisk_id":"02:fc:00:00:00:01","application":"openclaw-voice"})";

const char* kChannelJson =
    R"({"id":"c1","name":"PJSIP/1001-00000aab","state":"Up","protocol_id":"0d31",)"
    R"("caller":{"name":"Alice","number":"5551234"},"connected":{"name":"","number":""},)"
    R"("accountcode":"","dialplan":{"context":"openclaw-voice","exten":"s","priority":1,)"
    R"("app_name":"Stasis","app_data":"openclaw-voice"},"creationtime":"2026-11-26T03:35:18.560+0000",)"
    R"("language":"en","channelvars":{"X_REP":"v1"}})";

TEST(Models, EventTypeNames) {
  EXPECT_EQ(event_type_from_name("StasisStart"), EventType::StasisStart);
  EXPECT_EQ(event_type_from_name("RecordingFailed"), EventType::RecordingFailed);
  EXPECT_EQ(event_type_from_name("ChannelVarset"), EventType::Other);
  EXPECT_EQ(event_type_from_name(""), EventType::Other);
  for (int i = 0; i < static_cast<int>(EventType::Other); ++i) {
    auto t = static_cast<EventType>(i);
    EXPECT_EQ(event_type_from_name(event_type_name(t)), t) << i;
  }
  EXPECT_EQ(event_type_name(EventType::Other), "");
}

TEST(Models, ParseStasisStart) {
  auto e = parse_event(kStasisStart);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, EventType::StasisStart);
  EXPECT_EQ(e->type_name, "StasisStart");
  EXPECT_EQ(e->application, "openclaw-voice");
  EXPECT_EQ(e->asterisk_id, "02:fc:00:00:00:01");
  EXPECT_EQ(e->timestamp, "2026-11-26T02:36:46.773+0000");
  ASSERT_EQ(e->args.size(), 2u);
  EXPECT_EQ(e->args[1], "probe");
  ASSERT_TRUE(e->channel);
  EXPECT_EQ(e->channel->id, "1795660606.97");
  EXPECT_EQ(e->channel->state, "Up");
  EXPECT_EQ(e->channel->caller.number, "5550100");
  EXPECT_EQ(e->channel->dialplan.priority, 1);
  EXPECT_EQ(e->channel->dialplan.app_data, "openclaw-voice,outbound,probe");
  EXPECT_EQ(e->channel_id(), "1795660606.97");
  EXPECT_EQ(e->raw, kStasisStart);
  EXPECT_EQ(to_json(*e), compact(kStasisStart));
}

TEST(Models, ChannelRoundTripWithChannelvars) {
  auto doc = json::parse(kChannelJson);
  ASSERT_TRUE(doc);
  Channel c = parse_channel(*doc);
  EXPECT_EQ(c.protocol_id, "0d31");
  ASSERT_EQ(c.channelvars.size(), 1u);
  EXPECT_EQ(c.channelvars[0].first, "X_REP");
  EXPECT_EQ(c.channelvars[0].second, "v1");
  EXPECT_EQ(to_json(c), compact(kChannelJson));
  auto doc2 = json::parse(to_json(c));
  ASSERT_TRUE(doc2);
  EXPECT_EQ(to_json(parse_channel(*doc2)), to_json(c));
}

TEST(Models, DialUsesPeer) {
  const char* text =
      R"({"type":"Dial","timestamp":"t","dialstatus":"BUSY","forward":"","dialstring":"102@x",)"
      R"("peer":{"id":"p1","state":"Busy"},"application":"a"})";
  auto e = parse_event(text);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, EventType::Dial);
  EXPECT_FALSE(e->channel);
  ASSERT_TRUE(e->peer);
  EXPECT_EQ(e->channel_id(), "p1");
  EXPECT_EQ(e->dialstatus, "BUSY");
  EXPECT_EQ(e->dialstring, "102@x");
}

TEST(Models, HangupRequestAndDestroyed) {
  auto e = parse_event(
      R"({"cause":32,"soft":true,"type":"ChannelHangupRequest","timestamp":"t","channel":{"id":"c"},)"
      R"("application":"a"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->cause, 32);
  EXPECT_TRUE(e->has_cause);
  EXPECT_TRUE(e->soft);
  auto n = parse_event(R"({"type":"ChannelHangupRequest","timestamp":"t","application":"a"})");
  ASSERT_TRUE(n);
  EXPECT_FALSE(n->has_cause);
  EXPECT_FALSE(n->soft);
  EXPECT_EQ(to_json(*n), R"({"type":"ChannelHangupRequest","timestamp":"t","application":"a"})");
  auto d = parse_event(
      R"({"type":"ChannelDestroyed","timestamp":"t","cause":17,"cause_txt":"User busy",)"
      R"("tech_cause":486,"application":"a"})");
  ASSERT_TRUE(d);
  EXPECT_EQ(d->cause, 17);
  EXPECT_EQ(d->cause_txt, "User busy");
  ASSERT_TRUE(d->tech_cause);
  EXPECT_EQ(*d->tech_cause, 486);
}

TEST(Models, RecordingOptionalFields) {
  auto doc = json::parse(
      R"({"name":"r","format":"wav","state":"done","target_uri":"bridge:b","duration":3,)"
      R"("talking_duration":2,"silence_duration":1})");
  ASSERT_TRUE(doc);
  LiveRecording r = parse_live_recording(*doc);
  ASSERT_TRUE(r.duration && r.talking_duration && r.silence_duration);
  EXPECT_EQ(*r.duration, 3);
  EXPECT_EQ(to_json(r), json::stringify(*doc));
  LiveRecording q;
  q.name = "x";
  q.format = "wav";
  q.state = "queued";
  q.target_uri = "channel:c";
  EXPECT_EQ(to_json(q), R"({"name":"x","format":"wav","state":"queued","target_uri":"channel:c"})");
  q.state = "failed";
  q.cause = "Cannot record channel while in bridge";
  EXPECT_EQ(to_json(q), R"({"name":"x","format":"wav","state":"failed","target_uri":"channel:c",)"
                        R"("cause":"Cannot record channel while in bridge"})");
}

TEST(Models, PlaybackBridgeEndpointStored) {
  const char* pb =
      R"({"id":"pb","media_uri":"sound:a","next_media_uri":"sound:b","target_uri":"channel:c",)"
      R"("language":"en","state":"queued"})";
  auto d1 = json::parse(pb);
  EXPECT_EQ(to_json(parse_playback(*d1)), compact(pb));
  Playback p;
  p.id = "x";
  EXPECT_EQ(to_json(p), R"({"id":"x","media_uri":"","target_uri":"","language":"","state":""})");

  const char* br =
      R"({"id":"b","technology":"simple_bridge","bridge_type":"mixing","bridge_class":"stasis",)"
      R"("creator":"Stasis","name":"n","channels":["c1","c2"],)"
      R"("creationtime":"2026-11-26T03:44:18.009+0000","video_mode":"talker"})";
  auto d2 = json::parse(br);
  Bridge b = parse_bridge(*d2);
  EXPECT_EQ(b.channels.size(), 2u);
  EXPECT_EQ(to_json(b), compact(br));

  const char* ep =
      R"({"technology":"PJSIP","resource":"1001","state":"online","channel_ids":["x"]})";
  auto d3 = json::parse(ep);
  EXPECT_EQ(to_json(parse_endpoint(*d3)), compact(ep));

  const char* st = R"({"name":"probe1","format":"wav"})";
  auto d4 = json::parse(st);
  EXPECT_EQ(to_json(parse_stored_recording(*d4)), compact(st));
}

TEST(Models, AsteriskInfo) {
  std::string raw =
      R"({"build":{"os":"Linux"},"system":{"version":"22.11.0-rc1","entity_id":"02:fc"},)"
      R"("config":{"name":""},"status":{"startup_time":"2026-11-26T03:41:26.562+0000"}})";
  auto doc = json::parse(raw);
  AsteriskInfo a = parse_asterisk_info(*doc, raw);
  EXPECT_EQ(a.version, "22.11.0-rc1");
  EXPECT_EQ(a.entity_id, "02:fc");
  EXPECT_EQ(a.startup_time, "2026-11-26T03:41:26.562+0000");
  EXPECT_EQ(to_json(a), raw);
}

TEST(Models, TolerantParsing) {
  // Mistyped and missing fields read as empty, never throw.
  auto doc = json::parse(
      R"({"id":5,"state":null,"caller":"x","dialplan":{"priority":"1"},"channelvars":[1]})");
  Channel c = parse_channel(*doc);
  EXPECT_EQ(c.id, "");
  EXPECT_EQ(c.state, "");
  EXPECT_EQ(c.caller.name, "");
  EXPECT_EQ(c.dialplan.priority, 0);
  EXPECT_TRUE(c.channelvars.empty());
  auto arr = json::parse("[1,2]");
  EXPECT_EQ(parse_bridge(*arr).id, "");
  EXPECT_EQ(parse_playback(*arr).id, "");
  EXPECT_EQ(parse_live_recording(*arr).name, "");
  EXPECT_EQ(parse_endpoint(*arr).resource, "");
  auto b = json::parse(R"({"channels":["a",1,null,"b"],"id":"x"})");
  EXPECT_EQ(parse_bridge(*b).channels, (std::vector<std::string>{"a", "b"}));
  auto r = json::parse(R"({"duration":"3"})");
  EXPECT_FALSE(parse_live_recording(*r).duration);

  EXPECT_FALSE(parse_event("not json"));
  EXPECT_FALSE(parse_event("[]"));
  EXPECT_FALSE(parse_event(R"({"no":"type"})"));
  EXPECT_FALSE(parse_event(R"({"type":7})"));
  auto e = parse_event(R"({"type":"StasisStart","channel":"oops","args":"x","cause":"y"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, EventType::StasisStart);
  EXPECT_FALSE(e->channel);
  EXPECT_TRUE(e->args.empty());
  EXPECT_FALSE(e->has_cause);
  EXPECT_EQ(e->channel_id(), "");
}

TEST(Models, UnknownEventKeptRaw) {
  const char* text =
      R"({"variable":"STASISSTATUS","value":"","type":"ChannelVarset","timestamp":"t",)"
      R"("channel":{"id":"c9"},"asterisk_id":"x","application":"a"})";
  auto e = parse_event(text);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, EventType::Other);
  EXPECT_EQ(e->type_name, "ChannelVarset");
  EXPECT_EQ(e->variable, "STASISSTATUS");
  EXPECT_EQ(e->channel_id(), "c9");
  EXPECT_EQ(e->raw, text);
  EXPECT_EQ(to_json(*e), text);
}

TEST(Models, MakeEventWrites) {
  Event e = make_event(EventType::ChannelHangupRequest, "app", "ts", "id");
  e.cause = 32;
  e.soft = true;
  Channel c;
  c.id = "c1";
  e.channel = c;
  std::string out = to_json(e);
  EXPECT_EQ(
      out.rfind(R"({"cause":32,"soft":true,"type":"ChannelHangupRequest","timestamp":"ts",)", 0),
      0u)
      << out;
  auto back = parse_event(out);
  ASSERT_TRUE(back);
  EXPECT_EQ(to_json(*back), out);

  Event r = make_event(EventType::ApplicationReplaced, "app", "ts", "id");
  EXPECT_EQ(
      to_json(r),
      R"({"type":"ApplicationReplaced","timestamp":"ts","application":"app","asterisk_id":"id"})");
}

/// Every event of every recorded trace: parse → write reproduces Asterisk's JSON
/// byte for byte (same fields, same order), and parse(write(x)) is stable.
TEST(Models, TraceEventsRoundTrip) {
  auto dir = shared_dir() / "ari-traces";
  if (!std::filesystem::exists(dir / "all-events.jsonl"))
    GTEST_SKIP() << "shared traces not found at " << dir;
  std::map<std::string, int> seen;
  size_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      auto doc = json::parse(line);
      ASSERT_TRUE(doc) << entry.path();
      const json::Value* ev = json::find(*doc, "event");
      if (!ev || !ev->IsObject()) continue;
      std::string text = json::stringify(*ev);
      auto e = parse_event(text);
      ASSERT_TRUE(e) << text;
      ++total;
      ++seen[e->type_name];
      EXPECT_EQ(e->type, event_type_from_name(e->type_name));
      std::string out = to_json(*e);
      EXPECT_EQ(out, text) << entry.path().filename();
      auto again = parse_event(out);
      ASSERT_TRUE(again);
      EXPECT_EQ(to_json(*again), out);
      if (e->type != EventType::Other && e->type != EventType::ApplicationReplaced &&
          e->type != EventType::BridgeDestroyed && e->type != EventType::BridgeCreated &&
          e->type != EventType::PlaybackStarted && e->type != EventType::PlaybackFinished &&
          e->type != EventType::RecordingStarted && e->type != EventType::RecordingFinished &&
          e->type != EventType::RecordingFailed) {
        EXPECT_FALSE(e->channel_id().empty()) << text;
      }
    }
  }
  EXPECT_GT(total, 500u);
  EXPECT_GT(seen["StasisStart"], 0);
  EXPECT_GT(seen["Dial"], 0);
  EXPECT_GT(seen["RecordingFailed"], 0);
}

/// Every REST body in the traces that is one of our models round-trips exactly.
TEST(Models, TraceRestBodiesRoundTrip) {
  auto dir = shared_dir() / "ari-traces";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << "shared traces not found at " << dir;
  size_t checked = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".jsonl") continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      auto doc = json::parse(line);
      ASSERT_TRUE(doc);
      if (json::get_string(*doc, "kind") != "rest") continue;
      const json::Value* body = json::find(*doc, "body");
      if (!body || !body->IsObject()) continue;
      std::string text = json::stringify(*body);
      std::string out;
      if (json::find(*body, "bridge_type"))
        out = to_json(parse_bridge(*body));
      else if (json::find(*body, "protocol_id"))
        out = to_json(parse_channel(*body));
      else if (json::find(*body, "media_uri"))
        out = to_json(parse_playback(*body));
      else if (json::find(*body, "target_uri") && json::find(*body, "format"))
        out = to_json(parse_live_recording(*body));
      else if (json::find(*body, "technology") && json::find(*body, "channel_ids"))
        out = to_json(parse_endpoint(*body));
      else
        continue;
      ++checked;
      EXPECT_EQ(out, text) << entry.path().filename();
    }
  }
  EXPECT_GT(checked, 50u);
}

}  // namespace
}  // namespace aa::ari
