// UTF-8 validation and repair, the JSON writer that applies it to everything
// we emit, the strict parse of client bodies, nesting limits and JSON log lines.
#include "common/utf8.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>

#include <random>
#include <sstream>

#include "common/json.hpp"
#include "common/log.hpp"

namespace aa {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8, AcceptsEveryWellFormedSequence) {
  EXPECT_TRUE(utf8::is_valid(""));
  EXPECT_TRUE(utf8::is_valid("plain ASCII, long enough for the 8-byte steps"));
  EXPECT_TRUE(utf8::is_valid("caf\xC3\xA9"));           // U+00E9
  EXPECT_TRUE(utf8::is_valid("\xE2\x82\xAC"));          // U+20AC
  EXPECT_TRUE(utf8::is_valid("\xED\x9F\xBF"));          // U+D7FF, below the surrogates
  EXPECT_TRUE(utf8::is_valid("\xEE\x80\x80"));          // U+E000, above them
  EXPECT_TRUE(utf8::is_valid("\xF0\x9F\x98\x80"));      // U+1F600
  EXPECT_TRUE(utf8::is_valid("\xF4\x8F\xBF\xBF"));      // U+10FFFF
  EXPECT_TRUE(utf8::is_valid(std::string("a\0b", 3)));  // NUL is valid UTF-8
}

TEST(Utf8, RejectsEveryKindOfIllFormedSequence) {
  for (const std::string& bad : {
           std::string("\xFF"),              // never valid
           std::string("\x80"),              // lone continuation
           std::string("\xC0\xAF"),          // overlong '/'
           std::string("\xC1\xBF"),          // overlong
           std::string("\xE0\x80\xAF"),      // overlong 3-byte
           std::string("\xF0\x80\x80\xAF"),  // overlong 4-byte
           std::string("\xED\xA0\x80"),      // UTF-16 surrogate D800
           std::string("\xF4\x90\x80\x80"),  // above U+10FFFF
           std::string("\xF5\x80\x80\x80"),  // lead byte out of range
           std::string("\xC3"),              // truncated at the end
           std::string("\xE2\x82"),          // truncated
           std::string("\xE2\x82x"),         // interrupted
       }) {
    EXPECT_FALSE(utf8::is_valid(bad)) << testing::PrintToString(bad);
    EXPECT_FALSE(utf8::is_valid("0123456789" + bad + "abc")) << testing::PrintToString(bad);
  }
  EXPECT_EQ(utf8::valid_prefix("Bob <555\xFF"
                               "0111>"),
            8u);
}

TEST(Utf8, ReplacesEachIllFormedSequenceWithOneReplacementCharacter) {
  EXPECT_EQ(utf8::to_valid("Bob <555\xFF"
                           "0111>"),
            "Bob <555" + kFffd + "0111>");
  // A truncated sequence is one replacement for its valid beginning.
  EXPECT_EQ(utf8::to_valid("a\xE2\x82z"), "a" + kFffd + "z");
  // Bad lead bytes are one replacement each.
  EXPECT_EQ(utf8::to_valid("\xFF\xFE"), kFffd + kFffd);
  EXPECT_EQ(utf8::to_valid("\xC0\xAF"), kFffd + kFffd);
  // A surrogate's lead is valid alone, its second byte is not.
  EXPECT_EQ(utf8::to_valid("\xED\xA0\x80"), kFffd + kFffd + kFffd);
  EXPECT_EQ(utf8::to_valid("end\xF0\x9F\x98"), "end" + kFffd);
  // Valid text is untouched, including around a repair.
  EXPECT_EQ(utf8::to_valid("caf\xC3\xA9\xFF\xE2\x82\xAC"), "caf\xC3\xA9" + kFffd + "\xE2\x82\xAC");
}

TEST(Utf8, RepairOfRandomBytesIsAlwaysValid) {
  std::mt19937 rng(9);
  for (int i = 0; i < 5000; ++i) {
    std::string s(rng() % 40, '\0');
    for (auto& c : s) c = static_cast<char>(rng() % 4 == 0 ? 0x80 | (rng() & 0x7F) : rng());
    const std::string fixed = utf8::to_valid(s);
    ASSERT_TRUE(utf8::is_valid(fixed)) << testing::PrintToString(s);
    if (utf8::is_valid(s)) {
      EXPECT_EQ(fixed, s);
    }
  }
}

TEST(JsonWriter, EmitsValidUtf8WhateverItIsGiven) {
  json::Writer w;
  w.begin_object()
      .field("name", "Bob \xFF")
      .key("k\xC0")
      .string("v")
      .key("list")
      .begin_array()
      .string("\xED\xA0\x80")
      .string("ok")
      .end_array()
      .end_object();
  const std::string out = w.str();
  EXPECT_TRUE(utf8::is_valid(out)) << out;
  auto doc = json::parse_utf8(out);
  ASSERT_TRUE(doc) << out;
  EXPECT_EQ(json::get_string(*doc, "name"), "Bob " + kFffd);
  EXPECT_TRUE(json::find(*doc, "k" + kFffd));
}

TEST(JsonWriter, ValueAndRawRepairWhatATolerantParseLetThrough) {
  // ARI events are parsed tolerantly: a bad byte in a caller name survives the parse.
  const std::string ari = "{\"caller\":{\"name\":\"Bob \xFF\",\"number\":\"555\"},\"x\xFE\":1}";
  auto doc = json::parse(ari);
  ASSERT_TRUE(doc);
  json::Writer w;
  w.value(*doc);
  EXPECT_TRUE(utf8::is_valid(w.view())) << w.str();
  EXPECT_TRUE(json::parse_utf8(w.view()));

  json::Writer r;
  r.begin_array().raw(ari).end_array();
  EXPECT_TRUE(utf8::is_valid(r.view()));
  EXPECT_TRUE(json::parse_utf8(r.view()));
}

TEST(JsonParse, ClientBodiesMustBeUtf8) {
  bool bad = false;
  std::string why;
  EXPECT_FALSE(
      json::parse_utf8("{\"callerId\":\"Bob <555\xFF"
                       "0111>\"}",
                       &why, &bad));
  EXPECT_TRUE(bad);
  EXPECT_NE(why.find("UTF-8"), std::string::npos) << why;
  // An escape can encode a lone surrogate, which is not text either.
  EXPECT_FALSE(json::parse_utf8(R"({"a":"\udc00"})", &why, &bad));
  EXPECT_TRUE(bad);
  // A proper pair is fine.
  auto ok = json::parse_utf8(R"({"a":"\ud83d\ude00 caf\u00e9"})", &why, &bad);
  ASSERT_TRUE(ok) << why;
  EXPECT_EQ(json::get_string(*ok, "a"), "\xF0\x9F\x98\x80 caf\xC3\xA9");
  // Bad JSON is not reported as bad UTF-8.
  EXPECT_FALSE(json::parse_utf8("{", &why, &bad));
  EXPECT_FALSE(bad);
}

TEST(JsonParse, DeepNestingIsAnErrorNotARecursion) {
  for (const std::string open : {"[", "{\"a\":"}) {
    std::string deep;
    for (int i = 0; i < 100000; ++i) deep += open;
    std::string why;
    EXPECT_FALSE(json::parse(deep, &why));
    EXPECT_NE(why.find("nested"), std::string::npos) << why;
    EXPECT_FALSE(json::parse_utf8(deep, &why));
  }
  std::string ok;
  for (size_t i = 0; i < json::kMaxDepth; ++i) ok += "[";
  for (size_t i = 0; i < json::kMaxDepth; ++i) ok += "]";
  EXPECT_TRUE(json::parse(ok));
  // Brackets inside strings do not count.
  EXPECT_TRUE(json::parse("{\"s\":\"" + std::string(10000, '[') + "\"}"));
}

TEST(JsonLog, LinesAreValidUtf8WhateverTheMessageQuotes) {
  std::ostringstream out;
  auto previous = spdlog::default_logger();
  auto logger = std::make_shared<spdlog::logger>(
      "utf8-test", std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  spdlog::set_default_logger(logger);
  ASSERT_TRUE(log::configure("info", "json"));
  log::info("GET {} 404", std::string("/nothing\xFF\xC0 \"quoted\"\n"));
  logger->flush();
  spdlog::set_default_logger(previous);
  log::configure("info", "text");

  std::string line = out.str();
  ASSERT_FALSE(line.empty());
  while (!line.empty() && line.back() == '\n') line.pop_back();
  EXPECT_TRUE(utf8::is_valid(line)) << line;
  auto doc = json::parse_utf8(line);
  ASSERT_TRUE(doc) << line;
  EXPECT_EQ(json::get_string(*doc, "msg"), "GET /nothing" + kFffd + kFffd + " \"quoted\"\n 404");
}

}  // namespace
}  // namespace aa
