#pragma once
// The loot a compute node makes, logged to its store (docs/persistence.md §9c). An item is made in
// the tick (the killer's inventory, part of the entity's canonical state, is the authority that
// migrations, handoffs and recoveries carry); its ledger entry follows through Runtime::storage,
// asynchronously: the tick never waits on it.
//
// Each logged item is one ledger append (a LootEntry: holder, generation, item; the item's id is
// its idempotency key, so a reader counts an entry appended twice once) and a put of the holder's
// row inventory/ENTITY (its whole inventory), fenced by the holder's ownership generation: a stale
// owner's batch is refused whole (kFenced) once a newer owner logged that holder. Batches are
// synced, one in flight at a time, at most kLootBatchEntriesMax entries each.
//
// Bounded: kLootPendingMax entries wait; past it a new entry is not logged (counted in
// LootFigures::unlogged; the item itself exists in the state). A write that fails (kIoError, kFull,
// kBusy) is retried with the next batch, its entries first, while room remains; a fenced one is
// dropped (counted): the holder has a newer owner, whose state is the one that counts.

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>

#include "engine/runtime/storage.h"
#include "engine/wire/messages.h"

namespace aether {

inline constexpr size_t kLootPendingMax = 1024;
inline constexpr size_t kLootBatchEntriesMax = 256;  // three ops each at most: within kStorageBatchOpsMax

struct LootEntry {
  EntityId holder{};
  uint64_t generation = 0;  // the holder's, when the item was made
  LootItem item;
  friend bool operator==(const LootEntry&, const LootEntry&) = default;
};

// Ledger bytes: 0x4C ('L', format 1), holder, generation, then the item (kind, victim, origin,
// incarnation, tick, seq), varints.
Bytes encode_loot_entry(const LootEntry& e);
// nullopt (with *error set) on bytes that are no loot entry: they come from a file.
std::optional<LootEntry> decode_loot_entry(std::span<const uint8_t> bytes, const char** error);
// The row inventory/ENTITY: a count, then the items as above.
Bytes encode_inventory(std::span<const LootItem> items);
bool decode_inventory(std::span<const uint8_t> bytes, InlineVec<LootItem, kInventoryItemsMax>& out, const char** error);
Bytes inventory_key(EntityId holder);
// A 63-bit name of an item for trace records (kEconCreated's a).
int64_t loot_item_hash(const LootItem& item);

struct LootFigures {
  uint64_t created = 0;       // items made by loot intents applied here
  uint64_t refused_full = 0;  // loot for a full inventory: no item made
  uint64_t logged = 0;        // entries durable in the store
  uint64_t write_failures = 0;  // batches that failed (their entries retried while room remained)
  uint64_t fenced = 0;        // entries refused by a newer owner's fence (dropped)
  uint64_t unlogged = 0;      // entries never logged: the pending list was full
};

class LootLog {
 public:
  // An item made now for `holder` (whose inventory, after it, is `inventory`). A character's avatar
  // (`save` not null: its save now, item included) puts its save row (character_saves.h) instead
  // of inventory/ENTITY, in the same batch as the entry: the item is in the ledger and in its
  // holder's save at once, or in neither.
  void add(const LootEntry& entry, std::span<const LootItem> inventory, const CharacterSave* save = nullptr);
  void count_full() { ++figures_.refused_full; }
  // Sends what waits as one synced batch if none is in flight. `life` guards the completion;
  // `done` runs on completion with the result and the number of entries of the batch.
  void flush(Storage& storage, std::weak_ptr<char> life, std::function<void(const WriteResult&, size_t)> done);
  size_t pending() const { return pending_.size(); }
  bool writing() const { return writing_; }
  const LootFigures& figures() const { return figures_; }

 private:
  struct Pending {
    LootEntry entry;
    Bytes inventory;  // the holder's row after this item (anonymous holders)
    std::optional<CharacterSave> save;  // a character's: its save row instead
  };
  void completed(const WriteResult& r, std::deque<Pending> batch);

  std::deque<Pending> pending_;
  bool writing_ = false;
  LootFigures figures_;
};

}  // namespace aether
