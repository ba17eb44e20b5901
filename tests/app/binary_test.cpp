// The real `asterisk-api` binary, started as a user would: it prints where it
// listens, serves the API against its embedded simulator, and stops cleanly on
// SIGTERM (in-flight clients told, exit status 0). Also the operator options.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "common/json.hpp"
#include "net/http_client.hpp"
#include "net/ws_client.hpp"
#include "support/regex.hpp"
#include "support/run_io.hpp"

using namespace aa;

namespace {

/// A child process with its stdout+stderr on a pipe.
class Child {
 public:
  Child(std::vector<std::string> args, std::vector<std::string> env) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe");
    const auto dir = std::filesystem::temp_directory_path();  // no stray .env
    pid_ = fork();
    if (pid_ == 0) {
      dup2(fds[1], 1);
      dup2(fds[1], 2);
      close(fds[0]);
      close(fds[1]);
      if (chdir(dir.c_str()) != 0) _exit(126);
      std::vector<char*> argv, envp;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      for (auto& e : env) envp.push_back(e.data());
      envp.push_back(nullptr);
      execve(argv[0], argv.data(), envp.data());
      _exit(127);
    }
    close(fds[1]);
    out_ = fds[0];
    fcntl(out_, F_SETFL, O_NONBLOCK);
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
  }

  /// Read output until `re` matches (returns the match) or `limit` passes.
  std::smatch wait_for(const std::regex& re, std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    std::smatch m;
    while (!std::regex_search(output, m, re)) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          end - std::chrono::steady_clock::now());
      if (left.count() <= 0) return {};
      pollfd p{out_, POLLIN, 0};
      poll(&p, 1, static_cast<int>(left.count()));
      drain();
    }
    return m;
  }
  void drain() {
    char buf[4096];
    ssize_t n;
    while ((n = read(out_, buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(n));
  }
  /// Exit status, or -1 if still running after `limit`.
  int wait_exit(std::chrono::milliseconds limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        drain();
        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      }
      drain();
      usleep(10'000);
    }
    return -1;
  }
  pid_t pid() const { return pid_; }
  std::string output;

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  bool exited_ = false;
};

std::vector<std::string> base_env() {
  std::vector<std::string> env = {"API_HOST=127.0.0.1",  "API_PORT=0",     "SIM_PORT=0",
                                  "SIM_TIME_SCALE=0.02", "LOG_LEVEL=info", "API_KEY=bin-key"};
  if (const char* p = std::getenv("PATH")) env.push_back(std::string("PATH=") + p);
  // Sanitizer builds: keep the child's settings (leak checks, abort on error).
  for (const char* k : {"ASAN_OPTIONS", "UBSAN_OPTIONS"})
    if (const char* v = std::getenv(k)) env.push_back(std::string(k) + "=" + v);
  return env;
}

}  // namespace

TEST(Binary, ServesCallsThenStopsCleanlyOnSigterm) {
  Child svc({AA_SERVICE_BINARY}, base_env());
  const std::regex listening(R"(listening on http://127\.0\.0\.1:(\d+))");
  auto m = svc.wait_for(listening, std::chrono::seconds(20));
  ASSERT_FALSE(m.empty()) << svc.output;
  const std::string port = m[1];
  EXPECT_NE(svc.output.find("SIMULATED ASTERISK"), std::string::npos);
  const std::string base = "http://127.0.0.1:" + port;

  asio::io_context io;
  bool ws_closed = false;
  std::shared_ptr<net::WsConnection> ws;
  test::run_coro(io, [&]() -> awaitable<void> {
    const std::vector<net::Header> key = {{"X-API-Key", "bin-key"}};
    const net::ClientOptions o;
    const std::string json_ct = "application/json";
    const std::string health = base + "/health";
    // The events socket may take a moment after "listening".
    bool ok = false;
    for (int i = 0; i < 200 && !ok; ++i) {
      auto h = co_await net::http_fetch("GET", health, std::string{}, json_ct, key, o);
      auto doc = json::parse(h.body);
      ok = h.status == 200 && doc && json::get_string(*doc, "status") == "ok";
      if (!ok) co_await sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_TRUE(ok);
    const std::string calls = base + "/calls";
    auto made =
        co_await net::http_fetch("POST", calls, R"({"endpoint":"PJSIP/1001"})", json_ct, key, o);
    EXPECT_EQ(made.status, 201) << made.body;
    auto bad = co_await net::http_fetch("POST", calls, R"({"endpoint":)", json_ct, key, o);
    EXPECT_EQ(bad.status, 400) << bad.body;

    const Url url = *parse_url(base);
    std::string target = "/events?api_key=bin-key";
    auto c = co_await net::ws_connect(url, std::move(target));
    EXPECT_TRUE(c.connection);
    ws = c.connection;
    if (ws) ws->on_close = [&] { ws_closed = true; };
  });
  ASSERT_TRUE(ws);

  ASSERT_EQ(kill(svc.pid(), SIGTERM), 0);
  // The /events client is closed by the server while it shuts down.
  test::run_coro(io, [&]() -> awaitable<void> {
    const bool closed = co_await test::wait_until([&] { return ws_closed; });
    EXPECT_TRUE(closed);
  });
  EXPECT_EQ(svc.wait_exit(std::chrono::seconds(10)), 0) << svc.output;
  EXPECT_NE(svc.output.find("shutdown complete"), std::string::npos) << svc.output;
}

TEST(Binary, OperatorOptions) {
  {
    Child v({AA_SERVICE_BINARY, "--version"}, base_env());
    EXPECT_EQ(v.wait_exit(std::chrono::seconds(10)), 0);
    EXPECT_TRUE(std::regex_search(v.output, std::regex(R"(^asterisk-api \d+\.\d+\.\d+ \()")))
        << v.output;
  }
  {
    Child h({AA_SERVICE_BINARY, "--help"}, base_env());
    EXPECT_EQ(h.wait_exit(std::chrono::seconds(10)), 0);
    for (const char* var : {"ARI_URL", "API_KEY", "WEBHOOK_URL", "LOG_FORMAT"})
      EXPECT_NE(h.output.find(var), std::string::npos) << var;
  }
  {
    auto env = base_env();
    env.push_back("ARI_URL=localhost:8088");  // no scheme
    Child c({AA_SERVICE_BINARY, "--check-config"}, env);
    EXPECT_EQ(c.wait_exit(std::chrono::seconds(10)), 2);
    EXPECT_NE(c.output.find("ARI_URL:"), std::string::npos) << c.output;
  }
  {
    Child c({AA_SERVICE_BINARY, "--check-config"}, base_env());
    EXPECT_EQ(c.wait_exit(std::chrono::seconds(10)), 0) << c.output;
  }
  {
    Child u({AA_SERVICE_BINARY, "--frobnicate"}, base_env());
    EXPECT_EQ(u.wait_exit(std::chrono::seconds(10)), 2);
  }
}
