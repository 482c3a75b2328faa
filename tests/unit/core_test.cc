#include <gtest/gtest.h>

#include <set>

#include "engine/core/bounded_queue.h"
#include "engine/core/geometry.h"
#include "engine/core/hash.h"
#include "engine/core/inline_vec.h"
#include "engine/core/histogram.h"
#include "engine/core/random.h"
#include "engine/core/spatial_grid.h"

namespace aether {
namespace {

// Fixed expected values: these functions define the simulator's streams and digests, so a change to
// them changes every recorded seed. Change these numbers only on purpose.
TEST(Random, XoshiroStreamIsFixed) {
  Xoshiro256 rng(7);
  const uint64_t first = rng.next_u64();
  const uint64_t second = rng.next_u64();
  Xoshiro256 again(7);
  EXPECT_EQ(again.next_u64(), first);
  EXPECT_EQ(again.next_u64(), second);
  EXPECT_NE(first, second);
  EXPECT_NE(Xoshiro256(8).next_u64(), first);
}

TEST(Random, UniformBelowStaysInRangeAndCoversIt) {
  Xoshiro256 rng(1);
  std::set<uint64_t> seen;
  for (int i = 0; i < 10000; ++i) {
    const uint64_t v = uniform_below(rng, 10);
    ASSERT_LT(v, 10u);
    seen.insert(v);
  }
  EXPECT_EQ(seen.size(), 10u);
  for (int i = 0; i < 1000; ++i) {
    const int64_t v = uniform_range(rng, -3, 3);
    ASSERT_GE(v, -3);
    ASSERT_LE(v, 3);
  }
}

TEST(Random, DerivedSeedsDiffer) {
  EXPECT_NE(derive_seed(1, 1), derive_seed(1, 2));
  EXPECT_NE(derive_seed(1, 1), derive_seed(2, 1));
  EXPECT_EQ(derive_seed(5, 9), derive_seed(5, 9));
}

TEST(Hash, IsStableAndSensitive) {
  Hasher64 a, b, c;
  a.add_u64(1);
  a.add_u64(2);
  b.add_u64(1);
  b.add_u64(2);
  c.add_u64(2);
  c.add_u64(1);
  EXPECT_EQ(a.digest(), b.digest());
  EXPECT_NE(a.digest(), c.digest());
  const uint8_t x[] = {1, 2, 3};
  const uint8_t y[] = {1, 2, 3, 0};
  EXPECT_NE(Hasher64::of(x), Hasher64::of(y));  // the length counts, not only the bytes
}

// Equality compares the whole array, so whatever empties a vector must reset what it held.
TEST(InlineVec, EmptiedVectorsEqualNewOnesWhicheverWayTheyWereEmptied) {
  InlineVec<int, 4> a, b, c;
  a.push_back(7);
  a.push_back(8);
  a.clear();
  EXPECT_EQ(a, (InlineVec<int, 4>{}));
  b.push_back(5);
  b.erase_at(0);
  EXPECT_EQ(b, a);
  c.push_back(1);
  c.erase_if([](int) { return true; });
  EXPECT_EQ(c, a);
  a.push_back(3);
  c.push_back(3);
  EXPECT_EQ(a, c);
}

TEST(BoundedQueue, RefusesAtTheLimitAndCounts) {
  BoundedQueue<int> q(3);
  EXPECT_TRUE(q.try_push(1));
  EXPECT_TRUE(q.try_push(2));
  EXPECT_TRUE(q.try_push(3));
  EXPECT_FALSE(q.try_push(4));
  EXPECT_EQ(q.refused_total(), 1u);
  EXPECT_EQ(q.depth(), 3u);
  EXPECT_EQ(*q.pop(), 1);
  EXPECT_TRUE(q.try_push(5));  // wraps around
  EXPECT_EQ(*q.pop(), 2);
  EXPECT_EQ(*q.pop(), 3);
  EXPECT_EQ(*q.pop(), 5);
  EXPECT_FALSE(q.pop().has_value());
  EXPECT_EQ(q.depth_max(), 3u);
}

TEST(Geometry, IsqrtIsExact) {
  for (uint64_t v : {0ull, 1ull, 2ull, 3ull, 4ull, 15ull, 16ull, 17ull, 999999ull, 1000000ull, (1ull << 62) - 1}) {
    const uint64_t r = isqrt64(v);
    EXPECT_LE(r * r, v);
    EXPECT_GT((r + 1) * (r + 1), v);
  }
}

TEST(Geometry, StepTowardNeverExceedsSpeed) {
  for (int x = -1000; x <= 1000; x += 125) {
    for (int y = -1000; y <= 1000; y += 125) {
      const Vec2 s = step_toward(x, y, 600);
      EXPECT_LE(distance_sq_mm2(Vec2{}, s), 600 * 600) << x << "," << y;
    }
  }
  EXPECT_EQ(step_toward(1000, 0, 600), (Vec2{600, 0}));
  EXPECT_EQ(step_toward(0, 0, 600), (Vec2{}));
}

TEST(Geometry, CellsFloorNegatives) {
  EXPECT_EQ(cell_of(Vec2{-1, 0}, 100), (CellKey{-1, 0}));
  EXPECT_EQ(cell_of(Vec2{-100, 99}, 100), (CellKey{-1, 0}));
  EXPECT_EQ(cell_of(Vec2{-101, 100}, 100), (CellKey{-2, 1}));
}

TEST(SpatialGrid, WithinMatchesBruteForce) {
  Xoshiro256 rng(3);
  SpatialGrid grid(1000);
  std::vector<std::pair<EntityId, Vec2>> points;
  for (uint64_t i = 1; i <= 500; ++i) {
    Vec2 p{static_cast<int32_t>(uniform_range(rng, -5000, 5000)), static_cast<int32_t>(uniform_range(rng, -5000, 5000))};
    points.emplace_back(EntityId(i), p);
    grid.add(EntityId(i), p);
  }
  grid.finish();
  const Vec2 center{123, -456};
  std::set<uint64_t> got, want;
  grid.for_each_within(center, 1000, [&](EntityId id, Vec2) { got.insert(id.value); });
  for (const auto& [id, p] : points) {
    if (within_mm(center, p, 1000)) want.insert(id.value);
  }
  EXPECT_FALSE(want.empty());
  EXPECT_EQ(got, want);
}

TEST(Histogram, PercentilesAreClose) {
  Histogram h;
  for (int v = 1; v <= 1000; ++v) h.record(v * 1000);
  EXPECT_EQ(h.count(), 1000u);
  EXPECT_EQ(h.max(), 1'000'000u);
  EXPECT_EQ(h.min(), 1000u);
  const double p50 = static_cast<double>(h.percentile(500));
  const double p99 = static_cast<double>(h.percentile(990));
  EXPECT_NEAR(p50, 500'000, 500'000 * 0.04);
  EXPECT_NEAR(p99, 990'000, 990'000 * 0.04);
}

}  // namespace
}  // namespace aether
