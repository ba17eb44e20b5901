// The chan_websocket control codec against the exact texts a real Asterisk 22
// sent and accepted (../shared/ari-traces/chan-websocket-*.jsonl).
#include "media/chan_websocket.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "common/json.hpp"

namespace aa::media::cws {
namespace {

namespace fs = std::filesystem;

std::optional<fs::path> traces_dir() {
  std::vector<fs::path> candidates;
  if (const char* env = std::getenv("AA_SHARED_DIR"); env && *env) candidates.emplace_back(env);
  candidates.emplace_back("../shared");
  candidates.emplace_back("../../shared");
  for (auto& c : candidates)
    if (fs::exists(c / "ari-traces" / "chan-websocket-basic.jsonl")) return c / "ari-traces";
  return std::nullopt;
}

struct TraceText {
  std::string file, direction, text;
};

std::vector<TraceText> media_texts() {
  std::vector<TraceText> out;
  auto dir = traces_dir();
  if (!dir) return out;
  for (const auto& entry : fs::directory_iterator(*dir)) {
    const auto name = entry.path().filename().string();
    if (!name.starts_with("chan-websocket-")) continue;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      auto d = json::parse(line);
      if (!d || json::get_string(*d, "kind") != "media-text") continue;
      out.push_back({name, std::string(json::get_string(*d, "direction")),
                     std::string(json::get_string(*d, "text"))});
    }
  }
  return out;
}

TEST(ChanWebsocket, EveryEventAsteriskSentParsesAndFormatsBackExactly) {
  auto texts = media_texts();
  if (texts.empty()) GTEST_SKIP() << "../shared/ari-traces not found (set AA_SHARED_DIR)";
  int checked = 0;
  for (const auto& t : texts) {
    if (t.direction != "in") continue;
    auto e = parse_event(t.text);
    ASSERT_TRUE(e) << t.file << ": " << t.text;
    EXPECT_NE(e->type, EventType::unknown) << t.text;
    EXPECT_EQ(format_event(*e, e->form), t.text) << t.file;
    ++checked;
  }
  EXPECT_GT(checked, 30);
}

TEST(ChanWebsocket, EveryKnownCommandSentFormatsAsRecorded) {
  auto texts = media_texts();
  if (texts.empty()) GTEST_SKIP() << "../shared/ari-traces not found (set AA_SHARED_DIR)";
  int checked = 0;
  for (const auto& t : texts) {
    if (t.direction != "out" || t.text.size() > kMaxTextMessage) continue;
    const Form form = t.text.front() == '{' ? Form::json : Form::plain;
    auto c = parse_command(t.text, form);
    if (!c || c->type == CommandType::unknown || c->type == CommandType::set_media_direction)
      continue;
    EXPECT_EQ(format_command(c->type, form, c->correlation_id), t.text) << t.file;
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST(ChanWebsocket, PlainMediaStartGivesFrameSizeAndChannel) {
  auto e = parse_event(
      "MEDIA_START connection_id:15ad connection channel:WebSocket/INCOMING/0x7f0f channel_id:cw-1 "
      "format:slin16 optimal_frame_size:640 ptime:20");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, EventType::media_start);
  EXPECT_EQ(e->form, Form::plain);
  EXPECT_EQ(e->channel_id, "cw-1");
  EXPECT_EQ(e->format, "slin16");
  EXPECT_EQ(e->optimal_frame_size, 640);
  EXPECT_EQ(e->ptime, 20);
}

TEST(ChanWebsocket, MediaStartOf22_6HasNoChannelId) {
  auto e = parse_event(
      "MEDIA_START connection_id:abc channel:WebSocket/INCOMING/0x1 format:slin16 "
      "optimal_frame_size:640 ptime:20");
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->channel_id.empty());
  EXPECT_EQ(e->optimal_frame_size, 640);
}

TEST(ChanWebsocket, JsonEventsCarryTypedFields) {
  auto e = parse_event(
      R"({"event":"STATUS","channel_id":"c","queue_length":449,"xon_level":800,"xoff_level":900,"queue_full":true,"bulk_media":false,"media_paused":true})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->form, Form::json);
  EXPECT_EQ(e->queue_length, 449);
  EXPECT_TRUE(e->queue_full);
  EXPECT_TRUE(e->media_paused);
  auto m =
      parse_event(R"({"event":"MEDIA_MARK_PROCESSED","channel_id":"c","correlation_id":"x1"})");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->type, EventType::media_mark_processed);
  EXPECT_EQ(m->correlation_id, "x1");
}

TEST(ChanWebsocket, ErrorTextKeepsSpacesAndTrailingNewline) {
  auto e = parse_event(
      "ERROR channel_id:cw-buf error_text:SET_MEDIA_DIRECTION only supports JSON format.\n");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->type, EventType::error);
  EXPECT_EQ(e->error_text, "SET_MEDIA_DIRECTION only supports JSON format.\n");
}

TEST(ChanWebsocket, BrokenJsonIsNotAnEvent) {
  EXPECT_FALSE(parse_event("{\"event\":"));
  EXPECT_FALSE(parse_event("{}"));
  EXPECT_FALSE(parse_event(""));
}

TEST(ChanWebsocket, CommandsInBothForms) {
  EXPECT_EQ(format_command(CommandType::mark_media, Form::plain, "s1"), "MARK_MEDIA s1");
  EXPECT_EQ(format_command(CommandType::mark_media, Form::json, "s1"),
            R"({"command":"MARK_MEDIA","correlation_id":"s1"})");
  EXPECT_EQ(format_command(CommandType::flush_media, Form::plain, "ignored"), "FLUSH_MEDIA");
  EXPECT_EQ(format_command(CommandType::flush_media, Form::json), R"({"command":"FLUSH_MEDIA"})");
  auto c = parse_command("GET_STATUS", Form::json);
  EXPECT_FALSE(c);  // JSON mode: a plain command is "Unable to parse JSON command"
  auto p = parse_command("STOP_MEDIA_BUFFERING b2", Form::plain);
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, CommandType::stop_media_buffering);
  EXPECT_EQ(p->correlation_id, "b2");
}

}  // namespace
}  // namespace aa::media::cws
