#include "app/config.hpp"

#include <gtest/gtest.h>

using namespace aa::app;

TEST(Config, DefaultsMatchTheContract) {
  auto c = load_config({});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(c->simulated());
  EXPECT_EQ(c->ari_app, "openclaw-voice");
  EXPECT_EQ(c->api_port, 3456);
  EXPECT_EQ(c->api_host, "0.0.0.0");
  EXPECT_TRUE(c->api_key.empty());
  EXPECT_TRUE(c->media_base_url.empty());  // derived from the bound port
  EXPECT_EQ(c->untracked_channels, "adopt");
}

TEST(Config, UntrackedChannelsIsAdoptOrHangup) {
  auto c = load_config({{"UNTRACKED_CHANNELS", "HangUp"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->untracked_channels, "hangup");
  EXPECT_NE(describe_variables().find("UNTRACKED_CHANNELS"), std::string::npos);
}

TEST(Config, BadValuesNameTheVariable) {
  for (auto [k, v] :
       std::vector<std::pair<std::string, std::string>>{{"API_PORT", "70000"},
                                                        {"API_PORT", "abc"},
                                                        {"ARI_URL", "localhost:8088"},
                                                        {"WEBHOOK_URL", "ftp://x"},
                                                        {"LOG_LEVEL", "loud"},
                                                        {"ARI_TIMEOUT_MS", "-5"},
                                                        {"SIM_TIME_SCALE", "0"},
                                                        {"ARI_APP", "bad app"},
                                                        {"MEDIA_BASE_URL", "nope"},
                                                        {"UNTRACKED_CHANNELS", "ignore"},
                                                        {"ASR_AUTO_START", "outbound"}}) {
    auto c = load_config({{k, v}});
    ASSERT_FALSE(c.ok()) << k << "=" << v;
    EXPECT_EQ(c.error().message.rfind(k + ":", 0), 0u) << c.error().message;
  }
}

TEST(Config, VoiceVariables) {
  auto d = load_config({});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->asr_auto_start, "inbound");
  EXPECT_TRUE(d->allowlist_file.empty());
  auto c = load_config({{"ASR_AUTO_START", "ALL"}, {"ALLOWLIST_FILE", "/etc/aa/allowlist.json"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->asr_auto_start, "all");
  EXPECT_EQ(c->allowlist_file, "/etc/aa/allowlist.json");
}

TEST(Config, WebhookAliasAndAriUrlNormalisation) {
  auto c = load_config({{"OPENCLAW_WEBHOOK_URL", "http://localhost:18789/voice/webhook"},
                        {"ARI_URL", "http://10.0.0.1:8088/ari/"}});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->webhook_url, "http://localhost:18789/voice/webhook");
  EXPECT_EQ(c->ari_url, "http://10.0.0.1:8088");
  EXPECT_FALSE(c->simulated());
}

TEST(Config, DotenvParsing) {
  auto env = parse_dotenv(
      "# comment\nARI_URL=http://192.168.2.198:8088\nexport API_KEY=\"s3cret\"\n"
      "API_PORT=4000 # inline\n\nBROKEN LINE\nEMPTY=\n");
  EXPECT_EQ(env["ARI_URL"], "http://192.168.2.198:8088");
  EXPECT_EQ(env["API_KEY"], "s3cret");
  EXPECT_EQ(env["API_PORT"], "4000");
  EXPECT_EQ(env["EMPTY"], "");
  EXPECT_EQ(env.count("BROKEN LINE"), 0u);
}
