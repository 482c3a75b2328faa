#pragma once
// The coordinator's entity -> owner table. It is the only place where an entity's owner and
// generation change, so that what it gives each compute node (a count and a digest of the
// (entity, generation) pairs, compared with the node's own in every heartbeat, and the pairs
// themselves, by owner) can never drift from the records themselves: every change goes through
// put(), edit() or erase(), which account for it. The index by owner makes what a node holds cost
// what it holds, not the whole table (a takeover asks each of 40 nodes; at 20,000 records a walk
// of the table per node was most of the coordinator's heaviest ticks). It also indexes avatars by
// their character (the snapshot's), kept by the same three calls: a character has one avatar in
// the world at a time (Coordinator::handle_spawn holds a log-in until the last one has left).

#include <cstdint>
#include <map>
#include <set>
#include <utility>

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
    if (it != map_.end()) {
      unaccount(id, it->second.owner, it->second.generation);
      unindex(id, it->second.snapshot.character);
    }
    map_[id] = rec;
    account(id, rec.owner, rec.generation);
    index(id, rec.snapshot.character);
  }
  bool erase(EntityId id) {
    auto it = map_.find(id);
    if (it == map_.end()) return false;
    unaccount(id, it->second.owner, it->second.generation);
    unindex(id, it->second.snapshot.character);
    map_.erase(it);
    return true;
  }
  void clear() {
    map_.clear();
    holdings_.clear();
    avatars_.clear();
  }
  // Changes one record in place; fn(OwnerRecord&) may change any field, owner and generation
  // included. False if there is no such record. (A snapshot's edit leaves the accounts alone.)
  template <class F>
  bool edit(EntityId id, F&& fn) {
    auto it = map_.find(id);
    if (it == map_.end()) return false;
    const NodeId owner = it->second.owner;
    const uint64_t generation = it->second.generation;
    const CharacterId character = it->second.snapshot.character;
    fn(it->second);
    if (it->second.owner != owner || it->second.generation != generation) {
      unaccount(id, owner, generation);
      account(id, it->second.owner, it->second.generation);
    }
    if (it->second.snapshot.character != character) {
      unindex(id, character);
      index(id, it->second.snapshot.character);
    }
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
    return it == holdings_.end() ? kNone.digest : it->second.digest;
  }
  // Entity -> generation of every record `node` owns (the invalid id: the orphans), in id order.
  const std::map<EntityId, uint64_t>& given(NodeId node) const {
    auto it = holdings_.find(node);
    return it == holdings_.end() ? kNone.entities : it->second.entities;
  }
  size_t given_count(NodeId node) const { return node.valid() ? holdings(node).count() : 0; }
  size_t orphans() const { return holdings(NodeId{}).count(); }
  // The avatar of `character` in the table (the lowest id if, against the rule, there were two);
  // the invalid id if none.
  EntityId avatar_of(CharacterId character) const {
    auto it = avatars_.lower_bound({character, EntityId{}});
    return it != avatars_.end() && it->first == character ? it->second : EntityId{};
  }

  // Recounts everything from the records: tests assert that it matches the running figures.
  bool consistent() const {
    std::map<NodeId, Held> recount;
    for (const auto& [id, rec] : map_) {
      recount[rec.owner].digest.add(id, rec.generation);
      recount[rec.owner].entities.emplace(id, rec.generation);
    }
    if (recount.size() != holdings_.size()) return false;
    std::set<std::pair<CharacterId, EntityId>> avatars;
    for (const auto& [id, rec] : map_) {
      if (rec.snapshot.character.valid()) avatars.emplace(rec.snapshot.character, id);
    }
    if (avatars != avatars_) return false;
    for (const auto& [node, held] : recount) {
      auto it = holdings_.find(node);
      if (it == holdings_.end() || !(it->second.digest == held.digest) || it->second.entities != held.entities) return false;
    }
    return true;
  }

 private:
  // What one node owns: its digest and its records' ids. Orphans are kept under the invalid node
  // id, so that they are counted the same way.
  struct Held {
    HoldingsDigest digest;
    std::map<EntityId, uint64_t> entities;
  };
  void account(EntityId id, NodeId owner, uint64_t generation) {
    Held& held = holdings_[owner];
    held.digest.add(id, generation);
    const bool fresh = held.entities.emplace(id, generation).second;
    AETHER_ASSERT(fresh);
    AETHER_ASSERT(held.digest.count() == held.entities.size());
  }
  void unaccount(EntityId id, NodeId owner, uint64_t generation) {
    auto it = holdings_.find(owner);
    AETHER_ASSERT(it != holdings_.end() && it->second.digest.count() > 0);
    it->second.digest.remove(id, generation);
    const size_t erased = it->second.entities.erase(id);
    AETHER_ASSERT(erased == 1);
    AETHER_ASSERT(it->second.digest.count() == it->second.entities.size());
    if (it->second.digest.count() == 0) {
      AETHER_ASSERT(it->second.digest.digest() == 0);
      holdings_.erase(it);
    }
  }

  void index(EntityId id, CharacterId character) {
    if (character.valid()) avatars_.emplace(character, id);
  }
  void unindex(EntityId id, CharacterId character) {
    if (!character.valid()) return;
    const size_t erased = avatars_.erase({character, id});
    AETHER_ASSERT(erased == 1);
  }

  inline static const Held kNone{};
  Map map_;
  std::map<NodeId, Held> holdings_;
  std::set<std::pair<CharacterId, EntityId>> avatars_;  // (character, its avatar) of every record with a character
};

}  // namespace aether
