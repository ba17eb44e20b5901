// The calls domain driven by ARI events, with a scripted ARI (no sockets).
// Trace-based tests replay real Asterisk 22 event sequences from ../shared/ari-traces.
#include "calls/call_fixture.hpp"

using namespace aa;
using namespace aa::calls;
using namespace aa::test;

TEST_F(Fixture, OriginateRegistersTheCallBeforeAskingAsterisk) {
  auto c = originate();
  EXPECT_EQ(c.direction, Direction::outbound);
  EXPECT_EQ(c.caller_number, "5551234");
  EXPECT_EQ(c.callee_number, "PJSIP/1001");
  ASSERT_NE(ari.last("originate"), nullptr);
  EXPECT_EQ(ari.last("originate")->target, c.channel_id);  // our own channel id
  EXPECT_EQ(ari.last("get_endpoint")->target, "PJSIP/1001");
  EXPECT_EQ(sink.kinds(c.id), (std::vector<std::string>{"call.created"}));
}

TEST_F(Fixture, TrunkEndpointsAreCheckedByTrunkNameAndUnknownOnesAre404) {
  originate("PJSIP/5551234@trunk-provider");
  EXPECT_EQ(ari.last("get_endpoint")->target, "PJSIP/trunk-provider");
  ari.unknown_endpoints = {"9999"};
  run([&]() -> awaitable<void> {
    OriginateRequest r;
    r.endpoint = "PJSIP/9999";
    auto c = co_await mgr->originate(r);
    EXPECT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::endpoint_not_found);
  });
  EXPECT_EQ(ari.count("originate"), 1u);  // the unknown one never reached Asterisk
}

TEST_F(Fixture, AListedEndpointIsTrustedForAWhileButNotAfterAllocationFailed) {
  originate("PJSIP/1001");
  originate("PJSIP/1001");
  EXPECT_EQ(ari.count("get_endpoint"), 1u);  // the second originate is one ARI request
  EXPECT_EQ(ari.count("originate"), 2u);
  // Asterisk no longer knows it: 404, and the next originate asks again.
  ari.fail["originate"] = {ari::AriError::Kind::http, 500, "Allocation failed"};
  run([&]() -> awaitable<void> {
    OriginateRequest r;
    r.endpoint = "PJSIP/1001";
    auto c = co_await mgr->originate(r);
    CO_ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::endpoint_not_found);
  });
  ari.fail.erase("originate");
  originate("PJSIP/1001");
  EXPECT_EQ(ari.count("get_endpoint"), 2u);
}

TEST_F(Fixture, AllocationFailedFromAsteriskIsEndpointNotFound) {
  ari.fail["originate"] = {ari::AriError::Kind::http, 500, "Allocation failed"};
  run([&]() -> awaitable<void> {
    OriginateRequest r;
    r.endpoint = "Local/999@nowhere";
    auto c = co_await mgr->originate(r);
    CO_ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.error().code, ErrorCode::endpoint_not_found);
  });
  EXPECT_EQ(mgr->active_count(), 0u);
}

TEST_F(Fixture, RingingThenAnsweredThenHangupFollowsTheTrace) {
  auto c = originate("Local/101@test-answer");
  if (!replay_trace(*mgr, "originate-ringing-101.jsonl", "1795660619.105", c.channel_id))
    GTEST_SKIP() << "../shared/ari-traces not present";
  // The trace ends with our DELETE: hangup already replayed.
  EXPECT_EQ(sink.kinds(c.id),
            (std::vector<std::string>{"call.created", "call.state_changed:ringing",
                                      "call.state_changed:answered", "call.answered", "call.ready",
                                      "call.state_changed:ended", "call.ended"}));
  auto rec = mgr->get_call(c.id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->state, CallState::ended);
  EXPECT_EQ(rec->hangup_cause, "normal");
  EXPECT_NE(rec->answered_at_ms, 0);
}

TEST_F(Fixture, BusyAndNoAnswerComeFromDialstatusNotTheDestroyedCause) {
  auto busy = originate("Local/102@test-answer");
  if (!replay_trace(*mgr, "originate-busy-102.jsonl", "1795660625.109", busy.channel_id))
    GTEST_SKIP() << "../shared/ari-traces not present";
  auto b = mgr->get_call(busy.id);
  EXPECT_EQ(b->state, CallState::failed);
  EXPECT_EQ(b->hangup_cause, "busy");  // ChannelDestroyed said 0 "Unknown"

  auto noanswer = originate("Local/103@test-answer");
  replay_trace(*mgr, "originate-noanswer-103.jsonl", "1795660625.111", noanswer.channel_id);
  auto n = mgr->get_call(noanswer.id);
  EXPECT_EQ(n->state, CallState::failed);
  EXPECT_EQ(n->hangup_cause, "no_answer");
  EXPECT_EQ(sink.kinds(noanswer.id).back(), "call.ended");
}

TEST_F(Fixture, FarEndDtmfBecomesCallDtmf) {
  auto c = originate("Local/104@test-answer");
  if (!replay_trace(*mgr, "originate-dtmf-104.jsonl", "1795660622.107", c.channel_id))
    GTEST_SKIP() << "../shared/ari-traces not present";
  std::string digits;
  for (auto& e : sink.events)
    if (e.kind == EventKind::call_dtmf) digits += e.digit;
  EXPECT_EQ(digits, "123");
}

TEST_F(Fixture, InboundCallIsCreatedAnsweredAndEndsOnStasisEnd) {
  mgr->on_ari_event(chan_event("StasisStart", "in-1", "Ring", R"("args":[])"));
  ASSERT_EQ(mgr->active_count(), 1u);
  auto calls = mgr->active_calls();
  EXPECT_EQ(calls[0].direction, Direction::inbound);
  EXPECT_EQ(calls[0].state, CallState::ringing);
  run([&]() -> awaitable<void> {
    EXPECT_TRUE(co_await test::wait_until([&] { return ari.count("answer") == 1; }));
  });
  EXPECT_EQ(ari.last("answer")->target, "in-1");
  mgr->on_ari_event(chan_event("ChannelStateChange", "in-1", "Up"));
  mgr->on_ari_event(
      chan_event("ChannelDtmfReceived", "in-1", "Up", R"("digit":"5","duration_ms":100)"));
  // Caller hangs up: no ChannelDestroyed for a dialplan-entered channel.
  mgr->on_ari_event(chan_event("ChannelHangupRequest", "in-1", "Up", R"("cause":16)"));
  mgr->on_ari_event(chan_event("StasisEnd", "in-1", "Up"));
  EXPECT_EQ(sink.kinds(calls[0].id),
            (std::vector<std::string>{"call.created", "call.inbound", "call.state_changed:answered",
                                      "call.answered", "call.ready", "call.dtmf",
                                      "call.state_changed:ended", "call.ended"}));
  EXPECT_EQ(mgr->get_call(calls[0].id)->hangup_cause, "normal");
}

TEST_F(Fixture, InboundArgsNameTheNumbersAndDialedLegsAreNotInbound) {
  mgr->on_ari_event(
      chan_event("StasisStart", "in-2", "Ring", R"("args":["inbound","300","5550000"])"));
  auto calls = mgr->active_calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].callee_number, "300");
  EXPECT_EQ(calls[0].caller_number, "5550000");
  mgr->on_ari_event(chan_event("StasisStart", "stranger", "Up", R"("args":["dialed"])"));
  EXPECT_EQ(mgr->active_count(), 1u);
}

TEST_F(Fixture, PlayWaitsForEveryItemAndEmitsPerItemEvents) {
  auto c = answered_call();
  run([&]() -> awaitable<void> {
    PlayRequest p;
    p.media = {"sound:hello-world", "sound:goodbye"};
    p.wait = false;
    auto r = co_await mgr->play(c.id, p);
    EXPECT_TRUE(r.ok());
    if (!r.ok()) co_return;
    EXPECT_EQ(r->playback_ids.size(), 2u);
    EXPECT_EQ(mgr->get_call(c.id)->state, CallState::playing);
    for (auto& id : r->playback_ids) {
      mgr->on_ari_event(playback_event("PlaybackStarted", id, "playing"));
      mgr->on_ari_event(playback_event("PlaybackFinished", id, "done"));
    }
    EXPECT_EQ(mgr->get_call(c.id)->state, CallState::answered);

    // wait:true holds the request until Asterisk reports the end.
    auto ex = co_await asio::this_coro::executor;
    bool returned = false;
    // The lambda must outlive its coroutine: keep it in a named variable.
    auto finisher = [&]() -> awaitable<void> {
      co_await test::wait_until([&] { return ari.count("play") == 3; });
      co_await sleep_for(std::chrono::milliseconds(20));
      EXPECT_FALSE(returned);
      std::string id = ari.last("play")->detail;
      mgr->on_ari_event(playback_event("PlaybackStarted", id, "playing"));
      mgr->on_ari_event(playback_event("PlaybackFinished", id, "failed"));
    };
    spawn(ex, finisher(), "finish playback");
    p.wait = true;
    p.media = {"sound:beep"};
    auto waited = co_await mgr->play(c.id, p);
    returned = true;
    CO_ASSERT_TRUE(waited.ok());
    EXPECT_TRUE(waited->finished);
    EXPECT_EQ(waited->outcome, PlayOutcome::failed);
  });
  std::vector<std::string> kinds;
  for (auto& e : sink.events)
    if (e.kind == EventKind::call_playback_started || e.kind == EventKind::call_playback_finished)
      kinds.emplace_back(event_type_name(e.kind));
  EXPECT_EQ(kinds.size(), 6u);
}

TEST_F(Fixture, PlayValidatesMediaAndCallState) {
  auto c = originate();  // not answered yet
  run([&]() -> awaitable<void> {
    PlayRequest p;
    p.media = {"foo:bar"};
    auto bad = co_await mgr->play(c.id, p);
    CO_ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, ErrorCode::validation_failed);
    p.media = {"sound:hello-world"};
    auto early = co_await mgr->play(c.id, p);
    CO_ASSERT_FALSE(early.ok());
    EXPECT_EQ(early.error().code, ErrorCode::wrong_state);
    auto unknown = co_await mgr->play("nope", p);
    EXPECT_EQ(unknown.error().code, ErrorCode::call_not_found);
  });
  mgr->on_ari_event(
      chan_event("ChannelDestroyed", c.channel_id, "Down", R"("cause":0,"cause_txt":"Unknown")"));
  run([&]() -> awaitable<void> {
    PlayRequest p;
    p.media = {"sound:hello-world"};
    auto ended = co_await mgr->play(c.id, p);
    EXPECT_EQ(ended.error().code, ErrorCode::wrong_state);
  });
}

TEST_F(Fixture, RecordingABridgedCallRecordsItsBridge) {
  auto c = answered_call();
  mgr->on_ari_event(event(
      R"({"type":"ChannelEnteredBridge","application":"a","timestamp":"t","bridge":{"id":"br-1","technology":"simple_bridge","bridge_type":"mixing","bridge_class":"stasis","creator":"Stasis","name":"","channels":[")" +
      c.channel_id + R"("],"creationtime":"t","video_mode":"talker"},"channel":)" +
      channel_json(c.channel_id, "Up") + "}"));
  EXPECT_EQ(mgr->get_call(c.id)->state, CallState::bridged);
  EXPECT_EQ(mgr->get_call(c.id)->bridge_id, "br-1");
  run([&]() -> awaitable<void> {
    RecordRequest r;
    auto name = co_await mgr->record(c.id, r);
    CO_ASSERT_TRUE(name.ok());
    EXPECT_EQ(name->name.rfind("call-" + c.id + "-", 0), 0u);
    EXPECT_EQ(ari.count("record"), 0u);
    EXPECT_EQ(ari.last("record_bridge")->target, "br-1");
  });
}

TEST_F(Fixture, ReconnectEndsVanishedCallsAndKeepsLiveOnes) {
  auto survivor = answered_call();
  auto lost = answered_call();
  mgr->on_ari_connection(false);
  run([&]() -> awaitable<void> {
    PlayRequest p;
    p.media = {"sound:beep"};
    auto r = co_await mgr->play(survivor.id, p);
    EXPECT_EQ(r.error().code, ErrorCode::ari_unavailable);  // 503 while Asterisk is away
  });
  ari::Channel alive;
  alive.id = survivor.channel_id;
  alive.state = "Up";
  ari.channels = {alive};
  mgr->on_ari_connection(true);
  run([&]() -> awaitable<void> {
    EXPECT_TRUE(co_await test::wait_until([&] { return mgr->active_count() == 1; }));
  });
  EXPECT_EQ(mgr->get_call(lost.id)->hangup_cause, "lost_during_ari_outage");
  EXPECT_EQ(mgr->get_call(survivor.id)->state, CallState::answered);
}

TEST_F(Fixture, HangupAsksAsteriskAndUnknownCallsAre404) {
  auto c = answered_call();
  run([&]() -> awaitable<void> {
    auto r = co_await mgr->hangup(c.id, "busy");
    EXPECT_TRUE(r.ok());
    EXPECT_EQ(ari.last("hangup")->detail, "busy");
    auto bad = co_await mgr->hangup(c.id, "bogus");
    EXPECT_EQ(bad.error().code, ErrorCode::validation_failed);
    auto missing = co_await mgr->hangup("nope", "");
    EXPECT_EQ(missing.error().code, ErrorCode::call_not_found);
  });
  mgr->on_ari_event(
      chan_event("ChannelHangupRequest", c.channel_id, "Up", R"("cause":32,"soft":true)"));
  mgr->on_ari_event(chan_event("StasisEnd", c.channel_id, "Up"));
  EXPECT_EQ(mgr->get_call(c.id)->hangup_cause, "busy");
}

TEST_F(Fixture, TransferTimesOutWith408AndHangsUpTheNewLeg) {
  auto c = answered_call();
  run([&]() -> awaitable<void> {
    TransferRequest t;
    t.endpoint = "PJSIP/1002";
    t.timeout_s = 1;
    auto r = co_await mgr->transfer(c.id, t);
    CO_ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::transfer_timeout);
  });
  EXPECT_EQ(ari.count("hangup"), 1u);
  EXPECT_EQ(ari.count("create_bridge"), 0u);
}

TEST_F(Fixture, TransferBridgesBothLegsOnceTheNewLegAnswers) {
  auto c = answered_call();
  run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto answer_leg = [&]() -> awaitable<void> {
      co_await test::wait_until([&] { return ari.count("originate") == 2; });
      std::string leg = ari.last("originate")->target;
      mgr->on_ari_event(dial(leg, "Ringing", "RINGING"));
      mgr->on_ari_event(chan_event("ChannelStateChange", leg, "Up"));
      mgr->on_ari_event(chan_event("StasisStart", leg, "Up", R"("args":["dialed"])"));
    };
    spawn(ex, answer_leg(), "answer new leg");
    TransferRequest t;
    t.endpoint = "PJSIP/1002";
    t.timeout_s = 5;
    auto r = co_await mgr->transfer(c.id, t);
    CO_ASSERT_TRUE(r.ok());
    EXPECT_EQ(ari.last("add_channels")->target, r->bridge_id);
    EXPECT_NE(ari.last("add_channels")->detail.find(c.channel_id), std::string::npos);
    EXPECT_EQ(ari.last("subscribe")->detail, "bridge:" + r->bridge_id);
  });
}

TEST_F(Fixture, EndedCallsStayReadableButBounded) {
  CallManagerOptions o;
  o.ended_calls_kept = 3;
  CallManager small(io.get_executor(), ari, sink, media, o);
  small.on_ari_connection(true);
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    std::string ch = "in-" + std::to_string(i);
    small.on_ari_event(chan_event("StasisStart", ch, "Up", R"("args":[])"));
    ids.push_back(small.active_calls().back().id);
    small.on_ari_event(chan_event("StasisEnd", ch, "Up"));
  }
  EXPECT_FALSE(small.get_call(ids[0]).ok());
  EXPECT_FALSE(small.get_call(ids[1]).ok());
  EXPECT_TRUE(small.get_call(ids[4]).ok());
}

TEST_F(Fixture, SequenceNumbersStrictlyIncrease) {
  answered_call();
  answered_call();
  for (size_t i = 1; i < sink.events.size(); ++i)
    EXPECT_GT(sink.events[i].seq, sink.events[i - 1].seq);
}
