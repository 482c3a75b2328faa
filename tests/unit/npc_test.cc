// NPCs (engine/gameplay/npc.h): the threat table, the AI's aggro, chase, leash and return, the
// spawner's respawn delay, experience for kills, and the NPC component through the canonical
// encoding and a restore on another node.

#include <gtest/gtest.h>

#include "engine/gameplay/world.h"
#include "engine/wire/state_codec.h"

namespace aether::gameplay {
namespace {

// Surroundings over the world alone, nearest first, as phase 2 sees it.
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
    std::vector<std::pair<int64_t, EntityId>> found;
    for (const auto& [id, e] : w_.entities()) {
      if (within_mm(e.pos, at, radius_mm)) found.emplace_back(distance_sq_mm2(e.pos, at), id);
    }
    std::sort(found.begin(), found.end());
    if (found.size() > max) found.resize(max);
    all_.clear();
    for (const auto& [d, id] : found) all_.push_back(w_.state_of(*w_.find(id)));
    for (const EntityState& s : all_) out.push_back(&s);
  }

 private:
  World& w_;
  EntityState one_;
  std::vector<EntityState> all_;
};

constexpr uint16_t kWolf = 101;
constexpr uint32_t kRespawnTicks = 50;
const Vec2 kHome{50'000, 50'000};

// A fighter (hit: 5 m, 10 damage) and a wolf (bite: 4 m, 6 damage, cooldown 10; aggro 10 m,
// leash 30 m), one spawner of two wolves at (50 m, 50 m).
std::shared_ptr<const Content> npc_content() {
  auto c = std::make_shared<Content>();
  SkillDef hit;
  hit.id = 1;
  hit.name = "hit";
  hit.range_mm = 5'000;
  hit.damage = 10;
  hit.on_global_cooldown = false;
  SkillDef bite;
  bite.id = 2;
  bite.name = "bite";
  bite.range_mm = 4'000;
  bite.cooldown_ticks = 10;
  bite.damage = 6;
  bite.on_global_cooldown = false;
  c->skills = {hit, bite};
  ClassDef fighter{1, "fighter", 100, Resource::kNone, 0, 0, 0, 0, 600, {1}, 0, 0, 0};
  c->classes = {fighter};
  MonsterDef wolf;
  wolf.id = kWolf;
  wolf.name = "wolf";
  wolf.stats = ClassDef{kWolf, "wolf", 80, Resource::kNone, 0, 0, 0, 0, 500, {2}, 0, 0, 0};
  wolf.aggro_radius_mm = 10'000;
  wolf.leash_mm = 30'000;
  c->monsters = {wolf};
  c->spawners = {SpawnerDef{1, "den", kWolf, kHome, 5'000, 2, kRespawnTicks}};
  c->experience = ExperienceDef{20, 8, 50, {30, 60}};
  EXPECT_TRUE(check(*c).empty());
  return c;
}

Rules npc_rules() {
  Rules r;
  r.arena_mm = 200'000;
  r.content = npc_content();
  return r;
}

// One tick of what the compute node does for these entities: AI and skills (phase 2), movement and
// respawns (phase 3), intents (phase 4).
void tick(World& w, Tick t) {
  w.set_tick(t);
  WorldAround around(w);
  std::vector<RemoteIntent> made;
  for (auto& [id, e] : w.mutable_entities()) {
    if (e.is_npc()) w.think(e, around);
    if (e.skill_requested != 0 || e.cast.skill != 0) w.act(e, around, made);
  }
  for (auto& [id, e] : w.mutable_entities()) w.update(e);
  for (const RemoteIntent& i : made) {
    if (Entity* target = w.find(i.target)) w.apply_intent(*target, i);
  }
}

TEST(ThreatTable, HighestThreatIsTheTargetTiesToTheLowestId) {
  ThreatTable t;
  EXPECT_FALSE(top_threat(t).valid());
  add_threat(t, EntityId(5), 10);
  add_threat(t, EntityId(3), 10);
  EXPECT_EQ(top_threat(t), EntityId(3)) << "a tie goes to the lowest id";
  add_threat(t, EntityId(5), 1);
  EXPECT_EQ(top_threat(t), EntityId(5));
  add_threat(t, EntityId(3), kThreatMax);
  EXPECT_EQ(t[1].threat, kThreatMax) << "threat saturates";
  EXPECT_EQ(top_threat(t), EntityId(3));
  drop_threat(t, EntityId(3));
  EXPECT_EQ(top_threat(t), EntityId(5));
  EXPECT_EQ(t.size(), 1u);
}

TEST(ThreatTable, AtItsLimitANewcomerReplacesTheLowestOnlyIfItBringsMore) {
  ThreatTable t;
  for (uint64_t i = 1; i <= kThreatEntriesMax; ++i) add_threat(t, EntityId(i), static_cast<int32_t>(10 * i));
  ASSERT_TRUE(t.full());
  add_threat(t, EntityId(100), 10);  // no more than the lowest (entity 1, 10): not kept
  EXPECT_EQ(t.size(), kThreatEntriesMax);
  EXPECT_TRUE(std::none_of(t.begin(), t.end(), [](const ThreatEntry& e) { return e.entity == EntityId(100); }));
  add_threat(t, EntityId(100), 11);  // more: replaces entity 1
  EXPECT_EQ(t.size(), kThreatEntriesMax);
  EXPECT_TRUE(std::none_of(t.begin(), t.end(), [](const ThreatEntry& e) { return e.entity == EntityId(1); }));
  EXPECT_TRUE(std::any_of(t.begin(), t.end(), [](const ThreatEntry& e) { return e.entity == EntityId(100) && e.threat == 11; }));
  EXPECT_EQ(top_threat(t), EntityId(kThreatEntriesMax));
}

TEST(Npc, AggroesOnAnEnemyWithinItsRadiusChasesAndBites) {
  World w(npc_rules());
  Entity& wolf = *w.spawn_npc(EntityId(100), 1, kHome, 1);
  EXPECT_EQ(wolf.team, kNpcTeam);
  EXPECT_EQ(wolf.hp, 80);
  EXPECT_EQ(w.apply_input(wolf.id, ClientInput{1, 1000, 0, EntityId{}, 1}), ApplyResult::kUnknownEntity) << "no client drives an NPC";
  Entity& player = w.spawn(EntityId(1), Vec2{kHome.x_mm + 15'000, kHome.y_mm}, 0, 1);
  for (Tick t = 1; t <= 6; ++t) tick(w, t);
  EXPECT_EQ(wolf.npc.ai, AiState::kIdle) << "15 m away: outside its 10 m aggro radius";
  EXPECT_EQ(wolf.pos, kHome);
  player.pos.x_mm = kHome.x_mm + 9'000;
  Tick t = 7;
  for (; t <= 9; ++t) tick(w, t);  // an aggro scan within kAggroScanTicks
  ASSERT_EQ(wolf.npc.ai, AiState::kChasing);
  EXPECT_EQ(wolf.target, player.id);
  ASSERT_EQ(wolf.npc.threat.size(), 1u);
  EXPECT_GT(wolf.move_x, 0) << "it runs at the player";
  // It closes the 9 m to its 4 m reach at 0.5 m a tick, then bites every 10 ticks.
  for (; t <= 40 && player.hp == 100; ++t) tick(w, t);
  EXPECT_EQ(player.hp, 94);
  EXPECT_TRUE(within_mm(wolf.pos, player.pos, 4'000));
  EXPECT_EQ(wolf.move_x, 0) << "in reach it stands";
  for (Tick end = t + 10; t < end; ++t) tick(w, t);
  EXPECT_EQ(player.hp, 88) << "one bite per cooldown";
}

TEST(Npc, DamageAggroesFromAfarAndTheHighestThreatIsTheTarget) {
  World w(npc_rules());
  Entity& wolf = *w.spawn_npc(EntityId(100), 1, kHome, 1);
  Entity& a = w.spawn(EntityId(1), Vec2{kHome.x_mm + 20'000, kHome.y_mm}, 0, 1);
  Entity& b = w.spawn(EntityId(2), Vec2{kHome.x_mm - 20'000, kHome.y_mm}, 0, 1);
  uint32_t seq = 0;
  auto hit = [&](Entity& from, int32_t amount) {
    w.apply_intent(wolf, RemoteIntent{IntentKey{NodeId(1), 1, w.tick(), seq++}, from.id, wolf.id, 1, intent::Damage{amount}});
  };
  w.set_tick(1);
  hit(a, 5);
  EXPECT_EQ(wolf.npc.ai, AiState::kChasing) << "damage aggroes, whatever the distance";
  hit(b, 8);
  tick(w, 2);
  EXPECT_EQ(wolf.target, b.id);
  EXPECT_LT(wolf.move_x, 0) << "toward b";
  hit(a, 4);  // a: 9, b: 8
  tick(w, 3);
  EXPECT_EQ(wolf.target, a.id);
  EXPECT_GT(wolf.move_x, 0);
  // A target that dies leaves the table; the next one takes its place.
  w.apply_intent(a, RemoteIntent{IntentKey{NodeId(1), 1, 3, seq++}, EntityId(9), a.id, 1, intent::Damage{1000}});
  ASSERT_TRUE(a.dead);
  tick(w, 4);
  EXPECT_EQ(wolf.target, b.id);
  EXPECT_EQ(wolf.npc.threat.size(), 1u);
}

TEST(Npc, BeyondItsLeashItReturnsHomeAndHealsToFull) {
  World w(npc_rules());
  Entity& wolf = *w.spawn_npc(EntityId(100), 1, kHome, 1);
  Entity& runner = w.spawn(EntityId(1), Vec2{kHome.x_mm + 3'000, kHome.y_mm}, 0, 1);
  w.set_tick(1);
  w.apply_intent(wolf, RemoteIntent{IntentKey{NodeId(1), 1, 1, 0}, runner.id, wolf.id, 1, intent::Damage{30}});
  ASSERT_EQ(wolf.hp, 50);
  // The runner flees faster than the wolf (6 m/s against 5): the wolf gives up past 30 m from home.
  Tick t = 2;
  for (; t < 200 && wolf.npc.ai != AiState::kReturning; ++t) {
    runner.move_x = 1000;
    runner.move_y = 0;
    tick(w, t);
  }
  ASSERT_EQ(wolf.npc.ai, AiState::kReturning);
  // It gave up past 30 m (and has taken its first step home since).
  EXPECT_GT(distance_sq_mm2(wolf.pos, kHome), int64_t{29'500} * 29'500);
  EXPECT_TRUE(wolf.npc.threat.empty());
  EXPECT_FALSE(wolf.target.valid());
  // Damage on the way home earns no threat.
  w.apply_intent(wolf, RemoteIntent{IntentKey{NodeId(1), 1, t, 1}, runner.id, wolf.id, 1, intent::Damage{5}});
  EXPECT_TRUE(wolf.npc.threat.empty());
  EXPECT_EQ(wolf.npc.ai, AiState::kReturning);
  runner.move_x = 0;
  for (; t < 400 && wolf.npc.ai == AiState::kReturning; ++t) tick(w, t);
  EXPECT_EQ(wolf.npc.ai, AiState::kIdle);
  EXPECT_EQ(wolf.pos, kHome);
  EXPECT_EQ(wolf.hp, 80) << "home again, at full health";
}

TEST(Npc, ADeadNpcRespawnsAtHomeAfterItsSpawnersDelayAndPaysExperience) {
  World w(npc_rules());
  Entity& wolf = *w.spawn_npc(EntityId(100), 1, kHome, 1);
  Entity& hunter = w.spawn(EntityId(1), Vec2{kHome.x_mm + 3'000, kHome.y_mm}, 0, 1);
  w.set_tick(100);
  wolf.pos.x_mm += 2'000;
  const ApplyOutcome out = w.apply_intent(wolf, RemoteIntent{IntentKey{NodeId(1), 1, 100, 0}, hunter.id, wolf.id, 1, intent::Damage{80}});
  ASSERT_TRUE(out.died);
  EXPECT_TRUE(wolf.npc.threat.empty());
  std::vector<RemoteIntent> awards;
  w.award_experience(wolf, awards);
  ASSERT_EQ(awards.size(), 1u);
  EXPECT_EQ(awards[0].target, hunter.id);
  w.apply_intent(hunter, awards[0]);
  EXPECT_EQ(hunter.experience, 20) << "kill_xp times the wolf's level";
  // The dead wolf's state carries the time left to its respawn.
  w.set_tick(110);
  EXPECT_EQ(w.state_of(wolf).npc.respawn_ticks_left, kRespawnTicks - 10);
  for (Tick t = 101; t < 100 + kRespawnTicks; ++t) tick(w, t);
  EXPECT_TRUE(wolf.dead) << "not before its spawner's delay";
  tick(w, 100 + kRespawnTicks);
  EXPECT_FALSE(wolf.dead);
  EXPECT_EQ(wolf.hp, 80);
  EXPECT_EQ(wolf.pos, kHome);
  EXPECT_EQ(wolf.npc.ai, AiState::kIdle);
  // Players an NPC kills pay it nothing: monsters stay at level 1.
  const ApplyOutcome xp = w.apply_intent(wolf, RemoteIntent{IntentKey{NodeId(1), 1, 200, 0}, hunter.id, wolf.id, 0, intent::Experience{20}});
  EXPECT_EQ(xp.result, Applied::kNoEffect);
  EXPECT_EQ(wolf.experience, 0);
  EXPECT_EQ(wolf.level, 1);
}

// The NPC component (spawner, AI state, home, threat table, respawn timer) travels in the one
// canonical encoding and a restore on another node at another tick resumes it.
TEST(Npc, ItsStateSurvivesTheEncodingAndARestoreElsewhere) {
  World w(npc_rules());
  w.set_tick(300);
  Entity& chaser = *w.spawn_npc(EntityId(100), 1, kHome, 3);
  Entity& dead = *w.spawn_npc(EntityId(101), 1, Vec2{kHome.x_mm + 1'000, kHome.y_mm}, 3);
  for (uint64_t i = 1; i <= 3; ++i) {
    w.apply_intent(chaser, RemoteIntent{IntentKey{NodeId(1), 1, 300, static_cast<uint32_t>(i)}, EntityId(i), chaser.id, 1, intent::Damage{static_cast<int32_t>(i)}});
  }
  w.apply_intent(dead, RemoteIntent{IntentKey{NodeId(1), 1, 300, 9}, EntityId(1), dead.id, 1, intent::Damage{500}});
  chaser.move_x = 700;
  ASSERT_EQ(chaser.npc.ai, AiState::kChasing);
  ASSERT_EQ(chaser.npc.threat.size(), 3u);
  ASSERT_TRUE(dead.dead);
  w.set_tick(320);
  for (const Entity* e : {&chaser, &dead}) {
    const EntityState st = w.state_of(*e);
    EXPECT_EQ(st.kind, kEntityKindNpc);
    EntityState decoded;
    const char* error = nullptr;
    ASSERT_TRUE(unpack_state(pack_state(st), decoded, &error)) << error;
    EXPECT_EQ(decoded, st);
    World other(npc_rules());
    other.set_tick(900);
    Entity& back = other.restore(decoded, st.generation + 1);
    EXPECT_TRUE(back.is_npc());
    EntityState again = other.state_of(back);
    again.version = st.version;
    again.generation = st.generation;
    EXPECT_EQ(again, st);
    if (back.dead) {
      for (Tick t = 901; t < 900 + st.npc.respawn_ticks_left; ++t) tick(other, t);
      EXPECT_TRUE(back.dead);
      tick(other, 900 + st.npc.respawn_ticks_left);
      EXPECT_FALSE(back.dead) << "the respawn timer resumed where it was";
      EXPECT_EQ(back.pos, st.npc.home);
    } else {
      EXPECT_EQ(top_threat(back.npc.threat), EntityId(3));
    }
  }
  // An avatar's bytes carry no NPC component (and are what they were before NPCs).
  Entity& avatar = w.spawn(EntityId(7), kHome, 0, 1);
  EntityState st = w.state_of(avatar);
  st.npc.spawner = 1;
  EntityState decoded;
  const char* error = nullptr;
  ASSERT_TRUE(unpack_state(pack_state(st), decoded, &error)) << error;
  EXPECT_EQ(decoded.npc, NpcState{});
  // Bytes that carry the component for anything but an NPC are no encoding of ours (the fuzzer's
  // canonical check found the decoder took them): refused, with a reason.
  EntityState npc_state = w.state_of(chaser);
  std::vector<uint8_t> bytes = pack_state(npc_state);
  ASSERT_TRUE(unpack_state(bytes, decoded, &error)) << error;
  npc_state.kind = 0;
  std::vector<uint8_t> forged;
  ByteWriter fw(forged);
  fw.varint(npc_state.id.value);
  fw.varint(npc_state.generation);
  fw.varint(npc_state.version);
  fw.varint(kFieldNpc);
  fw.varint(1);                 // spawner
  fw.varint(0);                 // AI state
  fw.zigzag(kHome.x_mm);
  fw.zigzag(kHome.y_mm);
  fw.varint(0);                 // respawn ticks
  fw.varint(0);                 // no threat
  error = nullptr;
  EXPECT_FALSE(unpack_state(forged, decoded, &error));
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error).find("NPC"), std::string::npos) << error;
}

TEST(Npc, ContentRulesForMonstersAndSpawners) {
  auto c = std::make_shared<Content>(*npc_content());
  EXPECT_EQ(c->find_class(kWolf), &c->monsters[0].stats) << "a monster's stats are its class";
  EXPECT_EQ(c->npcs_max(), 2u);
  Content bad = *c;
  bad.monsters[0].leash_mm = 5'000;  // nearer than its aggro radius
  auto errors = check(bad);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].where, ContentError::Where::kMonster);
  EXPECT_EQ(errors[0].field, "leash_m");
  bad = *c;
  bad.spawners[0].count = 0;
  errors = check(bad);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].where, ContentError::Where::kSpawner);
  EXPECT_EQ(errors[0].field, "count");
  bad = *c;
  bad.monsters[0].id = 1;  // a class's id
  bad.monsters[0].stats.id = 1;
  bad.spawners[0].monster = 1;
  errors = check(bad);
  ASSERT_FALSE(errors.empty());
  EXPECT_EQ(errors[0].field, "id");
  // Content with NPCs hashes differently from the same content without them.
  Content none = *c;
  none.monsters.clear();
  none.spawners.clear();
  EXPECT_NE(none.hash(), c->hash());
}

}  // namespace
}  // namespace aether::gameplay
