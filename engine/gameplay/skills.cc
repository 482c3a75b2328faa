// Phase 2: skills. A skill asked for by an input is checked against everything the owner knows
// (the actor alive, not stunned or silenced, not already casting, off the global and the skill's
// cooldown, the resource paid, the target valid, of the right team and in range); a refused one
// changes nothing. An instant skill fires at once; one with a cast time fires when the cast
// completes, if its target is still valid then (moving, a stun, a silence or an interrupt stop it
// before). Firing pays the cost, starts the cooldowns and makes one intent per action per target.

#include <algorithm>

#include "engine/core/assert.h"
#include "engine/gameplay/world.h"

namespace aether::gameplay {

bool World::has_effect(const Entity& e, EffectKind k) const {
  return std::any_of(e.effects.begin(), e.effects.end(), [&](const Effect& x) {
    const EffectDef* d = content_->find_effect(x.effect);
    return d && d->kind == k;
  });
}

Refusal World::check_target(const Entity& actor, const SkillDef& skill, const EntityState* target) const {
  if (skill.aim == Aim::kSelf) return Refusal::kNone;
  if (!target || (target->flags & kEntityFlagDead)) return Refusal::kNoTarget;
  const bool ally = target->team == actor.team;
  if (ally != (skill.aim == Aim::kAlly)) return Refusal::kWrongTeam;
  if (!within_mm(actor.pos, target->pos, skill.range_mm)) return Refusal::kOutOfRange;
  return Refusal::kNone;
}

Refusal World::act(Entity& actor, Surroundings& around, std::vector<RemoteIntent>& out) {
  const uint8_t slot = actor.skill_requested;
  actor.skill_requested = 0;
  if (actor.cast.skill != 0) {
    if (actor.dead) return Refusal::kNone;  // die() cleared it; a restored dead entity may still carry one
    if (tick_ < actor.cast.completes) return slot != 0 ? Refusal::kCasting : Refusal::kNone;
    const Cast cast = actor.cast;
    stop_cast(actor);
    const SkillDef* skill = content_->find_skill(cast.skill);
    if (!skill) return Refusal::kUnknownSkill;
    const EntityState self = state_of(actor);
    const EntityState* target = skill->aim == Aim::kSelf ? &self : (cast.target == actor.id ? &self : around.find(cast.target));
    if (const Refusal r = check_target(actor, *skill, target); r != Refusal::kNone) return r;
    if (actor.resource < skill->cost) return Refusal::kResource;
    const EntityState aimed = *target;  // `around` may reuse its storage while we fire
    fire(actor, *skill, aimed, around, out);
    return Refusal::kNone;
  }
  if (slot == 0) return Refusal::kNone;
  const SkillDef* skill = content_->skill_in_slot(*actor.cls, slot);
  if (!skill) return Refusal::kUnknownSkill;
  return start_or_use(actor, *skill, around, out);
}

Refusal World::start_or_use(Entity& actor, const SkillDef& skill, Surroundings& around, std::vector<RemoteIntent>& out) {
  if (actor.dead) return Refusal::kDead;
  if (has_effect(actor, EffectKind::kStun)) return Refusal::kStunned;
  if (skill.cost > 0 && has_effect(actor, EffectKind::kSilence)) return Refusal::kSilenced;
  if (skill.on_global_cooldown && tick_ < actor.global_ready) return Refusal::kGlobalCooldown;
  for (const Cooldown& c : actor.cooldowns) {
    if (c.skill == skill.id && tick_ < c.ready) return Refusal::kCooldown;
  }
  if (actor.resource < skill.cost) return Refusal::kResource;
  const EntityState self = state_of(actor);
  const EntityState* target = skill.aim == Aim::kSelf || actor.target == actor.id ? &self : around.find(actor.target);
  // An ally skill with no living ally aimed at heals or shields the caster.
  if (skill.aim == Aim::kAlly && (!target || target->team != actor.team || (target->flags & kEntityFlagDead))) target = &self;
  if (const Refusal r = check_target(actor, skill, target); r != Refusal::kNone) return r;
  if (skill.on_global_cooldown) actor.global_ready = tick_ + content_->global_cooldown_ticks;
  if (skill.cast_ticks > 0) {
    actor.cast = Cast{skill.id, target->id, tick_ + skill.cast_ticks};
    ++actor.version;
    return Refusal::kNone;
  }
  const EntityState aimed = *target;
  fire(actor, skill, aimed, around, out);
  return Refusal::kNone;
}

void World::fire(Entity& actor, const SkillDef& skill, const EntityState& target, Surroundings& around, std::vector<RemoteIntent>& out) {
  AETHER_ASSERT(actor.resource >= skill.cost);
  actor.resource -= skill.cost;
  if (skill.cooldown_ticks > 0) {
    auto it = std::find_if(actor.cooldowns.begin(), actor.cooldowns.end(), [&](const Cooldown& c) { return c.skill == skill.id; });
    if (it != actor.cooldowns.end()) {
      it->ready = tick_ + skill.cooldown_ticks;
    } else {
      actor.cooldowns.erase_if([&](const Cooldown& c) { return c.ready <= tick_; });
      AETHER_ASSERT(!actor.cooldowns.full());  // one per skill of a bar of at most kClassSkillsMax
      actor.cooldowns.push_back(Cooldown{skill.id, tick_ + skill.cooldown_ticks});
    }
  }
  ++actor.version;
  const int32_t dealt_permille =
      1000 + std::min(modifier_permille(actor, EffectKind::kDamageDealt) + level_damage_permille(*actor.cls, actor.level), kModifierPermilleMax);
  auto emit = [&](EntityId target_id, IntentAction action) {
    out.push_back(RemoteIntent{keys_.next(tick_), actor.id, target_id, skill.id, action});
  };
  auto actions_on = [&](EntityId target_id) {
    if (skill.damage > 0) {
      const int64_t amount = int64_t{skill.damage} * std::max(0, dealt_permille) / 1000;
      emit(target_id, intent::Damage{static_cast<int32_t>(std::min<int64_t>(amount, kIntentAmountMax))});
      actor.resource = std::min(actor.cls->resource_max, actor.resource + actor.cls->resource_per_hit);
    }
    if (skill.heal > 0) emit(target_id, intent::Heal{skill.heal});
    if (skill.effect != 0) emit(target_id, intent::ApplyEffect{skill.effect});
    if (skill.interrupt) emit(target_id, intent::Interrupt{});
    if (skill.dispel > 0) emit(target_id, intent::Dispel{skill.dispel});
  };
  if (skill.radius_mm == 0) {
    actions_on(target.id);
    return;
  }
  around.around(target.pos, skill.radius_mm, kAreaCandidatesMax, area_scratch_);
  uint32_t reached = 0;
  for (const EntityState* s : area_scratch_) {
    if (reached == skill.area_targets_max) break;
    if ((s->flags & kEntityFlagDead) || (s->team == actor.team) != (skill.aim != Aim::kEnemy)) continue;
    actions_on(s->id);
    ++reached;
  }
}

}  // namespace aether::gameplay
