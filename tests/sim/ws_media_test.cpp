// chan_websocket in the simulator (ARI externalMedia, /media/<connection_id>),
// bridge mixing and the far end's voice and ears, through real sockets. Every
// expectation is a fact of ../shared/ari-traces/chan-websocket-*.jsonl or of
// Asterisk 22.11's chan_websocket.c (see src/sim/engine_ws_media.cpp). Frames
// are counted and ordered; times are only lower bounds ("3 s of audio takes at
// least 2.5 s to play"), never tight.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "net/http_server.hpp"
#include "raw_ws.hpp"
#include "sim/audio_mix.hpp"
#include "sim_harness.hpp"
#include "speech/tts.hpp"
#include "support/run_io.hpp"

using namespace aa;
using simtest::Harness;
using simtest::RawWs;

namespace {

/// s16le bytes of a tone: `ms` long at 16 kHz (or `rate`).
std::string tone_bytes(int ms, int hz = 440, int amplitude = 8000, int rate = 16000) {
  const int n = rate * ms / 1000;
  std::string out(static_cast<size_t>(n) * 2, '\0');
  for (int i = 0; i < n; ++i) {
    const auto v =
        static_cast<int16_t>(std::lround(amplitude * std::sin(2 * M_PI * hz * i / rate)));
    const auto u = static_cast<uint16_t>(v);
    out[2 * i] = static_cast<char>(u & 0xFF);
    out[2 * i + 1] = static_cast<char>(u >> 8);
  }
  return out;
}

/// A constant level (easy to recognise after mixing).
std::string level_bytes(int ms, int16_t level) {
  std::string out;
  for (int i = 0; i < 16 * ms; ++i) {
    const auto u = static_cast<uint16_t>(level);
    out.push_back(static_cast<char>(u & 0xFF));
    out.push_back(static_cast<char>(u >> 8));
  }
  return out;
}

double bytes_rms(std::string_view b) {
  std::vector<int16_t> s(b.size() / 2);
  std::memcpy(s.data(), b.data(), s.size() * 2);
  return sim::rms(s.data(), s.size());
}

int16_t first_sample(std::string_view b) {
  int16_t v = 0;
  if (b.size() >= 2) std::memcpy(&v, b.data(), 2);
  return v;
}

std::string em_target(const std::string& id, const std::string& extra = {},
                      const std::string& format = "slin16") {
  return "/channels/externalMedia?app=openclaw-voice&transport=websocket&encapsulation=none&"
         "connection_type=server&format=" +
         format + "&channelId=" + id + extra;
}

struct Em {
  std::string id, connection, name;
};

awaitable<Em> create_em(Harness& h, std::string id, std::string extra = {}) {
  auto r = co_await h.ari("POST", em_target(id, extra));
  EXPECT_EQ(r.status, 200) << r.body;
  auto d = simtest::parse_body(r);
  Em em{id, "", std::string(json::get_string(d, "name"))};
  if (const json::Value* vars = json::find(d, "channelvars"))
    em.connection = json::get_string(*vars, "MEDIA_WEBSOCKET_CONNECTION_ID");
  co_return em;
}

awaitable<std::shared_ptr<RawWs>> open_media(Harness& h, std::string connection,
                                             std::string protocol = "media") {
  auto ws = std::make_shared<RawWs>(h.io.get_executor());
  co_await ws->open(h.port, "/media/" + connection, protocol);
  co_return ws;
}

/// Create, connect and wait for StasisStart.
awaitable<std::pair<Em, std::shared_ptr<RawWs>>> media_channel(
    Harness& h, std::shared_ptr<simtest::EventLog> ev, std::string id, std::string extra = {}) {
  Em em = co_await create_em(h, id, extra);
  auto ws = co_await open_media(h, em.connection);
  EXPECT_EQ(ws->status, 101);
  EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", id));
  co_return std::make_pair(em, ws);
}

/// A channel's significant events, as the fidelity test writes them.
std::vector<std::string> sigs(const simtest::EventLog& log, const std::string& id) {
  std::vector<std::string> out;
  for (const auto& e : log.events) {
    if (e.channel_id != id) continue;
    std::string s = e.type;
    if (e.type == "Dial") s += "|" + e.dialstatus;
    if (e.type == "ChannelStateChange") s += "|" + e.state;
    if (e.cause) s += "|" + std::to_string(*e.cause);
    if (e.soft) s += "|soft";
    if (e.type == "ChannelDtmfReceived") s += "|" + e.digit;
    out.push_back(s);
  }
  return out;
}

awaitable<void> bridge(Harness& h, std::string id, std::string channels) {
  co_await h.ari("POST", "/bridges?type=mixing&bridgeId=" + id);
  auto r = co_await h.ari("POST", "/bridges/" + id + "/addChannel?channel=" + channels);
  EXPECT_EQ(r.status, 204) << r.body;
}

/// An inbound SIP caller, answered (a "phone": it sends silence, its ears are logged).
awaitable<std::string> answered_caller(Harness& h, std::shared_ptr<simtest::EventLog> ev) {
  auto r = co_await h.control("POST", "/inbound", R"({"from":"5551234","to":"1001"})");
  const std::string id(json::get_string(simtest::parse_body(r), "channelId"));
  EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", id));
  EXPECT_EQ((co_await h.ari("POST", "/channels/" + id + "/answer")).status, 204);
  co_return id;
}

awaitable<json::Document> sim_json(Harness& h, std::string target) {
  auto r = co_await h.control("GET", target);
  co_return simtest::parse_body(r);
}

/// framesPlayed / droppedMessages of one media channel (GET /_sim/media).
awaitable<std::pair<int64_t, int64_t>> played_dropped(Harness& h, std::string id) {
  auto d = co_await sim_json(h, "/media");
  if (const json::Value* chans = json::find(d, "channels"); chans && chans->IsArray())
    for (const auto& c : chans->GetArray())
      if (json::get_string(c, "id") == id)
        co_return std::make_pair(json::get_int(c, "framesPlayed", -1),
                                 json::get_int(c, "droppedMessages", -1));
  co_return std::make_pair<int64_t, int64_t>(-1, -1);
}

std::string status_text(const std::string& id, int queue, bool full, bool bulk, bool paused) {
  auto b = [](bool v) { return v ? "true" : "false"; };
  return "STATUS channel_id:" + id + " queue_length:" + std::to_string(queue) +
         " xon_level:800 xoff_level:900 queue_full:" + b(full) + " bulk_media:" + b(bulk) +
         " media_paused:" + b(paused);
}

/// The 16 kHz samples of a canonical WAV (44-byte header).
std::string wav_data(const std::string& wav) {
  return wav.size() > 44 ? wav.substr(44) : std::string();
}

}  // namespace

// ---- externalMedia and the handshake ----

TEST(WsMedia, ExternalMediaIsDownWithConnectionIdAndFrameSizeAndOnlyDialBeforeConnect) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto r = co_await h.ari("POST", em_target("em-1"));
    EXPECT_EQ(r.status, 200) << r.body;
    auto d = simtest::parse_body(r);
    EXPECT_EQ(json::get_string(d, "state"), "Down");
    EXPECT_EQ(std::string(json::get_string(d, "name")).rfind("WebSocket/INCOMING/0x", 0), 0u);
    const json::Value* dp = json::find(d, "dialplan");
    CO_ASSERT_TRUE(dp);
    EXPECT_EQ(json::get_string(*dp, "context"), "default");
    EXPECT_EQ(json::get_string(*dp, "exten"), "s");
    EXPECT_EQ(json::get_string(*dp, "app_name"), "AppDial2");
    EXPECT_EQ(json::get_string(*dp, "app_data"), "(Outgoing Line)");
    const json::Value* vars = json::find(d, "channelvars");
    CO_ASSERT_TRUE(vars && vars->IsObject());
    const json::Value* conn = json::find(*vars, "MEDIA_WEBSOCKET_CONNECTION_ID");
    const json::Value* size = json::find(*vars, "MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE");
    CO_ASSERT_TRUE(conn && conn->IsString() && size && size->IsString());
    EXPECT_EQ(conn->GetStringLength(), 36u);  // a fresh UUID, not the channel id
    EXPECT_EQ(json::as_view(*size), "640");
    for (const auto& [format, bytes] : std::vector<std::pair<std::string, std::string>>{
             {"slin", "320"}, {"slin24", "960"}, {"ulaw", "160"}, {"alaw", "160"}}) {
      r = co_await h.ari("POST", em_target("em-" + format, "", format));
      auto f = simtest::parse_body(r);
      EXPECT_EQ(
          json::get_string(*json::find(f, "channelvars"), "MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE"),
          bytes)
          << format;
    }
    co_await sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(sigs(*ev, "em-1"), (std::vector<std::string>{"Dial|"}));
    r = co_await h.ari("GET", "/channels/em-1");
    EXPECT_NE(r.body.find("\"Down\""), std::string::npos);
  });
}

TEST(WsMedia, ExternalMediaArgumentRulesAreAsterisks) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    const std::string base = "/channels/externalMedia?app=openclaw-voice&format=slin16";
    struct Case {
      std::string query;
      int status;
      std::string message;
    };
    const std::vector<Case> cases = {
        {"&transport=websocket&connection_type=server", 400,
         "encapsulation must be 'none' for websocket transport"},
        {"&transport=websocket&encapsulation=rtp&connection_type=server", 400,
         "encapsulation must be 'none' for websocket transport"},
        {"&transport=udp&connection_type=server&external_host=127.0.0.1:5000", 400,
         "'server' connection_type can only be used with the websocket transport"},
        {"&transport=websocket&encapsulation=none", 400,
         "external_host is required for all but websocket server connections"},
        {"&transport=websocket&encapsulation=none&connection_type=server&direction=sideways", 400,
         "Invalid direction specified"},
        {"&transport=udp&external_host=nohost", 400,
         "external_host must be <host>:<port> for all transports other than websocket"},
    };
    for (const auto& c : cases) {
      auto r = co_await h.ari("POST", base + c.query);
      EXPECT_EQ(r.status, c.status) << c.query << " " << r.body;
      EXPECT_EQ(r.body, json::object_with("message", c.message)) << c.query;
    }
    auto r = co_await h.ari("POST",
                            "/channels/externalMedia?app=openclaw-voice&transport=websocket&"
                            "encapsulation=none&connection_type=server");
    EXPECT_EQ(r.body, R"({"message":"format cannot be empty"})");
    r = co_await h.ari("POST", em_target("em-x", "", "nosuchcodec"));
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(r.body, R"({"message":"Provided format (nosuchcodec) was not found"})");
    r = co_await h.ari("POST", em_target("em-x", "&transport_data=f(xml)"));
    EXPECT_EQ(r.status, 200);  // accepted; plain text control (see MediaStartPlainAndJson)
    r = co_await h.ari("POST", em_target("em-x"));
    EXPECT_EQ(r.status, 409);
    // Dial strings as Asterisk builds them (INCOMING[/transport_data][d(direction)]).
    r = co_await h.ari("POST", em_target("em-d", "&transport_data=f(json)&direction=in"));
    EXPECT_EQ(r.status, 200);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "Dial", "em-d"));
    for (const auto& e : ev->events)
      if (e.type == "Dial" && e.channel_id == "em-d") {
        EXPECT_NE(e.raw.find(R"x("dialstring":"INCOMING/f(json)d(in)")x"), std::string::npos)
            << e.raw;
      }
  });
}

TEST(WsMedia, HandshakeRefusalsAreAsterisks) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto unknown = co_await open_media(h, "00000000-0000-0000-0000-000000000000");
    EXPECT_EQ(unknown->status, 404);
    EXPECT_EQ(unknown->header("Content-Type").value_or(""), "text/html");
    EXPECT_EQ(
        unknown->body,
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\r\n<html><head>\r\n<title>404 Not "
        "found</title>\r\n</head><body>\r\n<h1>Not found</h1>\r\n<p>WebSocket instance not "
        "found</p>\r\n<hr />\r\n<address>Asterisk/22.11.0</address>\r\n</body></html>\r\n");
    Em a = co_await create_em(h, "hs-a");
    auto foo = co_await open_media(h, a.connection, "foo");
    EXPECT_EQ(foo->status, 400);
    EXPECT_FALSE(foo->header("Content-Type"));
    EXPECT_EQ(foo->body, "");
    auto none = co_await open_media(h, a.connection, "");
    EXPECT_EQ(none->status, 101);
    EXPECT_FALSE(none->header("Sec-WebSocket-Protocol"));
    auto second = co_await open_media(h, a.connection, "media");
    EXPECT_EQ(second->status, 409);
    EXPECT_EQ(second->header("Content-Type").value_or(""), "text/html");
    EXPECT_NE(second->body.find("<title>409 Conflict</title>"), std::string::npos);
    EXPECT_NE(
        second->body.find("<p>Another websocket connection exists for this connection id</p>"),
        std::string::npos);
    Em b = co_await create_em(h, "hs-b");
    auto media = co_await open_media(h, b.connection, "media");
    EXPECT_EQ(media->status, 101);
    EXPECT_EQ(media->header("Sec-WebSocket-Protocol").value_or(""), "media");
    // The id of a channel that was hung up is unknown again.
    co_await h.ari("DELETE", "/channels/hs-a");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "hs-a"));
    auto late = co_await open_media(h, a.connection);
    EXPECT_EQ(late->status, 404);
  });
}

TEST(WsMedia, ConnectAnswersThenStasisStartWithMediaStartPlainAndJson) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [plain, ws] = co_await media_channel(h, ev, "ms-plain");
    EXPECT_EQ(sigs(*ev, "ms-plain"), (std::vector<std::string>{"Dial|", "ChannelStateChange|Up",
                                                               "Dial|ANSWER", "StasisStart"}));
    for (const auto& e : ev->events)
      if (e.type == "StasisStart" && e.channel_id == "ms-plain") {
        EXPECT_TRUE(e.args.empty());
      }
    EXPECT_TRUE(co_await Harness::until([&] { return !ws->messages.empty(); }));
    EXPECT_EQ(ws->texts().at(0), "MEDIA_START connection_id:" + plain.connection +
                                     " channel:" + plain.name +
                                     " channel_id:ms-plain format:slin16 optimal_frame_size:640 "
                                     "ptime:20");
    auto [j, jws] = co_await media_channel(h, ev, "ms-json", "&transport_data=f(json)");
    EXPECT_TRUE(co_await Harness::until([&] { return !jws->messages.empty(); }));
    EXPECT_EQ(
        jws->texts().at(0),
        R"({"event":"MEDIA_START","connection_id":")" + j.connection + R"(","channel":")" + j.name +
            R"(","channel_id":"ms-json","format":"slin16","optimal_frame_size":640,"ptime":20,)"
            R"("channel_variables":{"MEDIA_WEBSOCKET_CONNECTION_ID":")" +
            j.connection + R"(","MEDIA_WEBSOCKET_OPTIMAL_FRAME_SIZE":"640"}})");
    auto [x, xws] = co_await media_channel(h, ev, "ms-xml", "&transport_data=f(xml)");
    EXPECT_TRUE(co_await Harness::until([&] { return !xws->messages.empty(); }));
    EXPECT_EQ(xws->texts().at(0).rfind("MEDIA_START connection_id:", 0), 0u);
  });
}

TEST(WsMedia, NoAutoAnswerWaitsForTheAnswerCommand) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    Em em = co_await create_em(h, "na-1", "&transport_data=n");
    auto ws = co_await open_media(h, em.connection);
    EXPECT_TRUE(co_await Harness::until([&] { return !ws->messages.empty(); }));
    EXPECT_EQ(ws->texts().at(0).rfind("MEDIA_START ", 0), 0u);
    co_await sleep_for(std::chrono::milliseconds(300));
    EXPECT_FALSE(Harness::has_event(*ev, "StasisStart", "na-1"));
    co_await ws->send_text("ANSWER");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "na-1"));
    EXPECT_EQ(sigs(*ev, "na-1"), (std::vector<std::string>{"Dial|", "ChannelStateChange|Up",
                                                           "Dial|ANSWER", "StasisStart"}));
  });
}

TEST(WsMedia, NeverConnectedChannelIsDestroyedWithCause19) {
  Harness h(0.01);  // 31 s of simulated time
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    Em em = co_await create_em(h, "nc-1");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "nc-1", 10000));
    EXPECT_EQ(sigs(*ev, "nc-1"), (std::vector<std::string>{"Dial|", "ChannelDestroyed|19"}));
    auto late = co_await open_media(h, em.connection);
    EXPECT_EQ(late->status, 404);
  });
}

// ---- the channel lives exactly as long as its socket ----

TEST(WsMedia, AppClosingTheSocketHangsUpWithCause16) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [em, ws] = co_await media_channel(h, ev, "cl-app");
    co_await ws->send_close(1000, "client done");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cl-app"));
    EXPECT_TRUE(co_await Harness::until([&] { return ws->closed; }));
    EXPECT_EQ(ws->close_code, 1000);
    EXPECT_EQ(
        sigs(*ev, "cl-app"),
        (std::vector<std::string>{"Dial|", "ChannelStateChange|Up", "Dial|ANSWER", "StasisStart",
                                  "ChannelHangupRequest|16", "StasisEnd", "ChannelDestroyed|0"}));
  });
}

TEST(WsMedia, DroppedTcpConnectionHangsUpWithCause38) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [em, ws] = co_await media_channel(h, ev, "cl-tcp");
    ws->drop();
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cl-tcp"));
    auto s = sigs(*ev, "cl-tcp");
    EXPECT_EQ(
        std::vector<std::string>(s.begin() + 4, s.end()),
        (std::vector<std::string>{"ChannelHangupRequest|38", "StasisEnd", "ChannelDestroyed|0"}));
  });
}

TEST(WsMedia, DeleteHangsUpSoftlyThenClosesTheSocketWith1000) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [em, ws] = co_await media_channel(h, ev, "cl-del");
    co_await bridge(h, "cl-br", "cl-del");
    EXPECT_EQ((co_await h.ari("DELETE", "/channels/cl-del")).status, 204);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cl-del"));
    EXPECT_TRUE(co_await Harness::until([&] { return ws->closed; }));
    EXPECT_EQ(ws->close_code, 1000);
    EXPECT_EQ(ws->close_reason, "");
    auto s = sigs(*ev, "cl-del");
    EXPECT_EQ(std::vector<std::string>(s.begin() + 5, s.end()),
              (std::vector<std::string>{"ChannelHangupRequest|32|soft", "ChannelLeftBridge",
                                        "StasisEnd", "ChannelDestroyed|16"}));
  });
}

TEST(WsMedia, DeleteBeforeAnyConnectionEndsTheDialWithNoAnswer) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    co_await create_em(h, "cl-early");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "Dial", "cl-early"));
    EXPECT_EQ((co_await h.ari("DELETE", "/channels/cl-early")).status, 204);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cl-early"));
    EXPECT_EQ(sigs(*ev, "cl-early"),
              (std::vector<std::string>{"Dial|", "ChannelHangupRequest|32|soft", "Dial|NOANSWER",
                                        "ChannelDestroyed|16"}));
  });
}

TEST(WsMedia, HangupCommandHangsUpAndClosesWith1000) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [em, ws] = co_await media_channel(h, ev, "cl-cmd");
    co_await ws->send_text("HANGUP");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cl-cmd"));
    EXPECT_TRUE(co_await Harness::until([&] { return ws->closed; }));
    EXPECT_EQ(ws->close_code, 1000);
    auto s = sigs(*ev, "cl-cmd");
    EXPECT_EQ(
        std::vector<std::string>(s.begin() + 4, s.end()),
        (std::vector<std::string>{"ChannelHangupRequest|16", "StasisEnd", "ChannelDestroyed|0"}));
  });
}

TEST(WsMedia, BinaryMessageOver65535BytesClosesWith1009AndHangsUpWith38) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [em, ws] = co_await media_channel(h, ev, "cl-big");
    co_await h.ari("POST",
                   "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&channelId=cl-loc");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "cl-loc"));
    co_await bridge(h, "cl-big-br", "cl-big,cl-loc");
    co_await ws->send_binary(std::string(70000, '\0'));
    EXPECT_TRUE(co_await Harness::until([&] { return ws->closed; }));
    EXPECT_EQ(ws->close_code, 1009);
    EXPECT_EQ(ws->close_reason, "");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "cl-big"));
    auto s = sigs(*ev, "cl-big");
    EXPECT_EQ(std::vector<std::string>(s.begin() + 5, s.end()),
              (std::vector<std::string>{"ChannelHangupRequest|38", "ChannelLeftBridge", "StasisEnd",
                                        "ChannelDestroyed|38"}));
  });
}

// ---- the media queue ----

TEST(WsMedia, AudioSentInABurstIsPlayedAtTheTickPaceSampleForSample) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "pace-a");
    auto [b, wb] = co_await media_channel(h, ev, "pace-b");
    co_await bridge(h, "pace-br", "pace-a,pace-b");
    const std::string audio = tone_bytes(3000);
    const auto sent = std::chrono::steady_clock::now();
    for (int i = 0; i < 15; ++i) co_await wa->send_binary(audio.substr(i * 6400, 6400));
    EXPECT_TRUE(co_await Harness::until([&] { return wb->count_binary() >= 150; }, 15000));
    const auto took = wb->messages.back().at - sent;
    EXPECT_GE(took, std::chrono::milliseconds(2500));
    co_await sleep_for(std::chrono::milliseconds(200));
    std::string got;
    for (const auto& m : wb->messages)
      if (!m.text) {
        EXPECT_EQ(m.data.size(), 640u);
        got += m.data;
      }
    EXPECT_EQ(wb->count_binary(), 150u);
    EXPECT_TRUE(got == audio) << "the bridged channel must receive the same samples";
    // B sends nothing: A hears nothing (no made-up silence frames).
    EXPECT_EQ(wa->count_binary(), 0u);
  });
}

TEST(WsMedia, QueueFullSendsXoffDropsWholeMessagesAndXonBelow800) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "xo-a");
    auto [b, wb] = co_await media_channel(h, ev, "xo-b");
    co_await bridge(h, "xo-br", "xo-a,xo-b");
    // 30 s in 16 messages of 60000 bytes: 93 frames + 480 dropped bytes each.
    const std::string audio = tone_bytes(30000);
    for (int i = 0; i < 16; ++i) co_await wa->send_binary(audio.substr(i * 60000, 60000));
    co_await wa->send_text("GET_STATUS");
    co_await wa->send_text("REPORT_QUEUE_DRAINED");
    // Sent at real time (the queue must still be full when the last message
    // arrives); played out 10x faster.
    co_await h.control("POST", "/timeScale", R"({"timeScale":0.1})");
    EXPECT_TRUE(co_await Harness::until([&] { return wa->has_text("MEDIA_XOFF"); }));
    EXPECT_TRUE(co_await Harness::until([&] {
      for (const auto& t : wa->texts())
        if (t.rfind("STATUS ", 0) == 0) return true;
      return false;
    }));
    for (const auto& t : wa->texts())
      if (t.rfind("STATUS ", 0) == 0) {
        const auto q = std::stoi(t.substr(t.find("queue_length:") + 13));
        EXPECT_GE(q, 1000);
        EXPECT_LE(q, 1023);
        EXPECT_EQ(t, status_text("xo-a", q, true, false, false));
      }
    EXPECT_TRUE(co_await Harness::until([&] { return wa->has_text("QUEUE_DRAINED"); }, 20000));
    const int xoff = wa->index_of_text("MEDIA_XOFF");
    const int xon = wa->index_of_text("MEDIA_XON");
    const int drained = wa->index_of_text("QUEUE_DRAINED");
    EXPECT_TRUE(xoff >= 0 && xon > xoff && drained > xon) << xoff << " " << xon << " " << drained;
    const auto [played, dropped] = co_await played_dropped(h, "xo-a");
    EXPECT_EQ(played, 1023);  // the first 11 messages
    EXPECT_EQ(dropped, 5);    // messages 12-16, whole
    EXPECT_TRUE(co_await Harness::until([&] { return wb->count_binary() >= 1023; }));
  });
}

TEST(WsMedia, RemainderIsDroppedUnlessBufferingWhichPlaysItAsAShortFrame) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "rm-a");
    auto [b, wb] = co_await media_channel(h, ev, "rm-b");
    co_await bridge(h, "rm-br", "rm-a,rm-b");
    const std::string audio = tone_bytes(1000);
    co_await wa->send_binary(audio.substr(0, 6500));  // 10 frames + 100 bytes
    EXPECT_TRUE(co_await Harness::until([&] { return wb->count_binary() >= 10; }));
    co_await wa->send_binary(audio.substr(0, 100));  // nothing
    co_await sleep_for(std::chrono::milliseconds(150));
    EXPECT_EQ(wb->count_binary(), 10u);
    for (const auto& m : wb->messages) {
      if (!m.text) {
        EXPECT_EQ(m.data.size(), 640u);
      }
    }

    co_await wa->send_text("START_MEDIA_BUFFERING");
    co_await wa->send_binary(audio.substr(0, 6500));
    co_await wa->send_text("STOP_MEDIA_BUFFERING b2");
    EXPECT_TRUE(
        co_await Harness::until([&] { return wa->has_text("MEDIA_BUFFERING_COMPLETED b2"); }));
    EXPECT_TRUE(co_await Harness::until([&] { return wb->count_binary() >= 21; }));
    EXPECT_EQ(wb->messages.back().data.size(), 100u);  // the remainder, as a short frame

    // Without STOP the remainder plays when the queue runs dry; buffering stays on.
    co_await wa->send_text("START_MEDIA_BUFFERING");
    co_await wa->send_binary(audio.substr(0, 6500));
    EXPECT_TRUE(co_await Harness::until([&] { return wb->count_binary() >= 32; }));
    EXPECT_EQ(wb->messages.back().data.size(), 100u);
    co_await wa->send_text("GET_STATUS");
    EXPECT_TRUE(co_await Harness::until(
        [&] { return wa->has_text(status_text("rm-a", 0, false, true, false)); }));
    co_await wa->send_text("STOP_MEDIA_BUFFERING b3");
    EXPECT_TRUE(
        co_await Harness::until([&] { return wa->has_text("MEDIA_BUFFERING_COMPLETED b3"); }));
    EXPECT_EQ(wb->count_binary(), 32u);
  });
}

TEST(WsMedia, MarksComeBackBehindTheAudioAndAtOnceOnAnEmptyQueue) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "mk-a");
    co_await wa->send_text("MARK_MEDIA m0");
    EXPECT_TRUE(co_await Harness::until([&] { return wa->has_text("MEDIA_MARK_PROCESSED m0"); }));
    co_await wa->send_text("MARK_MEDIA");
    EXPECT_TRUE(co_await Harness::until([&] { return wa->has_text("MEDIA_MARK_PROCESSED"); }));
    const std::string audio = tone_bytes(1000);
    const auto sent = std::chrono::steady_clock::now();
    for (int i = 0; i < 5; ++i) co_await wa->send_binary(audio.substr(i * 6400, 6400));
    co_await wa->send_text("STOP_MEDIA_BUFFERING b1");
    co_await wa->send_text("MARK_MEDIA m1");
    EXPECT_TRUE(
        co_await Harness::until([&] { return wa->has_text("MEDIA_MARK_PROCESSED m1"); }, 5000));
    const auto back = std::chrono::steady_clock::now();
    const auto [played, dropped] = co_await played_dropped(h, "mk-a");
    EXPECT_EQ(played, 50);  // not one frame was left when the mark came back
    EXPECT_EQ(dropped, 0);
    EXPECT_GE(back - sent, std::chrono::milliseconds(900));
    // In the order sent, both behind the audio.
    EXPECT_LT(wa->index_of_text("MEDIA_BUFFERING_COMPLETED b1"),
              wa->index_of_text("MEDIA_MARK_PROCESSED m1"));
  });
}

TEST(WsMedia, FlushEmptiesTheQueueAtOnceAndPendingMarksNeverComeBack) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "fl-a");
    auto [b, wb] = co_await media_channel(h, ev, "fl-b");
    co_await bridge(h, "fl-br", "fl-a,fl-b");
    const std::string audio = tone_bytes(10000);
    for (int i = 0; i < 50; ++i) co_await wa->send_binary(audio.substr(i * 6400, 6400));
    co_await wa->send_text("MARK_MEDIA m2");
    EXPECT_TRUE(co_await Harness::until([&] { return wb->count_binary() >= 20; }));
    co_await wa->send_text("FLUSH_MEDIA");
    co_await wa->send_text("GET_STATUS");
    EXPECT_TRUE(co_await Harness::until(
        [&] { return wa->has_text(status_text("fl-a", 0, false, false, false)); }));
    const size_t at_flush = wb->count_binary();
    co_await sleep_for(std::chrono::milliseconds(500));  // 2 s of simulated time
    EXPECT_LE(wb->count_binary(), at_flush + 1);
    EXPECT_FALSE(wa->has_text("MEDIA_MARK_PROCESSED m2"));
  });
}

TEST(WsMedia, QueueDrainedIsReportedOnceWhenTheQueueRunsDry) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "qd-a");
    co_await wa->send_text("REPORT_QUEUE_DRAINED");
    EXPECT_TRUE(co_await Harness::until([&] { return wa->has_text("QUEUE_DRAINED"); }));
    const std::string audio = tone_bytes(1000);
    for (int i = 0; i < 5; ++i) co_await wa->send_binary(audio.substr(i * 6400, 6400));
    co_await wa->send_text("REPORT_QUEUE_DRAINED");
    auto drained = [&] {
      size_t n = 0;
      for (const auto& t : wa->texts()) n += t == "QUEUE_DRAINED";
      return n;
    };
    EXPECT_TRUE(co_await Harness::until([&] { return drained() == 2; }));
    const auto [played, dropped] = co_await played_dropped(h, "qd-a");
    EXPECT_EQ(played, 50);
    co_await wa->send_binary(audio.substr(0, 6400));
    co_await sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(drained(), 2u);  // one-shot: not re-armed
  });
}

TEST(WsMedia, PauseKeepsTheQueueAndContinueResumesIt) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "pz-a");
    auto [b, wb] = co_await media_channel(h, ev, "pz-b");
    co_await bridge(h, "pz-br", "pz-a,pz-b");
    const std::string audio = tone_bytes(2000);
    for (int i = 0; i < 10; ++i) co_await wa->send_binary(audio.substr(i * 6400, 6400));
    EXPECT_TRUE(co_await Harness::until([&] { return wb->count_binary() >= 10; }));
    co_await wa->send_text("PAUSE_MEDIA");
    co_await wa->send_text("GET_STATUS");
    EXPECT_TRUE(co_await Harness::until([&] {
      for (const auto& t : wa->texts())
        if (t.find("media_paused:true") != std::string::npos) return true;
      return false;
    }));
    const size_t paused_at = wb->count_binary();
    co_await sleep_for(std::chrono::milliseconds(200));
    EXPECT_LE(wb->count_binary(), paused_at + 1);
    co_await wa->send_text("CONTINUE_MEDIA");
    EXPECT_TRUE(co_await Harness::until([&] { return wb->count_binary() >= 100; }));
    std::string got;
    for (const auto& m : wb->messages) {
      if (!m.text) got += m.data;
    }
    EXPECT_TRUE(got == audio);
  });
}

TEST(WsMedia, ControlMessageErrorsAndSilencesAsAsterisk) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [p, wp] = co_await media_channel(h, ev, "er-p");
    co_await wp->send_text("SET_MEDIA_DIRECTION out");
    co_await wp->send_text("NO_SUCH_COMMAND");
    co_await wp->send_text("MARK_MEDIA " + std::string(200, 'x'));
    co_await wp->send_text("GET_STATUS");
    EXPECT_TRUE(co_await Harness::until([&] { return wp->texts().size() >= 3; }));
    co_await sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(
        wp->texts(),
        (std::vector<std::string>{
            wp->texts().at(0),
            "ERROR channel_id:er-p error_text:SET_MEDIA_DIRECTION only supports JSON format.\n",
            status_text("er-p", 0, false, false, false)}));

    auto [j, wj] = co_await media_channel(h, ev, "er-j", "&transport_data=f(json)");
    const std::string err = R"({"event":"ERROR","channel_id":"er-j","error_text":)";
    // Marks come back at the next tick; errors and STATUS at once.
    co_await wj->send_text(R"({"command":"MARK_MEDIA","correlation_id":"x0"})");
    EXPECT_TRUE(co_await Harness::until([&] { return wj->texts().size() >= 2; }));
    co_await wj->send_text(R"({"command":"MARK_MEDIA"})");
    EXPECT_TRUE(co_await Harness::until([&] { return wj->texts().size() >= 3; }));
    co_await wj->send_text("GET_STATUS");
    co_await wj->send_text(R"({"command":)");
    co_await wj->send_text(R"({"command":"NO_SUCH_COMMAND"})");
    co_await wj->send_text(R"({"cmd":"GET_STATUS"})");
    co_await wj->send_text(R"({"command":"SET_MEDIA_DIRECTION","direction":"sideways"})");
    co_await wj->send_text(R"({"command":"SET_MEDIA_DIRECTION"})");
    co_await wj->send_text(R"({"command":"GET_STATUS"})");
    EXPECT_TRUE(co_await Harness::until([&] { return wj->texts().size() >= 8; }));
    co_await sleep_for(std::chrono::milliseconds(100));
    const auto t = wj->texts();
    CO_ASSERT_EQ(t.size(), 8u);
    EXPECT_EQ(t[1],
              R"({"event":"MEDIA_MARK_PROCESSED","channel_id":"er-j","correlation_id":"x0"})");
    EXPECT_EQ(t[2], R"({"event":"MEDIA_MARK_PROCESSED","channel_id":"er-j","correlation_id":""})");
    EXPECT_EQ(t[3], err + R"("Unable to parse JSON command"})");
    EXPECT_EQ(t[4], err + R"("Unable to parse JSON command"})");
    EXPECT_EQ(t[5], err + R"("'sideways' is not a valid direction for SET_MEDIA_DIRECTION.\n"})");
    EXPECT_EQ(t[6], err + R"("SET_MEDIA_DIRECTION requires a 'direction' parameter.\n"})");
    EXPECT_EQ(t[7],
              R"({"event":"STATUS","channel_id":"er-j","queue_length":0,"xon_level":800,)"
              R"("xoff_level":900,"queue_full":false,"bulk_media":false,"media_paused":false})");
  });
}

TEST(WsMedia, MediaDirectionInDropsTheAppsAudioAndRefusesMarks) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "dir-a", "&transport_data=f(json)&direction=in");
    auto [b, wb] = co_await media_channel(h, ev, "dir-b");
    co_await bridge(h, "dir-br", "dir-a,dir-b");
    co_await wa->send_text(R"({"command":"MARK_MEDIA","correlation_id":"x3"})");
    EXPECT_TRUE(co_await Harness::until([&] {
      return wa->has_text(R"({"event":"ERROR","channel_id":"dir-a","error_text":"MARK_MEDIA not )"
                          R"(supported while media direction is 'in'"})");
    }));
    co_await wa->send_binary(tone_bytes(200));
    co_await sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(wb->count_binary(), 0u);
    co_await wa->send_text(R"({"command":"SET_MEDIA_DIRECTION","direction":"both"})");
    co_await wa->send_binary(tone_bytes(200));
    EXPECT_TRUE(co_await Harness::until([&] { return wb->count_binary() >= 10; }));
    // out: the app stops receiving (what it sends still plays).
    co_await wa->send_text(R"({"command":"SET_MEDIA_DIRECTION","direction":"out"})");
    co_await wb->send_binary(tone_bytes(200));
    co_await sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(wa->count_binary(), 0u);
  });
}

// ---- bridges, far ends, DTMF ----

TEST(WsMedia, DtmfFromTheBridgedFarEndArrivesAsDtmfEnd) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "dt-a");
    co_await h.ari("POST",
                   "/channels?endpoint=Local/100@test-answer&app=openclaw-voice&channelId=dt-l");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "dt-l"));
    co_await bridge(h, "dt-br", "dt-a,dt-l");
    co_await h.control("POST", "/channels/dt-l/dtmf", R"({"digits":"12","betweenMs":100})");
    EXPECT_TRUE(
        co_await Harness::until([&] { return wa->has_text("DTMF_END digit:2 channel_id:dt-a"); }));
    EXPECT_LT(wa->index_of_text("DTMF_END digit:1 channel_id:dt-a"),
              wa->index_of_text("DTMF_END digit:2 channel_id:dt-a"));
    EXPECT_EQ(wa->count_binary(), 0u);  // a silent Local leg sends nothing
  });
}

TEST(WsMedia, FarEndHangingUpLeavesTheMediaChannelUpBridgedAndSilent) {
  Harness h(1.0);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "fe-a");
    const std::string caller = co_await answered_caller(h, ev);
    co_await bridge(h, "fe-br", "fe-a," + caller);
    EXPECT_TRUE(
        co_await Harness::until([&] { return wa->count_binary() >= 5; }));  // the phone's silence
    co_await h.control("POST", "/channels/" + caller + "/hangup", R"({"cause":16})");
    // An inbound channel goes back to the dialplan: StasisEnd, no ChannelDestroyed.
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisEnd", caller));
    co_await sleep_for(std::chrono::milliseconds(100));
    const size_t after = wa->count_binary();
    co_await sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(wa->count_binary(), after);
    auto r = co_await h.ari("GET", "/bridges/fe-br");
    EXPECT_NE(r.body.find(R"("channels":["fe-a"])"), std::string::npos) << r.body;
    r = co_await h.ari("GET", "/channels/fe-a");
    EXPECT_NE(r.body.find("\"Up\""), std::string::npos);
    EXPECT_FALSE(wa->closed);
    co_await wa->send_text("GET_STATUS");
    EXPECT_TRUE(co_await Harness::until(
        [&] { return wa->has_text(status_text("fe-a", 0, false, false, false)); }));
  });
}

TEST(WsMedia, BridgedWithAPhoneSilenceArrivesContinuouslyAloneNothing) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "ph-a");
    co_await sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(wa->count_binary(), 0u);
    const std::string caller = co_await answered_caller(h, ev);
    co_await bridge(h, "ph-br", "ph-a," + caller);
    EXPECT_TRUE(co_await Harness::until([&] { return wa->count_binary() >= 50; }));
    for (const auto& m : wa->messages)
      if (!m.text) {
        EXPECT_EQ(m.data, std::string(640, '\0'));
      }
  });
}

TEST(WsMedia, EchoThroughABridgeReturnsTheSameSamples) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "ec-a");
    co_await h.ari("POST",
                   "/channels?endpoint=Local/105@test-answer&app=openclaw-voice&channelId=ec-l");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "ec-l"));
    EXPECT_EQ((co_await h.control("POST", "/channels/ec-l/echo", R"({"enabled":true})")).status,
              204);
    co_await bridge(h, "ec-br", "ec-a,ec-l");
    const std::string audio = tone_bytes(1000);
    for (int i = 0; i < 5; ++i) co_await wa->send_binary(audio.substr(i * 6400, 6400));
    EXPECT_TRUE(co_await Harness::until([&] { return wa->count_binary() >= 50; }));
    std::string got;
    for (const auto& m : wa->messages)
      if (!m.text) got += m.data;
    EXPECT_TRUE(got == audio);
  });
}

TEST(WsMedia, BridgeMembersHearTheSaturatedSumOfTheOthers) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "mx-a");
    auto [c, wc] = co_await media_channel(h, ev, "mx-c");
    const std::string caller = co_await answered_caller(h, ev);
    co_await bridge(h, "mx-br", "mx-a,mx-c," + caller);
    co_await h.control("DELETE", "/channels/" + caller + "/heard");
    co_await wa->send_binary(level_bytes(200, 20000));
    co_await wc->send_binary(level_bytes(200, 20000));
    EXPECT_TRUE(co_await Harness::until([&] {
      size_t n = 0;
      for (const auto& m : wa->messages) n += !m.text && first_sample(m.data) == 20000;
      return n >= 10;
    }));
    // Each ws channel hears the other (20000) plus the phone's silence, never itself.
    for (const auto& m : wa->messages)
      if (!m.text) {
        EXPECT_TRUE(first_sample(m.data) == 0 || first_sample(m.data) == 20000);
      }
    co_await sleep_for(std::chrono::milliseconds(100));
    auto r = co_await h.control("GET", "/channels/" + caller + "/heard.wav");
    const std::string data = wav_data(r.body);
    size_t saturated = 0;
    for (size_t i = 0; i + 1 < data.size(); i += 2) {
      int16_t v;
      std::memcpy(&v, data.data() + i, 2);
      saturated += v == 32767;
    }
    EXPECT_GE(saturated, 320u * 8);  // the phone hears 20000 + 20000, clipped
  });
}

// ---- the far end speaks and listens ----

TEST(WsMedia, CallerSpeechFromAWavReachesTheBridgedMediaChannel) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "sy-a");
    const std::string caller = co_await answered_caller(h, ev);
    co_await bridge(h, "sy-br", "sy-a," + caller);
    // 1 s of 1 kHz at 8 kHz, 16-bit stereo: converted to the channel's 16 kHz mono.
    std::vector<int16_t> stereo;
    for (int i = 0; i < 8000; ++i) {
      const auto v =
          static_cast<int16_t>(std::lround(8000 * std::sin(2 * M_PI * 1000 * i / 8000.0)));
      stereo.push_back(v);
      stereo.push_back(v);
    }
    std::string wav = sim::wav_bytes(stereo.data(), stereo.size(), 8000);
    wav[22] = 2;  // channels
    const uint32_t byte_rate = 8000 * 4;
    std::memcpy(&wav[28], &byte_rate, 4);
    wav[32] = 4;  // block align
    auto r = co_await h.control("POST", "/channels/" + caller + "/say",
                                R"({"wav":")" + base64_encode(wav) + R"("})");
    EXPECT_EQ(r.status, 200) << r.body;
    auto d = simtest::parse_body(r);
    EXPECT_EQ(json::get_int(d, "durationMs"), 1000);
    auto loud = [&] {
      size_t n = 0;
      for (const auto& m : wa->messages) n += !m.text && bytes_rms(m.data) > 3000;
      return n;
    };
    EXPECT_TRUE(co_await Harness::until([&] { return loud() >= 50; }));
    co_await sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(loud(), 50u);
    r = co_await h.control("POST", "/channels/" + caller + "/say", R"({"text":"hello"})");
    EXPECT_EQ(r.status, 501);  // no TTS engine in this simulator
    r = co_await h.control("POST", "/channels/sy-a/say",
                           R"({"wav":")" + base64_encode(wav) + R"("})");
    EXPECT_EQ(r.status, 400);
    r = co_await h.control("POST", "/channels/" + caller + "/say", R"({"wav":"not base64!"})");
    EXPECT_EQ(r.status, 400);
  });
}

TEST(WsMedia, WhatTheMediaChannelSendsIsInTheCallersHeardWav) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "hw-a");
    const std::string caller = co_await answered_caller(h, ev);
    co_await bridge(h, "hw-br", "hw-a," + caller);
    auto clock = co_await sim_json(h, "/clock");
    const int64_t before = json::get_int(clock, "nowMs");
    const std::string audio = tone_bytes(1000, 440);
    co_await wa->send_text("START_MEDIA_BUFFERING");
    for (int i = 0; i < 5; ++i) co_await wa->send_binary(audio.substr(i * 6400, 6400));
    co_await wa->send_text("STOP_MEDIA_BUFFERING");
    co_await wa->send_text("MARK_MEDIA end");
    EXPECT_TRUE(co_await Harness::until([&] { return wa->has_text("MEDIA_MARK_PROCESSED end"); }));
    auto r = co_await h.control("GET", "/channels/" + caller + "/heard.wav");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.content_type, "audio/wav");
    const std::string data = wav_data(r.body);
    EXPECT_NE(data.find(audio), std::string::npos) << "the caller hears the app's samples";
    auto heard = co_await sim_json(h, "/channels/" + caller + "/heard");
    const json::Value* sound = json::find(heard, "sound");
    CO_ASSERT_TRUE(sound && sound->IsArray() && sound->Size() == 1);
    const int64_t s0 = json::get_int((*sound)[0], "startMs");
    const int64_t s1 = json::get_int((*sound)[0], "endMs");
    EXPECT_EQ(s1 - s0, 1000);
    EXPECT_GE(s0, before);
    EXPECT_LE(json::get_int(heard, "startMs"), s0);
    // The header says when the first sample was heard (simulator clock).
    bool header = false;
    for (const auto& hd : r.headers)
      if (iequals(hd.name, "X-Sim-Heard-Start-Ms")) {
        header = true;
        EXPECT_EQ(std::stoll(hd.value), json::get_int(heard, "startMs"));
      }
    EXPECT_TRUE(header);
    EXPECT_EQ((co_await h.control("DELETE", "/channels/" + caller + "/heard")).status, 204);
    heard = co_await sim_json(h, "/channels/" + caller + "/heard");
    EXPECT_EQ(json::find(heard, "sound")->Size(), 0u);
  });
}

TEST(WsMedia, PlaybackToABridgedCallerIsHeardInsteadOfTheBridge) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "pb-a");
    const std::string caller = co_await answered_caller(h, ev);
    co_await bridge(h, "pb-br", "pb-a," + caller);
    co_await h.control("DELETE", "/channels/" + caller + "/heard");
    co_await h.ari("POST", "/channels/" + caller + "/play?media=sound:hello-world&playbackId=pb-1");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "PlaybackFinished", "pb-1"));
    auto heard = co_await sim_json(h, "/channels/" + caller + "/heard");
    const json::Value* sound = json::find(heard, "sound");
    CO_ASSERT_TRUE(sound && sound->IsArray() && sound->Size() == 1);
    const int64_t len = json::get_int((*sound)[0], "endMs") - json::get_int((*sound)[0], "startMs");
    EXPECT_GE(len, 1300);  // hello-world is 1.4 s
    EXPECT_LE(len, 1500);
  });
}

namespace {

/// A TTS engine for tests: `ms_per_char` of a 500 Hz tone per character, in two pieces.
class ToneTts final : public speech::TtsEngine {
 public:
  explicit ToneTts(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  std::string_view name() const override { return "tone"; }
  std::string default_voice() const override { return "tone"; }
  std::vector<std::string> voices() const override { return {"tone"}; }
  std::shared_ptr<speech::TtsJob> synthesize(speech::TtsRequest req,
                                             speech::TtsCallbacks cb) override {
    struct Job : speech::TtsJob {
      void cancel() override {}
    };
    const size_t n = req.text.size() * 16 * 10;
    asio::post(ex_, [cb = std::move(cb), n] {
      cb.on_start({"tone", 16000});
      std::vector<int16_t> pcm(n);
      for (size_t i = 0; i < n; ++i) pcm[i] = sim::tone_sample(500, 8000, static_cast<int64_t>(i));
      cb.on_audio(
          std::vector<int16_t>(pcm.begin(), pcm.begin() + static_cast<std::ptrdiff_t>(n / 2)));
      cb.on_audio(
          std::vector<int16_t>(pcm.begin() + static_cast<std::ptrdiff_t>(n / 2), pcm.end()));
      cb.on_done(ok_status());
    });
    return std::make_shared<Job>();
  }

 private:
  asio::any_io_executor ex_;
};

}  // namespace

TEST(WsMedia, SayTextIsSynthesisedWithTheSimulatorsTtsAndHeardByTheApp) {
  Harness h(0.25);
  h.sim->engine().set_tts(std::make_shared<ToneTts>(h.io.get_executor()));
  ASSERT_TRUE(h.sim->engine().options().tts);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    auto [a, wa] = co_await media_channel(h, ev, "tt-a");
    const std::string caller = co_await answered_caller(h, ev);
    co_await bridge(h, "tt-br", "tt-a," + caller);
    const std::string text = "fifty-two characters of text spoken by the caller...";
    auto r =
        co_await h.control("POST", "/channels/" + caller + "/say", R"({"text":")" + text + R"("})");
    EXPECT_EQ(r.status, 200) << r.body;
    auto d = simtest::parse_body(r);
    EXPECT_EQ(json::get_int(d, "durationMs"), static_cast<int64_t>(text.size()) * 10);
    EXPECT_EQ(json::get_string(d, "voice"), "tone");
    auto loud = [&] {
      size_t n = 0;
      for (const auto& m : wa->messages) n += !m.text && bytes_rms(m.data) > 3000;
      return n;
    };
    EXPECT_TRUE(co_await Harness::until([&] { return loud() >= 26; }));
    // The far end stops talking when told to.
    r = co_await h.control("POST", "/channels/" + caller + "/say",
                           R"({"text":")" + std::string(400, 'a') + R"("})");
    EXPECT_EQ(json::get_int(simtest::parse_body(r), "durationMs"), 4000);
    EXPECT_EQ((co_await h.control("DELETE", "/channels/" + caller + "/say")).status, 204);
    co_await sleep_for(std::chrono::milliseconds(100));
    const size_t stopped = loud();
    co_await sleep_for(std::chrono::milliseconds(300));
    EXPECT_EQ(loud(), stopped);
    EXPECT_LT(stopped, 26u + 150u);
  });
}

TEST(WsMedia, TheLibraryClientConnectsWithSubprotocolMediaAndTellsTextFromBinary) {
  Harness h(0.25);
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    Em em = co_await create_em(h, "lib-a");
    const std::string caller = co_await answered_caller(h, ev);
    auto url = parse_url(h.base);
    net::WsClientOptions o;
    o.headers.push_back({"Sec-WebSocket-Protocol", "media"});
    const std::string target = "/media/" + em.connection;
    auto c = co_await net::ws_connect(*url, target, o);
    CO_ASSERT_TRUE(c.connection);
    std::vector<std::string> texts;
    size_t frames = 0;
    c.connection->on_message = [&](std::string_view t) { texts.emplace_back(t); };
    c.connection->on_binary = [&](std::string_view b) { frames += b.size() == 640; };
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisStart", "lib-a"));
    co_await bridge(h, "lib-br", "lib-a," + caller);
    EXPECT_TRUE(co_await Harness::until([&] { return frames >= 20; }));
    CO_ASSERT_EQ(texts.size(), 1u);
    EXPECT_EQ(texts[0].rfind("MEDIA_START connection_id:" + em.connection, 0), 0u);
    c.connection->send("GET_STATUS");
    EXPECT_TRUE(co_await Harness::until([&] { return texts.size() == 2; }));
    c.connection->close(1000);
    EXPECT_TRUE(co_await Harness::wait_event(ev, "ChannelDestroyed", "lib-a"));
    c.connection->on_message = nullptr;
    c.connection->on_binary = nullptr;
  });
}

// The file comes from the service's media store as Asterisk's media cache
// fetches it, answered after `delay`.
void play_fetched_file_and_check_heard(std::chrono::milliseconds delay) {
  Harness h(1.0);  // real time: under ASan a faster clock falls behind and skips audio
  // The service's media store, as Asterisk's media cache reaches it.
  net::ServerOptions so;
  net::HttpServer files(h.io, so);
  std::vector<int16_t> tone(8000);  // 1 s at 8 kHz, what Asterisk's wav reader plays
  for (size_t i = 0; i < tone.size(); ++i)
    tone[i] = static_cast<int16_t>(std::lround(8000 * std::sin(2 * M_PI * 300 * i / 8000.0)));
  const std::string wav = sim::wav_bytes(tone.data(), tone.size(), 8000);
  files.on_request([wav, delay](net::Request&) -> awaitable<net::Response> {
    if (delay.count() > 0) co_await sleep_for(delay);
    net::Response r;
    r.content_type = "audio/wav";
    r.body = wav;
    co_return r;
  });
  const uint16_t port = files.start();
  h.run([&]() -> awaitable<void> {
    auto ev = co_await h.events();
    const std::string caller = co_await answered_caller(h, ev);
    co_await h.control("DELETE", "/channels/" + caller + "/heard");
    const std::string uri = "sound:http://127.0.0.1:" + std::to_string(port) +
                            "/media/0123456789abcdef0123456789abcdef/greeting.wav";
    co_await h.ari("POST",
                   "/channels/" + caller + "/play?media=" + url_encode(uri) + "&playbackId=pf-1");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "PlaybackFinished", "pf-1"));
    co_await h.control("POST", "/channels/" + caller + "/hangup", R"({"cause":16})");
    EXPECT_TRUE(co_await Harness::wait_event(ev, "StasisEnd", caller));
    auto heard = co_await sim_json(h, "/channels/" + caller + "/heard");  // kept after hangup
    const json::Value* sound = json::find(heard, "sound");
    if (!(sound && sound->IsArray() && sound->Size() == 1)) {
      auto clock = co_await h.control("GET", "/clock");
      ADD_FAILURE() << "heard: " << json::stringify(heard) << "\nclock: " << clock.body;
      co_return;
    }
    const int64_t len = json::get_int((*sound)[0], "endMs") - json::get_int((*sound)[0], "startMs");
    EXPECT_GE(len, 960);
    EXPECT_LE(len, 1040);
    auto r = co_await h.control("GET", "/channels/" + caller + "/heard.wav");
    EXPECT_EQ(r.status, 200);
  });
  files.stop_accepting();
}

TEST(WsMedia, AFetchedFilePlayedToTheCallerIsHeardAsItsAudioAlsoAfterHangup) {
  play_fetched_file_and_check_heard(std::chrono::milliseconds(0));
}

// Asterisk plays the file once its media cache has it: the caller hears
// silence while it is fetched, then the whole file (not silence throughout).
TEST(WsMedia, AFileThatIsSlowToFetchIsHeardWholeOnceItArrives) {
  play_fetched_file_and_check_heard(std::chrono::milliseconds(300));
}
