#pragma once
// Character saves (docs/persistence.md §9d): what of a character's avatar outlives it (class,
// level, experience, position, inventory), written by the avatar's owner, the entity's single
// writer, to the row charsave/CHARACTER/LIFE through Runtime::storage, never waited on by a tick.
//
// A character's avatars are its lives 1, 2, ...: a gateway reads the newest life at log-in and the
// coordinator spawns life + 1 from it. Each life has its own row, fenced by the avatar's ownership
// generation: a stale owner of this life can never overwrite a newer owner's save, and nothing of an
// older life (whose generations, after a full restart, may be higher than ours) can touch our row.
// A save of life L erases the row of life L - 1 in the same batch (at kSaveEraseFence, which every
// row's fence is below): a character keeps one row, two while a save of a late older life lands.
//
// When: at every loot event, with the loot's ledger entry in one synced batch (LootLog); at log-out
// (the avatar's revoke), synced; and every kCharacterSaveIntervalTicks for every character we own
// whose state changed, unsynced (a crash loses at most an interval of experience and movement,
// never an item: items are saved with their loot).
//
// Ordering: one save stream per node, after the loot log's: a batch of saves is issued only when
// the loot log has nothing waiting, so every save is issued after every loot batch captured before
// it. The store is FIFO and loses, at a crash, never a later write without an earlier one: a save
// that survives holds no item whose loot batch (entry and save) was lost, and no save overwrites a
// loot batch's row with a state from before its item.
//
// Bounded: at most kLogoutSavesMax log-out saves wait (past it, counted in dropped: the last
// periodic or loot save stands); periodic saves are taken from the world when written, at most
// kCharacterSaveBatchMax per batch, one batch in flight. A failed batch (kIoError, kFull, kBusy):
// its log-out saves wait again, its periodic ones are taken again; a fenced batch is dropped
// (counted): the entity has a newer owner, whose saves count.

#include <cstdint>
#include <deque>
#include <map>
#include <functional>
#include <memory>
#include <vector>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include "engine/core/time.h"
#include "engine/runtime/storage.h"
#include "engine/wire/messages.h"

namespace aether {

inline constexpr Tick kCharacterSaveIntervalTicks = 50;  // 5 s at 10 Hz
inline constexpr size_t kCharacterSaveBatchMax = 256;    // two ops each: within kStorageBatchOpsMax
inline constexpr size_t kLogoutSavesMax = 1024;
inline constexpr uint64_t kSaveEraseFence = uint64_t{1} << 62;  // above every generation
static_assert(kLogoutSavesMax + kCharacterSaveBatchMax <= kPromiseLogoutSavesMax, "a Promise carries every log-out save owed");

Bytes character_save_key(CharacterId character, uint32_t life);
Bytes character_save_prefix(CharacterId character);   // every life of one character, in life order
// A save's ops: the put of its row at `generation`, and the erase of the life before.
void put_character_save(WriteBatch& b, const CharacterSave& s, uint64_t generation);

struct SaveFigures {
  uint64_t written = 0;   // saves the store accepted (periodic: applied, not yet synced)
  uint64_t synced = 0;    // ... of them in a synced batch (log-outs): durable
  uint64_t fenced = 0;    // saves refused by a newer owner's fence (dropped)
  uint64_t failed = 0;    // batches that failed (taken again)
  uint64_t dropped = 0;   // log-out saves past kLogoutSavesMax
};

class CharacterSaves {
 public:
  struct Save {
    CharacterSave save;
    uint64_t generation = 0;
  };
  // A log-out save, taken now (the avatar is gone after it).
  void logout(const CharacterSave& save, uint64_t generation);
  // Every periodic save of the batch is taken by `take` when the batch is built (at most
  // kCharacterSaveBatchMax with the log-out saves); `due` lists the entities to take.
  void mark_due(EntityId entity) { due_.insert(entity); }
  bool idle() const { return !writing_ && due_.empty() && logouts_.empty(); }
  bool writing() const { return writing_; }
  void flush(Storage& storage, std::weak_ptr<char> life, const std::function<std::optional<Save>(EntityId)>& take,
             std::function<void(const WriteResult&, size_t)> done);
  const SaveFigures& figures() const { return figures_; }
  // Whether a log-out save of `character` was taken and has not landed yet (waiting, or written and
  // not yet answered): the leader holds the character's next spawn meanwhile (LogoutSaved).
  bool owes_logout(CharacterId character) const {
    const auto it = owed_.lower_bound({character, 0});
    return it != owed_.end() && it->first.first == character;
  }
  // Every log-out save owed now, by character then life: a node's Promise carries them, so that a
  // new leader holds those characters' spawns as the old one did (LogoutWaits::heard_owed).
  std::vector<LogoutSaved> owed() const {
    std::vector<LogoutSaved> out;
    out.reserve(owed_.size());
    for (const auto& [key, count] : owed_) out.push_back(LogoutSaved{key.first, key.second});
    return out;
  }
  // The log-out saves settled since the last call (landed, fenced or dropped), oldest first: the
  // node tells the coordinators (LogoutSaved). At most kLogoutSavesMax + a batch's, as settled.
  std::vector<LogoutSaved> take_settled() { return std::exchange(settled_, {}); }

 private:
  void owe(const CharacterSave& save) { ++owed_[{save.character, save.life}]; }
  void settle(const CharacterSave& save) {
    if (auto it = owed_.find({save.character, save.life}); it != owed_.end() && --it->second == 0) owed_.erase(it);
    settled_.push_back(LogoutSaved{save.character, save.life});
  }

  void completed(const WriteResult& r, bool synced, std::deque<Save> logouts, std::vector<EntityId> periodic);

  std::set<EntityId> due_;      // entities whose periodic save is due (ids: a deterministic order)
  std::deque<Save> logouts_;    // oldest first
  // Log-out saves taken and not landed (written, fenced or dropped), per character and life: at most
  // kLogoutSavesMax waiting plus a batch in flight (kPromiseLogoutSavesMax bounds them on the wire).
  std::map<std::pair<CharacterId, uint32_t>, uint32_t> owed_;
  std::vector<LogoutSaved> settled_;      // settled since take_settled()
  bool writing_ = false;
  SaveFigures figures_;
};

}  // namespace aether
