#pragma once
// A gateway's cache of entity states, rebuilt from the compute nodes' feeds (it holds no authority).
// One entity may reach the gateway from several nodes: its owner, and nodes that hold a ghost of it
// near their own avatars. The newest state wins (newer_than); the entry lives while any source still
// has it. Each entry also keeps its projection for clients (client::Seen), made once per change, and
// a version that changes with it, so that client views compare a number before any fields.
//
// A gateway needs little of a state: where it is (views, routing), its team, its lineage (which copy
// is newer) and the own avatar's cooldown. An entry keeps only that (`Cached`), not the whole
// EntityState with its components, so that ingesting a batch copies a few words per state.
//
// Entries live in flat arrays indexed by a small number (free numbers reused, lowest-freed last):
// what every client's view reads each tick is contiguous. Sources are numbered too (at most
// kSourcesMax at once) and an entry's sources are one bit set, not a list on the heap. An id index
// (IdIndex) finds an entry; nothing iterates it, so its order never reaches output (house rule 2).
//
// Bounded: at most `max` entries; a new entity beyond it is refused (counted by the caller) until
// room frees. At most kSourcesMax sources at once: a state from one more is refused until forget()
// frees a source's number.

#include <bitset>
#include <cstdint>
#include <vector>

#include "engine/core/id_index.h"
#include "engine/core/ids.h"
#include "engine/wire/client_protocol.h"
#include "engine/wire/messages.h"

namespace aether {

class EntityCache {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;
  static constexpr size_t kSourcesMax = 256;  // a gateway's compute_nodes_max default

  // What the gateway keeps of a state.
  struct Cached {
    EntityId id{};
    Vec2 pos{};
    uint32_t team = 0;
    uint32_t cooldown_ticks = 0;
    uint64_t generation = 0;
    uint64_t version = 0;
  };

  explicit EntityCache(size_t max) : max_(max) {}

  enum class Put : uint8_t { kAdded, kKept, kRefused };
  // `source` sent `st`: the entry gains that source, and the state if it is newer.
  Put put(NodeId source, const EntityState& st);
  // `source` no longer sends `id`; the entry goes when no source is left.
  void drop(NodeId source, EntityId id);
  // `source` is gone (lost, reset, unsubscribed): every entry loses it, and its number is freed.
  void forget(NodeId source);

  uint32_t find(EntityId id) const;  // kNone if absent
  size_t size() const { return index_.size(); }
  size_t sources() const { return sources_in_use_; }
  // Live entries, by number (an order of no meaning: callers sort what they output).
  template <class F>
  void for_each(F&& fn) const {
    for (uint32_t i = 0; i < live_.size(); ++i) {
      if (live_[i]) fn(i);
    }
  }
  const Cached& state(uint32_t i) const { return states_[i]; }
  const client::Seen& seen(uint32_t i) const { return seen_[i]; }
  uint64_t seen_version(uint32_t i) const { return seen_versions_[i]; }
  // Whether `source` is among the sources of entry i (for tests and checks).
  bool has_source(uint32_t i, NodeId source) const;

 private:
  using SourceSet = std::bitset<kSourcesMax>;
  static constexpr uint32_t kNoSource = UINT32_MAX;

  uint32_t source_number(NodeId source) const;  // kNoSource if it has none
  uint32_t source_number_or_new(NodeId source);  // kNoSource if all are taken
  void remove(uint32_t i);

  size_t max_;
  std::vector<Cached> states_;
  std::vector<client::Seen> seen_;
  std::vector<uint64_t> seen_versions_;
  std::vector<SourceSet> sources_;
  std::vector<uint8_t> live_;
  std::vector<uint32_t> free_;
  IdIndex index_;                      // entity id -> number; never iterated
  std::vector<NodeId> source_ids_;     // source number -> node (invalid: free)
  size_t sources_in_use_ = 0;
  uint32_t last_source_ = kNoSource;   // batches come one source at a time: its number, remembered
  uint64_t next_seen_version_ = 1;     // unique across entities and time
};

}  // namespace aether
