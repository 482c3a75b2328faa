#include "engine/gameplay/content.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "engine/core/hash.h"

namespace aether::gameplay {

const char* effect_kind_name(EffectKind k) {
  switch (k) {
    case EffectKind::kDamageOverTime: return "damage_over_time";
    case EffectKind::kHealOverTime: return "heal_over_time";
    case EffectKind::kShield: return "shield";
    case EffectKind::kStun: return "stun";
    case EffectKind::kRoot: return "root";
    case EffectKind::kSlow: return "slow";
    case EffectKind::kSilence: return "silence";
    case EffectKind::kDamageDealt: return "damage_dealt";
    case EffectKind::kDamageTaken: return "damage_taken";
    case EffectKind::kImmunity: return "immunity";
  }
  return "unknown";
}

namespace {
template <class T>
const T* find_by_id(const std::vector<T>& list, uint16_t id) {
  auto it = std::lower_bound(list.begin(), list.end(), id, [](const T& t, uint16_t v) { return t.id < v; });
  return it != list.end() && it->id == id ? &*it : nullptr;
}
}  // namespace

const ClassDef* Content::find_class(uint16_t id) const {
  if (const ClassDef* c = find_by_id(classes, id)) return c;
  const MonsterDef* m = find_monster(id);
  return m ? &m->stats : nullptr;
}
const MonsterDef* Content::find_monster(uint16_t id) const { return find_by_id(monsters, id); }
const SpawnerDef* Content::find_spawner(uint16_t id) const { return id >= 1 && id <= spawners.size() ? &spawners[id - 1] : nullptr; }
size_t Content::npcs_max() const {
  size_t n = 0;
  for (const SpawnerDef& s : spawners) n += s.count;
  return n;
}
const ZoneDef* Content::find_zone(uint16_t id) const { return find_by_id(zones, id); }
const ZoneDef* Content::zone_of(Vec2 p) const {
  for (const ZoneDef& z : zones) {
    if (z.is_template() ? z.slot_of(p) >= 0 : z.contains(p)) return &z;
  }
  return nullptr;
}
std::optional<Place> Content::place_of(Vec2 p) const {
  for (const ZoneDef& z : zones) {
    const int32_t slot = z.slot_of(p);
    if (slot >= 0) return Place{&z, static_cast<uint32_t>(slot)};
  }
  return std::nullopt;
}
const ZoneDef* Content::template_of(const SpawnerDef& sp) const {
  const ZoneDef* z = zone_of(sp.pos);
  return z && z->is_template() ? z : nullptr;
}
const PortalDef* Content::portal_at(Vec2 p) const {
  for (const PortalDef& x : portals) {
    Vec2 at = x.pos;
    if (const ZoneDef* z = find_zone(x.zone); z && z->is_template()) {
      const int32_t slot = z->slot_of(p);
      if (slot < 0) continue;
      at.x_mm += z->slot_shift(static_cast<uint32_t>(slot)).x_mm;
    }
    if (within_mm(p, at, x.radius_mm)) return &x;
  }
  return nullptr;
}
const SkillDef* Content::find_skill(uint16_t id) const { return find_by_id(skills, id); }
const EffectDef* Content::find_effect(uint16_t id) const { return find_by_id(effects, id); }

uint16_t ExperienceDef::level_for(int32_t xp) const {
  const auto reached = std::upper_bound(level_xp.begin(), level_xp.end(), xp) - level_xp.begin();
  return static_cast<uint16_t>(1 + reached);
}

int32_t hp_max_at(const ClassDef& c, uint16_t level) {
  const int64_t hp = int64_t{c.hp_max} + int64_t{c.hp_per_level} * (std::max<uint16_t>(level, 1) - 1);
  return static_cast<int32_t>(std::clamp<int64_t>(hp, 1, kStatMax));
}

int32_t level_damage_permille(const ClassDef& c, uint16_t level) {
  const int64_t bonus = int64_t{c.damage_per_level_permille} * (std::max<uint16_t>(level, 1) - 1);
  return static_cast<int32_t>(std::min<int64_t>(bonus, kModifierPermilleMax));
}

const SkillDef* Content::skill_in_slot(const ClassDef& c, uint32_t slot) const {
  if (slot == 0 || slot > c.skills.size()) return nullptr;
  return find_skill(c.skills[slot - 1]);
}

uint16_t LootDef::pick(uint64_t draw) const {
  uint64_t total = nothing_weight;
  for (const LootDrop& d : drops) total += d.weight;
  if (drops.empty() || total == 0) return 0;
  uint64_t at = draw % total;
  for (const LootDrop& d : drops) {
    if (at < d.weight) return d.item;
    at -= d.weight;
  }
  return 0;  // the nothing share
}

bool LootDef::drops_item(uint16_t item) const {
  return item != 0 && std::any_of(drops.begin(), drops.end(), [&](const LootDrop& d) { return d.item == item && d.weight > 0; });
}

uint64_t Content::hash() const {
  Hasher64 h;
  h.add_u64(global_cooldown_ticks);
  h.add_u64(classes.size());
  for (const ClassDef& c : classes) {
    h.add_u64(c.id);
    h.add_string(c.name);
    h.add_i64(c.hp_max);
    h.add_u64(static_cast<uint64_t>(c.resource));
    h.add_i64(c.resource_max);
    h.add_i64(c.resource_start);
    h.add_i64(c.resource_per_second);
    h.add_i64(c.resource_per_hit);
    h.add_i64(c.speed_mm_per_tick);
    h.add_u64(c.skills.size());
    for (uint16_t s : c.skills) h.add_u64(s);
    h.add_u64(c.immune_kinds);
    h.add_i64(c.hp_per_level);
    h.add_i64(c.damage_per_level_permille);
  }
  h.add_i64(experience.kill_xp);
  h.add_i64(experience.assist_xp);
  h.add_u64(experience.assist_window_ticks);
  h.add_u64(experience.level_xp.size());
  for (int32_t xp : experience.level_xp) h.add_i64(xp);
  h.add_u64(skills.size());
  for (const SkillDef& s : skills) {
    h.add_u64(s.id);
    h.add_string(s.name);
    h.add_u64(static_cast<uint64_t>(s.aim));
    h.add_i64(s.range_mm);
    h.add_i64(s.radius_mm);
    h.add_u64(s.area_targets_max);
    h.add_u64(s.cooldown_ticks);
    h.add_u64(s.cast_ticks);
    h.add_u64(s.on_global_cooldown ? 1 : 0);
    h.add_i64(s.cost);
    h.add_i64(s.damage);
    h.add_i64(s.heal);
    h.add_u64(s.effect);
    h.add_u64(s.interrupt ? 1 : 0);
    h.add_u64(s.dispel);
  }
  h.add_u64(effects.size());
  for (const EffectDef& e : effects) {
    h.add_u64(e.id);
    h.add_string(e.name);
    h.add_u64(static_cast<uint64_t>(e.kind));
    h.add_u64(e.duration_ticks);
    h.add_u64(e.period_ticks);
    h.add_i64(e.magnitude);
    h.add_u64(static_cast<uint64_t>(e.stacking));
    h.add_u64(e.stacks_max);
    h.add_u64(e.harmful ? 1 : 0);
    h.add_u64(e.immune_kinds);
  }
  // Encounters only when content sets them: content without them hashes as it did before them.
  if (!(encounters == EncounterDef{})) {
    h.add_u64(encounters.turn_ticks);
    h.add_u64(encounters.rounds_max);
    h.add_i64(encounters.challenge_range_mm);
    h.add_i64(encounters.leave_mm);
  }
  // NPCs only when there are some: content without them hashes as it did before them.
  if (!monsters.empty() || !spawners.empty()) {
    h.add_u64(monsters.size());
    for (const MonsterDef& m : monsters) {
      h.add_u64(m.id);
      h.add_string(m.name);
      h.add_i64(m.stats.hp_max);
      h.add_i64(m.stats.speed_mm_per_tick);
      h.add_u64(m.stats.skills.size());
      for (uint16_t sk : m.stats.skills) h.add_u64(sk);
      h.add_u64(m.stats.immune_kinds);
      h.add_i64(m.aggro_radius_mm);
      h.add_i64(m.leash_mm);
    }
    h.add_u64(spawners.size());
    for (const SpawnerDef& sp : spawners) {
      h.add_u64(sp.id);
      h.add_string(sp.name);
      h.add_u64(sp.monster);
      h.add_i64(sp.pos.x_mm);
      h.add_i64(sp.pos.y_mm);
      h.add_i64(sp.radius_mm);
      h.add_u64(sp.count);
      h.add_u64(sp.respawn_ticks);
    }
  }
  if (!zones.empty() || !portals.empty()) {  // content without zones hashes as before them
    h.add_u64(zones.size());
    for (const ZoneDef& z : zones) {
      h.add_u64(z.id);
      h.add_string(z.name);
      h.add_i64(z.min.x_mm);
      h.add_i64(z.min.y_mm);
      h.add_i64(z.width_mm);
      h.add_i64(z.height_mm);
    }
    h.add_u64(portals.size());
    for (const PortalDef& x : portals) {
      h.add_u64(x.id);
      h.add_string(x.name);
      h.add_u64(x.zone);
      h.add_i64(x.pos.x_mm);
      h.add_i64(x.pos.y_mm);
      h.add_i64(x.radius_mm);
      h.add_u64(x.to_zone);
      h.add_i64(x.to.x_mm);
      h.add_i64(x.to.y_mm);
    }
    // Instance templates (content without them hashes as before them).
    for (const ZoneDef& z : zones) {
      if (!z.is_template()) continue;
      h.add_u64(z.id);
      h.add_u64(z.instance_slots);
      h.add_u64(z.party_size);
      h.add_u64(z.empty_ticks);
    }
  }
  if (!loot.drops.empty()) {  // content without loot hashes as before it
    h.add_u64(loot.nothing_weight);
    h.add_u64(loot.drops.size());
    for (const LootDrop& d : loot.drops) {
      h.add_u64(d.item);
      h.add_u64(d.weight);
    }
  }
  return h.digest();
}

void sort_by_id(Content& c) {
  auto by_id = [](const auto& a, const auto& b) { return a.id < b.id; };
  std::stable_sort(c.classes.begin(), c.classes.end(), by_id);
  std::stable_sort(c.skills.begin(), c.skills.end(), by_id);
  std::stable_sort(c.effects.begin(), c.effects.end(), by_id);
  std::stable_sort(c.monsters.begin(), c.monsters.end(), by_id);
  std::stable_sort(c.zones.begin(), c.zones.end(), by_id);
}

namespace {

class Checker {
 public:
  explicit Checker(std::vector<ContentError>& out) : out_(out) {}
  void at(ContentError::Where where, size_t index) {
    where_ = where;
    index_ = index;
  }
  void fail(const char* field, std::string message) { out_.push_back({where_, index_, field, std::move(message)}); }
  void range(const char* field, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) fail(field, fmt::format("{} is out of range [{}, {}]", v, lo, hi));
  }
  template <class T>
  void unique_ids(const std::vector<T>& list, ContentError::Where where, const char* what) {
    std::set<uint16_t> seen;
    for (size_t i = 0; i < list.size(); ++i) {
      at(where, i);
      if (list[i].id == 0) fail("id", fmt::format("{} id 0 is reserved (none)", what));
      if (!seen.insert(list[i].id).second) fail("id", fmt::format("{} id {} is used twice", what, list[i].id));
      if (list[i].name.empty()) fail("name", fmt::format("{} {} has no name", what, list[i].id));
    }
  }

 private:
  std::vector<ContentError>& out_;
  ContentError::Where where_ = ContentError::Where::kTop;
  size_t index_ = 0;
};

}  // namespace

// Zones: disjoint rectangles at least kZoneGapMm apart; portals lead from inside one zone to a resting
// point inside another; with zones, every spawner's disc lies inside one zone.
static void check_zones(const Content& c, Checker& k) {
  using W = ContentError::Where;
  if (c.zones.empty()) {
    if (!c.portals.empty()) k.fail("portals", "portals need zones");
    return;
  }
  if (c.zones.size() > kZonesMax) k.fail("zones", fmt::format("more than {} zones", kZonesMax));
  if (c.portals.size() > kPortalsMax) k.fail("portals", fmt::format("more than {} portals", kPortalsMax));
  k.unique_ids(c.zones, W::kZone, "zone");
  for (size_t i = 0; i < c.zones.size(); ++i) {
    const ZoneDef& z = c.zones[i];
    k.at(W::kZone, i);
    k.range("x_m", z.min.x_mm, 0, kRangeMmMax);
    k.range("y_m", z.min.y_mm, 0, kRangeMmMax);
    k.range("width_m", z.width_mm, kZoneSideMinMm, kRangeMmMax);
    k.range("height_m", z.height_mm, kZoneSideMinMm, kRangeMmMax);
    if (z.is_template()) {
      k.range("instance_slots", z.instance_slots, 1, kInstanceSlotsMax);
      k.range("party_size", z.party_size, 1, kPartySizeMax);
      k.range("empty_ticks", z.empty_ticks, kInstanceEmptyTicksMin, kInstanceEmptyTicksMax);
      if (i == 0) k.fail("instance_slots", fmt::format("zone {} is where players spawn: it cannot be an instance template", z.name));
    } else if (z.party_size != 0 || z.empty_ticks != 0) {
      k.fail("party_size", fmt::format("zone {} is no instance template (instance_slots 0): party_size and empty_ticks are a template's", z.name));
    }
    for (size_t j = 0; j < i; ++j) {
      const ZoneDef& o = c.zones[j];
      // The gap between two rectangles along each axis (negative: they overlap along it); a
      // template's rectangle spans all its slots.
      const int64_t gap_x = std::max(int64_t{o.min.x_mm} - (int64_t{z.min.x_mm} + z.span_width_mm()), int64_t{z.min.x_mm} - (int64_t{o.min.x_mm} + o.span_width_mm()));
      const int64_t gap_y = std::max(int64_t{o.min.y_mm} - (int64_t{z.min.y_mm} + z.height_mm), int64_t{z.min.y_mm} - (int64_t{o.min.y_mm} + o.height_mm));
      if (std::max(gap_x, gap_y) < kZoneGapMm) {
        k.fail("x_m", fmt::format("zone {} is within {} m of zone {}: zones are at least {} m apart, farther than any view radius", z.name,
                                  kZoneGapMm / 1000, o.name, kZoneGapMm / 1000));
      }
    }
  }
  auto zone = [&](uint16_t id) -> const ZoneDef* {
    for (const ZoneDef& z : c.zones) {
      if (z.id == id) return &z;
    }
    return nullptr;
  };
  for (size_t i = 0; i < c.portals.size(); ++i) {
    const PortalDef& p = c.portals[i];
    k.at(W::kPortal, i);
    if (p.id != i + 1) k.fail("name", "portals are numbered 1, 2, ... in file order");
    if (p.name.empty()) k.fail("name", fmt::format("portal {} has no name", p.id));
    k.range("radius_m", p.radius_mm, 1'000, kPortalRadiusMaxMm);
    const ZoneDef* from = zone(p.zone);
    const ZoneDef* to = zone(p.to_zone);
    if (!from) k.fail("zone", fmt::format("portal {} stands in zone {}, which is not defined", p.name, p.zone));
    if (!to) k.fail("to_zone", fmt::format("portal {} leads to zone {}, which is not defined", p.name, p.to_zone));
    if (from && to && from == to) k.fail("to_zone", fmt::format("portal {} leads back into its own zone", p.name));
    if (from && to && from->is_template() && to->is_template()) {
      k.fail("to_zone", fmt::format("portal {} leads from one instance template to another: a party's slot is asked for from outside", p.name));
    }
    if (from && !(from->contains(Vec2{p.pos.x_mm - p.radius_mm, p.pos.y_mm - p.radius_mm}) &&
                  from->contains(Vec2{p.pos.x_mm + p.radius_mm, p.pos.y_mm + p.radius_mm}))) {
      k.fail("x_m", fmt::format("portal {}'s disc is not inside zone {}", p.name, from->name));
    }
    if (to && !to->contains(p.to)) k.fail("to_x_m", fmt::format("portal {} leads outside zone {}", p.name, to->name));
    for (size_t j = 0; j < c.portals.size(); ++j) {
      const PortalDef& o = c.portals[j];
      if (within_mm(p.to, o.pos, o.radius_mm)) k.fail("to_x_m", fmt::format("portal {} leads into portal {}'s disc", p.name, o.name));
      if (j < i && within_mm(p.pos, o.pos, int64_t{p.radius_mm} + o.radius_mm)) k.fail("x_m", fmt::format("portal {} overlaps portal {}", p.name, o.name));
    }
  }
  for (size_t i = 0; i < c.spawners.size(); ++i) {
    const SpawnerDef& sp = c.spawners[i];
    k.at(W::kSpawner, i);
    const bool inside = std::any_of(c.zones.begin(), c.zones.end(), [&](const ZoneDef& z) {
      return z.contains(Vec2{sp.pos.x_mm - sp.radius_mm, sp.pos.y_mm - sp.radius_mm}) && z.contains(Vec2{sp.pos.x_mm + sp.radius_mm, sp.pos.y_mm + sp.radius_mm});
    });
    if (!inside) k.fail("x_m", fmt::format("spawner {}'s disc is not inside one zone", sp.name));
  }
  // An instance's allocation is its NPCs' records in the leader's table (a slot with none is free),
  // so a template holds at least one spawner.
  for (size_t i = 0; i < c.zones.size(); ++i) {
    const ZoneDef& z = c.zones[i];
    if (!z.is_template()) continue;
    k.at(W::kZone, i);
    const bool has_npcs = std::any_of(c.spawners.begin(), c.spawners.end(), [&](const SpawnerDef& sp) { return sp.count > 0 && z.contains(sp.pos); });
    if (!has_npcs) k.fail("instance_slots", fmt::format("instance template {} holds no spawner: a party's slot is its NPCs' records", z.name));
  }
}

std::vector<ContentError> check(const Content& c) {
  std::vector<ContentError> errors;
  Checker k(errors);
  using W = ContentError::Where;
  k.range("global_cooldown_ticks", c.global_cooldown_ticks, 0, 100);
  if (c.classes.empty()) k.fail("classes", "content defines no class");
  if (c.classes.size() > kClassesMax) k.fail("classes", fmt::format("more than {} classes", kClassesMax));
  if (c.skills.size() > kSkillsMax) k.fail("skills", fmt::format("more than {} skills", kSkillsMax));
  if (c.effects.size() > kEffectsMax) k.fail("effects", fmt::format("more than {} effects", kEffectsMax));
  k.unique_ids(c.classes, W::kClass, "class");
  k.unique_ids(c.skills, W::kSkill, "skill");
  k.unique_ids(c.effects, W::kEffect, "effect");
  auto has_skill = [&](uint16_t id) { return std::any_of(c.skills.begin(), c.skills.end(), [&](const SkillDef& s) { return s.id == id; }); };
  auto effect_of = [&](uint16_t id) -> const EffectDef* {
    for (const EffectDef& e : c.effects) {
      if (e.id == id) return &e;
    }
    return nullptr;
  };
  const uint32_t all_kinds = (1u << kEffectKinds) - 1;
  for (size_t i = 0; i < c.classes.size(); ++i) {
    const ClassDef& cl = c.classes[i];
    k.at(W::kClass, i);
    k.range("hp_max", cl.hp_max, 1, kStatMax);
    k.range("resource_max", cl.resource_max, 0, kStatMax);
    k.range("resource_start", cl.resource_start, 0, cl.resource_max);
    k.range("resource_per_second", cl.resource_per_second, -kStatMax, kStatMax);
    k.range("resource_per_hit", cl.resource_per_hit, 0, kStatMax);
    k.range("speed_mm_per_tick", cl.speed_mm_per_tick, 1, 10'000);
    if (cl.resource == Resource::kNone && cl.resource_max != 0) k.fail("resource_max", "a class without a resource has resource_max 0");
    if (cl.resource != Resource::kNone && cl.resource_max == 0) k.fail("resource_max", "a class with a resource needs resource_max > 0");
    if (cl.skills.empty()) k.fail("skills", fmt::format("class {} has no skill", cl.name));
    if (cl.skills.size() > kClassSkillsMax) k.fail("skills", fmt::format("class {} has more than {} skills", cl.name, kClassSkillsMax));
    std::set<uint16_t> bar;
    for (uint16_t s : cl.skills) {
      if (!has_skill(s)) k.fail("skills", fmt::format("class {} names skill {}, which is not defined", cl.name, s));
      if (!bar.insert(s).second) k.fail("skills", fmt::format("class {} has skill {} twice", cl.name, s));
    }
    if ((cl.immune_kinds & ~all_kinds) != 0) k.fail("immune", "unknown effect kind");
    k.range("hp_per_level", cl.hp_per_level, 0, kStatMax);
    k.range("damage_per_level_permille", cl.damage_per_level_permille, 0, kModifierPermilleMax);
    if (int64_t{cl.hp_max} + int64_t{cl.hp_per_level} * (c.experience.level_max() - 1) > kStatMax) {
      k.fail("hp_per_level", fmt::format("class {} passes {} hit points at level {}", cl.name, kStatMax, c.experience.level_max()));
    }
  }
  const ExperienceDef& xp = c.experience;
  k.at(W::kExperience, 0);
  k.range("kill_xp", xp.kill_xp, 0, kExperienceMax / kLevelMax);
  k.range("assist_xp", xp.assist_xp, 0, kExperienceMax / kLevelMax);
  k.range("assist_window_ticks", xp.assist_window_ticks, 0, kDurationTicksMax);
  if (xp.level_xp.size() > kLevelMax - 1) k.fail("level_xp", fmt::format("more than {} levels", kLevelMax));
  for (size_t i = 0; i < xp.level_xp.size(); ++i) {
    const int32_t prev = i == 0 ? 0 : xp.level_xp[i - 1];
    if (xp.level_xp[i] <= prev || xp.level_xp[i] > kExperienceMax) {
      k.fail("level_xp", fmt::format("level {} needs {} experience: levels need more than the one before, at most {}", i + 2, xp.level_xp[i], kExperienceMax));
      break;
    }
  }
  if (!xp.level_xp.empty() && xp.kill_xp == 0) k.fail("kill_xp", "levels without experience for kills: no one would reach them");
  if (xp.assist_xp > xp.kill_xp) k.fail("assist_xp", "an assist is worth more than a kill");
  k.at(W::kEncounters, 0);
  k.range("turn_ticks", c.encounters.turn_ticks, 1, kDurationTicksMax);
  k.range("rounds_max", c.encounters.rounds_max, 1, kEncounterRoundsMax);
  k.range("challenge_range_m", c.encounters.challenge_range_mm, 1'000, kRangeMmMax);
  k.range("leave_m", c.encounters.leave_mm, c.encounters.challenge_range_mm, kRangeMmMax);
  for (size_t i = 0; i < c.skills.size(); ++i) {
    const SkillDef& s = c.skills[i];
    k.at(W::kSkill, i);
    k.range("range_m", s.range_mm, 0, kRangeMmMax);
    k.range("radius_m", s.radius_mm, 0, kRangeMmMax);
    k.range("area_targets_max", s.area_targets_max, 0, 64);
    if (s.radius_mm > 0 && s.area_targets_max == 0) k.fail("area_targets_max", "an area skill needs area_targets_max > 0");
    k.range("cooldown_ticks", s.cooldown_ticks, 0, kDurationTicksMax);
    k.range("cast_ticks", s.cast_ticks, 0, 100);
    k.range("cost", s.cost, 0, kStatMax);
    k.range("damage", s.damage, 0, kStatMax);
    k.range("heal", s.heal, 0, kStatMax);
    k.range("dispel", s.dispel, 0, kDispelMax);
    if (s.effect != 0) {
      const EffectDef* e = effect_of(s.effect);
      if (!e) {
        k.fail("effect", fmt::format("skill {} applies effect {}, which is not defined", s.name, s.effect));
      } else if (e->harmful && s.aim != Aim::kEnemy) {
        k.fail("effect", fmt::format("skill {} aims at allies but applies harmful effect {}", s.name, e->name));
      }
    }
    if (s.aim == Aim::kEnemy && s.heal != 0) k.fail("heal", fmt::format("skill {} heals an enemy", s.name));
    if (s.aim != Aim::kEnemy && (s.damage != 0 || s.interrupt)) k.fail("damage", fmt::format("skill {} harms an ally", s.name));
    if (s.damage == 0 && s.heal == 0 && s.effect == 0 && !s.interrupt && s.dispel == 0) k.fail("name", fmt::format("skill {} does nothing", s.name));
  }
  for (size_t i = 0; i < c.effects.size(); ++i) {
    const EffectDef& e = c.effects[i];
    k.at(W::kEffect, i);
    k.range("duration_ticks", e.duration_ticks, 1, kDurationTicksMax);
    const bool periodic = e.kind == EffectKind::kDamageOverTime || e.kind == EffectKind::kHealOverTime;
    if (periodic) {
      k.range("period_ticks", e.period_ticks, 1, e.duration_ticks);
      k.range("magnitude", e.magnitude, 1, kStatMax);
    } else if (e.period_ticks != 0) {
      k.fail("period_ticks", fmt::format("effect {} of kind {} is not periodic", e.name, effect_kind_name(e.kind)));
    }
    if (e.kind == EffectKind::kShield) k.range("magnitude", e.magnitude, 1, kStatMax);
    if (e.kind == EffectKind::kSlow) k.range("magnitude", e.magnitude, 1, 1000);
    if (e.kind == EffectKind::kDamageDealt || e.kind == EffectKind::kDamageTaken) k.range("magnitude", e.magnitude, -1000, kModifierPermilleMax);
    k.range("stacks_max", e.stacks_max, 1, kStacksMax);
    if (e.stacking != Stacking::kStack && e.stacks_max != 1) k.fail("stacks_max", "only stacking effects have stacks_max > 1");
    if (e.kind == EffectKind::kImmunity) {
      if (e.immune_kinds == 0 || (e.immune_kinds & ~all_kinds) != 0) k.fail("immune", "an immunity names the effect kinds it blocks");
    } else if (e.immune_kinds != 0) {
      k.fail("immune", "only immunities name immune kinds");
    }
  }
  // NPCs: monster kinds (classes of their own) and spawners.
  if (c.monsters.size() > kMonstersMax) k.fail("monsters", fmt::format("more than {} monsters", kMonstersMax));
  if (c.spawners.size() > kSpawnersMax) k.fail("spawners", fmt::format("more than {} spawners", kSpawnersMax));
  k.unique_ids(c.monsters, W::kMonster, "monster");
  std::set<uint16_t> class_ids;
  for (const ClassDef& cl : c.classes) class_ids.insert(cl.id);
  for (size_t i = 0; i < c.monsters.size(); ++i) {
    const MonsterDef& m = c.monsters[i];
    k.at(W::kMonster, i);
    if (class_ids.count(m.id)) k.fail("id", fmt::format("monster id {} is a class's id (a monster's stats are a class on the wire)", m.id));
    if (m.stats.id != m.id) k.fail("id", "a monster's stats carry its id");
    k.range("hp_max", m.stats.hp_max, 1, kStatMax);
    k.range("speed_mm_per_tick", m.stats.speed_mm_per_tick, 1, 10'000);
    k.range("aggro_radius_m", m.aggro_radius_mm, 1, kRangeMmMax);
    k.range("leash_m", m.leash_mm, 1, kRangeMmMax);
    if (m.leash_mm < m.aggro_radius_mm) k.fail("leash_m", fmt::format("monster {} leashes nearer than it aggroes", m.name));
    if (m.stats.resource != Resource::kNone || m.stats.resource_max != 0) k.fail("skill", "monsters have no resource");
    if (m.stats.skills.size() != 1) {
      k.fail("skill", fmt::format("monster {} needs exactly one skill", m.name));
    } else {
      const uint16_t sid = m.stats.skills.front();
      auto it = std::find_if(c.skills.begin(), c.skills.end(), [&](const SkillDef& s) { return s.id == sid; });
      if (it == c.skills.end()) {
        k.fail("skill", fmt::format("monster {} uses skill {}, which is not defined", m.name, sid));
      } else if (it->aim != Aim::kEnemy || it->cost != 0 || it->cast_ticks != 0) {
        k.fail("skill", fmt::format("monster {} uses skill {}: a monster's attack aims at an enemy, costs nothing and is instant", m.name, it->name));
      }
    }
  }
  size_t npcs = 0;
  for (size_t i = 0; i < c.spawners.size(); ++i) {
    const SpawnerDef& sp = c.spawners[i];
    k.at(W::kSpawner, i);
    if (sp.id != i + 1) k.fail("name", "spawners are numbered 1, 2, ... in file order");
    if (sp.name.empty()) k.fail("name", fmt::format("spawner {} has no name", sp.id));
    if (std::none_of(c.monsters.begin(), c.monsters.end(), [&](const MonsterDef& m) { return m.id == sp.monster; })) {
      k.fail("monster", fmt::format("spawner {} names monster {}, which is not defined", sp.name, sp.monster));
    }
    k.range("x_m", sp.pos.x_mm, 0, kRangeMmMax);
    k.range("y_m", sp.pos.y_mm, 0, kRangeMmMax);
    k.range("radius_m", sp.radius_mm, 0, kRangeMmMax);
    k.range("count", sp.count, 1, kSpawnerCountMax);
    k.range("respawn_ticks", sp.respawn_ticks, 1, kDurationTicksMax);
    npcs += sp.count;
  }
  if (npcs > kNpcsMax) k.fail("spawners", fmt::format("{} NPCs in all, more than {}", npcs, kNpcsMax));
  check_zones(c, k);
  return errors;
}

std::shared_ptr<const Content> content_of(const Rules& rules) { return rules.content ? rules.content : classic_content(rules); }

const ClassDef& class_for_spawn(const Content& content, uint64_t n) { return content.classes[n % content.classes.size()]; }

std::shared_ptr<const Content> classic_content(const Rules& rules) {
  auto c = std::make_shared<Content>();
  ClassDef soldier;
  soldier.id = 1;
  soldier.name = "soldier";
  soldier.hp_max = rules.hp_max;
  soldier.speed_mm_per_tick = rules.speed_mm_per_tick;
  soldier.skills = {1};
  c->classes.push_back(soldier);
  SkillDef shot;
  shot.id = 1;
  shot.name = "shot";
  shot.range_mm = rules.fire_range_mm;
  shot.cooldown_ticks = static_cast<uint32_t>(rules.fire_cooldown_ticks);
  shot.on_global_cooldown = false;
  shot.damage = rules.fire_damage;
  c->skills.push_back(shot);
  return c;
}

}  // namespace aether::gameplay
