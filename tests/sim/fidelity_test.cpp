// Fidelity: replays the scenarios of ../shared/ari-traces against the simulator
// and checks, for the channel we created, the same significant events in the
// same order (states, Dial dialstatus, hangup causes), the same status codes
// and bodies for errors, and that every body and event matches its Swagger
// model in ../shared/ari-api-docs (required members present, right JSON types).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "sim_harness.hpp"
#include "swagger_check.hpp"

using namespace aa;
using aa::simtest::EventLog;
using aa::simtest::Harness;
using aa::simtest::Swagger;
namespace fs = std::filesystem;

namespace {

std::optional<fs::path> shared_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("AA_SHARED_DIR")) candidates.emplace_back(env);
  candidates.emplace_back("../shared");
  candidates.emplace_back("../../shared");
  for (const auto& c : candidates)
    if (fs::exists(c / "ari-traces" / "README.md") && fs::exists(c / "ari-api-docs")) return c;
  return std::nullopt;
}

std::vector<json::Document> load_jsonl(const fs::path& p) {
  std::vector<json::Document> out;
  std::ifstream f(p);
  std::string line;
  while (std::getline(f, line))
    if (auto d = json::parse(line)) out.push_back(std::move(*d));
  return out;
}

// ---- significant event signatures ----

const std::set<std::string> kSignificant = {"Dial",
                                            "ChannelStateChange",
                                            "StasisStart",
                                            "StasisEnd",
                                            "ChannelHangupRequest",
                                            "ChannelDestroyed",
                                            "ChannelDtmfReceived",
                                            "ChannelEnteredBridge",
                                            "ChannelLeftBridge"};

std::string channel_sig(const json::Value& ev) {
  const std::string type(json::get_string(ev, "type"));
  std::string s = type;
  const json::Value* ch = json::find(ev, "channel");
  if (type == "Dial") return s + "|" + std::string(json::get_string(ev, "dialstatus"));
  if (ch) s += "|" + std::string(json::get_string(*ch, "state"));
  if (type == "StasisStart") {
    s += "|args=";
    if (auto* a = json::find(ev, "args"); a && a->IsArray())
      for (const auto& x : a->GetArray()) s += std::string(json::as_view(x)) + ",";
  }
  if (type == "ChannelHangupRequest" || type == "ChannelDestroyed") {
    if (auto* c = json::find(ev, "cause")) s += "|cause=" + std::to_string(c->GetInt64());
    if (json::get_bool(ev, "soft")) s += "|soft";
  }
  if (type == "ChannelDtmfReceived") s += "|" + std::string(json::get_string(ev, "digit"));
  return s;
}

std::string event_channel_id(const json::Value& ev) {
  if (const json::Value* ch = json::find(ev, "channel"))
    return std::string(json::get_string(*ch, "id"));
  if (const json::Value* p = json::find(ev, "peer")) return std::string(json::get_string(*p, "id"));
  return {};
}

std::string item_sig(const json::Value& ev, const char* key) {
  const json::Value* p = json::find(ev, key);
  std::string s =
      std::string(json::get_string(ev, "type")) + "|" + std::string(json::get_string(*p, "state"));
  if (auto* d = json::find(*p, "duration")) s += "|" + std::to_string(d->GetInt64());
  return s;
}

/// Significant events of channel `id` in a trace file.
std::vector<std::string> trace_channel(const std::vector<json::Document>& trace,
                                       const std::string& id) {
  std::vector<std::string> out;
  for (const auto& line : trace) {
    if (json::get_string(line, "kind") != "event") continue;
    const json::Value* ev = json::find(line, "event");
    if (!ev || !kSignificant.count(std::string(json::get_string(*ev, "type")))) continue;
    if (event_channel_id(*ev) == id) out.push_back(channel_sig(*ev));
  }
  return out;
}

/// Playback/recording events of one item (by playback id or recording name).
std::vector<std::string> trace_item(const std::vector<json::Document>& trace,
                                    const std::string& id) {
  std::vector<std::string> out;
  for (const auto& line : trace) {
    if (json::get_string(line, "kind") != "event") continue;
    const json::Value* ev = json::find(line, "event");
    if (!ev) continue;
    for (const char* key : {"playback", "recording"})
      if (const json::Value* p = json::find(*ev, key))
        if (json::get_string(*p, key == std::string("playback") ? "id" : "name") == id)
          out.push_back(item_sig(*ev, key));
  }
  return out;
}

std::vector<std::string> sim_channel(const EventLog& log, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& e : log.events) {
    auto doc = json::parse(e.raw);
    if (!doc || !kSignificant.count(e.type)) continue;
    if (event_channel_id(*doc) == id) out.push_back(channel_sig(*doc));
  }
  return out;
}

std::vector<std::string> sim_item(const EventLog& log, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& e : log.events) {
    auto doc = json::parse(e.raw);
    if (!doc) continue;
    for (const char* key : {"playback", "recording"})
      if (const json::Value* p = json::find(*doc, key))
        if (json::get_string(*p, key == std::string("playback") ? "id" : "name") == id)
          out.push_back(item_sig(*doc, key));
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (const auto& x : v) s += "  " + x + "\n";
  return s;
}

class Fidelity : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = shared_dir();
    if (!dir_)
      GTEST_SKIP()
          << "../shared (ari-traces, ari-api-docs) not found; set AA_SHARED_DIR to run the "
             "fidelity test";
    swagger_ = std::make_unique<Swagger>(Swagger::from_dir(*dir_ / "ari-api-docs"));
  }
  std::vector<json::Document> trace(const std::string& name) {
    return load_jsonl(*dir_ / "ari-traces" / name);
  }
  /// Every event received must match its Swagger model.
  void check_events(const EventLog& log) {
    for (const auto& e : log.events) {
      auto doc = json::parse(e.raw);
      ASSERT_TRUE(doc) << e.raw;
      std::vector<std::string> errors;
      swagger_->check_event(*doc, errors);
      EXPECT_TRUE(errors.empty()) << e.raw << "\n" << join(errors);
    }
  }
  void check_body(const net::ClientResponse& r, const std::string& type) {
    auto doc = json::parse(r.body);
    ASSERT_TRUE(doc) << "not JSON: " << r.body;
    std::vector<std::string> errors;
    swagger_->check(*doc, type, type, errors);
    EXPECT_TRUE(errors.empty()) << r.body << "\n" << join(errors);
  }
  void expect_same(const std::vector<std::string>& want, const std::vector<std::string>& got,
                   const std::string& what) {
    EXPECT_EQ(want, got) << what << "\ntrace:\n" << join(want) << "simulator:\n" << join(got);
  }

  std::optional<fs::path> dir_;
  std::unique_ptr<Swagger> swagger_;
};

std::string channel_id_of(const net::ClientResponse& r) {
  auto d = json::parse(r.body);
  return d ? std::string(json::get_string(*d, "id")) : std::string();
}

}  // namespace

TEST_F(Fidelity, OriginateAnswered100AndHangupFromOurSide) {
  auto t = trace("errors.jsonl");
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto r = co_await h.ari(
        "POST", "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&timeout=abc");
    EXPECT_EQ(r.status, 200);
    check_body(r, "Channel");
    const std::string id = channel_id_of(r);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", id));
    r = co_await h.ari("GET", "/channels/" + id);
    check_body(r, "Channel");
    r = co_await h.ari("DELETE", "/channels/" + id);
    EXPECT_EQ(r.status, 204);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", id));
    expect_same(trace_channel(t, "1795660689.146"), sim_channel(*ev, id), "answered + hangup");
    check_events(*ev);
  });
}

TEST_F(Fidelity, RingingThenAnswered101) {
  auto t = trace("originate-ringing-101.jsonl");
  Harness h;
  h.run([&]() -> awaitable<void> {
    co_await h.control("PUT", "/endpoints/Local/101@test-answer",
                       R"({"behavior":"answer","answerAfterMs":2000})");
    auto ev = co_await h.events();
    auto r = co_await h.ari(
        "POST", "/channels?endpoint=Local/101@test-answer&app=openclaw-voice&timeout=30");
    const std::string id = channel_id_of(r);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "Dial", id));
    co_await sleep_for(std::chrono::milliseconds(10));
    r = co_await h.ari("GET", "/channels/" + id);
    EXPECT_NE(r.body.find("\"Ringing\""), std::string::npos);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", id));
    co_await h.ari("DELETE", "/channels/" + id);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", id));
    expect_same(trace_channel(t, "1795660619.105"), sim_channel(*ev, id), "ringing 101");
    check_events(*ev);
  });
}

TEST_F(Fidelity, Busy102AndNoAnswer103) {
  auto busy = trace("originate-busy-102.jsonl");
  auto noans = trace("originate-noanswer-103.jsonl");
  Harness h;
  h.run([&]() -> awaitable<void> {
    co_await h.control("PUT", "/endpoints/Local/102@test-answer", R"({"behavior":"busy"})");
    co_await h.control("PUT", "/endpoints/Local/103@test-answer", R"({"behavior":"noanswer"})");
    auto ev = co_await h.events();
    auto r = co_await h.ari(
        "POST", "/channels?endpoint=Local/102@test-answer&app=openclaw-voice&timeout=15");
    const std::string b = channel_id_of(r);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", b));
    r = co_await h.ari("GET", "/channels/" + b);
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, R"({"message":"Channel not found"})");
    expect_same(trace_channel(busy, "1795660625.109"), sim_channel(*ev, b), "busy 102");
    r = co_await h.ari("POST",
                       "/channels?endpoint=Local/103@test-answer&app=openclaw-voice&timeout=5");
    const std::string n = channel_id_of(r);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", n));
    expect_same(trace_channel(noans, "1795660625.111"), sim_channel(*ev, n), "no answer 103");
    check_events(*ev);
  });
}

TEST_F(Fidelity, FarEndDtmf104) {
  auto t = trace("originate-dtmf-104.jsonl");
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto r = co_await h.ari(
        "POST", "/channels?endpoint=Local/104@test-answer&app=openclaw-voice&timeout=30");
    const std::string id = channel_id_of(r);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", id));
    r = co_await h.control("POST", "/channels/" + id + "/dtmf", R"({"digits":"123"})");
    EXPECT_EQ(r.status, 204);
    EXPECT_TRUE(co_await Harness::until([&] {
      int n = 0;
      for (const auto& e : ev->events) n += e.type == "ChannelDtmfReceived";
      return n == 3;
    }));
    co_await h.ari("DELETE", "/channels/" + id);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", id));
    expect_same(trace_channel(t, "1795660622.107"), sim_channel(*ev, id), "dtmf 104");
    check_events(*ev);
  });
}

TEST_F(Fidelity, InboundWithAndWithoutArgs) {
  auto t = trace("inbound-stasis.jsonl");
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    // The trace's callers come through Local channels (CLI originate of Local/<exten>).
    auto r = co_await h.control("POST", "/inbound",
                                R"({"from":"5551234","to":"200","technology":"Local"})");
    EXPECT_EQ(r.status, 201);
    const std::string a(json::get_string(simtest::parse_body(r), "channelId"));
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", a));
    r = co_await h.ari("POST", "/channels/" + a + "/play?media=sound:beep&playbackId=pb-early-1");
    EXPECT_EQ(r.status, 201);
    check_body(r, "Playback");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "PlaybackFinished", "pb-early-1"));
    EXPECT_EQ((co_await h.ari("POST", "/channels/" + a + "/ring")).status, 204);
    EXPECT_EQ((co_await h.ari("POST", "/channels/" + a + "/answer")).status, 204);
    EXPECT_EQ((co_await h.ari("POST", "/channels/" + a + "/answer")).status, 204);
    r = co_await h.ari("POST",
                       "/channels/" + a + "/play?media=sound:hello-world&playbackId=pb-in-1");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "PlaybackFinished", "pb-in-1"));
    EXPECT_EQ((co_await h.ari("POST", "/channels/" + a + "/continue")).status, 204);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisEnd", a));
    co_await sleep_for(std::chrono::milliseconds(30));
    expect_same(trace_channel(t, "1795660636.120"), sim_channel(*ev, a), "inbound without args");
    expect_same(trace_item(t, "pb-early-1"), sim_item(*ev, "pb-early-1"), "early playback");
    expect_same(trace_item(t, "pb-in-1"), sim_item(*ev, "pb-in-1"), "hello-world playback");

    r = co_await h.control(
        "POST", "/inbound",
        R"({"from":"","to":"300","args":["inbound","300",""],"technology":"Local"})");
    const std::string b(json::get_string(simtest::parse_body(r), "channelId"));
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", b));
    co_await h.ari("POST", "/channels/" + b + "/answer");
    co_await h.control("POST", "/channels/" + b + "/hangup", R"({"cause":16})");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisEnd", b));
    co_await sleep_for(std::chrono::milliseconds(30));
    expect_same(trace_channel(t, "1795660639.122"), sim_channel(*ev, b), "inbound with args");
    check_events(*ev);
  });
}

TEST_F(Fidelity, PlaybacksIncludingMissingSoundAndHangupDuringMedia) {
  auto errors = trace("errors.jsonl");
  auto local = trace("originate-local.jsonl");
  auto media = trace("hangup-during-media.jsonl");
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto r = co_await h.ari(
        "POST", "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&channelId=md-a");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "md-a"));
    r = co_await h.ari("POST", "/channels/md-a/play?media=sound:hello-world&playbackId=pb-hello-1");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "PlaybackFinished", "pb-hello-1"));
    r = co_await h.ari("GET", "/playbacks/pb-hello-1");
    EXPECT_EQ(r.body, R"({"message":"Playback not found"})");
    r = co_await h.ari("POST",
                       "/channels/md-a/play?media=sound:no-such-sound-file&playbackId=pb-err-2");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "PlaybackFinished", "pb-err-2"));
    r = co_await h.ari("POST",
                       "/channels/md-a/play?media=sound:beep,sound:beep&playbackId=pb-2list-02mgb");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "PlaybackFinished", "pb-2list-02mgb"));
    r = co_await h.ari(
        "POST",
        "/channels/md-a/play?media=sound:hello-world,sound:hello-world,sound:hello-world,"
        "sound:hello-world&playbackId=pb-list-02mgb");
    EXPECT_NE(r.body.find("next_media_uri"), std::string::npos);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "PlaybackStarted", "pb-list-02mgb"));
    r = co_await h.ari("GET", "/playbacks/pb-list-02mgb");
    check_body(r, "Playback");
    co_await h.ari("DELETE", "/channels/md-a");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "md-a"));
    expect_same(trace_item(local, "pb-hello-1"), sim_item(*ev, "pb-hello-1"), "hello-world");
    expect_same(trace_item(errors, "pb-err-2"), sim_item(*ev, "pb-err-2"), "missing sound");
    expect_same(trace_item(media, "pb-2list-02mgb"), sim_item(*ev, "pb-2list-02mgb"),
                "2-item list");
    expect_same(trace_item(media, "pb-list-02mgb"), sim_item(*ev, "pb-list-02mgb"),
                "hangup during list");
    expect_same(trace_channel(media, "md-a-02mgb"), sim_channel(*ev, "md-a"), "channel with media");
    check_events(*ev);
  });
}

TEST_F(Fidelity, RecordingsAndBridge) {
  auto limits = trace("recording-limits.jsonl");
  auto local = trace("originate-local.jsonl");
  auto media = trace("hangup-during-media.jsonl");
  auto bridge = trace("two-leg-bridge.jsonl");
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    co_await h.ari("POST",
                   "/channels?endpoint=PJSIP/1001&app=openclaw-voice&channelId=rl-sip&timeout=20");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "rl-sip"));
    auto r = co_await h.ari("POST",
                            "/channels/rl-sip/record?name=rl-maxdur-04nyf&format=wav&beep=false&"
                            "ifExists=overwrite&maxDurationSeconds=2");
    EXPECT_EQ(r.status, 201);
    check_body(r, "LiveRecording");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "RecordingFinished", "rl-maxdur-04nyf"));
    {
      // The trace records this name twice (later with ifExists=append): the first run.
      auto want = trace_item(limits, "rl-maxdur-04nyf");
      want.resize(std::min<size_t>(want.size(), 2));
      expect_same(want, sim_item(*ev, "rl-maxdur-04nyf"), "maxDuration");
    }
    r = co_await h.ari("GET", "/recordings/stored/rl-maxdur-04nyf");
    check_body(r, "StoredRecording");
    r = co_await h.ari("POST",
                       "/channels/rl-sip/record?name=rl-maxdur-04nyf&format=wav&ifExists=fail");
    EXPECT_EQ(r.status, 409);
    EXPECT_EQ(
        r.body,
        R"({"message":"Recording 'rl-maxdur-04nyf' already exists and can not be overwritten"})");
    // Hang up during a recording: RecordingFinished done with its duration.
    r = co_await h.ari(
        "POST", "/channels/rl-sip/record?name=hup-rec-rest-02mgb&format=wav&ifExists=overwrite");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "RecordingStarted", "hup-rec-rest-02mgb"));
    co_await sleep_for(std::chrono::milliseconds(static_cast<int>(2100 * 0.02)));
    co_await h.ari("DELETE", "/channels/rl-sip");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "rl-sip"));
    expect_same(trace_item(media, "hup-rec-rest-02mgb"), sim_item(*ev, "hup-rec-rest-02mgb"),
                "hangup rec");

    // Two legs in a mixing bridge; the SIP far end hangs up; the bridge is destroyed.
    co_await h.ari("POST",
                   "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&channelId=br-local&"
                   "callerId=%22Leg%20L%22%20%3C5550001%3E");
    co_await h.ari("POST",
                   "/channels?endpoint=PJSIP/1001&app=openclaw-voice&channelId=br-sip&timeout=20");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "br-local"));
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "br-sip"));
    r = co_await h.ari("POST", "/bridges?type=mixing&bridgeId=br-x&name=two-leg");
    check_body(r, "Bridge");
    EXPECT_EQ((co_await h.ari("POST", "/bridges/br-x/addChannel?channel=br-local,br-sip")).status,
              204);
    r = co_await h.ari(
        "POST", "/channels/br-local/record?name=probe1-inbridge&format=wav&ifExists=overwrite");
    EXPECT_EQ(r.status, 201);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "RecordingFailed", "probe1-inbridge"));
    expect_same(trace_item(local, "probe1-inbridge"), sim_item(*ev, "probe1-inbridge"),
                "record in bridge");
    co_await h.control("POST", "/channels/br-sip/hangup", R"({"cause":16})");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "br-sip"));
    r = co_await h.ari("GET", "/bridges/br-x");
    EXPECT_NE(r.body.find("[\"br-local\"]"), std::string::npos) << r.body;
    EXPECT_EQ((co_await h.ari("DELETE", "/bridges/br-x")).status, 204);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "BridgeDestroyed"));
    r = co_await h.ari("GET", "/channels/br-local");
    EXPECT_NE(r.body.find("\"Up\""), std::string::npos);
    r = co_await h.ari("POST", "/channels/br-local/play?media=sound:beep&playbackId=pb-l");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "PlaybackFinished", "pb-l"));
    co_await h.ari("DELETE", "/channels/br-local");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "br-local"));
    expect_same(trace_channel(bridge, "br-sip-0dhjg"), sim_channel(*ev, "br-sip"),
                "bridged SIP leg");
    expect_same(trace_channel(bridge, "br-local-0dhjg"), sim_channel(*ev, "br-local"),
                "bridged Local leg");
    check_events(*ev);
  });
}

TEST_F(Fidelity, ModelsOfOtherResources) {
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto r = co_await h.ari("GET", "/asterisk/info");
    check_body(r, "AsteriskInfo");
    r = co_await h.ari("GET", "/asterisk/ping");
    check_body(r, "AsteriskPing");
    r = co_await h.ari("GET", "/applications");
    check_body(r, "List[Application]");
    r = co_await h.ari("GET", "/endpoints");
    check_body(r, "List[Endpoint]");
    r = co_await h.ari("GET", "/sounds/hello-world");
    check_body(r, "Sound");
    r = co_await h.ari("POST",
                       "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&channelId=v1",
                       R"J({"variables":{"X_FOO":"bar","CALLERID(name)":"Alice"}})J");
    EXPECT_NE(r.body.find(R"("caller":{"name":"Alice","number":""})"), std::string::npos) << r.body;
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "v1"));
    r = co_await h.ari("GET", "/channels/v1/variable?variable=X_FOO");
    check_body(r, "Variable");
    EXPECT_EQ(r.body, R"({"value":"bar"})");
    r = co_await h.ari("GET", "/channels");
    check_body(r, "List[Channel]");
    r = co_await h.ari("POST",
                       "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&channelId=v2",
                       R"({"variables":{"X_NUM":42}})");
    EXPECT_EQ(r.status, 400);
    r = co_await h.ari("POST", "/applications/openclaw-voice/subscription?eventSource=channel:v1");
    check_body(r, "Application");
    r = co_await h.ari("GET", "/bridges");
    check_body(r, "List[Bridge]");
    r = co_await h.ari("GET", "/recordings/stored");
    check_body(r, "List[StoredRecording]");
    check_events(*ev);
  });
}

// The error matrix of errors.jsonl: every 4xx/5xx request replayed with our ids
// gives the same status and the same body.
TEST_F(Fidelity, ErrorMatrix) {
  auto t = trace("errors.jsonl");
  Harness h;
  h.run([&]() -> awaitable<void> {
    co_await h.control("PUT", "/endpoints/PJSIP/1002", R"({"behavior":"manual"})");
    auto ev = co_await h.events();
    co_await h.ari("POST",
                   "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&channelId=live-1");
    co_await h.ari(
        "POST", "/channels?endpoint=PJSIP/1002&app=openclaw-voice&channelId=ringing-1&timeout=600");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "live-1"));
    co_await h.ari("POST", "/bridges?bridgeId=bridge-1");
    co_await h.ari("POST", "/channels/live-1/record?name=errrec&format=wav&ifExists=overwrite");
    co_await h.ari("POST", "/recordings/live/errrec/stop");
    co_await h.ari("POST", "/channels/live-1/play?media=tone:ring&playbackId=pb-dup");
    const std::map<std::string, std::string> ids = {
        {"1795660689.148", "live-1"},
        {"1795660695.151", "ringing-1"},
        {"dc968016-1024-4108-9068-23a9555bc87d", "bridge-1"},
        {"09014b0b-722c-4415-87bf-1157425c9102", "bridge-1"}};
    int checked = 0;
    for (const auto& line : t) {
      if (json::get_string(line, "kind") != "rest") continue;
      const int status = static_cast<int>(json::get_int(line, "status"));
      if (status < 400) continue;
      const json::Value& req = *json::find(line, "request");
      const std::string method(json::get_string(req, "method"));
      std::string path(json::get_string(req, "path"));
      for (const auto& [from, to] : ids) {
        const auto pos = path.find(from);
        if (pos == std::string::npos) continue;
        // Deleting an already deleted object: use an id that never existed.
        const bool gone = method == "DELETE" &&
                          (path.rfind("/channels/", 0) == 0 || path.rfind("/bridges/", 0) == 0);
        path.replace(pos, from.size(), gone ? "gone-" + to : to);
      }
      std::string target = path;
      char sep = '?';
      if (const json::Value* q = json::find(req, "query"); q && q->IsObject())
        for (const auto& m : q->GetObject()) {
          std::string value(json::as_view(m.value));
          for (const auto& [from, to] : ids)
            if (value == from) value = to;
          target += sep + std::string(m.name.GetString()) + "=" + url_encode(value);
          sep = '&';
        }
      std::string body;
      if (const json::Value* b = json::find(req, "body"); b && b->IsString())
        body = std::string(json::as_view(*b));
      const bool auth = status != 401;
      auto r = co_await h.ari(method, target, body, auth);
      const std::string want_body = json::stringify(*json::find(line, "body"));
      EXPECT_EQ(r.status, status) << method << " " << target << " -> " << r.body;
      EXPECT_EQ(r.body, want_body) << method << " " << target;
      ++checked;
    }
    EXPECT_GT(checked, 40);

    // Events socket handshake errors.
    auto url = parse_url(h.base);
    net::WsClientOptions bad;
    bad.basic_auth = "asterisk_ari:wrong";
    const std::string t1 = "/ari/events?app=openclaw-voice";
    auto w = co_await net::ws_connect(*url, t1, bad);
    EXPECT_EQ(w.http_status, 401);
    EXPECT_EQ(w.body, R"({"message":"Authentication required"})");
    net::WsClientOptions good;
    good.basic_auth = "asterisk_ari:asterisk_ari_pass";
    const std::string t2 = "/ari/events";
    w = co_await net::ws_connect(*url, t2, good);
    EXPECT_EQ(w.http_status, 400);
    EXPECT_NE(w.body.find("HTTP request is missing param: [app]"), std::string::npos) << w.body;
    const std::string t3 = "/ari/nosuch?app=x";
    w = co_await net::ws_connect(*url, t3, good);
    EXPECT_EQ(w.http_status, 404);
    EXPECT_EQ(w.body, R"({"message":"Resource not found"})");
  });
}

// The far end of an originated Local channel hangs up (Hangup() on its ;2
// side) during a tone that never ends: hangup-during-media C. The Stasis half
// gets the far end's cause (16, not soft); the ;2 half a soft request. Naming
// either half to /_sim/channels/{id}/hangup hangs up the same call.
TEST_F(Fidelity, FarEndHangupOfALocalChannel) {
  auto media = trace("hangup-during-media.jsonl");
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    for (const std::string& id : std::vector<std::string>{"md-c", "md-c2"}) {
      co_await h.ari("POST",
                     "/channels?endpoint=Local/106@test-answer&app=openclaw-voice&channelId=" + id);
      EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", id));
      const std::string pb = "pb-tone106-" + id;
      auto r = co_await h.ari(
          "POST", "/channels/" + id + "/play?media=tone:ring%3Btonezone%3Dus&playbackId=" + pb);
      EXPECT_EQ(r.status, 201);
      EXPECT_TRUE(co_await Harness::wait_event(ev, "PlaybackStarted", pb));
      // The first call is hung up by its Stasis half's id, the second by its ;2 half's.
      const std::string named = id == "md-c" ? id : id + ";2";
      r = co_await h.control("POST", "/channels/" + url_encode(named) + "/hangup",
                             R"({"cause":16})");
      EXPECT_EQ(r.status, 204);
      EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", id));
      expect_same(trace_channel(media, "md-c-02mgb"), sim_channel(*ev, id), "Stasis half " + id);
      expect_same(trace_channel(media, "md-c-02mgb;2"), sim_channel(*ev, id + ";2"),
                  ";2 half of " + id);
      expect_same(trace_item(media, "pb-tone106-02mgb"), sim_item(*ev, pb), "tone of " + id);
    }
    check_events(*ev);
  });
}

// GET /channels shows a channel in Stasis with app_name "Stasis" and app_data
// "<app>,<args>" (what a restarted service adopts its calls by), the caller
// as given, and the dialplan position by technology: asterisk-restart's list.
TEST_F(Fidelity, ChannelListShowsStasisAppAndArgs) {
  auto t = trace("asterisk-restart.jsonl");
  std::map<std::string, std::string> want;  // id -> {state, caller, dialplan} as JSON
  auto summary = [](const json::Value& c) {
    json::Writer w;
    w.begin_object().field("state", json::get_string(c, "state"));
    w.key("caller").value(*json::find(c, "caller"));
    w.key("connected").value(*json::find(c, "connected"));
    w.key("dialplan").value(*json::find(c, "dialplan"));
    w.end_object();
    return w.str();
  };
  for (const auto& line : t) {
    if (json::get_string(line, "kind") != "rest") continue;
    const json::Value& req = *json::find(line, "request");
    const json::Value* body = json::find(line, "body");
    if (json::get_string(req, "path") != "/channels" || json::get_string(req, "method") != "GET" ||
        !body || !body->IsArray() || body->Empty())
      continue;
    for (const auto& c : body->GetArray())
      if (json::get_string(*json::find(c, "dialplan"), "app_name") == "Stasis")
        want[std::string(json::get_string(c, "id"))] = summary(c);
    break;
  }
  ASSERT_EQ(want.size(), 2u);
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    co_await h.ari(
        "POST",
        "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&channelId=rst-local-"
        "0bu30&appArgs=restart,local");
    co_await h.ari("POST",
                   "/channels?endpoint=PJSIP/1001&app=openclaw-voice&channelId=rst-sip-0bu30&"
                   "appArgs=restart,sip&timeout=20&callerId=" +
                       url_encode("\"Restart Probe\" <5550111>"));
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "rst-local-0bu30"));
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "rst-sip-0bu30"));
    auto r = co_await h.ari("GET", "/channels");
    check_body(r, "List[Channel]");
    auto list = simtest::parse_body(r);
    std::map<std::string, std::string> got;
    for (const auto& c : list.GetArray()) {
      const std::string id(json::get_string(c, "id"));
      if (want.count(id)) got[id] = summary(c);
    }
    EXPECT_EQ(want, got);
  });
}

// The caller id cases of originate-variables-callerid replayed in order: the
// same status, and for each created channel the same caller and connected.
TEST_F(Fidelity, OriginateCallerIdAndVariables) {
  auto t = trace("originate-variables-callerid.jsonl");
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    int checked = 0;
    for (const auto& line : t) {
      if (json::get_string(line, "kind") != "rest") continue;
      const json::Value& req = *json::find(line, "request");
      if (json::get_string(req, "method") != "POST" || json::get_string(req, "path") != "/channels")
        continue;
      std::string target = "/channels";
      char sep = '?';
      if (const json::Value* q = json::find(req, "query"); q && q->IsObject())
        for (const auto& m : q->GetObject()) {
          target +=
              sep + std::string(m.name.GetString()) + "=" + url_encode(json::as_view(m.value));
          sep = '&';
        }
      std::string body;
      if (const json::Value* b = json::find(req, "body"); b && !b->IsNull())
        body = b->IsString() ? std::string(json::as_view(*b)) : json::stringify(*b);
      auto r = co_await h.ari("POST", target, body);
      const int status = static_cast<int>(json::get_int(line, "status"));
      EXPECT_EQ(r.status, status) << target << " " << body << " -> " << r.body;
      if (status == 200 && r.status == 200) {
        auto got = simtest::parse_body(r);
        const json::Value& want = *json::find(line, "body");
        for (const char* k : {"caller", "connected"})
          EXPECT_EQ(json::stringify(*json::find(want, k)), json::stringify(*json::find(got, k)))
              << k << " of " << target << " " << body;
        ++checked;
      }
    }
    EXPECT_GE(checked, 12);
    check_events(*ev);
  });
}

// An app whose events socket is gone takes no new channel: Stasis() fails
// ("Stasis app ... not active" in events-socket-reconnect B2's messages.log,
// "doesn't exist" in A3 once the app is gone) and the channel dies unseen,
// while the calls already in the app stay controllable.
TEST_F(Fidelity, NoNewChannelEntersAnAppWithoutEventsSocket) {
  Harness h;
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    co_await h.ari("POST",
                   "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&channelId=live");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "live"));
    co_await h.control("POST", "/faults", R"({"dropEventSockets":true})");
    EXPECT_TRUE(co_await Harness::until([&] { return ev->closed; }));
    // A caller: refused, as Asterisk hangs it up.
    auto r = co_await h.control("POST", "/inbound", R"({"from":"5551234","to":"1001"})");
    EXPECT_EQ(r.status, 409);
    EXPECT_NE(r.body.find("not active"), std::string::npos) << r.body;
    // An originate: 200, then the channel dies when it would enter Stasis.
    r = co_await h.ari("POST",
                       "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&channelId=gap");
    EXPECT_EQ(r.status, 200);
    bool gone = false;
    for (int i = 0; i < 200 && !gone; ++i) {
      gone = (co_await h.ari("GET", "/channels/gap")).status == 404;
      if (!gone) co_await sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE(gone);
    // The call that was there survives the gap.
    EXPECT_EQ((co_await h.ari("GET", "/channels/live")).status, 200);
    r = co_await h.ari("GET", "/channels");
    EXPECT_NE(r.body.find(R"("app_data":"openclaw-voice")"), std::string::npos) << r.body;
    EXPECT_EQ((co_await h.ari("POST", "/channels/live/play?media=sound:beep")).status, 201);
    // Back with a socket: nothing is replayed, new callers come in again.
    auto ev2 = co_await h.events();
    r = co_await h.control("POST", "/inbound", R"({"from":"5551234","to":"1001"})");
    EXPECT_EQ(r.status, 201);
    const std::string in(json::get_string(simtest::parse_body(r), "channelId"));
    EXPECT_TRUE(co_await Harness::wait_event(ev2, "StasisStart", in));
    EXPECT_FALSE(Harness::has_event(*ev2, "StasisStart", "gap"));
    // Without calls and without a socket the app is gone altogether.
    co_await h.ari("DELETE", "/channels/live");
    co_await h.ari("DELETE", "/channels/" + in);
    EXPECT_TRUE(co_await Harness::wait_event(ev2, "ChannelDestroyed", "live"));
    co_await h.control("POST", "/faults", R"({"dropEventSockets":true})");
    EXPECT_TRUE(co_await Harness::until([&] { return ev2->closed; }));
    r = co_await h.control("POST", "/inbound", R"({"from":"5551234","to":"1001"})");
    EXPECT_EQ(r.status, 409);
    EXPECT_NE(r.body.find("doesn't exist"), std::string::npos) << r.body;
    r = co_await h.ari("GET", "/applications");
    EXPECT_EQ(r.body, "[]");
  });
}
