#pragma once
// The simulator's global checker: it sees every component of the cluster at once (something no real
// process can) and fails the run at the first moment an invariant breaks, naming the event.
//
// It is fed two ways:
//  - on_record(): every trace record, as it is made, inside the event that makes it. Writes are
//    what the compute nodes actually did, not what they claim: a kTickDone record from node N means
//    N has just simulated every entity it holds. So the write-based invariants are checked at the
//    very event that breaks them:
//      single writer   N writes E while another node M wrote E after N was granted E
//                      (covers a node writing past its lease and a grant made before the release);
//      versions        E's state version never goes back, except on the first write after a
//                      restore from a snapshot or ghost (recovery, or a migration that fell back to
//                      its snapshot), and then by at most kRollbackMaxNs of history;
//      stale orders    a compute node applies a coordinator order (kControlApplied) only if its
//                      epoch is the node's current one;
//      epochs          a node's epoch never goes back within one incarnation.
//  - check(): a sweep of the whole cluster, every few milliseconds of simulated time:
//      one leader per epoch; every queue within its bound and ghosts within their cap;
//      recovery: an entity whose writer was lost is written again within kRecoveryTargetNs of the
//      coordinator detecting the loss, and no entity stays unwritten for long otherwise;
//      convergence: once faults are over (set_faults_end), within the convergence window every live
//      entity in the leader's table is written by exactly its recorded owner, every live compute
//      node is at the leader's epoch, and no node holds an entity the table gives to another.
//  The game's invariants (docs/gameplay.md), at every write and record:
//      bounds          health in [0, class max] and 0 exactly when dead, the resource in [0, max],
//                      every effect known, within its stacks and expiring within its duration
//                      (none outlives it), every cooldown and cast within its skill's length;
//      cooldowns       an entity uses a skill no sooner than its cooldown after the last use (less
//                      one tick: owners' ticks are not in phase), unless a restore undid that use;
//      at most once    no intent key is applied twice to an entity, unless a restore undid the
//                      first application.
//  Turn-based encounters (engine/gameplay/encounter.h), at every turn record and every sweep:
//      turns           the turns of one encounter end in order, each once, whoever owns it: the
//                      number of a turn that ends is the last one's plus one (a repeat is a turn
//                      played twice, a gap one skipped), unless a restore rolled the encounter back;
//      rounds          no turn ends past the encounter's round bound, nor past rounds_max times
//                      its seats turns;
//      progress        (runs whose only faults are crashes) a live encounter ends a turn within its
//                      timer plus kEncounterSlackNs: a lost owner is detected and replaced within it.
//  Zones (content with zones; docs/gameplay.md "Zones and portals"), at every write and portal record:
//      one zone        every entity written stands in a zone (zones are disjoint: in exactly one);
//      portals         an entity a portal took stands at the portal's destination, in its zone.
//  Instances (content with instance templates; app/instance_checker.h): every instance entity stays
//      in its slot, no two parties in one slot, a slot torn down has no records left.

#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "app/cluster.h"
#include "app/instance_checker.h"
#include "app/loot_checker.h"
#include "app/save_checker.h"
#include "engine/runtime/trace.h"

namespace aether::app {

struct Violation {
  TimeNs time_ns = 0;
  std::string what;
  std::string event;  // the first violating event (a trace record, or the sweep that saw it)
};

struct CheckerFigures {
  uint64_t checks = 0;
  uint64_t records_checked = 0;
  uint64_t writes_checked = 0;
  TimeNs longest_unwritten_ns = 0;     // among entities that were written at least once
  TimeNs longest_recovery_ns = 0;      // from loss detection to written again
  uint64_t rollbacks = 0;              // restores that went back in an entity's history (allowed)
  TimeNs longest_rollback_ns = 0;
  uint64_t rollbacks_past_bound = 0;   // a violation
  TimeNs converged_after_ns = -1;      // from the end of faults to convergence; -1: not yet
  // Freshness of restores (recoveries, migrations that fell back to the grant's state): how often the
  // restored state was older than the freshest one some live process other than the lost writer held.
  uint64_t restores = 0;
  uint64_t restores_behind_fresher = 0;    // the granting leader or the new owner had a fresher state (a violation)
  uint64_t restores_behind_elsewhere = 0;  // only a coordinator the leader did not hear, or a third node's ghost (allowed)
  uint64_t encounters = 0;             // encounters that started
  uint64_t encounter_turns = 0;        // turns that ended (acted, passed or their actor gone)
  uint64_t encounter_rollbacks = 0;    // restores that took an encounter back to an earlier turn (allowed)
  uint64_t zone_checks = 0;            // writes checked to stand in a zone (content with zones)
  uint64_t portals_taken = 0;          // portal moves checked to land at their destination
};

class ClusterChecker {
 public:
  // Three ticks, as the design asks (seed section 13: "<= 1-3 ticks").
  static constexpr TimeNs kRecoveryTargetNs = 3 * kTickNs;
  // Spawning, and the normal gap before a node's first lease, stay well under this.
  static constexpr TimeNs kUnwrittenMaxNs = kNodeLossAfterNs + 5 * kTickNs;
  // A restore may lose this much written history (from the first write past the restored state to
  // the last write before the restore): the owner sends a snapshot every kSnapshotIntervalNs on the
  // connection its heartbeats take, so any write it made under a lease (at most kLeaseNs past an
  // acknowledged heartbeat, which arrived after the snapshot sent before it) is at most one
  // snapshot interval plus one lease past the last snapshot; plus a heartbeat interval and two
  // ticks of slack for timer alignment.
  static constexpr TimeNs kRollbackMaxNs = kSnapshotIntervalNs + kLeaseNs + kHeartbeatIntervalNs + 2 * kTickNs;
  // Across a partition the leader that recovers the entity may have last heard of it (from its owner,
  // a replica, or a ghost) when the cut began; the owner wrote on while its old leader still counted
  // a quorum (at most kLeaseNs after the cut, on the slowest clock) and then for its own lease.
  static constexpr TimeNs kRollbackPartitionMaxNs = kRollbackMaxNs + on_slowest_clock(kLeaseNs);
  // Default convergence window after the last fault: 50 ticks.
  static constexpr TimeNs kConvergeWithinNs = 50 * kTickNs;
  // An encounter's turn may wait its timer plus this: a lost owner detected, the encounter recovered,
  // and a few ticks of slack.
  static constexpr TimeNs kEncounterSlackNs = kNodeLossAfterNs + kRecoveryTargetNs + 10 * kTickNs;
  // Versions remembered per entity to measure a rollback (a few seconds of writes).
  static constexpr size_t kHistoryMax = 64;

  explicit ClusterChecker(const Cluster& cluster) : cluster_(cluster) {}

  // Faults are over at `end_ns`; the cluster must converge within `within_ns` after it.
  void set_faults_end(TimeNs end_ns, TimeNs within_ns) {
    faults_end_ns_ = end_ns;
    converge_within_ns_ = within_ns;
  }
  // A fault decided during the run (aimed at a protocol moment) lasts until `end_ns`.
  void extend_faults_end(TimeNs end_ns) {
    if (end_ns <= faults_end_ns_) return;
    faults_end_ns_ = end_ns;
    figures_.converged_after_ns = -1;  // whatever converged before it must converge again
  }
  // Whether the recovery target (3 ticks after detection) and the unwritten limit are enforced: in
  // runs whose only faults are crashes. Other faults (a partition that also cuts the new owner off, a
  // paused coordinator) may rightly delay recovery; convergence is what is required of them. The
  // rollback bound is enforced in every run (set_rollback_bound).
  void set_strict_recovery(bool strict) {
    strict_recovery_ = strict;
    instances_.set_strict(strict);
  }
  // The rollback bound this run is held to (kRollbackMaxNs; kRollbackPartitionMaxNs with partitions).
  void set_rollback_bound(TimeNs bound_ns) { rollback_bound_ns_ = bound_ns; }
  void on_record(const TraceEvent& r);
  void check(TimeNs now);
  const std::optional<Violation>& violation() const { return violation_; }
  const CheckerFigures& figures() const { return figures_; }
  const LootCheckFigures& loot_figures() const { return loot_.figures(); }
  const InstanceCheckFigures& instance_figures() const { return instances_.figures(); }
  const SaveCheckFigures& save_figures() const { return saves_.figures(); }
  // The shared database (ScenarioTopology::shared_database): characters' next lives are checked
  // against their saves there (app/save_checker.h).
  void set_database(const sim::SimStorage* database) { saves_.set_database(database); }

 private:
  struct EntityWatch {
    NodeId last_writer{};
    TimeNs last_write_ns = -1;
    uint64_t last_write_seq = 0;  // the record (in order of all records) of that write
    uint64_t version_max = 0;
    uint64_t generation = 0;  // of the last write: states of older generations are dead branches
    std::deque<std::pair<TimeNs, uint64_t>> history;  // (write time, version), oldest first
  };
  struct Holding {
    TimeNs granted_ns = 0;
    uint64_t granted_seq = 0;
    bool restored = false;  // from a snapshot or ghost: its first write may roll back
  };

  void fail(TimeNs now, std::string what, std::string event);
  void on_write(const TraceEvent& r, const ComputeNode& node);
  void on_restore(const TraceEvent& r, const ComputeNode& node);
  void check_game_state(TimeNs now, const ComputeNode& node, const gameplay::Entity& e, const TraceEvent& r);
  void on_game_record(const TraceEvent& r, const ComputeNode& node);
  void on_encounter_record(const TraceEvent& r, const ComputeNode& node);
  void check_encounters(TimeNs now);
  void forget_game_history(EntityId id);
  void check_epochs(TimeNs now);
  void check_bounds(TimeNs now);
  void check_recovery(TimeNs now, const Coordinator& leader);
  // Empty when every compute node agrees with the leader; else the first disagreement found.
  std::string divergence(const Coordinator& leader) const;
  const ComputeNode* compute(NodeId node) const;

  const Cluster& cluster_;
  std::map<EntityId, EntityWatch> watch_;
  std::map<std::pair<NodeId, EntityId>, Holding> holdings_;
  std::map<NodeId, Epoch> node_epoch_;
  std::set<EntityId> restored_unwritten_;  // restored from a snapshot or ghost, not written since
  std::map<EntityId, uint64_t> restore_point_;  // ... and the version it was restored to
  std::map<std::pair<NodeId, EntityId>, EntityState> ghost_taken_;  // a node's ghost as it became its own
  std::map<std::pair<NodeId, EntityId>, EntityState> granted_state_;  // the granting leader's state, by grantee
  std::map<EntityId, TimeNs> recovering_;  // entity -> when the loss of its writer was detected
  // The game's history since each entity's last restore: when each skill was last used, and the
  // keys of the intents applied (at most kAppliedKeysKept, the oldest forgotten first).
  static constexpr size_t kAppliedKeysKept = 4096;
  std::map<std::pair<EntityId, uint16_t>, std::pair<NodeId, Tick>> skill_used_at_;  // (entity, skill) -> (owner, its tick)
  std::map<EntityId, std::pair<std::set<int64_t>, std::deque<int64_t>>> applied_keys_;
  struct EncounterWatch {
    uint32_t last_turn = 0;        // the number of the last turn that ended (0: none yet)
    TimeNs progress_ns = 0;        // when it last started, ended a turn or was restored
    uint32_t turn_ticks = 0;
    uint32_t rounds_max = 0;
    uint32_t seats = 0;            // at the start
    bool ended = false;
  };
  std::map<EntityId, EncounterWatch> encounters_;
  TimeNs faults_end_ns_ = 0;
  TimeNs converge_within_ns_ = kConvergeWithinNs;
  bool strict_recovery_ = true;
  TimeNs rollback_bound_ns_ = kRollbackMaxNs;
  std::optional<Violation> violation_;
  CheckerFigures figures_;
  LootChecker loot_;  // conservation of loot (app/loot_checker.h)
  InstanceChecker instances_;  // instances' slots (app/instance_checker.h)
  SaveChecker saves_;  // characters come back from their saves (app/save_checker.h)
};

// One line for a trace record, as violations name their first event.
std::string describe_record(const TraceEvent& r);

}  // namespace aether::app
