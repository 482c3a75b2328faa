#pragma once
// A whole cluster in the simulator, for tests that watch components work together for real.

#include <memory>

#include "app/cluster.h"
#include "app/sim_hosting.h"

namespace aether::testing {

struct SimCluster {
  SimCluster(uint64_t seed, const app::ClusterShape& shape) : sim(options(seed)), hosting(sim), join(derive_seed(seed, 1)) {
    cluster = std::make_unique<app::Cluster>(hosting, shape, join);
  }
  static sim::SimOptions options(uint64_t seed) {
    sim::SimOptions o;
    o.seed = seed;
    o.log_level = LogLevel::kError;
    return o;
  }
  sim::Simulation sim;
  app::SimHosting hosting;
  Xoshiro256 join;
  std::unique_ptr<app::Cluster> cluster;
};

}  // namespace aether::testing
