#include "app/loot_checker.h"

#include <fmt/format.h>

#include "engine/compute/loot_log.h"

namespace aether::app {

namespace {
std::string item_text(const LootItem& i) {
  return fmt::format("item (kind {}, from the death of {} at tick {} of node {}/{}, seq {})", i.kind, i.victim.value, i.key.tick, i.key.origin.value,
                     i.key.incarnation, i.key.seq);
}
}  // namespace

void LootChecker::on_created(const TraceEvent& r, const gameplay::Entity* holder, const std::string& event, const Fail& fail) {
  const LootItem* item = nullptr;
  if (holder) {
    for (const LootItem& i : holder->inventory) {
      if (loot_item_hash(i) == r.a) item = &i;
    }
  }
  if (!item) {
    fail(r.time_ns, fmt::format("compute node {} recorded loot for entity {} that it does not hold", r.node.value, r.entity.value), event);
    return;
  }
  ++figures_.created;
  const ItemName name = name_of(*item);
  const Kill kill{item->victim.value, item->key.origin.value, item->key.incarnation, item->key.tick};
  if (made_.count(name) || !kills_.insert(kill).second) {
    fail(r.time_ns, fmt::format("{} created twice: one kill made a second item (now held by {} on compute node {})", item_text(*item),
                                r.entity.value, r.node.value),
         event);
    return;
  }
  made_[name] = Made{r.entity, r.time_ns, holder->version, false};
}

void LootChecker::on_restore(TimeNs now, const gameplay::Entity& e, const std::string& event, const Fail& fail) {
  const uint64_t restored_version = e.version - 1;  // World::restore counts the restore itself
  for (auto& [name, made] : made_) {
    if (made.holder != e.id || made.undone) continue;
    bool kept = false;
    for (const LootItem& i : e.inventory) kept = kept || name_of(i) == name;
    if (kept) continue;
    if (restored_version >= made.version) {
      fail(now, fmt::format("loot lost: entity {} restored at version {} without the item made from the death of {} at tick {} of node {}, "
                            "which it held from version {}",
                            e.id.value, restored_version, std::get<0>(name), std::get<3>(name), std::get<1>(name), made.version),
           event);
      return;
    }
    made.undone = true;
    ++figures_.undone_by_restore;
  }
}

void LootChecker::sweep(TimeNs now, const std::vector<const gameplay::Entity*>& held, const Fail& fail) {
  ++figures_.sweeps;
  std::map<ItemName, EntityId> holder_of;
  std::set<EntityId> seen;
  for (const gameplay::Entity* e : held) {
    seen.insert(e->id);
    for (const LootItem& i : e->inventory) {
      const ItemName name = name_of(i);
      auto made = made_.find(name);
      if (made == made_.end()) {
        fail(now, fmt::format("{} held by entity {} was never created by loot", item_text(i), e->id.value), "the periodic sweep");
        return;
      }
      auto [at, fresh] = holder_of.emplace(name, e->id);
      if (!fresh && at->second != e->id) {
        fail(now, fmt::format("{} held twice: by entities {} and {}", item_text(i), at->second.value, e->id.value), "the periodic sweep");
        return;
      }
      made->second.holder = e->id;
      made->second.undone = false;  // a later restore brought it back with its holder
    }
  }
  figures_.held_at_last_sweep = holder_of.size();
  for (const auto& [name, made] : made_) {
    if (made.undone || holder_of.count(name) || !seen.count(made.holder)) continue;
    fail(now, fmt::format("loot lost: the item made from the death of {} at tick {} of node {} (at {:.3f} s) is no longer held by entity {}, "
                          "and no restore went back before it",
                          std::get<0>(name), std::get<3>(name), std::get<1>(name), static_cast<double>(made.at_ns) / kNsPerSec, made.holder.value),
         "the periodic sweep");
    return;
  }
}

}  // namespace aether::app
