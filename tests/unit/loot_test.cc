// Loot in the battle (docs/persistence.md §9c): the drop a death makes for its killer, the
// inventory component through the canonical encoding and a restore elsewhere (feeds, snapshots and
// handoffs all carry that encoding), at most one item per kill however often its intent is
// retried, a full inventory, and the ledger entries the compute node logs.

#include <gtest/gtest.h>

#include "engine/compute/loot_log.h"
#include "engine/gameplay/world.h"
#include "engine/wire/codec.h"
#include "engine/wire/state_codec.h"

namespace aether::gameplay {
namespace {

constexpr uint16_t kOre = 1;
constexpr uint16_t kHerb = 2;

// One class with one hit, and a drop table: ore or herb, never nothing (unless asked).
std::shared_ptr<const Content> loot_content(uint32_t nothing_weight = 0) {
  auto c = std::make_shared<Content>();
  SkillDef hit;
  hit.id = 1;
  hit.name = "hit";
  hit.range_mm = 5'000;
  hit.damage = 10;
  c->skills = {hit};
  c->classes = {ClassDef{1, "fighter", 100, Resource::kNone, 0, 0, 0, 0, 600, {1}, 0, 0, 0}};
  c->experience = ExperienceDef{20, 8, 50, {30, 60}};
  c->loot.nothing_weight = nothing_weight;
  c->loot.drops = {LootDrop{kOre, 4}, LootDrop{kHerb, 4}};
  EXPECT_TRUE(check(*c).empty());
  return c;
}

Rules loot_rules(uint32_t nothing_weight = 0) {
  Rules r;
  r.arena_mm = 200'000;
  r.content = loot_content(nothing_weight);
  return r;
}

// Kills `victim` by `killer` at tick t and returns the loot intent its owner would route.
RemoteIntent kill(World& w, Entity& victim, Entity& killer, Tick t) {
  w.set_tick(t);
  const ApplyOutcome out = w.apply_intent(victim, RemoteIntent{IntentKey{NodeId(1), 1, t, 0}, killer.id, victim.id, 1, intent::Damage{1000}});
  EXPECT_TRUE(out.died);
  std::optional<RemoteIntent> loot = w.loot_for(victim, killer.id);
  EXPECT_TRUE(loot.has_value());
  return loot.value_or(RemoteIntent{});
}

TEST(Loot, AKillDropsOneItemOfTheTableForItsKillerOnce) {
  World w(loot_rules());
  w.intent_keys().set_origin(NodeId(7), 3);
  Entity& hunter = w.spawn(EntityId(1), Vec2{10'000, 10'000}, 0, 1);
  Entity& prey = w.spawn(EntityId(2), Vec2{11'000, 10'000}, 1, 1);
  const RemoteIntent loot = kill(w, prey, hunter, 40);
  EXPECT_EQ(loot.source, prey.id);
  EXPECT_EQ(loot.target, hunter.id);
  EXPECT_EQ(loot.skill, 0);
  ASSERT_TRUE(std::holds_alternative<intent::Loot>(loot.action));
  const uint16_t kind = std::get<intent::Loot>(loot.action).item;
  EXPECT_TRUE(kind == kOre || kind == kHerb);
  EXPECT_TRUE(loot_fits(w.content(), loot.action));
  EXPECT_FALSE(loot_fits(w.content(), IntentAction{intent::Loot{99}})) << "an item the table does not drop";
  // The draw is a function of the victim and the tick: the same death draws the same item.
  World again(loot_rules());
  Entity& h2 = again.spawn(EntityId(1), Vec2{10'000, 10'000}, 0, 1);
  Entity& p2 = again.spawn(EntityId(2), Vec2{11'000, 10'000}, 1, 1);
  EXPECT_EQ(std::get<intent::Loot>(kill(again, p2, h2, 40).action).item, kind);

  const uint64_t before = hunter.version;
  EXPECT_EQ(w.apply_intent(hunter, loot).result, Applied::kApplied);
  ASSERT_EQ(hunter.inventory.size(), 1u);
  EXPECT_EQ(hunter.inventory[0].kind, kind);
  EXPECT_EQ(hunter.inventory[0].victim, prey.id);
  EXPECT_EQ(hunter.inventory[0].key, loot.key) << "the item's id is the intent's idempotency key";
  EXPECT_EQ(hunter.inventory[0].key.origin, NodeId(7));
  EXPECT_EQ(hunter.inventory[0].key.incarnation, 3u);
  EXPECT_EQ(hunter.inventory[0].key.tick, 40u);
  EXPECT_GT(hunter.version, before);
  // The same kill retried (the intent again, as after a lost acknowledgement or a forward after a
  // move) makes nothing: its mark is there ...
  EXPECT_EQ(w.apply_intent(hunter, loot).result, Applied::kDuplicate);
  // ... and so is the item, should the mark have been forgotten (marks are bounded).
  hunter.intent_marks.clear();
  EXPECT_EQ(w.apply_intent(hunter, loot).result, Applied::kDuplicate);
  EXPECT_EQ(hunter.inventory.size(), 1u);
  // The dead keep what their kills earned: loot reaches a dead killer too.
  hunter.dead = true;
  Entity& prey2 = w.spawn(EntityId(3), Vec2{11'000, 10'000}, 1, 1);
  const RemoteIntent second = kill(w, prey2, hunter, 41);
  EXPECT_EQ(w.apply_intent(hunter, second).result, Applied::kApplied);
  EXPECT_EQ(hunter.inventory.size(), 2u);
}

TEST(Loot, NoDropWithoutATableForNoKillerOrByTheNothingShare) {
  World plain(Rules{});
  Entity& a = plain.spawn(EntityId(1), Vec2{}, 0, 1);
  Entity& b = plain.spawn(EntityId(2), Vec2{}, 1, 1);
  EXPECT_FALSE(plain.loot_for(b, a.id).has_value()) << "classic content has no drop table";

  World w(loot_rules());
  Entity& x = w.spawn(EntityId(1), Vec2{}, 0, 1);
  Entity& y = w.spawn(EntityId(2), Vec2{}, 1, 1);
  EXPECT_FALSE(w.loot_for(y, EntityId{}).has_value()) << "no killer, no attacker";
  EXPECT_FALSE(w.loot_for(y, y.id).has_value()) << "no loot for killing oneself";
  // A death by an effect names no killer: its last attacker within the window gets the loot.
  w.set_tick(10);
  w.apply_intent(y, RemoteIntent{IntentKey{NodeId(1), 1, 10, 0}, x.id, y.id, 1, intent::Damage{1}});
  std::optional<RemoteIntent> by_attacker = w.loot_for(y, EntityId{});
  ASSERT_TRUE(by_attacker.has_value());
  EXPECT_EQ(by_attacker->target, x.id);

  World never(loot_rules(1'000'000'000));
  Entity& p = never.spawn(EntityId(1), Vec2{}, 0, 1);
  size_t drops = 0;
  for (uint64_t v = 2; v < 50; ++v) {
    Entity& q = never.spawn(EntityId(v), Vec2{}, 1, 1);
    never.set_tick(v);
    drops += never.loot_for(q, p.id).has_value();
  }
  EXPECT_EQ(drops, 0u) << "the nothing share outweighs the drops a billion to eight";
  LootDef table;
  table.nothing_weight = 2;
  table.drops = {LootDrop{kOre, 4}, LootDrop{kHerb, 4}};
  // Drops first, in table order, then the nothing share: [0, 4) ore, [4, 8) herb, [8, 10) nothing.
  EXPECT_EQ(table.pick(3), kOre);
  EXPECT_EQ(table.pick(4), kHerb);
  EXPECT_EQ(table.pick(7), kHerb);
  EXPECT_EQ(table.pick(8), 0);
  EXPECT_EQ(table.pick(9), 0);
  EXPECT_EQ(table.pick(10), kOre);
}

TEST(Loot, AFullInventoryMakesNoItemAndChangesNothing) {
  World w(loot_rules());
  Entity& hunter = w.spawn(EntityId(1), Vec2{}, 0, 1);
  for (uint64_t v = 0; v < kInventoryItemsMax; ++v) {
    Entity& prey = w.spawn(EntityId(100 + v), Vec2{}, 1, 1);
    ASSERT_EQ(w.apply_intent(hunter, kill(w, prey, hunter, 10 + v)).result, Applied::kApplied);
  }
  ASSERT_TRUE(hunter.inventory.full());
  Entity& one_more = w.spawn(EntityId(200), Vec2{}, 1, 1);
  const RemoteIntent loot = kill(w, one_more, hunter, 99);
  const EntityState before = w.state_of(hunter);
  EXPECT_EQ(w.apply_intent(hunter, loot).result, Applied::kFull);
  EntityState after = w.state_of(hunter);
  EXPECT_EQ(after.inventory, before.inventory) << "no item made, none displaced";
  for (const LootItem& i : hunter.inventory) EXPECT_NE(i.victim, one_more.id);
}

// The inventory is part of the canonical state: what feeds between servers, snapshots and handoffs
// carry, and a restore on another node (a migration, a recovery) keeps it whole. Clients never see
// it, and an avatar without loot encodes to the bytes it had before loot.
TEST(Loot, TheInventorySurvivesTheEncodingAndARestoreElsewhereAndStaysOffClients) {
  World w(loot_rules());
  w.intent_keys().set_origin(NodeId(9), 2);
  Entity& hunter = w.spawn(EntityId(1), Vec2{10'000, 10'000}, 0, 4);
  const std::vector<uint8_t> without = pack_state(w.state_of(hunter));
  for (uint64_t v = 0; v < 3; ++v) {
    Entity& prey = w.spawn(EntityId(100 + v), Vec2{}, 1, 1);
    ASSERT_EQ(w.apply_intent(hunter, kill(w, prey, hunter, 10 + v)).result, Applied::kApplied);
  }
  const EntityState st = w.state_of(hunter);
  ASSERT_EQ(st.inventory.size(), 3u);
  EntityState decoded;
  const char* error = nullptr;
  ASSERT_TRUE(unpack_state(pack_state(st), decoded, &error)) << error;
  EXPECT_EQ(decoded, st);
  std::vector<EntityState> list;
  ASSERT_TRUE(unpack_states(pack_states(std::vector<EntityState>{st, st}), 4, list, &error)) << error;
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[1].inventory, st.inventory);
  // Restored on another node at another tick (a handoff, or a recovery from a snapshot or ghost).
  World other(loot_rules());
  other.set_tick(500);
  Entity& back = other.restore(decoded, st.generation + 1);
  EXPECT_EQ(back.inventory, hunter.inventory);
  EntityState again = other.state_of(back);
  EXPECT_EQ(again.inventory, st.inventory);
  // Owner and public projections (the clients') carry no inventory, and no bytes for it.
  for (uint32_t fields : {kFieldsOwner, kFieldsPublic}) {
    EntityState projected;
    ASSERT_TRUE(unpack_state(pack_state(st, fields), projected, &error)) << error;
    EXPECT_TRUE(projected.inventory.empty());
    EntityState bare = st;
    bare.inventory.clear();
    EXPECT_EQ(pack_state(st, fields), pack_state(bare, fields));
  }
  // An avatar without loot: its bytes are those it had before (no empty component).
  World fresh(loot_rules());
  EXPECT_EQ(pack_state(fresh.state_of(fresh.spawn(EntityId(1), Vec2{10'000, 10'000}, 0, 4))), without);
}

TEST(Loot, NonCanonicalInventoriesAreRefusedWithAReason) {
  auto forged = [](std::initializer_list<uint64_t> inventory_varints) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    w.varint(5);  // id
    w.varint(1);  // generation
    w.varint(1);  // version
    w.varint(kFieldInventory);
    for (uint64_t v : inventory_varints) w.varint(v);
    return out;
  };
  EntityState s;
  const char* error = nullptr;
  EXPECT_FALSE(unpack_state(forged({0}), s, &error));
  EXPECT_NE(std::string(error).find("empty inventory"), std::string::npos) << error;
  error = nullptr;
  EXPECT_FALSE(unpack_state(forged({2, 1, 9, 3, 1, 40, 0, 1, 9, 3, 1, 40, 0}), s, &error));
  EXPECT_NE(std::string(error).find("twice"), std::string::npos) << error;
  error = nullptr;
  EXPECT_FALSE(unpack_state(forged({kInventoryItemsMax + 1}), s, &error));
  EXPECT_NE(std::string(error).find("too many items"), std::string::npos) << error;
  error = nullptr;
  EXPECT_FALSE(unpack_state(forged({1, 0, 9, 3, 1, 40, 0}), s, &error));
  EXPECT_NE(std::string(error).find("kind"), std::string::npos) << error;
  // A field bit no version of ours writes.
  std::vector<uint8_t> unknown;
  ByteWriter w(unknown);
  w.varint(5);
  w.varint(1);
  w.varint(1);
  w.varint(1u << 19);
  error = nullptr;
  EXPECT_FALSE(unpack_state(unknown, s, &error));
  EXPECT_NE(std::string(error).find("unknown fields"), std::string::npos) << error;
  ASSERT_TRUE(unpack_state(forged({1, 1, 9, 3, 1, 40, 0}), s, &error)) << error;
  EXPECT_EQ(s.inventory.size(), 1u);
}

ServerMessage envelope(ServerBody body) { return ServerMessage{NodeId(101), Role::kCompute, 3, 42, std::move(body)}; }

// Loot travels between compute nodes as an intent with skill 0 (wire field 190), an item kind 1..65535.
TEST(Loot, LootIntentsRoundTripBetweenServersAndMalformedOnesAreRefused) {
  const RemoteIntent loot{IntentKey{NodeId(101), 9, 40, 2}, EntityId(3), EntityId(4), 0, intent::Loot{kHerb}};
  auto decoded = decode_server(encode(envelope(loot)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<RemoteIntent>(decoded->body), loot);
  RemoteIntent skilled = loot;
  skilled.skill = 4;
  EXPECT_FALSE(decode_server(encode(envelope(skilled))).ok()) << "no skill makes loot";
  RemoteIntent nothing = loot;
  nothing.action = intent::Loot{0};
  EXPECT_FALSE(decode_server(encode(envelope(nothing))).ok()) << "item kind 0 is no item";
  EXPECT_STREQ(intent_action_name(loot.action), "loot");
  EXPECT_EQ(intent_action_value(loot.action), kHerb);
}

TEST(Loot, LedgerEntriesAndInventoryRowsRoundTripAndRefuseGarbage) {
  const LootItem item{kHerb, EntityId(42), IntentKey{NodeId(3), 7, 1234, 5}};
  const LootEntry entry{EntityId(8), 99, item};
  const char* error = nullptr;
  const std::optional<LootEntry> back = decode_loot_entry(encode_loot_entry(entry), &error);
  ASSERT_TRUE(back.has_value()) << error;
  EXPECT_EQ(*back, entry);
  Bytes bad = encode_loot_entry(entry);
  bad[0] = 0x00;
  EXPECT_FALSE(decode_loot_entry(bad, &error).has_value());
  bad = encode_loot_entry(entry);
  bad.push_back(1);
  EXPECT_FALSE(decode_loot_entry(bad, &error).has_value());
  EXPECT_FALSE(decode_loot_entry(Bytes{}, &error).has_value());

  InlineVec<LootItem, kInventoryItemsMax> inv;
  inv.push_back(item);
  LootItem other = item;
  other.key.seq = 6;
  inv.push_back(other);
  InlineVec<LootItem, kInventoryItemsMax> decoded;
  ASSERT_TRUE(decode_inventory(encode_inventory({inv.begin(), inv.end()}), decoded, &error)) << error;
  EXPECT_EQ(decoded, inv);
  InlineVec<LootItem, kInventoryItemsMax> twice;
  twice.push_back(item);
  twice.push_back(item);
  EXPECT_FALSE(decode_inventory(encode_inventory({twice.begin(), twice.end()}), decoded, &error));
  EXPECT_NE(loot_item_hash(item), loot_item_hash(other));
}

}  // namespace
}  // namespace aether::gameplay

namespace aether {
namespace {

// A store that keeps each write's completion for the test to run (mocks only in unit tests).
class HeldStore final : public Storage {
 public:
  StorageCode get(Bytes, std::function<void(GetResult)>) override { return StorageCode::kIoError; }
  StorageCode scan(Bytes, Bytes, size_t, std::function<void(ScanResult)>) override { return StorageCode::kIoError; }
  StorageCode read_ledger(uint64_t, size_t, std::function<void(LedgerResult)>) override { return StorageCode::kIoError; }
  StorageCode write(WriteBatch batch, std::function<void(WriteResult)> done) override {
    if (refuse != StorageCode::kOk) return refuse;
    batches.push_back(std::move(batch));
    waiting.push_back(std::move(done));
    return StorageCode::kOk;
  }
  size_t in_flight() const override { return waiting.size(); }
  void complete(StorageCode code) {
    auto done = std::move(waiting.front());
    waiting.erase(waiting.begin());
    WriteResult r;
    r.status.code = code;
    done(r);
  }
  StorageCode refuse = StorageCode::kOk;
  std::vector<WriteBatch> batches;
  std::vector<std::function<void(WriteResult)>> waiting;
};

LootEntry entry_for(uint64_t holder, uint32_t seq) {
  return LootEntry{EntityId(holder), 4, LootItem{1, EntityId(77), IntentKey{NodeId(2), 1, 10, seq}}};
}

TEST(LootLog, OneSyncedFencedBatchAtATimeRetriedOnFailureBoundedWhenTheStoreLags) {
  LootLog log;
  HeldStore store;
  auto life = std::make_shared<char>();
  size_t completions = 0;
  auto done = [&](const WriteResult&, size_t) { ++completions; };
  const LootEntry a = entry_for(1, 1);
  log.add(a, std::span<const LootItem>(&a.item, 1));
  log.add(entry_for(2, 2), {});
  log.flush(store, life, done);
  ASSERT_EQ(store.batches.size(), 1u);
  const WriteBatch& b = store.batches[0];
  EXPECT_TRUE(b.sync);
  ASSERT_EQ(b.ops.size(), 4u) << "an append and the holder's fenced row per entry";
  EXPECT_EQ(b.ops[0].kind, WriteOp::Kind::kAppend);
  const char* error = nullptr;
  EXPECT_EQ(decode_loot_entry(b.ops[0].value, &error), a);
  EXPECT_EQ(b.ops[1].kind, WriteOp::Kind::kPut);
  EXPECT_EQ(b.ops[1].key, inventory_key(EntityId(1)));
  EXPECT_EQ(b.ops[1].fence, 4u) << "fenced by the holder's ownership generation";
  // One in flight: a flush meanwhile sends nothing.
  log.add(entry_for(3, 3), {});
  log.flush(store, life, done);
  EXPECT_EQ(store.batches.size(), 1u);
  // A failed write: its entries go again, first, with the next batch.
  store.complete(StorageCode::kIoError);
  EXPECT_EQ(completions, 1u);
  EXPECT_EQ(log.figures().write_failures, 1u);
  log.flush(store, life, done);
  ASSERT_EQ(store.batches.size(), 2u);
  EXPECT_EQ(store.batches[1].ops.size(), 6u);
  EXPECT_EQ(decode_loot_entry(store.batches[1].ops[0].value, &error), a);
  store.complete(StorageCode::kOk);
  EXPECT_EQ(log.figures().logged, 3u);
  EXPECT_EQ(log.pending(), 0u);
  // A fenced batch: a newer owner logged its holder; dropped, counted.
  log.add(entry_for(4, 4), {});
  log.flush(store, life, done);
  store.complete(StorageCode::kFenced);
  EXPECT_EQ(log.figures().fenced, 1u);
  EXPECT_EQ(log.pending(), 0u);
  // A store that refuses at the call (closed, busy): kept for later, bounded.
  store.refuse = StorageCode::kBusy;
  for (uint32_t i = 0; i < kLootPendingMax + 5; ++i) log.add(entry_for(5, 100 + i), {});
  log.flush(store, life, done);
  EXPECT_EQ(log.pending(), kLootPendingMax);
  EXPECT_EQ(log.figures().unlogged, 5u);
  EXPECT_EQ(log.figures().created, 4u + kLootPendingMax + 5);
  // Batches stay within their bound; a completion after the owner is gone runs nothing.
  store.refuse = StorageCode::kOk;
  log.flush(store, life, done);
  ASSERT_EQ(store.batches.size(), 4u);
  EXPECT_EQ(store.batches[3].ops.size(), 2 * kLootBatchEntriesMax);
  life.reset();
  const size_t before = completions;
  store.complete(StorageCode::kOk);
  EXPECT_EQ(completions, before);
}

}  // namespace
}  // namespace aether
