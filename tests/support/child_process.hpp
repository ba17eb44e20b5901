#pragma once
// A child process for the tests that run the real binary: its stdout+stderr
// on a pipe, waited for by regex; and the environment those tests give it.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

#include "support/regex.hpp"

namespace aa::test {

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

/// The environment of a test run of the binary; its event store goes to a
/// folder of its own (DATA_DIR), never a shared one.
inline std::vector<std::string> base_env() {
  std::vector<std::string> env = {"API_HOST=127.0.0.1",  "API_PORT=0",     "SIM_PORT=0",
                                  "SIM_TIME_SCALE=0.02", "LOG_LEVEL=info", "API_KEY=bin-key"};
  if (const char* p = std::getenv("PATH")) env.push_back(std::string("PATH=") + p);
  static int n = 0;
  env.push_back("DATA_DIR=" +
                (std::filesystem::temp_directory_path() /
                 ("aa-bin-data-" + std::to_string(::getpid()) + "-" + std::to_string(n++)))
                    .string());
  // Sanitizer builds: keep the child's settings (leak checks, abort on error).
  for (const char* k : {"ASAN_OPTIONS", "UBSAN_OPTIONS"})
    if (const char* v = std::getenv(k)) env.push_back(std::string(k) + "=" + v);
  return env;
}

}  // namespace aa::test
