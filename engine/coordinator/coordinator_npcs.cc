// NPCs are entities like avatars: the leader gives each an id, a generation and an owner in its
// table, and grants it to the compute node whose region holds its home (ownership follows space),
// exactly as it grants a newcomer's avatar. From then on the table's machinery (snapshots,
// migrations, recovery, failover) keeps one writer per NPC; the NPC's own component carries its AI
// state, threat table and respawn timer through all of it (docs/gameplay.md, "NPCs").
//
// Spawners are content: once a second the leader counts, per spawner, the NPCs its table holds
// (their snapshots name their spawner) and places the missing ones. A dead NPC stays in the table
// and respawns on its owner; only an NPC the table lost (its record erased) is placed again.

#include "engine/coordinator/coordinator.h"

#include "engine/core/random.h"

namespace aether {

void Coordinator::place_npcs() {
  const gameplay::Content& content = *content_;
  if (content.spawners.empty() || !leading() || !has_quorum() || in_grace() || regions_cut_ns_ == 0) return;
  std::vector<uint32_t> held(content.spawners.size() + 1, 0);
  for (const auto& [id, rec] : table_) {
    const uint16_t s = rec.snapshot.kind == kEntityKindNpc ? rec.snapshot.npc.spawner : 0;
    if (s != 0 && s < held.size()) ++held[s];
  }
  size_t placed = 0;
  for (const gameplay::SpawnerDef& sp : content.spawners) {
    if (content.template_of(sp)) continue;  // an instance's: placed per slot, for a party (coordinator_instances.cc)
    for (uint32_t n = held[sp.id]; n < sp.count; ++n) {
      if (placed == kNpcPlacementsPerSecondMax || table_.size() >= cfg_.table_entities_max) return;
      if (!place_npc(sp, Vec2{}, 0)) return;  // no compute node admits it now: next second
      ++placed;
    }
  }
}

bool Coordinator::place_npc(const gameplay::SpawnerDef& sp, Vec2 shift, uint64_t party) {
  const gameplay::MonsterDef* monster = content_->find_monster(sp.monster);
  AETHER_ASSERT(monster);  // content checked
  // A home in the spawner's disc (its bounding square, rejected outside the disc), in the arena.
  Vec2 home = sp.pos;
  for (int tries = 0; tries < 8 && sp.radius_mm > 0; ++tries) {
    const Vec2 p{static_cast<int32_t>(sp.pos.x_mm + uniform_range(rt_.random, -sp.radius_mm, sp.radius_mm)),
                 static_cast<int32_t>(sp.pos.y_mm + uniform_range(rt_.random, -sp.radius_mm, sp.radius_mm))};
    if (within_mm(p, sp.pos, sp.radius_mm)) {
      home = p;
      break;
    }
  }
  home.x_mm += shift.x_mm;  // an instance's NPC: the same place in its slot
  home.y_mm += shift.y_mm;
  home = Vec2{clamp_i32(home.x_mm, 0, cfg_.rules.arena_mm - 1), clamp_i32(home.y_mm, 0, cfg_.rules.arena_mm - 1)};
  const NodeId owner = home_for(home, Placement::kNewcomer);
  if (!owner.valid()) return false;
  // NPC ids carry the epoch like avatars' and bit 39 besides, so they never meet an avatar's id.
  const EntityId entity((epoch_ << 40) | kNpcIdBit | next_npc_++);
  OwnerRecord rec{owner, next_generation(0), NodeId{}, SessionId{}, EntityState{}};
  rec.snapshot.id = entity;
  rec.snapshot.pos = home;
  rec.snapshot.hp = monster->stats.hp_max;
  rec.snapshot.team = kNpcTeam;
  rec.snapshot.kind = kEntityKindNpc;
  rec.snapshot.version = 1;
  rec.snapshot.generation = rec.generation;
  rec.snapshot.class_id = monster->id;
  rec.snapshot.npc.spawner = sp.id;
  rec.snapshot.npc.home = home;
  rec.snapshot.npc.party = party;
  set_record(entity, rec);
  ++stats_.npcs_placed;
  OwnershipGrant grant{entity, rec.generation, NodeId{}, SessionId{}, home, kNpcTeam, std::nullopt};
  grant.class_id = monster->id;
  grant.npc_spawner = sp.id;
  grant.npc_party = party;
  send_to(owner, grant);
  trace(TraceKind::kOwnershipGranted, entity, static_cast<int64_t>(rec.generation), 0, owner);
  return true;
}

}  // namespace aether
