// Phase 4: intents on the entities we own, local and remote alike, each applied at most once.
//
// At most once: an intent's key (origin process, its tick, a sequence) grows with every intent its
// origin makes, so an entity keeps, per origin, the highest key applied (its IntentMark) and drops
// any key at or below it. The marks are part of the entity's state (kFieldIntentMarks): they travel
// with handoffs, snapshots and replicas, so a retry after a migration or a failover meets the same
// marks as the state it would apply to. An entity remembers kIntentMarksMax origins; the one heard
// from least recently is forgotten first.

#include <algorithm>

#include "engine/core/assert.h"
#include "engine/gameplay/world.h"

namespace aether::gameplay {

bool action_fits(const SkillDef& skill, const IntentAction& action) {
  return std::visit(
      [&](const auto& a) {
        using A = std::decay_t<decltype(a)>;
        if constexpr (std::is_same_v<A, intent::Damage>) {
          return skill.damage > 0 && a.amount >= 0 && int64_t{a.amount} <= int64_t{skill.damage} * (1000 + kModifierPermilleMax) / 1000;
        } else if constexpr (std::is_same_v<A, intent::Heal>) {
          return skill.heal > 0 && a.amount >= 0 && a.amount <= skill.heal;
        } else if constexpr (std::is_same_v<A, intent::ApplyEffect>) {
          return skill.effect != 0 && a.effect == skill.effect;
        } else if constexpr (std::is_same_v<A, intent::Interrupt>) {
          return skill.interrupt;
        } else if constexpr (std::is_same_v<A, intent::Experience> || std::is_same_v<A, intent::Loot>) {
          return false;  // no skill makes experience or loot: a death does (experience_fits, loot_fits)
        } else if constexpr (std::is_same_v<A, intent::EncounterTurn>) {
          return false;  // a turn played, not an effect: the encounter's owner checks it (play_turn)
        } else {
          return a.count > 0 && a.count <= skill.dispel;
        }
      },
      action);
}

bool experience_fits(const Content& content, const IntentAction& action) {
  const auto* xp = std::get_if<intent::Experience>(&action);
  return xp && content.experience.kill_xp > 0 && xp->amount > 0 && xp->amount <= content.experience.award_max();
}

bool World::mark_applied(Entity& target, const IntentKey& key) {
  for (IntentMark& m : target.intent_marks) {
    if (m.origin != key.origin || m.incarnation != key.incarnation) continue;
    if (key <= m) return false;
    // Most recent last: the front is the first forgotten.
    const IntentMark updated = key;
    target.intent_marks.erase_if([&](const IntentMark& x) { return x.origin == key.origin && x.incarnation == key.incarnation; });
    target.intent_marks.push_back(updated);
    return true;
  }
  if (target.intent_marks.full()) target.intent_marks.erase_at(0);
  target.intent_marks.push_back(key);
  return true;
}

ApplyOutcome World::apply_intent(Entity& target, const RemoteIntent& intent) {
  // The dead earn what their kills before death were worth (experience and loot); nothing else happens to them.
  // An encounter is no body (flagged dead): turns played are all that apply to it.
  const bool award = std::holds_alternative<intent::Experience>(intent.action) || std::holds_alternative<intent::Loot>(intent.action);
  if (target.dead && !award && !std::holds_alternative<intent::EncounterTurn>(intent.action)) return {Applied::kDead};
  if (!mark_applied(target, intent.key)) return {Applied::kDuplicate};
  ApplyOutcome out;
  std::visit(
      [&](const auto& action) {
        using A = std::decay_t<decltype(action)>;
        if constexpr (std::is_same_v<A, intent::Damage>) {
          const int32_t before = target.hp;
          out.died = take_damage(target, action.amount, intent.source);
          out.amount = before - target.hp;
        } else if constexpr (std::is_same_v<A, intent::Heal>) {
          const int32_t before = target.hp;
          target.hp = std::min(target.hp_max(), target.hp + action.amount);
          out.amount = target.hp - before;
          if (out.amount > 0) ++target.version;
        } else if constexpr (std::is_same_v<A, intent::ApplyEffect>) {
          const EffectDef* def = content_->find_effect(action.effect);
          out.result = def ? add_effect(target, *def, intent.source) : Applied::kNoEffect;
        } else if constexpr (std::is_same_v<A, intent::Interrupt>) {
          if (target.cast.skill == 0) out.result = Applied::kNoEffect;
          stop_cast(target);
        } else if constexpr (std::is_same_v<A, intent::Dispel>) {
          uint32_t removed = 0;
          target.effects.erase_if([&](const Effect& x) {
            const EffectDef* d = content_->find_effect(x.effect);
            if (removed == action.count || !d || !d->harmful) return false;
            ++removed;
            return true;
          });
          if (removed == 0) out.result = Applied::kNoEffect;
          else ++target.version;
        } else if constexpr (std::is_same_v<A, intent::Experience>) {
          if (target.is_npc()) {  // monsters stay at level 1: a player they kill feeds no one
            out.result = Applied::kNoEffect;
            return;
          }
          const int32_t before = target.experience;
          out.leveled = gain_experience(target, action.amount);
          out.amount = target.experience - before;
        } else if constexpr (std::is_same_v<A, intent::Loot>) {
          out.result = take_loot(target, intent, action.item);
        } else if constexpr (std::is_same_v<A, intent::EncounterTurn>) {
          if (!target.is_encounter()) {
            out.result = Applied::kNoEffect;
            return;
          }
          out.verdict = play_turn(target.encounter, intent.source, action.round, action.turn, tick_, &out.turn);
          if (out.verdict == TurnVerdict::kAccepted) ++target.version;
          else out.result = Applied::kNoEffect;
        }
      },
      intent.action);
  return out;
}

}  // namespace aether::gameplay
