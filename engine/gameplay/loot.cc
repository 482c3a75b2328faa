// Loot (docs/persistence.md §9c): a death draws from the content's drop table and, if it drops an
// item, sends its killer a Loot intent; the killer's owner makes the item when it applies the intent.
//
// Once: the item's id is the intent's key with the victim. The intent is applied at most once (its
// mark, intents.cc), and an inventory refuses an id it already holds, so a retried intent makes
// nothing. Bounded: an inventory holds kInventoryItemsMax items; a loot into a full one makes no
// item (Applied::kFull, counted by the compute node): nothing was created, so nothing is lost.

#include "engine/core/hash.h"
#include "engine/gameplay/world.h"

namespace aether::gameplay {

bool loot_fits(const Content& content, const IntentAction& action) {
  const auto* loot = std::get_if<intent::Loot>(&action);
  return loot && content.loot.drops_item(loot->item);
}

std::optional<RemoteIntent> World::loot_for(const Entity& victim, EntityId killer) {
  if (content_->loot.drops.empty()) return std::nullopt;
  // A death by an effect names no killer: its last attacker still within its window made it.
  if (!killer.valid()) {
    for (size_t i = victim.attackers.size(); i > 0 && !killer.valid(); --i) {
      if (victim.attackers[i - 1].until > tick_) killer = victim.attackers[i - 1].entity;
    }
  }
  if (!killer.valid() || killer == victim.id) return std::nullopt;
  Hasher64 h;
  h.add_u64(victim.id.value);
  h.add_u64(tick_);
  const uint16_t item = content_->loot.pick(h.digest());
  if (item == 0) return std::nullopt;
  return RemoteIntent{keys_.next(tick_), victim.id, killer, 0, intent::Loot{item}};
}

Applied World::take_loot(Entity& target, const RemoteIntent& intent, uint16_t item) {
  if (target.is_npc()) return Applied::kNoEffect;  // monsters carry no bags
  const LootItem loot{item, intent.source, intent.key};
  for (const LootItem& held : target.inventory) {
    if (held.same_item(loot)) return Applied::kDuplicate;
  }
  if (target.inventory.full()) return Applied::kFull;
  target.inventory.push_back(loot);
  ++target.version;
  return Applied::kApplied;
}

}  // namespace aether::gameplay
