// The life of calls through the whole service against the in-process simulator:
// untracked channels adopted after a service restart or an events-socket
// outage (or hung up), operation answers that say what happened, transfer legs
// that live and die together, and the causes calls end with.
#include <gtest/gtest.h>

#include <algorithm>

#include "http/harness.hpp"
#include "support/run_io.hpp"

using namespace aa;
using aa::test::body_of;
using aa::test::Service;
using aa::test::wav_bytes;

namespace {

/// Index of the first message of `type` (and `callId` when given); -1 if none.
int find_event(const test::WsLog& log, std::string_view type, std::string_view call_id) {
  for (size_t i = 0; i < log.raw.size(); ++i) {
    auto d = json::parse(log.raw[i]);
    if (!d) continue;
    if (json::get_string(*d, "type") == type &&
        (call_id.empty() || json::get_string(*d, "callId") == call_id))
      return static_cast<int>(i);
  }
  return -1;
}

/// The calls GET /calls lists, as (id → record JSON text).
std::map<std::string, std::string> listed_calls(const net::ClientResponse& r) {
  std::map<std::string, std::string> out;
  auto d = body_of(r);
  if (const auto* a = json::find(d, "calls"); a && a->IsArray())
    for (const auto& c : a->GetArray())
      out[std::string(json::get_string(c, "id"))] = json::stringify(c);
  return out;
}

std::vector<std::string> playback_statuses(const net::ClientResponse& r) {
  std::vector<std::string> out;
  auto d = body_of(r);
  if (const auto* a = json::find(d, "playbacks"); a && a->IsArray())
    for (const auto& p : a->GetArray()) out.emplace_back(json::get_string(p, "status"));
  return out;
}

std::string field_of_call(const net::ClientResponse& r, std::string_view field) {
  auto d = body_of(r);
  const auto* call = json::find(d, "call");
  return call ? std::string(json::get_string(*call, field)) : std::string{};
}

std::vector<sim::EndpointConfig> endpoints_with_one_that_never_answers() {
  std::vector<sim::EndpointConfig> eps;
  sim::EndpointConfig a;
  a.technology = "PJSIP";
  a.resource = "1001";
  eps.push_back(a);
  sim::EndpointConfig b = a;
  b.resource = "1002";
  eps.push_back(b);
  sim::EndpointConfig never = a;
  never.resource = "1003";
  never.behavior = sim::Behavior::noanswer;
  eps.push_back(never);
  return eps;
}

/// Originate to `endpoint` and wait until the call is ready; returns {id, channelId}.
awaitable<std::pair<std::string, std::string>> ready_call(Service& s, test::WsLog& ws,
                                                          std::string endpoint) {
  std::string body = R"({"endpoint":")" + endpoint + R"(","callerId":"\"Alice\" <5551234>"})";
  auto c = co_await s.post("/calls", std::move(body));
  EXPECT_EQ(c.status, 201) << c.body;
  std::string id = field_of_call(c, "id");
  std::string channel = field_of_call(c, "channelId");
  const bool ready = co_await test::until([&] { return find_event(ws, "call.ready", id) >= 0; });
  EXPECT_TRUE(ready) << id;
  co_return std::make_pair(id, channel);
}

/// The channel ids the simulator has.
std::vector<std::string> sim_channels(Service& s) {
  std::vector<std::string> ids;
  s.simulator().run([&](sim::Simulator& sm) {
    auto r = sm.engine().list_channels();
    if (auto d = json::parse(r.body); d && d->IsArray())
      for (const auto& c : d->GetArray()) ids.emplace_back(json::get_string(c, "id"));
  });
  return ids;
}
bool sim_has_channel(Service& s, const std::string& id) {
  auto ids = sim_channels(s);
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

/// An inbound call entering Stasis right now, straight on the simulator's thread
/// (its HTTP port may be refusing connections). Returns the channel id.
std::string inject_inbound(Service& s, const std::string& from) {
  std::string channel;
  s.simulator().run([&](sim::Simulator& sm) {
    auto r = sm.engine().inbound(from, "", "1001", {}, "", "");
    EXPECT_EQ(r.status, 201) << r.body;
    if (auto d = json::parse(r.body)) channel = std::string(json::get_string(*d, "channelId"));
  });
  return channel;
}

}  // namespace

// ---- untracked channels ----

TEST(Adoption, AServiceRestartKeepsLiveCallsUnderTheirIds) {
  Service s;
  s.run(
      [&]() -> awaitable<void> {
        const bool step1 = co_await s.ready();
        CO_ASSERT_TRUE(step1);
        auto ws = co_await s.connect_events();
        auto [out_id, out_channel] = co_await ready_call(s, *ws, "PJSIP/1001");
        auto in = co_await s.sim("POST", "/inbound", R"({"from":"5550111","to":"1001"})");
        EXPECT_EQ(in.status, 201) << in.body;
        const std::string in_channel(json::get_string(body_of(in), "channelId"));
        const bool answered = co_await test::until([&] {
          for (const auto& c : s.manager->active_calls())
            if (c.channel_id == in_channel && c.state == calls::CallState::answered) return true;
          return false;
        });
        EXPECT_TRUE(answered);
        std::string in_id;
        for (const auto& c : s.manager->active_calls())
          if (c.channel_id == in_channel) in_id = c.id;
        // The inbound call's id is stored on its channel (fire-and-forget).
        const bool stored = co_await test::until([&] {
          std::string v;
          s.simulator().run([&](sim::Simulator& sm) {
            auto r = sm.engine().get_var(in_channel, "AA_CALL_ID");
            if (auto d = json::parse(r.body)) v = std::string(json::get_string(*d, "value"));
          });
          return v == in_id;
        });
        EXPECT_TRUE(stored);

        s.restart_service();
        EXPECT_EQ(s.manager->active_count(), 0u);
        const bool step2 = co_await s.ready();
        CO_ASSERT_TRUE(step2);
        const bool adopted = co_await test::until([&] { return s.manager->active_count() == 2; });
        EXPECT_TRUE(adopted);
        auto list = co_await s.get("/calls");
        auto calls = listed_calls(list);
        CO_ASSERT_TRUE(calls.count(out_id) == 1 && calls.count(in_id) == 1);
        EXPECT_NE(calls[out_id].find(R"("direction":"outbound")"), std::string::npos);
        EXPECT_NE(calls[out_id].find(R"("state":"answered")"), std::string::npos);
        EXPECT_NE(calls[out_id].find(R"("callerName":"Alice")"), std::string::npos);
        EXPECT_NE(calls[in_id].find(R"("direction":"inbound")"), std::string::npos);
        EXPECT_NE(calls[in_id].find(R"("callerNumber":"5550111")"), std::string::npos);
        EXPECT_EQ(s.manager->untracked_stats().adopted, 2u);

        // The adopted call is controllable: hang it up through the API.
        std::string path = "/calls/" + out_id;
        auto hup = co_await s.del(path);
        EXPECT_EQ(hup.status, 200) << hup.body;
        const bool gone = co_await test::until([&] { return !sim_has_channel(s, out_channel); });
        EXPECT_TRUE(gone);
        auto ended = co_await s.get(path);
        EXPECT_EQ(field_of_call(ended, "state"), "ended");
      },
      std::chrono::seconds(60));
}

// Asterisk lets no new channel into an app without an events socket (the
// events-socket-reconnect trace: "Stasis app not active"), so a caller that we
// do not track can only appear while another client holds the app — e.g. a
// second instance, or an observer — and our service is down.
awaitable<std::shared_ptr<net::WsConnection>> hold_app(Service& s) {
  const Url url = *parse_url(s.sim_base);
  std::string target = "/ari/events?app=openclaw-voice&api_key=asterisk_ari:asterisk_ari_pass";
  auto r = co_await net::ws_connect(url, std::move(target));
  EXPECT_TRUE(r.connection) << r.http_status;
  if (r.connection) r.connection->on_message = [](std::string_view) {};
  co_return r.connection;
}

TEST(Adoption, ACallerWhoEnteredStasisWhileTheServiceWasDownIsAdoptedAndAnswered) {
  Service s;
  s.run(
      [&]() -> awaitable<void> {
        const bool step3 = co_await s.ready();
        CO_ASSERT_TRUE(step3);
        auto observer = co_await hold_app(s);
        CO_ASSERT_TRUE(observer != nullptr);
        s.stop_service();
        const std::string channel = inject_inbound(s, "5550199");
        CO_ASSERT_FALSE(channel.empty());
        s.start_service();
        auto ws = co_await s.connect_events();
        const bool back = co_await test::until([&] { return s.manager->ari_connected(); }, 10000);
        EXPECT_TRUE(back);
        std::string id;
        const bool adopted = co_await test::until([&] {
          for (const auto& c : s.manager->active_calls())
            if (c.channel_id == channel && c.state == calls::CallState::answered) id = c.id;
          return !id.empty();
        });
        EXPECT_TRUE(adopted) << "the caller who came while the service was down is still untracked";
        const bool created =
            co_await test::until([&] { return find_event(*ws, "call.created", id) >= 0; });
        EXPECT_TRUE(created);
        std::string answered_state;
        s.simulator().run([&](sim::Simulator& sm) {
          auto r = sm.engine().get_channel(channel);
          if (auto d = json::parse(r.body))
            answered_state = std::string(json::get_string(*d, "state"));
        });
        EXPECT_EQ(answered_state, "Up");
        EXPECT_EQ(s.manager->untracked_stats().adopted, 1u);
        observer->close(1000);
      },
      std::chrono::seconds(60));
}

TEST(Adoption, UntrackedChannelsAreHungUpWhenSoConfigured) {
  test::HarnessOptions o;
  o.untracked = calls::UntrackedPolicy::hangup;
  Service s(o);
  s.run(
      [&]() -> awaitable<void> {
        const bool step5 = co_await s.ready();
        CO_ASSERT_TRUE(step5);
        auto observer = co_await hold_app(s);
        CO_ASSERT_TRUE(observer != nullptr);
        s.stop_service();
        const std::string channel = inject_inbound(s, "5550199");
        CO_ASSERT_FALSE(channel.empty());
        s.start_service();
        const bool step7 = co_await test::until([&] { return s.manager->ari_connected(); }, 10000);
        CO_ASSERT_TRUE(step7);
        const bool gone = co_await test::until([&] { return !sim_has_channel(s, channel); });
        EXPECT_TRUE(gone);
        EXPECT_EQ(s.manager->untracked_stats().hung_up, 1u);
        EXPECT_EQ(s.manager->active_count(), 0u);
        observer->close(1000);
      },
      std::chrono::seconds(60));
}

TEST(Adoption, MediaChannelsOfTheServiceAreNeverCalls) {
  // Real time: at the usual 1/50 the Local channel's dialplan may end before we
  // look (seen under ASan on a loaded machine).
  test::HarnessOptions o;
  o.time_scale = 1.0;
  Service s(o);
  s.run(
      [&]() -> awaitable<void> {
        const bool step8 = co_await s.ready();
        CO_ASSERT_TRUE(step8);
        ari::OriginateParams p;
        p.endpoint = "Local/100@test-answer";
        p.app = "openclaw-voice";
        p.channel_id = "aa-media-test-1";
        auto r = co_await s.rest->originate(p);
        CO_ASSERT_TRUE(r.ok());
        co_await sleep_for(std::chrono::milliseconds(100));  // time for a StasisStart
        EXPECT_EQ(s.manager->active_count(), 0u);
        CO_ASSERT_TRUE(sim_has_channel(s, "aa-media-test-1"));
        // A restarted service finds it with no owner: an orphan, hung up.
        s.restart_service();
        const bool step9 = co_await s.ready();
        CO_ASSERT_TRUE(step9);
        const bool gone =
            co_await test::until([&] { return !sim_has_channel(s, "aa-media-test-1"); });
        EXPECT_TRUE(gone);
        EXPECT_EQ(s.manager->active_count(), 0u);
        EXPECT_EQ(s.manager->untracked_stats().adopted, 0u);
      },
      std::chrono::seconds(60));
}

// ---- operation outcomes ----

TEST(Outcomes, PlayOfAMissingSoundIs422WithEachItemsResult) {
  Service s;
  s.run(
      [&]() -> awaitable<void> {
        const bool step10 = co_await s.ready();
        CO_ASSERT_TRUE(step10);
        auto ws = co_await s.connect_events();
        auto [id, channel] = co_await ready_call(s, *ws, "PJSIP/1001");
        std::string path = "/calls/" + id + "/play";
        auto r = co_await s.post(path, R"({"media":["sound:beep","sound:no-such-sound"]})");
        EXPECT_EQ(r.status, 422) << r.body;
        auto d = body_of(r);
        EXPECT_EQ(json::get_string(d, "code"), "PLAYBACK_FAILED");
        EXPECT_EQ(playback_statuses(r), (std::vector<std::string>{"done", "failed"}));
        const auto* ids = json::find(d, "playbackIds");
        EXPECT_TRUE(ids && ids->IsArray() && ids->Size() == 2u);
        auto ok = co_await s.post(path, R"({"media":["sound:beep"]})");
        EXPECT_EQ(ok.status, 200) << ok.body;
        EXPECT_EQ(json::get_string(body_of(ok), "status"), "ok");
        EXPECT_EQ(playback_statuses(ok), (std::vector<std::string>{"done"}));
      },
      std::chrono::seconds(60));
}

TEST(Outcomes, PlayCutByAHangupIs409WithEachItemsResult) {
  Service s;
  s.run(
      [&]() -> awaitable<void> {
        const bool step11 = co_await s.ready();
        CO_ASSERT_TRUE(step11);
        auto ws = co_await s.connect_events();
        auto [id, channel] = co_await ready_call(s, *ws, "PJSIP/1001");
        auto ex = co_await asio::this_coro::executor;
        auto far_end = [&]() -> awaitable<void> {
          co_await test::until([&] { return find_event(*ws, "call.playback_started", id) >= 0; });
          std::string target = "/channels/" + channel + "/hangup";
          co_await s.sim("POST", target, R"({"cause":16})");
        };
        spawn(ex, far_end(), "far end hangs up");
        std::string path = "/calls/" + id + "/play";
        // A tone plays until stopped: only the hang-up ends it.
        auto r = co_await s.post(path, R"({"media":["tone:ring","sound:beep"]})");
        EXPECT_EQ(r.status, 409) << r.body;
        EXPECT_EQ(json::get_string(body_of(r), "code"), "WRONG_STATE");
        EXPECT_EQ(playback_statuses(r), (std::vector<std::string>{"not_played", "not_played"}));
      },
      std::chrono::seconds(60));
}

TEST(Outcomes, PlayFileWaitsForTheEndUnlessAskedNotTo) {
  Service s;
  s.run(
      [&]() -> awaitable<void> {
        const bool step12 = co_await s.ready();
        CO_ASSERT_TRUE(step12);
        auto ws = co_await s.connect_events();
        auto [id, channel] = co_await ready_call(s, *ws, "PJSIP/1001");
        std::string path = "/calls/" + id + "/play/file";
        std::vector<net::Header> h = s.auth_headers();
        auto played = co_await s.call("POST", path, wav_bytes(800), "audio/wav", h);
        EXPECT_EQ(played.status, 200) << played.body;
        EXPECT_EQ(playback_statuses(played), (std::vector<std::string>{"done"}));
        EXPECT_FALSE(json::get_string(body_of(played), "soundName").empty());
        // The item finished before the answer came (its event travels on another
        // socket, so it may be read a moment after the answer).
        co_await test::until([&] { return find_event(*ws, "call.playback_finished", id) >= 0; });
        EXPECT_GE(find_event(*ws, "call.playback_finished", id), 0);

        std::string nowait = path + "?wait=false";
        auto queued = co_await s.call("POST", nowait, wav_bytes(800), "audio/wav", h);
        EXPECT_EQ(queued.status, 202) << queued.body;
        EXPECT_EQ(json::get_string(body_of(queued), "status"), "playing");
        std::string bad = path + "?wait=maybe";
        auto invalid = co_await s.call("POST", bad, wav_bytes(800), "audio/wav", h);
        EXPECT_EQ(invalid.status, 400) << invalid.body;
      },
      std::chrono::seconds(60));
}

TEST(Outcomes, RecordSaysTheRecordingStarted) {
  Service s;
  s.run(
      [&]() -> awaitable<void> {
        const bool step13 = co_await s.ready();
        CO_ASSERT_TRUE(step13);
        auto ws = co_await s.connect_events();
        auto [id, channel] = co_await ready_call(s, *ws, "PJSIP/1001");
        std::string path = "/calls/" + id + "/record";
        auto r = co_await s.post(path, R"({"name":"lc-rec","maxDurationSeconds":60})");
        EXPECT_EQ(r.status, 201) << r.body;
        EXPECT_EQ(json::get_string(body_of(r), "state"), "recording");
        co_await s.del("/recordings/lc-rec");
      },
      std::chrono::seconds(60));
}

// ---- transfers ----

TEST(Transfer, CallerHangingUpWhileTheTargetRingsEndsTheTargetAndTheRequestAtOnce) {
  test::HarnessOptions o;
  o.endpoints = endpoints_with_one_that_never_answers();
  o.time_scale = 1;  // the target rings in real time: 10 s if nothing ends it
  Service s(o);
  s.run(
      [&]() -> awaitable<void> {
        const bool step14 = co_await s.ready();
        CO_ASSERT_TRUE(step14);
        auto ws = co_await s.connect_events();
        auto [id, channel] = co_await ready_call(s, *ws, "PJSIP/1001");
        std::string target_id;
        auto ex = co_await asio::this_coro::executor;
        auto caller_leaves = [&]() -> awaitable<void> {
          // The target's call appears, rings; then the caller hangs up.
          co_await test::until([&] {
            for (const auto& c : s.manager->active_calls())
              if (c.id != id && c.state == calls::CallState::ringing) target_id = c.id;
            return !target_id.empty();
          });
          std::string target = "/channels/" + channel + "/hangup";
          co_await s.sim("POST", target, R"({"cause":16})");
        };
        spawn(ex, caller_leaves(), "caller hangs up");
        std::string path = "/calls/" + id + "/transfer";
        const auto t0 = std::chrono::steady_clock::now();
        auto r = co_await s.post(path, R"({"endpoint":"PJSIP/1003","timeout":10})");
        const auto took = std::chrono::steady_clock::now() - t0;
        EXPECT_EQ(r.status, 409) << r.body;
        EXPECT_NE(r.body.find("ended"), std::string::npos) << r.body;
        EXPECT_LT(took, std::chrono::seconds(6));  // not the 10 s ring timeout
        CO_ASSERT_FALSE(target_id.empty());
        const bool target_ended =
            co_await test::until([&] { return find_event(*ws, "call.ended", target_id) >= 0; });
        EXPECT_TRUE(target_ended);
        EXPECT_TRUE(sim_channels(s).empty());
      },
      std::chrono::seconds(60));
}

TEST(Transfer, TargetHangingUpAfterBridgingHangsUpTheCallerAndDestroysTheBridge) {
  test::HarnessOptions o;
  o.endpoints = endpoints_with_one_that_never_answers();
  Service s(o);
  s.run(
      [&]() -> awaitable<void> {
        const bool step15 = co_await s.ready();
        CO_ASSERT_TRUE(step15);
        auto ws = co_await s.connect_events();
        auto [id, channel] = co_await ready_call(s, *ws, "PJSIP/1001");
        std::string path = "/calls/" + id + "/transfer";
        auto t = co_await s.post(path, R"({"endpoint":"PJSIP/1002","timeout":5})");
        EXPECT_EQ(t.status, 201) << t.body;
        const std::string bridge(json::get_string(body_of(t), "bridgeId"));
        const std::string target(json::get_string(body_of(t), "newCallId"));
        std::string target_path = "/calls/" + target;
        auto tc = co_await s.get(target_path);
        std::string hangup = "/channels/" + field_of_call(tc, "channelId") + "/hangup";
        co_await s.sim("POST", hangup, R"({"cause":16})");
        const bool caller_ended =
            co_await test::until([&] { return find_event(*ws, "call.ended", id) >= 0; });
        EXPECT_TRUE(caller_ended);
        const bool bridge_gone =
            co_await test::until([&] { return find_event(*ws, "bridge.destroyed", "") >= 0; });
        EXPECT_TRUE(bridge_gone);
        std::string bridge_path = "/bridges/" + bridge;
        auto b = co_await s.get(bridge_path);
        EXPECT_EQ(b.status, 404) << b.body;
        EXPECT_TRUE(sim_channels(s).empty());
      },
      std::chrono::seconds(60));
}

TEST(Transfer, CallerHangingUpAfterBridgingHangsUpTheTarget) {
  test::HarnessOptions o;
  o.endpoints = endpoints_with_one_that_never_answers();
  Service s(o);
  s.run(
      [&]() -> awaitable<void> {
        const bool step16 = co_await s.ready();
        CO_ASSERT_TRUE(step16);
        auto ws = co_await s.connect_events();
        auto [id, channel] = co_await ready_call(s, *ws, "PJSIP/1001");
        std::string path = "/calls/" + id + "/transfer";
        auto t = co_await s.post(path, R"({"endpoint":"PJSIP/1002","timeout":5})");
        EXPECT_EQ(t.status, 201) << t.body;
        const std::string target(json::get_string(body_of(t), "newCallId"));
        std::string hangup = "/channels/" + channel + "/hangup";
        co_await s.sim("POST", hangup, R"({"cause":16})");
        const bool target_ended =
            co_await test::until([&] { return find_event(*ws, "call.ended", target) >= 0; });
        EXPECT_TRUE(target_ended);
        std::string target_path = "/calls/" + target;
        auto tc = co_await s.get(target_path);
        EXPECT_EQ(field_of_call(tc, "state"), "ended");
        const bool all_gone = co_await test::until([&] { return sim_channels(s).empty(); });
        EXPECT_TRUE(all_gone);
      },
      std::chrono::seconds(60));
}

// ---- causes and caller ids ----

TEST(Causes, CallsCutByAnAsteriskRestartEndWithAsteriskShutdown) {
  Service s;
  s.run(
      [&]() -> awaitable<void> {
        const bool step17 = co_await s.ready();
        CO_ASSERT_TRUE(step17);
        auto ws = co_await s.connect_events();
        auto [id, channel] = co_await ready_call(s, *ws, "PJSIP/1001");
        auto fault = co_await s.sim("POST", "/faults", R"({"restart":true})");
        EXPECT_LT(fault.status, 300) << fault.body;
        const bool ended =
            co_await test::until([&] { return find_event(*ws, "call.ended", id) >= 0; });
        EXPECT_TRUE(ended);
        std::string call_path = "/calls/" + id;
        auto one = co_await s.get(call_path);
        EXPECT_EQ(field_of_call(one, "hangupCause"), "asterisk_shutdown") << one.body;
      },
      std::chrono::seconds(60));
}

TEST(CallerIds, ABareNameIsANameAndAPunctuatedNumberIsANumber) {
  Service s;
  s.run(
      [&]() -> awaitable<void> {
        const bool step18 = co_await s.ready();
        CO_ASSERT_TRUE(step18);
        auto a = co_await s.post("/calls", R"({"endpoint":"PJSIP/1001","callerId":"Alice"})");
        EXPECT_EQ(a.status, 201) << a.body;
        EXPECT_EQ(field_of_call(a, "callerName"), "Alice");
        EXPECT_EQ(field_of_call(a, "callerNumber"), "");
        auto n = co_await s.post("/calls",
                                 R"({"endpoint":"PJSIP/1001","callerId":"+1 (555) 013-0000"})");
        EXPECT_EQ(n.status, 201) << n.body;
        EXPECT_EQ(field_of_call(n, "callerName"), "");
        EXPECT_EQ(field_of_call(n, "callerNumber"), "+15550130000");
      },
      std::chrono::seconds(30));
}
