// Uploads converted to what Asterisk plays from a URL: 8 kHz → .wav, anything
// else → 16 kHz .wav16; what cannot be converted is a 400 naming the format.
// Every output is checked with the simulator's copy of Asterisk's reader rules.
#include "media/asterisk_audio.hpp"

#include <gtest/gtest.h>

#include "audio/wav.hpp"
#include "sim/wav.hpp"
#include "support/wav_builder.hpp"

namespace aa {
namespace {

using test::build_wav;
using test::encode;
using test::WavSpec;

WavSpec tone_wav(uint32_t rate, uint16_t channels, uint16_t bits, bool is_float = false,
                 double seconds = 1.0) {
  WavSpec s;
  s.tag = is_float ? 3 : 1;
  s.rate = rate;
  s.channels = channels;
  s.bits = bits;
  s.data =
      encode(test::sine(1000, rate, static_cast<size_t>(rate * seconds)), channels, bits, is_float);
  return s;
}

void expect_plays_as(const media::PreparedAudio& p, std::string_view ext, uint32_t rate) {
  EXPECT_EQ(p.extension, ext);
  EXPECT_EQ(p.rate_hz, rate);
  auto back = audio::parse_wav(p.bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->format.format_tag, audio::kWavePcm);
  EXPECT_EQ(back->format.sample_format, audio::SampleFormat::s16);
  EXPECT_EQ(back->format.channels, 1);
  EXPECT_EQ(back->format.rate_hz, rate);
  EXPECT_EQ(p.bytes.size(), 44 + back->pcm.samples.size() * 2);  // canonical header
  // What Asterisk's reader for that extension accepts (the simulator's rules).
  EXPECT_TRUE(sim::remote_media_duration_ms(p.extension, p.bytes).has_value());
  // The tone survived at 1 kHz.
  const auto& s = back->pcm.samples;
  const std::span<const int16_t> mid(s.data() + rate / 10, s.size() - rate / 5);
  EXPECT_NEAR(test::zero_crossing_hz(mid, rate), 1000.0, 2.0);
}

TEST(PrepareForAsterisk, EightKilohertzStaysEightKilohertzWav) {
  for (uint16_t bits : {8, 16, 24}) {
    SCOPED_TRACE(bits);
    auto p = media::prepare_for_asterisk(build_wav(tone_wav(8000, 1, bits)));
    ASSERT_TRUE(p) << p.error().message;
    expect_plays_as(*p, "wav", 8000);
    EXPECT_FALSE(p->resampled);
    EXPECT_EQ(p->duration_ms, 1000);
    EXPECT_EQ(p->source.bits_per_sample, bits);
  }
}

TEST(PrepareForAsterisk, SixteenBitEightKilohertzMonoKeepsItsSamples) {
  WavSpec s = tone_wav(8000, 1, 16);
  s.chunks_before_data = test::chunk("LIST", "metadata");
  const std::string in = build_wav(s);
  auto p = media::prepare_for_asterisk(in);
  ASSERT_TRUE(p) << p.error().message;
  // Same samples; the LIST chunk is gone (a canonical 44-byte header).
  EXPECT_EQ(p->bytes.substr(44), s.data);
}

TEST(PrepareForAsterisk, EverythingElseBecomesSixteenKilohertzWav16) {
  struct Case {
    const char* what;
    WavSpec spec;
    bool resampled;
  };
  WavSpec ext = tone_wav(32000, 2, 32);
  ext.extensible = true;
  WavSpec streaming = tone_wav(24000, 1, 16);
  streaming.data_size = 0xFFFFFFFF;
  const std::vector<Case> cases = {
      {"16 kHz mono", tone_wav(16000, 1, 16), false},
      {"24 kHz mono (TTS)", tone_wav(24000, 1, 16), true},
      {"44.1 kHz stereo", tone_wav(44100, 2, 16), true},
      {"48 kHz float", tone_wav(48000, 1, 32, true), true},
      {"22.05 kHz 24-bit", tone_wav(22050, 1, 24), true},
      {"11.025 kHz 8-bit", tone_wav(11025, 1, 8), true},
      {"32 kHz extensible 32-bit stereo", ext, true},
      {"24 kHz streaming size", streaming, true},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto p = media::prepare_for_asterisk(build_wav(c.spec));
    ASSERT_TRUE(p) << p.error().message;
    expect_plays_as(*p, "wav16", 16000);
    EXPECT_EQ(p->resampled, c.resampled);
    EXPECT_EQ(p->duration_ms, 1000);
    EXPECT_EQ(p->source.rate_hz, c.spec.rate);
  }
}

TEST(PrepareForAsterisk, UnconvertibleAudioNamesTheRequiredFormatAndTheProblem) {
  struct Case {
    const char* what;
    std::string bytes;
    const char* problem;
  };
  WavSpec ulaw;
  ulaw.tag = 7;
  ulaw.bits = 8;
  ulaw.data = std::string(800, '\xff');
  WavSpec truncated = tone_wav(16000, 1, 16);
  truncated.data_size = static_cast<uint32_t>(truncated.data.size() * 2);
  WavSpec silent = tone_wav(16000, 1, 16);
  silent.data.clear();
  const std::vector<Case> cases = {
      {"mu-law", build_wav(ulaw), "mu-law (format tag 0x0007) is a compressed format"},
      {"5.1", build_wav(tone_wav(48000, 6, 16, false, 0.1)), "6 channels (at most 2)"},
      {"96 kHz", build_wav(tone_wav(96000, 1, 16, false, 0.1)), "96000 Hz"},
      {"truncated", build_wav(truncated), "truncated"},
      {"no samples", build_wav(silent), "holds no samples"},
      {"not a WAV", "ID3\x04\x00 an MP3 file", "RIFF/WAVE header"},
      {"empty", "", "empty"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    auto p = media::prepare_for_asterisk(c.bytes);
    ASSERT_FALSE(p);
    EXPECT_EQ(p.error().code, ErrorCode::validation_failed);
    EXPECT_NE(p.error().message.find("PCM WAV"), std::string::npos) << p.error().message;
    EXPECT_NE(p.error().message.find("8000-48000 Hz"), std::string::npos) << p.error().message;
    ASSERT_EQ(p.error().details.size(), 1u);
    EXPECT_EQ(p.error().details[0].rfind("body: ", 0), 0u) << p.error().details[0];
    EXPECT_NE(p.error().details[0].find(c.problem), std::string::npos) << p.error().details[0];
  }
}

}  // namespace
}  // namespace aa
