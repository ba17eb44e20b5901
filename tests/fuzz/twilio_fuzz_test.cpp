// Fuzzing what an agent sends on its stream (stream::twilio::parse and an
// AgentStream fed the result): mutated real agent messages. Never a crash or
// an out-of-bounds read (ASan); every message is accepted or refused with
// 1007/1008 and a reason; a refused message ends the stream with that code.
#include <gtest/gtest.h>

#include "calls/fake_ari.hpp"
#include "common/util.hpp"
#include "fuzz/fuzz.hpp"
#include "media/media_session.hpp"
#include "stream/agent_stream.hpp"
#include "stream/twilio.hpp"

namespace aa::fuzz {
namespace {

const std::vector<std::string>& agent_seeds() {
  static const std::vector<std::string> v = {
      R"({"event":"media","streamSid":"MZ1","media":{"payload":"/////w=="}})",
      R"({"event":"media","media":{"payload":"AAECAwQFBgc="}})",
      R"({"event":"mark","streamSid":"MZ1","mark":{"name":"turn-1"}})",
      R"({"event":"clear","streamSid":"MZ1"})",
      R"({"event":"hangup"})",
      R"({"event":"connected","protocol":"Call","version":"1.0.0"})",
      R"({"event":"stop","streamSid":"MZ1"})",
  };
  return v;
}

/// A socket that keeps what it is sent and records the close.
struct Sink : net::WsConnection {
  size_t sent = 0;
  bool open = true;
  uint16_t closed_with = 0;
  bool send(std::string_view) override {
    ++sent;
    return open;
  }
  bool send_binary(std::string_view) override { return open; }
  void close(uint16_t code, std::string) override {
    closed_with = code;
    open = false;
  }
  bool is_open() const override { return open; }
  size_t queued() const override { return 0; }
};

}  // namespace

TEST(Fuzz, AgentStreamMessagesAreAcceptedOrRefusedWith1007Or1008) {
  Rng r(seed(11));
  const size_t n = iterations(3000);
  size_t refused = 0;
  asio::io_context io;
  test::FakeAri ari;
  auto session = std::make_shared<media::MediaSession>(io.get_executor(), ari,
                                                       media::MediaSessionOptions{}, "c", "ch");
  for (size_t i = 0; i < n; ++i) {
    std::string msg = r.pick(agent_seeds());
    msg = r.chance(50) ? mutate_json(r, msg) : r.mutate(msg, r.weird());
    const auto format = r.chance(50) ? stream::Format::mulaw8k : stream::Format::slin16;
    auto [m, refusal] = stream::twilio::parse(msg, "MZ1", format);
    if (!m) {
      ++refused;
      EXPECT_TRUE(refusal.close_code == 1007 || refusal.close_code == 1008) << msg;
      EXPECT_FALSE(refusal.reason.empty()) << msg;
    } else if (m->kind == stream::twilio::Inbound::Kind::media && format == stream::Format::slin16) {
      EXPECT_EQ(m->audio.size() % 2, 0u);
    }
    // The same message through a live stream (its session not up: audio is
    // dropped there, never queued): a refusal closes with the same code.
    auto ws = std::make_shared<Sink>();
    stream::StreamRequest req;
    req.format = format;
    std::string ended;
    stream::AgentStream::Hooks h;
    h.on_ended = [&](const std::string& reason, const std::string&) { ended = reason; };
    auto s = std::make_shared<stream::AgentStream>(io.get_executor(), "c", "MZ1", req,
                                                   stream::StreamOptions{}, std::move(h));
    s->run(ws, session);
    if (ws->on_message) ws->on_message(msg);
    if (!m) {
      EXPECT_EQ(ended, "protocol_error") << msg;
      EXPECT_EQ(ws->closed_with, refusal.close_code) << msg;
    } else {
      EXPECT_FALSE(s->ended()) << msg;
      s->stop("test");
    }
    io.poll();
  }
  std::printf("[ fuzz ] %zu agent messages, %zu refused\n", n, refused);
  EXPECT_GT(refused, n / 10);
  EXPECT_LT(refused, n);
}

}  // namespace aa::fuzz
