// The hooks another module (the voice module) attaches with: event
// subscription, publishing through the same seq, internal channels, speaking.
#include "calls/call_fixture.hpp"

using namespace aa;
using namespace aa::calls;
using namespace aa::test;

namespace {

/// A subscriber that, on call.created, publishes an event of its own.
struct Echoing : EventSink {
  CallManager* mgr = nullptr;
  std::vector<DomainEvent> seen;
  void publish(const DomainEvent& e) override {
    seen.push_back(e);
    if (e.kind == EventKind::call_created && mgr) {
      DomainEvent mine;
      mine.kind = EventKind::call_dtmf;  // any kind: the voice module brings its own
      mine.call_id = e.call_id;
      mine.digit = "#";
      auto r = mgr->publish(mine);
      EXPECT_TRUE(r.ok());
    }
  }
};

}  // namespace

TEST_F(Fixture, SubscribersSeeEveryEventWithTheSinksSeqAndInSeqOrder) {
  Echoing sub;
  sub.mgr = mgr.get();
  mgr->subscribe(sub);
  mgr->subscribe(sub);  // once only
  auto c = answered_call();
  mgr->unsubscribe(sub);
  mgr->on_ari_event(chan_event("ChannelDtmfReceived", c.channel_id, "Up", R"("digit":"1")"));

  ASSERT_EQ(sub.seen.size(), sink.events.size() - 1);  // the last one came after unsubscribe
  for (size_t i = 0; i < sub.seen.size(); ++i) {
    EXPECT_EQ(sub.seen[i].seq, sink.events[i].seq);
    EXPECT_EQ(sub.seen[i].kind, sink.events[i].kind);
    if (i) {
      EXPECT_GT(sub.seen[i].seq, sub.seen[i - 1].seq);
    }
  }
  // The event published from inside the subscriber follows call.created, for everyone.
  EXPECT_EQ(sink.kinds(c.id).at(0), "call.created");
  EXPECT_EQ(sink.kinds(c.id).at(1), "call.dtmf");
  EXPECT_EQ(sink.events.at(1).digit, "#");
}

TEST_F(Fixture, PublishFillsSeqTimestampAndTheCallSnapshotAndRefusesUnknownCalls) {
  auto c = answered_call();
  const uint64_t before = sink.events.back().seq;
  DomainEvent e;
  e.kind = EventKind::call_dtmf;
  e.call_id = c.id;
  auto seq = mgr->publish(e);
  ASSERT_TRUE(seq.ok());
  EXPECT_EQ(*seq, before + 1);
  const DomainEvent& got = sink.events.back();
  EXPECT_EQ(got.seq, *seq);
  EXPECT_GT(got.timestamp_ms, 0);
  ASSERT_TRUE(got.call);
  EXPECT_EQ(got.call->id, c.id);
  EXPECT_EQ(got.state, CallState::answered);

  e.call_id = "no-such-call";
  auto bad = mgr->publish(e);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().code, ErrorCode::call_not_found);
  EXPECT_EQ(sink.events.back().seq, *seq);  // not published

  DomainEvent global;
  global.kind = EventKind::bridge_created;
  global.bridge_id = "b";
  EXPECT_TRUE(mgr->publish(global).ok());  // no call: as it is
}

TEST_F(Fixture, InternalChannelsNeverBecomeCalls) {
  mgr->on_ari_event(chan_event("StasisStart", "aa-media-1", "Up", R"("args":[])"));
  mgr->on_ari_event(chan_event("StasisStart", "aa-media-2", "Up", R"("args":["dialed"])"));
  mgr->set_internal_channel_filter(
      [](const ari::Channel& ch) { return ch.id.starts_with("voice-"); });
  mgr->on_ari_event(chan_event("StasisStart", "voice-7", "Ring", R"("args":[])"));
  settle();
  EXPECT_EQ(mgr->active_count(), 0u);
  EXPECT_TRUE(sink.events.empty());
  EXPECT_EQ(ari.count("answer"), 0u);
  EXPECT_EQ(ari.count("hangup"), 0u);  // their owner handles them
  ari::Channel ch;
  ch.id = "aa-media-9";
  EXPECT_TRUE(mgr->is_internal_channel(ch));
  ch.id = "in-1";
  EXPECT_FALSE(mgr->is_internal_channel(ch));
}

TEST_F(Fixture, SpeakingShowsWhileNothingMoreTellingHappens) {
  auto c = answered_call();
  auto state = [&] { return mgr->get_call(c.id)->state; };
  ASSERT_TRUE(mgr->set_speaking(c.id, true).ok());
  EXPECT_EQ(state(), CallState::speaking);
  // A playback outranks speech, a bridge does not.
  std::string pb;
  run([&]() -> awaitable<void> {
    PlayRequest p;
    p.media = {"sound:beep"};
    p.wait = false;
    auto r = co_await mgr->play(c.id, p);
    CO_ASSERT_TRUE(r.ok());
    pb = r->playback_ids.at(0);
  });
  EXPECT_EQ(state(), CallState::playing);
  mgr->on_ari_event(playback_event("PlaybackFinished", pb, "done"));
  EXPECT_EQ(state(), CallState::speaking);
  mgr->on_ari_event(event(
      R"({"type":"ChannelEnteredBridge","application":"a","timestamp":"t","bridge":{"id":"br-s","technology":"simple_bridge","bridge_type":"mixing","bridge_class":"stasis","creator":"Stasis","name":"","channels":[")" +
      c.channel_id + R"("],"creationtime":"t","video_mode":"talker"},"channel":)" +
      channel_json(c.channel_id, "Up") + "}"));
  EXPECT_EQ(state(), CallState::speaking);
  ASSERT_TRUE(mgr->set_speaking(c.id, false).ok());
  EXPECT_EQ(state(), CallState::bridged);
  EXPECT_EQ(sink.kinds(c.id).back(), "call.state_changed:bridged");

  EXPECT_EQ(mgr->set_speaking("nope", true).error().code, ErrorCode::call_not_found);
  mgr->on_ari_event(chan_event("StasisEnd", c.channel_id, "Up"));
  EXPECT_EQ(mgr->set_speaking(c.id, true).error().code, ErrorCode::wrong_state);
}
