// Migrations (release-then-grant) and the balancing that decides them.

#include "engine/coordinator/coordinator.h"

namespace aether {

// Step 1: ask the owner to release the entity to `to`. Only the leader, with a quorum, outside the
// failover grace, for an entity with a live owner and no migration already in flight.
bool Coordinator::start_migration(EntityId entity, NodeId to) {
  auto it = table_.find(entity);
  if (it == table_.end() || !leading() || in_grace() || !has_quorum()) return false;
  const OwnerRecord& rec = it->second;
  auto dest = nodes_.find(to);
  if (!rec.owner.valid() || rec.owner == to || migrations_.count(entity) || migrations_.size() >= kMigrationsInFlightMax ||
      dest == nodes_.end() || !eligible(dest->second)) {
    return false;
  }
  if (cfg_.planted == PlantedBug::kGrantBeforeRelease) {  // planted: the new owner first, the release later
    const OwnerRecord& r = it->second;
    const NodeId from = r.owner;
    const uint64_t old_generation = r.generation;
    table_.assign(entity, to, next_generation(r.generation));
    send_to(to, OwnershipGrant{entity, r.generation, r.gateway, r.session, r.snapshot.pos, r.snapshot.team, r.snapshot});
    trace(TraceKind::kOwnershipGranted, entity, static_cast<int64_t>(r.generation), 1, to);
    rt_.timers.schedule(250 * kNsPerMs, [this, entity, from, old_generation, to] { send_to(from, Release{entity, old_generation, to}); });
    return true;
  }
  if (send_to(rec.owner, Release{entity, rec.generation, to}) != SendStatus::kOk) return false;
  migrations_[entity] = Migration{rec.owner, to, rec.generation, rt_.clock.now_ns()};
  ++stats_.migrations_started;
  trace(TraceKind::kMigrationStarted, entity, static_cast<int64_t>(rec.generation), 0, to);
  return true;
}

// Step 2: the old owner no longer writes the entity; grant it to the destination, new generation.
void Coordinator::handle_released(NodeId from, const Released& r) {
  auto m = migrations_.find(r.entity);
  auto it = table_.find(r.entity);
  if (m == migrations_.end() || it == table_.end() || m->second.from != from || it->second.owner != from ||
      it->second.generation != r.generation) {
    return;
  }
  const NodeId to = m->second.to;
  migrations_.erase(m);
  const OwnerRecord& rec = it->second;
  // The released state is the freshest there is: the table keeps it, so that a recovery after the new
  // owner is lost never starts from an older owner's snapshot.
  if (r.state.generation == rec.generation && newer_than(r.state, rec.snapshot)) {
    table_.edit(r.entity, [&](OwnerRecord& e) { e.snapshot = r.state; });
  }
  auto dest = nodes_.find(to);
  if (dest == nodes_.end() || dest->second.lost || dest->second.conn == 0) {
    orphan(r.entity, 0);  // the destination went away meanwhile: re-granted from the released state
    return;
  }
  table_.assign(r.entity, to, next_generation(rec.generation));
  backlog_.changed(r.entity);
  ++stats_.migrations_done;
  note_handover(HandoverKind::kMigrated, r.entity, from, to, 1);
  OwnershipGrant grant{r.entity, rec.generation, rec.gateway, rec.session, rec.snapshot.pos, rec.snapshot.team, rec.snapshot, true,
                       r.generation};
  send_to(to, grant);
  trace(TraceKind::kOwnershipGranted, r.entity, static_cast<int64_t>(rec.generation), 2, to);
  if (rec.gateway.valid()) send_to(rec.gateway, OwnerChanged{r.entity, to, dest->second.data_address});
}

// Migrations whose owner never answered (it was lost, or no longer had the entity) are forgotten.
void Coordinator::expire_migrations() {
  const TimeNs now = rt_.clock.now_ns();
  for (auto it = migrations_.begin(); it != migrations_.end();) {
    it = now - it->second.started_ns > kMigrationTimeoutNs ? migrations_.erase(it) : std::next(it);
  }
}

// Every second. Ownership follows space (region_map.h): the map is recut when the members change or
// a node's share strays, then entities deep inside another node's region are moved to it, at most
// kMigrationsPerRoundMax per round; a draining node's entities go to their region's home at once
// (a draining node is home to no region). The headroom warning uses what must run: entities against
// capacity, and the node's hard load (its gameplay phases) against the tick budget; soft and
// opportunistic load can be shed instead.
// Entities with an owner, per cell of the curve: what both cuts (regions, gateway routes) weigh.
RegionMap::Counts Coordinator::entity_counts() const {
  RegionMap::Counts counts{};
  for (const auto& [id, rec] : table_) {
    if (rec.owner.valid()) ++counts[regions_.cell_of(rec.snapshot.pos)];
  }
  return counts;
}

void Coordinator::balance(const RegionMap::Counts& counts) {
  if (!leading() || in_grace() || !has_quorum()) return;
  std::vector<RegionMap::Member> homes;
  size_t members = 0;
  for (const auto& [id, rec] : nodes_) {
    if (!eligible(rec) || rec.capacity_entities == 0) continue;
    ++members;
    if (!rec.draining()) homes.push_back(RegionMap::Member{id, rec.capacity_entities});
  }
  if (members == 0) return;
  const uint64_t headroom_permille = members * 1000 / (members + 1);
  for (const auto& [id, rec] : nodes_) {
    if (!eligible(rec) || rec.capacity_entities == 0) continue;
    const uint64_t load = table_.given_count(id) * 1000ull / rec.capacity_entities;
    if (load > headroom_permille || rec.hard_permille > headroom_permille) {
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "compute {} above the N/(N+1) headroom of {} permille: {} of capacity, {} hard load",
             id.value, headroom_permille, load, rec.hard_permille);
    }
  }
  if (regions_.needs_cut(homes, counts)) {
    regions_.cut(homes, counts);
    regions_cut_ns_ = rt_.clock.now_ns();
    ++stats_.region_cuts;
    std::string cut;
    for (const RegionMap::Range& r : regions_.ranges()) cut += fmt::format(" {}:[{},{})", r.node.value, r.begin, r.end);
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "regions recut for {} home node(s):{}", homes.size(), cut);
    send_membership();
  }
  if (homes.empty()) return;
  // Entities go home only in a settled cluster: no orphan waiting, no node lost, the map not recut
  // for kRegionSettleNs. Migrations started while recoveries are under way may have their old owner
  // cut off too, leaving a recovery only old states to start from (docs/simulation.md, open
  // findings). A draining node's entities leave regardless.
  bool settled = table_.orphans() == 0 && rt_.clock.now_ns() - regions_cut_ns_ >= kRegionSettleNs;
  for (const auto& [id, rec] : nodes_) settled = settled && !(rec.role == Role::kCompute && rec.lost);
  uint32_t budget = kMigrationsPerRoundMax, drain_budget = kDrainMigrationsPerRoundMax;
  for (const auto& [id, rec] : table_) {
    if (budget == 0 && drain_budget == 0) break;
    if (!rec.owner.valid() || migrations_.count(id)) continue;
    auto owner = nodes_.find(rec.owner);
    const bool draining = owner != nodes_.end() && owner->second.draining();
    if (draining) {
      // It must leave: to its region's home, or past plan (up to the overload ceiling) elsewhere.
      if (drain_budget == 0) continue;
      const NodeId to = home_for(rec.snapshot.pos, Placement::kExisting);
      if (to.valid() && to != rec.owner && start_migration(id, to)) --drain_budget;
      continue;
    }
    if (budget == 0) continue;
    const NodeId home = regions_.home(rec.snapshot.pos);
    if (!home.valid() || home == rec.owner) continue;
    if (!settled || !regions_.deep_outside(rec.snapshot.pos, rec.owner)) continue;  // hysteresis at borders
    if (!admits(home, nodes_.at(home), Placement::kNewcomer)) continue;  // an optional move: only below plan
    if (start_migration(id, home)) --budget;
  }
}

// Clients go to the gateway of their region, so that each gateway's clients see mostly the same
// entities: a gateway then takes feeds of its part of the arena only, not of all of it. Members are
// the gateways connected now with a client address, equal in capacity.
void Coordinator::route_gateways(const RegionMap::Counts& counts) {
  if (!leading()) return;
  std::vector<RegionMap::Member> gateways;
  for (const auto& [id, rec] : nodes_) {
    if (rec.role == Role::kGateway && rec.conn != 0 && !rec.data_address.empty()) gateways.push_back(RegionMap::Member{id, 1});
  }
  // Each epoch's leader sends its routes once even if it finds nothing to recut: gateways that
  // registered while it followed have none from it.
  const bool recut = gateway_routes_.needs_cut(gateways, counts);
  if (!recut && gateway_routes_epoch_ == epoch_) return;
  gateway_routes_epoch_ = epoch_;
  if (recut) {
    gateway_routes_.cut(gateways, counts);
    ++gateway_routes_version_;
    ++stats_.gateway_route_cuts;
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "gateway routes recut for {} gateway(s), version {}", gateways.size(),
           gateway_routes_version_);
  }
  if (gateway_routes_.ranges().empty()) return;
  const GatewayRoutes routes = gateway_routes_message();
  for (const RegionMap::Member& g : gateways) send_to(g.node, routes);
}

GatewayRoutes Coordinator::gateway_routes_message() const {
  GatewayRoutes m{gateway_routes_version_, cfg_.rules.arena_mm, {}};
  for (const RegionMap::Range& r : gateway_routes_.ranges()) {
    auto it = nodes_.find(r.node);
    m.routes.push_back(GatewayRoute{r.node, it == nodes_.end() ? std::string() : it->second.data_address, r.begin, r.end});
  }
  return m;
}

NodeId Coordinator::home_for(Vec2 pos, Placement placement) const {
  const NodeId home = regions_.home(pos);
  auto it = nodes_.find(home);
  // Home while it is within plan; past it, the least loaded node that admits the placement (an
  // entity already in the battle may go past plan there, spread rather than piled on one home).
  if (it != nodes_.end() && admits(home, it->second, Placement::kNewcomer)) return home;
  return pick_compute(placement);
}

// The migration-storm scenario: every `migration_storm_every_ticks`, move a batch of entities to
// random other nodes, in the middle of the fight.
void Coordinator::storm() {
  if (cfg_.migration_storm_every_ticks == 0 || tick_ % cfg_.migration_storm_every_ticks != 0 || table_.empty()) return;
  std::vector<NodeId> members;
  for (const auto& [id, rec] : nodes_) {
    if (eligible(rec)) members.push_back(id);
  }
  if (members.size() < 2) return;
  std::vector<EntityId> ids;
  ids.reserve(table_.size());
  for (const auto& [id, rec] : table_) ids.push_back(id);
  for (uint32_t i = 0; i < cfg_.migration_storm_batch; ++i) {
    const EntityId id = ids[uniform_below(rt_.random, ids.size())];
    start_migration(id, members[uniform_below(rt_.random, members.size())]);
  }
}

}  // namespace aether
