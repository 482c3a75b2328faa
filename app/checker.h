#pragma once
// The simulator's global checker: it sees every component of the cluster at once (something no real
// process can) and fails the run at the first moment an invariant breaks.
//
//  - single writer: no entity is written by two compute nodes at the same time ("written" = owned
//    with a valid lease, ComputeNode::writes);
//  - recovery: an entity whose writer was lost is written again within the recovery target after the
//    coordinator detected the loss, and no entity stays unwritten for long without a detected loss;
//  - epochs: at most one coordinator leads per epoch, and no compute node's epoch ever goes back.

#include <map>
#include <optional>
#include <string>

#include "app/cluster.h"

namespace aether::app {

struct Violation {
  TimeNs time_ns = 0;
  std::string what;
};

struct CheckerFigures {
  uint64_t checks = 0;
  TimeNs longest_unwritten_ns = 0;     // among entities that were written at least once
  TimeNs longest_recovery_ns = 0;      // from loss detection to written again
};

class ClusterChecker {
 public:
  // Three ticks, as the design asks (seed section 13: "<= 1-3 ticks").
  static constexpr TimeNs kRecoveryTargetNs = 3 * kTickNs;
  // Spawning, and the normal gap before a node's first lease, stay well under this.
  static constexpr TimeNs kUnwrittenMaxNs = kNodeLossAfterNs + 5 * kTickNs;

  explicit ClusterChecker(const Cluster& cluster) : cluster_(cluster) {}

  void check(TimeNs now);
  const std::optional<Violation>& violation() const { return violation_; }
  const CheckerFigures& figures() const { return figures_; }

 private:
  struct EntityWatch {
    NodeId last_writer{};
    TimeNs unwritten_since = -1;  // -1: written at the last check
    bool ever_written = false;
  };
  void fail(TimeNs now, std::string what);

  const Cluster& cluster_;
  void check_epochs(TimeNs now);

  std::map<EntityId, EntityWatch> watch_;
  std::map<NodeId, Epoch> node_epoch_;
  std::optional<Violation> violation_;
  CheckerFigures figures_;
};

}  // namespace aether::app
