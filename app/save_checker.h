#pragma once
// Characters come back from their saves (docs/persistence.md §9e), part of the simulator's global
// checker (app/checker.h), in runs with a shared database (ScenarioTopology::shared_database) where
// a gateway reads what the compute nodes saved:
//
//   came back whole   when a character's avatar spawns as life L + 1 (a log-in that found a save),
//                     its experience, level and items are exactly those of the save of life L that
//                     the database holds: the newest save of its last life, the one its gateway
//                     read (a save of life L + 1 erases row L, and life L + 1 has not saved yet).
//
// With the loot checker's "one holder" and "none lost" (app/loot_checker.h) this is the issue's
// conservation across log-outs: an item of the save is in the new life (here), in no other entity
// (the sweep), and an item held at the log-out is in the save (the log-out save, or the loot batch's).

#include <cstdint>
#include <functional>
#include <string>

#include "engine/gameplay/world.h"
#include "runtime/sim/sim_storage.h"

namespace aether::app {

struct SaveCheckFigures {
  uint64_t lives_checked = 0;  // spawns of a character's next life compared with its save
  uint64_t items_checked = 0;  // items those saves held
};

class SaveChecker {
 public:
  using Fail = std::function<void(TimeNs, std::string, std::string)>;
  // The shared database's disk; without one (each host its own disk) nothing is checked.
  void set_database(const sim::SimStorage* database) { database_ = database; }
  // `e` was just spawned by a grant on compute node `node` (kOwnershipGranted, b = 0).
  void on_spawn(TimeNs now, NodeId node, const gameplay::Entity& e, const std::string& event, const Fail& fail);
  const SaveCheckFigures& figures() const { return figures_; }

 private:
  const sim::SimStorage* database_ = nullptr;
  SaveCheckFigures figures_;
};

}  // namespace aether::app
