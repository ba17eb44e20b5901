// The README's agent (examples/agent-echo/agent.js, Node + the `ws` package
// pinned by its lockfile) against the service: it gets start, echoes the
// caller's audio back (the caller hears it), its marks come back once heard,
// and DTMF * makes it hang the call up. Skipped, saying why, without Node,
// npm or the npm registry.
#include <gtest/gtest.h>
#include <signal.h>

#include <mutex>
#include <thread>

#include "support/npm.hpp"
#include "support/voice_rig.hpp"

#ifndef AA_AGENT_EXAMPLE_DIR
#error "AA_AGENT_EXAMPLE_DIR (examples/agent-echo) must be defined by the build"
#endif

using namespace aa;
using namespace aa::test::voice_rig;
namespace npm = aa::test::npm;

namespace {

/// `node agent.js` in the background; its output collected as it comes.
class NodeAgent {
 public:
  NodeAgent(const std::string& modules, uint16_t port) {
    const std::string cmd =
        "cd " + npm::quote(AA_AGENT_EXAMPLE_DIR) + " && PORT=" + std::to_string(port) +
        " NODE_PATH=" + npm::quote(modules) + " exec sh -c 'echo $$; exec node agent.js' 2>&1";
    pipe_ = ::popen(cmd.c_str(), "r");
    if (!pipe_) return;
    char line[256];
    if (std::fgets(line, sizeof line, pipe_)) pid_ = std::atoi(line);
    reader_ = std::thread([this] {
      char buf[1024];
      size_t n;
      while ((n = std::fread(buf, 1, 1, pipe_)) > 0) {
        std::lock_guard lk(mu_);
        out_.append(buf, n);
      }
    });
  }
  ~NodeAgent() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
    if (reader_.joinable()) reader_.join();
    if (pipe_) ::pclose(pipe_);
  }
  std::string output() {
    std::lock_guard lk(mu_);
    return out_;
  }
  bool said(const std::string& s) { return output().find(s) != std::string::npos; }

 private:
  FILE* pipe_ = nullptr;
  int pid_ = -1;
  std::thread reader_;
  std::mutex mu_;
  std::string out_;
};

uint16_t free_port() {
  asio::io_context io;
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  return a.local_endpoint().port();
}

}  // namespace

TEST(NodeAgent, TheReadmeEchoAgentStreamsACall) {
  const npm::Shell node = npm::run("node --version");
  if (node.exit_code != 0) GTEST_SKIP() << "node is not installed: " << npm::tail(node.output, 200);
  std::string why;
  const std::string modules =
      npm::ensure_modules(AA_AGENT_EXAMPLE_DIR, AA_AGENT_EXAMPLE_MODULES, "ws", why);
  if (modules.empty()) GTEST_SKIP() << why;
  const uint16_t port = free_port();
  NodeAgent agent(modules, port);
  TempDir dir;
  app::Config cfg = voice_config(dir);
  cfg.asr_auto_start = "off";
  run_service(cfg, [&](app::Service&, Rig& rig) -> awaitable<void> {
    const bool listening =
        co_await test::until([&] { return agent.said("agent listening"); }, 10000);
    if (!listening) ADD_FAILURE() << agent.output();
    CO_ASSERT_TRUE(listening);
    auto [call_id, channel] = co_await rig.inbound();
    CO_ASSERT_TRUE(!call_id.empty());
    co_await rig.sim_call("DELETE", "/_sim/channels/" + channel + "/heard");
    auto r = co_await rig.post("/calls/" + call_id + "/stream",
                               R"({"url":"ws://127.0.0.1:)" + std::to_string(port) + R"("})");
    EXPECT_EQ(r.status, 201) << r.body;
    auto say = co_await rig.sim_call("POST", "/_sim/channels/" + channel + "/say",
                                     R"({"text":"what time do you open tomorrow"})");
    EXPECT_EQ(say.status, 200);
    const bool marked = co_await test::until([&] { return agent.said("heard second-2"); }, 10000);
    EXPECT_TRUE(marked) << agent.output();
    EXPECT_TRUE(agent.said("start " + call_id)) << agent.output();
    auto heard = co_await rig.sim_call("GET", "/_sim/channels/" + channel + "/heard");
    const Heard h = parse_heard(heard.body);
    std::printf("[ node agent ] the caller heard %lld ms of its own echo\n",
                static_cast<long long>(h.sound_ms));
    EXPECT_GT(h.sound_ms, 1000);
    co_await rig.sim_call("POST", "/_sim/channels/" + channel + "/dtmf", R"({"digits":"*"})");
    auto ev = rig.events;
    const bool ended = co_await test::until([&] { return ev->count("call.ended", call_id) == 1; });
    EXPECT_TRUE(ended);
    const bool stopped = co_await test::until([&] { return agent.said("stop " + call_id); });
    EXPECT_TRUE(stopped) << agent.output();
  });
}
