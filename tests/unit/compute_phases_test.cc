#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/sim_cluster.h"

namespace aether {
namespace {

app::ClusterShape small_battle(uint32_t bots) {
  app::ClusterShape shape;
  shape.bots = bots;
  shape.rules.arena_mm = 120'000;
  shape.view_radius_mm = 40'000;
  shape.rules.fire_range_mm = 30'000;
  return shape;
}

// Seed section 10: every tick runs the six phases, in order, and nothing else runs inside a tick.
TEST(ComputeTick, SixPhasesInOrderEveryTick) {
  testing::SimCluster c(11, small_battle(20));
  ComputeNode* node = c.cluster->computes().front();
  std::vector<std::pair<TickPhase, Tick>> seen;
  node->set_phase_observer([&](TickPhase p, Tick t) { seen.emplace_back(p, t); });
  c.sim.run_until(10 * kNsPerSec);
  ASSERT_GE(seen.size(), 6u * 95);
  ASSERT_EQ(seen.size() % 6, 0u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(static_cast<int>(seen[i].first), static_cast<int>(i % 6) + 1) << "at observation " << i;
    EXPECT_EQ(seen[i].second, i / 6 + 1) << "tick numbers are consecutive";
  }
}

// Phase 1 drains every input queued before the tick; phase 4 leaves no intent behind; and the
// battle really happened (inputs applied, shots landed), so these checks were not vacuous.
TEST(ComputeTick, QueuesDrainWithinTheTick) {
  testing::SimCluster c(12, small_battle(30));
  ComputeNode* node = c.cluster->computes().front();
  size_t queued_at_start = 0;
  node->set_phase_observer([&](TickPhase p, Tick) {
    if (p == TickPhase::kDrainInputs) queued_at_start += node->input_queue_depth();
    if (p == TickPhase::kGenerateIntents) {
      ASSERT_EQ(node->input_queue_depth(), 0u);
    }
    if (p == TickPhase::kProduceDeltas) {
      ASSERT_EQ(node->intent_queue_depth(), 0u);
    }
  });
  c.sim.run_until(30 * kNsPerSec);
  EXPECT_GT(queued_at_start, 1000u);
  EXPECT_GT(node->stats().inputs_applied, 1000u);
  EXPECT_GT(node->stats().intents_applied, 0u);
  EXPECT_EQ(node->stats().protocol_errors, 0u);
}

TEST(ComputeTick, EveryBotGetsAnAvatarOnTheNode) {
  testing::SimCluster c(13, small_battle(25));
  c.sim.run_until(5 * kNsPerSec);
  EXPECT_EQ(c.cluster->computes().front()->world().size(), 25u);
  EXPECT_EQ(c.cluster->coordinator()->table().size(), 25u);
  for (const BotClient* bot : c.cluster->bots()) {
    ASSERT_TRUE(bot->playing());
    EXPECT_NE(c.cluster->computes().front()->world().find(bot->entity()), nullptr);
  }
}

}  // namespace
}  // namespace aether
