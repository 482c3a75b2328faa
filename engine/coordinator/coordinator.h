#pragma once
// The coordinator holds the entity -> owner table, watches compute nodes by heartbeat, places new
// entities, recovers the entities of lost nodes, and keeps the cluster epoch. It runs no gameplay.
//
// Two run side by side: a leader and a vice (hot standby) fed by the leader's replication. When the
// leader goes silent, the vice becomes leader at epoch + 1 once a majority of compute nodes promised
// to ignore older epochs. docs/ownership.md walks through why this never yields two writers.
//
// Files: coordinator.cc (peers, spawns, sessions), coordinator_authority.cc (heartbeats, leases,
// loss and recovery), coordinator_failover.cc (replication, candidacy, stepping down).

#include <algorithm>
#include <array>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/core/clock_rate.h"
#include "engine/core/planted.h"
#include "engine/coordinator/fence_ledger.h"
#include "engine/coordinator/handover_log.h"
#include "engine/coordinator/logout_waits.h"
#include "engine/coordinator/ownership_table.h"
#include "engine/coordinator/entity_view.h"
#include "engine/coordinator/ownership_view.h"
#include "engine/coordinator/replication_backlog.h"
#include "engine/coordinator/vice_witness.h"
#include "engine/core/region_map.h"
#include "engine/core/cluster_timing.h"
#include "engine/gameplay/content.h"
#include "engine/gameplay/rules.h"
#include "engine/net/hello_deadline.h"
#include "engine/net/admin_rule.h"
#include "engine/net/identity_guard.h"
#include "engine/net/outbound_link.h"
#include "engine/runtime/component.h"
#include "engine/runtime/runtime.h"
#include "engine/wire/messages.h"

namespace aether {

// The vice starts a takeover after hearing nothing from the leader for this long. Well under a
// lease: a takeover (timeout + one watch period + a round trip) must renew the compute nodes' leases
// before the ones the old leader granted lapse, so that they never stop ticking.
inline constexpr TimeNs kLeaderTimeoutNs = 400 * kNsPerMs;
static_assert(kLeaderTimeoutNs + 2 * kTickNs + kHeartbeatIntervalNs < kLeaseNs, "a takeover must beat the leases");
// Migrations in flight at once; further ones wait for a later balancing round.
inline constexpr size_t kMigrationsInFlightMax = 256;
// A migration whose owner has not released the entity by then is forgotten.
inline constexpr TimeNs kMigrationTimeoutNs = 2 * kNsPerSec;
// Balancing moves at most this many entities per round (one round a second), and only while the gap
// between the most and least loaded node exceeds the slack.
inline constexpr uint32_t kMigrationsPerRoundMax = 32;
// Migrations off draining nodes per balance round, beside the others: a stopping node must be empty
// before its drain deadline (1,000 entities: 4 s).
inline constexpr uint32_t kDrainMigrationsPerRoundMax = 256;
inline constexpr uint32_t kBalanceSlackEntities = 8;
// Recovered entities go to a node up to this share of its planned capacity (Coordinator::Placement).
inline constexpr uint64_t kOverloadCeilingPermille = 2000;
// A client whose gateway is gone has this long to resume on another gateway before its avatar goes.
inline constexpr TimeNs kSessionResumeGraceNs = 10 * kNsPerSec;
// A candidate that gathered no majority in this long, plus a draw of up to as long again, tries again
// with the next epoch. Promises take a round trip; the draw is what separates rivals. Short enough
// that one split vote after the last fault still converges in the checker's window: leader timeout
// (0.5 s) + at most 2 s here + the failover grace (2.1 s) < 5 s (chaos-wide seed 431).
inline constexpr TimeNs kCandidacyTimeoutNs = 1000 * kNsPerMs;
// After taking over, re-grant nothing for this long: every lease the old leader could still renew
// (while its stale view still showed a majority, at most kLeaseNs) has expired by then.
inline constexpr TimeNs kFailoverGraceNs = kLeaseNs + kNodeLossAfterNs;
// The old leader renews leases while its quorum looks fresh (kLeaseNs on its clock), and each lease
// lasts kLeaseNs on its node's clock: both spans, on clocks within the bound, end within the grace
// as the new leader's clock measures it.
static_assert(kFailoverGraceNs >= on_slowest_clock(2 * kLeaseNs) + kLeaseMarginNs / 2, "the grace outlasts every lease the old leader gave");
// Erased entities remembered as tombstones (a Promise still holding one is revoked); at the limit
// the oldest is forgotten, and a zombie older than that would be adopted again.
inline constexpr size_t kTombstonesMax = 4096;
// Entities are sent home only this long after the region map was last cut (membership settled).
inline constexpr TimeNs kRegionSettleNs = 5 * kNsPerSec;
static_assert(kTombstonesMax <= kBatchEntitiesMax, "a whole replica carries every tombstone in its last message");
// Entries (or erasures) in one Replicate: ~85 bytes each in a battle, so a message is ~90 KB, far
// under a frame; one whose states are larger is halved until it fits (send_replica).
inline constexpr size_t kReplicaEntriesPerMessage = 1024;
static_assert(kReplicaEntriesPerMessage <= kBatchEntitiesMax, "the vice's decoder takes a whole message");
// A node's holdings are audited after this many heartbeats in a row whose entity count disagrees
// with the table (1 s: longer than a migration takes), at most once per kAuditIntervalNs.
inline constexpr uint32_t kAuditAfterMismatches = 5;
// After an orphaning, a leader waits this long at most for its vice's acknowledgment (and the fresher
// states that precede it) before re-granting from its own.
inline constexpr TimeNs kViceAckWaitNs = 200 * kNsPerMs;
inline constexpr TimeNs kAuditIntervalNs = 2 * kNsPerSec;
// Operators' ghost queries under way at once (each asks every connected compute node); at the limit
// a further one is refused ("busy"), so operators cannot make the coordinator hold unbounded state.
inline constexpr size_t kGhostQueriesMax = 8;
// A ghost query is answered with what came within this long; a silent compute node is named as such.
inline constexpr TimeNs kGhostQueryDeadlineNs = 1 * kNsPerSec;

enum class CoordinatorRole : uint8_t { kLeader, kFollower, kCandidate };
const char* coordinator_role_name(CoordinatorRole role);

struct CoordinatorConfig {
  NodeId node{};
  PlantedBug planted = PlantedBug::kNone;  // engine/core/planted.h: for the checker's own tests only
  std::string listen_address;
  std::string peer_address;    // the other coordinator; empty = a lone coordinator
  // The other coordinator's node id: the only coordinator we replicate to, and the one our link to
  // peer_address must reach (invalid: we replicate to none).
  NodeId peer_node{};
  // Mutual TLS is configured: a peer without a verified identity is refused (IdentityGuard).
  bool identity_required = false;
  bool start_as_leader = true;
  Epoch epoch = 1;             // the epoch a starting leader leads under
  gameplay::Rules rules;       // arena and teams, for spawn placement
  size_t table_entities_max = 1'000'000;  // at the limit, spawn requests are refused with a reason
  size_t peers_max = 1024;                // at the limit, further connections are closed at once
  // The compute nodes the cluster is deployed with: majorities are counted over at least this many,
  // so that a restarted coordinator, which knows only the nodes that registered since, can lead
  // safely (0: unknown; then a restarted coordinator leads only once a leader sent it its table).
  uint32_t compute_nodes = 0;
  Tick migration_storm_every_ticks = 0;   // > 0: move migration_storm_batch random entities that often
  uint32_t migration_storm_batch = 0;
  // Whether an admin may order under the admin epoch (kEpochAdmin, superseding any authority:
  // engine/net/admin_rule.h). Off unless a deployment sets it; each use is an alert.
  bool admin_epoch_enabled = false;
};

struct Migration {
  NodeId from{};
  NodeId to{};
  uint64_t generation = 0;
  TimeNs started_ns = 0;
};

// A Prepare sent to one compute node, waiting for its Promise. One at a time per node; an answer is
// judged only against the question it answers (Prepare.question = Promise.answers): a late answer to
// an earlier question (its connection clogged) once orphaned entities granted after it was asked.
struct HoldingsQuestion {
  enum class Why : uint8_t { kNone, kCandidacy, kMembership, kAudit };
  Why why = Why::kNone;
  uint64_t id = 0;
  TimeNs sent_ns = 0;
  std::map<EntityId, uint64_t> given;  // what the table gave the node when we asked (entity -> generation)
};

struct NodeRecord {
  Role role = Role::kNone;
  ConnId conn = 0;
  std::string data_address;
  uint32_t capacity_entities = 0;
  uint32_t entities_reported = 0;
  uint32_t load_permille = 0;
  uint64_t tick_ns_p99 = 0;
  uint32_t hard_permille = 0;          // its own load report (Heartbeat)
  uint32_t soft_permille = 0;
  uint32_t opportunistic_permille = 0;
  uint8_t load_level = 0;  // what it sheds (Heartbeat.load_level)
  uint32_t input_queue_depth = 0;  // inputs waiting in its input queue at its last heartbeat (the console shows it)
  TimeNs last_heard_ns = 0;
  Tick last_heard_tick = 0;  // our watch count then: silence is measured both ways (elapsed_since)
  Epoch heard_epoch = 0;   // the epoch on its last heartbeat: only ours counts toward a quorum
  uint64_t heard_seq = 0;  // and that heartbeat's sequence number
  uint64_t echoed_version = 0;  // the newest table version its heartbeats under our epoch echoed
  bool lost = false;
  uint32_t missed_traced = 0;  // heartbeat intervals of the current silence already traced
  uint32_t holdings_mismatches = 0;  // heartbeats in a row whose holdings disagree with the table
  TimeNs audited_ns = 0;             // when we last audited its holdings
  HoldingsQuestion question;         // our Prepare awaiting its Promise, if any
  // The epoch in which its holdings were last reconciled with our table (it promised us, or it
  // registered holding nothing): only then may we renew its lease or give it anything (§6).
  Epoch member_epoch = 0;
  FenceLedger fences;                // revokes and evictions it has not confirmed yet
  bool clock_untrusted = false;      // its last heartbeat said its clock cannot be trusted (§2a)
  // Place nothing here, move everything off: an operator's order (it outlives a restart), or the
  // node's own heartbeat as it stops (a restarted process, a new incarnation, is not draining).
  enum class Drain : uint8_t { kNone, kOperator, kSelf };
  Drain drain = Drain::kNone;
  bool draining() const { return drain != Drain::kNone; }
  TimeNs lost_at_ns = 0;
  Epoch lost_epoch = 0;      // the epoch in which we declared it lost (0: a flag copied from a replica)
  uint64_t incarnation = 0;  // a new one means a restarted process: no sessions (gateway), no entities (compute)
};

// How the leader answered an instance request (coordinator_instances.cc): a slot (allocated now, or
// the party's already), or refused (every slot another party's, a request it cannot trust, or not
// leading with a quorum yet). `aether_instance_requests_total{result}`.
enum class InstanceResult : uint8_t { kAllocated = 0, kJoined = 1, kFull = 2, kInvalid = 3, kNotReady = 4 };
inline constexpr size_t kInstanceResults = 5;
const char* instance_result_name(InstanceResult r);

struct CoordinatorStats {
  uint64_t spawns = 0;
  std::array<uint64_t, kInstanceResults> instance_requests{};  // by InstanceResult
  uint64_t instances_opened = 0;  // slots allocated to a party
  uint64_t instances_closed = 0;  // slots torn down, empty of players past their template's empty_ticks
  uint64_t instance_answers_unheld = 0;  // slots not answered: ViceWitness::kHeldMax answers waited already
  uint64_t npcs_placed = 0;  // NPCs granted for spawners (coordinator_npcs.cc)
  uint64_t encounters_opened = 0;   // encounter entities created for challenges (coordinator_encounters.cc)
  uint64_t encounters_refused = 0;  // challenges refused by the table's rules
  uint64_t encounters_closed = 0;   // ended encounters erased
  uint64_t spawns_refused = 0;
  uint64_t resumes_refused = 0;
  uint64_t hello_timeouts = 0;   // connections closed for saying no Hello within kHelloDeadlineNs  // a wrong or spent token, or an avatar still attached to its session
  uint64_t spawns_deferred = 0;  // answered "retry later": no compute node ready or no quorum yet
  uint64_t spawns_held_for_avatar = 0;  // answered "retry later": the character's last avatar is still in the table
  uint64_t revokes = 0;
  uint64_t nodes_lost = 0;
  uint64_t recoveries = 0;      // entities re-granted after their owner was lost
  uint64_t evictions = 0;
  uint64_t acks_withheld = 0;   // heartbeats not acked for lack of a quorum
  uint64_t audits = 0;          // holdings audits (entity counts that disagreed with the table)
  uint64_t takeovers = 0;       // times this coordinator became leader by failover
  uint64_t step_downs = 0;
  uint64_t replicas_refused = 0;  // ticks whose replication the network refused in part (it waited: replication_backlog.h)
  uint64_t migrations_started = 0;
  uint64_t migrations_done = 0;
  uint64_t region_cuts = 0;      // the region map recut (members changed, or a node's share strayed)
  uint64_t gateway_route_cuts = 0;  // the gateways' routes recut (gateways came or went, or one's share strayed)
  uint64_t sessions_detached = 0;   // clients sent to their region's gateway, avatar kept for the resume
  uint64_t resumes = 0;           // avatars taken back through another gateway
  uint64_t abandoned = 0;         // avatars despawned after their client never came back
  uint64_t stale_epoch_dropped = 0;
  uint64_t stale_answers = 0;     // Promises answering a question we no longer wait for
  uint64_t fences_resent = 0;     // fencing orders sent again on a node's new connection
  uint64_t clock_fenced = 0;      // entities taken from nodes whose clock could not be trusted
  uint64_t candidacies_refused = 0;  // leader silent, but our clock is not to be trusted: we did not stand
  uint64_t protocol_errors = 0;
  uint64_t content_mismatches = 0;  // compute nodes refused for running other content (Hello.content_hash)
  // Operators (coordinator_admin.cc).
  uint64_t admin_commands = 0;                // every command received, authorised or not
  std::array<uint64_t, 4> admin_refused{};    // refused by the rule, indexed by AdminVerdict (kAllowed unused)
  uint64_t admin_epoch_uses = 0;              // commands carried out under the admin epoch: each one an alert
  uint64_t admin_on_data_port = 0;            // AdminRequests refused on the data port (operators use the admin listener)
  uint64_t ghost_queries_busy = 0;            // ghost queries refused at kGhostQueriesMax
};

class Coordinator final : public Component, public NetworkHandler {
 public:
  Coordinator(Runtime& rt, CoordinatorConfig config);
  ~Coordinator() override;

  void start() override;
  // Stopping: a leader hands over to its vice (it steps down and stands no more); drained once
  // another coordinator leads a newer epoch, or at once without a vice or when not leading.
  void begin_drain() override;
  bool drained() const override;
  // Ready: we lead, or we are the vice holding a whole copy of the leader's table (we know the
  // membership and could take over). Not while a candidate, stopping, or without a listener.
  Readiness readiness() const override;
  // Points the peer link at the other coordinator's address (known only once it is bound).
  void connect_peer(const std::string& address);

  void on_accepted(ConnId conn, std::string_view listen_address) override;
  void on_connected(ConnId conn) override;
  void on_message(ConnId conn, std::span<const uint8_t> payload) override;
  void on_closed(ConnId conn, CloseReason reason) override;

  NodeId node() const { return cfg_.node; }
  Epoch epoch() const { return epoch_; }
  CoordinatorRole role() const { return role_; }
  bool leading() const { return role_ == CoordinatorRole::kLeader; }
  const std::string& address() const { return address_; }
  const OwnershipTable& table() const { return table_; }
  const std::map<NodeId, NodeRecord>& nodes() const { return nodes_; }
  const CoordinatorStats& stats() const { return stats_; }
  // Changes the vice's network has not taken yet (replication_backlog.h).
  size_t replication_backlog() const { return backlog_.size(); }
  size_t orphans() const { return table_.orphans(); }
  // Instances (coordinator_instances.cc), read from the table: per (template zone, slot) that any
  // record stands in, the party it is (0: none named yet), whether records of two parties stand there
  // (never by the rules), and how many records and players.
  struct InstanceSlot {
    uint64_t party = 0;
    bool mixed = false;
    size_t records = 0;
    size_t players = 0;
  };
  std::map<std::pair<uint16_t, uint32_t>, InstanceSlot> instance_slots() const;
  size_t instances_active() const;  // slots taken
  size_t instance_answers_held() const { return witness_.held(); }  // waiting for the vice (vice_witness.h)
  const LogoutWaits& logout_waits() const { return logout_waits_; }  // characters whose spawn waits for a save
  // Targeted debug mode (`aether admin debug`, coordinator_admin.cc): what is debugged, at most
  // kDebugEntitiesMax entities and kDebugNodesMax nodes; every compute node and gateway is told the
  // whole set when it changes and when it registers. Not replicated: a new leader starts with none.
  const std::set<EntityId>& debug_entities() const { return debug_entities_; }
  const std::set<NodeId>& debug_nodes() const { return debug_nodes_; }
  // Claims refused for not matching a verified identity (IdentityGuard), or for naming a coordinator
  // that is not our configured peer.
  uint64_t identity_rejections() const { return identity_.rejections(); }

  // An operator's command, from whichever transport authenticated them (the real runtime's admin
  // listener, a scenario's event in the simulator): authorised by authorize_admin, logged with who,
  // what, the epoch claimed and the outcome, and traced. `claimed` is the epoch the operator saw
  // (orders need ours, and our leadership), or kEpochAdmin. `done` is called exactly once with the
  // answer: before this returns, or for a ghost query once every compute node connected to us
  // answered or kGhostQueryDeadlineNs passed (never after the coordinator is destroyed).
  using AdminDone = std::function<void(AdminAnswer)>;
  void operator_command(const OperatorId& who, const AdminRequest& req, Epoch claimed, AdminDone done);
  bool admin_epoch_enabled() const { return cfg_.admin_epoch_enabled; }
  // Read-only views for the operators' console (coordinator_views.cc; GET /api/ownership and
  // /api/timeline on the admin listener): ownership by cell, built on demand (bounded: ownership_view.h),
  // and the newest handovers (a ring: handover_log.h).
  OwnershipView ownership_view() const;
  // What this coordinator knows of one entity (GET /api/entity): its record, its cell and that
  // cell's home, its owner's state, its newest handovers (bounded: entity_view.h).
  EntityView entity_view(EntityId id) const;
  const HandoverLog& handovers() const { return handovers_; }
  TimeNs clock_ns() const { return rt_.clock.now_ns(); }  // the clock handovers are stamped with

 private:
  // coordinator.cc
  void watch();
  void dispatch(ConnId conn, const ServerMessage& m);
  void handle_hello(ConnId conn, const ServerMessage& m, const Hello& hello);
  void handle_spawn(const ServerMessage& m, const SpawnRequest& req);
  void handle_session_closed(const ServerMessage& m, const SessionClosed& closed);
  // Who is placed: a newcomer (a spawn) is admitted only below a node's planned capacity, so that a
  // full cluster asks new players to wait; an entity already in the battle (a recovery) goes to a node
  // up to kOverloadCeilingPermille of its plan, which sheds soft load to keep its tick
  // (engine/compute/load_governor.h): a player is never left frozen because a node was lost and the
  // others are at plan. Optional moves (balancing migrations) go only below plan.
  enum class Placement : uint8_t { kNewcomer, kExisting };
  bool admits(NodeId node, const NodeRecord& rec, Placement placement) const;
  NodeId pick_compute(Placement placement) const;
  void send_membership();
  enum class Resume : uint8_t { kResumed, kRefused, kAttached };
  Resume resume(const ServerMessage& m, const SpawnRequest& req);
  void detach_gateway(NodeId gateway);
  void sweep_detached();
  // Ends a detached avatar (its client did not come back, or came back as a new session).
  void abandon_detached(EntityId id);
  // coordinator_npcs.cc: once a second, the leader places the NPCs its spawners lack (content).
  void place_npcs();
  // One NPC of `sp`, its home shifted by `shift` (an instance's slot), for `party` (0: none); false
  // if no compute node admits it now.
  bool place_npc(const gameplay::SpawnerDef& sp, Vec2 shift, uint64_t party);
  // coordinator_instances.cc: answer a request for a party's slot; once a second, tear down slots
  // empty of players past their template's empty_ticks.
  void handle_instance_request(const ServerMessage& m, const InstanceRequest& req);
  void tend_instances();
  static constexpr size_t kNpcPlacementsPerSecondMax = 64;  // more wait for the next second
  static constexpr uint64_t kNpcIdBit = uint64_t{1} << 39;  // in NPC ids, never in avatars'
  // coordinator_encounters.cc: open an encounter for a challenge, or erase one that ended.
  void handle_encounter_request(const ServerMessage& m, const EncounterRequest& req);
  static constexpr uint64_t kEncounterIdBit = uint64_t{1} << 38;  // in encounter ids, never in avatars' or NPCs'
  static constexpr size_t kEncountersMax = 256;  // live encounters; more challenges are refused
  void drop_connection(ConnId conn, std::string_view why);
  void close_refused(ConnId conn);  // after IdentityGuard refused its claim (counted there)
  bool replicates_to(NodeId node) const { return cfg_.peer_node.valid() && node == cfg_.peer_node; }
  SendStatus send_to(NodeId node, ServerBody body);
  SendStatus send_on(ConnId conn, ServerBody body);
  void set_record(EntityId entity, const OwnerRecord& rec);
  void erase_record(EntityId entity);
  void note_logout(const EntityState& avatar, NodeId holder);
  void logout_wait_given_up(CharacterId character, LogoutWaitEnd why);
  void trace(TraceKind kind, EntityId entity, int64_t a = 0, int64_t b = 0, NodeId peer = {});

  // coordinator_authority.cc
  void handle_heartbeat(NodeId node, NodeRecord& rec, Epoch epoch, const Heartbeat& hb);
  void handle_snapshot(NodeId node, const Snapshot& snap);
  void watch_nodes();
  void mark_lost(NodeId node, const char* why);
  void regrant(EntityId entity);
  void regrant_orphans();
  void orphan_restarted(NodeId node, TimeNs last_heard_ns);
  bool lost_by_us(const NodeRecord& rec) const;
  bool member(const NodeRecord& rec) const;
  bool eligible(const NodeRecord& rec) const;
  void fence_untrusted_clock(NodeId node);
  void fence_stale_table(NodeId only);
  void ask(NodeId node, NodeRecord& rec, HoldingsQuestion::Why why);
  std::map<EntityId, uint64_t> given_to(NodeId node) const;
  void orphan(EntityId entity, uint64_t version);
  void revoke(NodeId node, EntityId entity, uint64_t generation);
  void send_ack(NodeId node, NodeRecord& rec, uint64_t seq);
  uint64_t next_fence() { return (static_cast<uint64_t>(epoch_) << 32) | ++fences_sent_; }
  uint64_t next_table_version();
  void publish_orphanings();
  uint64_t confirmed_version() const;
  void audit_if_diverged(NodeId node, NodeRecord& rec, const Heartbeat& hb);
  void reconcile_audit(NodeId node, const Promise& promise, const std::map<EntityId, uint64_t>& given);
  bool has_quorum() const;
  size_t compute_members() const;
  bool majority_of_computes(size_t count) const;
  bool in_grace() const { return rt_.clock.now_ns() < grace_until_ns_ || tick_ < grace_until_tick_; }
  // Time since a moment stamped with our clock and our watch count: the smaller of the two readings.
  // Timers fire late, never early, so `tick_ - at_tick - 1` watch periods have certainly passed;
  // a clock that jumps forward therefore cannot make a node look silent, or a grace period look
  // over, sooner than the watch timer allows (chaos: clock-jump on a coordinator).
  TimeNs elapsed_since(TimeNs at_ns, Tick at_tick) const {
    const TimeNs by_clock = rt_.clock.now_ns() - at_ns;
    const TimeNs by_timer = tick_ > at_tick ? static_cast<TimeNs>(tick_ - at_tick - 1) * kTickNs : 0;
    return std::min(by_clock, by_timer);
  }
  void heard_leader(TimeNs extra_ns = 0) {
    leader_heard_ns_ = rt_.clock.now_ns() + extra_ns;
    leader_heard_tick_ = tick_ + static_cast<Tick>(extra_ns / kTickNs);
  }
  void evict(NodeId node, NodeRecord& rec);
  uint64_t next_generation(uint64_t previous) const;

  // coordinator_balance.cc
 public:
  // Moves an entity to another compute node (release, then grant). False if it cannot start now.
  bool start_migration(EntityId entity, NodeId to);
  const std::map<EntityId, Migration>& migrations() const { return migrations_; }

 private:
  void handle_released(NodeId from, const Released& r);
  void expire_migrations();
  // Both weigh the same per-cell entity counts, taken once a second (the two maps share the arena
  // and so the cells).
  RegionMap::Counts entity_counts() const;
  void balance(const RegionMap::Counts& counts);
  // Every second: which gateway serves the clients of which cells (GatewayRoutes), cut like the
  // regions but among the gateways, by entity counts; sent to every gateway when it changes and to
  // each gateway as it registers.
  void route_gateways(const RegionMap::Counts& counts);
  GatewayRoutes gateway_routes_message() const;
  // The node that should own an entity at pos: its region's home if that node is within plan, else
  // the least loaded that admits the placement (pick_compute).
  NodeId home_for(Vec2 pos, Placement placement) const;
  void storm();

  // coordinator_admin.cc
  void refuse_admin_on_data_port(ConnId conn, const ServerMessage& m);
  AdminReply run_admin(const AdminRequest& req, bool forced);
  void ask_ghosts(const OperatorId& who, const AdminRequest& req, Epoch claimed, AdminDone done);
  void handle_ghost_reply(ConnId conn, NodeId node, const AdminReply& reply);
  void finish_ghost_query(uint64_t id);
  void log_admin(const OperatorId& who, const AdminRequest& req, Epoch claimed, std::string_view outcome, LogLevel level);
  // coordinator_views.cc
  void note_handover(HandoverKind kind, EntityId entity, NodeId from, NodeId to, uint64_t count);
  AdminReply run_debug(const DebugTargets& req);
  DebugTargets debug_targets() const;  // the whole set, as sent to compute nodes and gateways
  void abdicate();

  // coordinator_failover.cc
  void replicate();
  // A coordinator we replicate to, with where its whole copy stands: a copy goes in chunks over as
  // many ticks as the network needs (continue_copy), and the backlog goes only to followers whose
  // copy is complete.
  struct Follower {
    bool copying = true;
    EntityId copy_from{};  // the copy's next chunk starts at the first id at or after this
    uint64_t acked_batch = 0;  // the newest replication batch it acknowledged (vice_witness.h)
  };
  // An instance answer held until the vice holds the allocation it promises (vice_witness.h).
  struct HeldAnswer {
    NodeId to;
    InstanceAnswer answer;
  };
  void send_witnessed(std::vector<HeldAnswer> answers);
  void send_full_replica(ConnId conn);
  // Sends what the network takes of conn's whole copy, from where it stands; true once complete.
  bool continue_copy(ConnId conn, Follower& f);
  // Sends r, halved (entries, then erasures) while it is larger than a frame: kOk only when every
  // part was taken.
  SendStatus send_replica(ConnId conn, const Replicate& r);
  void apply_replica(const Replicate& r);
  void watch_leader();
  void stand_for_election();
  void arm_candidacy_timer();
  void handle_promise(NodeId node, const Promise& promise);
  void reconcile(NodeId node, const Promise& promise, const std::map<EntityId, uint64_t>& given);
  void concede(NodeId leader);
  void probe_leader_clock();
  void handle_clock_probe(ConnId conn, const ClockProbe& probe);
  void take_over();
  void step_down(Epoch seen, NodeId from);
  void announce_leadership();
  bool observe_epoch(const ServerMessage& m);

  Runtime& rt_;
  CoordinatorConfig cfg_;
  IdentityGuard identity_;
  std::shared_ptr<const gameplay::Content> content_;  // spawns take their class and its health from it
  uint64_t content_hash_ = 0;                         // content_->hash(): what compute Hellos must carry
  std::string address_;
  Epoch epoch_ = 0;
  // This process's own number. A restarted coordinator remembers nothing of the epochs it stood
  // for: its Prepare carries a new incarnation, so a node that promised that epoch to the process
  // before the restart refuses it (docs/ownership.md §6, "One promise per epoch").
  uint64_t incarnation_ = 0;
  struct Stopping {
    Epoch epoch = 0;           // the epoch we stopped in
    bool was_leading = false;  // and whether we led it (then the vice must take over first)
  };
  std::optional<Stopping> stopping_;  // set by begin_drain(): we stand for no election any more
  CoordinatorRole role_ = CoordinatorRole::kFollower;
  std::map<ConnId, NodeId> conns_;  // invalid NodeId until the peer's Hello
  HelloDeadlines hello_deadlines_;  // accepted connections yet to say Hello (closed past the deadline)
  std::map<NodeId, NodeRecord> nodes_;
  OwnershipTable table_;
  HandoverLog handovers_;  // for operators only: nothing decides from it
  RegionMap regions_;  // the leader's; a new leader cuts its own at its first balancing round
  TimeNs regions_cut_ns_ = 0;  // when regions_ was last cut
  RegionMap gateway_routes_;   // the leader's cut of the curve among the connected gateways
  uint64_t gateway_routes_version_ = 0;
  Epoch gateway_routes_epoch_ = 0;  // the epoch in which we last sent them
  uint64_t next_entity_ = 1;
  uint64_t next_encounter_ = 1;  // encounter ids of this leadership: (epoch << 40) | kEncounterIdBit | next_encounter_
  uint64_t next_npc_ = 1;
  // Per taken instance slot no player stands in: the tick since when (not replicated: a new leader
  // starts the clocks afresh, which only delays a teardown). At most the templates' slots.
  std::map<std::pair<uint16_t, uint32_t>, Tick> instance_empty_since_;  // NPC ids of this leadership: (epoch << 40) | kNpcIdBit | next_npc_
  Tick tick_ = 0;  // the coordinator's own 10 Hz watch cadence, stamped on its messages
  uint32_t fences_sent_ = 0;     // fencing orders numbered in this epoch (next_fence)
  uint32_t questions_asked_ = 0; // Prepares numbered in this epoch
  TimerId watch_timer_ = 0;
  // Replication (leader side): what the vice's network has not taken yet (replication_backlog.h),
  // and the answers waiting for the vice to acknowledge the batch that carried their change.
  ReplicationBacklog backlog_;
  ViceWitness<HeldAnswer> witness_;
  // Characters whose next spawn waits for their last life's log-out save (logout_waits.h).
  LogoutWaits logout_waits_;
  // Entities erased from the table (session closed, avatar abandoned), newest last, at most
  // kTombstonesMax (the oldest are forgotten first). Ids are never reused, so a node that still
  // holds one of these (it was cut off when the entity went) holds a zombie: a Promise showing it
  // is answered with a revoke, never adopted (chaos-partitions seed 26).
  std::set<EntityId> tombstones_;
  std::deque<EntityId> tombstone_order_;
  void bury(EntityId entity);
  std::map<ConnId, Follower> followers_;  // the coordinators we replicate to
  std::map<EntityId, Migration> migrations_;
  bool table_replica_complete_ = true;  // false while the chunks of a whole copy are arriving
  std::map<EntityId, EntityState> previous_states_;  // our states while a whole copy arrives (apply_replica)
  // Failover (vice side).
  OutboundLink peer_;
  TimeNs leader_heard_ns_ = 0;
  Tick leader_heard_tick_ = 0;
  TimerId candidacy_timer_ = 0;  // a candidate's retry, jittered per candidacy so that rivals fall out of step
  std::set<NodeId> promised_;
  // Our clock's rate against the leader's, from ClockProbe round trips (§2a): a vice whose clock runs
  // fast beyond the bound would end its failover grace before the old leases, so it never stands.
  ClockRateCheck leader_clock_{ClockRateCheck::Danger::kOursFast};
  Epoch leader_clock_epoch_ = 0;
  bool refused_candidacy_logged_ = false;
  // Whether we know every compute node of the cluster: as its founding leader, or from a whole copy of
  // a leader's table (nodes included). A majority counted over the nodes that happen to have
  // registered with a restarted coordinator could be a minority of the cluster: it never stands.
  bool knows_membership_ = false;
  // Freshest states (docs/ownership.md §4): the leader re-grants an orphan only once its vice
  // acknowledged the orphaning's version (ReplicaAck), or kViceAckWaitNs passed; the vice sends, just
  // before, every state it holds that is fresher than the replica showed.
  uint64_t vice_acked_version_ = 0;
  TimeNs vice_ack_wait_until_ns_ = 0;
  // The epoch whose decisions our table reflects (ours as leader, or the leader's we replicate), and
  // the highest epoch the nodes promising to us followed before: if that is newer, a leader we never
  // heard from may have re-granted what our table gives to the promising nodes.
  Epoch table_epoch_ = 0;
  Epoch prior_epoch_seen_ = 0;
  // Table versions (docs/ownership.md, "Orphanings are confirmed by a majority"): epoch << 32 | the
  // orphanings decided in that epoch. version_ counts ours, in our epoch (as candidate or leader);
  // table_version_ is the newest version of an older epoch our table reflects (the last replica's,
  // or our own when we step down). version_seen_max_ is the newest a promising node heard; a
  // promise from a node that has heard none since it started (it restarted) knows nothing.
  uint64_t version_ = 0;
  uint64_t table_version_ = 0;
  uint64_t version_seen_max_ = 0;
  std::set<NodeId> promisers_knowing_nothing_;
  bool orphans_unconfirmed_ = false;   // an orphaning awaits its majority: heartbeats check for it
  bool orphanings_unpublished_ = false;  // made, not yet replicated nor probed (publish_orphanings)
  std::vector<EntityId> unpublished_orphans_;  // their entities, to ask the compute nodes about
  TimeNs grace_until_ns_ = 0;
  Tick grace_until_tick_ = 0;  // and by watch count, whichever ends later
  CoordinatorStats stats_;
  std::set<EntityId> debug_entities_;
  std::set<NodeId> debug_nodes_;
  // Operators' ghost queries under way (at most kGhostQueriesMax), and per compute node connection
  // the queries asked on it, oldest first: a node answers on that connection in order.
  struct GhostQuery {
    OperatorId who;
    AdminRequest req;
    Epoch claimed = 0;
    AdminDone done;
    std::set<ConnId> waiting;
    std::vector<std::string> lines;
    TimerId deadline = 0;
  };
  std::map<uint64_t, GhostQuery> ghost_queries_;
  std::map<ConnId, std::deque<uint64_t>> ghosts_asked_;
  uint64_t next_ghost_query_ = 1;
};

}  // namespace aether
