// The legs of a transfer live and die together.
#include "calls/call_fixture.hpp"

using namespace aa;
using namespace aa::calls;
using namespace aa::test;

namespace {

struct Transfer : Fixture {
  /// The original call, transferred to a leg that answered and was bridged.
  /// Returns {caller, target leg call id, bridge id}.
  std::tuple<CallRecord, std::string, std::string> bridged_transfer() {
    auto c = answered_call();
    std::string leg_id, bridge_id;
    run([&]() -> awaitable<void> {
      auto ex = co_await asio::this_coro::executor;
      auto answer_leg = [&]() -> awaitable<void> {
        co_await wait_until([&] { return ari.count("originate") == 2; });
        std::string leg = ari.last("originate")->target;
        mgr->on_ari_event(chan_event("ChannelStateChange", leg, "Up"));
        mgr->on_ari_event(chan_event("StasisStart", leg, "Up", R"("args":["dialed"])"));
      };
      spawn(ex, answer_leg(), "answer new leg");
      TransferRequest t;
      t.endpoint = "PJSIP/1002";
      t.timeout_s = 5;
      auto r = co_await mgr->transfer(c.id, t);
      CO_ASSERT_TRUE(r.ok());
      leg_id = r->new_call_id;
      bridge_id = r->bridge_id;
    });
    return {c, leg_id, bridge_id};
  }
};

}  // namespace

TEST_F(Transfer, CallerHangingUpWhileTheTargetRingsEndsTheTargetAndTheRequestAtOnce) {
  auto c = answered_call();
  std::string leg_channel;
  run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto caller_leaves = [&]() -> awaitable<void> {
      co_await wait_until([&] { return ari.count("originate") == 2; });
      leg_channel = ari.last("originate")->target;
      mgr->on_ari_event(dial(leg_channel, "Ringing", "RINGING"));
      mgr->on_ari_event(chan_event("ChannelHangupRequest", c.channel_id, "Up", R"("cause":16)"));
      mgr->on_ari_event(chan_event("StasisEnd", c.channel_id, "Up"));
    };
    spawn(ex, caller_leaves(), "caller hangs up");
    TransferRequest t;
    t.endpoint = "PJSIP/1002";
    t.timeout_s = 10;
    const auto t0 = std::chrono::steady_clock::now();
    auto r = co_await mgr->transfer(c.id, t);
    CO_ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, ErrorCode::wrong_state);
    EXPECT_NE(r.error().message.find("ended"), std::string::npos);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(5));  // not the timeout
    co_await wait_until([&] { return ari.count("hangup") == 1; });
  });
  ASSERT_NE(ari.last("hangup"), nullptr);
  EXPECT_EQ(ari.last("hangup")->target, leg_channel);
  EXPECT_EQ(ari.count("create_bridge"), 0u);
}

TEST_F(Transfer, TargetHangingUpAfterBridgingHangsUpTheCallerAndDestroysTheBridge) {
  auto [caller, leg_id, bridge_id] = bridged_transfer();
  ASSERT_FALSE(leg_id.empty());
  const std::string leg_channel = mgr->get_call(leg_id)->channel_id;
  mgr->on_ari_event(chan_event("ChannelHangupRequest", leg_channel, "Up", R"("cause":16)"));
  mgr->on_ari_event(chan_event("StasisEnd", leg_channel, "Up"));
  settle();
  EXPECT_EQ(ari.last("hangup")->target, caller.channel_id);
  EXPECT_EQ(ari.last("destroy_bridge")->target, bridge_id);
  auto kinds = sink.kinds();
  EXPECT_NE(std::find(kinds.begin(), kinds.end(), "bridge.destroyed"), kinds.end());
}

TEST_F(Transfer, CallerHangingUpAfterBridgingHangsUpTheTarget) {
  auto [caller, leg_id, bridge_id] = bridged_transfer();
  ASSERT_FALSE(leg_id.empty());
  const std::string leg_channel = mgr->get_call(leg_id)->channel_id;
  mgr->on_ari_event(chan_event("StasisEnd", caller.channel_id, "Up"));
  settle();
  EXPECT_EQ(ari.count("hangup"), 1u);
  EXPECT_EQ(ari.last("hangup")->target, leg_channel);
  EXPECT_EQ(ari.last("destroy_bridge")->target, bridge_id);
  // The target's own end afterwards asks for nothing more.
  mgr->on_ari_event(chan_event("StasisEnd", leg_channel, "Up"));
  settle();
  EXPECT_EQ(ari.count("hangup"), 1u);
}

TEST_F(Transfer, ATargetThatNeverAnswersTakesNobodyWithIt) {
  auto c = answered_call();
  run([&]() -> awaitable<void> {
    auto ex = co_await asio::this_coro::executor;
    auto busy = [&]() -> awaitable<void> {
      co_await wait_until([&] { return ari.count("originate") == 2; });
      std::string leg = ari.last("originate")->target;
      mgr->on_ari_event(dial(leg, "Busy", "BUSY"));
      mgr->on_ari_event(chan_event("ChannelDestroyed", leg, "Down", R"("cause":17)"));
    };
    spawn(ex, busy(), "target busy");
    TransferRequest t;
    t.endpoint = "PJSIP/1002";
    t.timeout_s = 10;
    auto r = co_await mgr->transfer(c.id, t);
    CO_ASSERT_FALSE(r.ok());
    EXPECT_NE(r.error().message.find("busy"), std::string::npos);
  });
  settle();
  EXPECT_EQ(ari.count("hangup"), 0u);
  EXPECT_EQ(mgr->get_call(c.id)->state, CallState::answered);
}

TEST_F(Transfer, DestroyingTheTransferBridgeUntiesTheLegs) {
  auto [caller, leg_id, bridge_id] = bridged_transfer();
  ASSERT_FALSE(bridge_id.empty());
  run([&]() -> awaitable<void> {
    auto r = co_await mgr->destroy_bridge(bridge_id);
    EXPECT_TRUE(r.ok());
  });
  const std::string leg_channel = mgr->get_call(leg_id)->channel_id;
  mgr->on_ari_event(chan_event("StasisEnd", leg_channel, "Up"));
  settle();
  EXPECT_EQ(ari.count("hangup"), 0u);
  EXPECT_EQ(mgr->get_call(caller.id)->state, CallState::answered);
}
