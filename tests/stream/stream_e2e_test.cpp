// Agent streams end to end (Twilio Media Streams–compatible), as app::Service
// wires them: the embedded simulator's caller speaks and listens, an agent
// server in the test receives and sends the protocol's messages. Audio is
// judged by what each end heard: the agent's `media` must transcribe to what
// the caller said, and the caller's heard.wav to what the agent sent.
#include <gtest/gtest.h>

#include <cmath>

#include "audio/wav.hpp"
#include "stream/agent_server.hpp"
#include "stream/stream_manager.hpp"
#include "support/voice_rig.hpp"
#include "voice/voice_manager.hpp"

using namespace aa;
using namespace aa::test::voice_rig;
namespace agent = aa::test::agent;
using std::chrono::milliseconds;

namespace {

app::Config stream_config(const TempDir& dir) {
  app::Config c = voice_config(dir);
  c.asr_auto_start = "off";  // the agent does the listening here
  return c;
}

awaitable<net::ClientResponse> del(const Rig& rig, std::string path) {
  auto r = co_await rig.call("DELETE", std::move(path), std::string{});
  co_return r;
}

/// Open a stream from the service to `url`: the streamSid ("" on failure).
awaitable<std::string> start_stream(const Rig& rig, std::string call_id, std::string body) {
  auto r = co_await rig.post("/calls/" + call_id + "/stream", body);
  EXPECT_EQ(r.status, 201) << r.body;
  auto d = json::parse(r.body);
  co_return d ? std::string(json::get_string(*d, "streamSid")) : std::string{};
}

/// Wait for the agent server's first (or n-th) connection and its `start`.
awaitable<std::shared_ptr<agent::Peer>> started_peer(agent::Server& srv, size_t n = 1) {
  const bool got = co_await test::until(
      [&] { return srv.peers.size() >= n && srv.peers[n - 1]->count("start") == 1; }, 10000);
  EXPECT_TRUE(got) << "the agent got no start";
  co_return got ? srv.peers[n - 1] : nullptr;
}

/// An answered inbound call streaming to `srv` (`body`: the POST body; "" for
/// just the server's URL), once the agent got `start`.
struct Streamed {
  std::string call_id, channel, sid;
  std::shared_ptr<agent::Peer> peer;  // null when it did not start
};
awaitable<Streamed> streamed_call(const Rig& rig, agent::Server& srv, std::string body) {
  Streamed out;
  auto [call_id, channel] = co_await rig.inbound();
  out.call_id = call_id;
  out.channel = channel;
  if (call_id.empty()) co_return out;
  if (body.empty()) body = R"({"url":")" + srv.url() + R"("})";
  const size_t nth = srv.peers.size() + 1;  // before the agent's socket opens
  out.sid = co_await start_stream(rig, call_id, std::move(body));
  out.peer = co_await started_peer(srv, nth);
  co_return out;
}

/// The reason of the call's (first) call.stream_stopped, "" when none yet.
std::string stop_reason(const Events& ev, const std::string& call_id) {
  auto ss = ev.of("call.stream_stopped", call_id);
  return ss.empty() ? std::string{}
                    : std::string(json::get_string(*json::find(ss[0], "data"), "reason"));
}

/// The call is still up.
bool call_goes_on(app::Service& svc, const std::string& call_id) {
  auto rec = svc.calls().get_call(call_id);
  return rec.ok() && !calls::is_final(rec->state);
}

/// `seconds` of a 440 Hz tone (−12 dBFS) as μ-law 8 kHz.
std::string tone_mulaw(double seconds) {
  const size_t n = static_cast<size_t>(seconds * 8000);
  std::vector<int16_t> pcm(n);
  for (size_t i = 0; i < n; ++i)
    pcm[i] =
        static_cast<int16_t>(8000 * std::sin(2 * M_PI * 440.0 * static_cast<double>(i) / 8000));
  std::string out;
  audio::ulaw_encode(pcm, out);
  return out;
}

/// The caller says `phrase`; returns once the agent has ~1 s of silence after it.
awaitable<void> caller_says(const Rig& rig, const std::string& channel, std::string phrase) {
  auto say = co_await rig.sim_call("POST", "/_sim/channels/" + channel + "/say",
                                   R"({"text":")" + phrase + R"("})");
  EXPECT_EQ(say.status, 200) << say.body;
  co_await sleep_for(milliseconds(4000));
}

double rms(const std::vector<int16_t>& pcm) {
  double s = 0;
  for (int16_t v : pcm) s += static_cast<double>(v) * v;
  return pcm.empty() ? 0 : std::sqrt(s / static_cast<double>(pcm.size()));
}

}  // namespace

// The service dials the agent: connected → start (Twilio's fields) → media
// every 20 ms that decodes to what the caller said; DELETE sends stop and
// closes the socket.
TEST(Stream, ServiceDialsTheAgentAndStreamsTheCallerInTwilioMessages) {
  TempDir dir;
  app::Config cfg = stream_config(dir);
  asio::io_context io;
  agent::Server srv(io);
  run_service_on(io, cfg, [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    const std::string sid = co_await start_stream(
        rig, call_id,
        R"({"url":")" + srv.url() + R"(","customParameters":{"agent":"test","lang":"en"}})");
    EXPECT_EQ(sid.size(), 34u);
    EXPECT_TRUE(sid.starts_with("MZ"));
    auto peer = co_await started_peer(srv);
    CO_ASSERT_TRUE(peer != nullptr);

    // connected, then start with Twilio's fields.
    auto first = json::parse(peer->raw[0]);
    CO_ASSERT_TRUE(first.has_value());
    EXPECT_EQ(json::get_string(*first, "event"), "connected");
    EXPECT_EQ(json::get_string(*first, "protocol"), "Call");
    EXPECT_EQ(json::get_string(*first, "version"), "1.0.0");
    auto start = json::parse(peer->raw[1]);
    CO_ASSERT_TRUE(start.has_value());
    EXPECT_EQ(json::get_string(*start, "event"), "start");
    EXPECT_EQ(json::get_string(*start, "sequenceNumber"), "1");
    EXPECT_EQ(json::get_string(*start, "streamSid"), sid);
    const json::Value* st = json::find(*start, "start");
    CO_ASSERT_TRUE(st != nullptr);
    EXPECT_EQ(json::get_string(*st, "streamSid"), sid);
    EXPECT_EQ(json::get_string(*st, "callSid"), call_id);
    EXPECT_EQ(json::get_string(*st, "accountSid"), svc.config().ari_app);
    const json::Value* tracks = json::find(*st, "tracks");
    CO_ASSERT_TRUE(tracks && tracks->IsArray() && tracks->Size() == 1);
    EXPECT_EQ(json::as_view((*tracks)[0]), "inbound");
    const json::Value* cp = json::find(*st, "customParameters");
    CO_ASSERT_TRUE(cp != nullptr);
    EXPECT_EQ(json::get_string(*cp, "agent"), "test");
    EXPECT_EQ(json::get_string(*cp, "lang"), "en");
    const json::Value* mf = json::find(*st, "mediaFormat");
    CO_ASSERT_TRUE(mf != nullptr);
    EXPECT_EQ(json::get_string(*mf, "encoding"), "audio/x-mulaw");
    EXPECT_EQ(json::get_int(*mf, "sampleRate"), 8000);
    EXPECT_EQ(json::get_int(*mf, "channels"), 1);

    auto ev = rig.events;
    const bool announced =
        co_await test::until([&] { return ev->count("call.stream_started", call_id) == 1; });
    EXPECT_TRUE(announced);
    auto se = ev->of("call.stream_started", call_id);
    if (!se.empty()) {
      EXPECT_EQ(json::get_string(*json::find(se[0], "data"), "streamSid"), sid);
      EXPECT_EQ(json::get_string(*json::find(se[0], "data"), "url"), srv.url());
    }

    // What the service itself received from Asterisk (/events?audio=1, slin16)
    // is the reference the agent's μ-law must match.
    auto cap = co_await rig.post("/calls/" + call_id + "/audio/start", "{}");
    EXPECT_EQ(cap.status, 200) << cap.body;
    auto frames = co_await connect_events(rig.port, "?audio=1");
    CO_ASSERT_TRUE(frames->ws != nullptr);
    const size_t from = peer->raw.size();
    co_await caller_says(rig, channel, "what time do you open tomorrow");

    // media: 20 ms of μ-law each, chunks counted from 1, sequence numbers +1.
    uint64_t last_seq = 1, last_chunk = 0, last_ts = 0, media = 0;
    for (size_t i = 2; i < peer->raw.size(); ++i) {
      auto d = json::parse(peer->raw[i]);
      CO_ASSERT_TRUE(d.has_value());
      EXPECT_EQ(std::stoull(std::string(json::get_string(*d, "sequenceNumber"))), last_seq + 1);
      last_seq += 1;
      if (json::get_string(*d, "event") != "media") continue;
      ++media;
      EXPECT_EQ(json::get_string(*d, "streamSid"), sid);
      const json::Value* m = json::find(*d, "media");
      CO_ASSERT_TRUE(m != nullptr);
      EXPECT_EQ(json::get_string(*m, "track"), "inbound");
      const uint64_t chunk = std::stoull(std::string(json::get_string(*m, "chunk")));
      const uint64_t ts = std::stoull(std::string(json::get_string(*m, "timestamp")));
      EXPECT_EQ(chunk, last_chunk + 1);
      EXPECT_GE(ts, last_ts);
      last_chunk = chunk;
      last_ts = ts;
      std::string bytes;
      EXPECT_TRUE(base64_decode(json::get_string(*m, "payload"), bytes));
      EXPECT_EQ(bytes.size(), 160u);
    }
    EXPECT_GT(media, 150u);  // > 3 s of audio
    std::vector<int16_t> at_agent;
    audio::ulaw_decode(peer->payload("inbound", from), at_agent);
    std::vector<int16_t> received;
    for (const auto& f : frames->of("call.audio_frame", call_id)) {
      std::string b;
      EXPECT_TRUE(base64_decode(json::get_string(*json::find(f, "data"), "data"), b));
      const auto pcm = agent::slin_to_pcm(b);
      received.insert(received.end(), pcm.begin(), pcm.end());
    }
    const double sim = agent::similarity(audio::resample(received, 16000, 8000), at_agent, 8000);
    std::printf(
        "[ stream ] %llu media messages (rms %.0f), similarity to what Asterisk sent %.4f\n",
        static_cast<unsigned long long>(media), rms(at_agent), sim);
    EXPECT_GT(rms(at_agent), 1000.0);
    EXPECT_GT(sim, 0.95);
    // (and the measure tells other audio apart)
    std::vector<int16_t> tone;
    audio::ulaw_decode(tone_mulaw(2.0), tone);
    EXPECT_LT(agent::similarity(at_agent, tone, 8000), 0.5);
    frames->ws->close(1000);

    // DELETE: stop, then the socket closes; a second DELETE is a 404.
    auto d = co_await del(rig, "/calls/" + call_id + "/stream");
    EXPECT_EQ(d.status, 200) << d.body;
    EXPECT_EQ(json::get_string(*json::parse(d.body), "status"), "stopped");
    const bool closed = co_await test::until([&] { return peer->closed; });
    EXPECT_TRUE(closed);
    EXPECT_EQ(peer->close_code, 1000);
    auto stops = peer->of("stop");
    CO_ASSERT_TRUE(stops.size() == 1u);
    EXPECT_EQ(json::get_string(*json::find(stops[0], "stop"), "callSid"), call_id);
    const bool stopped =
        co_await test::until([&] { return ev->count("call.stream_stopped", call_id) == 1; });
    EXPECT_TRUE(stopped);
    if (const auto r = stop_reason(*ev, call_id); !r.empty()) {
      EXPECT_EQ(r, "api");
    }
    auto again = co_await del(rig, "/calls/" + call_id + "/stream");
    EXPECT_EQ(again.status, 404) << again.body;
    EXPECT_EQ(json::get_string(*json::parse(again.body), "code"), "STREAM_NOT_FOUND");
  });
}

// The agent's audio is heard by the caller, and its mark comes back once that
// audio has played (±60 ms of the computed time): an echo agent sends the
// caller's own phrase back, and heard.wav transcribes to it.
TEST(Stream, AgentAudioIsHeardAndItsMarkComesBackOncePlayed) {
  TempDir dir;
  app::Config cfg = stream_config(dir);
  asio::io_context io;
  agent::Server srv(io);
  run_service_on(io, cfg, [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto call = co_await streamed_call(rig, srv, "");
    CO_ASSERT_TRUE(call.peer != nullptr);
    const std::string call_id = call.call_id, channel = call.channel, sid = call.sid;
    auto peer = call.peer;
    const size_t from = peer->raw.size();
    co_await caller_says(rig, channel, "please call me back later");
    const std::string echo = peer->payload("inbound", from);
    CO_ASSERT_TRUE(echo.size() > 8000u);
    co_await rig.sim_call("DELETE", "/_sim/channels/" + channel + "/heard");

    const auto sent = agent::Clock::now();
    for (const auto& m : agent::media_messages(echo, sid, 160)) peer->send(m);
    peer->send(agent::mark_message(sid, "echo-done"));
    const double dur_s = static_cast<double>(echo.size()) / 8000.0;
    const bool back = co_await test::until([&] { return peer->find("mark", "echo-done"); },
                                           static_cast<int>(dur_s * 1000) + 5000);
    CO_ASSERT_TRUE(back);
    const size_t at = *peer->find("mark", "echo-done");
    const double took = std::chrono::duration<double>(peer->at[at] - sent).count();
    std::printf("[ stream ] %.3f s of agent audio: mark back after %.3f s (%+.0f ms)\n", dur_s,
                took, (took - dur_s) * 1000);
    EXPECT_NEAR(took, dur_s, 0.060);

    auto wav = co_await rig.sim_call("GET", "/_sim/channels/" + channel + "/heard.wav");
    auto decoded = audio::parse_wav(wav.body);
    CO_ASSERT_TRUE(decoded.ok());
    std::vector<int16_t> sent_pcm;
    audio::ulaw_decode(echo, sent_pcm);
    const double sim =
        agent::similarity(audio::resample(decoded->pcm.samples, 16000, 8000), sent_pcm, 8000);
    std::printf("[ stream ] what the caller heard vs what the agent sent: similarity %.4f\n", sim);
    EXPECT_GT(sim, 0.95);
    EXPECT_GT(svc.streams().stats().marks, 0u);
  });
}

// An agent that marks after every 20 ms chunk (as Twilio's OpenAI sample marks
// every delta): the caller hears the audio without a seam, and each mark comes
// back when its chunk has played, in order, at 20 ms steps.
TEST(Stream, MarksAfterEveryChunkNeitherCutTheAudioNorComeBackEarly) {
  TempDir dir;
  asio::io_context io;
  agent::Server srv(io);
  run_service_on(io, stream_config(dir), [&](app::Service&, Rig& rig) -> awaitable<void> {
    auto call = co_await streamed_call(rig, srv, "");
    CO_ASSERT_TRUE(call.peer != nullptr);
    const std::string call_id = call.call_id, channel = call.channel, sid = call.sid;
    auto peer = call.peer;
    co_await rig.sim_call("DELETE", "/_sim/channels/" + channel + "/heard");
    const auto chunks = agent::media_messages(tone_mulaw(3.0), sid, 160);
    for (size_t k = 0; k < chunks.size(); ++k) {
      peer->send(chunks[k]);
      peer->send(agent::mark_message(sid, "m" + std::to_string(k)));
    }
    const std::string last = "m" + std::to_string(chunks.size() - 1);
    const bool all = co_await test::until([&] { return peer->find("mark", last); }, 8000);
    CO_ASSERT_TRUE(all);
    // In order, one per 20 ms of audio.
    std::vector<agent::Clock::time_point> at;
    for (size_t i = 0; i < peer->raw.size(); ++i) {
      auto d = json::parse(peer->raw[i]);
      if (!d || json::get_string(*d, "event") != "mark") continue;
      EXPECT_EQ(json::get_string(*json::find(*d, "mark"), "name"), "m" + std::to_string(at.size()));
      at.push_back(peer->at[i]);
    }
    CO_ASSERT_TRUE(at.size() == chunks.size());
    double worst = 0;
    for (size_t k = 0; k < at.size(); ++k) {
      const double off =
          std::chrono::duration<double, std::milli>(at[k] - at[0]).count() - 20.0 * k;
      worst = std::max(worst, std::abs(off));
    }
    // What the caller heard: the tone without a gap from its first to its last 20 ms.
    auto wav = co_await rig.sim_call("GET", "/_sim/channels/" + channel + "/heard.wav");
    auto decoded = audio::parse_wav(wav.body);
    CO_ASSERT_TRUE(decoded.ok());
    const auto& pcm = decoded->pcm.samples;
    std::vector<double> block;
    for (size_t off = 0; off + 320 <= pcm.size(); off += 320)
      block.push_back(rms(std::vector<int16_t>(pcm.begin() + off, pcm.begin() + off + 320)));
    size_t first = 0, last_loud = 0, quiet = 0;
    while (first < block.size() && block[first] < 1000) ++first;
    for (size_t i = first; i < block.size(); ++i)
      if (block[i] >= 1000) last_loud = i;
    for (size_t i = first; i <= last_loud && i < block.size(); ++i)
      if (block[i] < 1000) ++quiet;
    std::printf(
        "[ stream ] %zu marks, worst offset from 20 ms steps %.1f ms; %zu ms heard, "
        "%zu quiet 20 ms blocks inside\n",
        at.size(), worst, (last_loud - first + 1) * 20, quiet);
    EXPECT_LE(worst, 40.0);
    EXPECT_EQ(quiet, 0u);
    EXPECT_NEAR(static_cast<double>(last_loud - first + 1) * 20, 3000, 60);
  });
}

// clear during 10 s of agent audio: nothing after the clear (+60 ms) is heard,
// and the pending mark comes back at once (Twilio's behaviour).
TEST(Stream, ClearStopsTheAudioAtOnceAndReturnsTheMark) {
  TempDir dir;
  asio::io_context io;
  agent::Server srv(io);
  run_service_on(io, stream_config(dir), [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto call = co_await streamed_call(rig, srv, "");
    CO_ASSERT_TRUE(call.peer != nullptr);
    const std::string call_id = call.call_id, channel = call.channel, sid = call.sid;
    auto peer = call.peer;
    co_await rig.sim_call("DELETE", "/_sim/channels/" + channel + "/heard");
    for (const auto& m : agent::media_messages(tone_mulaw(10.0), sid, 160)) peer->send(m);
    peer->send(agent::mark_message(sid, "long"));
    co_await sleep_for(milliseconds(1500));
    auto clock = co_await rig.sim_call("GET", "/_sim/clock");
    const int64_t clear_at =
        static_cast<int64_t>(json::get_double(*json::parse(clock.body), "nowMs", -1));
    const auto cleared = agent::Clock::now();
    peer->send(agent::clear_message(sid));
    const bool back = co_await test::until([&] { return peer->find("mark", "long"); }, 2000);
    CO_ASSERT_TRUE(back);
    const double mark_ms =
        std::chrono::duration<double, std::milli>(peer->at[*peer->find("mark", "long")] - cleared)
            .count();
    co_await sleep_for(milliseconds(500));
    auto heard_r = co_await rig.sim_call("GET", "/_sim/channels/" + channel + "/heard");
    const Heard h = parse_heard(heard_r.body);
    std::printf("[ stream ] clear: sound ended %lld ms after it, mark back after %.1f ms\n",
                static_cast<long long>(h.last_end_ms - clear_at), mark_ms);
    EXPECT_GT(h.sound_ms, 1000);  // the tone played until the clear
    EXPECT_LE(h.last_end_ms - clear_at, 60);
    EXPECT_LT(mark_ms, 200);
    EXPECT_EQ(svc.streams().stats().clears, 1u);
    const std::string m = svc.metrics_text();
    for (const char* line : {"asterisk_api_stream_clears_total 1", "asterisk_api_streams 1",
                             "asterisk_api_streams_total{outcome=\"started\"} 1",
                             "asterisk_api_stream_mark_seconds_count 1"})
      EXPECT_NE(m.find(line), std::string::npos) << line;
    // The stream goes on: more audio is heard again.
    for (const auto& m : agent::media_messages(tone_mulaw(0.5), sid, 160)) peer->send(m);
    peer->send(agent::mark_message(sid, "short"));
    const bool again = co_await test::until([&] { return peer->find("mark", "short"); }, 3000);
    EXPECT_TRUE(again);
  });
}

// DTMF from the caller reaches the agent as Twilio dtmf messages, in order.
TEST(Stream, CallerDtmfReachesTheAgentAsDtmfMessages) {
  TempDir dir;
  asio::io_context io;
  agent::Server srv(io);
  run_service_on(io, stream_config(dir), [&](app::Service&, Rig& rig) -> awaitable<void> {
    auto call = co_await streamed_call(rig, srv, "");
    CO_ASSERT_TRUE(call.peer != nullptr);
    const std::string call_id = call.call_id, channel = call.channel, sid = call.sid;
    auto peer = call.peer;
    auto r = co_await rig.sim_call("POST", "/_sim/channels/" + channel + "/dtmf",
                                   R"({"digits":"19#","betweenMs":100})");
    EXPECT_LT(r.status, 300) << r.body;
    const bool got = co_await test::until([&] { return peer->count("dtmf") == 3; });
    EXPECT_TRUE(got);
    std::string digits;
    for (const auto& d : peer->of("dtmf")) {
      EXPECT_EQ(json::get_string(d, "streamSid"), sid);
      const json::Value* x = json::find(d, "dtmf");
      CO_ASSERT_TRUE(x != nullptr);
      EXPECT_EQ(json::get_string(*x, "track"), "inbound_track");
      digits += json::get_string(*x, "digit");
    }
    EXPECT_EQ(digits, "19#");
  });
}

// The caller hangs up: the agent gets stop, its socket closes, and nothing of
// the media path is left.
TEST(Stream, HangupSendsStopAndClosesTheAgentSocket) {
  TempDir dir;
  asio::io_context io;
  agent::Server srv(io);
  run_service_on(io, stream_config(dir), [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto call = co_await streamed_call(rig, srv, "");
    CO_ASSERT_TRUE(call.peer != nullptr);
    const std::string call_id = call.call_id, channel = call.channel;
    auto peer = call.peer;
    co_await rig.sim_call("POST", "/_sim/channels/" + channel + "/hangup", "{}");
    const bool closed = co_await test::until([&] { return peer->closed; });
    EXPECT_TRUE(closed);
    EXPECT_EQ(peer->count("stop"), 1u);
    auto ev = rig.events;
    const bool stopped =
        co_await test::until([&] { return ev->count("call.stream_stopped", call_id) == 1; });
    EXPECT_TRUE(stopped);
    if (const auto r = stop_reason(*ev, call_id); !r.empty()) {
      EXPECT_EQ(r, "hangup");
    }
    const bool gone = co_await test::until([&] { return svc.voice().sessions() == 0; });
    EXPECT_TRUE(gone);
    EXPECT_EQ(svc.streams().stats().active, 0u);
  });
}

// The agent closes its socket: the stream stops, the call goes on (it can
// stream again); with onStreamEnd "hangup" the call ends with it.
TEST(Stream, AgentClosingStopsTheStreamAndTheCallGoesOn) {
  TempDir dir;
  asio::io_context io;
  agent::Server srv(io);
  run_service_on(io, stream_config(dir), [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto call = co_await streamed_call(rig, srv, "");
    CO_ASSERT_TRUE(call.peer != nullptr);
    const std::string call_id = call.call_id, channel = call.channel;
    auto peer = call.peer;
    peer->ws->close(1000, "bye");
    auto ev = rig.events;
    const bool stopped =
        co_await test::until([&] { return ev->count("call.stream_stopped", call_id) == 1; });
    EXPECT_TRUE(stopped);
    if (const auto r = stop_reason(*ev, call_id); !r.empty()) {
      EXPECT_EQ(r, "agent_closed");
    }
    co_await sleep_for(milliseconds(300));
    EXPECT_TRUE(call_goes_on(svc, call_id));
    EXPECT_EQ(ev->count("call.ended", call_id), 0u);

    // A new stream, this time ending the call with it.
    co_await start_stream(rig, call_id, R"({"url":")" + srv.url() + R"(","onStreamEnd":"hangup"})");
    auto peer2 = co_await started_peer(srv, 2);
    CO_ASSERT_TRUE(peer2 != nullptr);
    peer2->ws->close(1000, "done");
    const bool ended = co_await test::until([&] { return ev->count("call.ended", call_id) == 1; });
    EXPECT_TRUE(ended);
  });
}

// The agent dials the service (WebSocket upgrade on /calls/:id/stream, the
// /events auth) in slin16 with both tracks: 640-byte frames, its audio heard,
// its mark returned, what the caller heard sent back as track "outbound", and
// {"event":"hangup"} ends the call.
TEST(Stream, AgentDialsTheServiceInSlin16WithBothTracks) {
  TempDir dir;
  app::Config cfg = stream_config(dir);
  cfg.api_key = "agent-key";
  const std::string grammar = cfg.speech.asr_grammar_file;
  WorkerPool pool(1, 64);
  run_service(cfg, [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto ev = rig.events;
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    const Url url = *parse_url(rig.base);
    const std::string target = "/calls/" + call_id + "/stream";
    // No key: the upgrade is refused like /events'.
    auto refused = co_await net::ws_connect(url, target + "?format=slin16");
    EXPECT_EQ(refused.connection, nullptr);
    EXPECT_EQ(refused.http_status, 401);
    auto nocall = co_await net::ws_connect(url, "/calls/nope/stream?api_key=agent-key");
    EXPECT_EQ(nocall.http_status, 404);
    auto badfmt = co_await net::ws_connect(url, target + "?api_key=agent-key&format=opus");
    EXPECT_EQ(badfmt.http_status, 400);

    auto r = co_await net::ws_connect(
        url, target + "?api_key=agent-key&format=slin16&tracks=both&campaign=spring");
    CO_ASSERT_TRUE(r.connection != nullptr);
    auto peer = std::make_shared<agent::Peer>();
    peer->attach(r.connection, false);
    const bool started = co_await test::until([&] { return peer->count("start") == 1; });
    CO_ASSERT_TRUE(started);
    auto starts = peer->of("start");
    const json::Value& st = starts[0]["start"];
    const std::string sid(json::get_string(st, "streamSid"));
    EXPECT_EQ(json::get_string(st, "callSid"), call_id);
    EXPECT_EQ(json::get_string(st["mediaFormat"], "encoding"), "audio/l16;rate=16000");
    EXPECT_EQ(json::get_int(st["mediaFormat"], "sampleRate"), 16000);
    EXPECT_EQ(st["tracks"].Size(), 2u);
    EXPECT_EQ(json::get_string(st["customParameters"], "campaign"), "spring");
    EXPECT_EQ(json::find(st["customParameters"], "api_key"), nullptr);  // never passed on
    // A second stream on the same call is refused while this one runs.
    auto second =
        co_await rig.post("/calls/" + call_id + "/stream", R"({"url":"ws://127.0.0.1:1/x"})");
    EXPECT_EQ(second.status, 409) << second.body;
    EXPECT_EQ(json::get_string(*json::parse(second.body), "code"), "STREAM_EXISTS");

    const std::string phrase = "yes please";
    const size_t from = peer->raw.size();
    co_await caller_says(rig, channel, phrase);
    const std::string echo = peer->payload("inbound", from);
    for (const auto& m : peer->of("media")) {
      std::string b;
      EXPECT_TRUE(base64_decode(json::get_string(m["media"], "payload"), b));
      EXPECT_EQ(b.size(), 640u);
    }
    const auto caller_pcm = agent::slin_to_pcm(echo);
    EXPECT_EQ(co_await transcribe(caller_pcm, grammar, pool), phrase);

    co_await rig.sim_call("DELETE", "/_sim/channels/" + channel + "/heard");
    const size_t before_echo = peer->raw.size();
    for (const auto& m : agent::media_messages(echo, sid, 640)) peer->send(m);
    peer->send(agent::mark_message(sid, "said"));
    const bool back = co_await test::until([&] { return peer->find("mark", "said"); }, 10000);
    EXPECT_TRUE(back);
    co_await sleep_for(milliseconds(200));
    // What the caller heard, sent back as the outbound track at its pace.
    const std::string outbound = peer->payload("outbound", before_echo);
    std::printf("[ stream ] slin16: %zu bytes echoed, %zu bytes back as track outbound\n",
                echo.size(), outbound.size());
    EXPECT_NEAR(static_cast<double>(outbound.size()), static_cast<double>(echo.size()),
                echo.size() * 0.05);
    EXPECT_GT(rms(agent::slin_to_pcm(outbound)), 100.0);
    auto wav = co_await rig.sim_call("GET", "/_sim/channels/" + channel + "/heard.wav");
    auto decoded = audio::parse_wav(wav.body);
    CO_ASSERT_TRUE(decoded.ok());
    EXPECT_EQ(co_await transcribe(decoded->pcm.samples, grammar, pool), phrase);

    // Our extension: the agent hangs up the call.
    peer->send(R"({"event":"hangup"})");
    const bool ended = co_await test::until([&] { return ev->count("call.ended", call_id) == 1; });
    EXPECT_TRUE(ended);
    const bool closed = co_await test::until([&] { return peer->closed; });
    EXPECT_TRUE(closed);
    EXPECT_EQ(peer->count("stop"), 1u);
    (void)svc;
    pool.stop();
  });
}

// Malformed agent messages are answered with a logged close — 1007 for data
// that is not what it claims (not JSON, bad base64), 1008 for what breaks the
// protocol (unknown event, another stream's sid, binary frames) — never a
// crash; each is reported in call.stream_error and the call goes on.
TEST(Stream, MalformedAgentMessagesCloseWith1007Or1008AndTheCallGoesOn) {
  TempDir dir;
  run_service(stream_config(dir), [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    const Url url = *parse_url(rig.base);
    struct Case {
      std::string message;
      bool binary;
      uint16_t code;
    };
    const std::vector<Case> cases = {
        {"this is not json", false, 1007},
        {R"({"event":"media","media":{"payload":"@@not base64@@"}})", false, 1007},
        {R"({"event":"dance"})", false, 1008},
        {R"({"event":"mark","streamSid":"MZ0000","mark":{"name":"x"}})", false, 1008},
        {R"({"event":"media"})", false, 1008},
        {std::string("\x01\x02\x03", 3), true, 1008},
    };
    auto ev = rig.events;
    size_t n = 0;
    for (const auto& c : cases) {
      auto r = co_await net::ws_connect(url, "/calls/" + call_id + "/stream");
      CO_ASSERT_TRUE(r.connection != nullptr);
      auto peer = std::make_shared<agent::Peer>();
      peer->attach(r.connection, false);
      const bool started = co_await test::until([&] { return peer->count("start") == 1; });
      CO_ASSERT_TRUE(started);
      if (c.binary)
        peer->ws->send_binary(c.message);
      else
        peer->send(c.message);
      const bool closed = co_await test::until([&] { return peer->closed; });
      EXPECT_TRUE(closed) << c.message;
      EXPECT_EQ(peer->close_code, c.code) << c.message;
      ++n;
      const bool reported =
          co_await test::until([&] { return ev->count("call.stream_error", call_id) == n; });
      EXPECT_TRUE(reported) << c.message;
    }
    for (const auto& e : ev->of("call.stream_stopped", call_id))
      EXPECT_EQ(json::get_string(*json::find(e, "data"), "reason"), "protocol_error");
    EXPECT_TRUE(call_goes_on(svc, call_id));
  });
}

// An agent that sends far more audio than can be played ahead is cut off
// (1008, call.stream_error) rather than buffered without bound; the call goes on.
TEST(Stream, AgentAudioBeyondTheBufferIsRefusedNotBufferedWithoutBound) {
  TempDir dir;
  asio::io_context io;
  agent::Server srv(io);
  run_service_on(io, stream_config(dir), [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto call = co_await streamed_call(rig, srv, "");
    CO_ASSERT_TRUE(call.peer != nullptr);
    const std::string call_id = call.call_id, channel = call.channel, sid = call.sid;
    auto peer = call.peer;
    // 70 s of audio in 1 s messages: over the 60 s bound.
    for (const auto& m : agent::media_messages(tone_mulaw(70.0), sid, 8000)) peer->send(m);
    const bool closed = co_await test::until([&] { return peer->closed; }, 10000);
    EXPECT_TRUE(closed);
    EXPECT_EQ(peer->close_code, 1008);
    auto ev = rig.events;
    const bool reported =
        co_await test::until([&] { return ev->count("call.stream_error", call_id) == 1; });
    EXPECT_TRUE(reported);
    if (const auto r = stop_reason(*ev, call_id); !r.empty()) {
      EXPECT_EQ(r, "buffer_full");
    }
    EXPECT_TRUE(call_goes_on(svc, call_id));
  });
}

// POST /calls with `stream` streams the outbound call from the moment it is
// answered; STREAM_URL streams every inbound call.
TEST(Stream, OutboundCallsWithStreamAndInboundCallsWithStreamUrlStream) {
  TempDir dir;
  asio::io_context io;
  agent::Server srv(io);
  app::Config cfg = stream_config(dir);
  cfg.stream_url = srv.url("/inbound");
  run_service_on(io, cfg, [&](app::Service&, Rig& rig) -> awaitable<void> {
    auto [in_id, in_channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!in_id.empty());
    auto in_peer = co_await started_peer(srv, 1);
    CO_ASSERT_TRUE(in_peer != nullptr);
    EXPECT_EQ(json::get_string(*json::find(in_peer->of("start")[0], "start"), "callSid"), in_id);

    auto bad =
        co_await rig.post("/calls", R"({"endpoint":"PJSIP/1002","stream":{"url":"http://x"}})");
    EXPECT_EQ(bad.status, 400) << bad.body;
    EXPECT_NE(bad.body.find("stream.url"), std::string::npos) << bad.body;

    auto r = co_await rig.post(
        "/calls", R"({"endpoint":"PJSIP/1002","stream":{"url":")" + srv.url("/outbound") +
                      R"(","format":"slin16","customParameters":{"leg":"out"}}})");
    EXPECT_EQ(r.status, 201) << r.body;
    const std::string out_id(json::get_string(*json::parse(r.body), "callId"));
    auto out_peer = co_await started_peer(srv, 2);
    CO_ASSERT_TRUE(out_peer != nullptr);
    auto st = out_peer->of("start");
    const json::Value& s = st[0]["start"];
    EXPECT_EQ(json::get_string(s, "callSid"), out_id);
    EXPECT_EQ(json::get_string(s["customParameters"], "leg"), "out");
    EXPECT_EQ(json::get_int(s["mediaFormat"], "sampleRate"), 16000);
    (void)in_channel;
  });
}

// Every documented error of POST/DELETE /calls/:id/stream.
TEST(Stream, ErrorPathsAnswerTheDocumentedStatuses) {
  TempDir dir;
  asio::io_context io;
  agent::Server srv(io);
  srv.refuse_with = 403;
  // Accepts TCP, never answers the handshake.
  asio::ip::tcp::acceptor silent(io, {asio::ip::make_address("127.0.0.1"), 0});
  asio::ip::tcp::socket held(io);
  silent.async_accept(held, [](boost::system::error_code) {});
  const uint16_t silent_port = silent.local_endpoint().port();
  app::Config cfg = stream_config(dir);
  cfg.stream_connect_timeout = milliseconds(500);
  run_service_on(io, cfg, [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    const std::string path = "/calls/" + call_id + "/stream";
    auto code = [](const net::ClientResponse& r) {
      auto d = json::parse(r.body);
      return d ? std::string(json::get_string(*d, "code")) : std::string{};
    };
    auto r = co_await rig.post("/calls/no-such-call/stream", R"({"url":"ws://127.0.0.1:1/"})");
    EXPECT_EQ(r.status, 404) << r.body;
    r = co_await rig.post(path, R"({})");
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_NE(r.body.find("url"), std::string::npos);
    r = co_await rig.post(
        path,
        R"({"url":"https://agent","format":"opus","tracks":"outbound","onStreamEnd":"later","customParameters":{"n":1}})");
    EXPECT_EQ(r.status, 400) << r.body;
    for (const char* f : {"url", "format", "tracks", "onStreamEnd", "customParameters.n"})
      EXPECT_NE(r.body.find(f), std::string::npos) << f << " " << r.body;
    r = co_await rig.post(path, R"({"url":")" + srv.url() + R"("})");
    EXPECT_EQ(r.status, 502) << r.body;
    EXPECT_EQ(code(r), "STREAM_CONNECT_FAILED");
    r = co_await rig.post(path, R"({"url":"ws://127.0.0.1:1/agent"})");
    EXPECT_EQ(r.status, 502) << r.body;
    r = co_await rig.post(path,
                          R"({"url":"ws://127.0.0.1:)" + std::to_string(silent_port) + R"(/"})");
    EXPECT_EQ(r.status, 504) << r.body;
    EXPECT_EQ(code(r), "STREAM_TIMEOUT");
    auto d = co_await del(rig, "/calls/no-such-call/stream");
    EXPECT_EQ(d.status, 404) << d.body;
    EXPECT_EQ(code(d), "CALL_NOT_FOUND");
    // Failed starts are reported too, and leave no stream behind.
    EXPECT_GE(rig.events->count("call.stream_error", call_id), 3u);
    EXPECT_EQ(svc.streams().stats().active, 0u);
    EXPECT_EQ(svc.streams().stats().failed, 3u);
    // An ended call cannot stream.
    co_await rig.sim_call("POST", "/_sim/channels/" + channel + "/hangup", "{}");
    auto ev = rig.events;
    const bool ended = co_await test::until([&] { return ev->count("call.ended", call_id) == 1; });
    EXPECT_TRUE(ended);
    r = co_await rig.post(path, R"({"url":")" + srv.url() + R"("})");
    EXPECT_EQ(r.status, 409) << r.body;
  });
}
