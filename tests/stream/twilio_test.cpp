// The Twilio Media Streams protocol (stream/twilio.hpp), the μ-law codec we
// take from spandsp, and an AgentStream's bounds, without sockets.
#include "stream/twilio.hpp"

#include <gtest/gtest.h>

#include "audio/g711.hpp"
#include "calls/fake_ari.hpp"
#include "common/json.hpp"
#include "common/util.hpp"
#include "media/media_session.hpp"
#include "stream/agent_stream.hpp"

using namespace aa;
using namespace aa::stream;

namespace {
json::Document doc(const std::string& s) {
  auto d = json::parse(s);
  EXPECT_TRUE(d.has_value()) << s;
  return d ? std::move(*d) : json::Document{};
}
}  // namespace

TEST(Twilio, MessagesCarryTwilioFieldsWithNumbersAsStrings) {
  auto c = doc(twilio::connected());
  EXPECT_EQ(json::get_string(c, "event"), "connected");
  EXPECT_EQ(json::get_string(c, "protocol"), "Call");
  EXPECT_EQ(json::find(c, "sequenceNumber"), nullptr);

  twilio::StartInfo si;
  si.stream_sid = "MZ1";
  si.call_sid = "call-1";
  si.account_sid = "app";
  si.tracks = Tracks::both;
  si.format = Format::slin16;
  si.custom_parameters = {{"a", "1"}, {"b", "two"}};
  auto s = doc(twilio::start(1, si));
  EXPECT_EQ(json::get_string(s, "sequenceNumber"), "1");
  EXPECT_EQ(json::get_string(s, "streamSid"), "MZ1");
  const auto& st = s["start"];
  EXPECT_EQ(json::get_string(st, "callSid"), "call-1");
  EXPECT_EQ(json::get_string(st, "accountSid"), "app");
  EXPECT_EQ(st["tracks"].Size(), 2u);
  EXPECT_EQ(json::get_string(st["customParameters"], "b"), "two");
  EXPECT_EQ(json::get_string(st["mediaFormat"], "encoding"), "audio/l16;rate=16000");
  EXPECT_EQ(json::get_int(st["mediaFormat"], "sampleRate"), 16000);
  EXPECT_EQ(json::get_int(st["mediaFormat"], "channels"), 1);

  auto m = doc(twilio::media(7, "MZ1", "inbound", 3, 40, "AAAA"));
  EXPECT_EQ(json::get_string(m, "sequenceNumber"), "7");
  EXPECT_EQ(json::get_string(m["media"], "chunk"), "3");
  EXPECT_EQ(json::get_string(m["media"], "timestamp"), "40");
  EXPECT_EQ(json::get_string(m["media"], "track"), "inbound");
  EXPECT_EQ(json::get_string(m["media"], "payload"), "AAAA");

  auto d = doc(twilio::dtmf(8, "MZ1", "#"));
  EXPECT_EQ(json::get_string(d["dtmf"], "track"), "inbound_track");
  EXPECT_EQ(json::get_string(d["dtmf"], "digit"), "#");
  auto k = doc(twilio::mark(9, "MZ1", "end of turn"));
  EXPECT_EQ(json::get_string(k["mark"], "name"), "end of turn");
  auto p = doc(twilio::stop(10, "MZ1", "call-1", "app"));
  EXPECT_EQ(json::get_string(p["stop"], "callSid"), "call-1");
  EXPECT_EQ(json::get_string(p["stop"], "accountSid"), "app");
}

TEST(Twilio, AgentMessagesParseAndBadOnesAreRefusedWith1007Or1008) {
  auto ok = [](const std::string& text, Format f = Format::mulaw8k) {
    auto [m, r] = twilio::parse(text, "MZ1", f);
    EXPECT_TRUE(m.has_value()) << text << ": " << r.reason;
    return m ? *m : twilio::Inbound{};
  };
  auto media = ok(R"({"event":"media","streamSid":"MZ1","media":{"payload":"AQID"}})");
  EXPECT_EQ(media.kind, twilio::Inbound::Kind::media);
  EXPECT_EQ(media.audio, std::string("\x01\x02\x03"));
  // Many agents leave streamSid out.
  EXPECT_EQ(ok(R"({"event":"media","media":{"payload":""}})").kind, twilio::Inbound::Kind::media);
  auto mark = ok(R"({"event":"mark","streamSid":"MZ1","mark":{"name":"m-1"}})");
  EXPECT_EQ(mark.name, "m-1");
  EXPECT_EQ(ok(R"({"event":"clear","streamSid":"MZ1"})").kind, twilio::Inbound::Kind::clear);
  EXPECT_EQ(ok(R"({"event":"hangup"})").kind, twilio::Inbound::Kind::hangup);
  EXPECT_EQ(ok(R"({"event":"connected","protocol":"Call"})").kind, twilio::Inbound::Kind::ignored);

  struct Bad {
    std::string text;
    uint16_t code;
    Format format = Format::mulaw8k;
  };
  const std::vector<Bad> bad = {
      {"nope", 1007},
      {"[1,2]", 1007},
      {"{\"event\":\"mark\",\"mark\":{\"name\":\"\xff\"}}", 1007},
      {R"({"event":"media","media":{"payload":"A"}})", 1007},
      {R"({"event":"media","media":{"payload":"AA=A"}})", 1007},
      {R"({"event":"media","media":{"payload":"AQ=="}})", 1007, Format::slin16},
      {R"({"media":{"payload":"AAAA"}})", 1008},
      {R"({"event":42})", 1008},
      {R"({"event":"media"})", 1008},
      {R"({"event":"media","media":{"payload":7}})", 1008},
      {R"({"event":"mark","mark":{}})", 1008},
      {R"({"event":"mark","mark":{"name":")" + std::string(300, 'x') + R"("}})", 1008},
      {R"({"event":"clear","streamSid":"MZ2"})", 1008},
      {R"({"event":"clear","streamSid":7})", 1008},
      {R"({"event":"teleport"})", 1008},
  };
  for (const auto& b : bad) {
    auto [m, r] = twilio::parse(b.text, "MZ1", b.format);
    EXPECT_FALSE(m.has_value()) << b.text;
    EXPECT_EQ(r.close_code, b.code) << b.text << ": " << r.reason;
    EXPECT_FALSE(r.reason.empty());
  }
}

TEST(G711, MulawIsSpandspsG711) {
  // The codec's fixed points (ITU-T G.711): 0 encodes as 0xFF, full scale as 0x80/0x00.
  std::string enc;
  const std::vector<int16_t> pcm = {0, 32767, -32768};
  audio::ulaw_encode(pcm, enc);
  EXPECT_EQ(static_cast<uint8_t>(enc[0]), 0xFF);
  EXPECT_EQ(static_cast<uint8_t>(enc[1]), 0x80);
  EXPECT_EQ(static_cast<uint8_t>(enc[2]), 0x00);
  // Every code decodes and re-encodes to itself (but the second zero, 0x7F).
  std::string all;
  for (int i = 0; i < 256; ++i) all += static_cast<char>(i);
  std::vector<int16_t> lin;
  audio::ulaw_decode(all, lin);
  ASSERT_EQ(lin.size(), 256u);
  std::string back;
  audio::ulaw_encode(lin, back);
  for (int i = 0; i < 256; ++i) {
    if (i != 0x7F) {
      EXPECT_EQ(static_cast<uint8_t>(back[i]), i) << i;
    }
  }
  // Quantisation error stays within G.711's step for loud samples (< 3 %).
  for (int v = 1000; v < 32000; v += 777) {
    std::string e;
    const int16_t s = static_cast<int16_t>(v);
    audio::ulaw_encode(std::span<const int16_t>(&s, 1), e);
    std::vector<int16_t> d;
    audio::ulaw_decode(e, d);
    EXPECT_NEAR(d[0], v, v * 0.03) << v;
  }
}

TEST(Base64, DecodingIsStrict) {
  std::string out;
  EXPECT_TRUE(base64_decode("", out));
  EXPECT_TRUE(out.empty());
  EXPECT_TRUE(base64_decode("aGVsbG8=", out));
  EXPECT_EQ(out, "hello");
  EXPECT_TRUE(base64_decode("aGk=", out));
  EXPECT_EQ(out, "hi");
  EXPECT_TRUE(base64_decode(base64_encode(std::string("\x00\xff\x10", 3)), out));
  EXPECT_EQ(out, std::string("\x00\xff\x10", 3));
  for (const char* bad : {"a", "aGk", "aG=k", "a===", "aGk=\n", " aGk=", "aGk*", "=aGk"})
    EXPECT_FALSE(base64_decode(bad, out)) << bad;
}

namespace {
/// A socket that never writes: everything sent stays queued.
struct StuckSocket : net::WsConnection {
  std::vector<std::string> sent;
  bool open = true;
  uint16_t closed_with = 0;
  bool send(std::string_view t) override {
    if (!open) return false;
    sent.emplace_back(t);
    return true;
  }
  bool send_binary(std::string_view d) override { return send(d); }
  void close(uint16_t code, std::string) override {
    closed_with = code;
    open = false;
  }
  bool is_open() const override { return open; }
  size_t queued() const override { return sent.size(); }
};
}  // namespace

// An agent that stops reading is cut off at max_queued_messages (1008), never
// buffered without bound, and told why in the stream's end.
TEST(AgentStream, AnAgentThatStopsReadingIsCutOffAtTheBound) {
  asio::io_context io;
  test::FakeAri ari;
  media::MediaSessionOptions mo;
  auto session =
      std::make_shared<media::MediaSession>(io.get_executor(), ari, mo, "call-1", "chan-1");
  StreamOptions so;
  so.max_queued_messages = 50;
  std::string ended_reason, ended_error;
  AgentStream::Hooks h;
  h.on_ended = [&](const std::string& r, const std::string& e) {
    ended_reason = r;
    ended_error = e;
  };
  auto ws = std::make_shared<StuckSocket>();
  auto s = std::make_shared<AgentStream>(io.get_executor(), "call-1", "MZ1", StreamRequest{}, so,
                                         std::move(h));
  s->run(ws, session);
  const std::vector<int16_t> frame(320, 1000);
  for (int i = 0; i < 200 && !s->ended(); ++i) s->on_caller_audio(frame);
  EXPECT_TRUE(s->ended());
  EXPECT_EQ(ended_reason, "agent_too_slow");
  EXPECT_NE(ended_error.find("50"), std::string::npos);
  EXPECT_EQ(ws->closed_with, 1008);
  EXPECT_LE(ws->sent.size(), 50u);
  // connected + start + media: every media message holds 20 ms of μ-law.
  EXPECT_EQ(s->counters().frames_out, ws->sent.size() - 2);
  io.poll();
}
