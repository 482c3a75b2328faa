#pragma once
// The one canonical encoding of an entity's state, shared by every path that moves one: feeds,
// snapshots, handoffs, replication, promises and (later) storage. A state is
//
//   varint id, varint generation, varint version, varint fields (EntityField bits),
//   then each present field, in bit order:
//     kind varint | pos zigzag x, zigzag y (mm) | motion zigzag x, zigzag y (permille) |
//     health zigzag | team varint | flags varint | target varint |
//     cooldown: global varint, count, count x (skill varint, ticks varint) | input seq varint |
//     class varint, level varint | resource zigzag | cast: skill varint (0: none), else target varint, ticks varint |
//     effects: count, count x (effect, source, ticks, stacks varints, magnitude zigzag) |
//     intent marks: count, count x (origin, incarnation, tick, seq varints) |
//     experience varint | attackers: count, count x (entity, ticks left varints) |
//     npc: spawner, ai, home x, y, respawn ticks, count x (entity, threat) |
//     inventory (avatars with loot only): count 1..8, count x (kind, victim, origin, incarnation, tick, seq varints) |
//     encounter (encounters only) | character (characters' avatars only): character varint, save life varint
//
// Encoding a projection (kFieldsPublic, kFieldsOwner) leaves the other fields out; decoding leaves
// absent fields at their defaults. Decoding validates every value's range: these are untrusted bytes.

#include <cstdint>
#include <span>
#include <vector>

#include "engine/wire/bytes.h"
#include "engine/wire/messages.h"

namespace aether {

void put_state(ByteWriter& w, const EntityState& s, uint32_t fields = kFieldsAll);
// One state; on malformed input r.fail() is set (its error() says why) and false returned.
bool get_state(ByteReader& r, EntityState& s, uint32_t* fields = nullptr);

// One loot item, as an inventory and a compute node's loot ledger (engine/compute/loot_log.h) both
// write it: kind, victim, key (origin, incarnation, tick, sequence) varints. get_loot_item fails
// the reader on a value out of range, a kind 0 or no victim.
void put_loot_item(ByteWriter& w, const LootItem& i);
LootItem get_loot_item(ByteReader& r);

// A character's save (docs/persistence.md §9d), as its row charsave/CHARACTER/LIFE holds it and
// as spawns carry it: 0x43 ('C', format 1), then varints: character, life, entity, loaded, class,
// level, experience, zigzag pos x, y, inventory count 0..8 and the items. Untrusted bytes (a file,
// a peer): nullopt-like false with *error set on anything no encoder writes.
inline constexpr uint8_t kCharacterSaveFormat = 0x43;
std::vector<uint8_t> encode_character_save(const CharacterSave& s);
bool decode_character_save(std::span<const uint8_t> bytes, CharacterSave& out, const char** error);

// A list: varint count, then the states.
std::vector<uint8_t> pack_states(std::span<const EntityState> states, uint32_t fields = kFieldsAll);
// At most `max` states; false with reader error on anything malformed or trailing.
bool unpack_states(std::span<const uint8_t> bytes, size_t max, std::vector<EntityState>& out, const char** error);

// One state alone (a grant's recovery state, a handoff's, a release's): empty bytes = none.
std::vector<uint8_t> pack_state(const EntityState& s, uint32_t fields = kFieldsAll);
bool unpack_state(std::span<const uint8_t> bytes, EntityState& out, const char** error);

}  // namespace aether
