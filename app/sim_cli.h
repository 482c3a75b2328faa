#pragma once
// `aether sim`'s command line, shared by `aether` and `aether-sim` (the simulator alone: no socket,
// TLS or web code, for replay machines and for CI's Clang build of the cross-compiler digest check).

#include <string>

#include <CLI/CLI.hpp>

#include "app/commands.h"

namespace aether::app {

struct SimCli {
  SimArgs args;
  std::string seeds;                 // --seeds A..B, parsed by run_sim_cli
  CLI::Option* seed_option = nullptr;
};

// Adds the `sim` subcommand and its options to `cli`, bound to `*out` (which must outlive parsing).
CLI::App* add_sim_subcommand(CLI::App& cli, SimCli* out);

// After parsing: checks --seeds and runs the scenario or the sweep (the process exit code).
int run_sim_cli(SimCli& cli);

}  // namespace aether::app
