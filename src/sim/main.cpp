// ari-sim: a standalone ARI (Asterisk 22) simulator. See docs/sim.md.
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <cstdlib>
#include <iostream>
#include <string>

#include "common/asio.hpp"
#include "common/log.hpp"
#include "sim/simulator.hpp"

namespace {

void usage(std::ostream& os) {
  os << "Usage: ari-sim [options]\n"
        "  --port N          listen port (default 8088; 0 picks a free one)\n"
        "  --host ADDR       listen address (default 127.0.0.1; /_sim has no auth)\n"
        "  --user NAME       ARI user (default asterisk_ari)\n"
        "  --password PASS   ARI password (default asterisk_ari_pass)\n"
        "  --app-default APP Stasis app for /_sim/inbound calls (default openclaw-voice)\n"
        "  --time-scale X    multiply every simulated delay by X (default 1)\n"
        "  --data-dir DIR    where recordings are written (default: a new temp dir)\n"
        "  --log-level L     trace|debug|info|warn|error (default info)\n"
        "  --help            this text\n";
}

}  // namespace

int main(int argc, char** argv) {
  aa::sim::SimulatorOptions opts;
  opts.port = 8088;
  std::string level = "info";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "ari-sim: " << a << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    try {
      if (a == "--help" || a == "-h") {
        usage(std::cout);
        return 0;
      } else if (a == "--port") {
        opts.port = static_cast<uint16_t>(std::stoi(value()));
      } else if (a == "--host") {
        opts.host = value();
      } else if (a == "--user") {
        opts.credentials.user = value();
      } else if (a == "--password") {
        opts.credentials.password = value();
      } else if (a == "--app-default") {
        opts.engine.app_default = value();
      } else if (a == "--time-scale") {
        opts.engine.time_scale = std::stod(value());
      } else if (a == "--data-dir") {
        opts.engine.data_dir = value();
      } else if (a == "--log-level") {
        level = value();
      } else {
        std::cerr << "ari-sim: unknown option " << a << "\n";
        usage(std::cerr);
        return 2;
      }
    } catch (const std::exception&) {
      std::cerr << "ari-sim: bad value for " << a << "\n";
      return 2;
    }
  }
  if (opts.engine.time_scale <= 0) {
    std::cerr << "ari-sim: --time-scale must be > 0\n";
    return 2;
  }
  // Plain spdlog here: ari-sim only needs a level.
  spdlog::set_level(spdlog::level::from_str(level));
  asio::io_context io;
  aa::sim::Simulator sim(io, opts);
  try {
    const uint16_t port = sim.start();
    std::cout << "ari-sim listening on http://" << opts.host << ":" << port << "/ari" << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "ari-sim: cannot listen on " << opts.host << ":" << opts.port << ": " << e.what()
              << "\n";
    return 1;
  }
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    sim.stop();
    io.stop();
  });
  io.run();
  return 0;
}
