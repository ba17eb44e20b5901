// Fuzzing the WebSocket frame parser (net::ws::FrameParser): mutated streams
// of real client frames, fed whole and in random pieces. No crash or
// out-of-bounds read (ASan); no message above the limit; the same messages and
// the same verdict whatever the piece sizes; nothing after a violation.
#include <gtest/gtest.h>

#include "fuzz/fuzz.hpp"
#include "net/ws_frames.hpp"

namespace aa::fuzz {
namespace {

using net::ws::FrameParser;
using net::ws::Opcode;

/// A client frame: masked, with the given FIN bit, opcode and payload.
std::string client_frame(uint8_t first_byte, std::string_view payload, Rng& r) {
  std::string f;
  f += static_cast<char>(first_byte);
  const size_t n = payload.size();
  if (n < 126) {
    f += static_cast<char>(0x80 | n);
  } else if (n <= 0xFFFF) {
    f += static_cast<char>(0x80 | 126);
    f += static_cast<char>(n >> 8);
    f += static_cast<char>(n & 0xFF);
  } else {
    f += static_cast<char>(0x80 | 127);
    for (int s = 56; s >= 0; s -= 8) f += static_cast<char>((static_cast<uint64_t>(n) >> s) & 0xFF);
  }
  char mask[4] = {r.byte(), r.byte(), r.byte(), r.byte()};
  f.append(mask, 4);
  for (size_t i = 0; i < n; ++i) f += static_cast<char>(payload[i] ^ mask[i % 4]);
  return f;
}

/// A plausible client stream: text/binary messages, fragments, pings, a close.
std::string seed_stream(Rng& r) {
  std::string s;
  const size_t frames = 1 + r.below(8);
  for (size_t k = 0; k < frames; ++k) {
    const std::string payload = r.weird().substr(0, r.chance(10) ? 70000 : 300);
    switch (r.below(6)) {
      case 0:
        s += client_frame(0x81, payload, r);  // text
        break;
      case 1:
        s += client_frame(0x82, payload, r);  // binary
        break;
      case 2:  // fragmented text with a ping in between
        s += client_frame(0x01, payload.substr(0, payload.size() / 2), r);
        s += client_frame(0x89, "hi", r);
        s += client_frame(0x80, payload.substr(payload.size() / 2), r);
        break;
      case 3:  // the ping flood
        for (int i = 0; i < 50; ++i) s += client_frame(0x89, std::string(125, 'p'), r);
        break;
      case 4:
        s += client_frame(0x8A, payload.substr(0, 125), r);  // pong
        break;
      default:
        s += client_frame(0x88, std::string("\x03\xE8", 2) + payload.substr(0, 20), r);
        break;
    }
  }
  return s;
}

struct Outcome {
  std::vector<std::pair<Opcode, std::string>> messages;
  uint16_t violation = 0;
};

Outcome run_parser(const std::string& stream, size_t max_message, Rng* pieces) {
  FrameParser p(max_message);
  Outcome out;
  size_t pos = 0;
  FrameParser::Message m;
  while (pos < stream.size()) {
    const size_t n = pieces ? 1 + pieces->below(std::min<size_t>(stream.size() - pos, 700))
                            : stream.size() - pos;
    p.feed(std::string_view(stream).substr(pos, n));
    pos += n;
    while (p.next(m)) {
      EXPECT_LE(m.payload.size(), max_message);
      out.messages.emplace_back(m.opcode, m.payload);
    }
    if (p.failed()) {
      EXPECT_FALSE(p.next(m));  // nothing after a violation
      break;
    }
  }
  out.violation = p.violation().close_code;
  return out;
}

TEST(FuzzWsFrames, ParserSurvivesMutatedStreamsAndIgnoresPieceSizes) {
  Rng r(seed(3));
  const size_t n = iterations(4000);
  size_t violations = 0, messages = 0;
  for (size_t i = 0; i < n; ++i) {
    std::string stream = seed_stream(r);
    if (r.chance(70)) stream = r.mutate(stream);
    const size_t max_message = r.chance(50) ? 64 * 1024 : 1 + r.below(512);
    const Outcome whole = run_parser(stream, max_message, nullptr);
    const Outcome pieces = run_parser(stream, max_message, &r);
    ASSERT_EQ(whole.violation, pieces.violation) << testing::PrintToString(stream.substr(0, 200));
    ASSERT_EQ(whole.messages, pieces.messages) << testing::PrintToString(stream.substr(0, 200));
    violations += whole.violation != 0;
    messages += whole.messages.size();
    if (whole.violation != 0) {
      EXPECT_TRUE(whole.violation == 1002 || whole.violation == 1009) << whole.violation;
    }
  }
  // Both paths are exercised.
  EXPECT_GT(violations, 0u);
  EXPECT_GT(messages, n / 2);
}

TEST(FuzzWsFrames, RandomBytesNeverCrashTheParser) {
  Rng r(seed(4));
  const size_t n = iterations(4000);
  for (size_t i = 0; i < n; ++i) {
    std::string bytes(r.below(300), '\0');
    for (auto& c : bytes) c = r.byte();
    run_parser(bytes, 1 + r.below(100000), &r);
  }
}

// Length fields that claim more than any buffer: a violation (1009) at once,
// not an allocation or a wait for bytes that will never fit.
TEST(FuzzWsFrames, HugeLengthFieldsAreRefusedAtOnce) {
  for (uint64_t claimed : {uint64_t{70000}, uint64_t{1} << 32, ~uint64_t{0}, uint64_t{1} << 63}) {
    std::string f = "\x82\xFF";
    for (int s = 56; s >= 0; s -= 8) f += static_cast<char>((claimed >> s) & 0xFF);
    f += std::string("\x01\x02\x03\x04", 4);
    FrameParser p(64 * 1024);
    p.feed(f);
    FrameParser::Message m;
    EXPECT_FALSE(p.next(m));
    EXPECT_EQ(p.violation().close_code, 1009) << claimed;
  }
}

}  // namespace
}  // namespace aa::fuzz
