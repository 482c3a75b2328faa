// Loot in the real battle (docs/persistence.md §9c): scenarios/loot-battle played by the servers in
// the simulator, the global checker following every item (app/loot_checker.h), and the planted bug
// economy-loot-on-handoff-retry (a new owner that makes a handed-off avatar's newest loot again)
// caught as an item created twice.

#include <gtest/gtest.h>

#include "app/scenario.h"
#include "app/sim_run.h"

namespace aether::app {
namespace {

wire::Scenario loot_battle(const std::string& planted) {
  auto s = load_scenario(std::string(AETHER_SOURCE_DIR) + "/scenarios/loot-battle");
  EXPECT_TRUE(s.ok()) << s.error().message;
  wire::Scenario out = s.value();
  out.set_duration_s(24);  // the compute crash and its recovery; the failover is the sweeps' (scripts/test.sh)
  out.set_planted_bug(planted);
  return out;
}

TEST(LootBattle, ItemsAreMadeByKillsHeldOnceAndTheCheckerCatchesAnItemMadeTwiceOnAHandoff) {
  const Outcome clean = run_scenario(loot_battle(""), SimRunOptions{1, "", LogLevel::kError});
  ASSERT_EQ(clean.failure, "") << "without the bug the run must pass, or the test proves nothing";
  EXPECT_GT(clean.loot.created, 20u) << "kills made items";
  EXPECT_GT(clean.loot.held_at_last_sweep, 0u);
  EXPECT_GT(clean.figures.loot.logged, 0u) << "the owners logged their items to their stores";
  EXPECT_GT(clean.figures.migrations, 0u);

  const Outcome planted = run_scenario(loot_battle("economy-loot-on-handoff-retry"), SimRunOptions{1, "", LogLevel::kError});
  EXPECT_NE(planted.failure.find("VIOLATION"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.failure.find("created twice"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.first_event.find("kind 160"), std::string::npos) << planted.first_event;
}

}  // namespace
}  // namespace aether::app
