// The checker must catch real bugs: each test plants one known bug in every server
// (engine/core/planted.h), runs a small cluster in the simulator with the fault that exercises it,
// and asserts that the run fails with the right violation and names its first violating event.
// The same scenario without the bug must pass, so each test can tell a caught bug from a broken run.

#include <string>

#include <gtest/gtest.h>

#include "app/scenario.h"
#include "app/sim_run.h"
#include "app/text_config.h"

namespace aether::app {
namespace {

constexpr const char* kCluster = R"(
name: "planted"
duration_s: 20
topology { coordinators: 2 compute_nodes: 3 gateways: 1 }
bots { count: 40 teams: 2 join_spread_ms: 1000 }
network { latency_us: 500 jitter_us: 200 }
world { arena_m: 150 view_radius_m: 50 fire_range_m: 30 }
)";

wire::Scenario scenario(const std::string& extra) {
  wire::Scenario s;
  const Status parsed = parse_text_proto("planted.textpb", std::string(kCluster) + extra, &s);
  EXPECT_TRUE(parsed.ok()) << parsed.error().message;
  const Status valid = validate_scenario(s);
  EXPECT_TRUE(valid.ok()) << valid.error().message;
  return s;
}

struct Case {
  const char* bug;
  const char* faults;        // what makes the bug matter
  const char* violation;     // a phrase of the expected violation
  const char* first_event;   // a phrase of the expected first violating event
};

class PlantedBugTest : public ::testing::TestWithParam<Case> {};

TEST_P(PlantedBugTest, TheCheckerCatchesItAndNamesTheFirstViolatingEvent) {
  const Case& c = GetParam();
  const Outcome clean = run_scenario(scenario(c.faults), SimRunOptions{1, "", LogLevel::kError});
  ASSERT_EQ(clean.failure, "") << "without the bug the run must pass, or the test proves nothing";

  const Outcome planted = run_scenario(scenario(std::string(c.faults) + "planted_bug: \"" + c.bug + "\"\n"), SimRunOptions{1, "", LogLevel::kError});
  EXPECT_NE(planted.failure.find("VIOLATION"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.failure.find(c.violation), std::string::npos) << planted.failure;
  EXPECT_NE(planted.first_event.find(c.first_event), std::string::npos) << planted.first_event;
  // Caught where it happened, not at the end of the run.
  EXPECT_LT(planted.simulated_ns, 20 * kNsPerSec);
}

INSTANTIATE_TEST_SUITE_P(
    Bugs, PlantedBugTest,
    ::testing::Values(
        // The node cut off by the partition loses its lease but keeps simulating; its entities are
        // re-granted elsewhere: two writers, seen at a tick record (kind 40).
        Case{"write-after-lease", "events { at_ms: 8000 partition { side_a: \"compute-2\" duration_ms: 3000 } }\n", "has two writers",
             "trace record kind 40"},
        // The destination is granted the entity while its owner has not released it yet.
        Case{"grant-before-release", "balancing { migration_storm_every_ms: 500 migration_storm_batch: 4 }\n", "has two writers",
             "trace record kind 40"},
        // The paused leader wakes up after its vice took over and sends orders of the old epoch.
        Case{"accept-stale-epoch", "events { at_ms: 8000 pause { host: \"@leader\" duration_ms: 3000 } }\n", "applied an order",
             "trace record kind 90"},
        // An entity that migrates in vanishes: nobody writes it any more.
        Case{"lose-entity", "balancing { migration_storm_every_ms: 500 migration_storm_batch: 4 }\n", "unwritten for", "the periodic sweep"},
        // An intent applied a second time (a retry without its key): the same key applied twice
        // (kind 36).
        Case{"apply-intent-twice", "", "applied twice", "trace record kind 36"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name;
      for (const char* p = info.param.bug; *p; ++p) name += *p == '-' ? '_' : *p;
      return name;
    });

// An encounter whose turn number is not used up when a turn is played (encounter-turn-twice): the
// next turn repeats it, and the checker sees a turn played twice at the turn's record (kind 122).
// Duellists challenge their nearest enemy player, so encounters start within seconds.
TEST(PlantedBug, TheCheckerCatchesAnEncounterTurnPlayedTwice) {
  const std::string duels = R"(
name: "planted-encounters"
duration_s: 20
topology { coordinators: 2 compute_nodes: 3 gateways: 1 }
bots { count: 40 teams: 2 join_spread_ms: 1000 challengers: 20 }
network { latency_us: 500 jitter_us: 200 }
world { arena_m: 150 view_radius_m: 50 fire_range_m: 30 }
)";
  auto parse = [&](const std::string& text) {
    wire::Scenario s;
    const Status parsed = parse_text_proto("planted-encounters.textpb", text, &s);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    return s;
  };
  const Outcome clean = run_scenario(parse(duels), SimRunOptions{1, "", LogLevel::kError});
  ASSERT_EQ(clean.failure, "") << "without the bug the run must pass, or the test proves nothing";
  ASSERT_GT(clean.figures.encounter_turns_acted, 0u) << "turns were played, so the bug has something to break";
  const Outcome planted = run_scenario(parse(duels + "planted_bug: \"encounter-turn-twice\"\n"), SimRunOptions{1, "", LogLevel::kError});
  EXPECT_NE(planted.failure.find("VIOLATION"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.failure.find("played twice"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.first_event.find("trace record kind 122"), std::string::npos) << planted.first_event;
  EXPECT_LT(planted.simulated_ns, 20 * kNsPerSec);
}

}  // namespace
}  // namespace aether::app
