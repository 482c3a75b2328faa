#include "engine/compute/interest_feed.h"

#include <algorithm>

namespace aether {

void InterestCells::refresh(const std::vector<Vec2>& anchors, int32_t cell_mm, Tick tick) {
  for (Vec2 a : anchors) for_each_cell_around(a, cell_mm, [&](CellKey c) { cells_[c] = tick; });
  for (auto it = cells_.begin(); it != cells_.end();) {
    it = (it->second + kInterestTtlTicks < tick) ? cells_.erase(it) : std::next(it);
  }
}

std::vector<CellKey> InterestCells::cells() const {
  std::vector<CellKey> out;
  out.reserve(cells_.size());
  for (const auto& [cell, last] : cells_) out.push_back(cell);
  return out;
}

void InterestFeed::refresh_from_anchors(const std::vector<Vec2>& anchors, int32_t cell_mm, Tick tick) {
  anchored_ = true;
  anchored_cells_.refresh(anchors, cell_mm, tick);
}

void InterestFeed::set_cells(std::vector<CellKey> cells) {
  std::sort(cells.begin(), cells.end());
  cells.erase(std::unique(cells.begin(), cells.end()), cells.end());
  cells_ = std::move(cells);
}

DeltaBatch InterestFeed::build(const SpatialGrid& grid, const std::map<EntityId, EntityState>& states) {
  std::vector<EntityId> relevant;
  const std::vector<CellKey> cells = anchored_ ? anchored_cells_.cells() : cells_;
  for (CellKey cell : cells) grid.for_each_in_cell(cell, [&](EntityId id, Vec2) { relevant.push_back(id); });
  std::sort(relevant.begin(), relevant.end());
  if (relevant.size() > kFeedEntitiesMax) relevant.resize(kFeedEntitiesMax);

  DeltaBatch batch;
  last_pushed_new_ = 0;
  if (reset_pending_) {
    batch.reset = true;
    sent_.clear();
    reset_pending_ = false;
  }
  for (EntityId id : relevant) {
    auto st = states.find(id);
    if (st == states.end()) continue;
    const std::pair<uint64_t, uint64_t> stamp{st->second.generation, st->second.version};
    auto [it, inserted] = sent_.try_emplace(id, stamp);
    if (inserted || it->second != stamp) {
      last_pushed_new_ += inserted ? 1 : 0;
      it->second = stamp;
      batch.states.push_back(st->second);
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
