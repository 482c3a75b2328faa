#pragma once
// The last states a compute node knew of entities it no longer holds or sees, kept so that those
// states are not lost with the node's view: entities taken from it (revoked, evicted), and ghosts
// whose owner it lost (the feed's connection broke). A later leader whose table is older asks for
// them (behind a Promise for the entities taken, with an OrphanQuery for both) and recovers each
// entity from the freshest copy it can reach (docs/ownership.md §4, "From the freshest state"). A
// fenced entity's latest state once lived only in the fencing coordinator's table, and a flip of
// leadership restored it from an older one; a ghost dropped with its owner's connection was the only
// copy left on the majority's side of a partition.
//
// Bounded: at most kLastStatesMax states; at the limit the oldest kept is forgotten (its entity has
// long been re-granted from some state by then).

#include <deque>
#include <map>

#include "engine/wire/messages.h"

namespace aether {

inline constexpr size_t kLastStatesMax = 16384;

class LastStates {
 public:
  enum class Why : uint8_t { kTaken, kOwnerLost };
  struct Kept {
    EntityState state;
    Why why = Why::kTaken;
  };

  void keep(const EntityState& state, Why why) {
    auto [it, fresh] = kept_.insert_or_assign(state.id, Kept{state, why});
    if (fresh) order_.push_back(state.id);
    while (kept_.size() > kLastStatesMax) {
      kept_.erase(order_.front());
      order_.pop_front();
    }
  }
  // The entity is ours, or seen through a feed, again: what we hold now is its state.
  void forget(EntityId id) {
    if (kept_.erase(id) == 0) return;
    for (auto it = order_.begin(); it != order_.end(); ++it) {
      if (*it == id) {
        order_.erase(it);
        break;
      }
    }
  }
  const Kept* find(EntityId id) const {
    auto it = kept_.find(id);
    return it == kept_.end() ? nullptr : &it->second;
  }
  const std::map<EntityId, Kept>& kept() const { return kept_; }
  size_t size() const { return kept_.size(); }

 private:
  std::map<EntityId, Kept> kept_;
  std::deque<EntityId> order_;  // oldest kept first
};

}  // namespace aether
