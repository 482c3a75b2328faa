#include "app/scenario.h"

#include <filesystem>

#include "app/content_loader.h"

#include <sys/stat.h>

#include <fmt/format.h>

#include "app/faults.h"
#include "app/text_config.h"

namespace aether::app {

namespace {
bool exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}
Error bad(const std::string& what) { return make_error(Error::Code::kInvalidArgument, what); }

}  // namespace

Result<wire::Scenario> load_scenario(const std::string& path) {
  std::string resolved = path;
  if (!exists(resolved) && exists(path + ".textpb")) resolved = path + ".textpb";
  std::string text;
  if (auto s = read_text_file(resolved, &text); !s) return s.error();
  wire::Scenario scenario;
  if (auto s = parse_text_proto(resolved, text, &scenario); !s) return s.error();
  if (auto s = validate_scenario(scenario); !s) return make_error(Error::Code::kInvalidArgument, fmt::format("{}: {}", resolved, s.error().message));
  if (!scenario.world().content_dir().empty()) {
    // Resolved here, once: every run of the scenario loads the same directory.
    const std::filesystem::path dir = std::filesystem::path(resolved).parent_path() / scenario.world().content_dir();
    scenario.mutable_world()->set_content_dir(dir.lexically_normal().string());
    auto c = load_content(scenario.world().content_dir());
    if (!c) return c.error();
    if (auto st = check_zones_fit(*c.value(), int64_t{scenario.world().arena_m()} * 1000, int64_t{scenario.world().view_radius_m()} * 1000); !st) {
      return make_error(Error::Code::kInvalidArgument, fmt::format("{}: world: {}", resolved, st.error().message));
    }
  }
  return scenario;
}

Status validate_scenario(const wire::Scenario& s) {
  if (s.name().empty()) return bad("name is required");
  if (s.duration_s() == 0 || s.duration_s() > 24 * 3600) return bad("duration_s must be in [1, 86400]");
  const auto& t = s.topology();
  if (t.coordinators() < 1 || t.coordinators() > 2) return bad("topology.coordinators must be 1 or 2 (leader and vice)");
  if (t.compute_nodes() < 1 || t.compute_nodes() > 64) return bad("topology.compute_nodes must be in [1, 64]");
  if (t.gateways() < 1 || t.gateways() > 64) return bad("topology.gateways must be in [1, 64]");
  if (t.compute_capacity_entities() > 1'000'000) return bad("topology.compute_capacity_entities must be at most 1000000");
  if (s.bots().count() > 100'000) return bad("bots.count must be at most 100000");
  if (s.bots().teams() > 16) return bad("bots.teams must be at most 16");
  if (s.bots().cheaters() > s.bots().count()) return bad("bots.cheaters must be at most bots.count");
  if (uint64_t{s.bots().cheaters()} + s.bots().challengers() + s.bots().travellers() > s.bots().count()) {
    return bad("bots.cheaters plus bots.challengers plus bots.travellers must be at most bots.count");
  }
  if (s.bots().join_spread_ms() > 600'000) return bad("bots.join_spread_ms must be at most 600000");
  if (s.bots().relog_every_ms() != 0 && (!s.bots().accounts() || s.bots().relog_every_ms() < 1000 || s.bots().relog_every_ms() > 3'600'000)) {
    return bad("bots.relog_every_ms needs bots.accounts and must be in [1000, 3600000]");
  }
  if (s.network().latency_us() > 10'000'000 || s.network().jitter_us() > 10'000'000) return bad("network latency and jitter must be at most 10 s");
  const auto& w = s.world();
  if (w.arena_m() < 10 || w.arena_m() > 100'000) return bad("world.arena_m must be in [10, 100000]");
  if (w.view_radius_m() < 1 || w.view_radius_m() > w.arena_m()) return bad("world.view_radius_m must be in [1, arena_m]");
  if (w.spawn_front_m() > w.arena_m()) return bad("world.spawn_front_m must be at most arena_m");
  if (w.fire_range_m() < 1 || w.fire_range_m() > w.view_radius_m()) return bad("world.fire_range_m must be in [1, view_radius_m]");
  if (s.balancing().migration_storm_every_ms() != 0 &&
      (s.balancing().migration_storm_every_ms() < 100 || s.balancing().migration_storm_batch() == 0 || s.balancing().migration_storm_batch() > 256)) {
    return bad("balancing: migration_storm_every_ms must be >= 100 and migration_storm_batch in [1, 256]");
  }
  for (int i = 0; i < s.events_size(); ++i) {
    if (auto st = validate_event(s, s.events(i), fmt::format("events[{}]", i)); !st) return st;
  }
  if (s.converge_within_ms() > 600'000) return bad("converge_within_ms must be at most 600000");
  if (PlantedBug b; !parse_planted_bug(s.planted_bug(), &b)) return bad(fmt::format("unknown planted_bug '{}'", s.planted_bug()));
  return validate_chaos(s);
}

}  // namespace aether::app
