// `aether sim SCENARIO --seed N [--trace FILE]`: one seeded, deterministic run in virtual time.

#include <chrono>

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
  return shape;
}

int run_sim(const SimArgs& args) {
  auto scenario = load_scenario(args.scenario);
  if (!scenario) {
    fmt::print(stderr, "aether sim: {}\n", scenario.error().message);
    return 2;
  }
  const wire::Scenario& s = scenario.value();
  sim::SimOptions options;
  options.seed = args.seed;
  options.latency_ns = static_cast<TimeNs>(s.network().latency_us()) * kNsPerUs;
  options.jitter_ns = static_cast<TimeNs>(s.network().jitter_us()) * kNsPerUs;
  options.trace_path = args.trace_path;
  if (!common::parse_log_level(args.log_level, &options.log_level)) {
    fmt::print(stderr, "aether sim: unknown log level '{}'\n", args.log_level);
    return 2;
  }
  sim::Simulation sim(options);
  if (!sim.trace_file_status()) {
    fmt::print(stderr, "aether sim: {}\n", sim.trace_file_status().error().message);
    return 2;
  }
  SimHosting hosting(sim);
  Xoshiro256 join_random(derive_seed(args.seed, 0x101));
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
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  sim.finish();

  const ClusterFigures f = cluster.figures();
  fmt::print("scenario {}: {} compute node(s), {} gateway(s), {} bots, {} s simulated, seed {}\n", s.name(),
             s.topology().compute_nodes(), s.topology().gateways(), s.bots().count(), s.duration_s(), args.seed);
  fmt::print("simulated {} s in {:.2f} s of wall time ({:.1f}x), {} kernel events, {} messages delivered\n", s.duration_s(), wall_s,
             wall_s > 0 ? s.duration_s() / wall_s : 0.0, sim.kernel().events_run(), sim.messages_delivered());
  fmt::print("ticks {}, entities {}, bots playing {}, deaths {}, inputs applied {}, client updates {}\n", f.ticks, f.entities,
             f.bots_playing, f.deaths, f.inputs_applied, f.updates_sent);
  const double per_client = s.bots().count() ? static_cast<double>(f.bot_bytes_received) / s.bots().count() / s.duration_s() : 0.0;
  fmt::print("bytes per client per second {:.0f}, protocol errors {}\n", per_client, f.protocol_errors);
  fmt::print("bots resumed after losing their gateway {}\n", f.bot_resumes);
  fmt::print("cross-node intents {}, recoveries {}, checker: {} checks, longest recovery after detection {} ms\n", f.intents_remote,
             f.recoveries, checker.figures().checks, checker.figures().longest_recovery_ns / kNsPerMs);
  fmt::print("trace-records {}\n", sim.trace_records());
  fmt::print("trace-digest {:016x}\n", sim.trace_digest());
  if (const auto& v = checker.violation()) {
    fmt::print("VIOLATION at {:.3f} s simulated: {}\n", static_cast<double>(v->time_ns) / kNsPerSec, v->what);
    fmt::print("reproduce: aether sim {} --seed {}\n", args.scenario, args.seed);
    return 1;
  }
  if (f.protocol_errors != 0) {
    fmt::print(stderr, "aether sim: {} protocol errors (peers sent malformed messages)\n", f.protocol_errors);
    return 1;
  }
  if (f.bots_playing < f.bots_alive) {
    fmt::print("FAILED: {} of {} live bots are not in the battle at the end\n", f.bots_alive - f.bots_playing, f.bots_alive);
    fmt::print("reproduce: aether sim {} --seed {}\n", args.scenario, args.seed);
    return 1;
  }
  return 0;
}

}  // namespace aether::app
