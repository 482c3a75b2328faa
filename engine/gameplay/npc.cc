// NPCs: the threat table and the AI system (phase 2, before skills), spawning and respawning.
//
// AI rules (docs/gameplay.md, "NPCs"), one state per NPC, all of it in the entity's state:
//   idle       at home, still. Every kAggroScanTicks it looks within its aggro radius and the
//              nearest living enemy earns 1 threat: it starts chasing. Damage does the same.
//   chasing    after the top of its threat table (entries it can no longer see, dead or gone, are
//              dropped); within its attack's range it stands and attacks whenever the attack is
//              ready, else it moves toward the target. Past its leash from home, or with no one left
//              in the table, it returns.
//   returning  the table cleared, it walks home ignoring damage's threat; at home it heals to full
//              and is idle again.
// A dead NPC respawns at its home its spawner's respawn_ticks after its death, full and idle.

#include <algorithm>
#include <cstdlib>

#include "engine/core/assert.h"
#include "engine/gameplay/world.h"

namespace aether::gameplay {

void add_threat(ThreatTable& table, EntityId who, int32_t amount) {
  AETHER_ASSERT(amount > 0);
  for (ThreatEntry& t : table) {
    if (t.entity == who) {
      t.threat = static_cast<int32_t>(std::min<int64_t>(int64_t{t.threat} + amount, kThreatMax));
      return;
    }
  }
  const int32_t threat = std::min(amount, kThreatMax);
  if (!table.full()) {
    table.push_back(ThreatEntry{who, threat});
    return;
  }
  size_t lowest = 0;
  for (size_t i = 1; i < table.size(); ++i) {
    const ThreatEntry& t = table[i];
    const ThreatEntry& l = table[lowest];
    if (t.threat < l.threat || (t.threat == l.threat && l.entity < t.entity)) lowest = i;
  }
  if (table[lowest].threat >= threat) return;  // the newcomer is not kept
  table[lowest] = ThreatEntry{who, threat};
}

EntityId top_threat(const ThreatTable& table) {
  const ThreatEntry* top = nullptr;
  for (const ThreatEntry& t : table) {
    if (!top || t.threat > top->threat || (t.threat == top->threat && t.entity < top->entity)) top = &t;
  }
  return top ? top->entity : EntityId{};
}

void drop_threat(ThreatTable& table, EntityId who) {
  table.erase_if([&](const ThreatEntry& t) { return t.entity == who; });
}

Vec2 direction_permille(int64_t dx, int64_t dy) {
  const int64_t longest = std::max(std::llabs(dx), std::llabs(dy));
  if (longest == 0) return {};
  return Vec2{static_cast<int32_t>(dx * 1000 / longest), static_cast<int32_t>(dy * 1000 / longest)};
}

Entity* World::spawn_npc(EntityId id, uint16_t spawner, Vec2 home, uint64_t generation, uint64_t party) {
  const SpawnerDef* sp = content_->find_spawner(spawner);
  if (!sp) return nullptr;
  Entity& e = spawn(id, home, kNpcTeam, generation, sp->monster);
  e.npc.spawner = spawner;
  e.npc.home = home;
  e.npc.party = party;
  return &e;
}

Tick World::respawn_delay(const Entity& e) const {
  if (e.is_npc()) {
    if (const SpawnerDef* sp = content_->find_spawner(e.npc.spawner)) return sp->respawn_ticks;
  }
  return rules_.respawn_ticks;
}

void World::npc_respawn(Entity& e) {
  e.dead = false;
  e.hp = e.hp_max();
  e.pos = e.npc.home;
  e.target = EntityId{};
  e.move_x = e.move_y = 0;
  e.effects.clear();
  e.cast = Cast{};
  e.attackers.clear();
  e.npc.ai = AiState::kIdle;
  e.npc.threat = ThreatTable{};  // not clear(): it leaves stale slots, and states compare whole arrays
  e.npc.respawn_at = 0;
  ++e.version;
}

void World::move_toward(Entity& e, Vec2 to) {
  const Vec2 dir = direction_permille(int64_t{to.x_mm} - e.pos.x_mm, int64_t{to.y_mm} - e.pos.y_mm);
  if (dir.x_mm == e.move_x && dir.y_mm == e.move_y) return;
  e.move_x = dir.x_mm;
  e.move_y = dir.y_mm;
  ++e.version;
}

void World::npc_return(Entity& e) {
  e.npc.ai = AiState::kReturning;
  e.npc.threat = ThreatTable{};  // not clear(): it leaves stale slots, and states compare whole arrays
  e.target = EntityId{};
  ++e.version;
  move_toward(e, e.npc.home);
}

void World::think(Entity& e, Surroundings& around) {
  if (!e.is_npc() || e.dead) return;
  const MonsterDef* monster = content_->find_monster(e.cls->id);
  const SkillDef* attack = monster ? content_->find_skill(monster->stats.skills.front()) : nullptr;
  if (!attack) return;
  NpcComponent& n = e.npc;
  if (n.ai == AiState::kReturning) {
    if (!within_mm(e.pos, n.home, e.cls->speed_mm_per_tick)) {
      move_toward(e, n.home);
      return;
    }
    e.pos = n.home;  // the last part of a step
    e.move_x = e.move_y = 0;
    e.hp = e.hp_max();
    n.ai = AiState::kIdle;
    ++e.version;
    return;
  }
  if (n.ai == AiState::kIdle) {
    if ((tick_ + e.id.value) % kAggroScanTicks != 0) return;
    around.around(e.pos, monster->aggro_radius_mm, kAggroCandidatesMax, aggro_scratch_);
    for (const EntityState* s : aggro_scratch_) {
      if ((s->flags & kEntityFlagDead) || s->team == e.team) continue;
      add_threat(n.threat, s->id, 1);
      n.ai = AiState::kChasing;
      ++e.version;
      break;
    }
    if (n.ai == AiState::kIdle) return;
  }
  // Chasing.
  if (!within_mm(e.pos, n.home, monster->leash_mm)) return npc_return(e);
  const EntityState* target = nullptr;
  for (EntityId top = top_threat(n.threat); top.valid(); top = top_threat(n.threat)) {
    target = around.find(top);
    if (target && !(target->flags & kEntityFlagDead) && target->team != e.team) break;
    target = nullptr;
    drop_threat(n.threat, top);
    ++e.version;
  }
  if (!target) return npc_return(e);
  if (e.target != target->id) {
    e.target = target->id;
    ++e.version;
  }
  if (!within_mm(e.pos, target->pos, attack->range_mm)) return move_toward(e, target->pos);
  if (e.move_x != 0 || e.move_y != 0) {
    e.move_x = e.move_y = 0;
    ++e.version;
  }
  // Attack when the owner would accept it: no refusal is counted for an NPC waiting on a cooldown.
  if (has_effect(e, EffectKind::kStun)) return;
  if (attack->on_global_cooldown && tick_ < e.global_ready) return;
  for (const Cooldown& c : e.cooldowns) {
    if (c.skill == attack->id && tick_ < c.ready) return;
  }
  e.skill_requested = 1;
}

}  // namespace aether::gameplay
