// Property: for random effect content and random sequences of applications (from several sources),
// ticks, deaths, respawns and handoffs to another world, the status effects on an entity are exactly
// what a small reference model of the rules (docs/gameplay.md, "Status effects") says:
//   - stacking: REFRESH keeps one instance and restarts it; STACK adds a stack up to stacks_max and
//     restarts it; UNIQUE_PER_SOURCE keeps one instance per source;
//   - at most kEffectsPerEntityMax instances (a new one past it is refused: kFull);
//   - over-time effects apply magnitude x stacks whenever their ticks left are a multiple of their
//     period, the expiry tick included; every effect is gone at its expiry tick;
//   - a class's immune kinds and an active immunity refuse effects of those kinds, and an immunity
//     applied cleanses what it blocks;
//   - nothing is applied to the dead, and death removes every effect;
//   - a state handed to another world (the canonical encoding, then a restore) keeps them all.

#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which does not include it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>

#include "engine/core/random.h"
#include "engine/gameplay/world.h"
#include "engine/wire/state_codec.h"

namespace aether::gameplay {
namespace {

constexpr int32_t kHpMax = 200;
constexpr uint32_t kSources = 3;  // entities 10, 11, 12 apply effects
const EffectKind kKinds[] = {EffectKind::kDamageOverTime, EffectKind::kHealOverTime, EffectKind::kStun,  EffectKind::kRoot,
                             EffectKind::kSlow,           EffectKind::kSilence,      EffectKind::kDamageDealt, EffectKind::kImmunity};

uint32_t bit(EffectKind k) { return 1u << static_cast<uint32_t>(k); }
bool periodic(EffectKind k) { return k == EffectKind::kDamageOverTime || k == EffectKind::kHealOverTime; }

// Random effects content check() accepts (no shields or damage-taken modifiers: the model's health
// is then the effects' alone).
rc::Gen<EffectDef> gen_effect(uint16_t id) {
  return rc::gen::exec([id] {
    EffectDef e;
    e.id = id;
    e.name = "e" + std::to_string(id);
    e.kind = *rc::gen::elementOf(std::vector<EffectKind>(std::begin(kKinds), std::end(kKinds)));
    e.duration_ticks = *rc::gen::inRange<uint32_t>(1, 31);
    if (periodic(e.kind)) {
      e.period_ticks = *rc::gen::inRange<uint32_t>(1, e.duration_ticks + 1);
      e.magnitude = *rc::gen::inRange<int32_t>(1, 25);
    } else if (e.kind == EffectKind::kSlow) {
      e.magnitude = *rc::gen::inRange<int32_t>(1, 1001);
    } else if (e.kind == EffectKind::kDamageDealt) {
      e.magnitude = *rc::gen::inRange<int32_t>(-1000, 1001);
    }
    e.stacking = *rc::gen::element(Stacking::kRefresh, Stacking::kStack, Stacking::kUniquePerSource);
    if (e.stacking == Stacking::kStack) e.stacks_max = *rc::gen::inRange<uint32_t>(1, 5);
    e.harmful = e.kind != EffectKind::kHealOverTime && e.kind != EffectKind::kImmunity;
    if (e.kind == EffectKind::kImmunity) {
      e.immune_kinds = 0;
      while (e.immune_kinds == 0) {
        for (EffectKind k : kKinds) {
          if (*rc::gen::inRange(0, 3) == 0) e.immune_kinds |= bit(k);
        }
      }
    }
    return e;
  });
}

std::shared_ptr<const Content> gen_content() {
  auto c = std::make_shared<Content>();
  const auto n = *rc::gen::inRange<uint16_t>(1, 11);
  for (uint16_t id = 1; id <= n; ++id) c->effects.push_back(*gen_effect(id));
  SkillDef poke;
  poke.id = 1;
  poke.name = "poke";
  poke.range_mm = 10'000;
  poke.damage = 1;
  c->skills = {poke};
  ClassDef body{1, "body", kHpMax, Resource::kNone, 0, 0, 0, 0, 600, {1}, 0};
  if (*rc::gen::inRange(0, 4) == 0) body.immune_kinds = bit(*rc::gen::elementOf(std::vector<EffectKind>(std::begin(kKinds), std::end(kKinds) - 1)));
  c->classes = {body};
  RC_ASSERT(check(*c).empty());
  return c;
}

// The reference model: the rules as docs/gameplay.md states them, on one entity.
struct Model {
  const Content* content = nullptr;
  std::vector<Effect> effects;  // in application order
  int32_t hp = kHpMax;
  bool dead = false;

  const EffectDef& def(uint16_t id) const { return *content->find_effect(id); }

  Applied apply(const EffectDef& d, EntityId source, Tick now) {
    if (dead) return Applied::kDead;
    if (content->classes.front().immune_kinds & bit(d.kind)) return Applied::kImmune;
    for (const Effect& x : effects) {
      if (def(x.effect).kind == EffectKind::kImmunity && (def(x.effect).immune_kinds & bit(d.kind))) return Applied::kImmune;
    }
    auto same = std::find_if(effects.begin(), effects.end(),
                             [&](const Effect& x) { return x.effect == d.id && (d.stacking != Stacking::kUniquePerSource || x.source == source); });
    if (same != effects.end()) {
      same->expires = now + d.duration_ticks;
      same->source = source;
      if (d.stacking == Stacking::kStack) same->stacks = static_cast<uint8_t>(std::min<uint32_t>(same->stacks + 1u, d.stacks_max));
    } else {
      if (effects.size() == kEffectsPerEntityMax) return Applied::kFull;
      effects.push_back(Effect{d.id, source, now + d.duration_ticks, 1, d.magnitude});
    }
    if (d.kind == EffectKind::kImmunity) {
      std::erase_if(effects, [&](const Effect& x) { return def(x.effect).kind != EffectKind::kImmunity && (d.immune_kinds & bit(def(x.effect).kind)); });
    }
    return Applied::kApplied;
  }

  void die() {
    hp = 0;
    dead = true;
    effects.clear();
  }

  void tick(Tick now) {
    if (dead) return;
    for (const Effect& x : effects) {
      const EffectDef& d = def(x.effect);
      if (!periodic(d.kind) || x.expires < now || (x.expires - now) % d.period_ticks != 0) continue;
      const int32_t amount = d.magnitude * x.stacks;
      if (d.kind == EffectKind::kDamageOverTime) {
        hp -= std::min(amount, hp);
        if (hp == 0) return die();
      } else {
        hp = std::min(kHpMax, hp + amount);
      }
    }
    std::erase_if(effects, [&](const Effect& x) { return x.expires <= now; });
  }
};

void expect_same(const Entity& e, const Model& m, Tick now) {
  RC_ASSERT(e.hp == m.hp);
  RC_ASSERT(e.dead == m.dead);
  RC_ASSERT(e.effects.size() == m.effects.size());
  for (size_t i = 0; i < m.effects.size(); ++i) RC_ASSERT(e.effects[i] == m.effects[i]);
  // The invariants the checker holds every entity to, stated directly.
  for (const Effect& x : e.effects) {
    const EffectDef& d = *m.content->find_effect(x.effect);
    RC_ASSERT(x.expires > now);
    RC_ASSERT(x.expires <= now + d.duration_ticks);
    RC_ASSERT(x.stacks >= 1u);
    RC_ASSERT(x.stacks <= d.stacks_max);
    const auto copies = std::count_if(e.effects.begin(), e.effects.end(), [&](const Effect& y) {
      return y.effect == x.effect && (d.stacking != Stacking::kUniquePerSource || y.source == x.source);
    });
    RC_ASSERT(copies == 1);
  }
  RC_ASSERT(!e.dead || e.effects.empty());
}

RC_GTEST_PROP(EffectsProperty, EffectsFollowTheStackingExpiryImmunityAndDeathRules, ()) {
  const std::shared_ptr<const Content> content = gen_content();
  Rules rules;
  rules.content = content;
  auto world = std::make_unique<World>(rules);
  Tick now = *rc::gen::inRange<Tick>(0, 1000);
  world->set_tick(now);
  const EntityId id(1);
  world->spawn(id, Vec2{1'000, 1'000}, 0, 1, 1);
  Model model;
  model.content = content.get();
  uint32_t seq = 0;
  Xoshiro256 random(7);
  auto key = [&] { return IntentKey{NodeId(2), 1, now, seq++}; };

  const auto steps = *rc::gen::inRange(1, 120);
  for (int step = 0; step < steps; ++step) {
    Entity& e = *world->find(id);
    switch (*rc::gen::inRange(0, 20)) {
      case 0: {  // a lethal blow
        const ApplyOutcome out = world->apply_intent(e, RemoteIntent{key(), EntityId(10), id, 1, intent::Damage{kIntentAmountMax}});
        RC_ASSERT(out.result == (model.dead ? Applied::kDead : Applied::kApplied));
        if (!model.dead) model.die();
        break;
      }
      case 1:  // a respawn, if dead
        if (model.dead) {
          world->respawn(e, World::spawn_point(rules, e.team, random));
          model.dead = false;
          model.hp = kHpMax;
          RC_ASSERT(e.effects.empty());
        }
        break;
      case 2: {  // a handoff: the canonical encoding, restored on another world at the same tick
        EntityState decoded;
        const char* error = nullptr;
        RC_ASSERT(unpack_state(pack_state(world->state_of(e)), decoded, &error));
        auto other = std::make_unique<World>(rules);
        other->set_tick(now);
        other->restore(decoded, e.generation + 1);
        world = std::move(other);
        break;
      }
      case 3:
      case 4:
      case 5:
      case 6:
      case 7:
      case 8: {  // ticks pass: phase 3 runs once per tick
        const auto ticks = *rc::gen::inRange<Tick>(1, 12);
        for (Tick t = 0; t < ticks; ++t) {
          world->set_tick(++now);
          const bool died = world->update(*world->find(id));
          const bool was_dead = model.dead;
          model.tick(now);
          RC_ASSERT(died == (model.dead && !was_dead));
        }
        break;
      }
      default: {  // an effect from one of the sources
        const auto& d = content->effects[*rc::gen::inRange<size_t>(0, content->effects.size())];
        const EntityId source(10 + *rc::gen::inRange<uint32_t>(0, kSources));
        const ApplyOutcome out = world->apply_intent(e, RemoteIntent{key(), source, id, 1, intent::ApplyEffect{d.id}});
        RC_ASSERT(out.result == model.apply(d, source, now));
        break;
      }
    }
    expect_same(*world->find(id), model, now);
  }
  // Left alone past the longest duration, every effect has expired.
  for (Tick t = 0; t <= 30; ++t) {
    world->set_tick(++now);
    world->update(*world->find(id));
    model.tick(now);
  }
  expect_same(*world->find(id), model, now);
  RC_ASSERT(world->find(id)->effects.empty());
}

}  // namespace
}  // namespace aether::gameplay
