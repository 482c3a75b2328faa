// The load governor (engine/compute/load_governor.h): when a node sheds what, and when it stops.
#include "engine/compute/load_governor.h"

#include <gtest/gtest.h>

namespace aether {
namespace {

constexpr uint32_t kCapacity = 100;

// Runs `ticks` ticks at `entities` against kCapacity, no measured cost; returns the next tick.
Tick run(LoadGovernor& g, Tick from, Tick ticks, size_t entities, TimeNs cost = 0) {
  for (Tick t = from; t < from + ticks; ++t) g.observe(t, entities, kCapacity, cost);
  return from + ticks;
}

TEST(LoadGovernor, WithinPlanNothingIsShed) {
  LoadGovernor g;
  run(g, 1, 50, 100);  // exactly at plan
  EXPECT_EQ(g.level(), LoadLevel::kNormal);
  EXPECT_EQ(g.load_permille(), 1000u);
  for (Tick t = 1; t < 10; ++t) EXPECT_TRUE(g.feeds_due(t));
  EXPECT_EQ(g.opportunistic_stretch(), 1u);
}

TEST(LoadGovernor, PastPlanShedsOpportunisticThenSoftAtOnce) {
  LoadGovernor g;
  Tick t = run(g, 1, 5, 80);
  EXPECT_TRUE(g.observe(t++, 110, kCapacity, 0));
  EXPECT_EQ(g.level(), LoadLevel::kShedOpportunistic);
  EXPECT_EQ(g.opportunistic_stretch(), LoadGovernor::kOpportunisticStretch);
  EXPECT_TRUE(g.feeds_due(t) && g.feeds_due(t + 1));  // soft load still runs
  EXPECT_TRUE(g.observe(t++, 150, kCapacity, 0));  // 150%: straight to soft, no waiting
  EXPECT_EQ(g.level(), LoadLevel::kShedSoft);
  EXPECT_NE(g.feeds_due(10), g.feeds_due(11));  // every other tick
  EXPECT_EQ(g.entered(LoadLevel::kShedOpportunistic), 1u);
  EXPECT_EQ(g.entered(LoadLevel::kShedSoft), 1u);
}

TEST(LoadGovernor, RecoversOneLevelAtATimeAfterStayingBelowWithMargin) {
  LoadGovernorLimits limits;
  LoadGovernor g(limits);
  Tick t = run(g, 1, 3, 150);
  ASSERT_EQ(g.level(), LoadLevel::kShedSoft);
  // Just under the soft threshold but inside the margin: stays.
  t = run(g, t, 3 * limits.recover_ticks, 120);
  EXPECT_EQ(g.level(), LoadLevel::kShedSoft);
  // Well below: one level down after recover_ticks, not before.
  t = run(g, t, limits.recover_ticks - 1, 50);
  EXPECT_EQ(g.level(), LoadLevel::kShedSoft);
  t = run(g, t, 1, 50);
  EXPECT_EQ(g.level(), LoadLevel::kShedOpportunistic);
  t = run(g, t, limits.recover_ticks - 1, 50);
  EXPECT_EQ(g.level(), LoadLevel::kShedOpportunistic);
  run(g, t, 1, 50);
  EXPECT_EQ(g.level(), LoadLevel::kNormal);
}

TEST(LoadGovernor, OneTickAboveRestartsTheRecoveryCount) {
  LoadGovernorLimits limits;
  LoadGovernor g(limits);
  Tick t = run(g, 1, 1, 110);
  ASSERT_EQ(g.level(), LoadLevel::kShedOpportunistic);
  t = run(g, t, limits.recover_ticks - 1, 50);
  t = run(g, t, 1, 95);  // back near plan (inside the margin): the count starts again
  t = run(g, t, limits.recover_ticks - 1, 50);
  EXPECT_EQ(g.level(), LoadLevel::kShedOpportunistic);
  run(g, t, 1, 50);
  EXPECT_EQ(g.level(), LoadLevel::kNormal);
}

TEST(LoadGovernor, TickCostCountsAgainstItsPlannedShareOverAWindow) {
  LoadGovernorLimits limits;  // planned cost: half the tick budget
  LoadGovernor g(limits);
  const TimeNs planned = kTickNs * limits.tick_cost_planned_permille / 1000;
  g.observe(1, 10, kCapacity, planned * 13 / 10);  // one tick at 130% of the planned cost
  EXPECT_EQ(g.level(), LoadLevel::kShedSoft);
  EXPECT_EQ(g.load_permille(), 1300u);
  // The costly tick stays in the window for kCostWindowTicks ticks.
  run(g, 2, LoadGovernor::kCostWindowTicks - 1, 10, 0);
  EXPECT_EQ(g.load_permille(), 1300u);
  run(g, 1 + LoadGovernor::kCostWindowTicks, 1, 10, 0);
  EXPECT_EQ(g.load_permille(), 100u);
}

TEST(LoadGovernor, DisabledNeverSheds) {
  LoadGovernorLimits limits;
  limits.enabled = false;
  LoadGovernor g(limits);
  run(g, 1, 30, 300);
  EXPECT_EQ(g.level(), LoadLevel::kNormal);
  EXPECT_EQ(g.load_permille(), 3000u);
  EXPECT_EQ(g.ticks_at(LoadLevel::kNormal), 30u);
}

}  // namespace
}  // namespace aether
