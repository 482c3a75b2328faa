// Loot in the battle (docs/persistence.md §9c): a death's drop goes to its killer's owner as a Loot
// intent; the item is made when it is applied (in the killer's inventory, part of its state) and
// logged to our store after the tick (LootLog), never waited on.

#include "engine/compute/compute_node.h"

namespace aether {

void ComputeNode::route_loot(const gameplay::Entity& victim, EntityId killer) {
  if (std::optional<RemoteIntent> loot = world_.loot_for(victim, killer)) route_intent(*loot);
}

void ComputeNode::on_loot(gameplay::Entity& holder, const RemoteIntent& intent, gameplay::Applied result) {
  if (result == gameplay::Applied::kFull) {
    loot_log_.count_full();
    return;
  }
  if (result != gameplay::Applied::kApplied) return;
  const LootItem& item = holder.inventory[holder.inventory.size() - 1];  // take_loot appends what it made
  // The item is made: kEconCreated (entity = holder, a = the item, b = kind | source loot << 16).
  trace(TraceKind::kEconCreated, holder.id, loot_item_hash(item), int64_t{item.kind} | int64_t{1} << 16, intent.key.origin);
  if (holder.character.valid()) {
    const CharacterSave save = save_of(holder);
    loot_log_.add(LootEntry{holder.id, holder.generation, item}, {holder.inventory.begin(), holder.inventory.end()}, &save);
  } else {
    loot_log_.add(LootEntry{holder.id, holder.generation, item}, {holder.inventory.begin(), holder.inventory.end()});
  }
}

void ComputeNode::flush_loot_log() {
  if (loot_log_.pending() == 0 || loot_log_.writing()) return;
  loot_log_.flush(rt_.storage, life_, [this](const WriteResult& r, size_t entries) {
    if (r.status.ok()) {
      trace(TraceKind::kEconApplied, EntityId{}, 0, static_cast<int64_t>(entries));
      return;
    }
    trace(TraceKind::kEconFailed, EntityId{}, static_cast<int64_t>(r.status.code), static_cast<int64_t>(entries));
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "loot log: a batch of {} entries not written ({}); {}", entries, r.status.reason,
           r.status.code == StorageCode::kFenced ? "a newer owner logged its holder" : "retried");
  });
}

// Planted (tests only): the newest item a handed-off avatar carries is made again under a fresh
// key, as a new owner that replayed the loot of a retried handoff without its item's key would.
void ComputeNode::planted_loot_again(gameplay::Entity& e) {
  if (e.inventory.empty() || e.inventory.full()) return;
  LootItem again = e.inventory[e.inventory.size() - 1];
  again.key.seq += 1'000'000;
  e.inventory.push_back(again);
  ++e.version;
  trace(TraceKind::kEconCreated, e.id, loot_item_hash(again), int64_t{again.kind} | int64_t{1} << 16, again.key.origin);
  loot_log_.add(LootEntry{e.id, e.generation, again}, {e.inventory.begin(), e.inventory.end()});
}

}  // namespace aether
