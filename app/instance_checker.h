#pragma once
// Instances (docs/gameplay.md, "Instances"), part of the simulator's global checker (app/checker.h).
// It follows the leader's allocations and teardowns (trace kinds 127, 128) and every write of an
// entity standing in a slot of an instance template:
//
//   in its slot      an instance's NPC is always written in the slot of its home (no instance entity
//                    leaves its slot but a player through a portal);
//   one party        every entity written in a slot is of the party the slot was given to (an
//                    avatar's party is its template's rule, an NPC's the party it was placed for);
//                    a slot is given to no party while another holds it, nor to a party that holds
//                    one; a player enters (kind 129) only the slot its party holds;
//   none left        a slot torn down has no records left: no entity is written in it past the
//                    revokes' slack after the teardown (in runs whose only faults are crashes;
//                    kTeardownSlackNs), and no entity stands in a slot never given to a party.

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>

#include "engine/core/cluster_timing.h"
#include "engine/gameplay/world.h"
#include "engine/runtime/trace.h"

namespace aether::app {

struct InstanceCheckFigures {
  uint64_t opened = 0;          // slots allocated (leader records)
  uint64_t closed = 0;          // slots torn down
  uint64_t entered = 0;         // players that went into their party's slot
  uint64_t writes_checked = 0;  // writes of entities standing in a slot
};

class InstanceChecker {
 public:
  using Fail = std::function<void(TimeNs, std::string, std::string)>;
  // After a teardown the owners' copies go when their revokes land: a lost owner's are gone when
  // the loss is found, a live one's within a few ticks.
  static constexpr TimeNs kTeardownSlackNs = kNodeLossAfterNs + 10 * kTickNs;

  void set_strict(bool strict) { strict_ = strict; }
  void on_opened(const TraceEvent& r, const std::string& event, const Fail& fail);
  void on_closed(const TraceEvent& r);
  void on_entered(const TraceEvent& r, const gameplay::Content& content, const gameplay::Entity* e, const std::string& event, const Fail& fail);
  // A write of `e`, which its owner just made (content with zones): what is wrong with it, or empty.
  std::string on_write(TimeNs now, const gameplay::Content& content, const gameplay::Entity& e);
  const InstanceCheckFigures& figures() const { return figures_; }

 private:
  struct Slot {
    uint64_t party = 0;       // the party it is given to (0: none now)
    TimeNs closed_ns = -1;    // torn down at (-1: never)
    uint64_t last_party = 0;  // before the teardown: its entities may be written until the revokes land
  };
  using Key = std::pair<uint16_t, uint32_t>;  // (template zone, slot)
  static Key key_of(int64_t a) { return {static_cast<uint16_t>(a >> 32), static_cast<uint32_t>(a & 0xffffffff)}; }

  bool strict_ = true;
  std::map<Key, Slot> slots_;  // at most the templates' slots
  InstanceCheckFigures figures_;
};

}  // namespace aether::app
