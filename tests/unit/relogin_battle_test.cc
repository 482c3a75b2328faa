// Re-login from saves in the simulator (docs/persistence.md §9e): scenarios/relogin-battle, where
// compute nodes and gateways share one simulated database, bots log out and back in, and the global
// checker holds every character's next life to its last save (app/save_checker.h); the planted bug
// economy-spawn-ignores-save (an owner that spawns the next life without what its save held) is
// caught at the spawn, economy-logout-without-save (an avatar that leaves without its log-out
// save) at the next life's spawn too, and economy-spawn-before-logout-save (a leader that does not
// hold a character's spawn for its last life's log-out save) at the spawn that came too early.

#include <gtest/gtest.h>

#include "app/scenario.h"
#include "app/sim_run.h"

namespace aether::app {
namespace {

wire::Scenario relogin_battle(const std::string& planted) {
  auto s = load_scenario(std::string(AETHER_SOURCE_DIR) + "/scenarios/relogin-battle");
  EXPECT_TRUE(s.ok()) << s.error().message;
  wire::Scenario out = s.value();
  out.set_duration_s(24);  // two rounds of log-outs, the database's failed writes, the compute crash and the gateway's
  out.set_planted_bug(planted);
  return out;
}

TEST(ReloginBattle, CharactersComeBackWithTheirSavesAndTheCheckerCatchesASpawnThatIgnoresItsSave) {
  const Outcome clean = run_scenario(relogin_battle(""), SimRunOptions{1, "", LogLevel::kError});
  ASSERT_EQ(clean.failure, "") << "without the bug the run must pass, or the test proves nothing";
  EXPECT_GT(clean.figures.bot_relogs, 100u) << "bots logged out and back in";
  EXPECT_GT(clean.saves.lives_checked, 100u) << "next lives were spawned from saves the gateways read from the shared database";
  EXPECT_GT(clean.saves.items_checked, 0u) << "some of those saves held items";
  EXPECT_GT(clean.figures.saves_loaded, 0u);
  EXPECT_GT(clean.figures.saves.synced, 0u) << "log-out saves";
  EXPECT_GT(clean.loot.created, 0u);
  EXPECT_GT(clean.saves.lives_as_left, 100u) << "next lives also held to their avatars' states as they left";
  EXPECT_EQ(clean.saves.before_logout_save, 0u) << "no wait given up: the leader held every early spawn until the save settled";

  const Outcome planted = run_scenario(relogin_battle("economy-spawn-ignores-save"), SimRunOptions{1, "", LogLevel::kError});
  EXPECT_NE(planted.failure.find("VIOLATION"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.failure.find("but its last save"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.first_event.find("kind 20"), std::string::npos) << planted.first_event;
}

// The log-out save is what brings back what an avatar gained since its last periodic save: without it
// the next life spawns from an older save, which "came back whole" accepts and "as it left" does not.
TEST(ReloginBattle, TheCheckerCatchesAnAvatarThatLeavesWithoutItsLogoutSave) {
  const Outcome planted = run_scenario(relogin_battle("economy-logout-without-save"), SimRunOptions{1, "", LogLevel::kError});
  EXPECT_NE(planted.failure.find("VIOLATION"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.failure.find("its log-out save is missing"), std::string::npos) << planted.failure;
}

// A log-in faster than the log-out save (the database slow or failing) reads the save before it; the
// leader holds the spawn until the owner reports the save settled, and the gateway reads again.
TEST(ReloginBattle, TheCheckerCatchesASpawnThatDidNotWaitForItsLogoutSave) {
  const Outcome planted = run_scenario(relogin_battle("economy-spawn-before-logout-save"), SimRunOptions{1, "", LogLevel::kError});
  EXPECT_NE(planted.failure.find("VIOLATION"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.failure.find("the leader did not hold the spawn"), std::string::npos) << planted.failure;
}

}  // namespace
}  // namespace aether::app
