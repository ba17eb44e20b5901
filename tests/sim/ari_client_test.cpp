// A third-party ARI client against the simulator: node's ari-client (npm,
// pinned in tests/sim/ari_client/package-lock.json) builds its API from
// /ari/api-docs and drives every ARI operation our service uses
// (tests/sim/ari_client/drive.js). The module is installed with `npm ci` into
// the build tree on first use; the test is skipped, saying why, where Node,
// npm or the registry is missing.
#include <gtest/gtest.h>

#include <filesystem>

#include "sim/simulator.hpp"
#include "support/npm.hpp"

#ifndef AA_ARI_CLIENT_DIR
#error "AA_ARI_CLIENT_DIR (tests/sim/ari_client) must be defined by the build"
#endif
#ifndef AA_ARI_CLIENT_MODULES
#error "AA_ARI_CLIENT_MODULES (where npm ci installs) must be defined by the build"
#endif

using namespace aa::test::npm;

namespace {

/// node_modules for the pinned lockfile (see support/npm.hpp).
std::string ensure_modules(std::string& why) {
  return aa::test::npm::ensure_modules(AA_ARI_CLIENT_DIR, AA_ARI_CLIENT_MODULES, "ari-client", why);
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
