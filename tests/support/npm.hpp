#pragma once
// Running Node.js programs from tests: shell commands, and npm packages pinned
// by a lockfile in the source tree, installed with `npm ci` into the build tree
// on first use (again when the lockfile changes). Tests that need them skip,
// saying why, where Node, npm or the npm registry is missing.
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace aa::test::npm {

namespace fs = std::filesystem;

struct Shell {
  int exit_code = -1;
  std::string output;
};

/// Run a shell command, stdout and stderr together.
inline Shell run(const std::string& command) {
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

inline std::string quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

inline std::string read_file(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline std::string tail(const std::string& s, size_t n = 1500) {
  return s.size() <= n ? s : "..." + s.substr(s.size() - n);
}

/// node_modules for the package.json + package-lock.json in `src`, installed
/// into `dest` once (again when the lockfile changes); `probe` is a package
/// that must be there. Empty string and `why` set when unavailable.
inline std::string ensure_modules(const fs::path& src, const fs::path& dest,
                                  const std::string& probe, std::string& why) {
  const std::string lock = read_file(src / "package-lock.json");
  if (fs::exists(dest / "node_modules" / probe / "package.json") &&
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
    why = "npm ci of " + probe + " failed (exit " + std::to_string(r.exit_code) +
          ", is the npm registry reachable?): " + tail(r.output, 600);
    return {};
  }
  std::printf("[npm] npm ci of %s took %.1f s\n", probe.c_str(), secs);
  fs::remove_all(dest, ec);
  fs::create_directories(dest.parent_path(), ec);
  fs::rename(tmp, dest, ec);
  if (ec) {  // another run installed it meanwhile
    fs::remove_all(tmp, ec);
    if (!fs::exists(dest / "node_modules" / probe)) {
      why = "could not move the npm install into " + dest.string();
      return {};
    }
  }
  return (dest / "node_modules").string();
}

}  // namespace aa::test::npm
