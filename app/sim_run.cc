#include "app/sim_run.h"

#include "app/content_loader.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "app/scenario.h"
#include "app/sim_hosting.h"
#include "runtime/sim/simulation.h"

namespace aether::app {

namespace {

// Whether every event is a plain crash: then the recovery target holds whatever happens (the
// crash scenarios of the cluster work), and the checker enforces it.
bool only_crashes(const std::vector<wire::ScenarioEvent>& events) {
  return std::all_of(events.begin(), events.end(), [](const wire::ScenarioEvent& e) {
    return e.has_crash() || (e.has_crash_fault() && e.crash_fault().restart_after_ms() == 0);
  });
}

// Whether the network may split: a partition of any shape, drawn or scheduled, or aimed at a moment
// (an aimed fault may isolate a host or cut the leader from the vice).
bool has_partitions(const wire::Scenario& s, const std::vector<wire::ScenarioEvent>& events) {
  if (std::any_of(events.begin(), events.end(), [](const wire::ScenarioEvent& e) { return e.has_partition(); })) return true;
  return s.has_chaos() && !s.chaos().moments().empty();
}

std::string role_of_host(const std::string& name) { return name.substr(0, name.rfind('-')); }

// The scenario's shared database (ScenarioTopology::shared_database): a host of its own, added
// last so that no other host's random stream moves, whose disk every compute node and gateway uses.
const sim::SimStorage* share_database(sim::Simulation& sim) {
  const size_t hosts = sim.host_count();
  sim::Host& database = sim.add_host("database", NodeId{});
  for (size_t i = 0; i < hosts; ++i) {
    sim::Host* h = sim.host(i);
    if (h->name().rfind("compute-", 0) == 0 || h->name().rfind("gateway-", 0) == 0) h->use_database(database);
  }
  return &database.storage();
}

}  // namespace

uint64_t Outcome::faults_total() const {
  uint64_t n = message_faults.lost + message_faults.lost_reset + message_faults.duplicated + message_faults.reordered;
  for (const auto& [kind, count] : faults.by_kind) n += count;
  return n;
}

std::map<std::string, uint64_t> faults_by_kind(const Outcome& o) {
  std::map<std::string, uint64_t> out = o.faults.by_kind;
  if (o.message_faults.lost + o.message_faults.lost_reset) out["messages lost"] += o.message_faults.lost + o.message_faults.lost_reset;
  if (o.message_faults.duplicated) out["messages duplicated"] += o.message_faults.duplicated;
  if (o.message_faults.reordered) out["messages reordered"] += o.message_faults.reordered;
  return out;
}

Outcome run_scenario(const wire::Scenario& s, const SimRunOptions& options) {
  sim::SimOptions sim_options;
  sim_options.seed = options.seed;
  sim_options.latency_ns = static_cast<TimeNs>(s.network().latency_us()) * kNsPerUs;
  sim_options.jitter_ns = static_cast<TimeNs>(s.network().jitter_us()) * kNsPerUs;
  sim_options.trace_path = options.trace_path;
  sim_options.log_level = options.log_level;
  Outcome out;
  out.seed = options.seed;
  sim::Simulation sim(sim_options);
  if (!sim.trace_file_status()) {
    out.failure = sim.trace_file_status().error().message;
    return out;
  }
  SimHosting hosting(sim);
  Xoshiro256 join_random(derive_seed(options.seed, 0x101));
  ClusterShape shape = cluster_shape(s);
  if (!s.world().content_dir().empty()) {
    auto content = load_content(s.world().content_dir());  // load_scenario resolved and checked it
    if (!content) {
      out.failure = content.error().message;
      return out;
    }
    shape.rules.content = content.value();
  }
  Cluster cluster(hosting, shape, join_random);
  const sim::SimStorage* database = s.topology().shared_database() ? share_database(sim) : nullptr;

  out.schedule = fault_schedule(s, options.seed);
  out.faults_end_ns = faults_end_ns(out.schedule);
  FaultInjector injector(sim, cluster);
  injector.schedule(out.schedule);

  ClusterChecker checker(cluster);
  checker.set_database(database);
  checker.set_strict_recovery(only_crashes(out.schedule) && !s.has_chaos());
  checker.set_rollback_bound(has_partitions(s, out.schedule) ? ClusterChecker::kRollbackPartitionMaxNs : ClusterChecker::kRollbackMaxNs);
  if (!out.schedule.empty() || s.has_chaos()) {
    const TimeNs within = s.converge_within_ms() ? static_cast<TimeNs>(s.converge_within_ms()) * kNsPerMs : ClusterChecker::kConvergeWithinNs;
    checker.set_faults_end(std::max<TimeNs>(out.faults_end_ns, 1), within);
  }
  injector.arm_moments(s, options.seed, out.schedule, [&checker](TimeNs end_ns) { checker.extend_faults_end(end_ns); });
  sim.set_trace_observer([&checker, &injector](const TraceEvent& r) {
    checker.on_record(r);
    injector.aim(r);
  });

  const auto wall_start = std::chrono::steady_clock::now();
  const int64_t process_cpu_start = sim::CpuAccount::thread_now_ns();
  if (options.cpu) sim.enable_cpu_accounting();
  std::vector<int64_t> cpu_seen(sim.host_count(), 0);
  auto sample_cpu = [&] {  // every 100 ms of simulated time: what each process spent since
    for (size_t i = 0; i < sim.host_count(); ++i) {
      const int64_t now_ns = sim.host(i)->cpu_ns();
      out.cpu.by_role[role_of_host(sim.host(i)->name())].per_tick_ns.record(now_ns - cpu_seen[i]);
      cpu_seen[i] = now_ns;
    }
    ++out.cpu.ticks;
  };
  const TimeNs end_ns = static_cast<TimeNs>(s.duration_s()) * kNsPerSec;
  TimeNs t = 0;
  while (t < end_ns && !checker.violation()) {
    if (options.cpu && t > 0 && t % kTickNs == 0) sample_cpu();
    t = std::min(end_ns, t + kCheckEveryNs);
    // Stop at the first violating event, not at the end of the sweep interval.
    while (sim.kernel().pending() > 0 && !checker.violation()) {
      if (!sim.kernel().step_until(t)) break;
    }
    if (checker.violation()) break;
    sim.run_until(t);
    checker.check(t);
  }
  out.simulated_ns = sim.now();
  if (options.cpu) {
    out.cpu.measured = true;
    out.cpu.players = s.bots().count();
    for (size_t i = 0; i < sim.host_count(); ++i) {
      RoleCpu& role = out.cpu.by_role[role_of_host(sim.host(i)->name())];
      role.total_ns += sim.host(i)->cpu_ns();
      ++role.processes;
      out.cpu.hosts_ns += sim.host(i)->cpu_ns();
    }
    out.cpu.simulator_ns = sim::CpuAccount::thread_now_ns() - process_cpu_start - out.cpu.hosts_ns;
  }
  out.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall_start).count();
  sim.set_trace_observer(nullptr);
  sim.finish();
  out.digest = sim.trace_digest();
  out.trace_records = sim.trace_records();
  out.events = sim.kernel().events_run();
  out.messages = sim.messages_delivered();
  out.figures = cluster.figures();
  out.checks = checker.figures();
  out.loot = checker.loot_figures();
  out.instances = checker.instance_figures();
  out.saves = checker.save_figures();
  out.faults = injector.counts();
  // The aimed faults join the schedule, so that the run's whole schedule can be printed and kept.
  for (const auto& e : injector.aimed()) out.schedule.push_back(e);
  std::stable_sort(out.schedule.begin(), out.schedule.end(), [](const auto& a, const auto& b) { return a.at_ms() < b.at_ms(); });
  out.faults_end_ns = std::max(out.faults_end_ns, faults_end_ns(injector.aimed()));
  out.message_faults = sim.message_faults();
  if (const auto& v = checker.violation()) {
    out.failure = fmt::format("VIOLATION at {:.3f} s simulated (kernel event {}): {}", static_cast<double>(v->time_ns) / kNsPerSec, out.events, v->what);
    out.first_event = v->event;
  } else if (out.faults.admin_unexpected != 0) {
    out.failure = fmt::format("FAILED: {} admin orders ended otherwise than the scenario expects; the first: {}", out.faults.admin_unexpected,
                              out.faults.first_admin_unexpected);
  } else if (out.figures.protocol_errors != 0) {
    out.failure = fmt::format("FAILED: {} protocol errors (peers sent malformed messages)", out.figures.protocol_errors);
  } else if (out.figures.bots_playing + out.figures.bots_between_gateways < out.figures.bots_alive) {
    // A bot sent to its region's gateway in the last moments is on its way, not left out.
    out.failure = fmt::format("FAILED: {} of {} live bots are not in the battle at the end", out.figures.bots_alive - out.figures.bots_playing -
                              out.figures.bots_between_gateways, out.figures.bots_alive);
  }
  return out;
}

}  // namespace aether::app
