#include "engine/compute/gateway_feed.h"

#include <algorithm>

namespace aether {

void GatewayFeed::refresh_cells(const std::vector<Vec2>& anchors, int32_t cell_mm, Tick tick) {
  // A cell is as wide as the view radius, so everything within the radius of an anchor lies in the
  // 3x3 block of cells around the anchor's own.
  for (Vec2 a : anchors) {
    const CellKey c = cell_of(a, cell_mm);
    for (int32_t dx = -1; dx <= 1; ++dx) {
      for (int32_t dy = -1; dy <= 1; ++dy) cells_[CellKey{c.cx + dx, c.cy + dy}] = tick;
    }
  }
  for (auto it = cells_.begin(); it != cells_.end();) {
    it = (it->second + kInterestTtlTicks < tick) ? cells_.erase(it) : std::next(it);
  }
}

DeltaBatch GatewayFeed::build(const gameplay::World& world, const SpatialGrid& grid, const std::vector<Vec2>& anchors,
                              Tick tick) {
  refresh_cells(anchors, grid.cell_mm(), tick);
  std::vector<EntityId> relevant;
  for (const auto& [cell, last] : cells_) {
    grid.for_each_in_cell(cell, [&](EntityId id, Vec2) { relevant.push_back(id); });
  }
  std::sort(relevant.begin(), relevant.end());
  if (relevant.size() > kFeedEntitiesMax) relevant.resize(kFeedEntitiesMax);

  DeltaBatch batch;
  if (reset_pending_) {
    batch.reset = true;
    sent_.clear();
    reset_pending_ = false;
  }
  for (EntityId id : relevant) {
    const gameplay::Entity* e = world.find(id);
    if (!e) continue;
    auto [it, inserted] = sent_.try_emplace(id, e->version);
    if (inserted || it->second != e->version) {
      it->second = e->version;
      batch.states.push_back(e->state());
    }
  }
  for (auto it = sent_.begin(); it != sent_.end();) {
    if (std::binary_search(relevant.begin(), relevant.end(), it->first)) {
      ++it;
    } else {
      batch.removed.push_back(it->first);
      it = sent_.erase(it);
    }
  }
  return batch;
}

}  // namespace aether
