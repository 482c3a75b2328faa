#pragma once
// What one subscriber (a gateway, or another compute node) has been told by this compute node: an
// explicit subscription, never a broadcast. Interest is a set of grid cells as wide as the view
// radius. Each tick the feed sends the state of every published entity in those cells that is new to
// the subscriber or changed since (an initial push is simply "new"), and the ids it should forget
// (left the cells, or gone).
//
// Gateways do not send their interest: it is derived here from the avatars of their clients, and a
// cell stays kInterestTtlTicks after the last avatar left it (hysteresis, so an avatar pacing along a
// cell border does not make its surroundings flap). Compute nodes send theirs (Subscribe) and apply
// the same hysteresis on their side before sending.

#include <algorithm>
#include <cstdint>
#include <map>
#include <utility>
#include <vector>

#include "engine/core/spatial_grid.h"
#include "engine/wire/bytes.h"
#include "engine/wire/messages.h"

namespace aether {

inline constexpr Tick kInterestTtlTicks = 20;                   // 2 s of hysteresis
inline constexpr size_t kFeedEntitiesMax = kBatchEntitiesMax;  // at the limit, further entities wait

// The cells within one view radius of p: its own and the eight around it (cells are radius-wide).
template <class F>
void for_each_cell_around(Vec2 p, int32_t cell_mm, F&& fn) {
  const CellKey c = cell_of(p, cell_mm);
  for (int32_t dx = -1; dx <= 1; ++dx) {
    for (int32_t dy = -1; dy <= 1; ++dy) fn(CellKey{c.cx + dx, c.cy + dy});
  }
}

// Cells needed by a set of anchors over time, with hysteresis.
class InterestCells {
 public:
  void refresh(const std::vector<Vec2>& anchors, int32_t cell_mm, Tick tick);
  std::vector<CellKey> cells() const;
  bool contains(CellKey c) const { return cells_.count(c) != 0; }

 private:
  std::map<CellKey, Tick> cells_;  // cell -> last tick an anchor needed it
};

// The states a node may publish this tick, sorted by id, each encoded (canonical encoding,
// state_codec.h, projected to `fields`: the audience of these feeds) at most once however many feeds
// carry it. The states are not copied: each added state must stay where it is, unchanged, until the
// next clear() (the node's world and ghost table do not change while it produces its feeds). Reused
// from tick to tick: no allocation once warm.
class FeedStates {
 public:
  explicit FeedStates(uint32_t fields) : fields_(fields) {}
  void clear();
  void add(const EntityState& s);  // in increasing id order
  size_t size() const { return states_.size(); }
  const EntityState& state(uint32_t i) const { return *states_[i]; }
  std::span<const uint8_t> encoded(uint32_t i);  // encodes on first use

 private:
  uint32_t fields_;
  std::vector<const EntityState*> states_;
  std::vector<uint32_t> begin_, end_;  // into bytes_; begin_ == end_ == 0: not encoded yet
  std::vector<uint8_t> bytes_;
};

class InterestFeed {
 public:
  // Gateways: interest from anchors, with hysteresis.
  void refresh_from_anchors(const std::vector<Vec2>& anchors, int32_t cell_mm, Tick tick);
  // Compute nodes: interest exactly as the subscriber sent it.
  void set_cells(std::vector<CellKey> cells);

  // grid holds every entity this feed may publish, its payload the entity's index in states.
  DeltaBatch build(const SpatialGrid& grid, FeedStates& states);

  // The last batch was not delivered: the next one starts over with reset=true and full states.
  void mark_reset() { reset_pending_ = true; }
  size_t entities_known() const { return sent_.size(); }
  // Whether the subscriber holds `id` from us (the last build sent it and it has not left).
  bool holds(EntityId id) const {
    auto it = std::lower_bound(sent_.begin(), sent_.end(), id, [](const Sent& s, EntityId e) { return s.id < e; });
    return it != sent_.end() && it->id == id;
  }
  // Entities the last build() sent for the first time (initial pushes), for the trace.
  size_t last_pushed_new() const { return last_pushed_new_; }
  size_t cell_count() const { return anchored_ ? anchored_cells_.cells().size() : cells_.size(); }

 private:
  bool anchored_ = false;
  InterestCells anchored_cells_;
  std::vector<CellKey> cells_;                               // sorted, for subscribers that send theirs
  struct Sent {
    EntityId id;
    uint64_t generation, version;
  };
  std::vector<Sent> sent_;  // sorted by id: what the subscriber holds from us
  // Scratch, reused every tick.
  std::vector<uint32_t> relevant_;
  std::vector<Sent> next_sent_;
  std::vector<uint32_t> to_send_;
  bool reset_pending_ = true;                                // the first batch is a reset
  size_t last_pushed_new_ = 0;
};

}  // namespace aether
