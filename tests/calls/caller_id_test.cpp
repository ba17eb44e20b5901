// Caller ID text is read as Asterisk reads it (ast_callerid_parse, then the
// number's punctuation removed), for originate and for inbound channels.
#include "calls/caller_id.hpp"

#include "calls/call_fixture.hpp"

using namespace aa;
using namespace aa::calls;
using namespace aa::test;

namespace {

std::pair<std::string, std::string> parsed(std::string_view text) {
  auto c = parse_caller_id(text);
  return {c.name, c.number};
}

}  // namespace

TEST(CallerId, NameAndNumberFormsAreReadAsAsteriskReadsThem) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(parsed(R"("Alice" <5551234>)"), (P{"Alice", "5551234"}));
  EXPECT_EQ(parsed("Alice <5551234>"), (P{"Alice", "5551234"}));
  EXPECT_EQ(parsed(R"("Bob Smith" <+1 555.013.0000>)"), (P{"Bob Smith", "+15550130000"}));
  EXPECT_EQ(parsed("<5551234>"), (P{"", "5551234"}));
  EXPECT_EQ(parsed(R"("" <>)"), (P{"", ""}));
  EXPECT_EQ(parsed("  5551234  "), (P{"", "5551234"}));
  EXPECT_EQ(parsed("*86#"), (P{"", "*86#"}));
  EXPECT_EQ(parsed(""), (P{"", ""}));
}

TEST(CallerId, ABareValueIsANumberOnlyIfItIsMadeOfNumberCharacters) {
  using P = std::pair<std::string, std::string>;
  EXPECT_EQ(parsed("Alice"), (P{"Alice", ""}));
  EXPECT_EQ(parsed(R"("Alice")"), (P{"Alice", ""}));
  EXPECT_EQ(parsed("+1 (555) 013-0000"), (P{"", "+15550130000"}));
  EXPECT_EQ(parsed("555-CALL"), (P{"555-CALL", ""}));
  EXPECT_EQ(parsed("()-."), (P{"()-.", ""}));  // punctuation alone is no number
}

TEST_F(Fixture, OriginateCallerIdAloneIsANameWithAnEmptyNumber) {
  run([&]() -> awaitable<void> {
    OriginateRequest r;
    r.endpoint = "PJSIP/1001";
    r.caller_id = "Alice";
    auto c = co_await mgr->originate(r);
    CO_ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->caller_name, "Alice");
    EXPECT_EQ(c->caller_number, "");
    r.caller_id = "+1 (555) 013-0000";
    auto d = co_await mgr->originate(r);
    CO_ASSERT_TRUE(d.ok());
    EXPECT_EQ(d->caller_name, "");
    EXPECT_EQ(d->caller_number, "+15550130000");
  });
  ASSERT_FALSE(sink.events.empty());
  ASSERT_TRUE(sink.events.front().call);
  EXPECT_EQ(sink.events.front().call->caller_name, "Alice");  // call.created carries it
}

TEST_F(Fixture, InboundCallerNameAndNumberComeFromTheChannelOrTheStasisArgs) {
  mgr->on_ari_event(event(
      R"({"type":"StasisStart","application":"openclaw-voice","timestamp":"t","args":[],"channel":{"id":"in-n","name":"PJSIP/x","state":"Ring","protocol_id":"","caller":{"name":"Carol","number":"5550111"},"connected":{"name":"","number":""},"accountcode":"","dialplan":{"context":"c","exten":"200","priority":1,"app_name":"Stasis","app_data":"openclaw-voice"},"creationtime":"t","language":"en"}})"));
  mgr->on_ari_event(
      chan_event("StasisStart", "in-a", "Ring", R"("args":["inbound","300","Dave <5550222>"])"));
  auto calls = mgr->active_calls();
  ASSERT_EQ(calls.size(), 2u);
  for (const auto& c : calls) {
    if (c.channel_id == "in-n") {
      EXPECT_EQ(c.caller_name, "Carol");
      EXPECT_EQ(c.caller_number, "5550111");
      EXPECT_EQ(c.callee_number, "200");
    } else {
      EXPECT_EQ(c.caller_name, "Dave");
      EXPECT_EQ(c.caller_number, "5550222");
      EXPECT_EQ(c.callee_number, "300");
    }
  }
}
