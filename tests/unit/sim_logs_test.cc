#include <gtest/gtest.h>

#include <sstream>

#include <spdlog/sinks/ostream_sink.h>

#include "app/cluster.h"
#include "app/sim_hosting.h"

namespace aether {
namespace {

// Runs a small battle with debug logging into a string and returns the log.
std::string battle_log(uint64_t seed) {
  std::ostringstream out;
  auto sink = std::make_shared<spdlog::logger>("test", std::make_shared<spdlog::sinks::ostream_sink_st>(out));
  sink->set_pattern("%v");
  sink->set_level(spdlog::level::trace);
  sim::SimOptions o;
  o.seed = seed;
  o.log_level = LogLevel::kDebug;
  o.log_sink = sink;
  {
    sim::Simulation sim(o);
    app::SimHosting hosting(sim);
    Xoshiro256 join(seed);
    app::ClusterShape shape;
    shape.bots = 12;
    shape.rules.arena_mm = 100'000;
    app::Cluster cluster(hosting, shape, join);
    sim.run_until(8 * kNsPerSec);
  }
  sink->flush();
  return out.str();
}

// Logs are stamped with simulated time, so one seed logs the same bytes every run.
TEST(SimLogs, OneSeedLogsTheSameBytes) {
  const std::string a = battle_log(5);
  const std::string b = battle_log(5);
  EXPECT_GT(a.size(), 1000u) << a;
  EXPECT_EQ(a, b);
  EXPECT_NE(a.find("1970-01-01T00:00:00"), std::string::npos) << "stamped with simulated time from zero";
  EXPECT_NE(a.find("e="), std::string::npos) << "entity ids appear in the lines";
  EXPECT_NE(battle_log(6), a);
}

}  // namespace
}  // namespace aether
