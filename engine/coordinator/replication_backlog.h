#pragma once
// What the leader has not yet handed to its vice's network: the rule of replication's flow control.
//
// The rule: an entity's change leaves the backlog only when every follower's network took a message
// carrying its entry; until then it stays, and is sent again as the table shows it then. So a
// change is never lost to a refused send (a full send buffer, a message too large for a frame), and
// a backlog coalesces: an entity that changes ten times while it waits is sent once. An id is
// either changed or erased, never both: an erased entity's last word is its erasure.

#include <cstddef>
#include <set>

#include "engine/core/assert.h"
#include "engine/core/ids.h"

namespace aether {

class ReplicationBacklog {
 public:
  void changed(EntityId id) {
    AETHER_ASSERT(id.valid());
    erased_.erase(id);
    changed_.insert(id);
  }
  void erased(EntityId id) {
    AETHER_ASSERT(id.valid());
    changed_.erase(id);
    erased_.insert(id);
  }
  // A message carrying these ids was taken by every follower.
  void delivered_change(EntityId id) { changed_.erase(id); }
  void delivered_erasure(EntityId id) { erased_.erase(id); }
  // No follower: nothing to send, and a follower that connects gets the whole table.
  void clear() {
    changed_.clear();
    erased_.clear();
  }

  bool empty() const { return changed_.empty() && erased_.empty(); }
  size_t size() const { return changed_.size() + erased_.size(); }
  // In id order: the order messages take them in, lowest first.
  const std::set<EntityId>& changed_ids() const { return changed_; }
  const std::set<EntityId>& erased_ids() const { return erased_; }

 private:
  std::set<EntityId> changed_;
  std::set<EntityId> erased_;
};

}  // namespace aether
