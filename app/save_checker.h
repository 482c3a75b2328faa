#pragma once
// Characters come back from their saves (docs/persistence.md §9e), part of the simulator's global
// checker (app/checker.h), in runs with a shared database (ScenarioTopology::shared_database) where
// a gateway reads what the compute nodes saved:
//
//   came back whole   when a character's avatar spawns as life L + 1 (a log-in that found a save),
//                     its experience, level and items are exactly those of the save of life L that
//                     the database holds: the newest save of its last life, the one its gateway
//                     read (a save of life L + 1 erases row L, and life L + 1 has not saved yet).
//   as it left        ... and when life L's avatar left at a log-out (its owner revoked it) and that
//                     owner did not crash before the next life spawned, they are exactly what the
//                     avatar had as it left: its log-out save landed (synced, retried until it did).
//                     After such a crash the save of life L may be an older one (a periodic save, or
//                     the last loot batch's): then only "came back whole" holds.
//   after its save    ... and the next life does not spawn while that owner still owes the log-out
//                     save (written, failed and waiting to be written again): the leader holds the
//                     spawn until the owner reports it settled (coordinator/logout_waits.h). Unless
//                     the leader gave the wait up (kLogoutWaitGivenUp: a save not settled within
//                     LogoutWaits::kWaitNs, its owner lost, too many waits) or a new leader took
//                     over since the avatar left (it learns the waits from the nodes' Promises,
//                     but a spawn may come before a late one): such a spawn is counted
//                     (before_logout_save) and held to "came back whole" only.
//
// With the loot checker's "one holder" and "none lost" (app/loot_checker.h) this is the issue's
// conservation across log-outs: an item of the save is in the new life (here), in no other entity
// (the sweep), and an item held at the log-out is in the save (the log-out save, or the loot batch's).

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "engine/gameplay/world.h"
#include "runtime/sim/sim_storage.h"

namespace aether::app {

struct SaveCheckFigures {
  uint64_t lives_checked = 0;  // spawns of a character's next life compared with its save
  uint64_t items_checked = 0;  // items those saves held
  uint64_t lives_as_left = 0;  // ... of them also held to the avatar's state as it left (its owner did not crash)
  uint64_t before_logout_save = 0;  // next lives spawned, excused, while their last avatar's log-out save had not landed
};

class SaveChecker {
 public:
  using Fail = std::function<void(TimeNs, std::string, std::string)>;
  // The shared database's disk; without one (each host its own disk) nothing is checked.
  void set_database(const sim::SimStorage* database) { database_ = database; }
  // `e` was just spawned by a grant on compute node `node` (kOwnershipGranted, b = 0).
  // owes_logout(node, character): whether compute node `node` still owes a log-out save of
  // `character` (CharacterSaves::owes_logout): a log-in that came first is the race §9d names.
  using OwesLogout = std::function<bool(NodeId, CharacterId)>;
  void on_spawn(TimeNs now, NodeId node, const gameplay::Entity& e, const OwesLogout& owes_logout, const std::string& event, const Fail& fail);
  // A character's avatar left compute node `node` at its revoke (kOwnershipRevoked, b = 0), as `last`.
  void on_left(TimeNs now, NodeId node, const EntityState& last);
  // Compute node `node` crashed: the log-out saves it owed may never land.
  void on_crash(NodeId node);
  // The leader stopped holding `character`'s spawn for its log-out save (kLogoutWaitGivenUp).
  void on_wait_given_up(CharacterId character);
  // A leader took over: it holds no spawn for the log-outs before (kLeaderElected).
  void on_leader_elected();
  const SaveCheckFigures& figures() const { return figures_; }

 private:
  struct Left {
    uint32_t life = 0;
    NodeId node{};
    TimeNs at_ns = 0;
    int32_t experience = 0;
    InlineVec<LootItem, kInventoryItemsMax> inventory{};
    bool owner_crashed = false;
    bool wait_excused = false;  // the leader gave up waiting for its log-out save, or a new leader came
  };
  std::map<CharacterId, Left> left_;  // the last avatar of each character that left at a log-out
  const sim::SimStorage* database_ = nullptr;
  SaveCheckFigures figures_;
};

}  // namespace aether::app
