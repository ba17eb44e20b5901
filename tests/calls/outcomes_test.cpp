// An operation that waits for an outcome says what happened: every item of a
// playlist done, one failed, or the call ended first; a recording Asterisk
// fails at once is not a success. Also: the causes calls end with.
#include "calls/call_fixture.hpp"

using namespace aa;
using namespace aa::calls;
using namespace aa::test;

namespace {

std::vector<PlaybackStatus> statuses(const PlayResult& r) {
  std::vector<PlaybackStatus> out;
  for (auto& i : r.items) out.push_back(i.status);
  return out;
}

}  // namespace

TEST_F(Fixture, APlaylistWithAFailedItemIsNotOk) {
  auto c = answered_call();
  run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto far_end = [&]() -> awaitable<void> {
      co_await wait_until([&] { return ari.count("play") == 2; });
      const std::string first = ari.calls[ari.calls.size() - 2].detail;
      const std::string second = ari.last("play")->detail;
      mgr->on_ari_event(playback_event("PlaybackStarted", first, "playing"));
      mgr->on_ari_event(playback_event("PlaybackFinished", first, "done"));
      mgr->on_ari_event(playback_event("PlaybackFinished", second, "failed"));  // no such sound
    };
    spawn(ex, far_end(), "far end");
    PlayRequest p;
    p.media = {"sound:hello-world", "sound:no-such-sound"};
    auto r = co_await mgr->play(c.id, p);
    CO_ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->outcome, PlayOutcome::failed);
    EXPECT_EQ(statuses(*r),
              (std::vector<PlaybackStatus>{PlaybackStatus::done, PlaybackStatus::failed}));
    EXPECT_EQ(r->items[1].media, "sound:no-such-sound");
    EXPECT_EQ(r->items[1].playback_id, r->playback_ids[1]);
  });
}

TEST_F(Fixture, APlaylistCutByTheCallsEndSaysTheCallEnded) {
  auto c = answered_call();
  run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto hang_up = [&]() -> awaitable<void> {
      co_await wait_until([&] { return ari.count("play") == 2; });
      const std::string first = ari.calls[ari.calls.size() - 2].detail;
      mgr->on_ari_event(playback_event("PlaybackStarted", first, "playing"));
      // As Asterisk does it (hangup-during-media trace): the hangup request, then
      // the playback "failed", then StasisEnd.
      mgr->on_ari_event(chan_event("ChannelHangupRequest", c.channel_id, "Up", R"("cause":16)"));
      mgr->on_ari_event(playback_event("PlaybackFinished", first, "failed"));
      mgr->on_ari_event(chan_event("StasisEnd", c.channel_id, "Up"));
    };
    spawn(ex, hang_up(), "hang up");
    PlayRequest p;
    p.media = {"sound:hello-world", "sound:beep"};
    auto r = co_await mgr->play(c.id, p);
    CO_ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->outcome, PlayOutcome::call_ended);
    EXPECT_EQ(statuses(*r), (std::vector<PlaybackStatus>{PlaybackStatus::not_played,
                                                         PlaybackStatus::not_played}));
  });
}

TEST_F(Fixture, PlayWithoutWaitingReportsTheItemsQueued) {
  auto c = answered_call();
  run([&]() -> awaitable<void> {
    PlayRequest p;
    p.media = {"sound:hello-world"};
    p.wait = false;
    auto r = co_await mgr->play(c.id, p);
    CO_ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->outcome, PlayOutcome::pending);
    EXPECT_EQ(statuses(*r), (std::vector<PlaybackStatus>{PlaybackStatus::queued}));
  });
}

TEST_F(Fixture, ARecordingAsteriskFailsAtOnceIsRecordingFailed) {
  auto c = answered_call();
  run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto fail = [&]() -> awaitable<void> {
      co_await wait_until([&] { return ari.count("record") == 1; });
      mgr->on_ari_event(recording_event("RecordingFailed", "r1", "failed",
                                        "Cannot record channel while in bridge"));
    };
    spawn(ex, fail(), "fail the recording");
    RecordRequest r;
    r.name = "r1";
    auto res = co_await mgr->record(c.id, r);
    CO_ASSERT_FALSE(res.ok());
    EXPECT_EQ(res.error().code, ErrorCode::recording_failed);
    EXPECT_NE(res.error().message.find("in bridge"), std::string::npos);
  });
  EXPECT_TRUE(mgr->get_call(c.id)->recordings.empty());
  EXPECT_EQ(sink.kinds(c.id).back(), "call.recording_failed");
}

TEST_F(Fixture, ARecordingSaysWhetherItStartedOrIsQueued) {
  auto c = answered_call();
  run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto start = [&]() -> awaitable<void> {
      co_await wait_until([&] { return ari.count("record") == 1; });
      mgr->on_ari_event(recording_event("RecordingStarted", "r2", "recording"));
    };
    spawn(ex, start(), "start the recording");
    RecordRequest r;
    r.name = "r2";
    auto started = co_await mgr->record(c.id, r);
    CO_ASSERT_TRUE(started.ok());
    EXPECT_TRUE(started->started);
    r.name = "r3";  // nothing from Asterisk within record_start_wait: queued
    auto queued = co_await mgr->record(c.id, r);
    CO_ASSERT_TRUE(queued.ok());
    EXPECT_FALSE(queued->started);
  });
  EXPECT_EQ(mgr->get_call(c.id)->recordings, (std::vector<std::string>{"r2", "r3"}));
}

TEST_F(Fixture, ARecordingWhoseCallEndsBeforeItStartsIsAConflict) {
  auto c = answered_call();
  run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto end = [&]() -> awaitable<void> {
      co_await wait_until([&] { return ari.count("record") == 1; });
      mgr->on_ari_event(chan_event("StasisEnd", c.channel_id, "Up"));
    };
    spawn(ex, end(), "end the call");
    RecordRequest r;
    r.name = "r4";
    auto res = co_await mgr->record(c.id, r);
    CO_ASSERT_FALSE(res.ok());
    EXPECT_EQ(res.error().code, ErrorCode::wrong_state);
  });
}

TEST_F(Fixture, CallsCutByAnAsteriskRestartEndWithAsteriskShutdown) {
  auto c = originate("PJSIP/1001");
  if (!replay_trace(*mgr, "asterisk-restart.jsonl", "rst-sip-0bu30", c.channel_id))
    GTEST_SKIP() << "../shared/ari-traces not present";
  auto rec = mgr->get_call(c.id);
  ASSERT_TRUE(rec.ok());
  EXPECT_EQ(rec->state, CallState::ended);
  EXPECT_EQ(rec->hangup_cause, "asterisk_shutdown");
}

TEST_F(Fixture, AShutdownHangupRequestEndsEvenARingingCallWithAsteriskShutdown) {
  auto c = originate("PJSIP/1001");
  mgr->on_ari_event(dial(c.channel_id, "Ringing", "RINGING"));
  mgr->on_ari_event(
      chan_event("ChannelHangupRequest", c.channel_id, "Ringing", R"("cause":4,"soft":true)"));
  mgr->on_ari_event(chan_event("ChannelDestroyed", c.channel_id, "Ringing", R"("cause":0)"));
  EXPECT_EQ(mgr->get_call(c.id)->hangup_cause, "asterisk_shutdown");
  // Our own hang-up request (cause 32) is not a shutdown.
  auto d = answered_call();
  mgr->on_ari_event(
      chan_event("ChannelHangupRequest", d.channel_id, "Up", R"("cause":32,"soft":true)"));
  mgr->on_ari_event(chan_event("StasisEnd", d.channel_id, "Up"));
  EXPECT_EQ(mgr->get_call(d.id)->hangup_cause, "normal");
}

TEST_F(Fixture, AnOutboundAnswerIsAnnouncedOnceWhateverSaysIt) {
  auto c = originate("PJSIP/1001");
  mgr->on_ari_event(dial(c.channel_id, "Ringing", "RINGING"));
  mgr->on_ari_event(chan_event("ChannelStateChange", c.channel_id, "Up"));
  mgr->on_ari_event(dial(c.channel_id, "Up", "ANSWER"));
  mgr->on_ari_event(chan_event("ChannelStateChange", c.channel_id, "Up"));
  mgr->on_ari_event(chan_event("StasisStart", c.channel_id, "Up", R"("args":["dialed"])"));
  mgr->on_ari_connection(false);  // and a reconnect that finds it Up
  ari.channels = {listed_channel(c.channel_id, "Up", "openclaw-voice,dialed")};
  mgr->on_ari_connection(true);
  settle();
  EXPECT_EQ(sink.kinds(c.id), (std::vector<std::string>{
                                  "call.created", "call.state_changed:ringing",
                                  "call.state_changed:answered", "call.answered", "call.ready"}));
}
