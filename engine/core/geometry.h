#pragma once
// World geometry in integer millimetres. Authoritative state never holds floating point, so every
// compiler computes the same positions (house rule 2).

#include <cstdint>

namespace aether {

struct Vec2 {
  int32_t x_mm = 0;
  int32_t y_mm = 0;
  friend constexpr bool operator==(Vec2, Vec2) = default;
};

inline constexpr int64_t kMmPerMetre = 1000;

inline int64_t distance_sq_mm2(Vec2 a, Vec2 b) {
  const int64_t dx = int64_t{a.x_mm} - b.x_mm;
  const int64_t dy = int64_t{a.y_mm} - b.y_mm;
  return dx * dx + dy * dy;
}

inline bool within_mm(Vec2 a, Vec2 b, int64_t radius_mm) { return distance_sq_mm2(a, b) <= radius_mm * radius_mm; }

// floor(sqrt(v)) for v >= 0, exact, integer-only.
inline uint64_t isqrt64(uint64_t v) {
  uint64_t r = 0;
  uint64_t bit = uint64_t{1} << 62;
  while (bit > v) bit >>= 2;
  while (bit != 0) {
    if (v >= r + bit) {
      v -= r + bit;
      r = (r >> 1) + bit;
    } else {
      r >>= 1;
    }
    bit >>= 2;
  }
  return r;
}

inline int32_t clamp_i32(int64_t v, int32_t lo, int32_t hi) {
  return v < lo ? lo : (v > hi ? hi : static_cast<int32_t>(v));
}

// A direction given in permille per axis (each in [-1000, 1000]), scaled so its length is at most
// 1000, then multiplied by speed: the displacement for one tick, in millimetres.
inline Vec2 step_toward(int32_t dir_x_permille, int32_t dir_y_permille, int32_t speed_mm_per_tick) {
  const int64_t dx = dir_x_permille;
  const int64_t dy = dir_y_permille;
  const int64_t len = static_cast<int64_t>(isqrt64(static_cast<uint64_t>(dx * dx + dy * dy)));
  if (len == 0) return {};
  const int64_t scale = len > 1000 ? len : 1000;
  return Vec2{static_cast<int32_t>(dx * speed_mm_per_tick / scale), static_cast<int32_t>(dy * speed_mm_per_tick / scale)};
}

// Uniform grid cell of a point for cells of side cell_mm (floor division, also for negatives).
struct CellKey {
  int32_t cx = 0;
  int32_t cy = 0;
  friend constexpr auto operator<=>(CellKey, CellKey) = default;
};

inline int32_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return static_cast<int32_t>(q);
}

inline CellKey cell_of(Vec2 p, int32_t cell_mm) { return CellKey{floor_div(p.x_mm, cell_mm), floor_div(p.y_mm, cell_mm)}; }

}  // namespace aether
