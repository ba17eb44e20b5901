// Issue 12 end to end, in-process against the simulator: /events?since= replays
// a client's missed events exactly once with no gap or duplicate at the seam,
// filters follow one call, a since older than the log gets a gap and the
// snapshot, GET /events/log, call history (pagination stable while calls are
// added, a call from an earlier run by id, seq continuing), transcripts, and a
// full disk that degrades health without a crash.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "sinks/event_hub.hpp"
#include "store/event_store.hpp"
#include "support/voice_rig.hpp"

using namespace aa;
using namespace aa::test::voice_rig;

namespace {

app::Config store_config(const TempDir& dir) {
  app::Config c = voice_config(dir);
  c.data_dir = (dir.path / "data").string();
  c.asr_auto_start = "off";  // no captures unless a test asks: the events are what counts
  return c;
}

std::vector<uint64_t> seqs_of(const std::vector<std::string>& raw, uint64_t after = 0) {
  std::vector<uint64_t> out;
  for (const auto& m : raw) {
    auto d = json::parse(m);
    if (!d) continue;
    const auto* s = json::find(*d, "seq");
    if (s && s->IsUint64() && s->GetUint64() > after) out.push_back(s->GetUint64());
  }
  return out;
}

std::string type_of(const std::string& m) {
  auto d = json::parse(m);
  return d ? std::string(json::get_string(*d, "type")) : std::string{};
}

awaitable<net::ClientResponse> dtmf(const Rig& rig, const std::string& channel,
                                    std::string digits) {
  auto r = co_await rig.sim_call("POST", "/_sim/channels/" + channel + "/dtmf",
                                 R"({"digits":")" + digits + R"("})");
  co_return r;
}

}  // namespace

TEST(Replay, AClientAwayFiveSecondsDuringABusyCallGetsEveryEventOnceInOrder) {
  TempDir dir;
  run_service(
      store_config(dir),
      [&](app::Service&, Rig& rig) -> awaitable<void> {
        auto [call_id, channel] = co_await rig.inbound();
        // B follows the call, then drops off.
        auto b = co_await connect_events(rig.port, "");
        CO_ASSERT_TRUE(b->ws != nullptr);
        auto r0 = co_await dtmf(rig, channel, "1");
        EXPECT_EQ(r0.status, 204);
        co_await test::until([&] { return !seqs_of(b->raw).empty(); });
        const auto seen = seqs_of(b->raw);
        CO_ASSERT_TRUE(!seen.empty());
        const uint64_t last = seen.back();
        b->ws->close(1000);
        // 5 s of a busy call while B is away: a digit every 50 ms.
        const auto away_until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        int sent = 0;
        while (std::chrono::steady_clock::now() < away_until) {
          auto r = co_await dtmf(rig, channel, std::to_string(sent % 10));
          EXPECT_EQ(r.status, 204);
          ++sent;
          co_await sleep_for(std::chrono::milliseconds(50));
        }
        // B comes back with since while digits keep coming (the seam is crossed live).
        const std::string q = "?since=" + std::to_string(last);
        auto b2 = co_await connect_events(rig.port, q);
        CO_ASSERT_TRUE(b2->ws != nullptr);
        for (int i = 0; i < 20; ++i) {
          auto r = co_await dtmf(rig, channel, "#");
          EXPECT_EQ(r.status, 204);
          co_await sleep_for(std::chrono::milliseconds(20));
        }
        auto ref = rig.events;
        const bool caught_up = co_await test::until(
            [&] {
              const auto a = seqs_of(ref->raw, last), bb = seqs_of(b2->raw);
              return !a.empty() && !bb.empty() && bb.back() == a.back() &&
                     ref->count("call.dtmf") >= static_cast<size_t>(sent + 21);
            },
            15000);
        EXPECT_TRUE(caught_up);
        // Exactly what the always-connected client got after `last`: once each, in order.
        const auto expected = seqs_of(ref->raw, last);
        const auto got = seqs_of(b2->raw);
        EXPECT_EQ(got, expected);
        EXPECT_GE(got.size(), static_cast<size_t>(sent));
        EXPECT_GT(sent, 50);
        // A replay sends no snapshot: events only.
        for (const auto& m : b2->raw) EXPECT_NE(type_of(m), "snapshot");
        b2->ws->close(1000);
      },
      std::chrono::seconds(90));
}

TEST(Replay, ALongReplayIsPacedToTheClientAndNothingIsMissing) {
  TempDir dir;
  run_service(
      store_config(dir),
      [&](app::Service& svc, Rig& rig) -> awaitable<void> {
        auto [call_id, channel] = co_await rig.inbound();
        const uint64_t before = svc.hub().last_seq();
        // 5,000 digits at once (the simulator's bench emitter skips DTMF's duration).
        auto burst = co_await rig.sim_call(
            "POST", "/_sim/bench/dtmf",
            R"({"channels":[")" + channel + R"("],"rate":5000,"count":5000})");
        EXPECT_EQ(burst.status, 202) << burst.body;
        auto ref = rig.events;
        co_await test::until([&] { return svc.hub().last_seq() >= before + 5000; }, 20000);
        co_await test::until([&] { return seqs_of({ref->raw.back()}).back() >= before + 5000; });
        // Many pages, each more than a socket takes at once: all of it, in order.
        const std::string q = "?since=" + std::to_string(before);
        auto late = co_await connect_events(rig.port, q);
        CO_ASSERT_TRUE(late->ws != nullptr);
        // (Counting raw messages: parsing them all on every poll would slow the io thread.)
        const bool all = co_await test::until([&] { return late->raw.size() >= 5000; }, 20000);
        EXPECT_TRUE(all) << late->raw.size();
        EXPECT_EQ(late->count("call.dtmf"), 5000u);
        EXPECT_EQ(seqs_of(late->raw), seqs_of(ref->raw, before));
        EXPECT_TRUE(late->ws->is_open());
        late->ws->close(1000);
        // The rig checks its client's messages against the OpenAPI document at the
        // end: a sample of them is enough (schema checks of 5,000 take half a minute).
        ref->raw.resize(std::min<size_t>(ref->raw.size(), 200));
      },
      std::chrono::seconds(60));
}

TEST(Replay, FiltersFollowOneCallInTheReplayAndLive) {
  TempDir dir;
  run_service(store_config(dir), [&](app::Service&, Rig& rig) -> awaitable<void> {
    auto [a_id, a_ch] = co_await rig.inbound("5550001");
    auto [b_id, b_ch] = co_await rig.inbound("5550002");
    co_await dtmf(rig, a_ch, "1");
    co_await dtmf(rig, b_ch, "2");
    auto ref = rig.events;
    co_await test::until([&] { return ref->count("call.dtmf") == 2; });
    const std::string q = "?since=0&callId=" + a_id + "&types=call.dtmf,call.ended";
    auto f = co_await connect_events(rig.port, q);
    CO_ASSERT_TRUE(f->ws != nullptr);
    co_await dtmf(rig, b_ch, "3");
    co_await dtmf(rig, a_ch, "4");
    co_await test::until([&] { return ref->count("call.dtmf", a_id) == 2; });  // digits take time
    co_await rig.sim_call("POST", "/_sim/channels/" + a_ch + "/hangup", "{}");
    const bool got = co_await test::until([&] { return f->raw.size() >= 3; });
    EXPECT_TRUE(got);
    co_await sleep_for(std::chrono::milliseconds(300));
    std::vector<std::string> types;
    for (const auto& m : f->raw) {
      auto d = json::parse(m);
      CO_ASSERT_TRUE(d.has_value());
      EXPECT_EQ(json::get_string(*d, "callId"), a_id);
      types.emplace_back(json::get_string(*d, "type"));
    }
    EXPECT_EQ(types, (std::vector<std::string>{"call.dtmf", "call.dtmf", "call.ended"}));

    // A filter without since: the snapshot holds only that call.
    const std::string q2 = "?callId=" + b_id;
    auto g = co_await connect_events(rig.port, q2);
    co_await test::until([&] { return !g->raw.empty(); });
    CO_ASSERT_TRUE(!g->raw.empty());
    auto snap = json::parse(g->raw[0]);
    CO_ASSERT_TRUE(snap.has_value());
    EXPECT_EQ(json::get_string(*snap, "type"), "snapshot");
    const auto* calls = json::find(*snap, "calls");
    CO_ASSERT_TRUE(calls && calls->IsArray());
    EXPECT_EQ(calls->Size(), 1u);
    // Bad filters are refused at the handshake.
    for (std::string bad : {"?types=call.nope", "?since=-1", "?since=abc", "?types="}) {
      const Url url = *parse_url(rig.base);
      std::string target = "/events" + bad;
      auto r = co_await net::ws_connect(url, std::move(target));
      EXPECT_FALSE(r.connection) << bad;
      EXPECT_EQ(r.http_status, 400) << bad;
    }
    f->ws->close(1000);
    g->ws->close(1000);
  });
}

TEST(Replay, ASinceOlderThanTheLogGetsAGapMessageAndTheSnapshot) {
  TempDir dir;
  run_service(store_config(dir), [&](app::Service& svc, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    for (int i = 0; i < 5; ++i) co_await dtmf(rig, channel, "5");
    auto ref = rig.events;
    co_await test::until([&] { return ref->count("call.dtmf") == 5; });
    co_await sleep_for(std::chrono::milliseconds(100));
    // Retention removes all but the newest event (as if 100 days had passed).
    const size_t gone = svc.store()->prune(now_epoch_ms() + 100LL * 24 * 3600 * 1000);
    EXPECT_GT(gone, 0u);
    const uint64_t through = svc.store()->pruned_through();
    EXPECT_GT(through, 1u);
    auto c = co_await connect_events(rig.port, "?since=1");
    CO_ASSERT_TRUE(c->ws != nullptr);
    co_await test::until([&] { return c->raw.size() >= 2; });
    CO_ASSERT_TRUE(c->raw.size() >= 2);
    auto gap = json::parse(c->raw[0]);
    CO_ASSERT_TRUE(gap.has_value());
    EXPECT_EQ(json::get_string(*gap, "type"), "gap");
    EXPECT_EQ(json::get_int(*gap, "from"), 2);
    EXPECT_EQ(json::get_int(*gap, "to"), static_cast<int64_t>(through));
    EXPECT_EQ(type_of(c->raw[1]), "snapshot");
    // Then live, as any client.
    co_await dtmf(rig, channel, "9");
    const bool live = co_await test::until([&] { return c->raw.size() >= 3; });
    EXPECT_TRUE(live);
    if (c->raw.size() >= 3) {
      EXPECT_EQ(type_of(c->raw[2]), "call.dtmf");
    }
    // The log over HTTP says the same.
    auto log = co_await rig.call("GET", "/events/log?since=1", "");
    EXPECT_EQ(log.status, 200);
    auto d = json::parse(log.body);
    CO_ASSERT_TRUE(d.has_value());
    const auto* g = json::find(*d, "gap");
    CO_ASSERT_TRUE(g != nullptr);
    EXPECT_EQ(json::get_int(*g, "to"), static_cast<int64_t>(through));
    c->ws->close(1000);
  });
}

TEST(EventLog, ReadsPagesByCallAndTypeAndRefusesBadQueries) {
  TempDir dir;
  run_service(store_config(dir), [&](app::Service&, Rig& rig) -> awaitable<void> {
    auto [a_id, a_ch] = co_await rig.inbound("5550001");
    auto [b_id, b_ch] = co_await rig.inbound("5550002");
    for (int i = 0; i < 6; ++i) co_await dtmf(rig, i % 2 ? b_ch : a_ch, std::to_string(i));
    auto ref = rig.events;
    co_await test::until([&] { return ref->count("call.dtmf") == 6; });
    co_await sleep_for(std::chrono::milliseconds(100));
    // Everything /events said, page by page.
    std::vector<uint64_t> all;
    uint64_t since = 0;
    for (int page = 0; page < 100; ++page) {
      auto r = co_await rig.call("GET", "/events/log?limit=3&since=" + std::to_string(since), "");
      EXPECT_EQ(r.status, 200) << r.body;
      auto d = json::parse(r.body);
      CO_ASSERT_TRUE(d.has_value());
      const auto* ev = json::find(*d, "events");
      CO_ASSERT_TRUE(ev && ev->IsArray());
      EXPECT_LE(ev->Size(), 3u);
      for (const auto& e : ev->GetArray()) all.push_back(e["seq"].GetUint64());
      since = static_cast<uint64_t>(json::get_int(*d, "nextSince"));
      const auto* more = json::find(*d, "hasMore");
      CO_ASSERT_TRUE(more && more->IsBool());
      if (!more->GetBool()) break;
    }
    EXPECT_EQ(all, seqs_of(ref->raw));
    // One call's digits.
    auto r = co_await rig.call("GET", "/events/log?since=0&types=call.dtmf&callId=" + b_id, "");
    EXPECT_EQ(r.status, 200);
    auto d = json::parse(r.body);
    CO_ASSERT_TRUE(d.has_value());
    const auto* ev = json::find(*d, "events");
    CO_ASSERT_TRUE(ev && ev->IsArray());
    EXPECT_EQ(ev->Size(), 3u);
    for (const auto& e : ev->GetArray()) EXPECT_EQ(json::get_string(e, "callId"), b_id);
    for (std::string bad : {"since=x", "limit=0", "limit=1001", "types=call.nope", "callId="}) {
      auto br = co_await rig.call("GET", "/events/log?" + bad, "");
      EXPECT_EQ(br.status, 400) << bad << " " << br.body;
      EXPECT_NE(br.body.find("VALIDATION_FAILED"), std::string::npos);
    }
  });
}

TEST(EventLog, WithTheStoreOffTheLogAndHistoryAnswer503AndSinceGetsAGap) {
  TempDir dir;
  app::Config c = store_config(dir);
  c.data_dir.clear();
  run_service(c, [&](app::Service&, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    for (std::string path : std::vector<std::string>{"/events/log", "/calls/history",
                                                     "/calls/" + call_id + "/transcript"}) {
      auto r = co_await rig.call("GET", path, "");
      EXPECT_EQ(r.status, 503) << path;
      EXPECT_NE(r.body.find("STORE_UNAVAILABLE"), std::string::npos);
    }
    auto h = co_await rig.call("GET", "/health", "");
    EXPECT_EQ(h.body.find("\"store\""), std::string::npos);  // no store, nothing to report
    auto c2 = co_await connect_events(rig.port, "?since=1");
    co_await test::until([&] { return c2->raw.size() >= 2; });
    CO_ASSERT_TRUE(c2->raw.size() >= 2);
    EXPECT_EQ(type_of(c2->raw[0]), "gap");
    EXPECT_EQ(type_of(c2->raw[1]), "snapshot");
    c2->ws->close(1000);
  });
}

TEST(History, EndedCallsAreListedAndPagesStayStableWhileCallsAreAdded) {
  TempDir dir;
  run_service(store_config(dir), [&](app::Service&, Rig& rig) -> awaitable<void> {
    std::vector<std::pair<std::string, std::string>> calls;
    for (int i = 0; i < 5; ++i) {
      calls.push_back(co_await rig.inbound("555000" + std::to_string(i)));
      co_await sleep_for(std::chrono::milliseconds(5));  // distinct createdAt
    }
    for (int i = 0; i < 3; ++i)
      co_await rig.sim_call("POST", "/_sim/channels/" + calls[i].second + "/hangup", "{}");
    auto ref = rig.events;
    co_await test::until([&] { return ref->count("call.ended") == 3; });
    co_await sleep_for(std::chrono::milliseconds(100));
    std::vector<std::string> listed;
    std::string cursor;
    for (int page = 0; page < 10; ++page) {
      std::string path = "/calls/history?limit=2";
      if (!cursor.empty()) path += "&cursor=" + cursor;
      auto r = co_await rig.call("GET", path, "");
      EXPECT_EQ(r.status, 200) << r.body;
      auto d = json::parse(r.body);
      CO_ASSERT_TRUE(d.has_value());
      for (const auto& c : (*json::find(*d, "calls")).GetArray()) {
        listed.emplace_back(json::get_string(c, "id"));
        const std::string id(json::get_string(c, "id"));
        const bool ended = std::any_of(calls.begin(), calls.begin() + 3,
                                       [&](const auto& p) { return p.first == id; });
        if (ended) {
          EXPECT_EQ(json::get_string(c, "state"), "ended");
          EXPECT_TRUE(json::find(c, "durationSeconds") != nullptr);
          EXPECT_TRUE(json::find(c, "billableSeconds") != nullptr);
          EXPECT_FALSE(json::get_string(c, "hangupCause").empty());
        }
        EXPECT_TRUE(json::find(c, "bridgeIds") != nullptr);
      }
      const auto* next = json::find(*d, "nextCursor");
      CO_ASSERT_TRUE(next != nullptr);
      if (next->IsNull()) break;
      cursor = std::string(json::as_view(*next));
      // New calls arrive between pages: they go to the top, never into the pages after.
      if (page == 0) co_await rig.inbound("5559999");
    }
    std::vector<std::string> expected;
    for (auto it = calls.rbegin(); it != calls.rend(); ++it) expected.push_back(it->first);
    EXPECT_EQ(listed, expected);
    // Filters, and bad queries.
    auto in = co_await rig.call("GET", "/calls/history?direction=outbound", "");
    EXPECT_EQ(in.status, 200);
    EXPECT_NE(in.body.find("\"calls\":[]"), std::string::npos) << in.body;
    for (std::string bad : {"direction=sideways", "cursor=nope", "limit=0", "from=yesterday"}) {
      auto br = co_await rig.call("GET", "/calls/history?" + bad, "");
      EXPECT_EQ(br.status, 400) << bad;
    }
    auto from = co_await rig.call(
        "GET",
        "/calls/history?from=2000-01-01T00:00:00Z&to=" + std::to_string(now_epoch_ms() + 60000),
        "");
    EXPECT_EQ(from.status, 200);
    auto fd = json::parse(from.body);
    CO_ASSERT_TRUE(fd.has_value());
    EXPECT_EQ((*json::find(*fd, "calls")).Size(), 6u);
  });
}

TEST(History, ACallOfAnEarlierRunIsFoundByIdAndSeqContinues) {
  TempDir dir;
  std::string old_id;
  uint64_t old_last = 0;
  run_service(store_config(dir), [&](app::Service&, Rig& rig) -> awaitable<void> {
    auto [call_id, channel] = co_await rig.inbound();
    old_id = call_id;
    co_await rig.sim_call("POST", "/_sim/channels/" + channel + "/hangup", "{}");
    auto ref = rig.events;
    co_await test::until([&] { return ref->count("call.ended") == 1; });
    old_last = seqs_of(ref->raw).back();
  });
  ASSERT_FALSE(old_id.empty());
  run_service(store_config(dir), [&](app::Service&, Rig& rig) -> awaitable<void> {
    // A client of the earlier run reconnects at once: what it missed before
    // the restart is replayed (no snapshot), though nothing happened since.
    const std::string q = "?since=" + std::to_string(old_last - 2);
    auto back = co_await connect_events(rig.port, q);
    CO_ASSERT_TRUE(back->ws != nullptr);
    co_await test::until([&] { return back->raw.size() >= 2; });
    EXPECT_EQ(seqs_of(back->raw), (std::vector<uint64_t>{old_last - 1, old_last}));
    if (!back->raw.empty()) {
      EXPECT_NE(type_of(back->raw[0]), "snapshot");
    }
    back->ws->close(1000);
    auto r = co_await rig.call("GET", "/calls/" + old_id, "");
    EXPECT_EQ(r.status, 200) << r.body;
    auto d = json::parse(r.body);
    CO_ASSERT_TRUE(d.has_value());
    const auto* call = json::find(*d, "call");
    CO_ASSERT_TRUE(call != nullptr);
    EXPECT_EQ(json::get_string(*call, "id"), old_id);
    EXPECT_EQ(json::get_string(*call, "state"), "ended");
    auto missing = co_await rig.call("GET", "/calls/no-such-call", "");
    EXPECT_EQ(missing.status, 404);
    auto [call_id, channel] = co_await rig.inbound();
    const auto seqs = seqs_of(rig.events->raw);
    CO_ASSERT_TRUE(!seqs.empty());
    EXPECT_GT(seqs.front(), old_last);  // never restarts
    auto log = co_await rig.call("GET", "/events/log?since=0&limit=1000&callId=" + old_id, "");
    EXPECT_NE(log.body.find("call.ended"), std::string::npos);
  });
}

TEST(History, TheTranscriptHasWhatWasSpokenAndWhatTheCallerSaidInOrder) {
  TempDir dir;
  app::Config c = store_config(dir);
  c.asr_auto_start = "inbound";
  run_service(
      c,
      [&](app::Service&, Rig& rig) -> awaitable<void> {
        auto [call_id, channel] = co_await rig.inbound();
        auto ref = rig.events;
        co_await test::until(
            [&] { return ref->count("call.audio_capture_started", call_id) == 1; });
        auto s = co_await rig.post("/calls/" + call_id + "/speak",
                                   R"({"text":"what can i do for you"})");
        EXPECT_EQ(s.status, 200) << s.body;
        auto say = co_await rig.sim_call("POST", "/_sim/channels/" + channel + "/say",
                                         R"({"text":"i would like to book a table for two"})");
        EXPECT_LT(say.status, 300) << say.body;
        const bool heard = co_await test::until(
            [&] {
              for (const auto& e : ref->of("call.transcription", call_id)) {
                const auto* data = json::find(e, "data");
                const auto* fin = data ? json::find(*data, "is_final") : nullptr;
                if (fin && fin->IsBool() && fin->GetBool()) return true;
              }
              return false;
            },
            20000);
        EXPECT_TRUE(heard);
        co_await sleep_for(std::chrono::milliseconds(200));
        auto r = co_await rig.call("GET", "/calls/" + call_id + "/transcript", "");
        EXPECT_EQ(r.status, 200) << r.body;
        auto d = json::parse(r.body);
        CO_ASSERT_TRUE(d.has_value());
        const auto* t = json::find(*d, "transcript");
        CO_ASSERT_TRUE(t && t->IsArray());
        CO_ASSERT_TRUE(t->Size() >= 2u);
        EXPECT_EQ(json::get_string((*t)[0], "speaker"), "agent");
        EXPECT_EQ(json::get_string((*t)[0], "text"), "what can i do for you");
        EXPECT_EQ(json::get_string((*t)[1], "speaker"), "caller");
        EXPECT_EQ(json::get_string((*t)[1], "text"), "i would like to book a table for two");
        EXPECT_LT((*t)[0]["seq"].GetUint64(), (*t)[1]["seq"].GetUint64());
        auto none = co_await rig.call("GET", "/calls/no-such-call/transcript", "");
        EXPECT_EQ(none.status, 404);
      },
      std::chrono::seconds(60));
}

TEST(Store, AFullDiskDegradesHealthAndEventsStillFlow) {
  TempDir dir;
  app::Config c = store_config(dir);
  c.store_max_bytes = 64 * 1024;  // the database may not grow past 64 KiB: a "full disk"
  run_service(
      c,
      [&](app::Service& svc, Rig& rig) -> awaitable<void> {
        auto [call_id, channel] = co_await rig.inbound();
        auto h0 = co_await rig.call("GET", "/health", "");
        EXPECT_NE(h0.body.find("\"status\":\"ok\""), std::string::npos) << h0.body;
        // Fill it: every digit is an event and a history row (the simulator's
        // bench emitter sends them at once, without DTMF's real duration).
        auto burst = co_await rig.sim_call(
            "POST", "/_sim/bench/dtmf",
            R"({"channels":[")" + channel + R"("],"rate":20000,"count":3000})");
        EXPECT_EQ(burst.status, 202) << burst.body;
        const bool degraded = co_await test::until([&] { return !svc.store()->healthy(); }, 20000);
        EXPECT_TRUE(degraded);
        auto h = co_await rig.call("GET", "/health", "");
        EXPECT_EQ(h.status, 200);
        EXPECT_NE(h.body.find("\"status\":\"degraded\""), std::string::npos) << h.body;
        EXPECT_NE(h.body.find("\"store\":false"), std::string::npos) << h.body;
        EXPECT_NE(h.body.find("full"), std::string::npos) << h.body;
        // Live events still reach clients (after the short hold), and the API still answers.
        auto ref = rig.events;
        const size_t before = ref->count("call.dtmf");
        co_await dtmf(rig, channel, "7");
        const bool flowed = co_await test::until([&] { return ref->count("call.dtmf") > before; });
        EXPECT_TRUE(flowed);
        auto calls = co_await rig.call("GET", "/calls", "");
        EXPECT_EQ(calls.status, 200);
        auto m = co_await rig.call("GET", "/metrics", "");
        EXPECT_NE(m.body.find("asterisk_api_store_healthy 0"), std::string::npos);
        ref->raw.resize(std::min<size_t>(ref->raw.size(), 200));  // a sample for the document check
      },
      std::chrono::seconds(90));
}
