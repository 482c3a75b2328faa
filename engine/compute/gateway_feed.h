#pragma once
// What one gateway has been told by this compute node: an explicit subscription, never a broadcast.
// The gateway's interest is the set of grid cells around its clients' avatars; a cell stays in the
// set for kInterestTtlTicks after the last avatar leaves it (hysteresis, so an avatar pacing along a
// cell border does not make its surroundings flap in and out). Each tick the feed sends the state
// of every entity in those cells that is new to the gateway or changed since, and the ids of the
// entities it should forget (left the cells, or despawned). An initial push is simply "new to it".

#include <cstdint>
#include <map>
#include <vector>

#include "engine/core/spatial_grid.h"
#include "engine/gameplay/world.h"

namespace aether {

inline constexpr Tick kInterestTtlTicks = 20;                   // 2 s of hysteresis
inline constexpr size_t kFeedEntitiesMax = kBatchEntitiesMax;  // at the limit, further entities wait

class GatewayFeed {
 public:
  // Interest anchors (positions of this gateway's clients' avatars) for this tick, then build().
  DeltaBatch build(const gameplay::World& world, const SpatialGrid& grid, const std::vector<Vec2>& anchors, Tick tick);

  // The last batch was not delivered: the next one starts over with reset=true and full states.
  void mark_reset() { reset_pending_ = true; }
  size_t entities_known() const { return sent_.size(); }
  size_t cells() const { return cells_.size(); }

 private:
  void refresh_cells(const std::vector<Vec2>& anchors, int32_t cell_mm, Tick tick);

  std::map<CellKey, Tick> cells_;      // interest cell -> last tick an anchor needed it
  std::map<EntityId, uint64_t> sent_;  // entity -> version the gateway holds
  bool reset_pending_ = true;          // the first batch to a gateway is a reset
};

}  // namespace aether
