// aether-sim: `aether sim` alone (docs/running.md). It links the simulator and the checkers but no
// socket, TLS or web code, so it builds in a fraction of `aether`'s time; the same seed gives the
// same trace digest as `aether sim` (scripts/cross-compiler-digest.sh compares them across compilers).

#include <string>

#include <CLI/CLI.hpp>

#include "app/sim_cli.h"
#include "aether_version.h"

int main(int argc, char** argv) {
  CLI::App cli{"aether-sim: Aether's seeded simulator alone (the `sim` command of aether)"};
  cli.require_subcommand(1);
  cli.set_version_flag("--version", std::string("aether-sim ") + AETHER_VERSION + " (commit " + AETHER_COMMIT + ")",
                       "print the version and the commit built from");
  aether::app::SimCli sim;
  aether::app::add_sim_subcommand(cli, &sim);
  CLI11_PARSE(cli, argc, argv);
  return aether::app::run_sim_cli(sim);
}
