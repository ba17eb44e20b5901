#pragma once
// The voice tests' rig: app::Service with its embedded simulator (real-time
// media), PocketSphinx in grammar mode, an /events client, and the simulator's
// control API (a caller who speaks and whose ears are logged). Shared by
// tests/voice and tests/stream.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "app/service.hpp"
#include "calls/call_manager.hpp"
#include "common/json.hpp"
#include "common/util.hpp"
#include "common/worker_pool.hpp"
#include "http/openapi.hpp"
#include "http/wait.hpp"
#include "net/http_client.hpp"
#include "net/ws_client.hpp"
#include "speech/asr.hpp"
#include "speech/engines.hpp"
#include "support/json_schema.hpp"
#include "support/run_io.hpp"

namespace aa::test::voice_rig {

constexpr std::string_view kJson = "application/json";

// The sentences the simulated caller says; PocketSphinx in grammar mode must
// give each back word for word.
constexpr const char* kGrammar =
    "#JSGF V1.0;\n"
    "grammar agent;\n"
    "public <s> = i would like to book a table for two | what time do you open tomorrow |"
    " please call me back later | yes please | no thank you;\n";

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path = std::filesystem::temp_directory_path() /
           ("aa-voice-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  static int& counter() {
    static int n = 0;
    return n;
  }
  std::string write(const std::string& name, const std::string& text) const {
    const auto p = path / name;
    std::ofstream(p) << text;
    return p.string();
  }
};

inline app::Config voice_config(const TempDir& dir) {
  app::Config c;
  c.api_host = "127.0.0.1";
  c.api_port = 0;
  c.sim_port = 0;
  c.sim_time_scale = 1.0;  // real-time media: the caller hears at the pace Asterisk plays
  c.log_level = "warn";
  c.speech.tts_engine = "flite";
  c.speech.asr_engine = "pocketsphinx";
  c.speech.asr_grammar_file = dir.write("agent.jsgf", kGrammar);
  return c;
}

/// The /events stream of one client, parsed as it arrives.
struct Events {
  std::shared_ptr<net::WsConnection> ws;
  std::vector<std::string> raw;

  std::vector<json::Document> of(std::string_view type, std::string_view call_id = {}) const {
    std::vector<json::Document> out;
    for (const auto& m : raw) {
      auto d = json::parse(m);
      if (!d || json::get_string(*d, "type") != type) continue;
      if (!call_id.empty() && json::get_string(*d, "callId") != call_id) continue;
      out.push_back(std::move(*d));
    }
    return out;
  }
  size_t count(std::string_view type, std::string_view call_id = {}) const {
    return of(type, call_id).size();
  }
  size_t index_of(std::string_view type, std::string_view call_id) const {
    for (size_t i = 0; i < raw.size(); ++i) {
      auto d = json::parse(raw[i]);
      if (d && json::get_string(*d, "type") == type && json::get_string(*d, "callId") == call_id)
        return i;
    }
    return raw.size();
  }
};

// (No defaulted class-type parameter on a coroutine: g++ 12, docs/CODING.md.)
inline awaitable<std::shared_ptr<Events>> connect_events(uint16_t port, std::string query) {
  auto ev = std::make_shared<Events>();
  const Url url = *parse_url("http://127.0.0.1:" + std::to_string(port));
  std::string target = "/events" + query;
  auto r = co_await net::ws_connect(url, std::move(target));
  ev->ws = r.connection;
  if (ev->ws) ev->ws->on_message = [ev](std::string_view m) { ev->raw.emplace_back(m); };
  co_return ev;
}

struct Rig {
  uint16_t port = 0;
  std::string base, sim;
  std::shared_ptr<Events> events;

  std::string api_key;  // API_KEY of the service ("" = auth off)

  awaitable<net::ClientResponse> call(std::string method, std::string path,
                                      std::string body) const {
    const std::string url = base + path;
    std::vector<net::Header> h;
    if (!api_key.empty()) h.push_back({"Authorization", "Bearer " + api_key});
    const net::ClientOptions o;
    auto r = co_await net::http_fetch(method, url, std::move(body), kJson, h, o);
    co_return r;
  }
  awaitable<net::ClientResponse> post(std::string path, std::string body) const {
    auto r = co_await call("POST", std::move(path), std::move(body));
    co_return r;
  }
  awaitable<net::ClientResponse> sim_call(std::string method, std::string path,
                                          std::string body = {}) const {
    const std::string url = sim + path;
    auto r = co_await net::http_fetch(method, url, std::move(body), kJson);
    co_return r;
  }
  /// The simulator's ARI (basic auth, as Asterisk's).
  awaitable<net::ClientResponse> sim_ari(std::string path) const {
    const std::string url = sim + "/ari" + path;
    const std::vector<net::Header> auth = {
        {"Authorization", "Basic " + base64_encode("asterisk_ari:asterisk_ari_pass")}};
    const net::ClientOptions o;
    auto r = co_await net::http_fetch("GET", url, std::string{}, kJson, auth, o);
    co_return r;
  }
  /// An inbound call from the simulated caller, answered and ready: {callId, channelId}.
  awaitable<std::pair<std::string, std::string>> inbound(std::string from = "5551234") const {
    const std::string body = R"({"from":")" + from + R"(","to":"1001"})";
    auto in = co_await sim_call("POST", "/_sim/inbound", body);
    EXPECT_EQ(in.status, 201) << in.body;
    std::string channel;
    if (auto d = json::parse(in.body)) channel = json::get_string(*d, "channelId");
    std::string call_id;
    auto ev = events;
    const bool ready = co_await test::until(
        [&] {
          for (const auto& e : ev->of("call.ready"))
            if (json::get_string(e, "channelId") == channel) {
              call_id = json::get_string(e, "callId");
              return true;
            }
          return false;
        },
        10000);
    EXPECT_TRUE(ready) << "no call.ready for inbound channel " << channel;
    co_return std::make_pair(call_id, channel);
  }
};

/// Sum of the caller's heard sound stretches, and their span, in ms.
struct Heard {
  int64_t sound_ms = 0, first_ms = -1, last_end_ms = -1;
};
inline Heard parse_heard(const std::string& body) {
  Heard h;
  auto d = json::parse(body);
  if (!d) return h;
  const json::Value* sound = json::find(*d, "sound");
  if (!sound || !sound->IsArray()) return h;
  for (const auto& s : sound->GetArray()) {
    const int64_t a = s["startMs"].GetInt64(), b = s["endMs"].GetInt64();
    h.sound_ms += b - a;
    if (h.first_ms < 0) h.first_ms = a;
    h.last_end_ms = b;
  }
  return h;
}

/// Every /events message a test saw matches the OpenAPI document's message schema
/// (the voice events, their compat top-level fields, call.inbound/answered/blocked).
inline void expect_events_match_the_document(const std::vector<std::string>& raw) {
  auto doc = json::parse(http::openapi_json());
  ASSERT_TRUE(doc.has_value());
  const json::Value* schema = &*doc;
  for (const char* k :
       {"paths", "/events", "get", "responses", "101", "content", "application/json", "schema"}) {
    schema = json::find(*schema, k);
    ASSERT_NE(schema, nullptr) << k;
  }
  const test::JsonSchema js(*doc);
  for (const auto& m : raw) {
    auto d = json::parse(m);
    ASSERT_TRUE(d.has_value()) << m;
    const auto problems = js.validate(*schema, *d);
    std::string all;
    for (const auto& p : problems) all += "\n  " + p.substr(0, 300);
    EXPECT_TRUE(problems.empty()) << m.substr(0, 400) << all;
  }
}

inline void run_service_on(asio::io_context& io, app::Config cfg,
                           std::function<awaitable<void>(app::Service&, Rig&)> body,
                           std::chrono::seconds limit = std::chrono::seconds(60)) {
  app::Service svc(io, std::move(cfg));
  Rig rig;
  rig.port = svc.start();
  rig.base = "http://127.0.0.1:" + std::to_string(rig.port);
  rig.sim = svc.simulator_url();
  rig.api_key = svc.config().api_key;
  test::run_coro(
      io,
      [&]() -> awaitable<void> {
        const bool up = co_await test::until([&] { return svc.calls().ari_connected(); });
        EXPECT_TRUE(up);
        std::string query = rig.api_key.empty() ? std::string{} : "?api_key=" + rig.api_key;
        rig.events = co_await connect_events(rig.port, std::move(query));
        CO_ASSERT_TRUE(rig.events->ws != nullptr);
        co_await body(svc, rig);
        expect_events_match_the_document(rig.events->raw);
        if (rig.events->ws) rig.events->ws->close(1000);
        co_await svc.shutdown();
      },
      limit);
}

inline void run_service(app::Config cfg, std::function<awaitable<void>(app::Service&, Rig&)> body,
                        std::chrono::seconds limit = std::chrono::seconds(60)) {
  asio::io_context io;
  run_service_on(io, std::move(cfg), std::move(body), limit);
}

/// What PocketSphinx (grammar mode, `grammar_file`) makes of 16 kHz `pcm`: the
/// last final transcription ("" if none). `pool` must outlive the io context.
inline awaitable<std::string> transcribe(std::vector<int16_t> pcm, std::string grammar_file,
                                         WorkerPool& pool) {
  auto ex = co_await asio::this_coro::executor;
  speech::SpeechOptions so;
  so.asr_engine = "pocketsphinx";
  so.asr_grammar_file = grammar_file;
  auto engine = speech::make_asr_engine(so, ex, pool);
  EXPECT_TRUE(engine.ok() && *engine);
  if (!engine.ok() || !*engine) co_return std::string{};
  std::string text;
  bool done = false;
  speech::AsrCallbacks cb;
  cb.on_transcript = [&](const speech::Transcript& t) {
    if (t.is_final && !t.text.empty()) text = t.text;
  };
  cb.on_error = [&](const Error& e) { ADD_FAILURE() << e.message; };
  auto session = (*engine)->open(speech::AsrSessionOptions{}, std::move(cb));
  EXPECT_TRUE(session.ok());
  if (!session.ok()) co_return std::string{};
  for (size_t at = 0; at < pcm.size(); at += 1600)
    (*session)->feed(
        std::span<const int16_t>(pcm.data() + at, std::min<size_t>(1600, pcm.size() - at)));
  (*session)->finish([&] { done = true; });
  const bool finished = co_await test::until([&] { return done; }, 15000);
  EXPECT_TRUE(finished);
  session->reset();
  co_return text;
}

}  // namespace aa::test::voice_rig
