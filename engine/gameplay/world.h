#pragma once
// The authoritative state a compute node owns, and the gameplay systems that change it, one per
// tick phase (docs/gameplay.md):
//   phase 1  inputs     apply_input: movement, target, the skill asked for
//   phase 2  skills     act: casts that complete and skills used become intents (skills.cc)
//   phase 3  simulate   update: effects tick and expire, resources regenerate, movement (effects.cc)
//   phase 4  intents    apply_intent: damage, heals, effects, interrupts, dispels (intents.cc)
// Pure: no runtime, no network; the compute node drives the phases and routes intents (ours to our
// queue, the others to their owners). Entities live in an ordered map, so every pass visits them in
// id order on every compiler.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "engine/core/id_index.h"
#include "engine/core/random.h"
#include "engine/gameplay/content.h"
#include "engine/gameplay/encounter.h"
#include "engine/gameplay/npc.h"
#include "engine/gameplay/rules.h"
#include "engine/wire/messages.h"

namespace aether::gameplay {

// Durations inside the owner are absolute ticks; states carry ticks left (Entity::state).
struct Cooldown {
  uint16_t skill = 0;
  Tick ready = 0;
  friend bool operator==(const Cooldown&, const Cooldown&) = default;
};
struct Effect {
  uint16_t effect = 0;
  EntityId source{};
  Tick expires = 0;  // gone at this tick
  uint8_t stacks = 1;
  int32_t magnitude = 0;
  friend bool operator==(const Effect&, const Effect&) = default;
};
// One who damaged the entity: credited with its kill or an assist if it dies before `until`.
struct AttackerMark {
  EntityId entity{};
  Tick until = 0;
  friend bool operator==(const AttackerMark&, const AttackerMark&) = default;
};
struct Cast {
  uint16_t skill = 0;  // 0: none
  EntityId target{};
  Tick completes = 0;
};

// An NPC's component (npc.h): kept only by NPCs (spawner != 0).
struct NpcComponent {
  uint16_t spawner = 0;  // 0: not an NPC
  AiState ai = AiState::kIdle;
  Vec2 home{};
  Tick respawn_at = 0;   // dead: back at home at this tick
  ThreatTable threat;
  uint64_t party = 0;    // an instance's NPC: the party its slot was given to (0: an ordinary NPC)
};

struct Entity {
  EntityId id{};
  Vec2 pos{};
  int32_t move_x = 0;  // current movement direction, permille
  int32_t move_y = 0;
  int32_t hp = 0;
  uint32_t team = 0;
  EntityId target{};
  uint8_t skill_requested = 0;  // the bar slot the last input asked for, consumed in phase 2
  bool dead = false;
  uint64_t version = 1;           // grows with every change visible outside the owner
  uint64_t generation = 0;        // ownership generation from the coordinator's grant
  SessionId session{};
  NodeId gateway{};
  uint32_t last_input_seq = 0;
  // Game components.
  const ClassDef* cls = nullptr;  // never null once spawned
  uint16_t level = 1;
  int32_t resource = 0;
  Tick global_ready = 0;
  InlineVec<Cooldown, kCooldownsPerEntityMax> cooldowns;
  Cast cast;
  InlineVec<Effect, kEffectsPerEntityMax> effects;
  InlineVec<IntentMark, kIntentMarksMax> intent_marks;
  int32_t experience = 0;  // the level is content.experience.level_for(experience)
  InlineVec<AttackerMark, kAttackersMax> attackers;  // most recent last; kept only when content awards experience
  NpcComponent npc;
  InlineVec<LootItem, kInventoryItemsMax> inventory;  // loot held (avatars only), oldest first
  EncounterComponent encounter;  // kept only by encounters (encounter.h)
  CharacterId character{};       // the account character this avatar is (docs/persistence.md §9d)
  uint32_t save_life = 0;        // which of its avatars: its saves' row

  bool is_npc() const { return npc.spawner != 0; }
  bool is_encounter() const { return encounter.st.turn_ticks != 0; }

  int32_t hp_max() const { return hp_max_at(*cls, level); }
  // The whole state (every audience), durations as ticks left after tick `now`.
  EntityState state(Tick now) const;
};

// Why a skill was not used. Counted per reason (aether_skill_refusals_total); honest clients see
// some (a skill pressed while cooling down), cheats see all.
enum class Refusal : uint8_t {
  kNone = 0,
  kUnknownSkill,     // no such slot in the class bar
  kDead,             // the actor is dead
  kStunned,
  kSilenced,
  kCasting,          // already casting
  kGlobalCooldown,
  kCooldown,
  kResource,         // not enough mana, energy or rage
  kNoTarget,         // the target is unknown to this node, or dead
  kWrongTeam,        // an enemy skill at an ally, or the reverse
  kOutOfRange,
  kInterrupted,      // a cast stopped by movement, a stun or a silence
  kNotYourTurn,      // in an encounter, and not its turn (encounter.h)
  kInEncounter,      // a challenge by or at one already in an encounter (or one asked for)
};
inline constexpr size_t kRefusalKinds = 15;
const char* refusal_name(Refusal r);

// Where intents come from: the origin's identity, and a sequence within each tick.
class IntentKeys {
 public:
  void set_origin(NodeId origin, uint64_t incarnation) {
    origin_ = origin;
    incarnation_ = incarnation;
  }
  IntentKey next(Tick tick) {
    if (tick != tick_) {
      tick_ = tick;
      seq_ = 0;
    }
    return IntentKey{origin_, incarnation_, tick_, seq_++};
  }

 private:
  NodeId origin_{};
  uint64_t incarnation_ = 0;
  Tick tick_ = 0;
  uint32_t seq_ = 0;
};

// Entities an area skill looks at around its target point, nearest first, before it filters them by
// team and life; past it, farther ones are not considered.
inline constexpr size_t kAreaCandidatesMax = 256;

// What phase 2 may read of entities: ours, or the ghosts of the others. The compute node
// implements it over its world and its ghosts.
class Surroundings {
 public:
  virtual ~Surroundings() = default;
  virtual const EntityState* find(EntityId id) = 0;
  // Every entity within radius of `at`, nearest first (ties by id), at most `max`; `out` cleared.
  virtual void around(Vec2 at, int32_t radius_mm, size_t max, std::vector<const EntityState*>& out) = 0;
};

// Deferred internal work, run in the local-simulation phase when due.
struct SimJob {
  enum class Kind : uint8_t { kNone, kRespawn };
  Kind kind = Kind::kNone;
  EntityId entity{};
  Tick due_tick = 0;
};

// The outcome of one intent on its target.
enum class Applied : uint8_t {
  kApplied,
  kDuplicate,   // its key is at or below the mark of its origin: applied before
  kDead,        // the target is dead: nothing happens to the dead
  kImmune,      // an effect the target is immune to
  kFull,        // no room for one more effect
  kNoEffect,    // an interrupt with no cast, a dispel with nothing to remove; loot for an NPC
};

struct ApplyOutcome {
  Applied result = Applied::kApplied;
  bool died = false;
  bool leveled = false;  // experience took the target to a higher level
  int32_t amount = 0;  // damage or healing actually done
  TurnVerdict verdict = TurnVerdict::kNotRunning;  // an EncounterTurn: what the encounter made of it
  TurnEnded turn{};                                 // ... and the turn it ended, if accepted
};

// Whether `action` is one `skill` makes: the owner of a target checks remote intents with it.
// Damage at most the skill's with the largest bonus content allows; healing at most the skill's.
bool action_fits(const SkillDef& skill, const IntentAction& action);
// Whether `action` is experience one death may award under `content` (at most its largest award).
bool experience_fits(const Content& content, const IntentAction& action);
// Whether `action` is loot `content`'s drop table can give.
bool loot_fits(const Content& content, const IntentAction& action);

enum class ApplyResult : uint8_t { kApplied, kUnknownEntity, kStale, kDead };

class World {
 public:
  explicit World(const Rules& rules);
  // Not copyable: index_ points into entities_.
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  const Rules& rules() const { return rules_; }
  const Content& content() const { return *content_; }
  const std::map<EntityId, Entity>& entities() const { return entities_; }
  // Every entity, in id order, to change in place: a view (begin and end only), so that only spawn
  // and despawn add or remove (they keep index_). A hand-made view, not std::ranges::ref_view:
  // Clang 14 cannot instantiate libstdc++ 12's view_interface.
  class EntitiesView {
   public:
    explicit EntitiesView(std::map<EntityId, Entity>& m) : m_(&m) {}
    std::map<EntityId, Entity>::iterator begin() const { return m_->begin(); }
    std::map<EntityId, Entity>::iterator end() const { return m_->end(); }

   private:
    std::map<EntityId, Entity>* m_;
  };
  EntitiesView mutable_entities() { return EntitiesView(entities_); }
  Entity* find(EntityId id);
  const Entity* find(EntityId id) const;
  size_t size() const { return entities_.size(); }
  // The tick the world is at (the compute node sets it as each tick starts): durations in states
  // are counted from it.
  void set_tick(Tick tick) { tick_ = tick; }
  Tick tick() const { return tick_; }
  EntityState state_of(const Entity& e) const { return e.state(tick_); }
  IntentKeys& intent_keys() { return keys_; }

  // A new entity of class `class_id` (0 or unknown: the first class), full health and resource.
  Entity& spawn(EntityId id, Vec2 pos, uint32_t team, uint64_t generation, uint16_t class_id = 0);
  // A recovered or migrated entity: its last known state (whole: movement, cooldowns, effects and
  // the last input applied included), under a new generation.
  Entity& restore(const EntityState& state, uint64_t generation);
  // A character's avatar just spawned takes on its save (docs/persistence.md §9d): experience (the
  // level follows from it), full health at that level, and the items, kept whatever their kind.
  void load_save(Entity& e, const CharacterSave& save);
  bool despawn(EntityId id);
  // A new NPC of `spawner` at its home, full health, idle (null: no such spawner in our content).
  Entity* spawn_npc(EntityId id, uint16_t spawner, Vec2 home, uint64_t generation, uint64_t party = 0);

  // Encounters (encounter.cc). A new encounter from the leader's first state (round 0: phase 3
  // starts it); restore() calls restore_encounter for an encounter's state.
  Entity& open_encounter(const EntityState& first, uint64_t generation);
  // Whether `actor` may challenge `target` (the input's target): alive, a player, an enemy avatar
  // within the content's challenge range. Who is already in an encounter is the caller's to check.
  Refusal check_challenge(const Entity& actor, const EntityState* target) const;

  // Phase 2, before act: an NPC's AI (npc.cc) chooses its movement, its target and whether to attack,
  // as a client's input would for an avatar: aggro, chase the top of the threat table, leash home.
  void think(Entity& npc, Surroundings& around);
  // How long after its death `e` respawns: its spawner's delay for an NPC, the rules' for others.
  Tick respawn_delay(const Entity& e) const;

  // Phase 1: an input for one of our entities. Inputs older than the last applied one are stale.
  ApplyResult apply_input(EntityId id, const ClientInput& input);
  // Phase 2: a cast that completes, or the skill the last input asked for, becomes intents (for
  // targets ours or not: the caller routes them). Returns why nothing was done, if something was
  // asked for and refused.
  Refusal act(Entity& actor, Surroundings& around, std::vector<RemoteIntent>& out);
  // Phase 3: effects tick (periodic damage and healing, expiry), the resource regenerates, then
  // movement. Returns true if the entity died of its effects.
  bool update(Entity& e);
  // Phase 3, after update: a living player standing in a portal's disc is moved to its destination,
  // in this tick, as an ordinary move of its owner (zones: content.h). Returns the portal taken.
  const PortalDef* take_portal(Entity& e);
  // The portal a living player stands in, or null (what take_portal would take, or a portal into an
  // instance template, which take_portal leaves to the leader's answer).
  const PortalDef* portal_under(const Entity& e) const;
  // Through `portal`, whose destination is an instance template, into slot `slot` of it (the one the
  // leader gave the entity's party): an ordinary move by the owner, as take_portal's.
  void enter_slot(Entity& e, const PortalDef& portal, uint32_t slot);
  // Phase 3: a due respawn puts the entity back, whole, at `at` (a spawn_point of its team).
  void respawn(Entity& e, Vec2 at);
  // Phase 4: an intent on one of our entities (checked by the caller if it came from elsewhere).
  ApplyOutcome apply_intent(Entity& target, const RemoteIntent& intent);

  // On a death (after apply_intent or update reported it): the experience its killer (its last
  // attacker) and its assistants (the other attackers still within their window) earn, as intents
  // from the dead entity to them, for the caller to route. Forgets the attackers.
  void award_experience(Entity& victim, std::vector<RemoteIntent>& out);
  // On a death: what the drop table gives its killer, as a Loot intent from the dead entity for
  // the caller to route (the killer's owner makes the item: apply_intent). Nothing if the content
  // has no drop table, the killer is unknown or itself, or the draw is nothing. The draw is a hash
  // of the victim and the tick: no random stream is used, so runs without loot are as before.
  std::optional<RemoteIntent> loot_for(const Entity& victim, EntityId killer);

  // Where a new member of `team` appears: a random point in its team's band of the arena, or, with
  // zones, of the home zone (the zone of the lowest id).
  static Vec2 spawn_point(const Rules& rules, uint32_t team, Random& random);

 private:
  bool has_effect(const Entity& e, EffectKind k) const;
  int32_t modifier_permille(const Entity& e, EffectKind k) const;
  Refusal start_or_use(Entity& actor, const SkillDef& skill, Surroundings& around, std::vector<RemoteIntent>& out);
  Refusal check_target(const Entity& actor, const SkillDef& skill, const EntityState* target) const;
  void fire(Entity& actor, const SkillDef& skill, const EntityState& target, Surroundings& around, std::vector<RemoteIntent>& out);
  bool mark_applied(Entity& target, const IntentKey& key);
  bool take_damage(Entity& target, int32_t amount, EntityId source);
  void note_attacker(Entity& target, EntityId source);
  bool gain_experience(Entity& target, int32_t amount);
  Applied take_loot(Entity& target, const RemoteIntent& intent, uint16_t item);  // loot.cc
  Applied add_effect(Entity& target, const EffectDef& def, EntityId source);
  void stop_cast(Entity& e);
  void die(Entity& e);
  void npc_respawn(Entity& e);
  void restore_encounter(Entity& e, const EntityState& state);
  void npc_return(Entity& e);
  void move_toward(Entity& e, Vec2 to);

  Rules rules_;
  std::shared_ptr<const Content> content_;
  Tick tick_ = 0;
  IntentKeys keys_;
  std::map<EntityId, Entity> entities_;        // ordered: every walk of the world is in id order
  IdPointerIndex<Entity> index_;               // id -> its node in entities_ (stable); finds only, never iterated
  std::vector<const EntityState*> area_scratch_;
  std::vector<const EntityState*> aggro_scratch_;
};

}  // namespace aether::gameplay
