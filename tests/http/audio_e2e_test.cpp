// POST /calls/:id/play/file end to end: uploads in any PCM WAV format are
// converted to what Asterisk plays from a URL and the (strict) simulator plays
// them to the end; what cannot be converted is a 400; uploads live on disk and
// the store's cap is a 507 with Retry-After. Assertions hold whether play/file
// answers at once or after the playback (they look at events and the store).
#include <gtest/gtest.h>

#include <filesystem>

#include "audio/wav.hpp"
#include "http/harness.hpp"
#include "support/wav_builder.hpp"

namespace aa {
namespace {

using test::body_of;
using test::Service;

std::string tone_wav(uint32_t rate, uint16_t channels, uint16_t bits, double seconds) {
  test::WavSpec s;
  s.rate = rate;
  s.channels = channels;
  s.bits = bits;
  s.data =
      test::encode(test::sine(1000, rate, static_cast<size_t>(rate * seconds)), channels, bits);
  return test::build_wav(s);
}

/// The data of the first event of `type` whose media contains `needle`, or null.
const json::Value* media_event(const std::vector<json::Document>& docs, std::string_view type,
                               std::string_view needle) {
  for (const auto& d : docs) {
    if (json::get_string(d, "type") != type) continue;
    const auto* data = json::find(d, "data");
    if (data && json::get_string(*data, "media").find(needle) != std::string_view::npos)
      return data;
  }
  return nullptr;
}

std::vector<json::Document> parsed(const test::WsLog& log) {
  std::vector<json::Document> out;
  for (const auto& m : log.raw)
    if (auto d = json::parse(m)) out.push_back(std::move(*d));
  return out;
}

size_t files_in(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) n += e.is_regular_file();
  return n;
}

/// Originate a call to PJSIP/1001 and wait until it is ready; "" on failure.
awaitable<std::string> answered_call(Service& s, test::WsLog& ws) {
  const std::string target = "/calls", body = R"({"endpoint":"PJSIP/1001","timeout":10})";
  auto created = co_await s.post(target, body);
  EXPECT_EQ(created.status, 201) << created.body;
  auto cd = body_of(created);
  const std::string id(json::get_string(cd, "callId"));
  auto ready = [&] {
    for (const auto& d : parsed(ws))
      if (json::get_string(d, "type") == "call.ready" && json::get_string(d, "callId") == id)
        return true;
    return false;
  };
  const bool ok = co_await test::until(ready);
  EXPECT_TRUE(ok);
  co_return ok ? id : std::string{};
}

// Arguments are references to the caller's named values (g++ 12: no temporaries
// around co_await).
awaitable<net::ClientResponse> upload(Service& s, const std::string& id, const std::string& wav,
                                      const std::string& filename) {
  std::vector<net::Header> h = s.auth_headers();
  h.push_back({"Content-Disposition", "attachment; filename=\"" + filename + "\""});
  const std::string target = "/calls/" + id + "/play/file";
  const std::string method = "POST", type = "audio/wav";
  auto r = co_await s.call(method, target, wav, type, h);
  co_return r;
}

TEST(PlayFile, EveryPcmWavIsConvertedAndPlaysToTheEnd) {
  Service s;
  s.run([&]() -> awaitable<void> {
    const bool up = co_await s.ready();
    EXPECT_TRUE(up);
    auto ws = co_await s.connect_events();
    const std::string id = co_await answered_call(s, *ws);
    if (id.empty()) co_return;
    struct Case {
      const char* name;
      std::string wav;
      const char* served_as;
    };
    // The four uploads real Asterisk 22 failed when they were passed through unchanged.
    const std::vector<Case> cases = {
        {"tts24k", tone_wav(24000, 1, 16, 0.5), ".wav16"},
        {"wide16k", tone_wav(16000, 1, 16, 0.5), ".wav16"},
        {"cd44k", tone_wav(44100, 2, 16, 0.5), ".wav16"},
        {"byte8k", tone_wav(8000, 1, 8, 0.5), ".wav"},
    };
    for (const auto& c : cases) {
      SCOPED_TRACE(c.name);
      const std::string file = std::string(c.name) + ".wav";
      auto r = co_await upload(s, id, c.wav, file);
      EXPECT_EQ(r.status, 200) << r.body;
      EXPECT_EQ(json::get_string(body_of(r), "soundName"), c.name);
      const std::string needle = std::string("/") + c.name + c.served_as;
      auto finished = [&] {
        return media_event(parsed(*ws), "call.playback_finished", needle) != nullptr;
      };
      const bool fin = co_await test::until(finished);
      EXPECT_TRUE(fin) << "no playback_finished for " << needle;
      if (!fin) continue;
      const auto docs = parsed(*ws);
      const auto* data = media_event(docs, "call.playback_finished", needle);
      // The simulator refuses what Asterisk refuses: "done" means it was playable.
      EXPECT_EQ(json::get_string(*data, "status"), "done");
      const std::string media(json::get_string(*data, "media"));
      EXPECT_TRUE(media.ends_with(needle)) << media;
      EXPECT_NE(media.find("/media/"), std::string::npos) << media;
    }
    // Each file went when its playback ended.
    const bool emptied = co_await test::until([&] { return s.media->size() == 0; });
    EXPECT_TRUE(emptied);
    EXPECT_EQ(files_in(s.media->directory()), 0u);
    const std::string call_path = "/calls/" + id;
    co_await s.del(call_path);
  });
}

TEST(PlayFile, UnconvertibleAudioIsA400NamingTheRequiredFormat) {
  Service s;
  s.run([&]() -> awaitable<void> {
    const bool up = co_await s.ready();
    EXPECT_TRUE(up);
    auto ws = co_await s.connect_events();
    const std::string id = co_await answered_call(s, *ws);
    if (id.empty()) co_return;
    test::WavSpec ulaw;
    ulaw.tag = 7;
    ulaw.bits = 8;
    ulaw.data = std::string(8000, '\xff');
    struct Case {
      std::string wav;
      const char* problem;
    };
    const std::vector<Case> cases = {
        {test::build_wav(ulaw), "mu-law"},
        {tone_wav(96000, 1, 16, 0.1), "96000 Hz"},
        {tone_wav(48000, 4, 16, 0.1), "4 channels"},
        {tone_wav(16000, 1, 16, 0.5).substr(0, 1000), "truncated"},  // cut in its data chunk
    };
    const std::string file = "bad.wav";
    for (const auto& c : cases) {
      auto r = co_await upload(s, id, c.wav, file);
      EXPECT_EQ(r.status, 400) << r.body;
      auto d = body_of(r);
      EXPECT_EQ(json::get_string(d, "code"), "VALIDATION_FAILED");
      EXPECT_NE(json::get_string(d, "error").find("PCM WAV"), std::string_view::npos) << r.body;
      EXPECT_NE(r.body.find(c.problem), std::string::npos) << r.body;
    }
    // Checked before the call: an unknown call with a bad WAV is still a 400.
    const std::string unknown_id = "no-such-call";
    auto unknown = co_await upload(s, unknown_id, cases[0].wav, file);
    EXPECT_EQ(unknown.status, 400) << unknown.body;
    EXPECT_EQ(s.media->size(), 0u);
    const std::string call_path = "/calls/" + id;
    co_await s.del(call_path);
  });
}

TEST(PlayFile, UploadsAreServedFromDiskAndGoneWhenTheCallEnds) {
  Service s;
  s.run([&]() -> awaitable<void> {
    const bool up = co_await s.ready();
    EXPECT_TRUE(up);
    auto ws = co_await s.connect_events();
    const std::string id = co_await answered_call(s, *ws);
    if (id.empty()) co_return;
    // 150 s of 24 kHz (7.2 MB): 3 s at the harness's time scale, long enough to look at.
    const std::string long_wav = tone_wav(24000, 1, 16, 150), long_name = "long.wav";
    auto task = [&]() -> awaitable<void> {
      auto r = co_await upload(s, id, long_wav, long_name);
      EXPECT_NE(r.status, 400) << r.body;
    };
    bool uploaded = false;
    asio::co_spawn(s.io, task(), [&](std::exception_ptr) { uploaded = true; });
    auto started = [&] {
      return media_event(parsed(*ws), "call.playback_started", "/long.wav16") != nullptr;
    };
    const bool playing = co_await test::until(started);
    EXPECT_TRUE(playing);
    if (!playing) co_return;
    EXPECT_EQ(s.media->size(), 1u);
    EXPECT_EQ(files_in(s.media->directory()), 1u);
    const auto docs = parsed(*ws);
    const std::string media(
        json::get_string(*media_event(docs, "call.playback_started", "/long.wav16"), "media"));
    const std::string path = media.substr(media.find("/media/"));
    const std::string get = "GET", none;
    const std::vector<net::Header> no_headers;  // no API key: the token is the secret
    auto served = co_await s.call(get, path, none, none, no_headers);
    EXPECT_EQ(served.status, 200);
    // Not audio/wav: Asterisk would then read it with its 8 kHz reader.
    EXPECT_EQ(served.content_type, "application/octet-stream");
    auto wav = audio::parse_wav(served.body);
    EXPECT_TRUE(wav) << (wav ? "" : wav.error().message);
    if (wav) {
      EXPECT_EQ(wav->format.rate_hz, 16000u);
      EXPECT_EQ(wav->format.channels, 1);
      EXPECT_EQ(wav->pcm.duration_ms(), 150000);
    }
    const std::string call_path = "/calls/" + id;
    auto hung = co_await s.del(call_path);
    EXPECT_EQ(hung.status, 200) << hung.body;
    const bool gone = co_await test::until([&] { return s.media->size() == 0; });
    EXPECT_TRUE(gone);
    EXPECT_EQ(files_in(s.media->directory()), 0u);
    auto after = co_await s.call(get, path, none, none, no_headers);
    EXPECT_EQ(after.status, 404);
    const bool done = co_await test::until([&] { return uploaded; }, 15000);
    EXPECT_TRUE(done);
  });
}

TEST(PlayFile, AFullMediaStoreIsA507WithRetryAfter) {
  test::HarnessOptions o;
  o.media.max_files = 1;
  Service s(o);
  s.run([&]() -> awaitable<void> {
    const bool up = co_await s.ready();
    EXPECT_TRUE(up);
    auto ws = co_await s.connect_events();
    const std::string id = co_await answered_call(s, *ws);
    if (id.empty()) co_return;
    const std::string first_wav = tone_wav(8000, 1, 16, 300), first_name = "first.wav";
    const std::string second_wav = tone_wav(8000, 1, 16, 0.1), second_name = "second.wav";
    auto task = [&]() -> awaitable<void> {
      auto r = co_await upload(s, id, first_wav, first_name);
      EXPECT_NE(r.status, 507) << r.body;
    };
    bool first_done = false;
    asio::co_spawn(s.io, task(), [&](std::exception_ptr) { first_done = true; });
    const bool stored = co_await test::until([&] { return s.media->size() == 1; });
    EXPECT_TRUE(stored);
    // The first file is playing: the store is at its cap, and says so.
    auto full = co_await upload(s, id, second_wav, second_name);
    EXPECT_EQ(full.status, 507) << full.body;
    EXPECT_EQ(json::get_string(body_of(full), "code"), "MEDIA_STORE_FULL");
    const std::string retry(full.header("Retry-After"));
    EXPECT_FALSE(retry.empty());
    if (!retry.empty()) {
      EXPECT_GE(std::stoi(retry), 1);
      EXPECT_LE(std::stoi(retry), 30);
    }
    EXPECT_EQ(files_in(s.media->directory()), 1u);  // nothing evicted under the playing call
    const std::string call_path = "/calls/" + id;
    co_await s.del(call_path);
    const bool done = co_await test::until([&] { return first_done; }, 15000);
    EXPECT_TRUE(done);
    EXPECT_EQ(s.media->size(), 0u);
  });
}

}  // namespace
}  // namespace aa
