// The simulator plays fetched media only when Asterisk's reader would: the
// format comes from the Content-Type, else the URL's extension, and the WAV
// readers take 16-bit mono PCM at exactly 8 kHz (.wav) or 16 kHz (.wav16).
#include <gtest/gtest.h>

#include "sim/wav.hpp"
#include "support/wav_builder.hpp"

namespace aa {
namespace {

std::string wav(uint32_t rate, uint16_t channels, uint16_t bits, double seconds = 0.5) {
  test::WavSpec s;
  s.rate = rate;
  s.channels = channels;
  s.bits = bits;
  s.data = test::encode(test::sine(440, rate, static_cast<size_t>(rate * seconds)), channels, bits);
  return test::build_wav(s);
}

TEST(SimRemoteMedia, FormatComesFromContentTypeThenTheUrlExtension) {
  using sim::remote_media_extension;
  const std::string url = "http://10.0.0.5:3456/media/0123456789abcdef0123456789abcdef/hi.wav16";
  EXPECT_EQ(remote_media_extension(url, "application/octet-stream"), "wav16");
  EXPECT_EQ(remote_media_extension(url, ""), "wav16");
  // format_wav claims audio/wav (and audio/x-wav): the 8 kHz reader, whatever the URL says.
  EXPECT_EQ(remote_media_extension(url, "audio/wav"), "wav");
  EXPECT_EQ(remote_media_extension(url, "Audio/X-WAV; charset=binary"), "wav");
  EXPECT_EQ(remote_media_extension("https://h/a/b.sln16?x=1.wav#y", ""), "sln16");
  EXPECT_EQ(remote_media_extension("http://h.example/noext", ""), "");
  EXPECT_EQ(remote_media_extension("http://h.example.com", ""), "");
}

TEST(SimRemoteMedia, WavReadersTakeOnlySixteenBitMonoAtTheirRate) {
  using sim::remote_media_duration_ms;
  EXPECT_EQ(remote_media_duration_ms("wav", wav(8000, 1, 16)), 500);
  EXPECT_EQ(remote_media_duration_ms("wav16", wav(16000, 1, 16)), 500);
  // What real Asterisk fails within milliseconds.
  EXPECT_FALSE(remote_media_duration_ms("wav", wav(16000, 1, 16)));
  EXPECT_FALSE(remote_media_duration_ms("wav", wav(24000, 1, 16)));
  EXPECT_FALSE(remote_media_duration_ms("wav", wav(44100, 2, 16)));
  EXPECT_FALSE(remote_media_duration_ms("wav", wav(8000, 1, 8)));
  EXPECT_FALSE(remote_media_duration_ms("wav", wav(8000, 2, 16)));
  EXPECT_FALSE(remote_media_duration_ms("wav16", wav(8000, 1, 16)));
  EXPECT_FALSE(remote_media_duration_ms("wav", "not a wav"));
}

TEST(SimRemoteMedia, RawSignedLinearIsAnyEvenLength) {
  using sim::remote_media_duration_ms;
  EXPECT_EQ(remote_media_duration_ms("sln16", std::string(32000, '\0')), 1000);
  EXPECT_EQ(remote_media_duration_ms("sln", std::string(16000, '\0')), 1000);
  EXPECT_FALSE(remote_media_duration_ms("sln16", std::string(3, '\0')));
  // Other extensions: any WAV, by its header (as before).
  EXPECT_EQ(remote_media_duration_ms("mp3", wav(24000, 1, 16)), 500);
}

}  // namespace
}  // namespace aa
