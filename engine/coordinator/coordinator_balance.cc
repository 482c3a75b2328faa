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
  dirty_.insert(r.entity);
  ++stats_.migrations_done;
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

// Every second. Load is entities per capacity; the target keeps every node within N/(N+1) of its
// capacity so that the loss of any one node still fits (seed section 14). Beyond evening out load,
// an entity fighting a target owned elsewhere moves to that target's node (fewer cross-node intents)
// when the destination has room.
void Coordinator::balance() {
  if (!leading() || in_grace() || !has_quorum()) return;
  std::vector<NodeId> members;
  for (const auto& [id, rec] : nodes_) {
    if (eligible(rec) && rec.capacity_entities > 0) members.push_back(id);
  }
  if (members.size() < 2) return;
  auto load = [&](NodeId n) { return table_.given_count(n) * 1000ull / nodes_.at(n).capacity_entities; };  // permille
  const uint64_t headroom_permille = members.size() * 1000 / (members.size() + 1);
  NodeId most = members.front(), least = members.front();
  for (NodeId n : members) {
    if (load(n) > load(most)) most = n;
    if (load(n) < load(least)) least = n;
  }
  // The headroom check uses what must run: entities against capacity, and the node's hard load (its
  // gameplay phases) against the tick budget. Soft and opportunistic load can be shed instead.
  for (NodeId n : members) {
    const uint64_t hard = nodes_.at(n).hard_permille;
    if (load(n) > headroom_permille || hard > headroom_permille) {
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "compute {} above the N/(N+1) headroom of {} permille: {} of capacity, {} hard load",
             n.value, headroom_permille, load(n), hard);
    }
  }
  const auto count = [&](NodeId n) { return static_cast<uint32_t>(table_.given_count(n)); };
  uint32_t budget = kMigrationsPerRoundMax;
  // Drained nodes empty first, to the least loaded node that is not draining.
  NodeId target{};
  for (NodeId n : members) {
    if (!nodes_.at(n).draining && (!target.valid() || count(n) < count(target))) target = n;
  }
  for (const auto& [id, rec] : table_) {
    if (budget == 0 || !target.valid()) break;
    auto owner = nodes_.find(rec.owner);
    if (owner != nodes_.end() && owner->second.draining && start_migration(id, target)) --budget;
  }
  if (nodes_.at(least).draining) return;
  // Even out: move from the most to the least loaded node while the gap exceeds kBalanceSlackEntities.
  if (count(most) > count(least) + kBalanceSlackEntities) {
    uint32_t to_move = std::min<uint32_t>((count(most) - count(least)) / 2, budget);
    for (const auto& [id, rec] : table_) {
      if (to_move == 0) break;
      if (rec.owner == most && start_migration(id, least)) {
        --to_move;
        --budget;
      }
    }
  }
  bring_fighters_together(budget, count);
}

// An entity fighting a target owned elsewhere moves to the target's node, if that keeps the
// destination within kBalanceSlackEntities of the source. Of two entities fighting each other across
// nodes, only the one with the higher id moves, so the pair meets instead of swapping places.
void Coordinator::bring_fighters_together(uint32_t budget, const std::function<uint32_t(NodeId)>& count) {
  for (const auto& [node, rec] : nodes_) {
    for (const Affinity& a : rec.affinities) {
      if (budget == 0) return;
      auto e = table_.find(a.entity);
      auto partner = table_.find(a.partner);
      if (e == table_.end() || partner == table_.end() || e->second.owner != node || a.entity < a.partner) continue;
      const NodeId to = partner->second.owner;
      if (!to.valid() || to == node || nodes_.at(to).draining || count(to) + 1 > count(node) + kBalanceSlackEntities) continue;
      if (start_migration(a.entity, to)) {
        --budget;
        ++stats_.affinity_moves;
      }
    }
  }
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
