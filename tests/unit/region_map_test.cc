// The region map (engine/core/region_map.h): a Hilbert curve that keeps ranges compact, cuts
// that follow capacity, recuts only beyond the slack, and hysteresis at borders.

#include <gtest/gtest.h>

#include <set>

#include "engine/core/region_map.h"
#include "engine/core/random.h"

namespace aether {
namespace {

TEST(RegionMap, TheCurveVisitsEveryCellOnceMovingOneCellAtATime) {
  std::set<std::pair<uint32_t, uint32_t>> seen;
  auto previous = RegionMap::from_curve(0);
  for (uint32_t d = 0; d < RegionMap::kCells; ++d) {
    const auto [x, y] = RegionMap::from_curve(d);
    ASSERT_EQ(RegionMap::to_curve(x, y), d);
    seen.insert({x, y});
    if (d > 0) {
      const uint32_t step = (x > previous.first ? x - previous.first : previous.first - x) + (y > previous.second ? y - previous.second : previous.second - y);
      ASSERT_EQ(step, 1u) << "at " << d;  // neighbours on the curve are neighbours in space
    }
    previous = {x, y};
  }
  EXPECT_EQ(seen.size(), RegionMap::kCells);
}

RegionMap::Counts crowd(Xoshiro256& rng, const RegionMap& map, int32_t arena_mm, int n, std::vector<Vec2>* where = nullptr) {
  RegionMap::Counts counts{};
  for (int i = 0; i < n; ++i) {
    // A battle: most in the middle band, some anywhere.
    const bool middle = uniform_below(rng, 4) != 0;
    const int64_t lo = middle ? arena_mm * 2 / 5 : 0, hi = middle ? arena_mm * 3 / 5 : arena_mm - 1;
    const Vec2 p{static_cast<int32_t>(uniform_range(rng, lo, hi)), static_cast<int32_t>(uniform_range(rng, 0, arena_mm - 1))};
    ++counts[map.cell_of(p)];
    if (where) where->push_back(p);
  }
  return counts;
}

TEST(RegionMap, ACutGivesEachNodeItsShareOfTheEntitiesInOneRange) {
  const int32_t arena = 600'000;
  RegionMap map(arena);
  Xoshiro256 rng(3);
  const auto counts = crowd(rng, map, arena, 5000);
  const std::vector<RegionMap::Member> members{{NodeId(101), 1000}, {NodeId(102), 2000}, {NodeId(103), 1000}};
  ASSERT_TRUE(map.needs_cut(members, counts));
  map.cut(members, counts);
  ASSERT_EQ(map.ranges().size(), 3u);
  uint32_t expected_begin = 0;
  const uint64_t fair[] = {1250, 2500, 1250};
  for (size_t i = 0; i < 3; ++i) {
    const auto& r = map.ranges()[i];
    EXPECT_EQ(r.node, members[i].node);
    EXPECT_EQ(r.begin, expected_begin);
    expected_begin = r.end;
    uint64_t held = 0;
    for (uint32_t d = r.begin; d < r.end; ++d) held += counts[d];
    // Within the weight of one cell of the fair share (a cut is by whole cells).
    EXPECT_NEAR(static_cast<double>(held), static_cast<double>(fair[i]), 60.0) << "node " << r.node.value;
    for (uint32_t d = r.begin; d < r.end; ++d) ASSERT_EQ(map.home_of_cell(d), r.node);
  }
  EXPECT_EQ(expected_begin, RegionMap::kCells);
  EXPECT_FALSE(map.needs_cut(members, counts));  // balanced: no recut
  // Members change: recut.
  EXPECT_TRUE(map.needs_cut({{NodeId(101), 1000}, {NodeId(103), 1000}}, counts));
}

TEST(RegionMap, RecutsOnlyWhenAShareStraysBeyondTheSlack) {
  const int32_t arena = 600'000;
  RegionMap map(arena);
  Xoshiro256 rng(4);
  const std::vector<RegionMap::Member> members{{NodeId(101), 1000}, {NodeId(102), 1000}};
  auto counts = crowd(rng, map, arena, 2000);
  map.cut(members, counts);
  // Everyone crowds into node 101's region: beyond the slack, a recut.
  RegionMap::Counts crowded{};
  const auto& first = map.ranges()[0];
  crowded[first.begin] = 1500;
  crowded[map.ranges()[1].begin] = 500;
  EXPECT_TRUE(map.needs_cut(members, crowded));
  // A small drift stays within the slack.
  RegionMap::Counts drift = counts;
  for (uint32_t d = first.begin; d < first.end && d < first.begin + 5; ++d) drift[d] += 10;
  EXPECT_FALSE(map.needs_cut(members, drift));
}

TEST(RegionMap, AnEntityIsSentHomeOnlyOnceDeepInAnotherRegion) {
  const int32_t arena = 640'000;  // 10 m cells
  RegionMap map(arena);
  const NodeId a(101), b(102);
  map.cut({{a, 1000}, {b, 1000}}, RegionMap::Counts{});  // by area: two halves of the curve
  const int32_t cell = map.cell_mm();
  size_t near_border = 0, deep = 0;
  for (uint32_t x = 0; x < RegionMap::kSide; ++x) {
    for (uint32_t y = 0; y < RegionMap::kSide; ++y) {
      const Vec2 p{static_cast<int32_t>(x * cell + cell / 2), static_cast<int32_t>(y * cell + cell / 2)};
      if (map.home(p) == a) {
        EXPECT_FALSE(map.deep_outside(p, a));  // at home
        continue;
      }
      // Brute force: is a cell of a's region within kBorderCells (in x and in y) of this one?
      bool a_near = false;
      for (int32_t dx = -RegionMap::kBorderCells; dx <= RegionMap::kBorderCells; ++dx) {
        for (int32_t dy = -RegionMap::kBorderCells; dy <= RegionMap::kBorderCells; ++dy) {
          const int32_t nx = static_cast<int32_t>(x) + dx, ny = static_cast<int32_t>(y) + dy;
          if (nx < 0 || ny < 0 || nx >= static_cast<int32_t>(RegionMap::kSide) || ny >= static_cast<int32_t>(RegionMap::kSide)) continue;
          a_near = a_near || map.home_of_cell(RegionMap::to_curve(static_cast<uint32_t>(nx), static_cast<uint32_t>(ny))) == a;
        }
      }
      EXPECT_EQ(map.deep_outside(p, a), !a_near) << "cell " << x << "," << y;
      near_border += a_near;
      deep += !a_near;
    }
  }
  EXPECT_GT(near_border, RegionMap::kSide);  // a border band where entities stay with their owner
  EXPECT_GT(deep, RegionMap::kCells / 4);     // and a region's inside, where they go home
}

}  // namespace
}  // namespace aether

namespace aether {
namespace {

// A gateway adopts the leader's cut only if it covers the whole curve, in order, without gaps.
TEST(RegionMap, AdoptsOnlyACutCoveringTheCurve) {
  using R = RegionMap::Range;
  const NodeId a(201), b(202);
  RegionMap map(400'000);
  EXPECT_FALSE(map.adopt({}));
  EXPECT_FALSE(map.adopt({R{a, 0, 100}, R{b, 101, RegionMap::kCells}})) << "a gap";
  EXPECT_FALSE(map.adopt({R{a, 0, 100}, R{b, 99, RegionMap::kCells}})) << "an overlap";
  EXPECT_FALSE(map.adopt({R{a, 0, 100}, R{b, 100, RegionMap::kCells - 1}})) << "the end of the curve uncovered";
  EXPECT_FALSE(map.adopt({R{a, 0, 0}, R{b, 0, RegionMap::kCells}})) << "an empty range";
  EXPECT_FALSE(map.adopt({R{NodeId{}, 0, RegionMap::kCells}})) << "no node";
  EXPECT_FALSE(map.adopt({R{a, 0, RegionMap::kCells + 1}})) << "past the curve";
  EXPECT_TRUE(map.ranges().empty()) << "a refused cut changed the map";
  ASSERT_TRUE(map.adopt({R{b, 0, 100}, R{a, 100, 3000}, R{b, 3000, RegionMap::kCells}}));
  EXPECT_EQ(map.home_of_cell(0), b);
  EXPECT_EQ(map.home_of_cell(100), a);
  EXPECT_EQ(map.home_of_cell(2999), a);
  EXPECT_EQ(map.home_of_cell(RegionMap::kCells - 1), b);
  ASSERT_EQ(map.members().size(), 2u);
  EXPECT_EQ(map.members()[0].node, a);
  EXPECT_EQ(map.members()[1].node, b);
}

// distances_to agrees with deep_outside: farther than kBorderCells exactly when deep outside.
TEST(RegionMap, DistancesAgreeWithDeepOutside) {
  RegionMap map(400'000);
  RegionMap::Counts counts{};
  map.cut({RegionMap::Member{NodeId(1), 1}, RegionMap::Member{NodeId(2), 1}, RegionMap::Member{NodeId(3), 1}}, counts);
  const std::vector<uint16_t> to_two = map.distances_to(NodeId(2));
  uint16_t farthest = 0;
  for (uint32_t d = 0; d < RegionMap::kCells; ++d) {
    const auto [x, y] = RegionMap::from_curve(d);
    const Vec2 pos{static_cast<int32_t>(x) * map.cell_mm() + 1, static_cast<int32_t>(y) * map.cell_mm() + 1};
    EXPECT_EQ(to_two[d] == 0, map.home_of_cell(d) == NodeId(2)) << d;
    EXPECT_EQ(to_two[d] > RegionMap::kBorderCells, map.deep_outside(pos, NodeId(2))) << d;
    farthest = std::max(farthest, to_two[d]);
  }
  EXPECT_GT(farthest, RegionMap::kBorderCells);
  const std::vector<uint16_t> nobody = map.distances_to(NodeId(9));
  EXPECT_TRUE(std::all_of(nobody.begin(), nobody.end(), [](uint16_t d) { return d == RegionMap::kSide; }));
}

}  // namespace
}  // namespace aether
