#pragma once
// Conservation of loot in the battle (docs/persistence.md §9c), part of the simulator's global
// checker (app/checker.h): it follows every item the compute nodes make from kills.
//
//   created by loot, once   an item appears only with a kEconCreated record from the owner that
//                           made it, and one kill (victim, its owner process, the tick) makes at
//                           most one item, whatever retries, handoffs or failovers came between;
//   one holder              no item is in the inventories of two entities (as their writers hold them);
//   none lost               an item stays in its holder's inventory while the holder is held by a
//                           node, unless a restore of the holder (recovery, or a migration that
//                           fell back to its snapshot) went back to a state from before the item:
//                           then the kill's award is undone with the rest of that history (counted);
//                           a restored state as new as the holder was with the item must hold it.

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "engine/gameplay/world.h"
#include "engine/runtime/trace.h"

namespace aether::app {

struct LootCheckFigures {
  uint64_t created = 0;
  uint64_t undone_by_restore = 0;  // items a restore of their holder went back before
  uint64_t held_at_last_sweep = 0;
  uint64_t sweeps = 0;
};

class LootChecker {
 public:
  using Fail = std::function<void(TimeNs, std::string, std::string)>;
  using Kill = std::tuple<uint64_t, uint32_t, uint64_t, uint64_t>;               // victim, origin, incarnation, tick
  using ItemName = std::tuple<uint64_t, uint32_t, uint64_t, uint64_t, uint32_t>;  // ... and the sequence
  static ItemName name_of(const LootItem& i) { return {i.victim.value, i.key.origin.value, i.key.incarnation, i.key.tick, i.key.seq}; }

  // A kEconCreated record from a compute node; `holder` is the entity as that node holds it now.
  void on_created(const TraceEvent& r, const gameplay::Entity* holder, const std::string& event, const Fail& fail);
  // `e` was just restored (its inventory and version are the restored state's, plus one).
  void on_restore(TimeNs now, const gameplay::Entity& e, const std::string& event, const Fail& fail);
  // Every entity as the node that holds it has it, at one instant.
  void sweep(TimeNs now, const std::vector<const gameplay::Entity*>& held, const Fail& fail);
  const LootCheckFigures& figures() const { return figures_; }

 private:
  struct Made {
    EntityId holder{};
    TimeNs at_ns = 0;
    uint64_t version = 0;  // the holder's version once the item was in it
    bool undone = false;
  };
  std::map<ItemName, Made> made_;
  std::set<Kill> kills_;
  LootCheckFigures figures_;
};

}  // namespace aether::app
