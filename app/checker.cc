#include "app/checker.h"

#include <algorithm>

#include <fmt/format.h>

namespace aether::app {

std::string describe_record(const TraceEvent& r) {
  return fmt::format("trace record kind {} at {:.6f} s: node {} epoch {} tick {} entity {} peer {} a {} b {}", static_cast<int>(r.kind),
                     static_cast<double>(r.time_ns) / kNsPerSec, r.node.value, r.epoch, r.tick, r.entity.value, r.peer.value, r.a, r.b);
}

void ClusterChecker::fail(TimeNs now, std::string what, std::string event) {
  if (!violation_) violation_ = Violation{now, std::move(what), std::move(event)};
}

const ComputeNode* ClusterChecker::compute(NodeId node) const {
  for (const ComputeNode* c : cluster_.computes()) {
    if (c && c->node() == node) return c;
  }
  return nullptr;
}

void ClusterChecker::on_record(const TraceEvent& r) {
  ++figures_.records_checked;
  switch (r.kind) {  // most records (deliveries, ghosts, inputs) are none of the checker's business
    case TraceKind::kOwnershipGranted:
    case TraceKind::kMigrationReleased:
    case TraceKind::kOwnershipRevoked:
    case TraceKind::kEntityDespawned:
    case TraceKind::kEvicted:
    case TraceKind::kHostCrashed:
    case TraceKind::kEpochChanged:
    case TraceKind::kControlApplied:
    case TraceKind::kTickDone:
    case TraceKind::kSkillUsed:
    case TraceKind::kIntentApplied:
    case TraceKind::kPortalTaken:
    case TraceKind::kInstanceOpened:
    case TraceKind::kInstanceClosed:
    case TraceKind::kInstanceEntered:
    case TraceKind::kEconCreated:
    case TraceKind::kLogoutWaitGivenUp:
    case TraceKind::kLeaderElected: break;
    case TraceKind::kEncounterStarted:
    case TraceKind::kEncounterTurnEnded:
    case TraceKind::kEncounterEnded: break;
    case TraceKind::kGhostDropped:
      if (r.a != static_cast<int64_t>(GhostDropReason::kNowOurs)) return;
      break;
    default: return;
  }
  const ComputeNode* node = compute(r.node);
  auto fail_at = [this](TimeNs t, std::string what, std::string event) { fail(t, std::move(what), std::move(event)); };
  if (r.kind == TraceKind::kInstanceOpened) return instances_.on_opened(r, describe_record(r), fail_at);  // the leader's
  if (r.kind == TraceKind::kInstanceClosed) return instances_.on_closed(r);
  if (r.kind == TraceKind::kLogoutWaitGivenUp) return saves_.on_wait_given_up(CharacterId(static_cast<uint64_t>(r.a)));  // the leader's
  if (r.kind == TraceKind::kLeaderElected) return saves_.on_leader_elected();
  if (!node) {
    // A coordinator's grant: the state its table held when it was made is what the restore owes.
    if (r.kind != TraceKind::kOwnershipGranted || (r.b != 1 && r.b != 2)) return;
    for (const Coordinator* c : cluster_.coordinators()) {
      const OwnerRecord* rec = c && c->node() == r.node ? c->table().get(r.entity) : nullptr;
      if (rec) granted_state_[{r.peer, r.entity}] = rec->snapshot;
    }
    return;
  }
  const auto key = std::make_pair(r.node, r.entity);
  switch (r.kind) {
    case TraceKind::kOwnershipGranted:
      if (r.b == 0) watch_.erase(r.entity);  // a spawn: a new life, whatever the id held before
      if (r.b == 0) {
        if (const gameplay::Entity* e = node->world().find(r.entity)) {
          auto owes_logout = [this](NodeId owner, CharacterId character) {
            const ComputeNode* n = compute(owner);
            return n && n->character_saves().owes_logout(character);
          };
          saves_.on_spawn(r.time_ns, r.node, *e, owes_logout, describe_record(r),
                          [this](TimeNs t, std::string what, std::string event) { fail(t, std::move(what), std::move(event)); });
        }
      }
      // A restored state (b = 1 recovery, 3 migration from the snapshot) may roll back; so may one
      // that was restored and handed on (b = 2) before anyone wrote it.
      if (r.b == 0 || r.b == 1 || r.b == 3) forget_game_history(r.entity);  // a new life, or a restore that may undo uses
      if (r.b == 1 || r.b == 3) {
        restored_unwritten_.insert(r.entity);
        if (const gameplay::Entity* e = node->world().find(r.entity)) restore_point_[r.entity] = e->version;
        on_restore(r, *node);
        if (const gameplay::Entity* e = node->world().find(r.entity)) {
          loot_.on_restore(r.time_ns, *e, describe_record(r), [this](TimeNs t, std::string what, std::string event) { fail(t, std::move(what), std::move(event)); });
        }
        // A restored encounter goes on from the turn its state holds: the one to end next.
        const gameplay::Entity* e = node->world().find(r.entity);
        auto w = encounters_.find(r.entity);
        if (e && e->is_encounter() && w != encounters_.end()) {
          const uint32_t next = e->encounter.running() ? e->encounter.st.turn : w->second.last_turn + 1;
          if (next <= w->second.last_turn) ++figures_.encounter_rollbacks;
          w->second.last_turn = next - 1;
          w->second.progress_ns = r.time_ns;
        }
      }
      ghost_taken_.erase(key);  // it was this grant's to use, or none
      granted_state_.erase(key);
      holdings_[key] = Holding{r.time_ns, figures_.records_checked, restored_unwritten_.count(r.entity) > 0};
      break;
    case TraceKind::kMigrationReleased:
    case TraceKind::kOwnershipRevoked:
    case TraceKind::kEntityDespawned:
      if (r.kind == TraceKind::kOwnershipRevoked && r.b == 0) {  // recorded after the avatar left: its state is kept
        if (const LastStates::Kept* kept = node->last_states().find(r.entity)) saves_.on_left(r.time_ns, r.node, kept->state);
      }
      holdings_.erase(key);
      break;
    case TraceKind::kEvicted:
    case TraceKind::kHostCrashed: {
      auto it = holdings_.lower_bound({r.node, EntityId{}});
      while (it != holdings_.end() && it->first.first == r.node) it = holdings_.erase(it);
      if (r.kind == TraceKind::kHostCrashed) {
        saves_.on_crash(r.node);
        node_epoch_.erase(r.node);  // a new incarnation starts from scratch, its ticks from 0
        std::erase_if(skill_used_at_, [&](const auto& use) { return use.second.first == r.node; });
      }
      break;
    }
    case TraceKind::kEpochChanged: {
      Epoch& seen = node_epoch_[r.node];
      if (static_cast<Epoch>(r.a) < seen) {
        fail(r.time_ns, fmt::format("compute node {} went back from epoch {} to {}", r.node.value, seen, r.a), describe_record(r));
      }
      seen = std::max(seen, static_cast<Epoch>(r.a));
      break;
    }
    case TraceKind::kControlApplied:
      if (static_cast<Epoch>(r.a) < r.epoch) {
        fail(r.time_ns,
             fmt::format("compute node {} applied an order (message type {}) from epoch {} while at epoch {}", r.node.value, r.b, r.a, r.epoch),
             describe_record(r));
      }
      break;
    case TraceKind::kTickDone: on_write(r, *node); break;
    case TraceKind::kSkillUsed:
    case TraceKind::kPortalTaken:
    case TraceKind::kIntentApplied: on_game_record(r, *node); break;
    case TraceKind::kInstanceEntered: instances_.on_entered(r, node->world().content(), node->world().find(r.entity), describe_record(r), fail_at); break;
    case TraceKind::kEconCreated:
      loot_.on_created(r, node->world().find(r.entity), describe_record(r), [this](TimeNs t, std::string what, std::string event) {
        fail(t, std::move(what), std::move(event));
      });
      break;
    case TraceKind::kEncounterStarted:
    case TraceKind::kEncounterTurnEnded:
    case TraceKind::kEncounterEnded: on_encounter_record(r, *node); break;
    case TraceKind::kGhostDropped: {  // recorded before the ghost goes: the restore must be at least as fresh
      if (const Ghost* g = node->ghosts().find(r.entity)) ghost_taken_[key] = g->state;
      break;
    }
    default: break;
  }
}

// Freshness: a restored entity (recovery, or a migration that fell back to the grant's state) starts
// from a state at least as fresh as the granting leader's table and the new owner's own ghost: the
// states the protocol brings together (a vice's fresher states reach the leader before it re-grants:
// docs/ownership.md §4). States of an older generation than the entity's last write are dead
// branches. The stated exceptions, measured but allowed: a state only a coordinator the leader could
// not hear held (a vice that did not answer within kViceAckWaitNs), a ghost held by a third node.
void ClusterChecker::on_restore(const TraceEvent& r, const ComputeNode& node) {
  const gameplay::Entity* e = node.world().find(r.entity);
  if (!e) return;
  ++figures_.restores;
  const auto w = watch_.find(r.entity);
  const NodeId lost_writer = w == watch_.end() ? NodeId{} : w->second.last_writer;
  const uint64_t lineage = w == watch_.end() ? 0 : w->second.generation;
  auto fresher = [&](const EntityState& st) { return st.generation >= lineage && st.version > e->version; };
  std::optional<EntityState> best;
  std::string where;
  auto granted = granted_state_.find({node.node(), r.entity});
  if (granted != granted_state_.end() && fresher(granted->second)) {
    best = granted->second;
    where = "the granting leader's table";
  }
  bool elsewhere = false;  // an exception: a coordinator that did not grant held a fresher state
  for (const Coordinator* c : cluster_.coordinators()) {
    const OwnerRecord* rec = c ? c->table().get(r.entity) : nullptr;
    elsewhere |= rec && fresher(rec->snapshot) && !(c->leading() && rec->owner == node.node());
  }
  auto own = ghost_taken_.find({node.node(), r.entity});
  if (own != ghost_taken_.end()) {
    if (fresher(own->second) && (!best || own->second.version > best->version)) {
      best = own->second;
      where = "its own ghost";
    }
  }
  if (best) {
    ++figures_.restores_behind_fresher;
    fail(r.time_ns,
         fmt::format("entity {} restored on compute node {} at version {}, but {} held version {} (generation {:#x}) when it was granted",
                     r.entity.value, node.node().value, e->version, where, best->version, best->generation),
         describe_record(r));
    return;
  }
  for (const ComputeNode* c : cluster_.computes()) {
    if (!c || c->node() == lost_writer || c == &node) continue;
    const Ghost* g = c->ghosts().find(r.entity);
    elsewhere |= g && fresher(g->state);
  }
  figures_.restores_behind_elsewhere += elsewhere ? 1 : 0;
}

void ClusterChecker::on_write(const TraceEvent& r, const ComputeNode& node) {
  const TimeNs t = r.time_ns;
  for (const auto& [id, e] : node.world().entities()) {
    ++figures_.writes_checked;
    EntityWatch& w = watch_[id];
    auto held = holdings_.find({node.node(), id});
    const TimeNs granted = held == holdings_.end() ? 0 : held->second.granted_ns;
    const uint64_t granted_seq = held == holdings_.end() ? 0 : held->second.granted_seq;
    // In record order, not time: events at one instant still happen one after the other.
    if (w.last_writer.valid() && w.last_writer != node.node() && w.last_write_seq > granted_seq) {
      fail(t,
           fmt::format("entity {} has two writers: compute node {} writes it at {:.3f} s, but compute node {} wrote it at {:.3f} s, after "
                       "node {} was granted it at {:.3f} s",
                       id.value, node.node().value, static_cast<double>(t) / kNsPerSec, w.last_writer.value,
                       static_cast<double>(w.last_write_ns) / kNsPerSec, node.node().value, static_cast<double>(granted) / kNsPerSec),
           describe_record(r));
    }
    const uint64_t v = e.version;
    const bool restored = held != holdings_.end() && held->second.restored;
    // The version the restore started from: the first write after it may already be past it (inputs
    // applied in that very tick), and versions of the branch it undid can be numbered alike.
    auto point = restore_point_.find(id);
    const uint64_t from = restored && point != restore_point_.end() ? std::min(point->second, v) : v;
    if (from < w.version_max) {
      if (!restored) {
        fail(t, fmt::format("entity {} went back from version {} to {} on compute node {} with no restore", id.value, w.version_max, v, node.node().value),
             describe_record(r));
      } else {
        // How far back: the restored version was current until the first write past it.
        TimeNs superseded = -1;
        for (const auto& [when, version] : w.history) {
          if (version > from) {
            superseded = when;
            break;
          }
        }
        // Every remembered write is past it: the restored state is older than the whole history,
        // which is fine only if that history is short (the entity is young).
        if (superseded == w.history.front().first && w.history.size() >= kHistoryMax && w.history.front().second > from) superseded = -1;
        // The writes lost: from the first one past the restored state to the last one before it.
        const TimeNs back = superseded < 0 ? rollback_bound_ns_ + 1 : std::max<TimeNs>(0, w.last_write_ns - superseded);
        ++figures_.rollbacks;
        figures_.longest_rollback_ns = std::max(figures_.longest_rollback_ns, back);
        if (back > rollback_bound_ns_) {
          ++figures_.rollbacks_past_bound;
          fail(t, fmt::format("entity {} restored on compute node {} to version {} (it had reached {}), {} ms of history lost, more than the "
                              "bound of {} ms",
                              id.value, node.node().value, from, w.version_max, back / kNsPerMs, rollback_bound_ns_ / kNsPerMs),
               describe_record(r));
        }
      }
    }
    if (held != holdings_.end()) held->second.restored = false;
    restored_unwritten_.erase(id);
    if (restored) restore_point_.erase(id);
    // After a restore, the writes past the restored state are a lost branch: the next rollback is
    // measured against the entity's history as it now is (keeping them had a later rollback measured
    // back to writes an earlier one had already undone: chaos-processes seed 14 reported 5.5 s).
    while (!w.history.empty() && w.history.back().second > from) w.history.pop_back();
    if (w.history.empty() || w.history.back().second != v) {
      w.history.emplace_back(t, v);
      if (w.history.size() > kHistoryMax) w.history.pop_front();
    }
    w.version_max = v;  // higher, or a rollback (allowed or already reported): the new line to compare with
    w.generation = e.generation;
    w.last_writer = node.node();
    w.last_write_ns = t;
    w.last_write_seq = figures_.records_checked;
    check_game_state(t, node, e, r);
  }
}

void ClusterChecker::check_game_state(TimeNs now, const ComputeNode& node, const gameplay::Entity& e, const TraceEvent& r) {
  const gameplay::Content& content = node.world().content();
  const Tick tick = node.tick();
  auto bad = [&](std::string what) { fail(now, fmt::format("entity {} on compute node {}: {}", e.id.value, node.node().value, what), describe_record(r)); };
  if (!e.cls) return bad("no class");
  if (!content.zones.empty()) {
    // Zones: every entity stands in exactly one zone (zones are disjoint, so: in one).
    ++figures_.zone_checks;
    if (!content.zone_of(e.pos)) return bad(fmt::format("at ({}, {}) mm, in no zone", e.pos.x_mm, e.pos.y_mm));
    if (std::string wrong = instances_.on_write(now, content, e); !wrong.empty()) return bad(wrong);
  }
  if (e.hp < 0 || e.hp > e.hp_max()) return bad(fmt::format("health {} outside [0, {}] (level {})", e.hp, e.hp_max(), e.level));
  if (e.experience < 0 || e.experience > gameplay::kExperienceMax) return bad(fmt::format("experience {} outside [0, {}]", e.experience, gameplay::kExperienceMax));
  if (e.level != content.experience.level_for(e.experience)) {
    return bad(fmt::format("level {} with {} experience: the content says level {}", e.level, e.experience, content.experience.level_for(e.experience)));
  }
  if (e.dead != (e.hp == 0)) return bad(fmt::format("health {} but {}", e.hp, e.dead ? "dead" : "alive"));
  if (e.resource < 0 || e.resource > e.cls->resource_max) return bad(fmt::format("resource {} outside [0, {}]", e.resource, e.cls->resource_max));
  if (e.dead && !e.effects.empty()) return bad("dead with effects");
  for (const gameplay::Effect& x : e.effects) {
    const gameplay::EffectDef* d = content.find_effect(x.effect);
    if (!d) return bad(fmt::format("unknown effect {}", x.effect));
    if (x.expires <= tick || x.expires > tick + d->duration_ticks) {
      return bad(fmt::format("effect {} expires at tick {}, outside ({}, {}]: it must end within its duration", d->name, x.expires, tick,
                             tick + d->duration_ticks));
    }
    if (x.stacks < 1 || x.stacks > d->stacks_max) return bad(fmt::format("effect {} at {} stacks (max {})", d->name, x.stacks, d->stacks_max));
  }
  for (const gameplay::Cooldown& c : e.cooldowns) {
    const gameplay::SkillDef* s = content.find_skill(c.skill);
    if (!s || c.ready > tick + s->cooldown_ticks) return bad(fmt::format("skill {} cooling down until tick {}, past its cooldown", c.skill, c.ready));
  }
  if (e.cast.skill != 0) {
    const gameplay::SkillDef* s = content.find_skill(e.cast.skill);
    if (!s || e.cast.completes > tick + s->cast_ticks) return bad(fmt::format("cast of skill {} completing at tick {}, past its length", e.cast.skill, e.cast.completes));
  }
}

void ClusterChecker::forget_game_history(EntityId id) {
  skill_used_at_.erase(skill_used_at_.lower_bound({id, 0}), skill_used_at_.upper_bound({id, UINT16_MAX}));
  applied_keys_.erase(id);
}

void ClusterChecker::on_game_record(const TraceEvent& r, const ComputeNode& node) {
  if (r.kind == TraceKind::kPortalTaken) {
    // A portal moves the entity that stood in it to its destination, in the destination's zone.
    const gameplay::Content& content = node.world().content();
    const gameplay::PortalDef* p = r.a >= 1 && static_cast<size_t>(r.a) <= content.portals.size() ? &content.portals[r.a - 1] : nullptr;
    const gameplay::Entity* e = node.world().find(r.entity);
    if (!p || !e) return fail(r.time_ns, fmt::format("entity {} took unknown portal {}", r.entity.value, r.a), describe_record(r));
    const gameplay::ZoneDef* z = content.zone_of(e->pos);
    if (!(e->pos == p->to) || !z || z->id != p->to_zone || static_cast<int64_t>(z->id) != r.b) {
      return fail(r.time_ns, fmt::format("entity {} took portal {} but stands at ({}, {}) mm, not at its destination in zone {}", r.entity.value,
                                         p->name, e->pos.x_mm, e->pos.y_mm, p->to_zone),
                  describe_record(r));
    }
    ++figures_.portals_taken;
    return;
  }
  if (r.kind == TraceKind::kSkillUsed) {
    const gameplay::SkillDef* s = node.world().content().find_skill(static_cast<uint16_t>(r.a));
    if (!s) return fail(r.time_ns, fmt::format("entity {} used unknown skill {}", r.entity.value, r.a), describe_record(r));
    // In the owner's ticks: a node catching up on late ticks runs them closer than 100 ms apart, and
    // a cooldown is a number of ticks. A use on another node (the entity migrated with its state)
    // starts a new count: the restore tests show cooldowns travel with the state.
    auto [it, first] = skill_used_at_.try_emplace({r.entity, s->id}, std::pair{r.node, r.tick});
    if (!first && it->second.first == r.node && r.tick < it->second.second + s->cooldown_ticks) {
      fail(r.time_ns,
           fmt::format("entity {} used skill {} at tick {} on compute node {}, {} ticks after its last use, before its cooldown of {} ticks",
                       r.entity.value, s->name, r.tick, r.node.value, r.tick - it->second.second, s->cooldown_ticks),
           describe_record(r));
    }
    it->second = {r.node, r.tick};
    return;
  }
  auto& [keys, order] = applied_keys_[r.entity];
  if (!keys.insert(r.a).second) {
    fail(r.time_ns, fmt::format("entity {}: intent {:x} applied twice", r.entity.value, r.a), describe_record(r));
    return;
  }
  order.push_back(r.a);
  if (order.size() > kAppliedKeysKept) {
    keys.erase(order.front());
    order.pop_front();
  }
}

void ClusterChecker::on_encounter_record(const TraceEvent& r, const ComputeNode& node) {
  const gameplay::Entity* e = node.world().find(r.entity);
  if (r.kind == TraceKind::kEncounterStarted) {
    if (!e || !e->is_encounter()) return fail(r.time_ns, fmt::format("encounter {} started on compute node {}, which does not hold it", r.entity.value, node.node().value), describe_record(r));
    ++figures_.encounters;
    encounters_[r.entity] = EncounterWatch{0, r.time_ns, e->encounter.st.turn_ticks, e->encounter.st.rounds_max,
                                           static_cast<uint32_t>(e->encounter.st.seats.size()), false};
    return;
  }
  auto w = encounters_.find(r.entity);
  if (w == encounters_.end()) return fail(r.time_ns, fmt::format("encounter {} ends a turn or itself but never started", r.entity.value), describe_record(r));
  EncounterWatch& watch = w->second;
  if (r.kind == TraceKind::kEncounterEnded) {
    watch.ended = true;
    if (static_cast<uint32_t>(r.a) > watch.rounds_max) {
      fail(r.time_ns, fmt::format("encounter {} ended after {} rounds, past its bound of {}", r.entity.value, r.a, watch.rounds_max), describe_record(r));
    }
    return;
  }
  ++figures_.encounter_turns;
  const auto turn = static_cast<uint32_t>(r.a);
  const auto round = static_cast<uint32_t>(r.b >> 2);
  if (turn <= watch.last_turn) {
    return fail(r.time_ns, fmt::format("encounter {}: turn {} (round {}) ended on compute node {}, but turn {} had ended already: a turn played twice",
                                       r.entity.value, turn, round, node.node().value, watch.last_turn),
                describe_record(r));
  }
  if (turn != watch.last_turn + 1) {
    return fail(r.time_ns, fmt::format("encounter {}: turn {} ended on compute node {} after turn {}: turns skipped", r.entity.value, turn,
                                       node.node().value, watch.last_turn),
                describe_record(r));
  }
  if (round > watch.rounds_max || turn > watch.rounds_max * watch.seats) {
    return fail(r.time_ns, fmt::format("encounter {}: turn {} of round {} is past its bound ({} rounds of {} seats)", r.entity.value, turn, round,
                                       watch.rounds_max, watch.seats),
                describe_record(r));
  }
  watch.last_turn = turn;
  watch.progress_ns = r.time_ns;
}

// Progress: every live encounter some compute node holds ends a turn within its timer plus the
// slack (runs whose only faults are crashes; others may rightly stall a turn longer).
void ClusterChecker::check_encounters(TimeNs now) {
  if (!strict_recovery_) return;
  for (auto& [id, watch] : encounters_) {
    if (watch.ended) continue;
    const gameplay::Entity* held = nullptr;
    for (const ComputeNode* c : cluster_.computes()) {
      if (const gameplay::Entity* e = c ? c->world().find(id) : nullptr) held = e;
    }
    if (!held || !held->encounter.running()) continue;  // lost (recovery watches that), or over
    if (now - watch.progress_ns > static_cast<TimeNs>(watch.turn_ticks) * kTickNs + kEncounterSlackNs) {
      fail(now, fmt::format("encounter {} made no progress for {} ms (turn timer {} ticks; last turn ended {})", id.value,
                            (now - watch.progress_ns) / kNsPerMs, watch.turn_ticks, watch.last_turn),
           "the periodic sweep");
      return;
    }
  }
}

void ClusterChecker::check_epochs(TimeNs now) {
  std::map<Epoch, NodeId> leaders;
  for (const Coordinator* c : cluster_.coordinators()) {
    if (!c || !c->leading()) continue;
    auto [it, first] = leaders.emplace(c->epoch(), c->node());
    if (!first) {
      fail(now, fmt::format("coordinators {} and {} both lead epoch {}", it->second.value, c->node().value, c->epoch()), "the periodic sweep");
    }
  }
}

void ClusterChecker::check_bounds(TimeNs now) {
  for (const ComputeNode* c : cluster_.computes()) {
    if (!c) continue;
    for (const QueueFigures& q : c->queues()) {
      if (q.depth > q.capacity || q.depth_max > q.capacity) {
        fail(now, fmt::format("compute node {}: {} queue at depth {} (deepest {}) past its bound {}", c->node().value, q.name, q.depth,
                              q.depth_max, q.capacity),
             "the periodic sweep");
      }
    }
    if (c->ghosts().size() > c->config().ghosts_max) {
      fail(now, fmt::format("compute node {} holds {} ghosts past its cap {}", c->node().value, c->ghosts().size(), c->config().ghosts_max),
           "the periodic sweep");
    }
  }
}

void ClusterChecker::check_recovery(TimeNs now, const Coordinator& leader) {
  // Recoveries that completed since the last sweep: the entity was written after the detection.
  for (auto it = recovering_.begin(); it != recovering_.end();) {
    const auto w = watch_.find(it->first);
    if (w == watch_.end() || !leader.table().count(it->first)) {
      it = recovering_.erase(it);
    } else if (w->second.last_write_ns > it->second) {
      figures_.longest_recovery_ns = std::max(figures_.longest_recovery_ns, w->second.last_write_ns - it->second);
      it = recovering_.erase(it);
    } else {
      ++it;
    }
  }
  for (const auto& [id, rec] : leader.table()) {
    EntityWatch& w = watch_[id];
    if (w.last_write_ns < 0) continue;  // never written yet: spawning
    figures_.longest_unwritten_ns = std::max(figures_.longest_unwritten_ns, now - w.last_write_ns - kTickNs);
    auto lost = leader.nodes().find(w.last_writer);
    const bool detected = lost != leader.nodes().end() && lost->second.lost && lost->second.lost_at_ns >= w.last_write_ns;
    if (!detected) {
      if (strict_recovery_ && now - w.last_write_ns > kUnwrittenMaxNs) {
        fail(now, fmt::format("entity {} unwritten for {} ms with no loss detected (last writer {})", id.value, (now - w.last_write_ns) / kNsPerMs,
                              w.last_writer.value),
             "the periodic sweep");
      }
      continue;
    }
    recovering_.emplace(id, lost->second.lost_at_ns);
    const TimeNs since = now - lost->second.lost_at_ns;
    if (strict_recovery_ && since > kRecoveryTargetNs) {
      fail(now, fmt::format("entity {} not written again {} ms after the loss of compute node {} was detected", id.value, since / kNsPerMs,
                            w.last_writer.value),
           "the periodic sweep");
    }
  }
}

std::string ClusterChecker::divergence(const Coordinator& leader) const {
  for (const ComputeNode* c : cluster_.computes()) {
    if (!c) continue;
    if (c->epoch() != leader.epoch()) return fmt::format("compute node {} is at epoch {}, the leader at {}", c->node().value, c->epoch(), leader.epoch());
    if (!c->lease_valid()) return fmt::format("compute node {} has no valid lease", c->node().value);
    for (const auto& [id, e] : c->world().entities()) {
      auto rec = leader.table().find(id);
      if (rec == leader.table().end()) return fmt::format("compute node {} holds entity {}, which the leader's table does not have", c->node().value, id.value);
      if (rec->second.owner != c->node()) {
        return fmt::format("compute node {} holds entity {}, which the leader's table gives to {}", c->node().value, id.value, rec->second.owner.value);
      }
    }
  }
  for (const auto& [id, rec] : leader.table()) {
    const ComputeNode* owner = compute(rec.owner);
    if (!owner || !owner->writes(id)) {
      return fmt::format("entity {} is not written by {}, its owner in the leader's table", id.value, rec.owner.valid() ? fmt::format("compute node {}", rec.owner.value) : std::string("anyone (orphaned)"));
    }
  }
  return {};
}

void ClusterChecker::check(TimeNs now) {
  ++figures_.checks;
  check_epochs(now);
  check_bounds(now);
  check_encounters(now);
  const Coordinator* leader = cluster_.coordinator();
  if (leader) check_recovery(now, *leader);
  if (loot_.figures().created > 0) {
    // Items as their writers hold them: a node whose lease ran out (cut off) writes nothing, so its
    // copy of an avatar can neither use nor save what it holds until a lease renews behind the
    // coordinator's revokes, or the node is evicted and drops it (docs/ownership.md §2). Counting
    // that frozen copy would call an avatar spawned again elsewhere meanwhile a duplication.
    std::vector<const gameplay::Entity*> held;
    for (const auto& [key, holding] : holdings_) {
      const ComputeNode* node = compute(key.first);
      if (!node || !node->lease_valid()) continue;
      if (const gameplay::Entity* e = node->world().find(key.second)) held.push_back(e);
    }
    loot_.sweep(now, held, [this](TimeNs t, std::string what, std::string event) { fail(t, std::move(what), std::move(event)); });
  }
  if (faults_end_ns_ > 0 && now >= faults_end_ns_ && figures_.converged_after_ns < 0) {
    const std::string diverged = leader ? divergence(*leader) : "no coordinator leads";
    if (diverged.empty()) {
      figures_.converged_after_ns = now - faults_end_ns_;
    } else if (now > faults_end_ns_ + converge_within_ns_) {
      fail(now, fmt::format("no convergence within {} ms after the last fault ended at {:.3f} s: {}", converge_within_ns_ / kNsPerMs,
                            static_cast<double>(faults_end_ns_) / kNsPerSec, diverged),
           "the periodic sweep");
    }
  }
}

}  // namespace aether::app
