// Fuzzing the ARI parsers (events and models) with mutations of real Asterisk
// 22 traces: no crash or out-of-bounds read (ASan), and what we write back
// from whatever was parsed is valid JSON and valid UTF-8.
#include <gtest/gtest.h>

#include "ari/models.hpp"
#include "common/utf8.hpp"
#include "fuzz/fuzz.hpp"

namespace aa::fuzz {
namespace {

/// The `event` objects and REST response bodies of the traces, as text.
struct AriSeeds {
  std::vector<std::string> events;
  std::vector<std::string> bodies;
};

AriSeeds ari_seeds() {
  AriSeeds s;
  for (const auto& line : trace_lines()) {
    auto d = json::parse(line);
    if (!d) continue;
    if (const auto* e = json::find(*d, "event"); e && e->IsObject())
      s.events.push_back(json::stringify(*e));
    if (json::get_string(*d, "kind") == "rest") {
      if (const auto* b = json::find(*d, "body"); b && (b->IsObject() || b->IsArray()))
        s.bodies.push_back(json::stringify(*b));
    }
  }
  // Built-in seeds (the traces may be absent), with the issue's bad byte.
  s.events.push_back(
      "{\"type\":\"StasisStart\",\"timestamp\":\"2026-11-26T02:36:46.773+0000\",\"args\":[],"
      "\"channel\":{\"id\":\"1.1\",\"name\":\"PJSIP/1001-1\",\"state\":\"Ring\",\"caller\":{"
      "\"name\":\"Bob \xFF\",\"number\":\"555\xFF"
      "0111\"},\"connected\":{\"name\":\"\",\"number\":"
      "\"\"},\"accountcode\":\"\",\"dialplan\":{\"context\":\"c\",\"exten\":\"1\",\"priority\":1,"
      "\"app_name\":\"Stasis\",\"app_data\":\"openclaw-voice\"},\"creationtime\":\"x\","
      "\"language\":\"en\",\"channelvars\":{\"A\":{\"deep\":[1,2,{\"x\":\"\xC0\"}]}}},"
      "\"asterisk_id\":\"02:fc\",\"application\":\"openclaw-voice\"}");
  s.events.push_back(R"({"type":"ChannelDtmfReceived","digit":"1","duration_ms":100,)"
                     R"("channel":{"id":"c"},"application":"a"})");
  s.events.push_back(R"({"type":"Dial","dialstatus":"BUSY","peer":{"id":"p"},"application":"a"})");
  s.events.push_back(R"({"type":"PlaybackFinished","playback":{"id":"p","media_uri":"sound:x",)"
                     R"("state":"failed"},"application":"a"})");
  s.events.push_back(R"({"type":"ChannelDestroyed","cause":0,"cause_txt":"Unknown",)"
                     R"("channel":{"id":"c"},"application":"a"})");
  s.events.push_back(R"({"type":"BridgeDestroyed","bridge":{"id":"b","channels":["c"]}})");
  s.bodies.push_back(R"({"id":"b","technology":"simple_bridge","bridge_type":"mixing",)"
                     R"("bridge_class":"stasis","channels":["a","b"],"name":"n\u00e9"})");
  s.bodies.push_back(R"([{"technology":"PJSIP","resource":"1001","state":"online",)"
                     R"("channel_ids":[]}])");
  s.bodies.push_back(R"({"name":"rec","format":"wav","state":"recording","duration":3})");
  return s;
}

/// Valid UTF-8 bytes and valid JSON. (Not parse_utf8: an event we do not model
/// is passed through as Asterisk sent it, and a `\udc00` escape in it is valid
/// JSON text, though it decodes to a lone surrogate.)
void expect_valid_output(const std::string& out, const std::string& input) {
  ASSERT_TRUE(utf8::is_valid(out))
      << "output: " << testing::PrintToString(out) << "\ninput: " << testing::PrintToString(input);
  std::string why;
  ASSERT_TRUE(json::parse(out, &why)) << why << "\noutput: " << testing::PrintToString(out)
                                      << "\ninput: " << testing::PrintToString(input);
}

/// Every model parser on `v` (and on each element of an array), written back.
void parse_and_write_models(const json::Value& v, const std::string& input) {
  expect_valid_output(ari::to_json(ari::parse_channel(v)), input);
  expect_valid_output(ari::to_json(ari::parse_bridge(v)), input);
  expect_valid_output(ari::to_json(ari::parse_playback(v)), input);
  expect_valid_output(ari::to_json(ari::parse_live_recording(v)), input);
  expect_valid_output(ari::to_json(ari::parse_stored_recording(v)), input);
  expect_valid_output(ari::to_json(ari::parse_endpoint(v)), input);
  expect_valid_output(ari::to_json(ari::parse_asterisk_info(v, json::stringify(v))), input);
}

TEST(FuzzAri, EventParserSurvivesMutatedTracesAndWritesValidUtf8) {
  const AriSeeds seeds = ari_seeds();
  if (seeds.events.size() < 10)
    std::printf("note: no ARI traces under $AA_SHARED_DIR/ari-traces; built-in seeds only\n");
  Rng r(seed(1));
  const size_t n = iterations(6000);
  size_t parsed = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::string& base = r.pick(seeds.events);
    const std::string input =
        r.chance(60) ? mutate_json(r, base) : r.mutate(base, r.pick(seeds.events));
    auto e = ari::parse_event(input);
    if (!e) continue;
    ++parsed;
    expect_valid_output(ari::to_json(*e), input);
    if (HasFatalFailure()) return;
  }
  EXPECT_GT(parsed, n / 4);  // the mutations keep most inputs parseable
}

TEST(FuzzAri, ModelParsersSurviveMutatedRestBodies) {
  const AriSeeds seeds = ari_seeds();
  Rng r(seed(2));
  const size_t n = iterations(3000);
  for (size_t i = 0; i < n; ++i) {
    const std::string& base = r.pick(r.chance(50) ? seeds.bodies : seeds.events);
    const std::string input = r.chance(70) ? mutate_json(r, base) : r.mutate(base);
    auto doc = json::parse(input);
    if (!doc) continue;
    parse_and_write_models(*doc, input);
    if (doc->IsArray())
      for (const auto& item : doc->GetArray()) parse_and_write_models(item, input);
    if (doc->IsObject())
      for (const auto& m : doc->GetObject()) parse_and_write_models(m.value, input);
    if (HasFatalFailure()) return;
  }
}

TEST(FuzzAri, ParserRejectsDeepNestingWithoutRecursing) {
  for (const std::string open : {"[", "{\"a\":", "{\"channel\":"}) {
    std::string deep = R"({"type":"StasisStart","x":)";
    for (int i = 0; i < 200000; ++i) deep += open;
    EXPECT_FALSE(ari::parse_event(deep));
  }
}

}  // namespace
}  // namespace aa::fuzz
