#pragma once
// What an operator's console draws of ownership (GET /api/ownership): the leader's regions (which
// compute node is home to which cells of the arena) and where the entities are, by cell and owner.
// Built on demand from the coordinator's table (Coordinator::ownership_view), bounded: at most
// kOwnershipCellsMax (cell, owner) items, the rest counted in `cells_dropped`.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/core/ids.h"
#include "engine/core/region_map.h"

namespace aether {

inline constexpr size_t kOwnershipCellsMax = 4096;

struct OwnershipView {
  Epoch epoch = 0;
  bool leading = false;
  int32_t arena_mm = 0;
  uint32_t side = RegionMap::kSide;  // the grid is side x side cells of arena_mm / side
  // The home node of each cell, row by row from y = 0 (side * side values; invalid: no cut yet).
  std::vector<NodeId> homes;
  struct Cell {
    uint32_t x = 0, y = 0;
    NodeId owner{};  // invalid: orphaned (waiting for a new owner)
    uint32_t entities = 0;
  };
  std::vector<Cell> cells;  // by cell (y, then x), then owner
  size_t cells_dropped = 0;
  struct NodeCount {
    NodeId node{};
    uint32_t entities = 0;
  };
  std::vector<NodeCount> nodes;  // entities per owner, by node id
  uint32_t orphans = 0;
};

}  // namespace aether
