#pragma once
// The audit of characters' saves against the compute nodes' loot ledger (docs/persistence.md §9d),
// what `aether economy characters` runs on a stopped cluster's store: every item loot created (a
// LootEntry of the ledger) is held by exactly one character's current save or is accounted for, no
// item is held twice, and every save reads back. Pure: it is given the ledger's entries and the
// charsave/ rows (untrusted bytes from a file: every fault is a finding, never an assertion).
//
// Findings (the audit fails):
//   - a loot entry that does not decode; one item created twice with another kind or holder;
//   - a save row that does not decode, or whose key is not its character and life;
//   - an item held by two current saves (a character's current save is its newest life's row);
//   - an item the ledger made for a character's current avatar (the entity its current save was
//     taken from) that is in no current save: lost.
// Accounted for (counted, not findings): items made for an avatar that is no character's current
// one (anonymous avatars, earlier lives: their items travel in the saves, see held_earlier), items
// held only by a superseded row (a late save of an older life, docs/persistence.md §9d), items in a
// current save without a ledger entry (the entry's batch was fenced by a newer owner's save).

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "engine/runtime/storage.h"
#include "engine/wire/messages.h"

namespace aether {

inline constexpr size_t kCharacterAuditFindingsMax = 1000;

// An item's identity (LootItem::same_item) as an ordered key.
using LootItemId = std::tuple<uint64_t, uint32_t, uint64_t, uint64_t, uint32_t>;
LootItemId loot_item_id(const LootItem& i);
std::string loot_item_name(const LootItem& i);

struct CharacterAuditReport {
  uint64_t entries = 0;           // ledger entries read
  uint64_t loot_entries = 0;      // of them loot entries (the others are no concern of this audit)
  uint64_t retried = 0;           // loot entries naming an item again, identically (a retried append)
  uint64_t items_created = 0;     // distinct items the ledger created
  uint64_t saves = 0;             // save rows
  uint64_t characters = 0;        // characters with a save (their current save: the newest life)
  uint64_t items_held = 0;        // items in current saves
  uint64_t not_current_avatar = 0;  // created for an avatar that is no character's current one, and held by no current save
  uint64_t held_superseded = 0;   // created, in no current save but in a superseded row
  uint64_t held_without_entry = 0;  // in a current save, no loot entry in the ledger
  uint64_t held_earlier = 0;      // in a current save, created for another avatar (an earlier life, before a migration...)
  std::vector<std::string> findings;  // the first kCharacterAuditFindingsMax
  uint64_t findings_total = 0;
};

class CharacterAudit {
 public:
  void entry(uint64_t seq, std::span<const uint8_t> bytes);
  void row(const Bytes& key, const Bytes& value);
  // Checks across both; call once, after every entry and row.
  void finish();
  const CharacterAuditReport& report() const { return report_; }
  // The current saves, by character.
  const std::map<CharacterId, CharacterSave>& current() const { return current_; }

 private:
  void find(std::string what);

  struct Created {
    LootItem item;
    EntityId holder{};
    uint64_t seq = 0;
  };
  std::map<LootItemId, Created> created_;
  std::map<CharacterId, CharacterSave> current_;                 // newest life
  std::map<CharacterId, std::vector<CharacterSave>> superseded_;  // older lives' rows
  CharacterAuditReport report_;
};

}  // namespace aether
