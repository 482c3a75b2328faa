#include "engine/gameplay/world.h"

#include "engine/core/assert.h"

namespace aether::gameplay {

EntityState Entity::state(Tick now) const {
  EntityState s;
  s.id = id;
  s.pos = pos;
  s.hp = hp;
  s.team = team;
  s.flags = dead ? kEntityFlagDead : 0;
  s.target = target;
  s.version = version;
  s.kind = kEntityKindAvatar;
  s.generation = generation;
  s.move_x = move_x;
  s.move_y = move_y;
  s.cooldown_ticks = static_cast<uint32_t>(fire_ready_tick > now ? fire_ready_tick - now : 0);
  s.last_input_seq = last_input_seq;
  return s;
}

Entity* World::find(EntityId id) {
  auto it = entities_.find(id);
  return it == entities_.end() ? nullptr : &it->second;
}

const Entity* World::find(EntityId id) const {
  auto it = entities_.find(id);
  return it == entities_.end() ? nullptr : &it->second;
}

Entity& World::spawn(EntityId id, Vec2 pos, uint32_t team, uint64_t generation) {
  AETHER_ASSERT(id.valid());
  AETHER_ASSERT(entities_.count(id) == 0);
  Entity e;
  e.id = id;
  e.pos = pos;
  e.hp = rules_.hp_max;
  e.team = team;
  e.generation = generation;
  return entities_.emplace(id, e).first->second;
}

Entity& World::restore(const EntityState& state, uint64_t generation) {
  Entity& e = spawn(state.id, state.pos, state.team, generation);
  e.hp = state.hp;
  e.dead = (state.flags & kEntityFlagDead) != 0;
  e.target = state.target;
  e.move_x = state.move_x;
  e.move_y = state.move_y;
  e.fire_ready_tick = tick_ + state.cooldown_ticks;
  e.last_input_seq = state.last_input_seq;
  e.version = state.version + 1;  // the restore itself is a change observers must see
  return e;
}

bool World::despawn(EntityId id) { return entities_.erase(id) == 1; }

ApplyResult World::apply_input(EntityId id, const ClientInput& input) {
  Entity* e = find(id);
  if (!e) return ApplyResult::kUnknownEntity;
  if (input.seq <= e->last_input_seq) return ApplyResult::kStale;
  e->last_input_seq = input.seq;
  if (e->dead) return ApplyResult::kDead;
  e->move_x = input.move_x;
  e->move_y = input.move_y;
  if (e->target != input.target && input.target != e->id) {
    e->target = input.target;
    ++e->version;
  }
  e->fire_requested = input.fire;
  return ApplyResult::kApplied;
}

std::optional<DamageIntent> World::intent_to_fire(Entity& shooter, const EntityState* target, Tick tick) {
  const bool wanted = shooter.fire_requested;
  shooter.fire_requested = false;
  if (!wanted || shooter.dead || !target || tick < shooter.fire_ready_tick) return std::nullopt;
  if ((target->flags & kEntityFlagDead) || target->team == shooter.team) return std::nullopt;
  if (!within_mm(shooter.pos, target->pos, rules_.fire_range_mm)) return std::nullopt;
  shooter.fire_ready_tick = tick + rules_.fire_cooldown_ticks;
  return DamageIntent{shooter.id, target->id, rules_.fire_damage, tick};
}

void World::move(Entity& e) {
  if (e.dead) return;
  const Vec2 step = step_toward(e.move_x, e.move_y, rules_.speed_mm_per_tick);
  if (step == Vec2{}) return;
  const Vec2 next{clamp_i32(int64_t{e.pos.x_mm} + step.x_mm, 0, rules_.arena_mm - 1),
                  clamp_i32(int64_t{e.pos.y_mm} + step.y_mm, 0, rules_.arena_mm - 1)};
  if (next == e.pos) return;
  e.pos = next;
  ++e.version;
}

void World::respawn(Entity& e, Random& random) {
  e.dead = false;
  e.hp = rules_.hp_max;
  e.pos = spawn_point(rules_, e.team, random);
  e.target = EntityId{};
  e.move_x = e.move_y = 0;
  ++e.version;
}

bool World::apply_damage(Entity& target, int32_t amount) {
  AETHER_ASSERT(amount >= 0);
  if (target.dead) return false;
  target.hp -= amount;
  ++target.version;
  if (target.hp > 0) return false;
  target.hp = 0;
  target.dead = true;
  target.move_x = target.move_y = 0;
  return true;
}

Vec2 World::spawn_point(const Rules& rules, uint32_t team, Random& random) {
  const uint32_t teams = rules.teams == 0 ? 1 : rules.teams;
  const int64_t band = rules.arena_mm / teams;
  const int64_t x0 = band * (team % teams);
  const int64_t x = x0 + uniform_range(random, band / 8, band - band / 8 - 1);
  const int64_t y = uniform_range(random, rules.arena_mm / 8, rules.arena_mm - rules.arena_mm / 8 - 1);
  return Vec2{static_cast<int32_t>(x), static_cast<int32_t>(y)};
}

}  // namespace aether::gameplay
