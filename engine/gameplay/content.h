#pragma once
// The game's content: classes, skills and status effects, as data (content/*.textpb, loaded and
// checked by app/content_loader.h; docs/gameplay.md). The engine only interprets it: adding a skill
// or an effect of an existing kind is a data change.
//
// Content is immutable once loaded and shared by every component of a process. Every server of a
// cluster must run the same content: hash() is exchanged when servers join (Hello.content_hash) and
// a server with different content is refused.

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/geometry.h"
#include "engine/core/ids.h"
#include "engine/gameplay/rules.h"
#include "engine/wire/messages.h"

namespace aether::gameplay {

inline constexpr size_t kClassesMax = 64;
inline constexpr size_t kSkillsMax = 1024;
inline constexpr size_t kEffectsMax = 1024;
inline constexpr size_t kClassSkillsMax = 8;  // a class's skill bar (EntityState::cooldowns fits one per skill); input slot 9 is the challenge
static_assert(kClassSkillsMax < kChallengeSlot && kChallengeSlot == kInputSkillSlotMax);
inline constexpr int32_t kStatMax = 1'000'000;        // any amount, health or resource
inline constexpr int32_t kRangeMmMax = 1'000'000;     // 1 km
inline constexpr uint32_t kStacksMax = 16;
inline constexpr int32_t kModifierPermilleMax = 10'000;  // damage dealt or taken at most x10

enum class Resource : uint8_t { kNone = 0, kMana = 1, kEnergy = 2, kRage = 3 };
// Who a skill may be aimed at. kAlly includes the caster.
enum class Aim : uint8_t { kEnemy = 0, kAlly = 1, kSelf = 2 };

enum class EffectKind : uint8_t {
  kDamageOverTime = 0,  // magnitude damage per period, per stack
  kHealOverTime = 1,    // magnitude healing per period, per stack
  kShield = 2,          // absorbs magnitude damage, gone when spent
  kStun = 3,            // no movement, no skills; interrupts a cast when applied
  kRoot = 4,            // no movement
  kSlow = 5,            // movement at (1000 - magnitude) permille
  kSilence = 6,         // no skills that cost a resource; interrupts a cast when applied
  kDamageDealt = 7,     // damage dealt +magnitude permille per stack (negative: a debuff)
  kDamageTaken = 8,     // damage taken +magnitude permille per stack (negative: a buff)
  kImmunity = 9,        // effects of the kinds in immune_kinds are not applied (and are cleansed)
};
inline constexpr uint32_t kEffectKinds = 10;
const char* effect_kind_name(EffectKind k);

enum class Stacking : uint8_t {
  kRefresh = 0,          // one instance; applying again restarts its duration
  kStack = 1,            // one instance of up to stacks_max stacks; applying again adds one and refreshes
  kUniquePerSource = 2,  // one instance per source, each refreshed by its own source
};

struct EffectDef {
  uint16_t id = 0;
  std::string name;
  EffectKind kind = EffectKind::kDamageOverTime;
  uint32_t duration_ticks = 0;
  uint32_t period_ticks = 0;  // over-time kinds: ticks between applications
  int32_t magnitude = 0;
  Stacking stacking = Stacking::kRefresh;
  uint32_t stacks_max = 1;
  bool harmful = false;       // dispels remove harmful effects; harmful effects are refused on allies
  uint32_t immune_kinds = 0;  // kImmunity: bit (1 << kind) per kind it blocks
};

struct SkillDef {
  uint16_t id = 0;
  std::string name;
  Aim aim = Aim::kEnemy;
  int32_t range_mm = 0;        // caster to target; kSelf skills ignore it
  int32_t radius_mm = 0;       // 0: the target alone; else every valid target within it of the target
  uint32_t area_targets_max = 0;  // an area skill reaches at most this many, nearest first
  uint32_t cooldown_ticks = 0;
  uint32_t cast_ticks = 0;     // 0: instant; else moving, a stun or a silence interrupts it
  bool on_global_cooldown = true;
  int32_t cost = 0;            // of the caster's class resource
  int32_t damage = 0;
  int32_t heal = 0;
  uint16_t effect = 0;         // applied to each target, 0: none
  bool interrupt = false;      // stops the target's cast
  uint32_t dispel = 0;         // harmful effects removed from each target
};

struct ClassDef {
  uint16_t id = 0;
  std::string name;
  int32_t hp_max = 0;
  Resource resource = Resource::kNone;
  int32_t resource_max = 0;
  int32_t resource_start = 0;
  int32_t resource_per_second = 0;  // regeneration (negative: decay, as rage)
  int32_t resource_per_hit = 0;     // gained for each damage intent the class deals (rage)
  int32_t speed_mm_per_tick = 0;
  std::vector<uint16_t> skills;     // the skill bar, slot 1 first
  uint32_t immune_kinds = 0;        // effect kinds this class never takes
  int32_t hp_per_level = 0;               // hit points gained per level past the first
  int32_t damage_per_level_permille = 0;  // damage dealt gained per level past the first
};

inline constexpr uint16_t kLevelMax = 100;
inline constexpr int32_t kExperienceMax = 100'000'000;  // an entity's experience never passes it

// Experience and levels (docs/gameplay.md). A death awards kill_xp times the victim's level to its
// killer (the last to damage it) and assist_xp times its level to every other entity that damaged it
// within assist_window_ticks. Level L+1 needs level_xp[L-1] experience in total; the last entry's
// level is the highest. Each level past the first raises the class's stats (hp_per_level,
// damage_per_level_permille). Without levels (level_xp empty) nothing is awarded.
struct ExperienceDef {
  int32_t kill_xp = 0;
  int32_t assist_xp = 0;
  uint32_t assist_window_ticks = 0;
  std::vector<int32_t> level_xp;  // strictly increasing; at most kLevelMax - 1 entries

  uint16_t level_max() const { return static_cast<uint16_t>(level_xp.size() + 1); }
  // The level `xp` experience reaches (1 with none).
  uint16_t level_for(int32_t xp) const;
  // The most one death awards to one entity: what a remote Experience intent may carry.
  int32_t award_max() const { return std::max(kill_xp, assist_xp) * level_max(); }
};

// A class's stats at a level (content checks keep them within kStatMax and kModifierPermilleMax).
int32_t hp_max_at(const ClassDef& c, uint16_t level);
int32_t level_damage_permille(const ClassDef& c, uint16_t level);

// NPCs (docs/gameplay.md, "NPCs"). A monster kind is a class no player can choose (its stats, one
// skill on its bar, no resource, level 1) plus its AI's radii; a spawner keeps `count` of one kind
// around its home area, each back `respawn_ticks` after its death.
inline constexpr size_t kMonstersMax = 64;
inline constexpr size_t kSpawnersMax = 64;
inline constexpr uint32_t kSpawnerCountMax = 64;  // NPCs per spawner
inline constexpr size_t kNpcsMax = 1024;           // NPCs of all spawners together

struct MonsterDef {
  uint16_t id = 0;      // also its class id (stats.id): unique among classes and monsters
  std::string name;
  ClassDef stats;       // hp, speed, the skill bar (its one attack); resource none
  int32_t aggro_radius_mm = 0;  // an idle NPC attacks the nearest enemy this close
  int32_t leash_mm = 0;         // farther than this from home, it gives up, returns and heals to full
};

struct SpawnerDef {
  uint16_t id = 0;        // 1-based, in file order; what an NPC's state names
  std::string name;
  uint16_t monster = 0;
  Vec2 pos{};             // the centre of its area
  int32_t radius_mm = 0;  // NPCs' homes are spread over this disc
  uint32_t count = 0;
  uint32_t respawn_ticks = 0;  // a dead NPC is back at its home this long after its death
};

// What a kill drops (content/items.textpb, the drop table "kill"; docs/persistence.md §9c): one
// item of a kind drawn by weight, or nothing. Empty: kills drop nothing.
struct LootDrop {
  uint16_t item = 0;
  uint32_t weight = 0;
};
struct LootDef {
  uint32_t nothing_weight = 0;
  std::vector<LootDrop> drops;
  // The item a draw picks (0: nothing); `draw` is any 64-bit number, spread evenly.
  uint16_t pick(uint64_t draw) const;
  bool drops_item(uint16_t item) const;
};

// Turn-based encounters (docs/gameplay.md, "Encounters"): how a challenge opens one, how long a turn
// lasts and how many rounds it may take. Defaults when no content file sets `encounters`.
struct EncounterDef {
  uint32_t turn_ticks = 30;              // a turn not played within this passes
  uint32_t rounds_max = 10;              // at most kEncounterRoundsMax
  int32_t challenge_range_mm = 10'000;   // a challenge reaches an enemy this close
  int32_t leave_mm = 40'000;             // a participant farther than this from the encounter has left it
  friend bool operator==(const EncounterDef&, const EncounterDef&) = default;
};

// Zones and portals (docs/gameplay.md, "Zones and portals"). A zone is a rectangle of the one world
// plane; zones are disjoint and at least kZoneGapMm apart, more than any view radius, so no interest,
// ghost, feed, area or aggro reaches across two, and the region map (which cuts the plane, not the
// zones) needs no change: an entity in another zone is simply far away. Without zones the whole arena
// is one zone, exactly as before zones existed.
inline constexpr size_t kZonesMax = 64;
inline constexpr size_t kPortalsMax = 64;
inline constexpr int32_t kZoneGapMm = 100'000;      // between any two zones; a view radius must stay below it
inline constexpr int32_t kZoneSideMinMm = 20'000;
inline constexpr int32_t kPortalRadiusMaxMm = 20'000;
// Instances (docs/gameplay.md, "Instances"): a template zone is laid out `instance_slots` times in the
// plane, slot k shifted east by k times (its width + kZoneGapMm), so slots are zones to every rule of
// space (no view, area or aggro reaches across two). Its portals and spawners are written for slot 0
// and stand in every slot at the same shift.
inline constexpr uint32_t kPartySizeMax = 64;
inline constexpr uint32_t kInstanceEmptyTicksMin = 10;
inline constexpr uint32_t kInstanceEmptyTicksMax = 36'000;  // an hour

struct ZoneDef {
  uint16_t id = 0;
  std::string name;
  Vec2 min{};              // the lowest corner
  int32_t width_mm = 0;
  int32_t height_mm = 0;
  // An instance template when > 0 (the party rule and the teardown delay below apply to it only).
  uint32_t instance_slots = 0;
  // The party rule: the avatars whose ids fall in one block of party_size consecutive ids are one
  // party (the players who log in together); a party is never 0.
  uint32_t party_size = 0;
  uint32_t empty_ticks = 0;  // a slot empty of players this long is torn down
  bool is_template() const { return instance_slots > 0; }
  uint64_t party_of(EntityId avatar) const { return avatar.value / std::max<uint32_t>(party_size, 1) + 1; }
  // Slot k's shift from slot 0 (x only).
  Vec2 slot_shift(uint32_t slot) const { return Vec2{static_cast<int32_t>(int64_t{slot} * (int64_t{width_mm} + kZoneGapMm)), 0}; }
  // The slot holding `p` (0 for an ordinary zone that contains it), or -1.
  int32_t slot_of(Vec2 p) const {
    for (uint32_t k = 0; k < std::max<uint32_t>(instance_slots, 1); ++k) {
      if (contains(Vec2{static_cast<int32_t>(int64_t{p.x_mm} - slot_shift(k).x_mm), p.y_mm})) return static_cast<int32_t>(k);
    }
    return -1;
  }
  // The nearest point of slot `slot` (movement never leaves the slot it is in).
  Vec2 clamp(Vec2 p, uint32_t slot) const {
    const int32_t dx = slot_shift(slot).x_mm;
    const Vec2 q = clamp(Vec2{static_cast<int32_t>(int64_t{p.x_mm} - dx), p.y_mm});
    return Vec2{static_cast<int32_t>(int64_t{q.x_mm} + dx), q.y_mm};
  }
  // From the west edge of slot 0 to the east edge of the last slot: what other zones keep clear of.
  int64_t span_width_mm() const { return int64_t{slot_shift(std::max<uint32_t>(instance_slots, 1) - 1).x_mm} + width_mm; }
  bool contains(Vec2 p) const {
    return p.x_mm >= min.x_mm && p.y_mm >= min.y_mm && int64_t{p.x_mm} < int64_t{min.x_mm} + width_mm &&
           int64_t{p.y_mm} < int64_t{min.y_mm} + height_mm;
  }
  // The nearest point of the zone: movement never leaves it (portals are the only way out).
  Vec2 clamp(Vec2 p) const {
    return Vec2{clamp_i32(p.x_mm, min.x_mm, static_cast<int32_t>(int64_t{min.x_mm} + width_mm - 1)),
                clamp_i32(p.y_mm, min.y_mm, static_cast<int32_t>(int64_t{min.y_mm} + height_mm - 1))};
  }
};

struct PortalDef {
  uint16_t id = 0;       // 1-based, in file order
  std::string name;
  uint16_t zone = 0;     // the disc is inside this zone
  Vec2 pos{};
  int32_t radius_mm = 0;
  uint16_t to_zone = 0;
  Vec2 to{};             // inside to_zone, in no portal's disc (so a traveller never bounces back)
};

// Where a point is: its zone (a template for a point in any of its slots) and the slot (0 in an
// ordinary zone).
struct Place {
  const ZoneDef* zone = nullptr;
  uint32_t slot = 0;
  Vec2 clamp(Vec2 p) const { return zone->clamp(p, slot); }
};

struct Content {
  uint32_t global_cooldown_ticks = 0;
  EncounterDef encounters;
  ExperienceDef experience;
  std::vector<ClassDef> classes;   // sorted by id
  std::vector<SkillDef> skills;    // sorted by id
  std::vector<EffectDef> effects;  // sorted by id
  std::vector<MonsterDef> monsters;  // sorted by id
  std::vector<SpawnerDef> spawners;  // by id (1, 2, ...)
  LootDef loot;
  std::vector<ZoneDef> zones;      // sorted by id; empty: the arena is one zone
  std::vector<PortalDef> portals;  // by id (1, 2, ...)

  // The zone holding `p`, or null (none declared, or `p` between zones: never an entity's place).
  // A point in any slot of an instance template is in the template.
  const ZoneDef* zone_of(Vec2 p) const;
  // The zone and slot holding `p`, or nullopt.
  std::optional<Place> place_of(Vec2 p) const;
  // The instance template a spawner stands in, or null (an ordinary spawner, placed once).
  const ZoneDef* template_of(const SpawnerDef& sp) const;
  const ZoneDef* find_zone(uint16_t id) const;
  // Where players spawn and respawn: the zone of the lowest id (null without zones).
  const ZoneDef* home_zone() const { return zones.empty() ? nullptr : &zones.front(); }
  // The portal whose disc holds `p`, or null. Discs never overlap (content checks), so at most one.
  // A portal of an instance template stands in every slot (at the slot's shift).
  const PortalDef* portal_at(Vec2 p) const;

  // A class, or a monster kind's stats (entities carry either as their class).
  const ClassDef* find_class(uint16_t id) const;
  const MonsterDef* find_monster(uint16_t id) const;
  const SpawnerDef* find_spawner(uint16_t id) const;
  size_t npcs_max() const;  // NPCs of all spawners
  const SkillDef* find_skill(uint16_t id) const;
  const EffectDef* find_effect(uint16_t id) const;
  // The skill in `slot` (1-based) of a class's bar, or null.
  const SkillDef* skill_in_slot(const ClassDef& c, uint32_t slot) const;
  // A stable hash of every rule (not of the files' text): servers compare it when they join.
  uint64_t hash() const;
};

// One thing wrong with content, named so that the loader can point at the file, line and field.
struct ContentError {
  enum class Where : uint8_t { kTop, kClass, kSkill, kEffect, kExperience, kMonster, kSpawner, kEncounters, kZone, kPortal };
  Where where = Where::kTop;
  size_t index = 0;   // in the order of its list
  std::string field;  // the field at fault
  std::string message;
};
// Every rule content must keep for the engine to run it (ids unique and nonzero, references
// resolved, amounts and durations in range, bars within kClassSkillsMax). Empty: valid.
std::vector<ContentError> check(const Content& c);
// Sorts the lists by id (the order lookups and the hash rely on). check() then the loader call it.
void sort_by_id(Content& c);

// The content a component runs: rules.content, or the classic game from the rules.
std::shared_ptr<const Content> content_of(const Rules& rules);
// The class of the n-th entity spawned, until players choose theirs: classes in turn.
const ClassDef& class_for_spawn(const Content& content, uint64_t n);

// The game before content files: one class ("soldier") with one skill ("shot", slot 1), from the
// rules' hit points, damage, range and cooldown. What scenarios without a content directory play.
std::shared_ptr<const Content> classic_content(const Rules& rules);

}  // namespace aether::gameplay
