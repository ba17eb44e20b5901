// asterisk-api: configuration, wiring and signals. Nothing else.
#include <sys/resource.h>

#include <boost/asio/signal_set.hpp>
#include <cstdio>
#include <iostream>

#include "app/config.hpp"
#include "app/service.hpp"
#include "common/asio.hpp"
#include "common/log.hpp"

namespace {

void print_help() {
  std::cout << "asterisk-api " << AA_VERSION
            << " - HTTP/WebSocket/webhook API for Asterisk (ARI)\n\n"
               "Usage: asterisk-api [--help] [--version] [--check-config]\n\n"
               "  --help          this text\n"
               "  --version       version and git hash\n"
               "  --check-config  validate the configuration and exit (0 = valid)\n\n"
               "Configuration comes from the environment and a .env file in the working\n"
               "directory (the environment wins):\n\n"
            << aa::app::describe_variables()
            << "\nWithout ARI_URL an embedded simulated Asterisk is started on 127.0.0.1.\n";
}

/// Each /events client, HTTP client and ARI connection is a descriptor; the
/// usual soft limit of 1024 is too low for a thousand clients. Raise it to
/// the hard limit, as servers commonly do.
void raise_fd_limit() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max) return;
  const rlim_t wanted = rl.rlim_max == RLIM_INFINITY ? 1 << 20 : rl.rlim_max;
  rl.rlim_cur = wanted;
  setrlimit(RLIMIT_NOFILE, &rl);
}

}  // namespace

int main(int argc, char** argv) {
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      print_help();
      return 0;
    }
    if (a == "--version") {
      std::cout << "asterisk-api " << AA_VERSION << " (" << AA_GIT_HASH << ")\n";
      return 0;
    }
    if (a == "--check-config") {
      check_only = true;
      continue;
    }
    std::cerr << "asterisk-api: unknown option " << a << " (see --help)\n";
    return 2;
  }

  auto cfg = aa::app::load_config(aa::app::read_environment("."));
  if (!cfg) {
    std::cerr << "asterisk-api: configuration error: " << cfg.error().message << "\n";
    return 2;
  }
  if (check_only) {
    std::cout << "configuration OK" << (cfg->simulated() ? " (no ARI_URL: simulated Asterisk)" : "")
              << "\n";
    return 0;
  }
  aa::log::configure(cfg->log_level, cfg->log_format);
  raise_fd_limit();

  asio::io_context io(1);
  aa::app::Service service(io, *cfg);
  try {
    service.start();
  } catch (const std::exception& e) {
    std::cerr << "asterisk-api: cannot start: " << e.what() << "\n";
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    aa::log::info("signal {} received", sig);
    asio::co_spawn(io, service.shutdown(), [&](std::exception_ptr) { io.stop(); });
  });
  io.run();
  return 0;
}
