#pragma once
// A compute node's ghosts: read-only copies of entities that other nodes own, each with the node
// whose feed it came from. Ghosts are found by id by the thousand per tick (every feed state
// received, every target and area query) and walked in id order once per tick (the feeds), so:
//
// - the ghosts live in a flat array of slots (free slots reused), found through an IdIndex: one
//   probe into contiguous memory instead of an ordered-map walk per lookup;
// - the id order is an array of (id, slot) kept sorted lazily: additions are appended to a pending
//   list and removals only leave the index, and the next walk merges the pending list in and drops
//   what the index no longer points at. An entry is live exactly when the index maps its id to its
//   slot, so the index is the one record of which ghosts exist.
//
// Nothing depends on slot numbers or index order: every walk is in id order (house rule 2).
// Bounded: at most max() ghosts; add() refuses past it (the caller counts the refusal).

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/core/assert.h"
#include "engine/core/id_index.h"
#include "engine/wire/messages.h"

namespace aether {

struct Ghost {
  EntityState state;
  NodeId owner{};
};

class GhostTable {
 public:
  explicit GhostTable(size_t max) : max_(max) {}
  GhostTable(const GhostTable&) = delete;
  GhostTable& operator=(const GhostTable&) = delete;

  size_t size() const { return index_.size(); }
  size_t max() const { return max_; }
  bool contains(EntityId id) const { return index_.find(id.value) != IdIndex::kNone; }
  const Ghost* find(EntityId id) const {
    const uint32_t slot = index_.find(id.value);
    return slot == IdIndex::kNone ? nullptr : &slots_[slot];
  }
  Ghost* find(EntityId id) {
    const uint32_t slot = index_.find(id.value);
    return slot == IdIndex::kNone ? nullptr : &slots_[slot];
  }

  // A new ghost of `id` (absent), its state to be filled by the caller; nullptr when full.
  Ghost* add(EntityId id, NodeId owner) {
    AETHER_ASSERT(id.valid());
    AETHER_ASSERT(!contains(id));
    if (size() >= max_) return nullptr;
    uint32_t slot;
    if (!free_.empty()) {
      slot = free_.back();
      free_.pop_back();
    } else {
      slot = static_cast<uint32_t>(slots_.size());
      slots_.emplace_back();
    }
    slots_[slot].owner = owner;
    slots_[slot].state.id = id;
    index_.insert(id.value, slot);
    pending_.push_back(Entry{id.value, slot});
    return &slots_[slot];
  }

  // False if there was no ghost of `id`.
  bool erase(EntityId id) {
    const uint32_t slot = index_.find(id.value);
    if (slot == IdIndex::kNone) return false;
    index_.erase(id.value);
    free_.push_back(slot);
    ++erased_since_settle_;
    return true;
  }

  // fn(const Ghost&) for every ghost, in increasing id order. fn must not add or erase.
  template <class F>
  void for_each(F&& fn) const {
    settle();
    for (const Entry& e : order_) fn(slots_[e.slot]);
  }
  // The ids of every ghost whose owner is `owner`, in increasing id order (into `out`, cleared).
  void ids_of(NodeId owner, std::vector<EntityId>& out) const {
    out.clear();
    for_each([&](const Ghost& g) {
      if (g.owner == owner) out.push_back(g.state.id);
    });
  }

 private:
  struct Entry {
    uint64_t id;
    uint32_t slot;
    friend bool operator<(const Entry& a, const Entry& b) { return a.id < b.id; }
    friend bool operator==(const Entry& a, const Entry& b) = default;
  };

  // Brings order_ up to date: pending additions merged in, entries the index no longer maps
  // (erased, or erased and added again in another slot) dropped, duplicates of a re-added ghost in
  // its old slot kept once.
  void settle() const {
    if (pending_.empty() && erased_since_settle_ == 0) return;
    auto live = [this](const Entry& e) { return index_.find(e.id) == e.slot; };
    std::erase_if(order_, [&](const Entry& e) { return !live(e); });
    std::erase_if(pending_, [&](const Entry& e) { return !live(e); });
    std::sort(pending_.begin(), pending_.end());
    const size_t middle = order_.size();
    order_.insert(order_.end(), pending_.begin(), pending_.end());
    std::inplace_merge(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(middle), order_.end());
    order_.erase(std::unique(order_.begin(), order_.end()), order_.end());
    pending_.clear();
    erased_since_settle_ = 0;
    AETHER_ASSERT(order_.size() == index_.size());
  }

  size_t max_;
  std::vector<Ghost> slots_;
  std::vector<uint32_t> free_;
  IdIndex index_;                        // id -> slot: which ghosts exist; never iterated
  mutable std::vector<Entry> order_;     // sorted by id once settled
  mutable std::vector<Entry> pending_;   // added since the last settle, unsorted
  mutable size_t erased_since_settle_ = 0;
};

}  // namespace aether
