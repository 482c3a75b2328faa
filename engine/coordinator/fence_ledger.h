#pragma once
// The fencing orders (revokes, evictions) a leader sent one compute node and the node has not yet
// confirmed applying. The rule it keeps (docs/ownership.md §2, "Fences before leases"): a lease is
// renewed only on a connection on which every unconfirmed fence precedes the renewal. TCP keeps one
// connection in order, so the node applies those fences before it sees the ack; a fence sent on an
// older connection may have been lost with it, and is sent again first. A node that confirmed an
// eviction holds nothing; until then it is given nothing new.

#include <cstdint>
#include <map>
#include <vector>

#include "engine/core/assert.h"
#include "engine/runtime/network.h"
#include "engine/wire/messages.h"

namespace aether {

class FenceLedger {
 public:
  struct Revoke {
    EntityId entity{};
    uint64_t generation = 0;
  };

  void sent_revoke(EntityId entity, uint64_t generation, uint64_t fence, ConnId conn) {
    AETHER_ASSERT(fence > confirmed_);
    auto& r = revokes_[entity];
    r = Sent{std::max(r.generation, generation), fence, conn};
  }
  void sent_evict(uint64_t fence, ConnId conn) {
    AETHER_ASSERT(fence > confirmed_);
    evict_ = Sent{0, fence, conn};
  }
  // The node applied every fence numbered up to `applied` (Heartbeat.fence_applied).
  void confirm(uint64_t applied) {
    if (applied <= confirmed_) return;
    confirmed_ = applied;
    for (auto it = revokes_.begin(); it != revokes_.end();) it = it->second.fence <= applied ? revokes_.erase(it) : std::next(it);
    if (evict_.fence != 0 && evict_.fence <= applied) evict_ = Sent{};
  }
  bool evict_unconfirmed() const { return evict_.fence != 0; }
  bool empty() const { return revokes_.empty() && evict_.fence == 0; }
  size_t unconfirmed() const { return revokes_.size() + (evict_.fence != 0 ? 1 : 0); }
  // Whether some unconfirmed fence went on another connection than `conn` (and may be lost with it).
  bool stranded(ConnId conn) const {
    if (evict_.fence != 0 && evict_.conn != conn) return true;
    for (const auto& [id, r] : revokes_) {
      if (r.conn != conn) return true;
    }
    return false;
  }
  // Everything unconfirmed, to send again (the caller numbers them anew through sent_*()).
  std::vector<Revoke> revokes() const {
    std::vector<Revoke> out;
    out.reserve(revokes_.size());
    for (const auto& [id, r] : revokes_) out.push_back(Revoke{id, r.generation});
    return out;
  }
  // A new epoch, or a new process on the other side: nothing we sent before applies to it.
  void clear() {
    revokes_.clear();
    evict_ = Sent{};
  }

 private:
  struct Sent {
    uint64_t generation = 0;
    uint64_t fence = 0;
    ConnId conn = 0;
  };
  std::map<EntityId, Sent> revokes_;  // at most one per entity: the highest generation revoked
  Sent evict_;
  uint64_t confirmed_ = 0;
};

}  // namespace aether
