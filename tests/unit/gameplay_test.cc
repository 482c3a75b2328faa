#include <gtest/gtest.h>

#include "engine/gameplay/world.h"

namespace aether::gameplay {
namespace {

Rules rules() {
  Rules r;
  r.arena_mm = 100'000;
  r.fire_range_mm = 10'000;
  r.fire_damage = 40;
  r.fire_cooldown_ticks = 5;
  return r;
}

TEST(World, InputsApplyOnceInSequenceOrder) {
  World w(rules());
  w.spawn(EntityId(1), Vec2{50'000, 50'000}, 0, 1);
  EXPECT_EQ(w.apply_input(EntityId(1), ClientInput{2, 1000, 0, EntityId{}, false}), ApplyResult::kApplied);
  EXPECT_EQ(w.apply_input(EntityId(1), ClientInput{2, -1000, 0, EntityId{}, false}), ApplyResult::kStale);
  EXPECT_EQ(w.apply_input(EntityId(1), ClientInput{1, -1000, 0, EntityId{}, false}), ApplyResult::kStale);
  EXPECT_EQ(w.apply_input(EntityId(9), ClientInput{3, 0, 0, EntityId{}, false}), ApplyResult::kUnknownEntity);
  Entity& e = *w.find(EntityId(1));
  const uint64_t v = e.version;
  w.move(e);
  EXPECT_EQ(e.pos, (Vec2{50'000 + rules().speed_mm_per_tick, 50'000}));
  EXPECT_EQ(e.version, v + 1);
}

TEST(World, MovementStaysInTheArena) {
  World w(rules());
  Entity& e = w.spawn(EntityId(1), Vec2{100, 100}, 0, 1);
  ASSERT_EQ(w.apply_input(e.id, ClientInput{1, -1000, -1000, EntityId{}, false}), ApplyResult::kApplied);
  for (int i = 0; i < 10; ++i) w.move(e);
  EXPECT_EQ(e.pos, (Vec2{0, 0}));
}

TEST(World, FireNeedsEnemyInRangeAndCooldown) {
  World w(rules());
  Entity& a = w.spawn(EntityId(1), Vec2{0, 0}, 0, 1);
  auto fire = [&](Entity& shooter, Tick tick) {
    const Entity* t = w.find(shooter.target);
    const EntityState st = t ? w.state_of(*t) : EntityState{};
    return w.intent_to_fire(shooter, t ? &st : nullptr, tick);
  };
  w.spawn(EntityId(2), Vec2{9'000, 0}, 1, 1);   // enemy in range
  w.spawn(EntityId(3), Vec2{1'000, 0}, 0, 1);   // friend
  w.spawn(EntityId(4), Vec2{20'000, 0}, 1, 1);  // enemy out of range

  ASSERT_EQ(w.apply_input(a.id, ClientInput{1, 0, 0, EntityId(3), true}), ApplyResult::kApplied);
  EXPECT_FALSE(fire(a, 10).has_value()) << "no friendly fire";
  ASSERT_EQ(w.apply_input(a.id, ClientInput{2, 0, 0, EntityId(4), true}), ApplyResult::kApplied);
  EXPECT_FALSE(fire(a, 10).has_value()) << "out of range";
  ASSERT_EQ(w.apply_input(a.id, ClientInput{3, 0, 0, EntityId(2), true}), ApplyResult::kApplied);
  auto shot = fire(a, 10);
  ASSERT_TRUE(shot.has_value());
  EXPECT_EQ(shot->target, EntityId(2));
  EXPECT_EQ(shot->amount, 40);
  ASSERT_EQ(w.apply_input(a.id, ClientInput{4, 0, 0, EntityId(2), true}), ApplyResult::kApplied);
  EXPECT_FALSE(fire(a, 14).has_value()) << "cooldown";
  ASSERT_EQ(w.apply_input(a.id, ClientInput{5, 0, 0, EntityId(2), true}), ApplyResult::kApplied);
  EXPECT_TRUE(fire(a, 15).has_value());
}

TEST(World, DamageKillsOnceAndRespawnRestores) {
  World w(rules());
  Entity& e = w.spawn(EntityId(1), Vec2{0, 0}, 1, 1);
  EXPECT_FALSE(w.apply_damage(e, 60));
  EXPECT_EQ(e.hp, 40);
  EXPECT_TRUE(w.apply_damage(e, 60));
  EXPECT_TRUE(e.dead);
  EXPECT_EQ(e.hp, 0);
  EXPECT_FALSE(w.apply_damage(e, 60)) << "the dead do not die twice";
  EXPECT_EQ(w.apply_input(e.id, ClientInput{1, 1000, 0, EntityId{}, false}), ApplyResult::kDead);
  Xoshiro256 rng(1);
  w.respawn(e, rng);
  EXPECT_FALSE(e.dead);
  EXPECT_EQ(e.hp, rules().hp_max);
}

TEST(World, SpawnPointsFallInTheTeamBand) {
  Rules r = rules();
  r.teams = 2;
  Xoshiro256 rng(5);
  for (int i = 0; i < 200; ++i) {
    const Vec2 p0 = World::spawn_point(r, 0, rng);
    const Vec2 p1 = World::spawn_point(r, 1, rng);
    EXPECT_LT(p0.x_mm, r.arena_mm / 2);
    EXPECT_GE(p1.x_mm, r.arena_mm / 2);
    EXPECT_GE(p0.y_mm, 0);
    EXPECT_LT(p1.y_mm, r.arena_mm);
  }
}

}  // namespace
}  // namespace aether::gameplay
