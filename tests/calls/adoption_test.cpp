// Channels in our Stasis app that the manager does not track — found at
// start-up or after an events-socket outage, or a dialed leg that answers
// unknown — are adopted under their stored call id, or hung up.
#include "calls/call_fixture.hpp"

using namespace aa;
using namespace aa::calls;
using namespace aa::test;

namespace {

struct Adoption : Fixture {
  /// A second manager, as after a service restart, against the same ARI.
  std::unique_ptr<CallManager> restarted(UntrackedPolicy policy = UntrackedPolicy::adopt) {
    CallManagerOptions o;
    o.untracked = policy;
    auto m = std::make_unique<CallManager>(io.get_executor(), ari, sink, media, o);
    m->on_ari_connection(true);
    run([&]() -> awaitable<void> {
      co_await wait_until([&] { return ari.count("list_bridges") >= 2; });
    });
    settle();
    return m;
  }
};

}  // namespace

TEST_F(Adoption, AtStartUpEveryChannelInOurAppBecomesACallUnderItsStoredId) {
  // A call we originated (its id on the channel), an inbound one still ringing,
  // and what is not ours: another app, a channel in the dialplan, an orphaned
  // media channel of ours.
  ari.channels = {
      listed_channel("out-1", "Up", "openclaw-voice,dialed", "PJSIP/1002-00000007", "Alice",
                     "5551234"),
      listed_channel("in-1", "Ring", "openclaw-voice", "PJSIP/1001-00000008", "", "5550111"),
      listed_channel("other", "Up", "someone-else"),
      listed_channel("other2", "Up", "openclaw-voice-2"),
      listed_channel("dialplan", "Up", ""),
      listed_channel("aa-media-old", "Up", "openclaw-voice"),
  };
  ari.variables["out-1/AA_CALL_ID"] = "0b7c6b7e-1111-4222-8333-444455556666";
  sink.events.clear();
  auto m = restarted();
  ASSERT_EQ(m->active_count(), 2u);
  auto out = m->get_call("0b7c6b7e-1111-4222-8333-444455556666");
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->channel_id, "out-1");
  EXPECT_EQ(out->direction, Direction::outbound);
  EXPECT_EQ(out->state, CallState::answered);
  EXPECT_EQ(out->callee_number, "PJSIP/1002");
  EXPECT_EQ(out->caller_name, "Alice");
  EXPECT_EQ(sink.kinds(out->id), (std::vector<std::string>{"call.created", "call.ready"}));

  CallRecord in;
  for (auto& c : m->active_calls())
    if (c.channel_id == "in-1") in = c;
  EXPECT_EQ(in.direction, Direction::inbound);
  EXPECT_EQ(in.caller_number, "5550111");
  EXPECT_EQ(sink.kinds(in.id).at(0), "call.created");
  // Answered as a new inbound call is, and its new id stored on the channel.
  EXPECT_EQ(ari.last("answer")->target, "in-1");
  EXPECT_EQ(ari.variables["in-1/AA_CALL_ID"], in.id);
  // The orphaned media channel is hung up, nothing else is touched.
  EXPECT_EQ(ari.count("hangup"), 1u);
  EXPECT_EQ(ari.last("hangup")->target, "aa-media-old");
  EXPECT_EQ(m->untracked_stats().adopted, 2u);
  EXPECT_EQ(m->untracked_stats().hung_up, 1u);
}

TEST_F(Adoption, HangupPolicyHangsUpUntrackedChannelsAndCountsThem) {
  ari.channels = {listed_channel("in-1", "Up", "openclaw-voice,inbound,300,555"),
                  listed_channel("mine", "Up", "")};
  auto m = restarted(UntrackedPolicy::hangup);
  EXPECT_EQ(m->active_count(), 0u);
  EXPECT_EQ(ari.count("hangup"), 1u);
  EXPECT_EQ(ari.last("hangup")->target, "in-1");
  EXPECT_EQ(m->untracked_stats().hung_up, 1u);
  EXPECT_EQ(m->untracked_stats().adopted, 0u);
}

TEST_F(Adoption, AMediaChannelItsOwnerClaimsIsLeftAlone) {
  ari.channels = {listed_channel("aa-media-live", "Up", "openclaw-voice")};
  CallManagerOptions o;
  CallManager m(io.get_executor(), ari, sink, media, o);
  m.set_internal_channel_filter([](const ari::Channel& ch) { return ch.id == "aa-media-live"; });
  m.on_ari_connection(true);
  settle();
  EXPECT_EQ(m.active_count(), 0u);
  EXPECT_EQ(ari.count("hangup"), 0u);
}

TEST_F(Adoption, AnUnknownDialedLegThatAnswersIsAdoptedUnderItsStoredId) {
  ari.variables["late/AA_CALL_ID"] = "5f0c1b2a-1111-4222-8333-444455556666";
  mgr->on_ari_event(chan_event("StasisStart", "late", "Up", R"("args":["dialed"])"));
  settle();
  auto c = mgr->get_call("5f0c1b2a-1111-4222-8333-444455556666");
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->direction, Direction::outbound);
  EXPECT_EQ(c->state, CallState::answered);
  // Controllable like any call.
  run([&]() -> awaitable<void> {
    auto r = co_await mgr->send_dtmf(c->id, "1");
    EXPECT_TRUE(r.ok());
  });
}

TEST_F(Adoption, ACallKeepsNoStaleIdAndStoresANewOne) {
  // No stored id (or one already in use): a fresh id, written back to the channel.
  auto live = answered_call();
  ari.channels = {listed_channel(live.channel_id, "Up", "openclaw-voice,dialed"),
                  listed_channel("dup", "Up", "openclaw-voice,dialed")};
  ari.variables["dup/AA_CALL_ID"] = live.id;
  mgr->on_ari_connection(false);
  mgr->on_ari_connection(true);
  settle();
  ASSERT_EQ(mgr->active_count(), 2u);
  std::string dup_id;
  for (auto& c : mgr->active_calls())
    if (c.channel_id == "dup") dup_id = c.id;
  EXPECT_NE(dup_id, live.id);
  EXPECT_EQ(ari.variables["dup/AA_CALL_ID"], dup_id);
}

TEST_F(Adoption, OriginateStoresOurCallIdOnTheChannelInItsVariables) {
  run([&]() -> awaitable<void> {
    OriginateRequest r;
    r.endpoint = "PJSIP/1001";
    r.variables = {{"X_FOO", "bar"}, {"AA_CALL_ID", "forged"}};
    auto c = co_await mgr->originate(r);
    CO_ASSERT_TRUE(c.ok());
    const std::vector<std::pair<std::string, std::string>> want = {{"X_FOO", "bar"},
                                                                   {"AA_CALL_ID", c->id}};
    EXPECT_EQ(ari.last_originate_variables, want);
  });
  EXPECT_EQ(ari.count("set_variable"), 0u);  // no extra request
}

TEST_F(Fixture, InboundCallStoresItsIdOnTheChannel) {
  mgr->on_ari_event(chan_event("StasisStart", "in-v", "Ring", R"("args":[])"));
  settle();
  ASSERT_EQ(mgr->active_count(), 1u);
  EXPECT_EQ(ari.variables["in-v/AA_CALL_ID"], mgr->active_calls()[0].id);
}
