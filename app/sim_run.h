#pragma once
// One seeded run of a scenario in the simulator, with its faults and the global checker: what
// `aether sim` prints, and what tests (tests/property, tests/chaos) call directly.

#include <cstdint>
#include <string>
#include <vector>

#include "app/checker.h"
#include "app/cluster.h"
#include "app/faults.h"
#include "engine/core/histogram.h"
#include "engine/runtime/log.h"
#include "runtime/sim/sim_network.h"
#include "scenario.pb.h"

namespace aether::app {

// How often the sweep part of the checker looks at the whole cluster, in simulated time.
inline constexpr TimeNs kCheckEveryNs = 20 * kNsPerMs;

struct SimRunOptions {
  uint64_t seed = 1;
  std::string trace_path;  // empty: no trace file
  LogLevel log_level = LogLevel::kError;
  bool cpu = false;  // count each simulated process's own CPU time (CpuFigures); reported, never hashed
};

// CPU time by role, as if each simulated process had its own core (SimRunOptions::cpu): measured
// around each process's own callbacks on the simulator's thread. Per tick: the CPU a process spent
// in each 100 ms of simulated time, every process of the role pooled.
struct RoleCpu {
  int64_t total_ns = 0;
  uint32_t processes = 0;
  Histogram per_tick_ns;
};
struct CpuFigures {
  bool measured = false;
  std::map<std::string, RoleCpu> by_role;  // coordinator, compute, gateway, bot
  int64_t hosts_ns = 0;                    // every process, bots included: the whole cluster
  int64_t simulator_ns = 0;                // the simulator's own work (kernel, links, checker)
  uint64_t players = 0;
  uint64_t ticks = 0;                      // simulated 100 ms periods
  double per_player_per_tick_us() const {
    return players && ticks ? static_cast<double>(hosts_ns) / 1000.0 / static_cast<double>(players) / static_cast<double>(ticks) : 0.0;
  }
};

struct Outcome {
  uint64_t seed = 0;
  uint64_t digest = 0;
  uint64_t trace_records = 0;
  uint64_t events = 0;
  uint64_t messages = 0;
  double wall_s = 0;
  TimeNs simulated_ns = 0;
  ClusterFigures figures;
  CheckerFigures checks;
  LootCheckFigures loot;  // the checker's conservation of loot (app/loot_checker.h)
  InstanceCheckFigures instances;  // the checker's instance slots (app/instance_checker.h)
  SaveCheckFigures saves;  // characters' next lives checked against their saves (app/save_checker.h)
  std::vector<wire::ScenarioEvent> schedule;  // the scenario's events and this seed's chaos, by time
  TimeNs faults_end_ns = 0;
  FaultCounts faults;
  sim::MessageFaultCounts message_faults;
  CpuFigures cpu;
  std::string failure;  // empty: passed
  std::string first_event;  // with a violation: the first violating event
  // Injected faults of every kind, message faults included.
  uint64_t faults_total() const;
};

Outcome run_scenario(const wire::Scenario& s, const SimRunOptions& options);

// Faults by kind over several outcomes (message faults under loss, duplicate, reorder).
std::map<std::string, uint64_t> faults_by_kind(const Outcome& o);

}  // namespace aether::app
