// The WAV reader and writer over generated files: every sample format we
// accept, odd chunk layouts, streaming sizes, and every way a file can be
// refused (the error names the problem).
#include "audio/wav.hpp"

#include <gtest/gtest.h>

#include "support/wav_builder.hpp"

namespace aa {
namespace {

using test::build_wav;
using test::chunk;
using test::encode;
using test::WavSpec;

// Full-scale values that survive every format: 0, ±0.5, and near the extremes.
const std::vector<double> kValues = {0.0, 0.5, -0.5, 0.25, -0.25, 0.99, -0.99};

WavSpec spec(uint16_t bits, bool is_float = false, uint16_t channels = 1, uint32_t rate = 8000) {
  WavSpec s;
  s.tag = is_float ? 3 : 1;
  s.bits = bits;
  s.channels = channels;
  s.rate = rate;
  s.data = encode(kValues, channels, bits, is_float);
  return s;
}

std::string error_of(const Outcome<audio::DecodedWav>& r) {
  return r ? std::string("(accepted)") : r.error().message;
}

TEST(Wav, DecodesEverySampleFormatToSixteenBit) {
  struct Case {
    uint16_t bits;
    bool is_float;
    audio::SampleFormat want;
    int tolerance;  // int16 steps: 8-bit input is coarse
  };
  // Wider samples keep their top 16 bits: truncation, so a negative value may sit 2 below.
  for (const Case& c :
       {Case{8, false, audio::SampleFormat::u8, 260}, Case{16, false, audio::SampleFormat::s16, 1},
        Case{24, false, audio::SampleFormat::s24, 2}, Case{32, false, audio::SampleFormat::s32, 2},
        Case{32, true, audio::SampleFormat::f32, 1}}) {
    SCOPED_TRACE(std::to_string(c.bits) + (c.is_float ? " float" : " int"));
    auto r = audio::parse_wav(build_wav(spec(c.bits, c.is_float)));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->format.sample_format, c.want);
    EXPECT_EQ(r->format.rate_hz, 8000u);
    EXPECT_EQ(r->pcm.rate_hz, 8000u);
    EXPECT_EQ(r->pcm.channels, 1);
    ASSERT_EQ(r->pcm.samples.size(), kValues.size());
    for (size_t i = 0; i < kValues.size(); ++i)
      EXPECT_NEAR(r->pcm.samples[i], kValues[i] * 32767, c.tolerance) << i;
  }
}

TEST(Wav, EightBitIsUnsignedAroundOneHundredTwentyEight) {
  WavSpec s;
  s.bits = 8;
  s.data = std::string("\x00\x80\xff", 3);
  auto r = audio::parse_wav(build_wav(s));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->pcm.samples, (std::vector<int16_t>{-32768, 0, 32512}));
}

TEST(Wav, FloatIsClampedAndNanIsSilence) {
  WavSpec s;
  s.tag = 3;
  s.bits = 32;
  s.data = encode({2.0, -3.0, std::nan("")}, 1, 32, true);
  auto r = audio::parse_wav(build_wav(s));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->pcm.samples, (std::vector<int16_t>{32767, -32767, 0}));
}

TEST(Wav, StereoKeepsItsChannelsInterleaved) {
  WavSpec s = spec(16, false, 2, 44100);
  const std::vector<double> left = {0.5, 0.25}, right = {-0.5, 0.0};
  s.data = encode(left, 2, 16, false, &right);
  auto r = audio::parse_wav(build_wav(s));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->pcm.channels, 2);
  EXPECT_EQ(r->pcm.frames(), 2u);
  EXPECT_EQ(r->pcm.samples, (std::vector<int16_t>{16384, -16384, 8192, 0}));
}

TEST(Wav, ExtensibleFormatWithPcmOrFloatSubFormat) {
  for (bool is_float : {false, true}) {
    WavSpec s = spec(is_float ? 32 : 24, is_float, 2, 48000);
    s.extensible = true;
    auto r = audio::parse_wav(build_wav(s));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->format.format_tag, audio::kWaveExtensible);
    EXPECT_EQ(r->format.sample_format,
              is_float ? audio::SampleFormat::f32 : audio::SampleFormat::s24);
    EXPECT_EQ(r->pcm.frames(), kValues.size());
    EXPECT_NEAR(r->pcm.samples[2], 16384, 1);
  }
}

TEST(Wav, ExtensibleWithACompressedSubFormatIsRefused) {
  WavSpec s = spec(16);
  s.tag = 7;
  s.extensible = true;
  auto r = audio::parse_wav(build_wav(s));
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("mu-law"), std::string::npos) << r.error().message;
}

TEST(Wav, SkipsListAndOddSizedChunksAroundFmtAndData) {
  WavSpec s = spec(16);
  s.chunks_before_fmt = chunk("JUNK", "abc");  // odd: padded
  s.chunks_before_data = chunk("LIST", std::string("INFOISFT\x05\x00\x00\x00Lavf\x00", 17)) +
                         chunk("fact", std::string(4, '\x07'));
  s.chunks_after_data = chunk("LIST", "trailing metadata");
  auto r = audio::parse_wav(build_wav(s));
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->pcm.samples.size(), kValues.size());
  EXPECT_EQ(r->pcm.samples[1], 16384);
}

TEST(Wav, OddSizedDataChunkIsFollowedByItsPadByte) {
  WavSpec s;
  s.bits = 8;
  s.data = std::string("\x80\x80\x80", 3);
  s.chunks_after_data = chunk("LIST", "x");
  auto r = audio::parse_wav(build_wav(s));
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->pcm.samples.size(), 3u);
}

TEST(Wav, StreamingDataSizeRunsToTheEndOfTheFile) {
  for (uint32_t declared : {0u, 0xFFFFFFFFu, 0x7FFFF000u}) {
    SCOPED_TRACE(declared);
    WavSpec s = spec(16);
    s.data_size = declared;
    s.data += "\x01";  // a partial frame at the end is dropped
    auto r = audio::parse_wav(build_wav(s));
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->pcm.samples.size(), kValues.size());
  }
}

TEST(Wav, RefusesCompressedFormatsByName) {
  struct Case {
    uint16_t tag;
    uint16_t bits;
    const char* name;
  };
  for (const Case& c : {Case{7, 8, "mu-law"}, Case{6, 8, "A-law"}, Case{2, 4, "Microsoft ADPCM"},
                        Case{0x11, 4, "IMA ADPCM"}, Case{0x55, 0, "MP3"}, Case{0x31, 0, "GSM"},
                        Case{0x1234, 16, "format tag 0x1234 is not PCM"}}) {
    WavSpec s;
    s.tag = c.tag;
    s.bits = c.bits;
    s.block_align = 1;
    s.data = std::string(100, '\x55');
    const auto r = audio::parse_wav(build_wav(s));
    EXPECT_NE(error_of(r).find(c.name), std::string::npos) << error_of(r);
  }
}

TEST(Wav, RefusesWhatItCannotConvertAndSaysWhy) {
  struct Case {
    std::string what;
    std::string bytes;
    std::string says;
  };
  std::vector<Case> cases;
  cases.push_back({"3 channels", build_wav(spec(16, false, 3)), "3 channels (at most 2)"});
  cases.push_back(
      {"96 kHz", build_wav(spec(16, false, 1, 96000)), "96000 Hz is outside 8000-48000"});
  cases.push_back({"7999 Hz", build_wav(spec(16, false, 1, 7999)), "7999 Hz"});
  cases.push_back({"12-bit", build_wav(spec(12)), "12-bit integer samples are not supported"});
  cases.push_back({"64-bit float", build_wav(spec(64, true)), "64-bit float"});
  {
    WavSpec s = spec(16);
    s.block_align = 4;
    cases.push_back({"block align", build_wav(s), "block align 4"});
  }
  {
    WavSpec s = spec(16);
    s.data_size = 1000;  // 14 bytes present
    cases.push_back(
        {"truncated", build_wav(s), "truncated: the data chunk declares 1000 bytes, 14"});
  }
  {
    std::string w = build_wav(spec(16));
    cases.push_back({"cut in the fmt chunk", w.substr(0, 30), "fmt chunk is truncated"});
    cases.push_back({"cut in the header", w.substr(0, 10), "too short for a RIFF/WAVE header"});
    cases.push_back({"cut before data", w.substr(0, 36), "no data chunk"});
  }
  cases.push_back({"empty", "", "it is empty"});
  cases.push_back({"not RIFF", "ID3\x03 this is an mp3 file, not a wav", "RIFF/WAVE header"});
  cases.push_back({"RF64", "RF64\xff\xff\xff\xffWAVEds64", "RF64"});
  cases.push_back({"RIFX", std::string("RIFX\0\0\0\x24WAVEfmt ", 16), "big-endian"});
  cases.push_back(
      {"no fmt", std::string("RIFF\x0c\0\0\0WAVE", 12) + chunk("LIST", "abcd"), "no fmt chunk"});
  cases.push_back({"data first", std::string("RIFF\x10\0\0\0WAVE", 12) + chunk("data", "abcd"),
                   "before the fmt"});
  {
    std::string two = build_wav(spec(16));
    const std::string fmt_chunk = two.substr(12, 24);
    two.insert(36, fmt_chunk);
    cases.push_back({"two fmt", two, "two fmt chunks"});
  }
  for (const auto& c : cases) {
    const auto r = audio::parse_wav(c.bytes);
    EXPECT_FALSE(r) << c.what;
    if (!r) {
      EXPECT_EQ(r.error().code, ErrorCode::validation_failed) << c.what;
      EXPECT_NE(r.error().message.find(c.says), std::string::npos)
          << c.what << ": " << r.error().message;
    }
  }
}

TEST(Wav, AcceptLimitsAreTheCallersChoice) {
  const std::string w = build_wav(spec(16, false, 1, 96000));
  EXPECT_FALSE(audio::parse_wav(w));
  EXPECT_TRUE(audio::parse_wav(w, audio::WavAccept{8000, 192000, 2}));
  EXPECT_FALSE(
      audio::parse_wav(build_wav(spec(16, false, 2, 8000)), audio::WavAccept{8000, 8000, 1}));
}

TEST(WavStreamParser, ByteByByteGivesWhatTheWholeFileGives) {
  WavSpec s = spec(24, false, 2, 22050);
  s.data = encode(test::sine(440, 22050, 500), 2, 24);
  s.chunks_before_data = chunk("LIST", "odd");
  const std::string w = build_wav(s);
  auto whole = audio::parse_wav(w);
  ASSERT_TRUE(whole) << whole.error().message;

  audio::WavStreamParser p;
  std::vector<int16_t> got;
  size_t format_known_at = 0;
  for (size_t i = 0; i < w.size(); ++i) {
    ASSERT_TRUE(p.feed(std::string_view(w).substr(i, 1), got)) << i;
    if (p.format() && !format_known_at) format_known_at = i + 1;
  }
  ASSERT_TRUE(p.finish());
  EXPECT_EQ(got, whole->pcm.samples);
  EXPECT_EQ(p.frames(), 500u);
  // The format is known as soon as the fmt chunk is complete, before any data.
  EXPECT_EQ(format_known_at, 12u + 8u + 16u);
  ASSERT_TRUE(p.format());
  EXPECT_EQ(p.format()->rate_hz, 22050u);
  EXPECT_EQ(p.format()->channels, 2);
}

TEST(WavStreamParser, SamplesComeOutAsTheDataArrives) {
  WavSpec s = spec(16);
  s.data_size = 0xFFFFFFFF;  // a streaming TTS answer
  s.data.clear();
  const std::string header = build_wav(s);
  audio::WavStreamParser p;
  std::vector<int16_t> out;
  ASSERT_TRUE(p.feed(header, out));
  EXPECT_TRUE(p.in_data());
  EXPECT_FALSE(p.data_size_known());
  EXPECT_TRUE(out.empty());
  ASSERT_TRUE(p.feed(std::string("\x00\x40\x00", 3), out));  // one frame and a half
  EXPECT_EQ(out, std::vector<int16_t>{16384});
  ASSERT_TRUE(p.feed(std::string("\xc0", 1), out));
  EXPECT_EQ(out, (std::vector<int16_t>{16384, -16384}));
  EXPECT_TRUE(p.finish());
}

TEST(WavStreamParser, AnErrorSticks) {
  audio::WavStreamParser p;
  std::vector<int16_t> out;
  EXPECT_FALSE(p.feed("RIFX....WAVE", out));
  EXPECT_FALSE(p.feed(build_wav(spec(16)), out));
  EXPECT_FALSE(p.finish());
  EXPECT_TRUE(out.empty());
}

TEST(Wav, WrittenFileReadsBackTheSame) {
  audio::Pcm pcm;
  pcm.rate_hz = 16000;
  pcm.channels = 1;
  pcm.samples = {0, 1, -1, 32767, -32768, 1234};
  const std::string w = audio::write_wav(pcm);
  EXPECT_EQ(w.size(), 44u + 12u);
  EXPECT_EQ(w.substr(0, 4), "RIFF");
  EXPECT_EQ(w.substr(36, 4), "data");
  auto r = audio::parse_wav(w);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->format.format_tag, audio::kWavePcm);
  EXPECT_EQ(r->pcm.samples, pcm.samples);
  EXPECT_EQ(r->pcm.rate_hz, 16000u);
  EXPECT_EQ(audio::wav_header(8000, 1, 0).size(), 44u);
}

}  // namespace
}  // namespace aa
