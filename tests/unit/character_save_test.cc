// Character saves (docs/persistence.md §9d): the save's encoding (a row and a spawn's field), the
// character component of an avatar's state, the writer's bounds, and the audit of saves against the
// loot ledger finding an item held twice, an item lost and an item created twice.

#include <gtest/gtest.h>

#include "engine/compute/character_audit.h"
#include "engine/compute/character_saves.h"
#include "engine/compute/loot_log.h"
#include "engine/wire/codec.h"
#include "engine/wire/state_codec.h"
#include "tests/unit/fake_runtime.h"

namespace aether {
namespace {

LootItem item(uint16_t kind, uint64_t victim, uint64_t tick) {
  LootItem i;
  i.kind = kind;
  i.victim = EntityId(victim);
  i.key.origin = NodeId(101);
  i.key.incarnation = 7;
  i.key.tick = tick;
  i.key.seq = 1;
  return i;
}

CharacterSave save(uint64_t character, uint32_t life, uint64_t entity, std::initializer_list<LootItem> items) {
  CharacterSave s;
  s.character = CharacterId(character);
  s.life = life;
  s.entity = EntityId(entity);
  s.loaded = true;
  s.class_id = 2;
  s.level = 3;
  s.experience = 140;
  s.pos = Vec2{1000, 2000};
  for (const LootItem& i : items) s.inventory.push_back(i);
  return s;
}

TEST(CharacterSave, RoundTripsAndRefusesWhatNoEncoderWrites) {
  const CharacterSave s = save(55, 3, 900, {item(1, 10, 5), item(2, 11, 6)});
  const std::vector<uint8_t> bytes = encode_character_save(s);
  CharacterSave back;
  const char* error = nullptr;
  ASSERT_TRUE(decode_character_save(bytes, back, &error)) << error;
  EXPECT_EQ(back, s);

  std::vector<uint8_t> trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(decode_character_save(trailing, back, &error));
  std::vector<uint8_t> cut(bytes.begin(), bytes.end() - 1);
  EXPECT_FALSE(decode_character_save(cut, back, &error));
  std::vector<uint8_t> other = bytes;
  other[0] = 0x4C;
  EXPECT_FALSE(decode_character_save(other, back, &error));
  EXPECT_FALSE(decode_character_save(encode_character_save(save(55, 3, 900, {item(1, 10, 5), item(1, 10, 5)})), back, &error));
  EXPECT_STREQ(error, "save holding one item twice");
  EXPECT_FALSE(decode_character_save(encode_character_save(save(0, 3, 900, {})), back, &error));
}

TEST(CharacterSave, TheCharacterComponentTravelsWithTheStateAndAnonymousStatesAreAsBefore) {
  EntityState s;
  s.id = EntityId(900);
  s.generation = 4;
  s.version = 9;
  const std::vector<uint8_t> anonymous = pack_state(s);
  s.character = CharacterId(55);
  s.save_life = 2;
  const std::vector<uint8_t> with = pack_state(s);
  EXPECT_GT(with.size(), anonymous.size());
  EntityState back;
  const char* error = nullptr;
  ASSERT_TRUE(unpack_state(with, back, &error)) << error;
  EXPECT_EQ(back.character, CharacterId(55));
  EXPECT_EQ(back.save_life, 2u);
  // Not in either client projection.
  EXPECT_EQ(pack_state(s, kFieldsOwner), [&] { EntityState a = s; a.character = {}; a.save_life = 0; return pack_state(a, kFieldsOwner); }());
  // A character component without a life is no encoding of ours.
  s.save_life = 0;
  ASSERT_FALSE(unpack_state(pack_state(s), back, &error));
}

TEST(CharacterSave, ASaveErasesThePreviousLifeAndIsFencedByItsGeneration) {
  WriteBatch b;
  put_character_save(b, save(55, 3, 900, {}), 12);
  ASSERT_EQ(b.ops.size(), 2u);
  EXPECT_EQ(b.ops[0].kind, WriteOp::Kind::kPut);
  EXPECT_EQ(b.ops[0].key, character_save_key(CharacterId(55), 3));
  EXPECT_EQ(b.ops[0].fence, 12u);
  EXPECT_EQ(b.ops[1].kind, WriteOp::Kind::kErase);
  EXPECT_EQ(b.ops[1].key, character_save_key(CharacterId(55), 2));
  // Lives sort in key order under their character's prefix: the newest is the last row of a scan.
  EXPECT_LT(character_save_key(CharacterId(55), 9), character_save_key(CharacterId(55), 10));
  const Bytes key = character_save_key(CharacterId(55), 9);
  const Bytes prefix = character_save_prefix(CharacterId(55));
  ASSERT_LT(prefix.size(), key.size());
  EXPECT_EQ(Bytes(key.begin(), key.begin() + static_cast<std::ptrdiff_t>(prefix.size())), prefix);
}

// The counters of /metrics (aether_character_saves_total): a log-out save is written and synced,
// a periodic one written only; a save below a newer owner's fence is counted fenced, not written; a
// store that refuses counts a failed batch and keeps the log-out save for the next flush.
TEST(CharacterSaves, CountsWrittenSyncedFencedAndFailedSaves) {
  testing::FakeRuntime rt(NodeId(101));
  auto life = std::make_shared<char>();
  CharacterSaves saves;
  const CharacterSave periodic = save(55, 1, 900, {});
  auto take = [&](EntityId) -> std::optional<CharacterSaves::Save> { return CharacterSaves::Save{periodic, 5}; };
  auto flush = [&] {
    saves.flush(rt.runtime.storage, life, take, [](const WriteResult&, size_t) {});
    rt.advance(kNsPerMs);
  };
  saves.logout(save(66, 2, 901, {}), 7);
  EXPECT_TRUE(saves.owes_logout(CharacterId(66)));
  flush();
  EXPECT_FALSE(saves.owes_logout(CharacterId(66))) << "landed";
  EXPECT_EQ(saves.figures().written, 1u);
  EXPECT_EQ(saves.figures().synced, 1u);
  saves.mark_due(EntityId(900));
  flush();
  EXPECT_EQ(saves.figures().written, 2u);
  EXPECT_EQ(saves.figures().synced, 1u);  // periodic saves are not synced
  // Life 2 of character 66 was saved at generation 7: a stale owner's save at 6 is refused whole.
  saves.logout(save(66, 2, 901, {}), 6);
  flush();
  EXPECT_EQ(saves.figures().fenced, 1u);
  EXPECT_EQ(saves.figures().written, 2u);
  rt.storage.refuse = true;
  saves.logout(save(77, 1, 902, {}), 3);
  flush();
  EXPECT_EQ(saves.figures().failed, 1u);
  EXPECT_FALSE(saves.idle());  // the log-out save waits for the next flush
  EXPECT_TRUE(saves.owes_logout(CharacterId(77))) << "a failed log-out save is still owed";
  saves.logout(save(78, 4, 903, {}), 3);
  // What a Promise carries: every owed save, by character then life.
  EXPECT_EQ(saves.owed(), (std::vector<LogoutSaved>{LogoutSaved{CharacterId(77), 1}, LogoutSaved{CharacterId(78), 4}}));
  rt.storage.refuse = false;
  flush();
  EXPECT_EQ(saves.figures().written, 4u);
  EXPECT_EQ(saves.figures().synced, 3u);
  EXPECT_TRUE(saves.idle());
  EXPECT_FALSE(saves.owes_logout(CharacterId(77)));
  EXPECT_TRUE(saves.owed().empty());
}

void feed(CharacterAudit& a, const std::vector<LootEntry>& entries, const std::vector<CharacterSave>& saves) {
  uint64_t seq = 0;
  for (const LootEntry& e : entries) a.entry(++seq, encode_loot_entry(e));
  for (const CharacterSave& s : saves) a.row(character_save_key(s.character, s.life), encode_character_save(s));
  a.finish();
}

TEST(CharacterAudit, HoldsWhenEveryItemIsHeldOnceOrAccountedFor) {
  CharacterAudit a;
  const LootItem x = item(1, 10, 5), y = item(2, 11, 6), z = item(2, 12, 7);
  // x made for 900 (character 55's life 2, its current avatar); y for an earlier life's avatar 800
  // and carried over; z for an anonymous avatar 700. A retried append of x counts once.
  feed(a, {{EntityId(900), 4, x}, {EntityId(800), 2, y}, {EntityId(900), 4, x}, {EntityId(700), 3, z}},
       {save(55, 2, 900, {x, y}), save(55, 1, 800, {y})});
  const CharacterAuditReport& r = a.report();
  EXPECT_EQ(r.findings_total, 0u) << (r.findings.empty() ? "" : r.findings[0]);
  EXPECT_EQ(r.items_created, 3u);
  EXPECT_EQ(r.retried, 1u);
  EXPECT_EQ(r.characters, 1u);
  EXPECT_EQ(r.items_held, 2u);
  EXPECT_EQ(r.held_earlier, 1u);
  EXPECT_EQ(r.not_current_avatar, 1u);
  EXPECT_EQ(a.current().at(CharacterId(55)).life, 2u);
}

TEST(CharacterAudit, FindsAnItemHeldTwiceLostOrCreatedTwice) {
  const LootItem x = item(1, 10, 5), y = item(2, 11, 6);
  {
    CharacterAudit a;
    feed(a, {{EntityId(900), 4, x}}, {save(55, 2, 900, {x}), save(56, 1, 901, {x})});
    ASSERT_EQ(a.report().findings_total, 1u);
    EXPECT_NE(a.report().findings[0].find("held twice"), std::string::npos) << a.report().findings[0];
  }
  {
    CharacterAudit a;
    feed(a, {{EntityId(900), 4, x}, {EntityId(900), 4, y}}, {save(55, 2, 900, {x})});
    ASSERT_EQ(a.report().findings_total, 1u);
    EXPECT_NE(a.report().findings[0].find("lost"), std::string::npos) << a.report().findings[0];
  }
  {
    CharacterAudit a;
    feed(a, {{EntityId(900), 4, x}, {EntityId(901), 4, x}}, {save(55, 2, 900, {x})});
    ASSERT_EQ(a.report().findings_total, 1u);
    EXPECT_NE(a.report().findings[0].find("created again"), std::string::npos) << a.report().findings[0];
  }
  {
    CharacterAudit a;
    a.row(character_save_key(CharacterId(55), 2), {0x43, 0x01});
    a.finish();
    EXPECT_EQ(a.report().findings_total, 1u);
  }
}

}  // namespace
}  // namespace aether
