#include <gtest/gtest.h>

#include <algorithm>

#include "engine/gameplay/world.h"
#include "engine/wire/state_codec.h"

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

// Surroundings over the world alone (no ghosts), as phase 2 sees it.
class WorldAround final : public Surroundings {
 public:
  explicit WorldAround(World& w) : w_(w) {}
  const EntityState* find(EntityId id) override {
    const Entity* e = w_.find(id);
    if (!e) return nullptr;
    one_ = w_.state_of(*e);
    return &one_;
  }
  void around(Vec2 at, int32_t radius_mm, size_t max, std::vector<const EntityState*>& out) override {
    out.clear();
    all_.clear();
    for (const auto& [id, e] : w_.entities()) {
      if (within_mm(e.pos, at, radius_mm) && all_.size() < max) all_.push_back(w_.state_of(e));
    }
    for (const EntityState& s : all_) out.push_back(&s);
  }

 private:
  World& w_;
  EntityState one_;
  std::vector<EntityState> all_;
};

// Runs phase 2 for one actor and phase 4 for what it made, all targets being ours.
std::vector<RemoteIntent> act_and_apply(World& w, Entity& actor, Refusal* refusal = nullptr) {
  WorldAround around(w);
  std::vector<RemoteIntent> made;
  const Refusal r = w.act(actor, around, made);
  if (refusal) *refusal = r;
  for (const RemoteIntent& i : made) {
    if (Entity* t = w.find(i.target)) w.apply_intent(*t, i);
  }
  return made;
}

// Two inputs in one tick: the second, without a skill, leaves the first's press standing.
TEST(World, ALaterInputWithoutASkillDoesNotCancelAPress) {
  World w(rules());
  w.spawn(EntityId(1), Vec2{50'000, 50'000}, 0, 1);
  ASSERT_EQ(w.apply_input(EntityId(1), ClientInput{1, 0, 0, EntityId{}, 2}), ApplyResult::kApplied);
  ASSERT_EQ(w.apply_input(EntityId(1), ClientInput{2, 1000, 0, EntityId{}, 0}), ApplyResult::kApplied);
  EXPECT_EQ(w.find(EntityId(1))->skill_requested, 2);
  EXPECT_EQ(w.find(EntityId(1))->move_x, 1000) << "the move is the latest";
  ASSERT_EQ(w.apply_input(EntityId(1), ClientInput{3, 0, 0, EntityId{}, 3}), ApplyResult::kApplied);
  EXPECT_EQ(w.find(EntityId(1))->skill_requested, 3) << "a later press replaces it";
}

TEST(World, InputsApplyOnceInSequenceOrder) {
  World w(rules());
  w.spawn(EntityId(1), Vec2{50'000, 50'000}, 0, 1);
  EXPECT_EQ(w.apply_input(EntityId(1), ClientInput{2, 1000, 0, EntityId{}, 0}), ApplyResult::kApplied);
  EXPECT_EQ(w.apply_input(EntityId(1), ClientInput{2, -1000, 0, EntityId{}, 0}), ApplyResult::kStale);
  EXPECT_EQ(w.apply_input(EntityId(1), ClientInput{1, -1000, 0, EntityId{}, 0}), ApplyResult::kStale);
  EXPECT_EQ(w.apply_input(EntityId(9), ClientInput{3, 0, 0, EntityId{}, 0}), ApplyResult::kUnknownEntity);
  Entity& e = *w.find(EntityId(1));
  const uint64_t v = e.version;
  w.update(e);
  EXPECT_EQ(e.pos, (Vec2{50'000 + rules().speed_mm_per_tick, 50'000}));
  EXPECT_EQ(e.version, v + 1);
}

TEST(World, MovementStaysInTheArena) {
  World w(rules());
  Entity& e = w.spawn(EntityId(1), Vec2{100, 100}, 0, 1);
  ASSERT_EQ(w.apply_input(e.id, ClientInput{1, -1000, -1000, EntityId{}, 0}), ApplyResult::kApplied);
  for (int i = 0; i < 10; ++i) w.update(e);
  EXPECT_EQ(e.pos, (Vec2{0, 0}));
}

TEST(World, TheClassicShotNeedsAnEnemyInRangeAndItsCooldown) {
  World w(rules());
  Entity& a = w.spawn(EntityId(1), Vec2{0, 0}, 0, 1);
  w.spawn(EntityId(2), Vec2{9'000, 0}, 1, 1);   // enemy in range
  w.spawn(EntityId(3), Vec2{1'000, 0}, 0, 1);   // friend
  w.spawn(EntityId(4), Vec2{20'000, 0}, 1, 1);  // enemy out of range
  Refusal why = Refusal::kNone;
  w.set_tick(10);
  ASSERT_EQ(w.apply_input(a.id, ClientInput{1, 0, 0, EntityId(3), 1}), ApplyResult::kApplied);
  EXPECT_TRUE(act_and_apply(w, a, &why).empty());
  EXPECT_EQ(why, Refusal::kWrongTeam) << "no friendly fire";
  ASSERT_EQ(w.apply_input(a.id, ClientInput{2, 0, 0, EntityId(4), 1}), ApplyResult::kApplied);
  EXPECT_TRUE(act_and_apply(w, a, &why).empty());
  EXPECT_EQ(why, Refusal::kOutOfRange);
  ASSERT_EQ(w.apply_input(a.id, ClientInput{3, 0, 0, EntityId(2), 1}), ApplyResult::kApplied);
  auto shot = act_and_apply(w, a, &why);
  ASSERT_EQ(shot.size(), 1u);
  EXPECT_EQ(shot[0].target, EntityId(2));
  EXPECT_EQ(std::get<intent::Damage>(shot[0].action).amount, 40);
  EXPECT_EQ(w.find(EntityId(2))->hp, rules().hp_max - 40);
  w.set_tick(14);
  ASSERT_EQ(w.apply_input(a.id, ClientInput{4, 0, 0, EntityId(2), 1}), ApplyResult::kApplied);
  EXPECT_TRUE(act_and_apply(w, a, &why).empty());
  EXPECT_EQ(why, Refusal::kCooldown);
  w.set_tick(15);
  ASSERT_EQ(w.apply_input(a.id, ClientInput{5, 0, 0, EntityId(2), 1}), ApplyResult::kApplied);
  EXPECT_EQ(act_and_apply(w, a).size(), 1u);
  EXPECT_TRUE(w.find(EntityId(2))->dead == false && w.find(EntityId(2))->hp == rules().hp_max - 80);
}

TEST(World, DamageKillsOnceAndRespawnRestores) {
  World w(rules());
  Entity& e = w.spawn(EntityId(1), Vec2{0, 0}, 1, 1);
  auto hit = [&](uint32_t seq, int32_t amount) {
    return w.apply_intent(e, RemoteIntent{IntentKey{NodeId(1), 1, 1, seq}, EntityId(2), e.id, 1, intent::Damage{amount}});
  };
  EXPECT_FALSE(hit(0, 60).died);
  EXPECT_EQ(e.hp, 40);
  EXPECT_TRUE(hit(1, 60).died);
  EXPECT_TRUE(e.dead);
  EXPECT_EQ(e.hp, 0);
  EXPECT_EQ(hit(2, 60).result, Applied::kDead) << "the dead do not die twice";
  EXPECT_EQ(w.apply_input(e.id, ClientInput{1, 1000, 0, EntityId{}, 0}), ApplyResult::kDead);
  Xoshiro256 rng(1);
  w.respawn(e, World::spawn_point(rules(), e.team, rng));
  EXPECT_FALSE(e.dead);
  EXPECT_EQ(e.hp, rules().hp_max);
}

// --- The game on content -----------------------------------------------------------------------

// A small content set: a mage (mana) with a bolt (cast), a slowing frost, an area blast, a
// stun and a self shield; a cleric with a heal, a renew (heal over time) and a dispel.
std::shared_ptr<const Content> test_content() {
  auto c = std::make_shared<Content>();
  c->global_cooldown_ticks = 2;
  EffectDef slow{1, "chill", EffectKind::kSlow, 20, 0, 500, Stacking::kRefresh, 1, true, 0};
  EffectDef stun{2, "stun", EffectKind::kStun, 10, 0, 0, Stacking::kRefresh, 1, true, 0};
  EffectDef shield{3, "barrier", EffectKind::kShield, 50, 0, 30, Stacking::kRefresh, 1, false, 0};
  EffectDef renew{4, "renew", EffectKind::kHealOverTime, 10, 5, 10, Stacking::kRefresh, 1, false, 0};
  EffectDef poison{5, "poison", EffectKind::kDamageOverTime, 9, 3, 4, Stacking::kStack, 3, true, 0};
  EffectDef ward{6, "ward", EffectKind::kImmunity, 20, 0, 0, Stacking::kRefresh, 1, false, 1u << static_cast<uint32_t>(EffectKind::kStun)};
  c->effects = {slow, stun, shield, renew, poison, ward};
  auto skill = [](uint16_t id, const char* name, Aim aim, int32_t range, uint32_t cd, uint32_t cast, int32_t cost) {
    SkillDef s;
    s.id = id;
    s.name = name;
    s.aim = aim;
    s.range_mm = range;
    s.cooldown_ticks = cd;
    s.cast_ticks = cast;
    s.cost = cost;
    return s;
  };
  SkillDef bolt = skill(1, "bolt", Aim::kEnemy, 30'000, 0, 3, 10);
  bolt.damage = 30;
  SkillDef frost = skill(2, "frost", Aim::kEnemy, 30'000, 10, 0, 5);
  frost.damage = 5;
  frost.effect = 1;
  SkillDef blast = skill(3, "blast", Aim::kEnemy, 30'000, 20, 0, 20);
  blast.damage = 10;
  blast.radius_mm = 5'000;
  blast.area_targets_max = 2;
  SkillDef bash = skill(4, "bash", Aim::kEnemy, 5'000, 30, 0, 0);
  bash.effect = 2;
  bash.interrupt = true;
  SkillDef barrier = skill(5, "barrier", Aim::kSelf, 0, 40, 0, 10);
  barrier.effect = 3;
  SkillDef heal = skill(6, "heal", Aim::kAlly, 30'000, 0, 0, 10);
  heal.heal = 25;
  SkillDef mend = skill(7, "renew", Aim::kAlly, 30'000, 5, 0, 5);
  mend.effect = 4;
  SkillDef cleanse = skill(8, "cleanse", Aim::kAlly, 30'000, 5, 0, 5);
  cleanse.dispel = 1;
  SkillDef venom = skill(9, "venom", Aim::kEnemy, 30'000, 0, 0, 0);
  venom.effect = 5;
  venom.on_global_cooldown = false;
  SkillDef warding = skill(10, "ward", Aim::kAlly, 30'000, 0, 0, 0);
  warding.effect = 6;
  c->skills = {bolt, frost, blast, bash, barrier, heal, mend, cleanse, venom, warding};
  ClassDef mage{1, "mage", 100, Resource::kMana, 100, 100, 5, 0, 500, {1, 2, 3, 4, 5, 9}, 0, 10, 100};
  ClassDef cleric{2, "cleric", 120, Resource::kMana, 100, 100, 5, 0, 500, {6, 7, 8, 10}, 0, 20, 0};
  c->classes = {mage, cleric};
  c->experience = ExperienceDef{20, 8, 50, {30, 60}};  // levels 2 and 3
  EXPECT_TRUE(check(*c).empty());
  return c;
}

Rules content_rules() {
  Rules r = rules();
  r.content = test_content();
  return r;
}

// Uses slot `slot` at `target` now; returns the refusal.
Refusal use(World& w, Entity& actor, uint8_t slot, EntityId target) {
  EXPECT_EQ(w.apply_input(actor.id, ClientInput{actor.last_input_seq + 1, 0, 0, target, slot}), ApplyResult::kApplied);
  Refusal r = Refusal::kNone;
  act_and_apply(w, actor, &r);
  return r;
}

TEST(Game, ACastFiresWhenItCompletesAndMovingOrAStunStopsIt) {
  World w(content_rules());
  w.set_tick(100);
  Entity& mage = w.spawn(EntityId(1), Vec2{0, 0}, 0, 1, 1);
  Entity& foe = w.spawn(EntityId(2), Vec2{10'000, 0}, 1, 1, 1);
  EXPECT_EQ(use(w, mage, 1, foe.id), Refusal::kNone);
  EXPECT_EQ(mage.cast.skill, 1);
  EXPECT_EQ(foe.hp, 100) << "nothing before the cast completes";
  EXPECT_EQ(use(w, mage, 1, foe.id), Refusal::kCasting);
  w.set_tick(103);
  act_and_apply(w, mage);
  EXPECT_EQ(foe.hp, 70);
  EXPECT_EQ(mage.resource, 90) << "the cost is paid when it fires";
  EXPECT_EQ(mage.cast.skill, 0);
  // Moving stops the next cast: nothing fires, nothing is paid.
  w.set_tick(110);
  EXPECT_EQ(use(w, mage, 1, foe.id), Refusal::kNone);
  ASSERT_EQ(w.apply_input(mage.id, ClientInput{mage.last_input_seq + 1, 1000, 0, foe.id, 0}), ApplyResult::kApplied);
  w.update(mage);
  EXPECT_EQ(mage.cast.skill, 0);
  const int32_t mana = mage.resource;
  w.set_tick(113);
  act_and_apply(w, mage);
  EXPECT_EQ(foe.hp, 70);
  EXPECT_EQ(mage.resource, mana);
  // A stun on the caster stops its cast and its skills.
  ASSERT_EQ(w.apply_input(mage.id, ClientInput{mage.last_input_seq + 1, 0, 0, foe.id, 0}), ApplyResult::kApplied);
  EXPECT_EQ(use(w, foe, 4, mage.id), Refusal::kOutOfRange) << "bash reaches 5 m";
  mage.pos = Vec2{6'000, 0};
  w.set_tick(120);
  EXPECT_EQ(use(w, mage, 1, foe.id), Refusal::kNone);
  EXPECT_EQ(use(w, foe, 4, mage.id), Refusal::kNone);
  EXPECT_EQ(mage.cast.skill, 0) << "the stun interrupted the cast";
  w.set_tick(121);
  EXPECT_EQ(use(w, mage, 2, foe.id), Refusal::kStunned);
  w.set_tick(130);
  w.update(mage);  // the stun (10 ticks) expires
  EXPECT_TRUE(mage.effects.empty());
  EXPECT_EQ(use(w, mage, 2, foe.id), Refusal::kNone);
}

TEST(Game, EveryRefusalChangesNothing) {
  World w(content_rules());
  w.set_tick(50);
  Entity& mage = w.spawn(EntityId(1), Vec2{0, 0}, 0, 1, 1);
  Entity& foe = w.spawn(EntityId(2), Vec2{10'000, 0}, 1, 1, 1);
  Entity& ally = w.spawn(EntityId(3), Vec2{1'000, 0}, 0, 1, 2);
  EXPECT_EQ(use(w, mage, 7, foe.id), Refusal::kUnknownSkill) << "slot 7 is empty in a bar of 6";
  EXPECT_EQ(use(w, mage, 2, ally.id), Refusal::kWrongTeam);
  EXPECT_EQ(use(w, mage, 2, EntityId(99)), Refusal::kNoTarget);
  EXPECT_EQ(use(w, mage, 2, foe.id), Refusal::kNone);
  EXPECT_EQ(use(w, mage, 3, foe.id), Refusal::kGlobalCooldown);
  w.set_tick(52);
  EXPECT_EQ(use(w, mage, 2, foe.id), Refusal::kCooldown);
  mage.resource = 3;
  const EntityState before = w.state_of(mage);
  const EntityState foe_before = w.state_of(foe);
  EXPECT_EQ(use(w, mage, 3, foe.id), Refusal::kResource);
  EntityState after = w.state_of(mage);
  after.last_input_seq = before.last_input_seq;
  EXPECT_EQ(after, before);
  EXPECT_EQ(w.state_of(foe), foe_before);
  foe.hp = 0;
  foe.dead = true;
  mage.resource = 100;
  EXPECT_EQ(use(w, mage, 3, foe.id), Refusal::kNoTarget) << "the dead are no target";
  mage.dead = true;
  ASSERT_EQ(w.apply_input(mage.id, ClientInput{mage.last_input_seq + 1, 0, 0, foe.id, 3}), ApplyResult::kDead);
}

TEST(Game, AreaSkillsReachTheirLimitOfEnemiesAndNoAlly) {
  World w(content_rules());
  w.set_tick(10);
  Entity& mage = w.spawn(EntityId(1), Vec2{0, 0}, 0, 1, 1);
  w.spawn(EntityId(2), Vec2{20'000, 0}, 1, 1, 1);
  w.spawn(EntityId(3), Vec2{21'000, 0}, 1, 1, 1);
  w.spawn(EntityId(4), Vec2{22'000, 0}, 1, 1, 1);  // third enemy: past area_targets_max 2
  w.spawn(EntityId(5), Vec2{20'500, 0}, 0, 1, 1);  // an ally in the blast
  ASSERT_EQ(use(w, mage, 3, EntityId(2)), Refusal::kNone);
  EXPECT_EQ(w.find(EntityId(2))->hp, 90);
  EXPECT_EQ(w.find(EntityId(3))->hp, 90);
  EXPECT_EQ(w.find(EntityId(4))->hp, 100);
  EXPECT_EQ(w.find(EntityId(5))->hp, 100);
}

TEST(Game, EffectsStackTickShieldExpireAndEndWithTheirBearer) {
  World w(content_rules());
  w.set_tick(0);
  Entity& a = w.spawn(EntityId(1), Vec2{0, 0}, 0, 1, 1);
  Entity& b = w.spawn(EntityId(2), Vec2{10'000, 0}, 1, 1, 1);
  // Poison stacks to 3, each application refreshing it; it ticks every 3 ticks for 4 per stack.
  for (int i = 0; i < 4; ++i) ASSERT_EQ(use(w, a, 6, b.id), Refusal::kNone);
  ASSERT_EQ(b.effects.size(), 1u);
  EXPECT_EQ(b.effects[0].stacks, 3);
  for (Tick t = 1; t <= 9; ++t) {
    w.set_tick(t);
    w.update(b);
  }
  EXPECT_EQ(b.hp, 100 - 3 * 12) << "ticks at 6, 3 and 0 ticks left";
  EXPECT_TRUE(b.effects.empty()) << "expired";
  // A shield absorbs before health and goes when spent.
  w.set_tick(20);
  ASSERT_EQ(use(w, b, 5, b.id), Refusal::kNone);
  ASSERT_EQ(b.effects.size(), 1u);
  w.apply_intent(b, RemoteIntent{IntentKey{NodeId(7), 1, 20, 0}, a.id, b.id, 1, intent::Damage{20}});
  EXPECT_EQ(b.hp, 64);
  EXPECT_EQ(b.effects[0].magnitude, 10);
  w.apply_intent(b, RemoteIntent{IntentKey{NodeId(7), 1, 20, 1}, a.id, b.id, 1, intent::Damage{20}});
  EXPECT_EQ(b.hp, 54);
  EXPECT_TRUE(b.effects.empty());
  // Death ends every effect.
  w.apply_intent(b, RemoteIntent{IntentKey{NodeId(7), 1, 21, 0}, a.id, b.id, 2, intent::ApplyEffect{1}});
  EXPECT_FALSE(b.effects.empty());
  EXPECT_TRUE(w.apply_intent(b, RemoteIntent{IntentKey{NodeId(7), 1, 21, 1}, a.id, b.id, 1, intent::Damage{500}}).died);
  EXPECT_TRUE(b.effects.empty());
}

TEST(Game, ImmunityRefusesAndCleansesItsKindsAndDispelRemovesHarm) {
  World w(content_rules());
  Entity& cleric = w.spawn(EntityId(1), Vec2{0, 0}, 0, 1, 2);
  Entity& mage = w.spawn(EntityId(2), Vec2{3'000, 0}, 1, 1, 1);
  ASSERT_EQ(use(w, mage, 4, cleric.id), Refusal::kNone);  // stunned
  ASSERT_EQ(cleric.effects.size(), 1u);
  w.set_tick(5);
  EXPECT_EQ(use(w, cleric, 4, cleric.id), Refusal::kStunned) << "a stunned cleric cannot ward itself";
  cleric.effects.clear();
  ASSERT_EQ(use(w, cleric, 4, cleric.id), Refusal::kNone);  // ward: immune to stuns
  w.set_tick(50);
  mage.cooldowns.clear();
  ASSERT_EQ(use(w, mage, 4, cleric.id), Refusal::kNone);
  EXPECT_EQ(cleric.effects.size(), 1u) << "the stun was refused: only the ward";
  // Dispel removes one harmful effect.
  w.set_tick(60);
  ASSERT_EQ(use(w, mage, 2, cleric.id), Refusal::kNone);  // chill (harmful)
  ASSERT_EQ(cleric.effects.size(), 2u);
  ASSERT_EQ(use(w, cleric, 3, cleric.id), Refusal::kNone);
  ASSERT_EQ(cleric.effects.size(), 1u);
  EXPECT_EQ(cleric.effects[0].effect, 6) << "the ward stays";
}

TEST(Game, AnIntentAppliesAtMostOnceAcrossAHandoff) {
  World w(content_rules());
  Entity& b = w.spawn(EntityId(2), Vec2{0, 0}, 1, 1, 1);
  const RemoteIntent hit{IntentKey{NodeId(101), 77, 40, 3}, EntityId(1), b.id, 1, intent::Damage{10}};
  EXPECT_EQ(w.apply_intent(b, hit).result, Applied::kApplied);
  EXPECT_EQ(w.apply_intent(b, hit).result, Applied::kDuplicate);
  RemoteIntent older = hit;
  older.key.seq = 1;
  EXPECT_EQ(w.apply_intent(b, older).result, Applied::kDuplicate) << "below the origin's mark";
  EXPECT_EQ(b.hp, 90);
  // The marks travel with the state: the new owner refuses the retry too.
  World other(content_rules());
  const EntityState carried = w.state_of(b);
  Entity& moved = other.restore(carried, 2);
  EXPECT_EQ(other.apply_intent(moved, hit).result, Applied::kDuplicate);
  RemoteIntent next = hit;
  next.key.seq = 4;
  EXPECT_EQ(other.apply_intent(moved, next).result, Applied::kApplied);
  EXPECT_EQ(moved.hp, 80);
  // Another process of the same node (a restart) has marks of its own.
  RemoteIntent restarted = hit;
  restarted.key.incarnation = 78;
  restarted.key.tick = 1;
  EXPECT_EQ(other.apply_intent(moved, restarted).result, Applied::kApplied);
}

TEST(Game, AFullyPopulatedEntitySurvivesEveryPath) {
  World w(content_rules());
  w.set_tick(200);
  Entity& mage = w.spawn(EntityId(1), Vec2{1'000, 2'000}, 0, 4, 1);
  Entity& foe = w.spawn(EntityId(2), Vec2{10'000, 0}, 1, 4, 2);
  ASSERT_EQ(use(w, mage, 2, foe.id), Refusal::kNone);   // frost: cooldown, chill on foe
  ASSERT_EQ(use(w, foe, 2, foe.id), Refusal::kNone);    // renew on itself
  w.set_tick(203);
  ASSERT_EQ(use(w, mage, 5, mage.id), Refusal::kNone);  // barrier: a shield
  w.set_tick(205);
  ASSERT_EQ(use(w, mage, 1, foe.id), Refusal::kNone);   // a bolt being cast
  ASSERT_EQ(w.apply_input(mage.id, ClientInput{mage.last_input_seq + 1, 300, -400, foe.id, 0}), ApplyResult::kApplied);
  // Experience and a level, and attackers the foe would credit if it died.
  ASSERT_TRUE(w.apply_intent(mage, RemoteIntent{IntentKey{NodeId(9), 1, 1, 0}, EntityId(7), mage.id, 0, intent::Experience{45}}).leveled);
  ASSERT_EQ(w.apply_intent(foe, RemoteIntent{IntentKey{NodeId(9), 1, 1, 1}, EntityId(8), foe.id, 1, intent::Damage{3}}).result, Applied::kApplied);
  const EntityState whole = w.state_of(mage);
  ASSERT_EQ(whole.level, 2);
  ASSERT_EQ(whole.experience, 45);
  ASSERT_EQ(w.state_of(foe).attackers.size(), 2u) << "the mage's frost and the damage above";
  ASSERT_FALSE(whole.cooldowns.empty());
  ASSERT_FALSE(whole.effects.empty());
  ASSERT_NE(whole.cast.skill, 0);
  ASSERT_FALSE(w.state_of(foe).intent_marks.empty());
  ASSERT_FALSE(w.state_of(foe).effects.empty());
  // Encoded (feeds, snapshots, handoffs, replicas and storage share the one encoding), restored on
  // another node at another tick: the same state, durations counted from there.
  for (const Entity* e : {&mage, &foe}) {
    const EntityState st = w.state_of(*e);
    EntityState decoded;
    const char* error = nullptr;
    ASSERT_TRUE(unpack_state(pack_state(st), decoded, &error)) << error;
    EXPECT_EQ(decoded, st);
    World other(content_rules());
    other.set_tick(900);
    Entity& back = other.restore(decoded, st.generation + 1);
    EntityState again = other.state_of(back);
    EXPECT_EQ(again.version, st.version + 1);
    again.version = st.version;
    again.generation = st.generation;
    EXPECT_EQ(again, st);
  }
}

// A kill pays its killer (the last to damage the victim), an assist the others still within their
// window, both times the victim's level; levels follow the content's table and raise the class's
// hit points and damage; awards are intents, applied at most once, and the dead earn too.
TEST(Game, KillsAndAssistsEarnExperienceAndLevelsRaiseStats) {
  World w(content_rules());
  w.set_tick(100);
  Entity& a = w.spawn(EntityId(1), Vec2{0, 0}, 0, 1, 1);
  Entity& b = w.spawn(EntityId(2), Vec2{1'000, 0}, 0, 1, 2);
  Entity& c = w.spawn(EntityId(3), Vec2{2'000, 0}, 0, 1, 2);
  Entity& foe = w.spawn(EntityId(4), Vec2{3'000, 0}, 1, 1, 1);
  uint32_t seq = 0;
  auto hit = [&](Entity& from, Entity& to, int32_t amount) {
    return w.apply_intent(to, RemoteIntent{IntentKey{NodeId(5), 1, w.tick(), seq++}, from.id, to.id, 1, intent::Damage{amount}});
  };
  hit(c, foe, 10);          // c's credit lapses before the kill
  w.set_tick(140);
  hit(b, foe, 10);
  w.set_tick(160);
  ASSERT_TRUE(hit(a, foe, 200).died);
  std::vector<RemoteIntent> awards;
  w.award_experience(foe, awards);
  ASSERT_EQ(awards.size(), 2u);
  EXPECT_EQ(awards[0].target, b.id);
  EXPECT_EQ(std::get<intent::Experience>(awards[0].action).amount, 8) << "an assist";
  EXPECT_EQ(awards[1].target, a.id);
  EXPECT_EQ(std::get<intent::Experience>(awards[1].action).amount, 20) << "the kill";
  EXPECT_TRUE(w.state_of(foe).attackers.empty()) << "credited once";
  std::vector<RemoteIntent> again;
  w.award_experience(foe, again);
  EXPECT_TRUE(again.empty());
  for (const RemoteIntent& i : awards) EXPECT_EQ(w.apply_intent(*w.find(i.target), i).result, Applied::kApplied);
  EXPECT_EQ(w.apply_intent(a, awards[1]).result, Applied::kDuplicate) << "an award applies at most once";
  EXPECT_EQ(a.experience, 20);
  EXPECT_EQ(a.level, 1);
  // A second kill takes a to level 2 (30): +10 hit points, +100 permille damage.
  a.hp = 90;
  const ApplyOutcome up = w.apply_intent(a, RemoteIntent{IntentKey{NodeId(6), 1, 1, 0}, foe.id, a.id, 0, intent::Experience{20}});
  EXPECT_TRUE(up.leveled);
  EXPECT_EQ(a.level, 2);
  EXPECT_EQ(a.hp_max(), 110);
  EXPECT_EQ(a.hp, 100) << "the level's hit points are gained";
  a.global_ready = 0;
  a.target = foe.id;
  std::vector<RemoteIntent> made;
  Xoshiro256 rng(1);
  w.respawn(foe, World::spawn_point(rules(), foe.team, rng));
  foe.pos = Vec2{3'000, 0};
  WorldAround around(w);
  ASSERT_EQ(w.apply_input(a.id, ClientInput{a.last_input_seq + 1, 0, 0, foe.id, 3}), ApplyResult::kApplied);
  ASSERT_EQ(w.act(a, around, made), Refusal::kNone);
  ASSERT_EQ(made.size(), 1u);
  EXPECT_EQ(std::get<intent::Damage>(made.front().action).amount, 11) << "blast (10) at level 2";
  // Past the last level experience still counts but levels stop; the dead earn too.
  ASSERT_TRUE(hit(foe, a, 500).died);
  EXPECT_EQ(w.apply_intent(a, RemoteIntent{IntentKey{NodeId(6), 1, 2, 0}, foe.id, a.id, 0, intent::Experience{100}}).result, Applied::kApplied);
  EXPECT_EQ(a.level, 3);
  EXPECT_EQ(a.experience, 140);
  EXPECT_EQ(a.hp, 0) << "a level does not raise the dead";
  w.respawn(a, World::spawn_point(rules(), a.team, rng));
  EXPECT_EQ(a.hp, 120);
  // A death no one's recent damage caused (its attackers' windows lapsed) pays no one.
  w.set_tick(200);
  hit(a, foe, 1);
  w.set_tick(300);
  ASSERT_TRUE(w.apply_intent(foe, RemoteIntent{IntentKey{NodeId(5), 1, w.tick(), seq++}, EntityId{}, foe.id, 1, intent::Damage{1'000}}).died);
  std::vector<RemoteIntent> lapsed;
  w.award_experience(foe, lapsed);
  EXPECT_TRUE(lapsed.empty());
  // Remote awards are checked against the content: at most one death's worth.
  EXPECT_TRUE(experience_fits(w.content(), intent::Experience{20 * 3}));
  EXPECT_FALSE(experience_fits(w.content(), intent::Experience{20 * 3 + 1}));
  EXPECT_FALSE(experience_fits(w.content(), intent::Experience{0}));
  EXPECT_FALSE(experience_fits(w.content(), intent::Damage{5}));
  EXPECT_FALSE(action_fits(*w.content().find_skill(1), intent::Experience{5})) << "no skill makes experience";
  EXPECT_FALSE(experience_fits(*classic_content(rules()), intent::Experience{1})) << "content without levels awards none";
}

TEST(Content, LevelsAreCheckedAndHashed) {
  Content c = *test_content();
  EXPECT_EQ(c.experience.level_for(0), 1);
  EXPECT_EQ(c.experience.level_for(29), 1);
  EXPECT_EQ(c.experience.level_for(30), 2);
  EXPECT_EQ(c.experience.level_for(1'000), 3);
  c.experience.level_xp = {30, 30};
  c.experience.assist_xp = 40;
  c.classes[0].hp_per_level = kStatMax;
  const auto errors = check(c);
  auto has = [&](ContentError::Where where, const char* field) {
    return std::any_of(errors.begin(), errors.end(), [&](const ContentError& e) { return e.where == where && e.field == field; });
  };
  EXPECT_TRUE(has(ContentError::Where::kExperience, "level_xp"));
  EXPECT_TRUE(has(ContentError::Where::kExperience, "assist_xp"));
  EXPECT_TRUE(has(ContentError::Where::kClass, "hp_per_level"));
  Content changed = *test_content();
  changed.experience.kill_xp += 1;
  EXPECT_NE(changed.hash(), test_content()->hash());
}

TEST(Game, RemoteActionsMustBeOnesTheSkillMakes) {
  const auto c = test_content();
  const SkillDef& bolt = *c->find_skill(1);
  EXPECT_TRUE(action_fits(bolt, intent::Damage{30}));
  EXPECT_TRUE(action_fits(bolt, intent::Damage{30 * 11}));
  EXPECT_FALSE(action_fits(bolt, intent::Damage{30 * 11 + 1}));
  EXPECT_FALSE(action_fits(bolt, intent::Heal{1}));
  EXPECT_FALSE(action_fits(bolt, intent::ApplyEffect{2}));
  EXPECT_FALSE(action_fits(bolt, intent::Interrupt{}));
  const SkillDef& bash = *c->find_skill(4);
  EXPECT_TRUE(action_fits(bash, intent::Interrupt{}));
  EXPECT_TRUE(action_fits(bash, intent::ApplyEffect{2}));
  EXPECT_FALSE(action_fits(bash, intent::ApplyEffect{1}));
  EXPECT_FALSE(action_fits(*c->find_skill(8), intent::Dispel{2}));
}

TEST(Content, CheckNamesEveryFault) {
  Content c = *test_content();
  c.classes[1].skills.push_back(42);
  c.skills[0].range_mm = -1;
  c.effects[4].stacks_max = 40;
  c.skills.push_back(c.skills[0]);
  const auto errors = check(c);
  auto has = [&](ContentError::Where where, const char* field) {
    return std::any_of(errors.begin(), errors.end(), [&](const ContentError& e) { return e.where == where && e.field == field; });
  };
  EXPECT_TRUE(has(ContentError::Where::kClass, "skills"));
  EXPECT_TRUE(has(ContentError::Where::kSkill, "range_m"));
  EXPECT_TRUE(has(ContentError::Where::kEffect, "stacks_max"));
  EXPECT_TRUE(has(ContentError::Where::kSkill, "id"));
  EXPECT_NE(test_content()->hash(), classic_content(rules())->hash());
  Content changed = *test_content();
  changed.skills[0].damage += 1;
  EXPECT_NE(changed.hash(), test_content()->hash()) << "any rule changes the hash";
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

// A front narrower than the arena: the teams' bands sit side by side inside a strip of that width
// at the middle (scenarios/v3-battle), team 0 left of the middle line, team 1 right of it.
TEST(World, ANarrowFrontPutsTheTeamsSideBySideAtTheMiddle) {
  Rules r = rules();
  r.teams = 2;
  r.spawn_front_mm = r.arena_mm / 4;
  const int32_t left = (r.arena_mm - r.spawn_front_mm) / 2;
  const int32_t middle = r.arena_mm / 2;
  Xoshiro256 rng(7);
  for (int i = 0; i < 200; ++i) {
    const Vec2 p0 = World::spawn_point(r, 0, rng);
    const Vec2 p1 = World::spawn_point(r, 1, rng);
    EXPECT_GE(p0.x_mm, left);
    EXPECT_LT(p0.x_mm, middle);
    EXPECT_GE(p1.x_mm, middle);
    EXPECT_LT(p1.x_mm, left + r.spawn_front_mm);
  }
}

}  // namespace
}  // namespace aether::gameplay
