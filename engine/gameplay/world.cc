#include "engine/gameplay/world.h"

#include <algorithm>

#include "engine/core/assert.h"

namespace aether::gameplay {

namespace {
uint32_t ticks_left(Tick until, Tick now) { return static_cast<uint32_t>(until > now ? std::min<Tick>(until - now, kDurationTicksMax) : 0); }
}  // namespace

const char* refusal_name(Refusal r) {
  switch (r) {
    case Refusal::kNone: return "none";
    case Refusal::kUnknownSkill: return "unknown_skill";
    case Refusal::kDead: return "dead_actor";
    case Refusal::kStunned: return "stunned";
    case Refusal::kSilenced: return "silenced";
    case Refusal::kCasting: return "casting";
    case Refusal::kGlobalCooldown: return "global_cooldown";
    case Refusal::kCooldown: return "cooldown";
    case Refusal::kResource: return "resource";
    case Refusal::kNoTarget: return "no_target";
    case Refusal::kWrongTeam: return "wrong_team";
    case Refusal::kOutOfRange: return "out_of_range";
    case Refusal::kInterrupted: return "interrupted";
    case Refusal::kNotYourTurn: return "not_your_turn";
    case Refusal::kInEncounter: return "in_encounter";
  }
  return "unknown";
}

EntityState Entity::state(Tick now) const {
  EntityState s;
  s.id = id;
  s.pos = pos;
  s.hp = hp;
  s.team = team;
  s.flags = dead ? kEntityFlagDead : 0;
  s.target = target;
  s.version = version;
  s.kind = is_npc() ? kEntityKindNpc : is_encounter() ? kEntityKindEncounter : kEntityKindAvatar;
  s.generation = generation;
  s.move_x = move_x;
  s.move_y = move_y;
  s.cooldown_ticks = ticks_left(global_ready, now);
  s.last_input_seq = last_input_seq;
  s.class_id = cls ? cls->id : 0;
  s.level = level;
  s.resource = resource;
  if (cast.skill != 0) s.cast = CastState{cast.skill, cast.target, ticks_left(cast.completes, now)};
  for (const Cooldown& c : cooldowns) {
    if (c.ready > now) s.cooldowns.push_back(SkillCooldown{c.skill, ticks_left(c.ready, now)});
  }
  for (const Effect& e : effects) s.effects.push_back(EffectInstance{e.effect, e.source, ticks_left(e.expires, now), e.stacks, e.magnitude});
  s.intent_marks = intent_marks;
  s.experience = experience;
  for (const AttackerMark& a : attackers) {
    if (a.until > now) s.attackers.push_back(Attacker{a.entity, ticks_left(a.until, now)});
  }
  if (is_npc()) s.npc = NpcState{npc.spawner, npc.ai, npc.home, dead ? ticks_left(npc.respawn_at, now) : 0, npc.threat, npc.party};
  s.inventory = inventory;
  s.character = character;
  s.save_life = save_life;
  if (is_encounter()) {
    s.encounter = encounter.st;
    s.encounter.turn_ticks_left = encounter.running() ? ticks_left(encounter.turn_ends, now) : 0;
  }
  return s;
}

World::World(const Rules& rules) : rules_(rules), content_(content_of(rules)) {
  AETHER_ASSERT(!content_->classes.empty());
}

Entity* World::find(EntityId id) { return index_.find(id.value); }

const Entity* World::find(EntityId id) const { return index_.find(id.value); }

Entity& World::spawn(EntityId id, Vec2 pos, uint32_t team, uint64_t generation, uint16_t class_id) {
  AETHER_ASSERT(id.valid());
  AETHER_ASSERT(entities_.count(id) == 0);
  const ClassDef* cls = content_->find_class(class_id);
  if (!cls) cls = &content_->classes.front();
  Entity e;
  e.id = id;
  e.pos = pos;
  e.cls = cls;
  e.hp = cls->hp_max;
  e.resource = cls->resource_start;
  e.team = team;
  e.generation = generation;
  Entity& placed = entities_.emplace(id, e).first->second;
  index_.insert(id.value, &placed);
  return placed;
}

void World::load_save(Entity& e, const CharacterSave& save) {
  e.character = save.character;
  e.save_life = save.life;
  if (!save.loaded) return;
  e.experience = std::clamp(save.experience, 0, kExperienceMax);
  e.level = content_->experience.level_for(e.experience);
  e.hp = e.hp_max();
  e.inventory = save.inventory;
  ++e.version;
}

// A state from the wire or a snapshot was checked by its decoder for ranges, not against our
// content: a skill or effect we do not know is dropped rather than trusted.
Entity& World::restore(const EntityState& state, uint64_t generation) {
  Entity& e = spawn(state.id, state.pos, state.team, generation, state.class_id);
  e.experience = std::clamp(state.experience, 0, kExperienceMax);
  e.level = content_->experience.level_for(e.experience);  // the level follows from the experience, whatever the state says
  e.hp = std::min(state.hp, e.hp_max());
  e.dead = (state.flags & kEntityFlagDead) != 0;
  e.target = state.target;
  e.move_x = state.move_x;
  e.move_y = state.move_y;
  e.global_ready = tick_ + state.cooldown_ticks;
  e.last_input_seq = state.last_input_seq;
  e.resource = std::clamp(state.resource, 0, e.cls->resource_max);
  for (const SkillCooldown& c : state.cooldowns) {
    if (content_->find_skill(c.skill) && !e.cooldowns.full()) e.cooldowns.push_back(Cooldown{c.skill, tick_ + c.ticks_left});
  }
  if (state.cast.skill != 0 && content_->find_skill(state.cast.skill)) e.cast = Cast{state.cast.skill, state.cast.target, tick_ + state.cast.ticks_left};
  for (const EffectInstance& x : state.effects) {
    if (content_->find_effect(x.effect) && !e.effects.full()) e.effects.push_back(Effect{x.effect, x.source, tick_ + x.ticks_left, x.stacks, x.magnitude});
  }
  e.intent_marks = state.intent_marks;
  for (const Attacker& a : state.attackers) {
    if (a.entity.valid() && a.entity != e.id && a.ticks_left > 0) e.attackers.push_back(AttackerMark{a.entity, tick_ + a.ticks_left});
  }
  if (state.kind == kEntityKindNpc && content_->find_spawner(state.npc.spawner) && content_->find_monster(state.class_id)) {
    e.npc.spawner = state.npc.spawner;
    e.npc.ai = state.npc.ai;
    e.npc.home = state.npc.home;
    e.npc.party = state.npc.party;
    e.npc.respawn_at = e.dead ? tick_ + state.npc.respawn_ticks_left : 0;
    for (const ThreatEntry& t : state.npc.threat) {
      if (t.entity.valid() && t.entity != e.id) e.npc.threat.push_back(t);
    }
  }
  // Items are kept whatever our content says of their kind: dropping one would lose it.
  e.inventory = state.inventory;
  e.character = state.character;
  e.save_life = state.save_life;
  if (state.kind == kEntityKindEncounter && state.encounter.turn_ticks > 0) restore_encounter(e, state);
  e.version = state.version + 1;  // the restore itself is a change observers must see
  return e;
}

bool World::despawn(EntityId id) {
  const bool indexed = index_.erase(id.value);
  const bool erased = entities_.erase(id) == 1;
  AETHER_ASSERT(indexed == erased);
  return erased;
}

ApplyResult World::apply_input(EntityId id, const ClientInput& input) {
  Entity* e = find(id);
  // An NPC takes no client input (its AI drives it): to an input it is no entity of a player's.
  if (!e || e->is_npc()) return ApplyResult::kUnknownEntity;
  if (input.seq <= e->last_input_seq) return ApplyResult::kStale;
  e->last_input_seq = input.seq;
  if (e->dead) return ApplyResult::kDead;
  e->move_x = input.move_x;
  e->move_y = input.move_y;
  if (e->target != input.target && input.target != e->id) {
    e->target = input.target;
    ++e->version;
  }
  // A request stands until the tick acts on it (skills.cc): a later input of the same tick without
  // one (a client sends a move between presses) must not cancel a press.
  if (input.skill != 0) e->skill_requested = input.skill;
  return ApplyResult::kApplied;
}

void World::respawn(Entity& e, Vec2 at) {
  if (e.is_npc()) return;  // NPCs come back on their spawner's delay, at home (update)
  e.dead = false;
  e.hp = e.hp_max();
  e.resource = e.cls->resource_start;
  e.pos = at;
  e.target = EntityId{};
  e.move_x = e.move_y = 0;
  e.effects.clear();
  e.cast = Cast{};
  e.attackers.clear();
  ++e.version;
}

void World::die(Entity& e) {
  e.hp = 0;
  e.dead = true;
  e.move_x = e.move_y = 0;
  e.effects.clear();  // every effect ends with its bearer
  e.cast = Cast{};
  if (e.is_npc()) {
    e.target = EntityId{};
    e.npc.ai = AiState::kIdle;
    e.npc.threat = ThreatTable{};  // not clear(): it leaves stale slots, and states compare whole arrays
    e.npc.respawn_at = tick_ + respawn_delay(e);
  }
  ++e.version;
}

void World::note_attacker(Entity& target, EntityId source) {
  const ExperienceDef& xp = content_->experience;
  if (xp.kill_xp == 0 || !source.valid() || source == target.id) return;
  target.attackers.erase_if([&](const AttackerMark& a) { return a.entity == source || a.until <= tick_; });
  if (target.attackers.full()) target.attackers.erase_at(0);
  target.attackers.push_back(AttackerMark{source, tick_ + std::max<uint32_t>(xp.assist_window_ticks, 1)});
}

void World::award_experience(Entity& victim, std::vector<RemoteIntent>& out) {
  const ExperienceDef& xp = content_->experience;
  if (xp.kill_xp > 0) {
    for (size_t i = 0; i < victim.attackers.size(); ++i) {
      const AttackerMark& a = victim.attackers[i];
      if (a.until <= tick_) continue;
      const bool killer = i + 1 == victim.attackers.size();
      const int32_t amount = (killer ? xp.kill_xp : xp.assist_xp) * victim.level;
      if (amount > 0) out.push_back(RemoteIntent{keys_.next(tick_), victim.id, a.entity, 0, intent::Experience{amount}});
    }
  }
  if (!victim.attackers.empty()) {
    victim.attackers.clear();
    ++victim.version;
  }
}

bool World::gain_experience(Entity& e, int32_t amount) {
  const int32_t next = static_cast<int32_t>(std::min<int64_t>(int64_t{e.experience} + std::max(amount, 0), kExperienceMax));
  if (next == e.experience) return false;
  e.experience = next;
  ++e.version;
  const uint16_t level = content_->experience.level_for(next);
  if (level <= e.level) return false;
  // A level raises the class's stats; the living gain the hit points the level adds.
  const int32_t before = e.hp_max();
  e.level = level;
  if (!e.dead) e.hp = std::min(e.hp_max(), e.hp + (e.hp_max() - before));
  return true;
}

Vec2 World::spawn_point(const Rules& rules, uint32_t team, Random& random) {
  const uint32_t teams = rules.teams == 0 ? 1 : rules.teams;
  if (const ZoneDef* home = rules.content ? rules.content->home_zone() : nullptr) {
    const int64_t band = home->width_mm / teams;
    const int64_t x = int64_t{home->min.x_mm} + band * (team % teams) + uniform_range(random, band / 8, band - band / 8 - 1);
    const int64_t y = int64_t{home->min.y_mm} + uniform_range(random, home->height_mm / 8, home->height_mm - home->height_mm / 8 - 1);
    return home->clamp(Vec2{static_cast<int32_t>(x), static_cast<int32_t>(y)});
  }
  const int64_t front = rules.spawn_front_mm > 0 ? std::min<int64_t>(rules.spawn_front_mm, rules.arena_mm) : rules.arena_mm;
  const int64_t band = front / teams;
  const int64_t x0 = (rules.arena_mm - front) / 2 + band * (team % teams);
  const int64_t x = x0 + uniform_range(random, band / 8, band - band / 8 - 1);
  const int64_t y = uniform_range(random, rules.arena_mm / 8, rules.arena_mm - rules.arena_mm / 8 - 1);
  return Vec2{static_cast<int32_t>(x), static_cast<int32_t>(y)};
}

}  // namespace aether::gameplay
