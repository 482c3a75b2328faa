#pragma once
// The authoritative state a compute node owns, and the rules that change it. Pure: no runtime, no
// network; the compute node calls these in its tick phases. Entities live in an ordered map, so every
// pass visits them in id order on every compiler.

#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "engine/core/random.h"
#include "engine/gameplay/rules.h"
#include "engine/wire/messages.h"

namespace aether::gameplay {

struct Entity {
  EntityId id{};
  Vec2 pos{};
  int32_t move_x = 0;  // current movement direction, permille
  int32_t move_y = 0;
  int32_t hp = 0;
  uint32_t team = 0;
  EntityId target{};
  bool fire_requested = false;
  Tick fire_ready_tick = 0;
  bool dead = false;
  uint64_t version = 1;           // grows with every change visible outside the owner
  uint64_t generation = 0;        // ownership generation from the coordinator's grant
  SessionId session{};
  NodeId gateway{};
  uint32_t last_input_seq = 0;

  // The whole state (every audience), with the cooldown as ticks left after tick `now`.
  EntityState state(Tick now) const;
};

// An action on an entity, to be applied by that entity's owner in the consume-intents phase.
struct DamageIntent {
  EntityId source{};
  EntityId target{};
  int32_t amount = 0;
  Tick tick = 0;
};

// Deferred internal work, run in the local-simulation phase when due.
struct SimJob {
  enum class Kind : uint8_t { kNone, kRespawn };
  Kind kind = Kind::kNone;
  EntityId entity{};
  Tick due_tick = 0;
};

enum class ApplyResult : uint8_t { kApplied, kUnknownEntity, kStale, kDead };

class World {
 public:
  explicit World(const Rules& rules) : rules_(rules) {}

  const Rules& rules() const { return rules_; }
  const std::map<EntityId, Entity>& entities() const { return entities_; }
  std::map<EntityId, Entity>& mutable_entities() { return entities_; }
  Entity* find(EntityId id);
  const Entity* find(EntityId id) const;
  size_t size() const { return entities_.size(); }
  // The tick the world is at (the compute node sets it as each tick starts): cooldowns in states
  // are counted from it.
  void set_tick(Tick tick) { tick_ = tick; }
  Tick tick() const { return tick_; }
  EntityState state_of(const Entity& e) const { return e.state(tick_); }

  Entity& spawn(EntityId id, Vec2 pos, uint32_t team, uint64_t generation);
  // A recovered or migrated entity: its last known state (whole: movement, cooldown and the last
  // input applied included), under a new generation.
  Entity& restore(const EntityState& state, uint64_t generation);
  bool despawn(EntityId id);

  // Phase 1: an input for one of our entities. Inputs older than the last applied one are stale.
  ApplyResult apply_input(EntityId id, const ClientInput& input);
  // Phase 2: a shot from a living shooter at a living enemy in range, off cooldown. The target is the
  // state the caller resolved for shooter.target: an entity of ours, or a ghost of one owned
  // elsewhere (null if it knows neither). Clears the shooter's request either way.
  std::optional<DamageIntent> intent_to_fire(Entity& shooter, const EntityState* target, Tick tick);
  // Phase 3: movement, clamped to the arena.
  void move(Entity& e);
  // Phase 3: a due respawn puts the entity back at a random point of its team's half.
  void respawn(Entity& e, Random& random);
  // Phase 4: damage to one of our entities. Returns true if it died of it.
  bool apply_damage(Entity& target, int32_t amount);

  // Where a new member of `team` appears: a random point in its team's band of the arena.
  static Vec2 spawn_point(const Rules& rules, uint32_t team, Random& random);

 private:
  Rules rules_;
  Tick tick_ = 0;
  std::map<EntityId, Entity> entities_;
};

}  // namespace aether::gameplay
