#include "net/ws_frames.hpp"

#include <gtest/gtest.h>

using namespace aa::net::ws;

namespace {

/// A client frame: masked with a fixed key, as browsers and Beast send them.
std::string client_frame(uint8_t first_byte, std::string_view payload, bool masked = true) {
  std::string f;
  f.push_back(static_cast<char>(first_byte));
  const size_t n = payload.size();
  const char mask_bit = masked ? static_cast<char>(0x80) : 0;
  if (n < 126) {
    f.push_back(static_cast<char>(mask_bit | static_cast<char>(n)));
  } else if (n <= 0xFFFF) {
    f.push_back(static_cast<char>(mask_bit | 126));
    f.push_back(static_cast<char>(n >> 8));
    f.push_back(static_cast<char>(n & 0xFF));
  } else {
    f.push_back(static_cast<char>(mask_bit | 127));
    for (int s = 56; s >= 0; s -= 8) f.push_back(static_cast<char>((uint64_t(n) >> s) & 0xFF));
  }
  const char key[4] = {0x12, 0x34, 0x56, 0x78};
  if (masked) f.append(key, 4);
  for (size_t i = 0; i < n; ++i)
    f.push_back(masked ? static_cast<char>(payload[i] ^ key[i % 4]) : payload[i]);
  return f;
}

}  // namespace

TEST(WsFrames, AcceptKeyIsTheRfcExample) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsFrames, ServerFramesUseTheShortestLengthEncoding) {
  for (size_t n : {size_t{0}, size_t{125}, size_t{126}, size_t{65535}, size_t{65536}}) {
    std::string out;
    append_frame(out, Opcode::text, std::string(n, 'x'));
    const size_t header = n < 126 ? 2 : n <= 65535 ? 4 : 10;
    ASSERT_EQ(out.size(), header + n) << n;
    EXPECT_EQ(static_cast<uint8_t>(out[0]), 0x81);
    EXPECT_EQ(static_cast<uint8_t>(out[1]) & 0x80, 0);  // servers never mask
  }
  std::string close;
  append_frame(close, Opcode::close, close_payload(1008, "client too slow"));
  EXPECT_EQ(close.substr(0, 4), std::string("\x88\x11\x03\xf0", 4));
}

TEST(WsFrames, ParsesMaskedMessagesFedByteByByte) {
  FrameParser p(1 << 20);
  const std::string bytes = client_frame(0x81, "hello") +
                            client_frame(0x82, std::string(300, 'b')) +
                            client_frame(0x81, std::string(70000, 'c'));
  std::vector<FrameParser::Message> got;
  FrameParser::Message m;
  for (char c : bytes) {
    p.feed(std::string_view(&c, 1));
    while (p.next(m)) got.push_back(m);
  }
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].opcode, Opcode::text);
  EXPECT_EQ(got[0].payload, "hello");
  EXPECT_EQ(got[1].opcode, Opcode::binary);
  EXPECT_EQ(got[1].payload, std::string(300, 'b'));
  EXPECT_EQ(got[2].payload, std::string(70000, 'c'));
  EXPECT_FALSE(p.failed());
}

TEST(WsFrames, JoinsFragmentsAndPassesControlFramesBetweenThem) {
  FrameParser p(1024);
  p.feed(client_frame(0x01, "hel") + client_frame(0x89, "ping!") + client_frame(0x80, "lo"));
  FrameParser::Message m;
  ASSERT_TRUE(p.next(m));
  EXPECT_EQ(m.opcode, Opcode::ping);
  EXPECT_EQ(m.payload, "ping!");
  ASSERT_TRUE(p.next(m));
  EXPECT_EQ(m.opcode, Opcode::text);
  EXPECT_EQ(m.payload, "hello");
  EXPECT_FALSE(p.next(m));
}

TEST(WsFrames, ProtocolViolationsNameTheirCloseCode) {
  {
    FrameParser p(1024);
    p.feed(client_frame(0x81, "hi", false));
    FrameParser::Message m;
    EXPECT_FALSE(p.next(m));
    EXPECT_EQ(p.violation().close_code, 1002);  // unmasked
  }
  {
    FrameParser p(100);
    p.feed(client_frame(0x81, std::string(101, 'x')).substr(0, 4));  // the header is enough
    FrameParser::Message m;
    EXPECT_FALSE(p.next(m));
    EXPECT_EQ(p.violation().close_code, 1009);
  }
  {
    FrameParser p(100);
    p.feed(client_frame(0x01, std::string(60, 'x')) + client_frame(0x80, std::string(60, 'y')));
    FrameParser::Message m;
    EXPECT_FALSE(p.next(m));
    EXPECT_EQ(p.violation().close_code, 1009);  // fragments add up past the limit
  }
  {
    FrameParser p(1024);
    p.feed(client_frame(0x80, "orphan"));
    FrameParser::Message m;
    EXPECT_FALSE(p.next(m));
    EXPECT_EQ(p.violation().close_code, 1002);
  }
  {
    FrameParser p(1024);
    p.feed(client_frame(0xC1, "rsv1"));  // compression was not negotiated
    FrameParser::Message m;
    EXPECT_FALSE(p.next(m));
    EXPECT_EQ(p.violation().close_code, 1002);
  }
  {
    FrameParser p(1024);
    p.feed(client_frame(0x09, "fragmented ping"));
    FrameParser::Message m;
    EXPECT_FALSE(p.next(m));
    EXPECT_EQ(p.violation().close_code, 1002);
  }
}
