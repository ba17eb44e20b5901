// Remote TTS (`POST {TTS_URL}/v1/audio/speech`) against FakeTtsServer: the
// request body, streaming while the body arrives, WAV conversion to 16 kHz
// mono, 500 -> tts_failed, no answer -> tts_timeout, cancel, bad WAV.
#include "speech/http_tts.hpp"

#include <gtest/gtest.h>

#include "common/worker_pool.hpp"
#include "http/errors.hpp"
#include "speech/fakes.hpp"

using namespace aa;
using namespace aa::speech;
using aa::test::FakeTtsServer;
using aa::test::run_until;
using clk = std::chrono::steady_clock;

namespace {

struct Result {
  std::vector<std::string> order;
  TtsStart start;
  std::vector<int16_t> pcm;
  size_t pieces = 0;
  std::optional<Status> done;
  clk::time_point t0 = clk::now();
  double first_audio_ms = -1, done_ms = -1;
};

TtsCallbacks collect(Result& r) {
  TtsCallbacks cb;
  cb.on_start = [&r](const TtsStart& s) {
    r.order.push_back("start");
    r.start = s;
  };
  cb.on_audio = [&r](std::vector<int16_t> pcm) {
    if (r.first_audio_ms < 0)
      r.first_audio_ms = std::chrono::duration<double, std::milli>(clk::now() - r.t0).count();
    if (r.order.empty() || r.order.back() != "audio") r.order.push_back("audio");
    ++r.pieces;
    r.pcm.insert(r.pcm.end(), pcm.begin(), pcm.end());
  };
  cb.on_done = [&r](Status s) {
    r.done_ms = std::chrono::duration<double, std::milli>(clk::now() - r.t0).count();
    r.order.push_back("done");
    r.done = std::move(s);
  };
  return cb;
}

TtsRequest request(std::string text, std::string voice = {}, uint32_t rate = 16000) {
  TtsRequest r;
  r.text = std::move(text);
  r.voice = std::move(voice);
  r.rate_hz = rate;
  return r;
}

HttpTtsOptions options(const std::string& url,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
  HttpTtsOptions o;
  o.url = url;
  o.timeout = timeout;
  return o;
}

void expect_samples(const Result& r, double seconds, uint32_t rate) {
  const double expected = seconds * rate;
  EXPECT_NEAR(static_cast<double>(r.pcm.size()), expected, expected * 0.01);
}

}  // namespace

TEST(HttpTts, PostsTheOriginalsRequestAndConverts24kHzWavTo16kHz) {
  aa::test::SpeechRig rig(2);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FakeTtsServer server(io, {});
  HttpTts tts(io.get_executor(), pool, options(server.url() + "/"));
  Result r;
  auto req = request("Hello from the test.", "serena");
  req.language = "German";
  req.speed = 1.25;
  auto job = tts.synthesize(req, collect(r));
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  ASSERT_TRUE(r.done->ok()) << r.done->error().internal_detail;
  EXPECT_EQ(r.order, (std::vector<std::string>{"start", "audio", "done"}));
  EXPECT_EQ(r.start.voice, "serena");
  EXPECT_EQ(r.start.rate_hz, 16000u);
  expect_samples(r, 1.0, 16000);
  ASSERT_EQ(server.requests, 1);
  EXPECT_EQ(server.targets[0], "/v1/audio/speech");
  EXPECT_EQ(server.content_types[0], "application/json");
  auto body = json::parse(server.bodies[0]);
  ASSERT_TRUE(body);
  EXPECT_EQ(json::get_string(*body, "input"), "Hello from the test.");
  EXPECT_EQ(json::get_string(*body, "voice"), "serena");
  EXPECT_EQ(json::get_string(*body, "response_format"), "wav");
  EXPECT_DOUBLE_EQ(json::get_double(*body, "speed"), 1.25);
  EXPECT_EQ(json::get_string(*body, "language"), "German");
}

TEST(HttpTts, DefaultsFillTheVoiceAndLanguageAndAnyVoiceNameIsAccepted) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FakeTtsServer server(io, {});
  HttpTtsOptions o = options(server.url());
  o.default_voice = "vivian";
  o.default_language = "English";
  HttpTts tts(io.get_executor(), pool, o);
  EXPECT_EQ(tts.default_voice(), "vivian");
  EXPECT_TRUE(tts.voices().empty());
  Result r;
  auto job = tts.synthesize(request("Hi."), collect(r));
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  EXPECT_EQ(r.start.voice, "vivian");
  auto body = json::parse(server.bodies.at(0));
  EXPECT_EQ(json::get_string(*body, "voice"), "vivian");
  EXPECT_EQ(json::get_string(*body, "language"), "English");
  EXPECT_DOUBLE_EQ(json::get_double(*body, "speed"), 1.0);
  auto any = json::parse(tts.request_body(request("x", "some_new_voice")));
  EXPECT_EQ(json::get_string(*any, "voice"), "some_new_voice");
}

TEST(HttpTts, FirstAudioArrivesBeforeTheServerHasSentTheWholeFile) {
  aa::test::SpeechRig rig(2);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FakeTtsServer::Options so;
  so.seconds = 2.0;
  so.first_piece = 8000;  // header + ~0.16 s of audio, then wait for the test
  so.after_first = FakeTtsServer::After::gate;
  so.chunked = true;
  FakeTtsServer server(io, so);
  HttpTts tts(io.get_executor(), pool, options(server.url()));
  Result r;
  auto job = tts.synthesize(request("A long answer."), collect(r));
  ASSERT_TRUE(run_until(io, [&] { return !r.pcm.empty(); }));
  EXPECT_FALSE(server.gate_open);
  EXPECT_FALSE(server.finished_sending);
  EXPECT_FALSE(r.done);
  server.open_gate();
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  ASSERT_TRUE(r.done->ok()) << r.done->error().internal_detail;
  expect_samples(r, 2.0, 16000);
}

TEST(HttpTts, TricklingServerTimeToFirstAudio) {
  aa::test::SpeechRig rig(2);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FakeTtsServer::Options so;
  so.seconds = 3.0;
  so.trickle_bytes = 4800;  // 0.1 s of 24 kHz audio every 25 ms
  so.trickle_interval = std::chrono::milliseconds(25);
  FakeTtsServer server(io, so);
  HttpTts tts(io.get_executor(), pool, options(server.url()));
  Result r;
  auto job = tts.synthesize(request("Trickle."), collect(r));
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  ASSERT_TRUE(r.done->ok());
  expect_samples(r, 3.0, 16000);
  EXPECT_GT(r.pieces, 10u);
  EXPECT_LT(r.first_audio_ms, r.done_ms);
  std::printf(
      "[ http tts ] trickled 3 s WAV (0.1 s per 25 ms): first audio after %.1f ms, "
      "last after %.1f ms, %zu pieces\n",
      r.first_audio_ms, r.done_ms, r.pieces);
}

TEST(HttpTts, StereoEightBitEightKilohertzBecomesSixteenKilohertzMono) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FakeTtsServer::Options so;
  so.rate = 8000;
  so.channels = 2;
  so.bits = 8;
  so.seconds = 1.5;
  FakeTtsServer server(io, so);
  HttpTts tts(io.get_executor(), pool, options(server.url()));
  Result r;
  auto job = tts.synthesize(request("Old phone."), collect(r));
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  ASSERT_TRUE(r.done->ok()) << r.done->error().internal_detail;
  expect_samples(r, 1.5, 16000);
  int16_t peak = 0;
  for (auto s : r.pcm) peak = std::max<int16_t>(peak, static_cast<int16_t>(std::abs(s)));
  EXPECT_GT(peak, 12000);  // the tone survived (0.5 of full scale)
}

TEST(HttpTts, FortyEightKilohertzToTheRequestedTwentyFourKilohertz) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FakeTtsServer::Options so;
  so.rate = 48000;
  so.seconds = 0.8;
  FakeTtsServer server(io, so);
  HttpTts tts(io.get_executor(), pool, options(server.url()));
  Result r;
  auto job = tts.synthesize(request("Wideband.", "", 24000), collect(r));
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  ASSERT_TRUE(r.done->ok());
  EXPECT_EQ(r.start.rate_hz, 24000u);
  expect_samples(r, 0.8, 24000);
}

TEST(HttpTts, AServerErrorIsTtsFailedWithStatusAndBodyInTheDetail) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FakeTtsServer::Options so;
  so.mode = FakeTtsServer::Mode::error500;
  FakeTtsServer server(io, so);
  HttpTts tts(io.get_executor(), pool, options(server.url()));
  Result r;
  auto job = tts.synthesize(request("Hi."), collect(r));
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  ASSERT_FALSE(r.done->ok());
  const Error& e = r.done->error();
  EXPECT_EQ(e.code, ErrorCode::tts_failed);
  EXPECT_EQ(http::http_status(e.code), 502);
  EXPECT_NE(e.internal_detail.find("500"), std::string::npos) << e.internal_detail;
  EXPECT_NE(e.internal_detail.find("CUDA out of memory"), std::string::npos) << e.internal_detail;
  EXPECT_TRUE(r.pcm.empty());
  EXPECT_EQ(r.order, (std::vector<std::string>{"start", "done"}));
}

TEST(HttpTts, NoAnswerWithinTheTimeoutIsTtsTimeout) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FakeTtsServer::Options so;
  so.mode = FakeTtsServer::Mode::silent;
  FakeTtsServer server(io, so);
  HttpTts tts(io.get_executor(), pool, options(server.url(), std::chrono::milliseconds(300)));
  Result r;
  auto job = tts.synthesize(request("Hi."), collect(r));
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  ASSERT_FALSE(r.done->ok());
  EXPECT_EQ(r.done->error().code, ErrorCode::tts_timeout);
  EXPECT_EQ(http::http_status(r.done->error().code), 504);
  EXPECT_TRUE(run_until(io, [&] { return server.client_closed; }));  // the request was aborted
}

TEST(HttpTts, TheTimeoutCoversTheWholeBodyNotOnlyTheFirstByte) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FakeTtsServer::Options so;
  so.first_piece = 4000;
  so.after_first = FakeTtsServer::After::stall;
  FakeTtsServer server(io, so);
  HttpTts tts(io.get_executor(), pool, options(server.url(), std::chrono::milliseconds(400)));
  Result r;
  auto job = tts.synthesize(request("Hi."), collect(r));
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  EXPECT_FALSE(r.pcm.empty());  // what arrived was played
  ASSERT_FALSE(r.done->ok());
  EXPECT_EQ(r.done->error().code, ErrorCode::tts_timeout);
}

TEST(HttpTts, CancelAbortsTheRequestAndStopsEveryCallback) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FakeTtsServer::Options so;
  so.first_piece = 6000;
  so.after_first = FakeTtsServer::After::stall;
  FakeTtsServer server(io, so);
  HttpTts tts(io.get_executor(), pool, options(server.url()));
  Result r;
  std::shared_ptr<TtsJob> job;
  int after_cancel = 0;
  bool cancelled = false;
  auto cb = collect(r);
  auto inner = cb.on_audio;
  cb.on_audio = [&](std::vector<int16_t> pcm) {
    if (cancelled) ++after_cancel;
    inner(std::move(pcm));
    cancelled = true;
    job->cancel();
  };
  job = tts.synthesize(request("Interrupt me."), cb);
  ASSERT_TRUE(run_until(io, [&] { return server.client_closed; }));
  ASSERT_TRUE(run_until(io, [&] { return pool.pending() == 0; }));
  aa::test::drain(io);
  EXPECT_TRUE(cancelled);
  EXPECT_EQ(after_cancel, 0);
  EXPECT_FALSE(r.done);
  job->cancel();  // idempotent, also after the end
}

TEST(HttpTts, AnAnswerThatIsNotAWavIsTtsFailed) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FakeTtsServer::Options so;
  so.mode = FakeTtsServer::Mode::not_wav;
  FakeTtsServer server(io, so);
  HttpTts tts(io.get_executor(), pool, options(server.url()));
  Result r;
  auto job = tts.synthesize(request("Hi."), collect(r));
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  ASSERT_FALSE(r.done->ok());
  EXPECT_EQ(r.done->error().code, ErrorCode::tts_failed);
  EXPECT_NE(r.done->error().internal_detail.find("WAV"), std::string::npos)
      << r.done->error().internal_detail;
}

TEST(HttpTts, AnUnreachableServerIsTtsFailed) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  uint16_t port;
  {
    asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
    port = a.local_endpoint().port();
  }  // closed: connections to it are refused
  HttpTts tts(io.get_executor(), pool, options("http://127.0.0.1:" + std::to_string(port)));
  Result r;
  auto job = tts.synthesize(request("Hi."), collect(r));
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  ASSERT_FALSE(r.done->ok());
  EXPECT_EQ(r.done->error().code, ErrorCode::tts_failed);
  EXPECT_NE(r.done->error().internal_detail.find("unreachable"), std::string::npos);
}
