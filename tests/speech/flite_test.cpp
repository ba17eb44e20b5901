// Embedded Flite TTS: voices, streaming order, speed, rate conversion, cancel,
// concurrency; prints first-chunk latency and real-time factor per voice.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "common/worker_pool.hpp"
#include "speech/fakes.hpp"
#include "speech/flite_tts.hpp"

using namespace aa;
using namespace aa::speech;
using aa::test::run_until;
using clk = std::chrono::steady_clock;

namespace {

struct Result {
  std::vector<std::string> order;  // "start", "audio", "done"
  TtsStart start;
  std::vector<int16_t> pcm;
  size_t pieces = 0;
  std::optional<Status> done;
  clk::time_point t0 = clk::now();
  double first_audio_ms = -1;
  double done_ms = -1;
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

TtsRequest request(std::string text, std::string voice = {}, double speed = 1.0,
                   uint32_t rate = 16000) {
  TtsRequest r;
  r.text = std::move(text);
  r.voice = std::move(voice);
  r.speed = speed;
  r.rate_hz = rate;
  return r;
}

// Run one synthesis to its end.
Result speak(asio::io_context& io, FliteTts& tts, TtsRequest req) {
  Result r;
  r.t0 = clk::now();
  auto job = tts.synthesize(std::move(req), collect(r));
  EXPECT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  return r;
}

const char* kSentence = "The quick brown fox jumps over the lazy dog.";

}  // namespace

TEST(FliteTts, UnknownVoiceFallsBackToTheDefaultAndSaysSo) {
  aa::test::SpeechRig rig(2);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FliteTts tts(io.get_executor(), pool);
  EXPECT_EQ(tts.default_voice(), "slt");
  EXPECT_EQ(tts.voices(), (std::vector<std::string>{"slt", "kal16", "awb", "rms"}));
  Result r = speak(io, tts, request("Hello there.", "vivian"));
  ASSERT_TRUE(r.done && r.done->ok());
  EXPECT_EQ(r.start.voice, "slt");
  EXPECT_EQ(r.start.rate_hz, 16000u);
  EXPECT_EQ(r.order, (std::vector<std::string>{"start", "audio", "done"}));
  EXPECT_GT(r.pcm.size(), 8000u);  // more than half a second of speech

  Result k = speak(io, tts, request("Hello there.", "KAL16"));
  EXPECT_EQ(k.start.voice, "kal16");
}

TEST(FliteTts, ConfiguredDefaultVoiceThatDoesNotExistBecomesSlt) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FliteTts tts(io.get_executor(), pool, FliteOptions{"nobody", 1600});
  EXPECT_EQ(tts.default_voice(), "slt");
  FliteTts awb(io.get_executor(), pool, FliteOptions{"awb", 1600});
  EXPECT_EQ(awb.default_voice(), "awb");
}

TEST(FliteTts, EveryVoiceSpeaksInPiecesAndReportsLatencyAndRealTimeFactor) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FliteTts tts(io.get_executor(), pool);
  const std::string text =
      "Thank you for calling. Your table for two is booked for eight o'clock tonight. "
      "If you need to change it, just call us back. Goodbye.";
  (void)speak(io, tts, request("Warm up.", "slt"));
  for (const auto& voice : tts.voices()) {
    Result r = speak(io, tts, request(text, voice));
    ASSERT_TRUE(r.done && r.done->ok()) << voice;
    EXPECT_EQ(r.start.voice, voice);
    const double audio_s = static_cast<double>(r.pcm.size()) / 16000.0;
    EXPECT_GT(audio_s, 4.0) << voice;
    EXPECT_GT(r.pieces, 4u) << voice;  // streamed, not one block
    std::printf(
        "[ flite ] voice %-5s first chunk %6.1f ms, %5.2f s of audio in %6.1f ms: RTF %.3f\n",
        voice.c_str(), r.first_audio_ms, audio_s, r.done_ms, r.done_ms / 1000.0 / audio_s);
  }
}

TEST(FliteTts, FirstAudioArrivesWhileLaterSentencesAreStillBeingSynthesized) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FliteTts tts(io.get_executor(), pool);
  std::string text;
  for (int i = 0; i < 12; ++i)
    text += "This is sentence number " + std::to_string(i + 1) + " of a long answer. ";
  Result r;
  bool worker_busy_at_first_audio = false;
  auto cb = collect(r);
  auto inner = cb.on_audio;
  cb.on_audio = [&](std::vector<int16_t> pcm) {
    if (r.pieces == 0) worker_busy_at_first_audio = pool.pending() > 0;
    inner(std::move(pcm));
  };
  auto job = tts.synthesize(request(text, "slt"), cb);
  ASSERT_TRUE(run_until(io, [&] { return r.done.has_value(); }));
  EXPECT_TRUE(worker_busy_at_first_audio);
  EXPECT_TRUE(r.done->ok());
}

TEST(FliteTts, SpeedStretchesOrCompressesTheAudio) {
  aa::test::SpeechRig rig(2);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FliteTts tts(io.get_executor(), pool);
  const size_t normal = speak(io, tts, request(kSentence, "kal16", 1.0)).pcm.size();
  const size_t fast = speak(io, tts, request(kSentence, "kal16", 2.0)).pcm.size();
  const size_t slow = speak(io, tts, request(kSentence, "kal16", 0.5)).pcm.size();
  EXPECT_LT(fast, normal * 7 / 10);
  EXPECT_GT(fast, normal * 3 / 10);
  EXPECT_GT(slow, normal * 15 / 10);
}

TEST(FliteTts, OutputRateIsConvertedTo8kHzWithTheSameDuration) {
  aa::test::SpeechRig rig(2);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FliteTts tts(io.get_executor(), pool);
  Result wide = speak(io, tts, request(kSentence, "kal16", 1.0, 16000));
  Result narrow = speak(io, tts, request(kSentence, "kal16", 1.0, 8000));
  ASSERT_TRUE(narrow.done && narrow.done->ok());
  EXPECT_EQ(narrow.start.rate_hz, 8000u);
  const double expected = static_cast<double>(wide.pcm.size()) / 2;
  EXPECT_NEAR(static_cast<double>(narrow.pcm.size()), expected, expected * 0.01);
}

TEST(FliteTts, CancelInsideTheFirstAudioCallbackStopsEveryLaterCallback) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FliteTts tts(io.get_executor(), pool);
  std::string text;
  for (int i = 0; i < 20; ++i)
    text += "Sentence " + std::to_string(i) + " keeps the synthesizer busy. ";
  int audio_calls = 0, done_calls = 0, after_cancel = 0;
  bool cancelled = false;
  std::shared_ptr<TtsJob> job;
  TtsCallbacks cb;
  cb.on_audio = [&](std::vector<int16_t>) {
    if (cancelled) ++after_cancel;
    ++audio_calls;
    if (!cancelled) {
      cancelled = true;
      job->cancel();
      job->cancel();  // idempotent
    }
  };
  cb.on_done = [&](Status) { ++done_calls; };
  job = tts.synthesize(request(text, "slt"), cb);
  ASSERT_TRUE(run_until(io, [&] { return cancelled; }));
  // Wait for the worker to give up, then run whatever it posted.
  ASSERT_TRUE(run_until(io, [&] { return pool.pending() == 0; }));
  aa::test::drain(io);
  EXPECT_EQ(audio_calls, 1);
  EXPECT_EQ(after_cancel, 0);
  EXPECT_EQ(done_calls, 0);
}

TEST(FliteTts, ConcurrentSynthesesOfOneVoiceGiveTheSameLengthsAsOneAtATime) {
  aa::test::SpeechRig rig(4);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FliteTts tts(io.get_executor(), pool);
  const std::vector<std::string> texts = {"Hello there, how are you today?",
                                          "Call 555-1234 on Dec. 3rd at 10:30 am.",
                                          "Dr. Smith paid $5.50 for the tickets."};
  std::vector<size_t> reference;
  for (const auto& t : texts) reference.push_back(speak(io, tts, request(t, "slt")).pcm.size());
  std::vector<Result> results(12);
  std::vector<std::shared_ptr<TtsJob>> jobs;
  for (size_t i = 0; i < results.size(); ++i)
    jobs.push_back(tts.synthesize(request(texts[i % texts.size()], i % 4 == 3 ? "awb" : "slt"),
                                  collect(results[i])));
  ASSERT_TRUE(run_until(io, [&] {
    for (auto& r : results)
      if (!r.done) return false;
    return true;
  }));
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_TRUE(results[i].done->ok());
    if (i % 4 != 3) {
      EXPECT_EQ(results[i].pcm.size(), reference[i % texts.size()]) << i;
    }
  }
}

TEST(FliteTts, AFullWorkerQueueIsReportedAsBusy) {
  aa::test::SpeechRig rig(1, 1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FliteTts tts(io.get_executor(), pool);
  std::string text;
  for (int i = 0; i < 10; ++i) text += "Keep the only worker busy for a while. ";
  Result first, second;
  auto j1 = tts.synthesize(request(text, "slt"), collect(first));
  auto j2 = tts.synthesize(request("Hello.", "slt"), collect(second));
  ASSERT_TRUE(run_until(io, [&] { return first.done && second.done; }));
  EXPECT_TRUE(first.done->ok());
  ASSERT_FALSE(second.done->ok());
  EXPECT_EQ(second.done->error().code, ErrorCode::tts_busy);
  EXPECT_EQ(second.order, (std::vector<std::string>{"start", "done"}));
}

TEST(FliteTts, EmptyOrBlankTextEndsAtOnceWithoutAudio) {
  aa::test::SpeechRig rig(1);
  auto& io = rig.io;
  auto& pool = rig.pool;
  FliteTts tts(io.get_executor(), pool);
  Result r = speak(io, tts, request("  \n "));
  ASSERT_TRUE(r.done && r.done->ok());
  EXPECT_TRUE(r.pcm.empty());
}

TEST(FliteTts, SentencesSplitAtEndMarksButNotAtAbbreviationsOrNumbers) {
  using V = std::vector<std::string>;
  EXPECT_EQ(FliteTts::split_sentences("Hello there. How are you? Fine!"),
            (V{"Hello there.", "How are you?", "Fine!"}));
  EXPECT_EQ(FliteTts::split_sentences("Dr. Smith paid $5.50 at 3 p.m. on Main St. today."),
            (V{"Dr. Smith paid $5.50 at 3 p.m. on Main St. today."}));
  EXPECT_EQ(FliteTts::split_sentences("He said \"stop.\" Then he left...  Really?!"),
            (V{"He said \"stop.\"", "Then he left...", "Really?!"}));
  EXPECT_EQ(FliteTts::split_sentences("line one\nline two\n\n"), (V{"line one", "line two"}));
  EXPECT_EQ(FliteTts::split_sentences("   "), V{});
  // A long run without end marks is cut at commas, then spaces, within the limit.
  std::string list;
  for (int i = 0; i < 40; ++i) list += "item " + std::to_string(i) + ", ";
  auto parts = FliteTts::split_sentences(list, 100);
  ASSERT_GT(parts.size(), 2u);
  for (const auto& p : parts) {
    EXPECT_LE(p.size(), 100u);
    EXPECT_EQ(p.back(), ',') << p;
  }
  auto words = FliteTts::split_sentences(std::string(50, 'a') + " " + std::string(80, 'b'), 60);
  EXPECT_EQ(words, (V{std::string(50, 'a'), std::string(60, 'b'), std::string(20, 'b')}));
}
