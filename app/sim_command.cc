// `aether sim SCENARIO --seed N [--trace FILE]`: one seeded, deterministic run in virtual time.
// `aether sim SCENARIO --seeds A..B [--jobs N]`: a sweep, with a summary table.

#include <chrono>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "app/checker.h"
#include "app/cluster.h"
#include "app/commands.h"
#include "app/scenario.h"
#include "app/sim_hosting.h"
#include "runtime/common/spd_logger.h"
#include "runtime/sim/simulation.h"

namespace aether::app {

namespace {

// How often the checker looks at the whole cluster, in simulated time.
constexpr TimeNs kCheckEveryNs = 20 * kNsPerMs;

sim::Host* find_host(sim::Simulation& sim, const std::string& name) {
  for (size_t i = 0; i < sim.host_count(); ++i) {
    if (sim.host(i)->name() == name) return sim.host(i);
  }
  return nullptr;
}

// The scenario's timeline, as kernel events at their simulated times.
void schedule_events(const wire::Scenario& s, sim::Simulation& sim, Cluster& cluster) {
  for (const auto& e : s.events()) {
    const TimeNs at = static_cast<TimeNs>(e.at_ms()) * kNsPerMs;
    if (e.has_crash()) {
      sim.kernel().schedule_at(at, [&sim, &cluster, name = e.crash()] {
        sim::Host* host = find_host(sim, name);
        if (!host || !host->alive()) return;
        const Component* component = host->component();
        host->crash();
        cluster.forget(component);
      });
    }
  }
}

struct Outcome {
  uint64_t seed = 0;
  uint64_t digest = 0;
  uint64_t trace_records = 0;
  uint64_t events = 0;
  uint64_t messages = 0;
  double wall_s = 0;
  ClusterFigures figures;
  CheckerFigures checks;
  std::string failure;  // empty: passed
};

Outcome run_once(const wire::Scenario& s, uint64_t seed, const std::string& trace_path, LogLevel log_level) {
  sim::SimOptions options;
  options.seed = seed;
  options.latency_ns = static_cast<TimeNs>(s.network().latency_us()) * kNsPerUs;
  options.jitter_ns = static_cast<TimeNs>(s.network().jitter_us()) * kNsPerUs;
  options.trace_path = trace_path;
  options.log_level = log_level;
  Outcome out;
  out.seed = seed;
  sim::Simulation sim(options);
  if (!sim.trace_file_status()) {
    out.failure = sim.trace_file_status().error().message;
    return out;
  }
  SimHosting hosting(sim);
  Xoshiro256 join_random(derive_seed(seed, 0x101));
  Cluster cluster(hosting, cluster_shape(s), join_random);
  schedule_events(s, sim, cluster);
  ClusterChecker checker(cluster);
  const auto wall_start = std::chrono::steady_clock::now();
  const TimeNs end_ns = static_cast<TimeNs>(s.duration_s()) * kNsPerSec;
  for (TimeNs t = 0; t < end_ns && !checker.violation();) {
    t = std::min(end_ns, t + kCheckEveryNs);
    sim.run_until(t);
    checker.check(t);
  }
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  sim.finish();
  out.digest = sim.trace_digest();
  out.trace_records = sim.trace_records();
  out.events = sim.kernel().events_run();
  out.messages = sim.messages_delivered();
  out.figures = cluster.figures();
  out.checks = checker.figures();
  if (const auto& v = checker.violation()) {
    out.failure = fmt::format("VIOLATION at {:.3f} s simulated: {}", static_cast<double>(v->time_ns) / kNsPerSec, v->what);
  } else if (out.figures.protocol_errors != 0) {
    out.failure = fmt::format("FAILED: {} protocol errors (peers sent malformed messages)", out.figures.protocol_errors);
  } else if (out.figures.bots_playing < out.figures.bots_alive) {
    out.failure = fmt::format("FAILED: {} of {} live bots are not in the battle at the end", out.figures.bots_alive - out.figures.bots_playing,
                              out.figures.bots_alive);
  }
  return out;
}

void print_outcome(const wire::Scenario& s, const SimArgs& args, const Outcome& o) {
  const ClusterFigures& f = o.figures;
  fmt::print("scenario {}: {} coordinator(s), {} compute node(s), {} gateway(s), {} bots, {} s simulated, seed {}\n", s.name(),
             s.topology().coordinators(), s.topology().compute_nodes(), s.topology().gateways(), s.bots().count(), s.duration_s(), o.seed);
  fmt::print("simulated {} s in {:.2f} s of wall time ({:.1f}x), {} kernel events, {} messages delivered\n", s.duration_s(), o.wall_s,
             o.wall_s > 0 ? s.duration_s() / o.wall_s : 0.0, o.events, o.messages);
  fmt::print("ticks {}, entities {}, bots playing {}, deaths {}, inputs applied {}, client updates {}\n", f.ticks, f.entities,
             f.bots_playing, f.deaths, f.inputs_applied, f.updates_sent);
  const double per_client = s.bots().count() ? static_cast<double>(f.bot_bytes_received) / s.bots().count() / s.duration_s() : 0.0;
  fmt::print("bytes per client per second {:.0f}, protocol errors {}\n", per_client, f.protocol_errors);
  fmt::print("bots resumed after losing their gateway {}, migrations {} ({} from snapshot)\n", f.bot_resumes, f.migrations,
             f.handoff_fallbacks);
  fmt::print("cross-node intents {}, recoveries {}, checker: {} checks, longest recovery after detection {} ms\n", f.intents_remote,
             f.recoveries, o.checks.checks, o.checks.longest_recovery_ns / kNsPerMs);
  fmt::print("trace-records {}\n", o.trace_records);
  fmt::print("trace-digest {:016x}\n", o.digest);
  if (!o.failure.empty()) {
    fmt::print("{}\n", o.failure);
    fmt::print("reproduce: aether sim {} --seed {}\n", args.scenario, o.seed);
  }
}

// Seeds A..B over `jobs` threads (each Simulation is self-contained), then one line per failure and
// a summary table.
int sweep(const wire::Scenario& s, const SimArgs& args) {
  std::vector<Outcome> outcomes(args.seed_last - args.seed_first + 1);
  std::mutex mu;
  uint64_t next = args.seed_first;
  auto worker = [&] {
    for (;;) {
      uint64_t seed;
      {
        std::lock_guard lock(mu);
        if (next > args.seed_last) return;
        seed = next++;
      }
      Outcome o = run_once(s, seed, "", LogLevel::kError);
      std::lock_guard lock(mu);
      outcomes[seed - args.seed_first] = std::move(o);
    }
  };
  const auto wall_start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (uint32_t i = 0; i < std::max<uint32_t>(1, args.jobs); ++i) threads.emplace_back(worker);
  for (auto& t : threads) t.join();
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  size_t failures = 0;
  const Outcome* slowest = &outcomes.front();
  TimeNs recovery_max = 0;
  for (const Outcome& o : outcomes) {
    if (o.wall_s > slowest->wall_s) slowest = &o;
    recovery_max = std::max(recovery_max, o.checks.longest_recovery_ns);
    if (o.failure.empty()) continue;
    ++failures;
    fmt::print("seed {}: {}\n  reproduce: aether sim {} --seed {}\n", o.seed, o.failure, args.scenario, o.seed);
  }
  fmt::print("\n| scenario | runs | violations | slowest run | longest recovery after detection | wall time |\n");
  fmt::print("|---|---|---|---|---|---|\n");
  fmt::print("| {} | {} | {} | seed {} ({:.1f} s) | {} ms | {:.1f} s with {} jobs |\n", s.name(), outcomes.size(), failures, slowest->seed,
             slowest->wall_s, recovery_max / kNsPerMs, wall_s, args.jobs);
  fmt::print("{} passed, {} failed\n", outcomes.size() - failures, failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace

ClusterShape cluster_shape(const wire::Scenario& s) {
  ClusterShape shape;
  shape.coordinators = s.topology().coordinators();
  shape.compute_nodes = s.topology().compute_nodes();
  shape.gateways = s.topology().gateways();
  shape.bots = s.bots().count();
  shape.rules.arena_mm = static_cast<int32_t>(s.world().arena_m() * kMmPerMetre);
  shape.rules.fire_range_mm = static_cast<int32_t>(s.world().fire_range_m() * kMmPerMetre);
  shape.rules.teams = s.bots().teams() == 0 ? 2 : s.bots().teams();
  shape.view_radius_mm = static_cast<int32_t>(s.world().view_radius_m() * kMmPerMetre);
  shape.bots_join_spread_ns = static_cast<TimeNs>(s.bots().join_spread_ms()) * kNsPerMs;
  shape.migration_storm_every_ticks = s.balancing().migration_storm_every_ms() / static_cast<uint32_t>(kTickNs / kNsPerMs);
  shape.migration_storm_batch = s.balancing().migration_storm_batch();
  return shape;
}

int run_sim(const SimArgs& args) {
  auto scenario = load_scenario(args.scenario);
  if (!scenario) {
    fmt::print(stderr, "aether sim: {}\n", scenario.error().message);
    return 2;
  }
  LogLevel level;
  if (!common::parse_log_level(args.log_level, &level)) {
    fmt::print(stderr, "aether sim: unknown log level '{}'\n", args.log_level);
    return 2;
  }
  if (args.seed_last != 0) {
    if (args.seed_last < args.seed_first || args.seed_last - args.seed_first >= 100'000) {
      fmt::print(stderr, "aether sim: --seeds wants A..B with A <= B and at most 100000 seeds\n");
      return 2;
    }
    return sweep(scenario.value(), args);
  }
  const Outcome o = run_once(scenario.value(), args.seed, args.trace_path, level);
  print_outcome(scenario.value(), args, o);
  return o.failure.empty() ? 0 : 1;
}

}  // namespace aether::app
