#include "calls/allowlist.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace aa::calls {
namespace {

namespace fs = std::filesystem;

TEST(Allowlist, NumbersAreComparedAsDigitsOnly) {
  EXPECT_EQ(digits_of("+1 (555) 013-0000"), "15550130000");
  Allowlist a({{"15550130000"}, {}});
  EXPECT_TRUE(a.check_inbound("+1 (555) 013-0000").allowed);
  EXPECT_FALSE(a.check_inbound("5550130000").allowed);
}

TEST(Allowlist, EmptyListsAllowEveryone) {
  Allowlist a;
  EXPECT_TRUE(a.check_inbound("").allowed);
  EXPECT_TRUE(a.check_outbound("PJSIP/1001").allowed);
}

TEST(Allowlist, EmptyCallerIsBlockedOnceTheInboundListIsNotEmpty) {
  Allowlist a({{"5551234"}, {}});
  EXPECT_FALSE(a.check_inbound("").allowed);
  EXPECT_FALSE(a.check_inbound("anonymous").allowed);
}

TEST(Allowlist, OutboundNumberIsTheLongestRunOfSevenOrMoreDigits) {
  EXPECT_EQ(outbound_number("PJSIP/15550130000@trunk"), "15550130000");
  EXPECT_EQ(outbound_number("PJSIP/1001"), "");
  EXPECT_EQ(outbound_number("SIP/trunk2/0044207946000"), "0044207946000");
  EXPECT_EQ(outbound_number("Local/5551234@from-internal"), "5551234");
  Allowlist a({{}, {"15550130000"}});
  EXPECT_TRUE(a.check_outbound("PJSIP/15550130000@trunk").allowed);
  auto internal = a.check_outbound("PJSIP/1001");
  EXPECT_FALSE(internal.allowed);
  EXPECT_EQ(internal.number, "");
}

TEST(Allowlist, BrokenFilesNameTheProblem) {
  auto bad = [](std::string_view text) {
    auto r = parse_allowlist(text);
    EXPECT_FALSE(r) << text;
    return r ? std::string{}
             : (r.error().details.empty() ? r.error().message : r.error().details.front());
  };
  EXPECT_NE(bad("{").find("not JSON"), std::string::npos);
  EXPECT_NE(bad("[]").find("object"), std::string::npos);
  EXPECT_NE(bad(R"({"inbound":[]})").find("outbound"), std::string::npos);
  EXPECT_NE(bad(R"({"inbound":[], "outbound":[5551234]})").find("outbound[0]"), std::string::npos);
  EXPECT_NE(bad(R"({"inbound":["abc"], "outbound":[]})").find("inbound[0]"), std::string::npos);
  EXPECT_NE(bad(R"({"inbound":[], "outbund":[]})").find("outbund"), std::string::npos);
  auto ok = parse_allowlist(
      R"({"$schema":"x","description":"d","inbound":["+1 555 0100"],"outbound":[]})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->inbound.front(), "15550100");
}

TEST(Allowlist, ReloadOfABrokenFileKeepsTheLastGoodList) {
  const fs::path p =
      fs::temp_directory_path() / ("aa-allow-" + std::to_string(::getpid()) + ".json");
  { std::ofstream(p) << R"({"inbound":["5551234"],"outbound":[]})"; }
  AllowlistFile f(p.string());
  ASSERT_TRUE(f.load());
  EXPECT_EQ(f.list().entries().inbound.size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  { std::ofstream(p) << R"({"inbound":["5551234"],)"; }
  auto st = f.load();
  EXPECT_FALSE(st);
  EXPECT_FALSE(f.list().check_inbound("999").allowed);  // still the old list
  EXPECT_FALSE(f.poll());                               // unchanged since: nothing to do
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  { std::ofstream(p) << R"({"inbound":[],"outbound":[]})"; }
  fs::last_write_time(p, fs::file_time_type::clock::now() + std::chrono::seconds(1));
  EXPECT_TRUE(f.poll());
  EXPECT_TRUE(f.list().check_inbound("999").allowed);
  fs::remove(p);
}

}  // namespace
}  // namespace aa::calls
