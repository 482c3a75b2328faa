// The game in the simulator, whole: bots of every class play the shipped content through the
// servers, cheaters among them, and the global checker watches the game's invariants.

#include <gtest/gtest.h>

#include "app/scenario.h"
#include "app/sim_run.h"
#include "app/text_config.h"
#include "engine/gameplay/world.h"

namespace aether::app {
namespace {

wire::Scenario scenario(uint32_t cheaters) {
  wire::Scenario s;
  const std::string text = std::string(R"(
name: "game"
duration_s: 20
topology { coordinators: 1 compute_nodes: 2 gateways: 1 }
network { latency_us: 500 jitter_us: 200 }
world { arena_m: 120 view_radius_m: 50 fire_range_m: 30 content_dir: ")") + AETHER_SOURCE_DIR + "/content\" }\n" +
                           "bots { count: 60 teams: 2 join_spread_ms: 1000 cheaters: " + std::to_string(cheaters) + " }\n";
  EXPECT_TRUE(parse_text_proto("game.textpb", text, &s).ok());
  EXPECT_TRUE(validate_scenario(s).ok());
  return s;
}

uint64_t refused(const ClusterFigures& f, gameplay::Refusal r) { return f.skill_refusals[static_cast<size_t>(r)]; }

// docs/gameplay.md "Skills": every kind of impossible request a cheater makes is refused by the
// owner and counted by reason; nothing breaks an invariant; the honest bots keep fighting.
TEST(GameSim, CheatersAreRefusedAndCountedAndHonestPlayersPlayOn) {
  const Outcome honest = run_scenario(scenario(0), SimRunOptions{1, "", LogLevel::kError});
  ASSERT_EQ(honest.failure, "");
  EXPECT_EQ(refused(honest.figures, gameplay::Refusal::kUnknownSkill), 0u) << "honest bots never ask for an empty slot";
  EXPECT_EQ(refused(honest.figures, gameplay::Refusal::kWrongTeam), 0u) << "nor aim an enemy skill at an ally";
  EXPECT_GT(honest.figures.skills_used, 300u);
  EXPECT_GT(honest.figures.deaths, 10u) << "a real battle";
  EXPECT_GT(honest.figures.level_ups, 5u) << "kills and assists earn experience (the checker holds every level to it)";

  const Outcome cheating = run_scenario(scenario(12), SimRunOptions{1, "", LogLevel::kError});
  ASSERT_EQ(cheating.failure, "");
  const ClusterFigures& f = cheating.figures;
  EXPECT_GT(refused(f, gameplay::Refusal::kUnknownSkill), 100u);
  EXPECT_GT(refused(f, gameplay::Refusal::kWrongTeam), 50u);
  EXPECT_GT(refused(f, gameplay::Refusal::kOutOfRange), 50u);
  EXPECT_GT(refused(f, gameplay::Refusal::kCooldown) + refused(f, gameplay::Refusal::kGlobalCooldown), 100u);
  // The 48 honest bots still fight: at least half the skills the 60 honest ones used.
  EXPECT_GT(f.skills_used * 2, honest.figures.skills_used);
}

// docs/ownership.md "Respawns at home": the leader's region cut reaches the compute nodes, and each
// respawns its dead inside its own region, so that a respawn does not become a migration.
TEST(GameSim, TheDeadRespawnInsideTheirOwnersRegion) {
  // Players only (NPC spawners weigh on the cut, which may leave a node a sliver of a team's band).
  wire::Scenario s;
  ASSERT_TRUE(parse_text_proto("respawn.textpb", R"(
name: "respawn"
duration_s: 20
topology { coordinators: 1 compute_nodes: 2 gateways: 1 }
network { latency_us: 500 jitter_us: 200 }
world { arena_m: 120 view_radius_m: 50 fire_range_m: 30 }
bots { count: 60 teams: 2 join_spread_ms: 1000 }
)", &s).ok());
  ASSERT_TRUE(validate_scenario(s).ok());
  const Outcome run = run_scenario(s, SimRunOptions{3, "", LogLevel::kError});
  ASSERT_EQ(run.failure, "");
  const ClusterFigures& f = run.figures;
  EXPECT_GT(f.deaths, 10u);
  EXPECT_GT(f.respawns_at_home, 10u) << "the nodes know their regions";
  EXPECT_LE(f.respawns_away * 10, f.respawns_at_home) << "nearly every respawn finds a point at home";
  EXPECT_LE(f.respawns_at_home + f.respawns_away, f.deaths);
}

// engine/compute/refusal_meter.h: a player refused more than kRefusalsMax actions in a window loses
// its session (the owner tells its gateway); honest players, refused a few times a window, never do.
TEST(GameSim, PlayersRefusedPastTheLimitLoseTheirSessionHonestOnesNever) {
  const Outcome honest = run_scenario(scenario(0), SimRunOptions{1, "", LogLevel::kError});
  ASSERT_EQ(honest.failure, "");
  EXPECT_EQ(honest.figures.sessions_kicked, 0u);
  const Outcome cheating = run_scenario(scenario(12), SimRunOptions{2, "", LogLevel::kError});
  ASSERT_EQ(cheating.failure, "");
  EXPECT_EQ(cheating.figures.bots_kicked_honest, 0u);
  EXPECT_GE(cheating.figures.bots_kicked_cheating, 12u) << "every cheater kicked at least once in 20 s";
  EXPECT_EQ(cheating.figures.sessions_kicked, cheating.figures.bots_kicked_cheating) << "every kick the gateways made reached its bot";
}

// docs/gameplay.md "NPCs": the leader places every NPC the spawners keep, bots fight them and earn
// experience, and a compute node's crash mid-battle loses none (its NPCs are recovered with their
// component, as every entity is); the checker holds every invariant throughout.
TEST(GameSim, NpcsArePlacedFoughtAndSurviveTheirOwnersCrash) {
  wire::Scenario s;
  const std::string text = std::string(R"(
name: "npcs"
duration_s: 30
topology { coordinators: 1 compute_nodes: 3 gateways: 1 }
network { latency_us: 500 jitter_us: 200 }
bots { count: 80 teams: 2 join_spread_ms: 1000 }
events { at_ms: 15000 crash: "compute-2" }
world { arena_m: 400 view_radius_m: 50 fire_range_m: 30 content_dir: ")") + AETHER_SOURCE_DIR + "/content\" }\n";
  ASSERT_TRUE(parse_text_proto("npcs.textpb", text, &s).ok());
  ASSERT_TRUE(validate_scenario(s).ok());
  const Outcome o = run_scenario(s, SimRunOptions{1, "", LogLevel::kError});
  ASSERT_EQ(o.failure, "");
  EXPECT_EQ(o.figures.npcs, 30u) << "every NPC of content/npcs.textpb's spawners, none lost with compute-2";
  EXPECT_GT(o.figures.npcs_killed, 5u) << "bots fight the NPCs near them";
  EXPECT_GT(o.figures.level_ups, 0u);
  EXPECT_GT(o.figures.recoveries, 0u);
}

}  // namespace
}  // namespace aether::app
