// What each server's readiness (GET /readyz, Kubernetes' readiness probe) says as a simulated
// cluster starts, drains and fails over: the rule for each role lives in its component
// (Component::readiness), the HTTP in runtime/real.

#include <gtest/gtest.h>

#include <string>

#include "tests/unit/sim_cluster.h"

namespace aether {
namespace {

class ReadinessTest : public ::testing::Test {
 protected:
  ReadinessTest() : c_(5, shape()) {}
  static app::ClusterShape shape() {
    app::ClusterShape s;
    s.coordinators = 2;
    s.compute_nodes = 2;
    s.gateways = 2;
    s.bots = 4;
    return s;
  }
  void run_for(TimeNs ns) { c_.sim.run_until(c_.sim.now() + ns); }
  static std::string why(const Component& c) { return c.readiness().why; }

  testing::SimCluster c_;
};

TEST_F(ReadinessTest, EveryServerReadyOnceTheClusterFormed) {
  run_for(3 * kNsPerSec);
  const auto& coordinators = c_.cluster->coordinators();
  ASSERT_EQ(coordinators.size(), 2u);
  EXPECT_TRUE(coordinators[0]->readiness().ready);
  EXPECT_EQ(why(*coordinators[0]), "leader");
  EXPECT_TRUE(coordinators[1]->readiness().ready);
  EXPECT_EQ(why(*coordinators[1]), "vice with the leader's table");
  for (ComputeNode* n : c_.cluster->computes()) {
    EXPECT_TRUE(n->readiness().ready) << why(*n);
    EXPECT_TRUE(n->lease_valid());
  }
  for (Gateway* g : c_.cluster->gateways()) EXPECT_TRUE(g->readiness().ready) << why(*g);
}

TEST_F(ReadinessTest, DrainingServersAreNotReady) {
  run_for(3 * kNsPerSec);
  ComputeNode* node = c_.cluster->computes().front();
  node->begin_drain();
  EXPECT_FALSE(node->readiness().ready);
  EXPECT_EQ(why(*node), "draining");
  Gateway* gateway = c_.cluster->gateways().front();
  gateway->begin_drain();
  EXPECT_FALSE(gateway->readiness().ready);
  EXPECT_EQ(why(*gateway), "stopping: handing clients over");
  // The others are untouched.
  EXPECT_TRUE(c_.cluster->computes().back()->readiness().ready);
  EXPECT_TRUE(c_.cluster->gateways().back()->readiness().ready);
}

TEST_F(ReadinessTest, AStoppingLeaderIsNotReadyAndItsViceTakesOverReady) {
  run_for(3 * kNsPerSec);
  Coordinator* leader = c_.cluster->coordinators()[0];
  Coordinator* vice = c_.cluster->coordinators()[1];
  leader->begin_drain();
  EXPECT_FALSE(leader->readiness().ready);
  EXPECT_EQ(why(*leader), "stopping: handing over");
  run_for(2 * kNsPerSec);
  EXPECT_TRUE(vice->leading());
  EXPECT_TRUE(vice->readiness().ready);
  EXPECT_EQ(why(*vice), "leader");
  EXPECT_FALSE(leader->readiness().ready);  // it stands no more
  // Compute nodes and gateways follow the new leader and stay (or become again) ready.
  run_for(2 * kNsPerSec);
  for (ComputeNode* n : c_.cluster->computes()) EXPECT_TRUE(n->readiness().ready) << why(*n);
  for (Gateway* g : c_.cluster->gateways()) EXPECT_TRUE(g->readiness().ready) << why(*g);
}

TEST_F(ReadinessTest, NothingIsReadyBeforeItCanWork) {
  // Hosts not started yet: nothing listens.
  for (Coordinator* k : c_.cluster->coordinators()) EXPECT_EQ(why(*k), "not listening");
  EXPECT_EQ(why(*c_.cluster->computes().front()), "not listening");
  EXPECT_EQ(why(*c_.cluster->gateways().front()), "not listening");
  // Started, before any message arrived: no lease yet, no leader followed, the vice has no table.
  run_for(1);
  EXPECT_EQ(why(*c_.cluster->computes().front()), "not registered: no lease yet");
  EXPECT_EQ(why(*c_.cluster->gateways().front()), "no leading coordinator connected");
  EXPECT_EQ(why(*c_.cluster->coordinators()[1]), "vice without a whole copy of the leader's table");
  EXPECT_EQ(why(*c_.cluster->coordinators()[0]), "leader");  // the founding leader, at once
}

}  // namespace
}  // namespace aether
