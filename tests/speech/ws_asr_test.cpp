// Remote ASR over WebSocket against FakeAsrServer: config on connect, audio
// as binary frames, partials, flush -> one final, buffering while connecting,
// reconnect after a drop, giving up, flush timeout, capacity.
#include "speech/ws_asr.hpp"

#include <gtest/gtest.h>

#include "speech/fakes.hpp"

using namespace aa;
using namespace aa::speech;
using aa::test::FakeAsrServer;
using aa::test::run_until;

namespace {

struct Heard {
  std::vector<Transcript> all;
  std::vector<std::string> partials, finals;
  std::optional<Error> error;
  int done = 0;
};

AsrCallbacks listen(Heard& h) {
  AsrCallbacks cb;
  cb.on_transcript = [&h](const Transcript& t) {
    h.all.push_back(t);
    (t.is_final ? h.finals : h.partials).push_back(t.text);
  };
  cb.on_error = [&h](const Error& e) { h.error = e; };
  return cb;
}

WsAsrOptions options(const std::string& url) {
  WsAsrOptions o;
  o.url = url;
  o.reconnect_delay = std::chrono::milliseconds(20);
  return o;
}

// `seconds` of a ramp, in 20 ms frames.
std::vector<std::vector<int16_t>> frames(double seconds, int16_t seed = 1) {
  std::vector<std::vector<int16_t>> out;
  const size_t n = static_cast<size_t>(seconds * 50);
  for (size_t f = 0; f < n; ++f) {
    std::vector<int16_t> frame(320);
    for (size_t i = 0; i < frame.size(); ++i)
      frame[i] = static_cast<int16_t>(seed * 1000 + static_cast<int>((f * 320 + i) % 997));
    out.push_back(std::move(frame));
  }
  return out;
}

void feed(AsrSession& s, const std::vector<std::vector<int16_t>>& fs) {
  for (const auto& f : fs) s.feed(f);
}

}  // namespace

TEST(WsAsr, ConfiguresSendsAudioGetsCumulativePartialsAndOneFinalOnFinish) {
  asio::io_context io;
  FakeAsrServer server(io, {});
  WsAsr asr(io.get_executor(), options(server.url()));
  Heard h;
  auto s = asr.open({"French", "call-7"}, listen(h));
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(asr.active_sessions(), 1u);
  ASSERT_TRUE(run_until(io, [&] { return server.connections == 1; }));
  feed(**s, frames(1.6));  // 51 200 bytes: partials at 16 000, 32 000, 48 000
  ASSERT_TRUE(run_until(io, [&] { return h.partials.size() == 3; }));
  EXPECT_EQ(h.partials, (std::vector<std::string>{"one", "one two", "one two three"}));
  (*s)->finish([&] { ++h.done; });
  ASSERT_TRUE(run_until(io, [&] { return h.done == 1; }));
  EXPECT_EQ(h.finals, std::vector<std::string>{"one two three"});
  EXPECT_TRUE(h.all.back().is_final);
  EXPECT_EQ(server.paths, std::vector<std::string>{"/ws/transcribe"});
  EXPECT_EQ(server.configs, std::vector<std::string>{"French"});
  EXPECT_EQ(server.texts.front(), R"({"action":"config","language":"French"})");
  EXPECT_EQ(server.flushes, 1);
  EXPECT_EQ(server.bytes_total, 80u * 640u);
  ASSERT_TRUE(run_until(io, [&] { return server.closed == 1; }));  // closed after the final
  EXPECT_EQ(asr.active_sessions(), 0u);
  EXPECT_FALSE(h.error);
}

TEST(WsAsr, AutoLanguageSendsNoConfigAndTheEngineLanguageIsTheDefault) {
  asio::io_context io;
  FakeAsrServer server(io, {});
  WsAsrOptions o = options(server.url());
  o.language = "auto";
  WsAsr asr(io.get_executor(), o);
  Heard h;
  auto s = asr.open({}, listen(h));
  ASSERT_TRUE(run_until(io, [&] { return server.connections == 1; }));
  feed(**s, frames(0.2));
  (*s)->finish([&] { ++h.done; });
  ASSERT_TRUE(run_until(io, [&] { return h.done == 1; }));
  EXPECT_TRUE(server.configs.empty());
  EXPECT_TRUE(h.finals.empty());  // flush answered with empty text: not delivered

  WsAsr english(io.get_executor(), options(server.url()));
  auto e = english.open({}, listen(h));
  ASSERT_TRUE(run_until(io, [&] { return server.configs.size() == 1; }));
  EXPECT_EQ(server.configs[0], "English");
}

TEST(WsAsr, AudioFedWhileConnectingIsSentOnceConnectedInOrder) {
  asio::io_context io;
  FakeAsrServer server(io, {});
  WsAsr asr(io.get_executor(), options(server.url()));
  Heard h;
  auto s = asr.open({}, listen(h));
  auto fs = frames(0.5, 3);
  feed(**s, fs);  // before the io thread ran: the socket is not connected yet
  EXPECT_EQ(server.connections, 0);
  ASSERT_TRUE(run_until(io, [&] { return server.bytes_total == 25u * 640u; }));
  const std::string first(reinterpret_cast<const char*>(fs[0].data()), 640);
  EXPECT_EQ(server.first_audio.at(0), first);
  EXPECT_EQ(server.texts.front(), R"({"action":"config","language":"English"})");  // config first
}

TEST(WsAsr, OnlyTheLastTwoSecondsAreKeptWhileConnecting) {
  asio::io_context io;
  FakeAsrServer server(io, {});
  WsAsr asr(io.get_executor(), options(server.url()));
  Heard h;
  auto s = asr.open({}, listen(h));
  auto old_audio = frames(1.0, 1);
  auto recent = frames(2.0, 2);
  feed(**s, old_audio);
  feed(**s, recent);
  ASSERT_TRUE(run_until(io, [&] { return server.bytes_total == 100u * 640u; }));
  const std::string first(reinterpret_cast<const char*>(recent[0].data()), 640);
  EXPECT_EQ(server.first_audio.at(0), first);  // the oldest second was dropped
}

TEST(WsAsr, ReconnectsAfterTheServerDropsAndKeepsTranscribing) {
  asio::io_context io;
  FakeAsrServer::Options so;
  so.drop_after_bytes = 32000;
  FakeAsrServer server(io, so);
  WsAsr asr(io.get_executor(), options(server.url()));
  Heard h;
  auto s = asr.open({"English", "c"}, listen(h));
  ASSERT_TRUE(run_until(io, [&] { return server.connections == 1; }));
  feed(**s, frames(1.0));  // the server drops after 1 s of audio
  ASSERT_TRUE(run_until(io, [&] { return server.closed == 1; }));
  ASSERT_TRUE(run_until(io, [&] { return server.configs.size() == 2; }));  // configured again
  EXPECT_EQ(server.connections, 2);
  EXPECT_EQ(server.configs, (std::vector<std::string>{"English", "English"}));
  feed(**s, frames(0.6));
  ASSERT_TRUE(run_until(io, [&] { return server.bytes_per_connection.at(1) == 30u * 640u; }));
  (*s)->finish([&] { ++h.done; });
  ASSERT_TRUE(run_until(io, [&] { return h.done == 1; }));
  EXPECT_EQ(h.finals, std::vector<std::string>{"one"});
  EXPECT_FALSE(h.error);
}

TEST(WsAsr, AFinalRepeatedByTheServerIsDeliveredOnce) {
  asio::io_context io;
  FakeAsrServer::Options so;
  so.duplicate_final = true;
  FakeAsrServer server(io, so);
  WsAsr asr(io.get_executor(), options(server.url()));
  Heard h;
  auto s = asr.open({}, listen(h));
  ASSERT_TRUE(run_until(io, [&] { return server.connections == 1; }));
  feed(**s, frames(1.1));
  (*s)->finish([&] { ++h.done; });
  ASSERT_TRUE(run_until(io, [&] { return h.done == 1; }));
  aa::test::drain(io);
  EXPECT_EQ(h.finals, std::vector<std::string>{"one two"});
  EXPECT_EQ(h.done, 1);
}

TEST(WsAsr, FinishAnswersAfterTheFlushTimeoutWhenNoFinalComes) {
  asio::io_context io;
  FakeAsrServer::Options so;
  so.answer_flush = false;
  FakeAsrServer server(io, so);
  WsAsrOptions o = options(server.url());
  o.flush_timeout = std::chrono::milliseconds(200);
  WsAsr asr(io.get_executor(), o);
  Heard h;
  auto s = asr.open({}, listen(h));
  ASSERT_TRUE(run_until(io, [&] { return server.connections == 1; }));
  feed(**s, frames(0.6));
  (*s)->finish([&] { ++h.done; });
  ASSERT_TRUE(run_until(io, [&] { return h.done == 1; }));
  EXPECT_EQ(server.flushes, 1);
  EXPECT_TRUE(h.finals.empty());
  EXPECT_EQ(h.partials, std::vector<std::string>{"one"});
  ASSERT_TRUE(run_until(io, [&] { return server.closed == 1; }));
}

TEST(WsAsr, GivesUpAfterTheConfiguredAttemptsWithAsrUnavailable) {
  asio::io_context io;
  uint16_t port;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }
  WsAsrOptions o = options("ws://127.0.0.1:" + std::to_string(port) + "/ws");
  o.max_reconnects = 3;
  WsAsr asr(io.get_executor(), o);
  Heard h;
  auto s = asr.open({}, listen(h));
  ASSERT_TRUE(s.ok());
  ASSERT_TRUE(run_until(io, [&] { return h.error.has_value(); }));
  EXPECT_EQ(h.error->code, ErrorCode::asr_unavailable);
  EXPECT_NE(h.error->internal_detail.find("3 attempts"), std::string::npos);
  EXPECT_EQ(asr.active_sessions(), 0u);
  bool done = false;
  (*s)->finish([&] { done = true; });  // still answers
  ASSERT_TRUE(run_until(io, [&] { return done; }));
}

TEST(WsAsr, ARefusedUpgradeIsRetriedLikeADrop) {
  asio::io_context io;
  FakeAsrServer::Options so;
  so.refuse_all = true;
  FakeAsrServer server(io, so);
  WsAsrOptions o = options(server.url());
  o.max_reconnects = 2;
  WsAsr asr(io.get_executor(), o);
  Heard h;
  auto s = asr.open({}, listen(h));
  ASSERT_TRUE(run_until(io, [&] { return h.error.has_value(); }));
  EXPECT_EQ(h.error->code, ErrorCode::asr_unavailable);
}

TEST(WsAsr, CancelClosesTheSocketAndStopsCallbacks) {
  asio::io_context io;
  FakeAsrServer server(io, {});
  WsAsr asr(io.get_executor(), options(server.url()));
  Heard h;
  auto s = asr.open({}, listen(h));
  ASSERT_TRUE(run_until(io, [&] { return server.connections == 1; }));
  feed(**s, frames(1.2));  // partials are on their way
  (*s)->cancel();
  ASSERT_TRUE(run_until(io, [&] { return server.closed == 1; }));
  aa::test::drain(io);
  EXPECT_TRUE(h.all.empty());
  EXPECT_EQ(asr.active_sessions(), 0u);
}

TEST(WsAsr, SessionsBeyondTheCapAreRefused) {
  asio::io_context io;
  FakeAsrServer server(io, {});
  WsAsrOptions o = options(server.url());
  o.max_sessions = 1;
  WsAsr asr(io.get_executor(), o);
  Heard h;
  auto a = asr.open({}, listen(h));
  ASSERT_TRUE(a.ok());
  auto b = asr.open({}, listen(h));
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.error().code, ErrorCode::asr_unavailable);
  a->reset();
  EXPECT_TRUE(asr.open({}, listen(h)).ok());
}
