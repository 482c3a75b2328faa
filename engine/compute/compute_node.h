#pragma once
// A compute node: runs the gameplay of the entities it owns at 10 Hz, in the six phases of seed
// section 10, over four bounded queues. It never waits on the network inside a tick: everything a
// tick needs was queued before it started, and everything it produces leaves through the
// OutputQueue at its end.
//
// Around the entities it owns it holds ghosts: read-only copies of entities owned by other compute
// nodes, fed by explicit subscriptions (Subscribe, then a DeltaBatch feed). Gameplay reads ghosts
// (to aim at a target owned elsewhere) but never writes them: an action on a ghost becomes a
// RemoteIntent sent to the owner's IntentQueue.

#include <array>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/compute/entity_journal.h"
#include "engine/compute/ghost_table.h"
#include "engine/compute/interest_feed.h"
#include "engine/compute/lease.h"
#include "engine/compute/promise_record.h"
#include "engine/compute/refusal_meter.h"
#include "engine/compute/last_states.h"
#include "engine/compute/character_saves.h"
#include "engine/compute/loot_log.h"
#include "engine/core/planted.h"
#include "engine/core/region_map.h"
#include "engine/core/bounded_queue.h"
#include "engine/core/cluster_timing.h"
#include "engine/core/histogram.h"
#include "engine/core/holdings.h"
#include "engine/gameplay/world.h"
#include "engine/net/debug_set.h"
#include "engine/net/hello_deadline.h"
#include "engine/compute/load_governor.h"
#include "engine/net/outbound_link.h"
#include "engine/runtime/component.h"
#include "engine/runtime/metrics.h"
#include "engine/runtime/runtime.h"

namespace aether {

struct ComputeConfig {
  NodeId node{};
  PlantedBug planted = PlantedBug::kNone;  // engine/core/planted.h: for the checker's own tests only
  std::string listen_address;       // where gateways and other compute nodes connect
  std::vector<std::string> coordinator_addresses;  // leader and vice: we talk to both
  uint32_t capacity_entities = 5000;
  int32_t view_radius_mm = 50'000;  // must match the gateways'; also the ghost interest radius
  gameplay::Rules rules;
  // Limits, and what happens at each (docs/architecture.md, "Bounds"):
  size_t input_queue_max = 16384;       // full: the input is dropped; the client's next one supersedes it
  size_t intent_queue_max = 16384;      // full: the intent (a shot) is dropped and counted
  size_t simulation_queue_max = 8192;   // full: the job is dropped with a warning
  size_t output_queue_max = 4096;       // full: that feed restarts with a reset next tick; an intent is lost
  size_t ghosts_max = 50'000;           // full: further ghosts are not kept (counted) until room frees
  size_t inbound_connections_max = 1024;  // further connections are closed at once, with a warning
  TimeNs subscribe_every_ns = 500 * kNsPerMs;  // how often ghost interest is recomputed, outside the tick
  LoadGovernorLimits load;  // what is shed past the planned load (load_governor.h)
  // Mutual TLS is configured: a peer without a verified identity is refused (IdentityGuard).
  bool identity_required = false;
  // Promises kept in Runtime::storage (docs/ownership.md, "Durable promises"): the node answers no
  // Prepare before its record is loaded, and sends a Promise only once the record is synced. Off:
  // promises live in memory and a restarted node forgets them (the known limit that section names).
  bool durable_promises = false;
};

enum class TickPhase : uint8_t {
  kDrainInputs = 1,
  kGenerateIntents = 2,
  kSimulate = 3,
  kConsumeIntents = 4,
  kProduceDeltas = 5,
  kFlushOutput = 6,
};
const char* tick_phase_name(TickPhase phase);

struct ComputeStats {
  uint64_t ticks = 0;
  uint64_t tick_overruns = 0;
  Histogram tick_ns;
  TickHistogram tick_buckets{kTickBucketBoundsNs};  // the same durations, for /metrics
  uint64_t inputs_applied = 0;
  uint64_t inputs_unknown_entity = 0;
  uint64_t inputs_stale = 0;
  uint64_t intents_applied = 0;
  uint64_t intents_dropped = 0;
  uint64_t intents_sent_remote = 0;
  uint64_t intents_received_remote = 0;
  // Owners validate what they apply (docs/security.md): an input only from the gateway holding the
  // entity's session (or a compute node forwarding it after a move), a remote intent only from the
  // owner of its source, in range, of the rules' damage and no faster than half the cooldown.
  uint64_t inputs_rejected = 0;
  uint64_t hello_timeouts = 0;  // connections closed for saying no Hello within kHelloDeadlineNs
  uint64_t intents_rejected = 0;
  uint64_t intents_duplicate = 0;  // keys applied before (a retry): dropped, at most once
  // Skills asked for and refused by the owner's rules, per reason (gameplay::Refusal).
  std::array<uint64_t, gameplay::kRefusalKinds> skill_refusals{};
  uint64_t sessions_kicked = 0;  // players refused past kRefusalsMax in a window: their gateway told to end the session
  uint64_t huds_sent = 0;        // AvatarHuds sent to gateways (compute_hud.cc)
  uint64_t skills_used = 0;
  uint64_t deaths = 0;
  uint64_t level_ups = 0;  // experience took an entity we own to a higher level
  uint64_t npcs_killed = 0;  // NPCs we own that died
  uint64_t npc_kills = 0;    // entities we own (players) killed by an NPC
  // Turn-based encounters (compute_encounters.cc).
  uint64_t challenges_sent = 0;         // challenges by our players the leader was asked to open
  uint64_t encounters_started = 0;      // encounters we own that drew initiative here
  uint64_t encounter_turns_acted = 0;   // turns of our encounters ended by their actor's action
  uint64_t encounter_turns_passed = 0;  // ... by their timer
  uint64_t encounter_turns_refused = 0; // actions for a turn our encounter refused (stale, not the actor's)
  uint64_t encounters_ended = 0;
  uint64_t portals_taken = 0;           // our players moved by a portal to another zone
  uint64_t instance_requests_sent = 0;  // asks to the leader for a party's instance slot (compute_instances.cc)
  uint64_t instances_entered = 0;       // our players moved into their party's slot
  uint64_t instance_refusals = 0;       // answers that refused a slot (asked again after kInstanceAskTicks)
  uint64_t instance_answers_dropped = 0;  // answers for no ask of ours, or naming a slot the template lacks
  uint64_t stale_epoch_dropped = 0;
  uint64_t protocol_errors = 0;
  uint64_t admin_on_data_port = 0;  // AdminRequests refused on the data port (operators use the coordinator's admin listener)
  uint64_t delta_bytes_sent = 0;
  uint64_t feed_resets = 0;
  uint64_t feeds_skipped = 0;  // ticks whose feeds waited for the next tick (soft load shed)
  uint64_t ghosts_refused = 0;
  uint64_t subscriptions_sent = 0;
  uint64_t ticks_without_lease = 0;  // slots skipped because the lease had lapsed
  uint64_t clock_untrusted = 0;      // times our clock was found slower than the leader's beyond the bound
  uint64_t evictions = 0;
  uint64_t promises = 0;
  uint64_t promise_writes = 0;          // durable promises synced
  uint64_t promise_write_failures = 0;  // ... refused or failed (that Prepare went unanswered)
  uint64_t prepares_unanswered = 0;     // Prepares that came before the promise record was loaded
  uint64_t migrations_out = 0;
  uint64_t migrations_in = 0;
  uint64_t handoffs_lost = 0;        // handoffs we could not send (the new owner falls back to a snapshot)
  uint64_t handoff_fallbacks = 0;    // migrations in that had to start from the snapshot
  uint64_t forwarded_after_move = 0; // inputs and intents sent on to an entity's new owner
  uint64_t recoveries = 0;           // entities granted to us with a recovery state
  uint64_t recovered_from_ghost = 0; // ... of which our ghost was fresher than the snapshot
  uint64_t respawns_at_home = 0;     // respawned inside our own region (no migration follows)
  uint64_t respawns_away = 0;        // ... no point of the team's band in it was drawn: elsewhere
  uint64_t regions_refused = 0;      // region cuts from the leader that did not cover the arena (ignored)
};

// Migration bounds (compute_migration.cc).
inline constexpr TimeNs kHandoffWaitNs = 1000 * kNsPerMs;  // then a migration grant falls back to its snapshot
inline constexpr TimeNs kForwardTtlNs = 5 * kNsPerSec;     // late inputs follow a moved entity this long
inline constexpr size_t kForwardsMax = 16384;              // full: the oldest forwarding entries go
inline constexpr size_t kPendingMigrationsMax = 4096;      // full: the oldest pending grant/handoff goes
// Debug mode: trace records and log lines per tick at most; further ones are counted, not written.
inline constexpr uint32_t kDebugRecordsPerTickMax = 512;

class ComputeNode final : public Component, public NetworkHandler {
 public:
  ComputeNode(Runtime& rt, ComputeConfig config);
  ~ComputeNode() override;

  void start() override;
  // Stopping: our heartbeats say so, the leader moves everything off (as for an operator's drain).
  // Drained once a leader acked a heartbeat that said so (it places nothing more here) and we hold
  // nothing: no entity, no migration grant or handoff waiting.
  void begin_drain() override;
  bool drained() const override;
  // Ready: registered with a leader and holding a valid lease (it may write), and not draining.
  Readiness readiness() const override;

  void on_accepted(ConnId conn, std::string_view listen_address) override;
  void on_connected(ConnId conn) override;
  void on_message(ConnId conn, std::span<const uint8_t> payload) override;
  void on_closed(ConnId conn, CloseReason reason) override;

  NodeId node() const { return cfg_.node; }
  const ComputeConfig& config() const { return cfg_; }
  const ComputeStats& stats() const { return stats_; }
  const LoadGovernor& load() const { return governor_; }
  const gameplay::World& world() const { return world_; }
  const GhostTable& ghosts() const { return ghosts_; }
  const LootLog& loot_log() const { return loot_log_; }
  const CharacterSaves& character_saves() const { return saves_; }
  const LastStates& last_states() const { return last_states_; }  // for the simulator's checker
  Tick tick() const { return tick_; }
  Epoch epoch() const { return epoch_; }
  const std::string& data_address() const { return data_address_; }
  size_t input_queue_depth() const { return input_queue_.depth(); }
  size_t intent_queue_depth() const { return intent_queue_.depth(); }
  // The four queues of the tick, in phase order, for /metrics.
  std::array<QueueFigures, 4> queues() const {
    return {queue_figures("input", input_queue_), queue_figures("intent", intent_queue_),
            queue_figures("simulation", simulation_queue_), queue_figures("output", output_queue_)};
  }
  size_t peers_connected() const;
  size_t subscribers() const { return subscribers_.size(); }
  // Whether this node may write its entities now: its last acked heartbeat is recent enough.
  bool lease_valid() const { return lease_.valid(rt_.clock.now_ns()); }
  bool clock_trusted() const { return lease_.clock_trusted(); }
  // The entities this node writes right now (the simulator's checker counts writers with this).
  bool writes(EntityId id) const { return lease_valid() && world_.find(id) != nullptr; }
  // Tests watch the phases go by.
  void set_phase_observer(std::function<void(TickPhase, Tick)> observer) { phase_observer_ = std::move(observer); }
  // Runs one tick now (normally the tick timer does).
  void run_tick();
  // Targeted debug mode (compute_debug.cc): what the coordinator last told us to debug.
  const DebugSet& debug_set() const { return debug_; }
  // Claims refused for not matching a verified identity (IdentityGuard): Hellos, admin requests,
  // servers answering our links as someone else.
  uint64_t identity_rejections() const { return identity_.rejections(); }

 private:
  struct InputItem {
    EntityId entity{};
    ClientInput input;
  };
  struct OutputItem {
    ConnId conn = 0;
    InterestFeed* feed = nullptr;  // restarted with a reset if the send fails; null for intents
    std::vector<uint8_t> bytes;
  };
  struct Subscriber {  // a gateway or compute node receiving a feed from us, on its own connection
    ConnId conn = 0;
    Role role = Role::kNone;
    std::unique_ptr<InterestFeed> feed;
  };
  struct PendingGrant {
    OwnershipGrant grant;
    TimeNs deadline_ns = 0;
  };
  struct MovedEntity {
    NodeId to{};
    TimeNs until_ns = 0;
  };
  struct Peer {  // another compute node, reached through our own outbound connection
    std::unique_ptr<OutboundLink> link;
    std::vector<CellKey> cells_sent;
    bool subscribed = false;
  };

  // The tick (compute_node.cc).
  void schedule_tick();
  void skip_tick();
  void enter(TickPhase phase);
  void drain_inputs();
  void generate_intents();
  void simulate();
  // Where one of our dead comes back: a random point of its team's band, drawn again (up to
  // kRespawnDrawsMax times) until it falls in our own region, so that a respawn is not a migration.
  // The first draw if no region cut is known or none falls at home.
  static constexpr int kRespawnDrawsMax = 16;
  Vec2 respawn_point(uint32_t team);
  void consume_intents();
  void produce_deltas();
  void flush_output();
  const EntityState* resolve_target(EntityId target, EntityState& scratch) const;
  void apply_intent(const RemoteIntent& intent);
  void on_death(gameplay::Entity& e, EntityId killer);
  // Loot (compute_loot.cc, docs/persistence.md §9c).
  void route_loot(const gameplay::Entity& victim, EntityId killer);
  void on_loot(gameplay::Entity& holder, const RemoteIntent& intent, gameplay::Applied result);
  void flush_loot_log();
  void planted_loot_again(gameplay::Entity& e);
  // Character saves (compute_saves.cc, docs/persistence.md §9d).
  CharacterSave save_of(const gameplay::Entity& e) const;
  void save_at_logout(const gameplay::Entity& e);
  void flush_character_saves();
  void route_intent(const RemoteIntent& intent);

  // Turn-based encounters (compute_encounters.cc; docs/gameplay.md, "Encounters").
  // Phase 2, first: which of our entities sit in an encounter (ours or a ghost) and whose turn it is.
  void index_encounters();
  // Phase 2: the challenge action (input slot kChallengeSlot): checked, then the leader is asked to
  // open an encounter. Consumes the request.
  void challenge(gameplay::Entity& e, gameplay::Surroundings& around);
  // Phase 2: whether e's skill request may go on: e sits in no encounter, or it is its turn and it
  // has not played it yet. Otherwise the request is refused (kNotYourTurn) and consumed.
  bool turn_allows(gameplay::Entity& e);
  // Phase 2: e used `skill` on its turn: the turn's action goes to the encounter (an intent).
  void turn_played(const gameplay::Entity& e, uint16_t skill);
  // Phase 3: our encounters start, lose the seats of the dead and the gone, pass turns whose timer
  // ran out, end, and ask the leader to remove them once ended.
  void run_encounters();
  // Phase 4: what an encounter of ours made of a turn's action.
  void encounter_turn_applied(gameplay::Entity& encounter, const RemoteIntent& intent, const gameplay::ApplyOutcome& out);
  void trace_turn(EntityId encounter, const gameplay::TurnEnded& t);
  // Phase 3, after portals (compute_instances.cc): a player of ours in a portal into an instance
  // template asks the leader for its party's slot and goes in when the answer comes; asks whose
  // answer is older than kInstanceAskTicks are forgotten each tick.
  void enter_instance(gameplay::Entity& e);
  void forget_instance_asks();
  void handle_instance_answer(const InstanceAnswer& a);

  // Phase 5, after the feeds: each player's bag and encounter to its gateway (compute_hud.cc).
  AvatarHud hud_of(const gameplay::Entity& e) const;
  void send_huds();

  // The network side (compute_links.cc).
  void send_hello();
  void send_heartbeat();
  void send_snapshots();
  std::vector<Snapshot> snapshot_chunks() const;
  void handle_ack(const ServerMessage& m, const HeartbeatAck& ack);
  void handle_orphan_query(ConnId conn, const OrphanQuery& query);
  void send_states(ConnId conn, const std::vector<EntityState>& states);
  void handle_evicted(const ServerMessage& m);
  void fence_applied(ConnId conn, uint64_t fence);
  void handle_prepare(ConnId conn, NodeId from, const Prepare& prepare);
  // Durable promises (compute_promises.cc; cfg_.durable_promises).
  void load_promise();
  void promise_loaded(const GetResult& r);
  // The promise just made must reach the store before anyone hears of it: writes it, and answers
  // `prepare` once it is synced (if we still stand at that epoch).
  void persist_promise(ConnId conn, NodeId from, const Prepare& prepare);
  void promise_written(const PromiseRecord& written, const WriteResult& r);
  HoldingsDigest holdings_digest() const;
  void answer_admin(ConnId conn, const AdminRequest& req);
  // compute_migration.cc
  void handle_release(const ServerMessage& m, const Release& r);
  void handle_handoff(const Handoff& h);
  void handle_migration_grant(const OwnershipGrant& g);
  void materialise(const OwnershipGrant& g, const Handoff* h);
  void remember_move(EntityId entity, NodeId to);
  void expire_migrations();
  bool forward_if_moved(EntityId entity, ServerBody body);
  // One link per configured coordinator, with the newest fencing order applied from it: fence
  // numbers are one coordinator's own (two candidates of one epoch number theirs alike), so each
  // heartbeat tells each coordinator what it applied of that coordinator's.
  struct CoordinatorLink {
    std::unique_ptr<OutboundLink> link;
    uint64_t fence_applied = 0;  // never decreases
  };
  CoordinatorLink* coordinator_link(ConnId conn);
  template <class F>
  void for_each_coordinator(F&& fn) {
    for (auto& c : coordinators_) {
      if (c.link->connected()) fn(c.link->conn(), c);
    }
  }
  void subscribe_peers();
  void handle_coordinator(ConnId conn, const ServerMessage& m);
  void handle_grant(const ServerMessage& m, const OwnershipGrant& g);
  void handle_revoke(const ServerMessage& m, const OwnershipRevoke& r);
  void handle_membership(const Membership& m);
  void handle_inbound(ConnId conn, const ServerMessage& m);
  void handle_peer_reply(NodeId peer, const ServerMessage& m);
  void apply_ghosts(NodeId owner, const DeltaBatch& batch);
  void forget_ghosts_of(NodeId owner, GhostDropReason why);
  void forget_ghost(EntityId id, GhostDropReason why);
  bool accept_epoch(const ServerMessage& m);
  void drop_connection(ConnId conn, std::string_view why);
  void close_refused(ConnId conn);  // after IdentityGuard refused its claim (counted there)
  ServerMessage envelope(ServerBody body) const;
  void kick(const gameplay::Entity& e, gameplay::Refusal last);
  void trace(TraceKind kind, EntityId entity, int64_t a = 0, int64_t b = 0, NodeId peer = {});
  // compute_debug.cc
  void set_debug(NodeId from, const DebugTargets& targets);
  bool debug_budget();
  void debug_input(EntityId entity, const ClientInput& in);
  void debug_intent(const RemoteIntent& intent);
  void debug_states();
  std::string feeds_line(EntityId id) const;  // the ghost query's subscriptions line (compute_links.cc)

  Runtime& rt_;
  ComputeConfig cfg_;
  IdentityGuard identity_;
  gameplay::World world_;
  BoundedQueue<InputItem> input_queue_;
  BoundedQueue<RemoteIntent> intent_queue_;
  RefusalMeter refusals_;  // refused actions per entity: past the limit, the session ends
  std::vector<RemoteIntent> intents_scratch_;  // phase 2's, reused every tick
  std::vector<RemoteIntent> awards_scratch_;   // a death's experience awards
  BoundedQueue<gameplay::SimJob> simulation_queue_;
  BoundedQueue<OutputItem> output_queue_;
  std::vector<CoordinatorLink> coordinators_;
  std::map<ConnId, NodeId> inbound_;          // accepted connections -> peer (invalid until its Hello)
  HelloDeadlines hello_deadlines_;            // of those, the ones yet to say Hello (closed past the deadline)
  std::map<NodeId, Subscriber> subscribers_;  // ordered: feeds are built in NodeId order
  std::map<NodeId, Peer> peers_;              // other compute nodes, from the coordinator's Membership
  std::optional<RegionMap> regions_;          // the leader's cut among compute nodes, from its Membership too
  GhostTable ghosts_;                          // at most cfg_.ghosts_max
  std::vector<EntityId> ghost_ids_scratch_;    // forget_ghosts_of's
  // Encounters as phase 2 sees them (index_encounters), for our entities only: bounded by our world.
  struct SeatView {
    EntityId encounter{};
    uint32_t round = 0;
    uint32_t turn = 0;
    bool its_turn = false;
  };
  std::map<EntityId, SeatView> seats_;
  // The last AvatarHud sent per avatar whose HUD is not empty (compute_hud.cc): at most our world.
  struct HudSent {
    NodeId gateway{};
    Tick tick = 0;
    AvatarHud hud;
  };
  std::map<EntityId, HudSent> huds_sent_;
  // Participant -> (encounter, the last turn it played here): a ghost of a remote encounter shows
  // the turn still open until its owner's feed catches up, and a turn is played once.
  std::map<EntityId, std::pair<EntityId, uint32_t>> turns_played_;
  // Instance asks (compute_instances.cc), one per player of ours standing in a portal into a template:
  // at most kInstanceAsksMax (more wait for room; an ask lives kInstanceAskTicks).
  struct InstanceAsk {
    uint16_t portal = 0;
    Tick asked = 0;
    std::optional<uint32_t> slot;  // the leader's answer: the party's slot
  };
  std::map<EntityId, InstanceAsk> instance_asks_;
  static constexpr Tick kInstanceAskTicks = 20;
  static constexpr size_t kInstanceAsksMax = 4096;
  std::map<EntityId, Tick> challenges_;  // challenger -> when its request left: one per kChallengeWaitTicks
  static constexpr Tick kChallengeWaitTicks = 50;
  static constexpr Tick kEncounterCloseEveryTicks = 10;  // an ended encounter asks the leader again this often
  // Remote intents accepted, by source and skill: our tick when the last use was accepted and that
  // use's origin tick (its several intents share it). Pruned each tick of uses older than their
  // skill's cooldown, so at most one entry per skill of a recently acting ghost.
  struct RemoteUse {
    Tick accepted = 0;
    Tick origin_tick = 0;
  };
  std::map<std::pair<EntityId, uint16_t>, RemoteUse> remote_fired_;
  bool accept_remote_intent(NodeId sender, const RemoteIntent& ri);
  EntityState freshest(const EntityState& from);
  void reject(uint64_t& counter, const char* what, NodeId sender, EntityId entity, LogLevel level = LogLevel::kWarn);
  // Phase 5's scratch, reused every tick: our entities' states, made once per tick, and what feeds
  // may publish (pointing into it and into the ghost table), each state encoded once per audience.
  std::vector<EntityState> owned_scratch_;
  FeedStates owned_states_{kFieldsAll};        // to compute nodes: whole states (recovery may start from a ghost)
  FeedStates visible_states_{kFieldsGateway};  // to gateways: what they keep
  LastStates last_states_;  // of entities taken from us, and of ghosts whose owner we lost
  std::map<EntityId, PendingGrant> pending_grants_;   // migration grants waiting for their handoff
  struct PendingHandoff {
    Handoff handoff;
    TimeNs deadline_ns = 0;  // a handoff whose grant has not come by then is stale: dropped
  };
  std::map<EntityId, PendingHandoff> pending_handoffs_;  // handoffs waiting for their grant
  std::map<EntityId, MovedEntity> moved_;             // entities that left us, for forwarding
  InterestCells ghost_interest_;
  std::string data_address_;
  Epoch epoch_ = 0;
  Epoch epoch_before_ = 0;    // the epoch we followed before epoch_ (sent in Promise)
  Epoch promised_epoch_ = 0;  // one promise per epoch, like a vote: to promised_to_
  NodeId promised_to_{};
  uint64_t promised_to_incarnation_ = 0;  // the process of promised_to_ (a restart is another candidate)
  // Durable promises: whether the record was read at start, the epoch whose promise is synced, the
  // write in flight, and the Prepare waiting for it (the newest only: its coordinator asks again).
  struct WaitingPrepare {
    ConnId conn = 0;
    NodeId from{};
    Prepare prepare;
    Epoch epoch = 0;
  };
  bool promise_loaded_ = true;
  Epoch promise_synced_epoch_ = 0;
  bool promise_writing_ = false;
  std::optional<WaitingPrepare> promise_waiting_;
  TimerId promise_load_timer_ = 0;
  // Store completions hold a weak copy: one arriving after the node is gone finds it expired.
  LootLog loot_log_;
  CharacterSaves saves_;
  std::shared_ptr<char> life_ = std::make_shared<char>();
  uint64_t incarnation_ = 0;  // this process's life: a restart under the same node id gets a new one
  Tick tick_ = 0;          // ticks run
  uint64_t slot_ = 0;      // 100 ms slots elapsed since the first; a slot without a lease runs no tick
  TimeNs first_tick_at_ = 0;
  Lease lease_;
  bool lease_lapsed_logged_ = false;
  uint64_t heartbeat_seq_ = 0;
  // The newest table version a leader told us (HeartbeatAck.version); echoed in heartbeats and
  // reported in promises. Never decreases; 0 until the first ack since this process started.
  uint64_t table_version_seen_ = 0;
  TimerId tick_timer_ = 0;
  TimerId subscribe_timer_ = 0;
  TimerId heartbeat_timer_ = 0;
  TimerId snapshot_timer_ = 0;
  ComputeStats stats_;
  // Time spent since the last heartbeat, by kind of load (see Heartbeat.hard_permille).
  LoadGovernor governor_;  // the load level: what this node sheds to keep its tick
  struct Drain {
    uint64_t first_seq = 0;     // our first heartbeat that said we drain (0: none sent yet)
    bool leader_knows = false;  // a leader acked it (or a later one)
  };
  std::optional<Drain> drain_;  // set by begin_drain(), never cleared
  TimeNs hard_ns_ = 0;
  TimeNs soft_ns_ = 0;
  TimeNs opportunistic_ns_ = 0;
  TimeNs load_window_start_ns_ = 0;
  std::function<void(TickPhase, Tick)> phase_observer_;
  DebugSet debug_;
  EntityJournal journal_;  // the inspected entities' last inputs and intents (entity_journal.h)
  std::map<EntityId, uint64_t> debug_versions_;  // debugged entities' last logged version
  uint32_t debug_records_this_tick_ = 0;
  uint32_t debug_suppressed_this_tick_ = 0;
};

}  // namespace aether
