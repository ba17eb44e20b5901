// The voice loop end to end, as app::Service wires it: the embedded simulator
// (chan_websocket media plane, a caller with a voice and ears), Flite speaking,
// PocketSphinx listening — through real sockets, like the AI-agent client.
// Audio is judged by what the far end heard (the simulator's heard log), and a
// phrase the simulated caller says must come back as text.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "app/service.hpp"
#include "audio/wav.hpp"
#include "calls/call_manager.hpp"
#include "common/json.hpp"
#include "common/util.hpp"
#include "common/worker_pool.hpp"
#include "http/openapi.hpp"
#include "http/wait.hpp"
#include "net/http_client.hpp"
#include "net/ws_client.hpp"
#include "speech/engines.hpp"
#include "speech/fakes.hpp"
#include "support/json_schema.hpp"
#include "support/run_io.hpp"
#include "voice/voice_manager.hpp"

using namespace aa;

#include "support/voice_rig.hpp"

using namespace aa::test::voice_rig;

// POST /calls/:id/speak answers once the caller heard it, and what they heard
// lasts as long as the answer says.
TEST(Voice, SpeakAnswersOnceHeardAndTheCallerHearsIt) {
  TempDir dir;
  run_service(voice_config(dir), [](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    const std::string forget = "/_sim/channels/" + channel + "/heard";
    co_await rig.sim_call("DELETE", forget);
    const auto started = std::chrono::steady_clock::now();
    auto r =
        co_await rig.post("/calls/" + call_id + "/speak",
                          R"({"text":"Hello, thank you for calling. How can I help you today?"})");
    const double took =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    EXPECT_EQ(r.status, 200) << r.body;
    auto doc = json::parse(r.body);
    CO_ASSERT_TRUE(doc.has_value());
    EXPECT_EQ(json::get_string(*doc, "status"), "ok");
    EXPECT_EQ(json::get_string(*doc, "voice"), "slt");
    const double dur = json::get_double(*doc, "durationSeconds", -1);
    EXPECT_GT(dur, 2.0);
    EXPECT_LT(dur, 8.0);
    // Heard, not merely sent: the answer cannot come before the audio played out.
    EXPECT_GE(took, dur * 0.9);

    auto heard_r = co_await rig.sim_call("GET", forget);
    EXPECT_EQ(heard_r.status, 200) << heard_r.body;
    const Heard h = parse_heard(heard_r.body);
    const double span_s = (h.last_end_ms - h.first_ms) / 1000.0;
    std::printf(
        "[ voice ] speak: durationSeconds %.3f, heard span %.3f s (sound %.3f s), answered "
        "after %.3f s\n",
        dur, span_s, h.sound_ms / 1000.0, took);
    EXPECT_GT(h.sound_ms, 0);
    // The speech the caller heard lasts as long as the answer says (within 10 %).
    EXPECT_NEAR(span_s, dur, dur * 0.1);

    // Events: started, then finished with the same duration; the state was speaking.
    auto ev = rig.events;
    const bool finished =
        co_await test::until([&] { return ev->count("call.speak_finished", call_id) == 1; });
    EXPECT_TRUE(finished);
    EXPECT_LT(ev->index_of("call.speak_started", call_id),
              ev->index_of("call.speak_finished", call_id));
    bool was_speaking = false;
    for (const auto& e : ev->of("call.state_changed", call_id))
      if (json::get_string(e, "state") == "speaking") was_speaking = true;
    EXPECT_TRUE(was_speaking);
    auto fin = ev->of("call.speak_finished", call_id);
    if (!fin.empty()) {
      const json::Value* data = json::find(fin[0], "data");
      CO_ASSERT_TRUE(data != nullptr);
      EXPECT_NEAR(json::get_double(*data, "durationSeconds", -1), dur, 0.01);
      EXPECT_EQ(json::find(*data, "interrupted"), nullptr);
    }
    (void)svc;
  });
}

// What the simulated caller says comes back as one final call.transcription
// (capture started by itself on the inbound call).
TEST(Voice, CallerPhraseComesBackAsOneFinalTranscription) {
  TempDir dir;
  run_service(voice_config(dir), [](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    auto ev = rig.events;
    const bool capturing =
        co_await test::until([&] { return ev->count("call.audio_capture_started", call_id) == 1; });
    EXPECT_TRUE(capturing);
    const std::string phrase = "what time do you open tomorrow";
    const auto said = std::chrono::steady_clock::now();
    auto say = co_await rig.sim_call("POST", "/_sim/channels/" + channel + "/say",
                                     R"({"text":")" + phrase + R"("})");
    EXPECT_EQ(say.status, 200) << say.body;
    const bool got = co_await test::until(
        [&] {
          for (const auto& e : ev->of("call.transcription", call_id))
            if (json::get_bool(e, "is_final")) return true;
          return false;
        },
        15000);
    EXPECT_TRUE(got);
    std::string final_text;
    size_t finals = 0, partials = 0;
    for (const auto& e : ev->of("call.transcription", call_id)) {
      if (json::get_bool(e, "is_final")) {
        ++finals;
        final_text = json::get_string(e, "text");
        EXPECT_FALSE(json::get_bool(e, "is_partial"));
      } else {
        ++partials;
      }
    }
    std::printf("[ voice ] transcription: \"%s\" after %.2f s (%zu partials)\n", final_text.c_str(),
                std::chrono::duration<double>(std::chrono::steady_clock::now() - said).count(),
                partials);
    EXPECT_EQ(final_text, phrase);
    // The service's own measure: the utterance's last sample in → its final out.
    {
      const std::string m = svc.metrics_text();
      auto value = [&m](const std::string& name) {
        const auto at = m.find("\n" + name + " ");
        return at == std::string::npos ? -1.0 : std::atof(m.c_str() + at + name.size() + 2);
      };
      const double n = value("asterisk_api_transcription_latency_seconds_count");
      EXPECT_EQ(n, 1.0);
      if (n > 0)
        std::printf("[ voice ] end of speech -> final transcription: %.0f ms\n",
                    1000 * value("asterisk_api_transcription_latency_seconds_sum") / n);
    }
    // Stop: no second final for the same words.
    auto stop = co_await rig.post("/calls/" + call_id + "/audio/stop", "{}");
    EXPECT_EQ(stop.status, 200) << stop.body;
    EXPECT_EQ(json::get_string(*json::parse(stop.body), "status"), "stopped");
    co_await sleep_for(std::chrono::milliseconds(300));
    size_t finals_after = 0;
    for (const auto& e : ev->of("call.transcription", call_id))
      if (json::get_bool(e, "is_final")) ++finals_after;
    EXPECT_EQ(finals, 1u);
    EXPECT_EQ(finals_after, 1u);
    EXPECT_EQ(ev->count("call.audio_capture_stopped", call_id), 1u);
  });
}

// speak/stop is a barge-in: what was queued is flushed at Asterisk, the caller
// stops hearing at once, and the utterance ends "interrupted".
TEST(Voice, SpeakStopFlushesQueuedAudioAtAsterisk) {
  TempDir dir;
  run_service(voice_config(dir), [](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    auto r = co_await rig.post(
        "/calls/" + call_id + "/speak",
        R"({"wait":false,"text":"This is a long announcement that keeps going for a while, so that there is plenty of audio queued at Asterisk when the caller interrupts it in the middle."})");
    EXPECT_EQ(r.status, 202) << r.body;
    const std::string speak_id(json::get_string(*json::parse(r.body), "speakId"));
    EXPECT_FALSE(speak_id.empty());
    auto ev = rig.events;
    const bool started =
        co_await test::until([&] { return ev->count("call.speak_started", call_id) == 1; });
    EXPECT_TRUE(started);
    co_await sleep_for(std::chrono::milliseconds(1500));
    auto clock = co_await rig.sim_call("GET", "/_sim/clock");
    const int64_t stop_at =
        static_cast<int64_t>(json::get_double(*json::parse(clock.body), "nowMs", -1));
    auto stop = co_await rig.post("/calls/" + call_id + "/speak/stop", "{}");
    EXPECT_EQ(stop.status, 200) << stop.body;
    EXPECT_EQ(json::get_string(*json::parse(stop.body), "status"), "stopped");
    const bool ended =
        co_await test::until([&] { return ev->count("call.speak_finished", call_id) == 1; });
    EXPECT_TRUE(ended);
    co_await sleep_for(std::chrono::milliseconds(500));
    auto heard_r = co_await rig.sim_call("GET", "/_sim/channels/" + channel + "/heard");
    const Heard h = parse_heard(heard_r.body);
    std::printf("[ voice ] barge-in: caller's sound ended %lld ms after the stop request\n",
                static_cast<long long>(h.last_end_ms - stop_at));
    EXPECT_LE(h.last_end_ms - stop_at, 60);
    auto fin = ev->of("call.speak_finished", call_id);
    CO_ASSERT_TRUE(!fin.empty());
    const json::Value* data = json::find(fin[0], "data");
    CO_ASSERT_TRUE(data != nullptr);
    EXPECT_TRUE(json::get_bool(*data, "interrupted"));
    EXPECT_GT(json::get_double(*data, "durationSeconds", -1), 1.0);
    EXPECT_EQ(svc.voice().stats().flushes, 1u);
  });
}

// A hang-up leaves nothing behind: no media session, no ExternalMedia channel,
// no private bridge at Asterisk.
TEST(Voice, HangupLeavesNoSessionChannelOrBridge) {
  TempDir dir;
  run_service(voice_config(dir), [](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    auto ev = rig.events;
    const bool capturing =
        co_await test::until([&] { return ev->count("call.audio_capture_started", call_id) == 1; });
    EXPECT_TRUE(capturing);
    auto r =
        co_await rig.post("/calls/" + call_id + "/speak", R"({"text":"yes please","wait":false})");
    EXPECT_EQ(r.status, 202) << r.body;
    EXPECT_EQ(svc.voice().sessions(), 1u);
    // Channels in Asterisk during the call: the caller and our media channel.
    auto during = co_await rig.sim_ari("/channels");
    EXPECT_NE(during.body.find("aa-media-"), std::string::npos) << during.body;
    const std::string url = rig.base + "/calls/" + call_id;
    auto hung = co_await net::http_fetch("DELETE", url);
    EXPECT_EQ(hung.status, 200) << hung.body;
    const bool gone = co_await test::until([&] { return svc.voice().sessions() == 0; });
    EXPECT_TRUE(gone);
    bool clean = co_await test::until([&] { return svc.calls().active_count() == 0; });
    EXPECT_TRUE(clean);
    std::string channels, bridges;
    for (int i = 0; i < 100 && !(channels == "[]" && bridges == "[]"); ++i) {
      auto c = co_await rig.sim_ari("/channels");
      auto b = co_await rig.sim_ari("/bridges");
      channels = c.body;
      bridges = b.body;
      if (channels == "[]" && bridges == "[]") break;
      co_await sleep_for(std::chrono::milliseconds(30));
    }
    EXPECT_EQ(channels, "[]");
    EXPECT_EQ(bridges, "[]");
    // The speak that was playing ended with an error event, not silently.
    const bool told = co_await test::until([&] {
      return ev->count("call.speak_error", call_id) + ev->count("call.speak_finished", call_id) >=
             1;
    });
    EXPECT_TRUE(told);
  });
}

// audio/start is idempotent; audio/stop answers 200 {"status":"stopped"} (the
// original's empty 204 made the real client throw), also when none runs.
TEST(Voice, AudioStartIsIdempotentAndStopAnswersWithABody) {
  TempDir dir;
  app::Config cfg = voice_config(dir);
  cfg.asr_auto_start = "off";
  run_service(cfg, [](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    auto a = co_await rig.post("/calls/" + call_id + "/audio/start", "{}");
    auto b = co_await rig.post("/calls/" + call_id + "/audio/start", "{}");
    EXPECT_EQ(a.status, 200) << a.body;
    EXPECT_EQ(b.status, 200) << b.body;
    auto da = json::parse(a.body), db = json::parse(b.body);
    CO_ASSERT_TRUE(da && db);
    const json::Value* ca = json::find(*da, "audioCapture");
    const json::Value* cb = json::find(*db, "audioCapture");
    CO_ASSERT_TRUE(ca && cb);
    EXPECT_TRUE(json::get_bool(*ca, "enabled"));
    EXPECT_EQ(json::get_string(*ca, "format"), "slin16");
    EXPECT_EQ(json::get_double(*ca, "sampleRate", -1), 16000);
    EXPECT_EQ(json::get_string(*ca, "asr"), "pocketsphinx");
    EXPECT_EQ(json::get_string(*ca, "externalMediaChannelId"),
              json::get_string(*cb, "externalMediaChannelId"));
    // The event may land just after the answers (another socket); one, not two.
    const bool started = co_await test::until(
        [&] { return rig.events->count("call.audio_capture_started", call_id) >= 1; });
    EXPECT_TRUE(started);
    co_await sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(rig.events->count("call.audio_capture_started", call_id), 1u);
    // The call record shows it.
    const std::string url = rig.base + "/calls/" + call_id;
    auto rec = co_await net::http_fetch("GET", url);
    EXPECT_NE(rec.body.find("\"audioCapture\""), std::string::npos) << rec.body;
    for (int i = 0; i < 2; ++i) {
      auto s = co_await rig.post("/calls/" + call_id + "/audio/stop", "{}");
      EXPECT_EQ(s.status, 200) << s.body;
      EXPECT_EQ(s.body, R"({"status":"stopped"})");
    }
    rec = co_await net::http_fetch("GET", url);
    EXPECT_EQ(rec.body.find("\"audioCapture\""), std::string::npos) << rec.body;
    // Nothing else used the media session: it is gone.
    const bool gone = co_await test::until([&] { return svc.voice().sessions() == 0; });
    EXPECT_TRUE(gone);
  });
}

// Every error path of the voice routes answers JSON with the documented status.
TEST(Voice, ErrorPathsAnswerTheDocumentedStatuses) {
  TempDir dir;
  app::Config cfg = voice_config(dir);
  cfg.asr_auto_start = "off";
  run_service(cfg, [](app::Service&, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    struct Case {
      std::string path, body;
      int status;
      std::string code;
    };
    const std::string c = "/calls/" + call_id;
    std::string long_text(5001, 'a');
    const std::vector<Case> cases = {
        {"/calls/no-such-call/speak", R"({"text":"hi"})", 404, "CALL_NOT_FOUND"},
        {"/calls/no-such-call/speak/stop", "{}", 404, "CALL_NOT_FOUND"},
        {"/calls/no-such-call/audio/start", "{}", 404, "CALL_NOT_FOUND"},
        {"/calls/no-such-call/audio/stop", "{}", 404, "CALL_NOT_FOUND"},
        {c + "/speak", R"({})", 400, "VALIDATION_FAILED"},
        {c + "/speak", R"({"text":""})", 400, "VALIDATION_FAILED"},
        {c + "/speak", R"({"text":")" + long_text + R"("})", 400, "VALIDATION_FAILED"},
        {c + "/speak", R"({"text":"hi","speed":5})", 400, "VALIDATION_FAILED"},
        {c + "/speak", R"({"text":"hi","speed":"fast"})", 400, "VALIDATION_FAILED"},
        {c + "/speak", R"({"text":"hi","wait":"no"})", 400, "VALIDATION_FAILED"},
        {c + "/speak", R"({"text":"hi")", 400, "BAD_JSON"},
    };
    for (const auto& k : cases) {
      auto r = co_await rig.post(k.path, k.body);
      EXPECT_EQ(r.status, k.status) << k.path << " " << k.body.substr(0, 60) << " -> " << r.body;
      auto d = json::parse(r.body);
      EXPECT_TRUE(d.has_value()) << r.body;
      if (d) {
        EXPECT_EQ(json::get_string(*d, "code"), k.code) << r.body;
      }
    }
    // 5000 characters (not bytes) are accepted: 2,500 two-byte characters are fine.
    std::string accents;
    for (int i = 0; i < 2500; ++i) accents += "\xc3\xa9";
    auto ok = co_await rig.post(c + "/speak", R"({"wait":false,"text":")" + accents + R"("})");
    EXPECT_EQ(ok.status, 202) << ok.body;
    co_await rig.post(c + "/speak/stop", "{}");
    // After the call ended: 409 (recently ended calls are still known).
    const std::string url = rig.base + c;
    co_await net::http_fetch("DELETE", url);
    co_await test::until([&] { return rig.events->count("call.ended", call_id) == 1; });
    auto late = co_await rig.post(c + "/speak", R"({"text":"hi"})");
    EXPECT_EQ(late.status, 409) << late.body;
    auto late_cap = co_await rig.post(c + "/audio/start", "{}");
    EXPECT_EQ(late_cap.status, 409) << late_cap.body;
  });
}

// Without a TTS engine speak is a 501 that says so.
TEST(Voice, SpeakWithoutTtsEngineIs501) {
  TempDir dir;
  app::Config cfg = voice_config(dir);
  cfg.speech.tts_engine = "none";
  cfg.speech.asr_engine = "none";
  run_service(cfg, [](app::Service&, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    auto r = co_await rig.post("/calls/" + call_id + "/speak", R"({"text":"hi"})");
    EXPECT_EQ(r.status, 501) << r.body;
    EXPECT_NE(r.body.find("VOICE_UNAVAILABLE"), std::string::npos) << r.body;
    // No ASR engine: no capture started by itself.
    co_await sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(rig.events->count("call.audio_capture_started", call_id), 0u);
  });
}

// call.audio_frame goes only to /events clients that asked (?audio=1), in
// 100 ms pieces of 16 kHz slin16, and never to webhooks.
TEST(Voice, AudioFramesOnlyForClientsThatAsk) {
  TempDir dir;
  run_service(voice_config(dir), [](app::Service&, Rig& rig) -> awaitable<void> {
    auto audio = co_await connect_events(rig.port, "?audio=1");
    CO_ASSERT_TRUE(audio->ws != nullptr);
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    co_await test::until(
        [&] { return rig.events->count("call.audio_capture_started", call_id) == 1; });
    auto say = co_await rig.sim_call("POST", "/_sim/channels/" + channel + "/say",
                                     R"({"text":"yes please"})");
    EXPECT_EQ(say.status, 200) << say.body;
    const bool frames =
        co_await test::until([&] { return audio->count("call.audio_frame", call_id) >= 5; });
    EXPECT_TRUE(frames);
    EXPECT_EQ(rig.events->count("call.audio_frame"), 0u);
    auto f = audio->of("call.audio_frame", call_id);
    if (!f.empty()) {
      const json::Value* data = json::find(f[0], "data");
      CO_ASSERT_TRUE(data != nullptr);
      EXPECT_EQ(json::get_string(*data, "format"), "slin16");
      EXPECT_EQ(json::get_double(*data, "sampleRate", -1), 16000);
      EXPECT_GE(json::get_double(*data, "sampleCount", -1), 1600);
      EXPECT_FALSE(json::get_string(*data, "data").empty());
    }
    audio->ws->close(1000);
  });
}

// The AI-agent plugin's own requests and parsing rules (research note §2.3):
// `Authorization: Bearer`, `result.callId` from POST /calls, `callId` in the
// snapshot, state/channelId/callerNumber/calleeNumber at the top level of
// call.created/ready/inbound, and `response.json()` on every 2xx.
TEST(Voice, PluginRequestsAndParsingRulesWork) {
  TempDir dir;
  app::Config cfg = voice_config(dir);
  cfg.api_key = "plugin-key";
  asio::io_context io;
  app::Service svc(io, cfg);
  const uint16_t port = svc.start();
  const std::string base = "http://127.0.0.1:" + std::to_string(port);
  const std::string sim = svc.simulator_url();
  test::run_coro(
      io,
      [&]() -> awaitable<void> {
        const bool up = co_await test::until([&] { return svc.calls().ari_connected(); });
        EXPECT_TRUE(up);
        const std::vector<net::Header> bearer = {{"Authorization", "Bearer plugin-key"}};
        const net::ClientOptions o;
        // Every 2xx the plugin gets must parse as JSON (client.ts calls response.json()).
        auto call = [&](std::string method, std::string path,
                        std::string body) -> awaitable<net::ClientResponse> {
          const std::string url = base + path;
          auto r = co_await net::http_fetch(method, url, std::move(body), kJson, bearer, o);
          if (r.status / 100 == 2) {
            EXPECT_TRUE(json::parse(r.body).has_value())
                << method << " " << path << " -> " << r.status << " '" << r.body << "'";
          }
          co_return r;
        };
        const Url url = *parse_url(base);
        std::string target = "/events";
        net::WsClientOptions wo;
        wo.headers = bearer;
        auto ws = co_await net::ws_connect(url, std::move(target), wo);
        CO_ASSERT_TRUE(ws.connection != nullptr);
        auto ev = std::make_shared<Events>();
        ev->ws = ws.connection;
        ws.connection->on_message = [ev](std::string_view m) { ev->raw.emplace_back(m); };

        auto health = co_await call("GET", "/health", "");
        EXPECT_EQ(health.status, 200);
        // Outbound: the plugin reads result.callId.
        auto made = co_await call("POST", "/calls", R"({"endpoint":"PJSIP/1001"})");
        EXPECT_EQ(made.status, 201) << made.body;
        const std::string call_id(json::get_string(*json::parse(made.body), "callId"));
        CO_ASSERT_TRUE(!call_id.empty());
        const bool ready =
            co_await test::until([&] { return ev->count("call.ready", call_id) == 1; }, 10000);
        EXPECT_TRUE(ready);
        for (const char* type : {"call.created", "call.ready"}) {
          auto e = ev->of(type, call_id);
          CO_ASSERT_TRUE(!e.empty());
          EXPECT_FALSE(json::get_string(e[0], "state").empty()) << type;
          EXPECT_FALSE(json::get_string(e[0], "channelId").empty()) << type;
          EXPECT_EQ(json::get_string(e[0], "calleeNumber"), "PJSIP/1001") << type;
          EXPECT_NE(json::find(e[0], "callerNumber"), nullptr) << type;
        }
        // Inbound: call.inbound with the caller at the top level.
        const std::string inbound_url = sim + "/_sim/inbound";
        auto in = co_await net::http_fetch("POST", inbound_url, R"({"from":"5551234","to":"1001"})",
                                           kJson);
        EXPECT_EQ(in.status, 201) << in.body;
        const bool inbound = co_await test::until([&] { return ev->count("call.inbound") == 1; });
        EXPECT_TRUE(inbound);
        auto ie = ev->of("call.inbound");
        CO_ASSERT_TRUE(!ie.empty());
        EXPECT_EQ(json::get_string(ie[0], "callerNumber"), "5551234");
        EXPECT_EQ(json::get_string(ie[0], "calleeNumber"), "1001");
        EXPECT_EQ(json::get_string(ie[0], "direction"), "inbound");
        // A reconnecting plugin reads callId from the snapshot.
        std::string target2 = "/events";
        auto ws2 = co_await net::ws_connect(url, std::move(target2), wo);
        CO_ASSERT_TRUE(ws2.connection != nullptr);
        std::string snapshot;
        ws2.connection->on_message = [&](std::string_view m) {
          if (snapshot.empty()) snapshot = std::string(m);
        };
        co_await test::until([&] { return !snapshot.empty(); });
        auto snap = json::parse(snapshot);
        CO_ASSERT_TRUE(snap.has_value());
        const json::Value* calls = json::find(*snap, "calls");
        CO_ASSERT_TRUE(calls && calls->IsArray() && calls->Size() == 2);
        for (const auto& c : calls->GetArray()) EXPECT_FALSE(json::get_string(c, "callId").empty());
        ws2.connection->close(1000);

        // The plugin's voice calls on the outbound call.
        auto spoke =
            co_await call("POST", "/calls/" + call_id + "/speak", R"({"text":"yes please"})");
        EXPECT_EQ(spoke.status, 200) << spoke.body;
        auto s1 = co_await call("POST", "/calls/" + call_id + "/audio/start", "");
        EXPECT_EQ(s1.status, 200) << s1.body;
        auto s2 = co_await call("POST", "/calls/" + call_id + "/audio/stop", "");
        EXPECT_EQ(s2.status, 200) << s2.body;
        auto got = co_await call("GET", "/calls/" + call_id, "");
        EXPECT_EQ(got.status, 200);
        auto listed = co_await call("GET", "/calls", "");
        EXPECT_EQ(listed.status, 200);
        auto dtmf = co_await call("POST", "/calls/" + call_id + "/dtmf", R"({"dtmf":"1"})");
        EXPECT_EQ(dtmf.status, 200) << dtmf.body;
        auto bye = co_await call("DELETE", "/calls/" + call_id, "");
        EXPECT_EQ(bye.status, 200) << bye.body;
        // Without the key: 401 even for voice routes.
        const std::string speak_url = base + "/calls/" + call_id + "/speak";
        auto refused = co_await net::http_fetch("POST", speak_url, R"({"text":"hi"})", kJson);
        EXPECT_EQ(refused.status, 401);
        ws.connection->close(1000);
        co_await svc.shutdown();
      },
      std::chrono::seconds(60));
}

// The allowlist, as the original has it, with its holes fixed: originate and
// transfer are checked (403 with the original's body), a blocked caller is hung
// up with call.blocked, and a broken file on reload keeps the last good list.
TEST(Voice, AllowlistBlocksOutboundTransferAndInbound) {
  TempDir dir;
  app::Config cfg = voice_config(dir);
  cfg.speech.asr_engine = "none";
  const std::string file =
      dir.write("allowlist.json", R"({"inbound":["5551234"],"outbound":["15550130000"]})");
  cfg.allowlist_file = file;
  run_service(cfg, [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto blocked = co_await rig.post("/calls", R"({"endpoint":"PJSIP/1001"})");
    EXPECT_EQ(blocked.status, 403) << blocked.body;
    auto b = json::parse(blocked.body);
    CO_ASSERT_TRUE(b.has_value());
    EXPECT_EQ(json::get_string(*b, "error"), "Outbound call blocked by allowlist");
    EXPECT_EQ(json::get_string(*b, "code"), "ALLOWLIST_BLOCKED");
    EXPECT_EQ(json::get_string(*b, "endpoint"), "PJSIP/1001");
    EXPECT_EQ(json::get_string(*b, "extractedNumber"), "(could not extract)");
    EXPECT_FALSE(json::get_string(*b, "hint").empty());
    // An allowed caller gets through; a transfer of that call to a blocked number is refused.
    auto [call_id, channel] = co_await rig.inbound("555-1234");
    CO_ASSERT_TRUE(!call_id.empty());
    auto t = co_await rig.post("/calls/" + call_id + "/transfer",
                               R"({"endpoint":"PJSIP/15559990000@trunk"})");
    EXPECT_EQ(t.status, 403) << t.body;
    EXPECT_NE(t.body.find("15559990000"), std::string::npos) << t.body;
    // A caller not in the list: hung up at once, call.blocked, never a call.
    const size_t before = svc.calls().active_count();
    auto in = co_await rig.sim_call("POST", "/_sim/inbound", R"({"from":"5559999","to":"1001"})");
    EXPECT_EQ(in.status, 201) << in.body;
    auto ev = rig.events;
    const bool seen = co_await test::until([&] { return ev->count("call.blocked") == 1; });
    EXPECT_TRUE(seen);
    auto be = ev->of("call.blocked");
    if (!be.empty()) {
      const json::Value* data = json::find(be[0], "data");
      CO_ASSERT_TRUE(data != nullptr);
      EXPECT_EQ(json::get_string(*data, "number"), "5559999");
    }
    EXPECT_EQ(svc.calls().active_count(), before);
    EXPECT_EQ(svc.calls().blocked_inbound(), 1u);
    // GET /allowlist, then a broken file: 400 on reload and the list stays.
    const std::string list_url = rig.base + "/allowlist";
    auto l = co_await net::http_fetch("GET", list_url);
    EXPECT_EQ(l.status, 200);
    EXPECT_NE(l.body.find("15550130000"), std::string::npos) << l.body;
    std::ofstream(file) << R"({"inbound":["5551234"],"outbound":[15550130000]})";
    auto bad = co_await rig.post("/allowlist/reload", "");
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_NE(bad.body.find("outbound"), std::string::npos) << bad.body;
    l = co_await net::http_fetch("GET", list_url);
    EXPECT_NE(l.body.find("15550130000"), std::string::npos) << l.body;
    // A good file: open mode once both lists are empty.
    std::ofstream(file) << R"({"inbound":[],"outbound":[]})";
    auto good = co_await rig.post("/allowlist/reload", "");
    EXPECT_EQ(good.status, 200) << good.body;
    auto made = co_await rig.post("/calls", R"({"endpoint":"PJSIP/1001"})");
    EXPECT_EQ(made.status, 201) << made.body;
    // Metrics count both directions.
    const std::string metrics_url = rig.base + "/metrics";
    auto m = co_await net::http_fetch("GET", metrics_url);
    EXPECT_NE(m.body.find(R"(asterisk_api_allowlist_blocked_total{direction="inbound"} 1)"),
              std::string::npos);
    EXPECT_NE(m.body.find(R"(asterisk_api_allowlist_blocked_total{direction="outbound"} 2)"),
              std::string::npos);
  });
}

// What the caller heard (the simulator's heard.wav) transcribes back to the
// text that was spoken: the audio arrived whole, in order, at the right rate.
TEST(Voice, WhatTheCallerHeardTranscribesBackToTheText) {
  TempDir dir;
  app::Config cfg = voice_config(dir);
  cfg.asr_auto_start = "off";
  const std::string grammar = cfg.speech.asr_grammar_file;
  // Outlives the io context: handlers still queued there at the end (a
  // cancelled timer's) hold the session's strand of this pool.
  WorkerPool pool(1, 64);
  run_service(cfg, [&](app::Service&, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    co_await rig.sim_call("DELETE", "/_sim/channels/" + channel + "/heard");
    const std::string text = "please call me back later";
    auto r = co_await rig.post("/calls/" + call_id + "/speak", R"({"text":")" + text + R"("})");
    EXPECT_EQ(r.status, 200) << r.body;
    auto wav = co_await rig.sim_call("GET", "/_sim/channels/" + channel + "/heard.wav");
    EXPECT_EQ(wav.status, 200);
    auto decoded = audio::parse_wav(wav.body);
    CO_ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(decoded->pcm.rate_hz, 16000u);
    // A recogniser of our own (grammar mode), fed the caller's ears.
    const std::string heard_text = co_await transcribe(decoded->pcm.samples, grammar, pool);
    std::printf("[ voice ] heard.wav (%.2f s) transcribes as \"%s\"\n",
                decoded->pcm.duration_ms() / 1000.0, heard_text.c_str());
    EXPECT_EQ(heard_text, text);
    pool.stop();
  });
}

// The remote TTS protocol through the speak route: a 24 kHz WAV is resampled
// and heard for its length; a 500 is a 502 TTS_FAILED; no answer within
// TTS_TIMEOUT_MS is a 504 TTS_TIMEOUT — each with call.speak_error.
TEST(Voice, RemoteTtsIsHeardAndItsFailuresAre502And504) {
  struct Case {
    test::FakeTtsServer::Mode mode;
    int status;
    const char* code;
  };
  for (const Case k : {Case{test::FakeTtsServer::Mode::wav, 200, ""},
                       Case{test::FakeTtsServer::Mode::error500, 502, "TTS_FAILED"},
                       Case{test::FakeTtsServer::Mode::silent, 504, "TTS_TIMEOUT"}}) {
    TempDir dir;
    asio::io_context io;
    test::FakeTtsServer::Options fo;
    fo.mode = k.mode;
    fo.rate = 24000;
    fo.seconds = 1.0;
    test::FakeTtsServer tts(io, fo);
    app::Config cfg = voice_config(dir);
    cfg.asr_auto_start = "off";
    cfg.speech.tts_engine = "http";
    cfg.speech.tts_url = tts.url();
    cfg.speech.tts_timeout = std::chrono::milliseconds(800);
    run_service_on(io, cfg, [&](app::Service&, Rig& rig) -> awaitable<void> {
      auto [call_id, channel] = co_await rig.inbound();
      CO_ASSERT_TRUE(!call_id.empty());
      co_await rig.sim_call("DELETE", "/_sim/channels/" + channel + "/heard");
      auto r = co_await rig.post("/calls/" + call_id + "/speak", R"({"text":"a tone"})");
      EXPECT_EQ(r.status, k.status) << r.body;
      auto d = json::parse(r.body);
      CO_ASSERT_TRUE(d.has_value());
      if (k.status == 200) {
        EXPECT_NEAR(json::get_double(*d, "durationSeconds", -1), 1.0, 0.05);
        auto heard_r = co_await rig.sim_call("GET", "/_sim/channels/" + channel + "/heard");
        const Heard h = parse_heard(heard_r.body);
        EXPECT_NEAR(h.sound_ms, 1000, 100) << heard_r.body;
        EXPECT_EQ(tts.targets.size(), 1u);
        if (!tts.targets.empty()) {
          EXPECT_EQ(tts.targets[0], "/v1/audio/speech");
        }
      } else {
        EXPECT_EQ(json::get_string(*d, "code"), k.code) << r.body;
        auto ev = rig.events;
        const bool err =
            co_await test::until([&] { return ev->count("call.speak_error", call_id) == 1; });
        EXPECT_TRUE(err);
      }
    });
  }
}
