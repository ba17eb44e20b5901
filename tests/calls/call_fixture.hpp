#pragma once
// The calls domain driven by ARI events, with a scripted ARI (no sockets):
// a fixture, and builders for ARI events. Trace-based helpers replay real
// Asterisk 22 event sequences from ../shared/ari-traces.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "calls/call_manager.hpp"
#include "calls/fake_ari.hpp"
#include "media/media_store.hpp"
#include "support/run_io.hpp"

namespace aa::test {

using namespace aa::calls;

struct CollectingSink : EventSink {
  std::vector<DomainEvent> events;
  void publish(const DomainEvent& e) override { events.push_back(e); }
  std::vector<std::string> kinds(const std::string& call_id = {}) const {
    std::vector<std::string> out;
    for (auto& e : events)
      if (call_id.empty() || e.call_id == call_id) {
        std::string k(event_type_name(e.kind));
        if (e.kind == EventKind::call_state_changed) k += ":" + std::string(to_string(e.state));
        out.push_back(k);
      }
    return out;
  }
};

inline std::string channel_json(const std::string& id, const std::string& state,
                                const std::string& caller = "", const std::string& exten = "100") {
  return R"({"id":")" + id + R"(","name":"PJSIP/x","state":")" + state +
         R"(","protocol_id":"","caller":{"name":"","number":")" + caller +
         R"("},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"c","exten":")" +
         exten +
         R"(","priority":1,"app_name":"","app_data":""},"creationtime":"2026-01-01T00:00:00.000+0000","language":"en"})";
}

inline ari::Event event(const std::string& json) {
  auto e = ari::parse_event(json);
  EXPECT_TRUE(e.has_value()) << json;
  return *e;
}
inline ari::Event chan_event(const std::string& type, const std::string& id,
                             const std::string& state, const std::string& extra = "") {
  return event(R"({"type":")" + type + R"(","application":"openclaw-voice","timestamp":"t",)" +
               extra + (extra.empty() ? "" : ",") + R"("channel":)" + channel_json(id, state) +
               "}");
}
inline ari::Event dial(const std::string& id, const std::string& state, const std::string& status) {
  return event(R"({"type":"Dial","application":"openclaw-voice","timestamp":"t","dialstatus":")" +
               status + R"(","peer":)" + channel_json(id, state) + "}");
}
inline ari::Event playback_event(const std::string& type, const std::string& id,
                                 const std::string& state) {
  return event(R"({"type":")" + type + R"(","application":"a","timestamp":"t","playback":{"id":")" +
               id +
               R"(","media_uri":"sound:x","target_uri":"channel:c","language":"en","state":")" +
               state + R"("}})");
}

inline ari::Event recording_event(const std::string& type, const std::string& name,
                                  const std::string& state, const std::string& cause = "") {
  return event(R"({"type":")" + type +
               R"(","application":"a","timestamp":"t","recording":{"name":")" + name +
               R"(","format":"wav","target_uri":"channel:c","state":")" + state + R"(","cause":")" +
               cause + R"("}})");
}

/// A channel as GET /channels lists it: in Stasis(<app_data>) when app_data is set.
inline ari::Channel listed_channel(const std::string& id, const std::string& state,
                                   const std::string& app_data, const std::string& name = "",
                                   const std::string& caller_name = "",
                                   const std::string& caller_number = "") {
  ari::Channel ch;
  ch.id = id;
  ch.name = name.empty() ? "PJSIP/1001-0000002a" : name;
  ch.state = state;
  ch.caller = {caller_name, caller_number};
  ch.dialplan.context = "openclaw-voice";
  ch.dialplan.exten = "1001";
  ch.dialplan.priority = 1;
  ch.dialplan.app_name = app_data.empty() ? "Wait" : "Stasis";
  ch.dialplan.app_data = app_data.empty() ? "600" : app_data;
  return ch;
}

struct Fixture : ::testing::Test {
  asio::io_context io;
  FakeAri ari;
  CollectingSink sink;
  media::MediaStore media;
  std::unique_ptr<CallManager> mgr;

  void SetUp() override {
    CallManagerOptions o;
    o.media_base_url = "http://127.0.0.1:3456";
    o.record_start_wait = std::chrono::milliseconds(200);  // the fake sends no events by itself
    configure(o);
    mgr = std::make_unique<CallManager>(io.get_executor(), ari, sink, media, o);
    mgr->on_ari_connection(true);
    settle();  // the start-up reconciliation (ari.channels is empty)
  }
  /// Run what is ready on the io_context (spawned tasks), without waiting.
  void settle() {
    io.poll();
    io.restart();
  }
  /// Change the manager's options before it is built.
  virtual void configure(CallManagerOptions&) {}
  void run(std::function<awaitable<void>()> f) { run_coro(io, std::move(f)); }

  /// Originate through the manager; returns the call record.
  CallRecord originate(const std::string& endpoint = "PJSIP/1001") {
    CallRecord out;
    run([&]() -> awaitable<void> {
      OriginateRequest r;
      r.endpoint = endpoint;
      r.caller_id = "\"Alice\" <5551234>";
      auto c = co_await mgr->originate(r);
      EXPECT_TRUE(c.ok()) << c.error().message;
      if (c) out = *c;
    });
    return out;
  }
  /// An outbound call taken to answered + in Stasis.
  CallRecord answered_call() {
    auto c = originate();
    mgr->on_ari_event(chan_event("ChannelStateChange", c.channel_id, "Up"));
    mgr->on_ari_event(chan_event("StasisStart", c.channel_id, "Up", R"("args":["dialed"])"));
    return c;
  }
};

/// Replays the events of `trace` that concern `trace_channel`, renamed to `our_channel`.
/// Returns false when ../shared is not there.
inline bool replay_trace(CallManager& mgr, const std::string& trace,
                         const std::string& trace_channel, const std::string& our_channel) {
  const char* env = std::getenv("AA_SHARED_DIR");
  std::filesystem::path dir = env ? env : "../shared";
  std::ifstream in(dir / "ari-traces" / trace);
  if (!in) return false;
  std::string line;
  while (std::getline(in, line)) {
    auto doc = json::parse(line);
    if (!doc || json::get_string(*doc, "kind") != "event") continue;
    const json::Value* ev = json::find(*doc, "event");
    if (!ev) continue;
    std::string text = json::stringify(*ev);
    // Only events about our channel (not the Local ;2 half).
    if (text.find("\"" + trace_channel + "\"") == std::string::npos) continue;
    size_t pos = 0;
    std::string needle = "\"" + trace_channel + "\"";
    while ((pos = text.find(needle, pos)) != std::string::npos) {
      text.replace(pos, needle.size(), "\"" + our_channel + "\"");
      pos += our_channel.size() + 2;
    }
    auto e = ari::parse_event(text);
    if (e) mgr.on_ari_event(*e);
  }
  return true;
}

}  // namespace aa::test
