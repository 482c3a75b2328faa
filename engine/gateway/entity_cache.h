#pragma once
// A gateway's cache of entity states, rebuilt from the compute nodes' feeds (it holds no authority).
// One entity may reach the gateway from several nodes: its owner, and nodes that hold a ghost of it
// near their own avatars. The newest state wins (newer_than); the entry lives while any source still
// has it. Each entry also keeps its projection for clients (client::Seen), made once per change, and
// a version that changes with it, so that client views compare a number before any fields.
//
// Entries live in flat arrays indexed by a small number (free numbers reused, lowest-freed last):
// what every client's view reads each tick is contiguous. An id index finds an entry; nothing
// iterates that index, so its order never reaches output (house rule 2).
//
// Bounded: at most `max` entries; a new entity beyond it is refused (counted by the caller) until
// room frees.

#include <cstdint>
#include <unordered_map>
#include <vector>

#include "engine/core/ids.h"
#include "engine/wire/client_protocol.h"
#include "engine/wire/messages.h"

namespace aether {

class EntityCache {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  explicit EntityCache(size_t max) : max_(max) {}

  enum class Put : uint8_t { kAdded, kKept, kRefused };
  // `source` sent `st`: the entry gains that source, and the state if it is newer.
  Put put(NodeId source, const EntityState& st);
  // `source` no longer sends `id`; the entry goes when no source is left.
  void drop(NodeId source, EntityId id);
  // `source` is gone (lost, reset, unsubscribed): every entry loses it.
  void forget(NodeId source);

  uint32_t find(EntityId id) const;  // kNone if absent
  size_t size() const { return index_.size(); }
  // Live entries, by number (an order of no meaning: callers sort what they output).
  template <class F>
  void for_each(F&& fn) const {
    for (uint32_t i = 0; i < live_.size(); ++i) {
      if (live_[i]) fn(i);
    }
  }
  const EntityState& state(uint32_t i) const { return states_[i]; }
  const client::Seen& seen(uint32_t i) const { return seen_[i]; }
  uint64_t seen_version(uint32_t i) const { return seen_versions_[i]; }

 private:
  void remove(uint32_t i);

  size_t max_;
  std::vector<EntityState> states_;
  std::vector<client::Seen> seen_;
  std::vector<uint64_t> seen_versions_;
  std::vector<std::vector<NodeId>> sources_;  // sorted; at most one per compute node
  std::vector<uint8_t> live_;
  std::vector<uint32_t> free_;
  std::unordered_map<uint64_t, uint32_t> index_;  // entity id -> number; never iterated
  uint64_t next_seen_version_ = 1;                // unique across entities and time
};

}  // namespace aether
