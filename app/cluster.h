#pragma once

#include <array>
// Assembles a whole cluster (coordinator, compute nodes, gateways, bots) on any runtime: the
// simulator gives each component its own simulated host, `aether local` gives each its own
// RealRuntime on one io_context. The components are the same objects either way.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "engine/client/bot_client.h"
#include "engine/compute/compute_node.h"
#include "engine/coordinator/coordinator.h"
#include "engine/gateway/gateway.h"

namespace aether::app {

// Where components live. One call to host() per component, then adopt() hands it the component and
// starts it: at once in the real runtime (so a server's bound address is known on return), from the
// event loop in the simulator (where a server binds exactly the address it was configured with).
class Hosting {
 public:
  virtual ~Hosting() = default;
  // role: what the component is (kClient for bots), which decides the identity its host presents
  // (its certificate, or the simulator's stand-in) and the TLS it speaks.
  virtual Runtime& host(const std::string& name, NodeId node, Role role) = 0;
  virtual void adopt(std::unique_ptr<Component> component) = 0;
  // The address a server of this role and index listens on ("127.0.0.1:0" for real, names in sim).
  virtual std::string listen_address(Role role, uint32_t index) = 0;
  // Whether every server's peers are verified (mutual TLS, or the simulator's hosts): the servers
  // then require a verified identity of every peer (identity_required).
  virtual bool verifies_identities() const = 0;
};

struct ClusterShape {
  uint32_t coordinators = 1;  // 2: leader and vice
  uint32_t compute_nodes = 1;
  uint32_t gateways = 1;
  uint32_t compute_capacity_entities = ComputeConfig{}.capacity_entities;  // each node's planned load
  bool load_shedding = true;  // false: no node sheds load (LoadGovernorLimits::enabled)
  bool durable_promises = false;  // compute nodes keep their promises in their stores (ComputeConfig)
  uint32_t bots = 0;
  gameplay::Rules rules;
  uint32_t cheaters = 0;  // the first bots cheat (BotConfig::cheat)
  uint32_t challengers = 0;  // the next ones challenge enemies to encounters (BotConfig::challenge)
  uint32_t travellers = 0;   // the next ones walk through portals (BotConfig::travel)
  int32_t view_radius_mm = 50'000;
  TimeNs bots_join_spread_ns = 0;
  Tick migration_storm_every_ticks = 0;
  uint32_t migration_storm_batch = 0;
  PlantedBug planted = PlantedBug::kNone;  // the checker's own tests plant a bug in every server
  bool admin_epoch_enabled = false;         // CoordinatorConfig::admin_epoch_enabled
  // Gateways require session tokens (GatewayAccounts::enabled) and bots use accounts
  // (BotConfig::account); account_login: the gateways' login limits (`aether local` lifts the
  // per-address ones: every bot comes from 127.0.0.1).
  bool accounts = false;
  TimeNs relog_every_ns = 0;  // with accounts: bots log out and back in this often (BotConfig::relog_every_ns)
  accounts::LoginLimits account_login;
  accounts::SessionLimits account_sessions;  // the gateways' token lifetimes (`aether local --access-ttl`)
};

struct ClusterFigures {
  uint64_t ticks = 0;
  Histogram tick_ns;
  uint64_t tick_overruns = 0;
  size_t entities = 0;
  uint64_t deaths = 0;
  uint64_t level_ups = 0;
  uint64_t npcs = 0;          // NPCs held by compute nodes at the end
  uint64_t npcs_alive = 0;    // ... of them alive
  uint64_t npcs_killed = 0;   // NPC deaths
  uint64_t npc_kills = 0;     // players killed by NPCs
  LootFigures loot;           // loot made and logged by the compute nodes alive at the end (engine/compute/loot_log.h)
  SaveFigures saves;          // characters' saves by the compute nodes alive at the end (engine/compute/character_saves.h)
  uint64_t saves_loaded = 0;  // characters' saves read at log-in by the gateways alive at the end: found,
  uint64_t saves_absent = 0;  // ... absent (a first life),
  uint64_t saves_unreadable = 0;  // ... corrupt (session closed)
  uint64_t bot_relogs = 0;        // bots' log-outs accepted (BotConfig::relog_every_ns), each followed by a log-in
  uint64_t challenges = 0;            // challenges sent to the leader
  uint64_t portals_taken = 0;         // players moved to another zone by a portal
  uint64_t instances_entered = 0;     // players moved into their party's instance slot (compute nodes alive at the end)
  uint64_t instance_refusals = 0;     // ... answers that refused them a slot
  std::array<uint64_t, kInstanceResults> instance_requests{};  // the coordinators' answers, by result (those alive at the end)
  uint64_t instances_opened = 0;      // slots allocated, by the coordinators alive at the end
  uint64_t instances_closed = 0;      // slots torn down, likewise
  uint64_t instances_active = 0;      // slots taken in the leader's table at the end
  uint64_t encounters_started = 0;
  uint64_t encounters_ended = 0;
  uint64_t encounters_live = 0;       // held by compute nodes at the end
  uint64_t encounter_turns_acted = 0;
  uint64_t encounter_turns_passed = 0;
  uint64_t encounter_turns_refused = 0;
  uint64_t skills_used = 0;
  uint64_t intents_applied = 0;
  uint64_t intents_duplicate = 0;
  std::array<uint64_t, gameplay::kRefusalKinds> skill_refusals{};
  uint64_t inputs_applied = 0;
  uint64_t intents_remote = 0;  // actions that crossed from one compute node to another
  uint64_t recoveries = 0;      // entities restored on a new owner after a loss
  uint64_t migrations = 0;      // completed on the receiving side
  uint64_t respawns_at_home = 0;  // in the owner's own region (ComputeNode::respawn_point)
  uint64_t respawns_away = 0;
  uint64_t handoff_fallbacks = 0;
  uint64_t inputs_forwarded = 0;
  uint64_t updates_sent = 0;
  uint64_t view_entities = 0;     // summed over updates sent (mean view = this / updates_sent)
  uint64_t changes_deferred = 0;  // client changes that waited for a later update (byte budgets)
  uint64_t bot_bytes_received = 0;
  uint64_t bot_updates = 0;
  uint32_t bots_playing = 0;
  uint32_t bots_alive = 0;
  uint64_t bot_resumes = 0;
  uint64_t bot_redirects = 0;
  // Accounts (ClusterShape::accounts), over the gateways alive at the end and every bot.
  uint64_t accounts_registered = 0;
  uint64_t account_logins = 0;       // logins that opened a session (not registrations)
  uint64_t hellos_refused = 0;       // for their token, every reason
  uint64_t resume_only_admitted = 0;
  uint64_t bot_logins = 0;           // account requests answered ok, as the bots counted them
  uint64_t bot_auth_refused = 0;
  uint64_t bots_between_gateways = 0;  // redirected moments ago, not yet welcomed (BotClient::between_gateways)
  uint64_t protocol_errors = 0;
  std::array<uint64_t, kInputRejectionKinds> inputs_rejected{};  // by the gateways' InputGuards
  uint64_t rejected_closed = 0;                                  // sessions closed for them
  uint64_t sessions_kicked = 0;      // sessions ended on their avatar owner's word (too many refused actions)
  uint64_t bots_kicked_honest = 0;   // ... that were honest bots' (should stay 0)
  uint64_t bots_kicked_cheating = 0; // ... and cheating bots'
  // Load shedding (load_governor.h), over the compute nodes alive at the end: ticks run at each
  // shedding level, how often one was entered, feeds deferred, nodes still shedding.
  uint64_t ticks_shedding_opportunistic = 0;
  uint64_t ticks_shedding_soft = 0;
  uint64_t shedding_episodes = 0;
  uint64_t feeds_skipped = 0;
  uint32_t nodes_shedding = 0;
};

class Cluster {
 public:
  // Builds and starts everything, servers first. join_random spreads bot arrivals.
  Cluster(Hosting& hosting, const ClusterShape& shape, Random& join_random);

  ClusterFigures figures() const;
  // The component died with its host and has been destroyed: its slot becomes null.
  void forget(const Component* component);
  // A server named "coordinator-N", "compute-N" or "gateway-N" comes back after a crash: a fresh
  // component built from the same configuration (a coordinator comes back as a follower, never as
  // the configured first leader), on the runtime of its restarted host. Its slot points to it; the
  // caller hands it to the host. Null if the name is no server of this cluster or its slot is taken.
  std::unique_ptr<Component> rebuild(std::string_view host_name, Runtime& rt);
  const std::vector<ComputeNode*>& computes() const { return computes_; }
  const std::vector<Gateway*>& gateways() const { return gateways_; }
  const std::vector<BotClient*>& bots() const { return bots_; }
  // The coordinator leading at the highest epoch (null if none leads right now).
  Coordinator* coordinator() const;
  const std::vector<Coordinator*>& coordinators() const { return coordinators_; }

 private:
  std::vector<Coordinator*> coordinators_;
  std::vector<ComputeNode*> computes_;
  std::vector<Gateway*> gateways_;
  std::vector<BotClient*> bots_;
  std::vector<CoordinatorConfig> coordinator_configs_;
  std::vector<ComputeConfig> compute_configs_;
  std::vector<GatewayConfig> gateway_configs_;
};

// Node ids by role, so a log line's n= tells the role: coordinator 1, compute 101.., gateway 201...
NodeId coordinator_node_id(uint32_t index);
NodeId compute_node_id(uint32_t index);
NodeId gateway_node_id(uint32_t index);

}  // namespace aether::app
