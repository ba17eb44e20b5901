// Sample arithmetic (mono mix) and the speexdsp resampler: a tone keeps its
// frequency, level and phase, and the output has exactly the expected length.
#include "audio/resampler.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <stdexcept>

#include "audio/pcm.hpp"
#include "support/wav_builder.hpp"

namespace aa {
namespace {

std::vector<int16_t> tone_s16(double hz, uint32_t rate, size_t frames, double amp = 0.5) {
  std::vector<int16_t> out;
  for (double x : test::sine(hz, rate, frames, amp))
    out.push_back(static_cast<int16_t>(std::lround(x * 32767)));
  return out;
}

TEST(Pcm, StereoIsAveragedToMono) {
  const std::vector<int16_t> lr = {1000, 3000, -32768, -32768, 32767, -32767, 5, 6};
  std::vector<int16_t> mono;
  audio::downmix_to_mono(lr, 2, mono);
  EXPECT_EQ(mono, (std::vector<int16_t>{2000, -32768, 0, 5}));
  // Straight from stereo 8-bit bytes: (255-128) and (1-128) average to 0.
  std::vector<int16_t> from_u8;
  EXPECT_EQ(audio::to_mono_s16(std::string("\xff\x01\x80\x80\x90", 5), audio::SampleFormat::u8, 2,
                               from_u8),
            2u);
  EXPECT_EQ(from_u8, (std::vector<int16_t>{0, 0}));
  audio::Pcm p;
  p.rate_hz = 44100;
  p.channels = 2;
  p.samples = {10, 20, 30, 40};
  const audio::Pcm m = audio::to_mono(p);
  EXPECT_EQ(m.channels, 1);
  EXPECT_EQ(m.rate_hz, 44100u);
  EXPECT_EQ(m.samples, (std::vector<int16_t>{15, 35}));
}

TEST(Pcm, WideSamplesKeepTheirTopSixteenBits) {
  std::vector<int16_t> out;
  // 24-bit 0x123456 and -1; 32-bit 0x7fffffff.
  audio::to_s16(std::string("\x56\x34\x12\xff\xff\xff", 6), audio::SampleFormat::s24, 1, out);
  audio::to_s16(std::string("\xff\xff\xff\x7f", 4), audio::SampleFormat::s32, 1, out);
  EXPECT_EQ(out, (std::vector<int16_t>{0x1234, -1, 32767}));
  EXPECT_EQ(audio::bytes_per_sample(audio::SampleFormat::s24), 3u);
}

struct RatePair {
  uint32_t in, out;
};

class ResamplerTone : public ::testing::TestWithParam<RatePair> {};

TEST_P(ResamplerTone, KeepsAOneKilohertzToneAtOneKilohertzAndTheLengthExact) {
  const auto [in_hz, out_hz] = GetParam();
  const size_t frames = in_hz;  // one second
  const auto in = tone_s16(1000, in_hz, frames);
  const auto out = audio::resample(in, in_hz, out_hz);
  EXPECT_EQ(out.size(), (uint64_t(frames) * out_hz + in_hz / 2) / in_hz);

  // Away from the edges (the filter sees silence beyond them).
  const std::span<const int16_t> mid(out.data() + out_hz / 10, out.size() - out_hz / 5);
  EXPECT_NEAR(test::zero_crossing_hz(mid, out_hz), 1000.0, 1.0);
  const double at = test::goertzel(mid, 1000, out_hz);
  EXPECT_GT(at, 1000 * test::goertzel(mid, 1500, out_hz));
  EXPECT_GT(at, 1000 * test::goertzel(mid, 700, out_hz));
  // Level within 0.2 dB of the input's.
  EXPECT_NEAR(20 * std::log10(test::rms(mid) / (0.5 * 32767 / std::sqrt(2.0))), 0.0, 0.2);
  // Phase: no filter delay left, sample i is the tone at time i / out_hz (a one-sample
  // shift at 16 kHz would be an error of 39% of the amplitude).
  const auto ideal = tone_s16(1000, out_hz, out.size());
  double worst = 0;
  for (size_t i = out_hz / 10; i < out.size() - out_hz / 10; ++i)
    worst = std::max(worst, std::abs(double(out[i]) - ideal[i]));
  EXPECT_LT(worst, 0.03 * 0.5 * 32767);
}

INSTANTIATE_TEST_SUITE_P(Rates, ResamplerTone,
                         ::testing::Values(RatePair{24000, 16000}, RatePair{44100, 16000},
                                           RatePair{48000, 16000}, RatePair{22050, 16000},
                                           RatePair{11025, 16000}, RatePair{8000, 16000},
                                           RatePair{16000, 8000}, RatePair{32000, 16000}),
                         [](const auto& info) {
                           return std::to_string(info.param.in) + "to" +
                                  std::to_string(info.param.out);
                         });

TEST(Resampler, StreamingInOddBlocksGivesTheOneShotResult) {
  const auto in = tone_s16(440, 44100, 44100 / 3);
  const auto whole = audio::resample(in, 44100, 16000);
  audio::Resampler r(44100, 16000);
  std::vector<int16_t> out;
  size_t at = 0, step = 1;
  while (at < in.size()) {
    const size_t n = std::min(step, in.size() - at);
    r.process(in.data() + at, n, out);
    at += n;
    step = step * 3 + 7;  // 1, 10, 37, … up past the internal block size
  }
  r.flush(out);
  EXPECT_EQ(out, whole);
}

TEST(Resampler, FlushEndsAStreamAndTheNextIsIndependent) {
  audio::Resampler r(24000, 16000);
  const auto a = tone_s16(1000, 24000, 2400);
  std::vector<int16_t> first, second;
  r.process(a, first);
  r.flush(first);
  r.process(a, second);
  r.flush(second);
  EXPECT_EQ(first.size(), 1600u);
  EXPECT_EQ(first, second);
}

TEST(Resampler, EqualRatesCopyAndBadRatesThrow) {
  const std::vector<int16_t> in = {1, 2, 3};
  EXPECT_EQ(audio::resample(in, 16000, 16000), in);
  EXPECT_THROW(audio::Resampler(0, 16000), std::invalid_argument);
  EXPECT_THROW(audio::Resampler(16000, 1000000), std::invalid_argument);
  EXPECT_TRUE(audio::resample({}, 24000, 16000).empty());
}

TEST(Resampler, AMinuteOfCdAudioResamplesInReasonableTime) {
  // Not a speed target (bench/ holds those): a guard against a pathological
  // setting, with a deadline generous enough for a loaded 2-core machine.
  const auto in = tone_s16(1000, 44100, 44100 * 60);
  const auto start = std::chrono::steady_clock::now();
  const auto out = audio::resample(in, 44100, 16000);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  EXPECT_EQ(out.size(), 16000u * 60);
  EXPECT_LT(ms, 20000) << "60 s of 44.1 kHz took " << ms << " ms";
  RecordProperty("resample_60s_44k1_to_16k_ms", std::to_string(ms));
}

}  // namespace
}  // namespace aa
