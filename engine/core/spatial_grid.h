#pragma once
// A uniform grid over points, rebuilt from scratch when asked (once per tick). Storage is one sorted
// vector, so iteration order depends only on positions and ids, never on addresses or hashing.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/core/geometry.h"
#include "engine/core/ids.h"

namespace aether {

class SpatialGrid {
 public:
  explicit SpatialGrid(int32_t cell_mm) : cell_mm_(cell_mm) {}

  void clear() { items_.clear(); }
  // payload: a caller's index travelling with the point (e.g. into its own array of states).
  void add(EntityId id, Vec2 pos, uint32_t payload = 0) { items_.push_back(Item{cell_of(pos, cell_mm_), id, pos, payload}); }
  // Call after the adds and before any query.
  void finish() { std::sort(items_.begin(), items_.end()); }

  int32_t cell_mm() const { return cell_mm_; }
  size_t size() const { return items_.size(); }

  template <class F>
  void for_each_in_cell(CellKey cell, F&& fn) const {
    auto it = std::lower_bound(items_.begin(), items_.end(), Item{cell, EntityId{}, Vec2{}, 0});
    for (; it != items_.end() && it->cell == cell; ++it) fn(it->id, it->pos);
  }

  // Every point in a cell with its payload: fn(id, pos, payload), in id order.
  template <class F>
  void for_each_in_cell_payload(CellKey cell, F&& fn) const {
    auto it = std::lower_bound(items_.begin(), items_.end(), Item{cell, EntityId{}, Vec2{}, 0});
    for (; it != items_.end() && it->cell == cell; ++it) fn(it->id, it->pos, it->payload);
  }

  // Like for_each_within, also passing each point's payload: fn(id, pos, payload).
  template <class F>
  void for_each_within_payload(Vec2 center, int64_t radius_mm, F&& fn) const {
    const CellKey lo = cell_of(Vec2{clamp_i32(int64_t{center.x_mm} - radius_mm, INT32_MIN, INT32_MAX),
                                    clamp_i32(int64_t{center.y_mm} - radius_mm, INT32_MIN, INT32_MAX)}, cell_mm_);
    const CellKey hi = cell_of(Vec2{clamp_i32(int64_t{center.x_mm} + radius_mm, INT32_MIN, INT32_MAX),
                                    clamp_i32(int64_t{center.y_mm} + radius_mm, INT32_MIN, INT32_MAX)}, cell_mm_);
    for (int32_t cx = lo.cx; cx <= hi.cx; ++cx) {
      for (int32_t cy = lo.cy; cy <= hi.cy; ++cy) {
        auto it = std::lower_bound(items_.begin(), items_.end(), Item{CellKey{cx, cy}, EntityId{}, Vec2{}, 0});
        for (; it != items_.end() && it->cell == CellKey{cx, cy}; ++it) {
          if (within_mm(center, it->pos, radius_mm)) fn(it->id, it->pos, it->payload);
        }
      }
    }
  }

  // Every point within radius_mm of center (inclusive), in (cell, id) order.
  template <class F>
  void for_each_within(Vec2 center, int64_t radius_mm, F&& fn) const {
    for_each_within_payload(center, radius_mm, [&](EntityId id, Vec2 pos, uint32_t) { fn(id, pos); });
  }

 private:
  struct Item {
    CellKey cell;
    EntityId id;
    Vec2 pos;
    uint32_t payload;
    bool operator<(const Item& o) const { return cell != o.cell ? cell < o.cell : id < o.id; }
  };
  int32_t cell_mm_;
  std::vector<Item> items_;
};

}  // namespace aether
