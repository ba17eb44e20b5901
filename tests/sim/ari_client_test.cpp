// A third-party ARI client against the simulator: node's ari-client (npm,
// pinned in tests/sim/ari_client/package-lock.json) builds its API from
// /ari/api-docs and drives every ARI operation our service uses
// (tests/sim/ari_client/drive.js). The module is installed with `npm ci` into
// the build tree on first use; the test is skipped, saying why, where Node,
// npm or the registry is missing.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "sim/simulator.hpp"

#ifndef AA_ARI_CLIENT_DIR
#error "AA_ARI_CLIENT_DIR (tests/sim/ari_client) must be defined by the build"
#endif
#ifndef AA_ARI_CLIENT_MODULES
#error "AA_ARI_CLIENT_MODULES (where npm ci installs) must be defined by the build"
#endif

namespace fs = std::filesystem;

namespace {

struct Shell {
  int exit_code = -1;
  std::string output;
};

/// Run a shell command, stdout and stderr together.
Shell run(const std::string& command) {
  Shell r;
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (!p) return r;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.output.append(buf, n);
  const int status = ::pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string tail(const std::string& s, size_t n = 1500) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

/// node_modules for the pinned lockfile, installed once per build tree (again
/// when the lockfile changes). Empty string and `why` set when unavailable.
std::string ensure_modules(std::string& why) {
  const fs::path src = AA_ARI_CLIENT_DIR;
  const fs::path dest = AA_ARI_CLIENT_MODULES;
  const std::string lock = read_file(src / "package-lock.json");
  if (fs::exists(dest / "node_modules" / "ari-client" / "package.json") &&
      read_file(dest / "package-lock.json") == lock)
    return (dest / "node_modules").string();
  if (run("npm --version").exit_code != 0) {
    why = "npm is not installed (scripts/install-deps.sh installs nodejs and npm)";
    return {};
  }
  // Install beside, then move into place: a half-finished install is never used.
  const fs::path tmp = dest.string() + ".install-" + std::to_string(::getpid());
  std::error_code ec;
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  fs::copy_file(src / "package.json", tmp / "package.json", ec);
  fs::copy_file(src / "package-lock.json", tmp / "package-lock.json", ec);
  const auto t0 = std::chrono::steady_clock::now();
  Shell r = run("cd " + quote(tmp.string()) +
                " && timeout 240 npm ci --no-audit --no-fund --loglevel=error --fetch-retries=2 "
                "--fetch-retry-mintimeout=2000 --fetch-retry-maxtimeout=10000");
  const auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r.exit_code != 0) {
    fs::remove_all(tmp, ec);
    why = "npm ci of ari-client failed (exit " + std::to_string(r.exit_code) +
          ", is the npm registry reachable?): " + tail(r.output, 600);
    return {};
  }
  std::printf("[ari-client] npm ci took %.1f s\n", secs);
  fs::remove_all(dest, ec);
  fs::create_directories(dest.parent_path(), ec);
  fs::rename(tmp, dest, ec);
  if (ec) {  // another run installed it meanwhile
    fs::remove_all(tmp, ec);
    if (!fs::exists(dest / "node_modules" / "ari-client")) {
      why = "could not move the npm install into " + dest.string();
      return {};
    }
  }
  return (dest / "node_modules").string();
}

}  // namespace

TEST(AriClient, NodeAriClientDrivesEveryContractOperation) {
  const Shell node = run("node --version");
  if (node.exit_code != 0)
    GTEST_SKIP() << "node is not installed (scripts/install-deps.sh installs nodejs): "
                 << tail(node.output, 200);
  std::string why;
  const std::string modules = ensure_modules(why);
  if (modules.empty()) GTEST_SKIP() << why;

  aa::sim::SimulatorOptions o;
  o.engine.time_scale = 0.05;  // sounds, ringing and recording limits 20x faster
  aa::sim::SimThread sim(o);
  const std::string script = (fs::path(AA_ARI_CLIENT_DIR) / "drive.js").string();
  const Shell r = run("NODE_PATH=" + quote(modules) + " timeout 90 node " + quote(script) + " " +
                      quote(sim.base_url()) + " asterisk_ari asterisk_ari_pass openclaw-voice");
  sim.stop();
  const bool ok = r.exit_code == 0 && r.output.find(" steps ok") != std::string::npos &&
                  r.output.find("FAIL") == std::string::npos;
  EXPECT_TRUE(ok) << "exit " << r.exit_code << ", node " << node.output << r.output;
}
