#include "engine/core/region_map.h"

#include <algorithm>

#include "engine/core/assert.h"

namespace aether {

static_assert((RegionMap::kSide & (RegionMap::kSide - 1)) == 0, "the Hilbert curve needs a power-of-two side");

RegionMap::RegionMap(int32_t arena_mm) : cell_mm_(std::max<int32_t>(1, (arena_mm + static_cast<int32_t>(kSide) - 1) / static_cast<int32_t>(kSide))) {
  AETHER_ASSERT(arena_mm > 0);
}

// The classic iterative conversion (rotate the quadrant so that the curve's pieces join up).
uint32_t RegionMap::to_curve(uint32_t x, uint32_t y) {
  AETHER_ASSERT(x < kSide && y < kSide);
  uint32_t d = 0;
  for (uint32_t s = kSide / 2; s > 0; s /= 2) {
    const uint32_t rx = (x & s) > 0 ? 1 : 0;
    const uint32_t ry = (y & s) > 0 ? 1 : 0;
    d += s * s * ((3 * rx) ^ ry);
    if (ry == 0) {
      if (rx == 1) {
        x = kSide - 1 - x;
        y = kSide - 1 - y;
      }
      std::swap(x, y);
    }
  }
  return d;
}

std::pair<uint32_t, uint32_t> RegionMap::from_curve(uint32_t d) {
  AETHER_ASSERT(d < kCells);
  uint32_t x = 0, y = 0;
  for (uint32_t s = 1; s < kSide; s *= 2) {
    const uint32_t rx = 1 & (d / 2);
    const uint32_t ry = 1 & (d ^ rx);
    if (ry == 0) {
      if (rx == 1) {
        x = s - 1 - x;
        y = s - 1 - y;
      }
      std::swap(x, y);
    }
    x += s * rx;
    y += s * ry;
    d /= 4;
  }
  return {x, y};
}

namespace {
uint32_t clamp_cell(int32_t mm, int32_t cell_mm) {
  const int32_t c = floor_div(mm, cell_mm);
  return static_cast<uint32_t>(std::clamp<int32_t>(c, 0, static_cast<int32_t>(RegionMap::kSide) - 1));
}
}  // namespace

uint32_t RegionMap::cell_of(Vec2 pos) const { return to_curve(clamp_cell(pos.x_mm, cell_mm_), clamp_cell(pos.y_mm, cell_mm_)); }

NodeId RegionMap::home_of_cell(uint32_t d) const {
  AETHER_ASSERT(d < kCells);
  return home_[d];
}

bool RegionMap::deep_outside(Vec2 pos, NodeId owner) const {
  const int32_t cx = static_cast<int32_t>(clamp_cell(pos.x_mm, cell_mm_));
  const int32_t cy = static_cast<int32_t>(clamp_cell(pos.y_mm, cell_mm_));
  const int32_t side = static_cast<int32_t>(kSide);
  for (int32_t x = std::max(0, cx - kBorderCells); x <= std::min(side - 1, cx + kBorderCells); ++x) {
    for (int32_t y = std::max(0, cy - kBorderCells); y <= std::min(side - 1, cy + kBorderCells); ++y) {
      if (home_of_cell(to_curve(static_cast<uint32_t>(x), static_cast<uint32_t>(y))) == owner) return false;
    }
  }
  return true;
}

// A breadth-first walk from every cell of `node` over the eight neighbours: each step is one cell of
// Chebyshev distance.
std::vector<uint16_t> RegionMap::distances_to(NodeId node) const {
  constexpr uint16_t kFar = static_cast<uint16_t>(kSide);
  std::vector<uint16_t> by_xy(kCells, kFar);  // indexed y * kSide + x
  std::vector<uint32_t> frontier, next;
  for (uint32_t d = 0; d < kCells; ++d) {
    if (home_[d] != node || !node.valid()) continue;
    const auto [x, y] = from_curve(d);
    by_xy[y * kSide + x] = 0;
    frontier.push_back(y * kSide + x);
  }
  for (uint16_t step = 1; !frontier.empty() && step < kFar; ++step) {
    next.clear();
    for (uint32_t at : frontier) {
      const int32_t x = static_cast<int32_t>(at % kSide), y = static_cast<int32_t>(at / kSide);
      for (int32_t dy = -1; dy <= 1; ++dy) {
        for (int32_t dx = -1; dx <= 1; ++dx) {
          const int32_t nx = x + dx, ny = y + dy;
          if (nx < 0 || ny < 0 || nx >= static_cast<int32_t>(kSide) || ny >= static_cast<int32_t>(kSide)) continue;
          uint16_t& d = by_xy[static_cast<uint32_t>(ny) * kSide + static_cast<uint32_t>(nx)];
          if (d != kFar) continue;
          d = step;
          next.push_back(static_cast<uint32_t>(ny) * kSide + static_cast<uint32_t>(nx));
        }
      }
    }
    frontier.swap(next);
  }
  std::vector<uint16_t> out(kCells);
  for (uint32_t d = 0; d < kCells; ++d) {
    const auto [x, y] = from_curve(d);
    out[d] = by_xy[y * kSide + x];
  }
  return out;
}

bool RegionMap::needs_cut(const std::vector<Member>& members, const Counts& counts) const {
  if (members != members_) return true;
  if (members.empty()) return false;
  uint64_t total = 0, capacity = 0;
  for (uint32_t c : counts) total += c;
  for (const Member& m : members) capacity += m.capacity;
  for (const Range& r : ranges_) {
    uint64_t held = 0;
    for (uint32_t d = r.begin; d < r.end; ++d) held += counts[d];
    const auto member = std::find_if(members.begin(), members.end(), [&](const Member& m) { return m.node == r.node; });
    AETHER_ASSERT(member != members.end());
    const uint64_t fair = total * member->capacity / capacity;
    if (held > fair + fair * kRecutSlackPermille / 1000 + kRecutSlackEntities) return true;
    // A node past its plan while the cluster as a whole is within it: the others have room.
    if (total <= capacity && held > member->capacity + kRecutSlackEntities) return true;
  }
  return false;
}

void RegionMap::cut(const std::vector<Member>& members, const Counts& counts) {
  AETHER_ASSERT(members.size() <= kCells);
  members_ = members;
  ranges_.clear();
  home_.fill(NodeId{});
  ++cuts_;
  if (members.empty()) return;
  uint64_t total = 0, capacity = 0;
  for (uint32_t c : counts) total += c;
  for (const Member& m : members) {
    AETHER_ASSERT(m.capacity > 0);
    capacity += m.capacity;
  }
  // With no entities, weigh every cell as one: the cut is then by area.
  const bool by_area = total == 0;
  const uint64_t weight_total = by_area ? kCells : total;
  uint32_t begin = 0;
  uint64_t before = 0;      // weight of the cells before `begin`
  uint64_t cumulative = 0;  // capacity of the members cut so far
  for (size_t i = 0; i < members.size(); ++i) {
    cumulative += members[i].capacity;
    const uint32_t left_for_others = static_cast<uint32_t>(members.size() - 1 - i);
    uint32_t end = begin + 1;  // every member gets at least one cell
    if (i + 1 == members.size()) {
      end = kCells;
    } else {
      const uint64_t target = weight_total * cumulative / capacity;  // the cumulative share at this member's end
      uint64_t weight = before + (by_area ? 1 : counts[begin]);
      while (end < kCells - left_for_others && weight < target) {
        weight += by_area ? 1 : counts[end];
        ++end;
      }
      before = weight;
    }
    ranges_.push_back(Range{members[i].node, begin, end});
    std::fill(home_.begin() + begin, home_.begin() + end, members[i].node);
    begin = end;
  }
  AETHER_ASSERT(ranges_.back().end == kCells);
}

bool RegionMap::adopt(const std::vector<Range>& ranges) {
  if (ranges.empty() || ranges.size() > kCells) return false;
  uint32_t next = 0;
  for (const Range& r : ranges) {
    if (!r.node.valid() || r.begin != next || r.end <= r.begin || r.end > kCells) return false;
    next = r.end;
  }
  if (next != kCells) return false;
  ranges_ = ranges;
  members_.clear();
  for (const Range& r : ranges_) {
    if (std::none_of(members_.begin(), members_.end(), [&](const Member& m) { return m.node == r.node; })) members_.push_back(Member{r.node, 1});
    std::fill(home_.begin() + r.begin, home_.begin() + r.end, r.node);
  }
  std::sort(members_.begin(), members_.end(), [](const Member& a, const Member& b) { return a.node < b.node; });
  ++cuts_;
  return true;
}

}  // namespace aether
