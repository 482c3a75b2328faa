// aether: one binary, one subcommand per job. See docs/running.md.

#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "app/commands.h"

namespace {
bool parse_seed_range(const std::string& text, uint64_t* first, uint64_t* last) {
  const auto dots = text.find("..");
  if (dots == std::string::npos) return false;
  try {
    size_t used = 0;
    *first = std::stoull(text.substr(0, dots), &used);
    if (used != dots) return false;
    const std::string tail = text.substr(dots + 2);
    *last = std::stoull(tail, &used);
    return used == tail.size() && *first >= 1 && *last >= *first;
  } catch (const std::exception&) {
    return false;
  }
}
}  // namespace

int main(int argc, char** argv) {
  using namespace aether::app;
  CLI::App cli{"Aether: a server engine for massive battles, with a deterministic simulator built from the same code"};
  cli.require_subcommand(1);

  SimArgs sim;
  auto* sim_cmd = cli.add_subcommand("sim", "run a scenario in the seeded simulator (virtual time, one thread)");
  sim_cmd->add_option("scenario", sim.scenario, "scenario file (scenarios/NAME or scenarios/NAME.textpb)")->required();
  sim_cmd->add_option("--seed", sim.seed, "the run's one seed")->capture_default_str();
  std::string seeds;
  sim_cmd->add_option("--seeds", seeds, "a sweep over seeds A..B, with a summary table");
  sim_cmd->add_option("--jobs", sim.jobs, "sweep runs in parallel")->capture_default_str()->check(CLI::Range(1, 64));
  sim_cmd->add_option("--trace", sim.trace_path, "write the trace (delimited aether.wire.TraceRecord) to this file");
  sim_cmd->add_option("--log-level", sim.log_level, "trace, debug, info, warn, error")->capture_default_str();

  LocalArgs local;
  auto* local_cmd = cli.add_subcommand("local", "run coordinator, compute node(s), gateway(s) and bots in one process on loopback TCP");
  local_cmd->add_option("--bots", local.bots, "number of bots")->capture_default_str()->check(CLI::Range(0, 20000));
  local_cmd->add_option("--duration", local.duration_s, "seconds to run")->capture_default_str()->check(CLI::Range(1, 86400));
  local_cmd->add_option("--gateways", local.gateways, "gateways")->capture_default_str()->check(CLI::Range(1, 16));
  local_cmd->add_option("--nodes", local.compute_nodes, "compute nodes")->capture_default_str()->check(CLI::Range(1, 16));
  local_cmd->add_option("--coordinators", local.coordinators, "1, or 2 for leader and vice")->capture_default_str()->check(CLI::Range(1, 2));
  local_cmd->add_option("--trace", local.trace_path, "write the trace to this file");
  local_cmd->add_option("--log-level", local.log_level, "trace, debug, info, warn, error")->capture_default_str();

  std::string config_path;
  std::string role;
  for (const char* name : {"coordinator", "compute", "gateway", "bot"}) {
    auto* cmd = cli.add_subcommand(name, std::string("run one ") + name + " process from a config file (config/*.textpb)");
    cmd->add_option("--config", config_path, "Protobuf text-format ProcessConfig")->required();
    cmd->callback([&role, name] { role = name; });
  }

  CLI11_PARSE(cli, argc, argv);
  if (sim_cmd->parsed()) {
    if (!seeds.empty() && !parse_seed_range(seeds, &sim.seed_first, &sim.seed_last)) {
      std::fprintf(stderr, "aether sim: --seeds wants A..B, e.g. 1..50\n");
      return 2;
    }
    return run_sim(sim);
  }
  if (local_cmd->parsed()) return run_local(local);
  return run_role(role, config_path);
}
