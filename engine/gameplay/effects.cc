// Phase 3: status effects, resources and movement.
//
// An effect lives on its bearer and only the bearer's owner changes it. Over-time effects apply
// their magnitude (per stack) whenever the ticks left are a multiple of their period, the expiry
// tick included (a duration of 3 periods applies 3 times); every effect is gone at its expiry tick,
// and all of them at death. Stacking: kRefresh keeps one instance and
// restarts it; kStack adds a stack (up to stacks_max) and restarts it; kUniquePerSource keeps one
// instance per source. A class's immune kinds and active immunities refuse effects of those kinds.

#include <algorithm>

#include "engine/core/assert.h"
#include "engine/gameplay/world.h"

namespace aether::gameplay {

namespace {
constexpr Tick kTicksPerSecond = 10;  // resources regenerate once a second
}

int32_t World::modifier_permille(const Entity& e, EffectKind k) const {
  int64_t sum = 0;
  for (const Effect& x : e.effects) {
    const EffectDef* d = content_->find_effect(x.effect);
    if (d && d->kind == k) sum += int64_t{d->magnitude} * x.stacks;
  }
  return static_cast<int32_t>(std::clamp<int64_t>(sum, -1000, kModifierPermilleMax));
}

void World::stop_cast(Entity& e) {
  if (e.cast.skill == 0) return;
  e.cast = Cast{};
  ++e.version;
}

// Damage after the bearer's damage-taken modifiers, absorbed by shields first (oldest first).
bool World::take_damage(Entity& target, int32_t amount, EntityId source) {
  AETHER_ASSERT(amount >= 0);
  if (target.dead) return false;
  int64_t left = int64_t{amount} * std::max(0, 1000 + modifier_permille(target, EffectKind::kDamageTaken)) / 1000;
  for (Effect& x : target.effects) {
    const EffectDef* d = content_->find_effect(x.effect);
    if (!d || d->kind != EffectKind::kShield || left == 0) continue;
    const int64_t absorbed = std::min<int64_t>(left, x.magnitude);
    x.magnitude -= static_cast<int32_t>(absorbed);
    left -= absorbed;
  }
  target.effects.erase_if([&](const Effect& x) {
    const EffectDef* d = content_->find_effect(x.effect);
    return d && d->kind == EffectKind::kShield && x.magnitude <= 0;
  });
  ++target.version;
  note_attacker(target, source);
  // An NPC's threat: damage (after modifiers, shields included) earns its source that much; a
  // returning NPC ignores it.
  if (target.is_npc() && source.valid() && source != target.id && target.npc.ai != AiState::kReturning) {
    add_threat(target.npc.threat, source, static_cast<int32_t>(std::clamp<int64_t>(int64_t{amount} * std::max(0, 1000 + modifier_permille(target, EffectKind::kDamageTaken)) / 1000, 1, kThreatMax)));
    target.npc.ai = AiState::kChasing;
  }
  target.hp -= static_cast<int32_t>(std::min<int64_t>(left, target.hp));
  if (target.hp > 0) return false;
  die(target);
  return true;
}

Applied World::add_effect(Entity& target, const EffectDef& def, EntityId source) {
  const uint32_t kind_bit = 1u << static_cast<uint32_t>(def.kind);
  if (target.cls->immune_kinds & kind_bit) return Applied::kImmune;
  for (const Effect& x : target.effects) {
    const EffectDef* d = content_->find_effect(x.effect);
    if (d && d->kind == EffectKind::kImmunity && (d->immune_kinds & kind_bit)) return Applied::kImmune;
  }
  const Tick expires = tick_ + def.duration_ticks;
  Effect* existing = nullptr;
  for (Effect& x : target.effects) {
    if (x.effect == def.id && (def.stacking != Stacking::kUniquePerSource || x.source == source)) existing = &x;
  }
  if (existing) {
    existing->expires = expires;
    existing->source = source;
    if (def.stacking == Stacking::kStack) existing->stacks = static_cast<uint8_t>(std::min<uint32_t>(existing->stacks + 1u, def.stacks_max));
    if (def.kind == EffectKind::kShield) existing->magnitude = def.magnitude;
  } else {
    if (target.effects.full()) return Applied::kFull;
    target.effects.push_back(Effect{def.id, source, expires, 1, def.magnitude});
  }
  if (def.kind == EffectKind::kImmunity) {
    // An immunity cleanses what it blocks.
    target.effects.erase_if([&](const Effect& x) {
      const EffectDef* d = content_->find_effect(x.effect);
      return d && d->kind != EffectKind::kImmunity && (def.immune_kinds & (1u << static_cast<uint32_t>(d->kind)));
    });
  }
  if (def.kind == EffectKind::kStun || def.kind == EffectKind::kSilence) stop_cast(target);
  ++target.version;
  return Applied::kApplied;
}

bool World::update(Entity& e) {
  if (e.dead) {
    if (e.is_npc() && tick_ >= e.npc.respawn_at) npc_respawn(e);
    return false;
  }
  // Effects: periodic applications, then expiry.
  bool changed = false;
  for (size_t i = 0; i < e.effects.size() && !e.dead; ++i) {
    const Effect x = e.effects[i];
    const EffectDef* d = content_->find_effect(x.effect);
    if (!d || d->period_ticks == 0 || x.expires < tick_) continue;
    if ((x.expires - tick_) % d->period_ticks != 0) continue;  // at 2P, P and 0 ticks left for a 3P duration
    const int32_t amount = static_cast<int32_t>(std::min<int64_t>(int64_t{d->magnitude} * x.stacks, kIntentAmountMax));
    if (d->kind == EffectKind::kDamageOverTime) {
      if (take_damage(e, amount, x.source)) return true;
    } else if (d->kind == EffectKind::kHealOverTime && e.hp < e.hp_max()) {
      e.hp = std::min(e.hp_max(), e.hp + amount);
      changed = true;
    }
  }
  const size_t before = e.effects.size();
  e.effects.erase_if([&](const Effect& x) { return x.expires <= tick_; });
  changed |= e.effects.size() != before;
  // Resource: once a second, within [0, max].
  if (e.cls->resource != Resource::kNone && tick_ % kTicksPerSecond == 0) {
    const int32_t next = std::clamp(e.resource + e.cls->resource_per_second, 0, e.cls->resource_max);
    if (next != e.resource) {
      e.resource = next;
      changed = true;
    }
  }
  if (changed) ++e.version;
  // Movement: none when stunned or rooted, slower when slowed; moving stops a cast.
  if (e.move_x == 0 && e.move_y == 0) return false;
  if (has_effect(e, EffectKind::kStun) || has_effect(e, EffectKind::kRoot)) return false;
  stop_cast(e);
  int32_t speed = e.cls->speed_mm_per_tick;
  int32_t slow = 0;
  for (const Effect& x : e.effects) {
    const EffectDef* d = content_->find_effect(x.effect);
    if (d && d->kind == EffectKind::kSlow) slow = std::max(slow, d->magnitude);
  }
  speed = static_cast<int32_t>(int64_t{speed} * (1000 - slow) / 1000);
  const Vec2 step = step_toward(e.move_x, e.move_y, speed);
  if (step == Vec2{}) return false;
  Vec2 next{clamp_i32(int64_t{e.pos.x_mm} + step.x_mm, 0, rules_.arena_mm - 1),
             clamp_i32(int64_t{e.pos.y_mm} + step.y_mm, 0, rules_.arena_mm - 1)};
  // With zones, movement never leaves the zone (or instance slot) it starts in: portals are the only way out.
  if (const auto place = content_->place_of(e.pos)) next = place->clamp(next);
  if (next == e.pos) return false;
  e.pos = next;
  ++e.version;
  return false;
}

const PortalDef* World::portal_under(const Entity& e) const {
  if (content_->portals.empty() || e.dead || e.is_npc() || e.is_encounter()) return nullptr;
  return content_->portal_at(e.pos);
}

const PortalDef* World::take_portal(Entity& e) {
  const PortalDef* portal = portal_under(e);
  if (!portal) return nullptr;
  const ZoneDef* to = content_->find_zone(portal->to_zone);
  if (to && to->is_template()) return nullptr;  // a party's slot is the leader's to give: enter_slot
  // One tick, one ordinary move by the owner: the entity is at the destination now, and the region
  // map sends it to the destination region's owner like any entity that walked there.
  e.pos = portal->to;
  e.move_x = e.move_y = 0;
  e.target = EntityId{};  // whatever it aimed at is in another zone
  stop_cast(e);
  ++e.version;
  return portal;
}

void World::enter_slot(Entity& e, const PortalDef& portal, uint32_t slot) {
  const ZoneDef* to = content_->find_zone(portal.to_zone);
  AETHER_ASSERT(to && to->is_template() && slot < to->instance_slots);
  e.pos = Vec2{portal.to.x_mm + to->slot_shift(slot).x_mm, portal.to.y_mm};
  e.move_x = e.move_y = 0;
  e.target = EntityId{};
  stop_cast(e);
  ++e.version;
}

}  // namespace aether::gameplay
