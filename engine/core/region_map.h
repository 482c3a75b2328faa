#pragma once
// Ownership follows space (seed sections 7, 8): the leader's map of which compute node is home to
// which part of the arena. The same cut, made among the gateways, routes each client to the gateway
// of its part of the arena (Coordinator::route_gateways); a gateway adopts it from the leader.
//
// The arena is cut into kSide x kSide cells ordered along a Hilbert curve: cells next to each other on
// the curve are next to each other in space, so a contiguous range of the curve is a compact region.
// Each member compute node is home to one contiguous range, and an entity's home is the node whose
// range holds its cell. Fighters near each other are then mostly on one node, a node's ghosts are
// only those near its borders, and its feeds to other nodes carry only those borders.
//
// Ranges are cut so that each node's share of the entities follows its capacity. A cut moves
// entities (the cells it hands over), so the map is recut only when the members change or when a
// node's share under the current cut strays beyond kRecutSlackPermille of its fair share, or beyond
// its own capacity (plus kRecutSlackEntities) while the cluster as a whole is within capacity (a node
// past plan sheds load, engine/compute/load_governor.h, and the others have room); then every
// node is balanced again at once and the next recut waits for the battle itself to shift.
//
// Hysteresis at borders: an entity is sent home only once it is deep in another node's region (no
// cell of its owner's region within kBorderCells cells of it, about a fire range), so an entity
// fighting along a border never ping-pongs: it must move back that far to be sent back.

#include <array>
#include <cstdint>
#include <utility>
#include <vector>

#include "engine/core/geometry.h"
#include "engine/core/ids.h"

namespace aether {

class RegionMap {
 public:
  static constexpr uint32_t kSide = 64;  // cells per side; a power of two (the Hilbert curve's order)
  static constexpr uint32_t kCells = kSide * kSide;
  static constexpr uint64_t kRecutSlackPermille = 250;  // a node may hold 125% of its fair share
  static constexpr uint64_t kRecutSlackEntities = 16;   // and always this many more, so that small battles never churn
  static constexpr int32_t kBorderCells = 5;

  struct Member {
    NodeId node;
    uint64_t capacity;  // > 0
    friend bool operator==(const Member&, const Member&) = default;
  };
  struct Range {  // cells [begin, end) along the curve
    NodeId node;
    uint32_t begin, end;
  };
  using Counts = std::array<uint32_t, kCells>;

  explicit RegionMap(int32_t arena_mm);

  // The cell (its index along the curve) of a position; positions outside the arena count as its edge.
  uint32_t cell_of(Vec2 pos) const;
  NodeId home(Vec2 pos) const { return home_of_cell(cell_of(pos)); }
  NodeId home_of_cell(uint32_t d) const;
  // Whether `pos` is deep in a region other than `owner`'s: no cell within kBorderCells of it is owner's.
  bool deep_outside(Vec2 pos, NodeId owner) const;

  // For every cell (by curve index), how many cells away the nearest cell of `node` is (Chebyshev
  // distance on the grid; kSide if `node` has none): "deep outside by d cells" in O(1) per lookup.
  std::vector<uint16_t> distances_to(NodeId node) const;

  // Whether the map should be recut for these members (sorted by node) and entity counts per cell:
  // the members changed, or one holds more than its fair share plus the slack under the current cut.
  bool needs_cut(const std::vector<Member>& members, const Counts& counts) const;
  // Cuts the curve into one range per member (in member order), each holding a share of the entities
  // proportional to its capacity; with no entities, a share of the cells. Every member gets a cell.
  void cut(const std::vector<Member>& members, const Counts& counts);

  // Takes a cut made elsewhere (a gateway adopting the leader's routes): false, and nothing changed,
  // unless the ranges are in order, non-empty, each of a valid node, and cover [0, kCells) without
  // gaps. The members become the ranges' nodes, each of capacity 1.
  bool adopt(const std::vector<Range>& ranges);

  const std::vector<Range>& ranges() const { return ranges_; }
  const std::vector<Member>& members() const { return members_; }
  uint64_t cuts() const { return cuts_; }
  int32_t cell_mm() const { return cell_mm_; }

  // Hilbert curve of order kSide: cell (x, y) <-> index d, both ways (exposed for tests).
  static uint32_t to_curve(uint32_t x, uint32_t y);
  static std::pair<uint32_t, uint32_t> from_curve(uint32_t d);

 private:
  int32_t cell_mm_;
  std::vector<Member> members_;
  std::vector<Range> ranges_;  // sorted by begin, covering [0, kCells) without gaps once cut
  std::array<NodeId, kCells> home_{};  // by cell along the curve, from ranges_ (lookups are per entity)
  uint64_t cuts_ = 0;
};

}  // namespace aether
