// `aether sim SCENARIO --seed N [--trace FILE]`: one seeded, deterministic run in virtual time.
// `aether sim SCENARIO --seeds A..B [--jobs N]`: a sweep, with a summary table.

#include <algorithm>
#include <cstdio>
#include <string>
#include <chrono>
#include <map>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "app/commands.h"
#include "app/sim_cli.h"
#include "app/scenario.h"
#include "app/sim_run.h"
#include "runtime/common/spd_logger.h"
#include "runtime/sim/host_state.h"

namespace aether::app {

namespace {

void print_outcome(const wire::Scenario& s, const SimArgs& args, const Outcome& o) {
  const ClusterFigures& f = o.figures;
  fmt::print("scenario {}: {} coordinator(s), {} compute node(s), {} gateway(s), {} bots, {} s simulated, seed {}\n", s.name(),
             s.topology().coordinators(), s.topology().compute_nodes(), s.topology().gateways(), s.bots().count(), s.duration_s(), o.seed);
  fmt::print("simulated {} s in {:.2f} s of wall time ({:.1f}x), {} kernel events, {} messages delivered\n", s.duration_s(), o.wall_s,
             o.wall_s > 0 ? s.duration_s() / o.wall_s : 0.0, o.events, o.messages);
  fmt::print("ticks {}, entities {}, bots playing {}, deaths {}, inputs applied {}, client updates {}\n", f.ticks, f.entities,
             f.bots_playing, f.deaths, f.inputs_applied, f.updates_sent);
  if (s.bots().count() > 0 && s.duration_s() > 0) {
    fmt::print("deaths per player per minute {:.3f}\n", static_cast<double>(f.deaths) / s.bots().count() / (s.duration_s() / 60.0));
  }
  std::string refusals;
  for (size_t r = 1; r < f.skill_refusals.size(); ++r) {
    if (f.skill_refusals[r]) refusals += fmt::format("{}{} {}", refusals.empty() ? "" : ", ", gameplay::refusal_name(static_cast<gameplay::Refusal>(r)), f.skill_refusals[r]);
  }
  fmt::print("skills used {}, intents applied {} (duplicates dropped {}), skills refused: {}\n", f.skills_used, f.intents_applied,
             f.intents_duplicate, refusals.empty() ? "none" : refusals);
  if (f.level_ups > 0) fmt::print("level-ups {}\n", f.level_ups);
  if (f.challenges > 0 || f.encounters_started > 0) {
    fmt::print("encounters: challenges {}, started {}, ended {}, live at the end {}; turns acted {}, passed {}, actions refused {}\n",
               f.challenges, f.encounters_started, f.encounters_ended, f.encounters_live, f.encounter_turns_acted, f.encounter_turns_passed,
               f.encounter_turns_refused);
  }
  if (f.portals_taken > 0) fmt::print("zones: portals taken {} (nodes alive at the end), zone checks {}, portal moves checked {}\n", f.portals_taken, o.checks.zone_checks, o.checks.portals_taken);
  if (o.instances.opened > 0 || f.instances_entered > 0 || f.instance_requests[static_cast<size_t>(InstanceResult::kFull)] > 0) {
    std::string answers;
    for (size_t r = 0; r < kInstanceResults; ++r) {
      answers += fmt::format("{}{} {}", r ? ", " : "", instance_result_name(static_cast<InstanceResult>(r)), f.instance_requests[r]);
    }
    fmt::print("instances: slots opened {}, torn down {} (checker: every leader's), active at the end {}; players entered {} (nodes alive at the end); "
               "requests by result (coordinators alive at the end): {}; writes in slots checked {}\n",
               o.instances.opened, o.instances.closed, f.instances_active, f.instances_entered, answers, o.instances.writes_checked);
  }
  if (f.npcs > 0 || f.npcs_killed > 0) {
    fmt::print("NPCs {} ({} alive at the end), NPCs killed {}, players killed by NPCs {}\n", f.npcs, f.npcs_alive, f.npcs_killed, f.npc_kills);
  }
  if (f.loot.created > 0 || f.loot.refused_full > 0 || o.loot.created > 0) {
    fmt::print("loot: {} items made by the nodes alive at the end ({} refused: inventory full), {} logged durably, {} batches failed, {} fenced, "
               "{} unlogged; checker: {} made, {} held at the last sweep, {} undone by a restore of their holder\n",
               f.loot.created, f.loot.refused_full, f.loot.logged, f.loot.write_failures, f.loot.fenced, f.loot.unlogged, o.loot.created,
               o.loot.held_at_last_sweep, o.loot.undone_by_restore);
  }
  if (f.saves.written + f.saves.fenced + f.saves.failed + f.saves_loaded + f.saves_absent + f.saves_unreadable > 0) {
    fmt::print("character saves (nodes alive at the end): {} written ({} synced), {} fenced, {} batches failed, {} dropped; "
               "loaded at log-in: {} found, {} absent, {} unreadable\n",
               f.saves.written, f.saves.synced, f.saves.fenced, f.saves.failed, f.saves.dropped, f.saves_loaded, f.saves_absent,
               f.saves_unreadable);
  }
  if (o.saves.lives_checked > 0 || f.bot_relogs > 0) {
    fmt::print("re-logins: bots logged out {} times; {} characters' next lives checked against their saves in the shared database ({} items), "
               "{} also against their avatars as they left; {} spawned before their log-out save landed\n",
               f.bot_relogs, o.saves.lives_checked, o.saves.items_checked, o.saves.lives_as_left, o.saves.before_logout_save);
  }
  const double per_client = s.bots().count() ? static_cast<double>(f.bot_bytes_received) / s.bots().count() / s.duration_s() : 0.0;
  fmt::print("bytes per client per second {:.0f}, mean view {:.1f} entities, changes deferred by budgets {}, protocol errors {}\n",
             per_client, f.updates_sent ? static_cast<double>(f.view_entities) / f.updates_sent : 0.0, f.changes_deferred, f.protocol_errors);
  fmt::print("clients sent to their region's gateway {}, bots resumed {}, migrations {} ({} from snapshot)\n", f.bot_redirects,
             f.bot_resumes, f.migrations, f.handoff_fallbacks);
  const double entity_minutes = static_cast<double>(f.entities) * s.duration_s() / 60.0;
  fmt::print("migrations per entity per minute {:.3f}; respawns at home {}, away {}\n",
             entity_minutes > 0 ? static_cast<double>(f.migrations) / entity_minutes : 0.0, f.respawns_at_home, f.respawns_away);
  fmt::print("sessions ended for too many refused actions {} (cheating bots {}, honest bots {})\n", f.sessions_kicked, f.bots_kicked_cheating,
             f.bots_kicked_honest);
  if (s.bots().accounts()) {
    fmt::print("accounts: {} registered, {} logins at live gateways; bots logged in {} times, refused {}; hellos refused for their token {}, "
               "admitted on a resume token alone {}\n",
               f.accounts_registered, f.account_logins, f.bot_logins, f.bot_auth_refused, f.hellos_refused, f.resume_only_admitted);
  }
  fmt::print("client inputs rejected: rate {}, stale sequence {}, target not in view {}; sessions closed for them {}\n",
             f.inputs_rejected[static_cast<size_t>(InputRejection::kRate)], f.inputs_rejected[static_cast<size_t>(InputRejection::kStaleSequence)],
             f.inputs_rejected[static_cast<size_t>(InputRejection::kTargetNotInView)], f.rejected_closed);
  if (f.shedding_episodes > 0) {
    fmt::print("load shedding: {:.1f} node-seconds shedding soft load, {:.1f} opportunistic only, {} level rises, {} ticks' feeds deferred, {} node(s) still shedding at the end\n",
               static_cast<double>(f.ticks_shedding_soft) / kTickHz, static_cast<double>(f.ticks_shedding_opportunistic) / kTickHz,
               f.shedding_episodes, f.feeds_skipped, f.nodes_shedding);
  }
  fmt::print("cross-node intents {}, recoveries {}, checker: {} checks, longest recovery after detection {} ms\n", f.intents_remote,
             f.recoveries, o.checks.checks, o.checks.longest_recovery_ns / kNsPerMs);
  if (!o.schedule.empty()) {
    std::string kinds;
    for (const auto& [kind, n] : faults_by_kind(o)) kinds += fmt::format("{}{} {}", kinds.empty() ? "" : ", ", kind, n);
    fmt::print("faults: {} scheduled, over at {:.3f} s; injected: {}{}\n", o.schedule.size(),
               static_cast<double>(o.faults_end_ns) / kNsPerSec, kinds.empty() ? "none" : kinds,
               o.faults.skipped ? fmt::format(" ({} skipped: host not there)", o.faults.skipped) : "");
    if (o.checks.converged_after_ns >= 0) {
      fmt::print("converged {} ms after the last fault; rollbacks to a snapshot or ghost {} (longest {} ms)\n",
                 o.checks.converged_after_ns / kNsPerMs, o.checks.rollbacks, o.checks.longest_rollback_ns / kNsPerMs);
    }
  }
  fmt::print("checker: {} trace records and {} entity writes checked as they happened\n", o.checks.records_checked, o.checks.writes_checked);
  if (o.checks.encounters > 0) {
    fmt::print("checker: {} encounters, {} turns checked in order and once; {} rolled back by a restore\n", o.checks.encounters,
               o.checks.encounter_turns, o.checks.encounter_rollbacks);
  }
  if (o.cpu.measured) {
    // Each process as if it had a core of its own: its callbacks' CPU time on the simulator's thread.
    for (const auto& [role, cpu] : o.cpu.by_role) {
      fmt::print("cpu {}: {} processes, {:.2f} s in all; per process per tick p50 {:.3f} ms, p99 {:.3f} ms, max {:.3f} ms\n", role,
                 cpu.processes, static_cast<double>(cpu.total_ns) / 1e9, static_cast<double>(cpu.per_tick_ns.percentile(500)) / 1e6,
                 static_cast<double>(cpu.per_tick_ns.percentile(990)) / 1e6, static_cast<double>(cpu.per_tick_ns.max()) / 1e6);
    }
    fmt::print("cpu whole cluster: {:.2f} s for {} players over {} ticks: {:.2f} us per player per tick (simulator's own work {:.2f} s; "
               "one reading of the CPU clock, {} ns, not charged per callback)\n",
               static_cast<double>(o.cpu.hosts_ns) / 1e9, o.cpu.players, o.cpu.ticks, o.cpu.per_player_per_tick_us(),
               static_cast<double>(o.cpu.simulator_ns) / 1e9, sim::CpuAccount::read_overhead_ns());
  }
  fmt::print("trace-records {}\n", o.trace_records);
  fmt::print("trace-digest {:016x}\n", o.digest);
  if (!o.failure.empty()) {
    fmt::print("seed {}, simulated time {:.6f} s\n", o.seed, static_cast<double>(o.simulated_ns) / kNsPerSec);
    fmt::print("{}\n", o.failure);
    if (!o.first_event.empty()) fmt::print("first violating event: {}\n", o.first_event);
    fmt::print("reproduce: aether sim {} --seed {}\n", args.scenario, o.seed);
    fmt::print("its faults: aether sim {} --seed {} --print-faults\n", args.scenario, o.seed);
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
      Outcome o = run_scenario(s, SimRunOptions{seed, "", LogLevel::kError});
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
  TimeNs converge_max = -1;
  uint64_t faulted_runs = 0;
  std::map<std::string, uint64_t> kinds;
  CheckerFigures restores;  // summed over the runs (longest_rollback_ns: the longest)
  uint64_t runs_past_rollback_bound = 0;
  for (const Outcome& o : outcomes) {
    if (o.wall_s > slowest->wall_s) slowest = &o;
    recovery_max = std::max(recovery_max, o.checks.longest_recovery_ns);
    converge_max = std::max(converge_max, o.checks.converged_after_ns);
    if (o.faults_total() > 0) ++faulted_runs;
    for (const auto& [kind, n] : faults_by_kind(o)) kinds[kind] += n;
    restores.restores += o.checks.restores;
    restores.restores_behind_fresher += o.checks.restores_behind_fresher;
    restores.restores_behind_elsewhere += o.checks.restores_behind_elsewhere;
    restores.rollbacks += o.checks.rollbacks;
    restores.longest_rollback_ns = std::max(restores.longest_rollback_ns, o.checks.longest_rollback_ns);
    runs_past_rollback_bound += o.checks.rollbacks_past_bound > 0 ? 1 : 0;
    if (o.failure.empty()) continue;
    ++failures;
    fmt::print("seed {}: {}\n", o.seed, o.failure);
    if (!o.first_event.empty()) fmt::print("  first violating event: {}\n", o.first_event);
    fmt::print("  reproduce: aether sim {} --seed {}\n", args.scenario, o.seed);
  }
  fmt::print("\n| scenario | runs | runs with faults | violations | slowest run | longest recovery after detection | slowest convergence | wall time |\n");
  fmt::print("|---|---|---|---|---|---|---|---|\n");
  fmt::print("| {} | {} | {} | {} | seed {} ({:.1f} s) | {} ms | {} | {:.1f} s with {} jobs |\n", s.name(), outcomes.size(), faulted_runs, failures,
             slowest->seed, slowest->wall_s, recovery_max / kNsPerMs, converge_max >= 0 ? fmt::format("{} ms", converge_max / kNsPerMs) : "-",
             wall_s, args.jobs);
  fmt::print("\n| restores | behind the leader's or the new owner's state | behind only an unheard vice's or a third node's | rollbacks | longest | runs past the bound |\n");
  fmt::print("|---|---|---|---|---|---|\n");
  fmt::print("| {} | {} | {} | {} | {} ms | {} |\n", restores.restores, restores.restores_behind_fresher, restores.restores_behind_elsewhere,
             restores.rollbacks, restores.longest_rollback_ns / kNsPerMs, runs_past_rollback_bound);
  if (!kinds.empty()) {
    fmt::print("\n| fault kind | injected |\n|---|---|\n");
    for (const auto& [kind, n] : kinds) fmt::print("| {} | {} |\n", kind, n);
  }
  fmt::print("{} passed, {} failed\n", outcomes.size() - failures, failures);
  return failures == 0 ? 0 : 1;
}

}  // namespace

ClusterShape cluster_shape(const wire::Scenario& s) {
  ClusterShape shape;
  shape.coordinators = s.topology().coordinators();
  shape.compute_nodes = s.topology().compute_nodes();
  shape.gateways = s.topology().gateways();
  if (s.topology().compute_capacity_entities() != 0) shape.compute_capacity_entities = s.topology().compute_capacity_entities();
  shape.load_shedding = !s.topology().has_load_shedding() || s.topology().load_shedding();
  shape.durable_promises = s.topology().durable_promises();
  shape.bots = s.bots().count();
  shape.cheaters = s.bots().cheaters();
  shape.challengers = s.bots().challengers();
  shape.travellers = s.bots().travellers();
  shape.accounts = s.bots().accounts();
  shape.relog_every_ns = static_cast<TimeNs>(s.bots().relog_every_ms()) * kNsPerMs;
  shape.rules.arena_mm = static_cast<int32_t>(s.world().arena_m() * kMmPerMetre);
  shape.rules.fire_range_mm = static_cast<int32_t>(s.world().fire_range_m() * kMmPerMetre);
  shape.rules.spawn_front_mm = static_cast<int32_t>(s.world().spawn_front_m() * kMmPerMetre);
  shape.rules.teams = s.bots().teams() == 0 ? 2 : s.bots().teams();
  shape.view_radius_mm = static_cast<int32_t>(s.world().view_radius_m() * kMmPerMetre);
  shape.bots_join_spread_ns = static_cast<TimeNs>(s.bots().join_spread_ms()) * kNsPerMs;
  shape.migration_storm_every_ticks = s.balancing().migration_storm_every_ms() / static_cast<uint32_t>(kTickNs / kNsPerMs);
  shape.migration_storm_batch = s.balancing().migration_storm_batch();
  shape.admin_epoch_enabled = s.topology().admin_epoch_enabled();
  parse_planted_bug(s.planted_bug(), &shape.planted);  // validated by validate_scenario
  return shape;
}

int run_sim(const SimArgs& given) {
  auto scenario = load_scenario(given.scenario);
  SimArgs args = given;
  if (scenario && !args.seed_given && scenario.value().replay_seed() != 0) args.seed = scenario.value().replay_seed();
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
  if (args.print_faults) {
    // Faults aimed at protocol moments are decided during the run: those need the run itself.
    const bool aimed = scenario.value().has_chaos() && !scenario.value().chaos().moments().empty();
    const auto events = aimed ? run_scenario(scenario.value(), SimRunOptions{args.seed, "", LogLevel::kError}).schedule
                              : fault_schedule(scenario.value(), args.seed);
    fmt::print("# faults of scenario {} with seed {}: paste into a scenario file (and drop its chaos block) to keep them\n{}",
               scenario.value().name(), args.seed, events_as_text(events));
    return 0;
  }
  const Outcome o = run_scenario(scenario.value(), SimRunOptions{args.seed, args.trace_path, level, args.cpu});
  print_outcome(scenario.value(), args, o);
  return o.failure.empty() ? 0 : 1;
}

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

CLI::App* add_sim_subcommand(CLI::App& cli, SimCli* out) {
  SimArgs& sim = out->args;
  auto* cmd = cli.add_subcommand("sim", "run a scenario in the seeded simulator (virtual time, one thread)");
  cmd->add_option("scenario", sim.scenario, "scenario file (scenarios/NAME or scenarios/NAME.textpb)")->required();
  out->seed_option = cmd->add_option("--seed", sim.seed, "the run's one seed (default: the scenario's replay_seed, else 1)");
  cmd->add_option("--seeds", out->seeds, "a sweep over seeds A..B, with a summary table");
  cmd->add_option("--jobs", sim.jobs, "sweep runs in parallel")->capture_default_str()->check(CLI::Range(1, 64));
  cmd->add_option("--trace", sim.trace_path, "write the trace (delimited aether.wire.TraceRecord) to this file");
  cmd->add_option("--log-level", sim.log_level, "trace, debug, info, warn, error")->capture_default_str();
  cmd->add_flag("--cpu", sim.cpu, "measure each simulated process's own CPU time per tick (as if it had its own core)");
  cmd->add_flag("--print-faults", sim.print_faults, "print this seed's fault schedule as scenario events (to keep it as a regression scenario)");
  return cmd;
}

int run_sim_cli(SimCli& cli) {
  if (!cli.seeds.empty() && !parse_seed_range(cli.seeds, &cli.args.seed_first, &cli.args.seed_last)) {
    std::fprintf(stderr, "aether sim: --seeds wants A..B, e.g. 1..50\n");
    return 2;
  }
  cli.args.seed_given = cli.seed_option != nullptr && cli.seed_option->count() > 0;
  return run_sim(cli.args);
}

}  // namespace aether::app
