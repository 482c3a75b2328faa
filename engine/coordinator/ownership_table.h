#pragma once
// The coordinator's entity -> owner table. It is the only place where an entity's owner and
// generation change, so that what it gives each compute node (a count and a digest of the
// (entity, generation) pairs, compared with the node's own in every heartbeat) can never drift from
// the records themselves: every change goes through put(), edit() or erase(), which account for it.

#include <cstdint>
#include <map>

#include "engine/core/assert.h"
#include "engine/core/holdings.h"
#include "engine/core/time.h"
#include "engine/wire/messages.h"

namespace aether {

struct OwnerRecord {
  NodeId owner{};          // invalid while orphaned (no compute node could take it yet)
  uint64_t generation = 0;
  NodeId gateway{};
  SessionId session{};
  EntityState snapshot;    // the freshest state we know (the owner's snapshots, releases, promises)
  uint64_t resume_token = 0;      // what the client must show to take the avatar back elsewhere
  TimeNs detached_since_ns = 0;   // its gateway is gone since (0: attached)
  TimeNs regrant_not_before_ns = 0;  // orphaned by a restarted owner: its old leases run until then
  // The table version of the orphaning that took it from a holder that had not released it: it is
  // re-granted only once a majority echoed that version (0: nothing to wait for; not replicated).
  uint64_t orphaned_version = 0;
};

class OwnershipTable {
 public:
  using Map = std::map<EntityId, OwnerRecord>;
  using const_iterator = Map::const_iterator;

  const_iterator begin() const { return map_.begin(); }
  const_iterator end() const { return map_.end(); }
  const_iterator find(EntityId id) const { return map_.find(id); }
  const_iterator lower_bound(EntityId id) const { return map_.lower_bound(id); }
  size_t count(EntityId id) const { return map_.count(id); }
  size_t size() const { return map_.size(); }
  bool empty() const { return map_.empty(); }
  const OwnerRecord* get(EntityId id) const {
    auto it = map_.find(id);
    return it == map_.end() ? nullptr : &it->second;
  }

  // Inserts or replaces a whole record.
  void put(EntityId id, const OwnerRecord& rec) {
    auto it = map_.find(id);
    if (it != map_.end()) account(id, it->second, -1);
    map_[id] = rec;
    account(id, rec, +1);
  }
  bool erase(EntityId id) {
    auto it = map_.find(id);
    if (it == map_.end()) return false;
    account(id, it->second, -1);
    map_.erase(it);
    return true;
  }
  void clear() {
    map_.clear();
    holdings_.clear();
  }
  // Changes one record in place; fn(OwnerRecord&) may change any field, owner and generation
  // included. False if there is no such record.
  template <class F>
  bool edit(EntityId id, F&& fn) {
    auto it = map_.find(id);
    if (it == map_.end()) return false;
    account(id, it->second, -1);
    fn(it->second);
    account(id, it->second, +1);
    return true;
  }
  void assign(EntityId id, NodeId owner, uint64_t generation) {
    edit(id, [&](OwnerRecord& r) {
      AETHER_ASSERT(generation >= r.generation);  // generations never go back
      r.owner = owner;
      r.generation = generation;
    });
  }

  // What the table gives `node`: how many entities, and the digest a node holding exactly those
  // (under those generations) reports in its heartbeats.
  const HoldingsDigest& holdings(NodeId node) const {
    auto it = holdings_.find(node);
    return it == holdings_.end() ? kNone : it->second;
  }
  size_t given_count(NodeId node) const { return node.valid() ? holdings(node).count() : 0; }
  size_t orphans() const { return holdings(NodeId{}).count(); }

  // Recounts everything from the records: tests assert that it matches the running figures.
  bool consistent() const {
    std::map<NodeId, HoldingsDigest> recount;
    for (const auto& [id, rec] : map_) recount[rec.owner].add(id, rec.generation);
    return recount == holdings_;
  }

 private:
  // Orphans are kept under the invalid node id, so that they are counted the same way.
  void account(EntityId id, const OwnerRecord& rec, int sign) {
    if (sign > 0) {
      holdings_[rec.owner].add(id, rec.generation);
      return;
    }
    auto it = holdings_.find(rec.owner);
    AETHER_ASSERT(it != holdings_.end() && it->second.count() > 0);
    it->second.remove(id, rec.generation);
    if (it->second.count() == 0) {
      AETHER_ASSERT(it->second.digest() == 0);
      holdings_.erase(it);
    }
  }

  inline static const HoldingsDigest kNone{};
  Map map_;
  std::map<NodeId, HoldingsDigest> holdings_;
};

}  // namespace aether
