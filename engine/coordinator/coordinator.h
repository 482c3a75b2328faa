#pragma once
// The coordinator holds the entity -> owner table, watches compute nodes by heartbeat, places new
// entities on the least-loaded live node and keeps the cluster epoch. It runs no gameplay.
// (Vice-coordinator replication, migration and recovery build on this in the cluster work.)

#include <map>
#include <string>

#include "engine/core/cluster_timing.h"
#include "engine/gameplay/rules.h"
#include "engine/runtime/component.h"
#include "engine/runtime/runtime.h"
#include "engine/wire/messages.h"

namespace aether {

struct CoordinatorConfig {
  NodeId node{};
  std::string listen_address;
  Epoch epoch = 1;                       // the epoch this coordinator leads under
  gameplay::Rules rules;                 // arena and teams, for spawn placement
  // Acks (lease renewals) only while in contact with a majority of compute nodes. Needed as soon as a
  // second coordinator could lead (docs/ownership.md); with a lone coordinator, renewing for the
  // nodes that remain cannot create a second writer.
  bool require_quorum = false;
  size_t table_entities_max = 1'000'000;   // at the limit, spawn requests are refused with a reason
  size_t peers_max = 1024;                 // at the limit, further connections are closed at once
};

struct OwnerRecord {
  NodeId owner{};          // invalid while orphaned (no compute node could take it yet)
  uint64_t generation = 0;
  NodeId gateway{};
  SessionId session{};
  EntityState snapshot;    // the owner's last snapshot (at first, the spawn state)
};

struct NodeRecord {
  Role role = Role::kNone;
  ConnId conn = 0;
  std::string data_address;
  uint32_t capacity_entities = 0;
  uint32_t entities_reported = 0;
  uint32_t load_permille = 0;
  uint64_t tick_ns_p99 = 0;
  TimeNs last_heard_ns = 0;
  bool lost = false;
  TimeNs lost_at_ns = 0;
};

struct CoordinatorStats {
  uint64_t spawns = 0;
  uint64_t spawns_refused = 0;
  uint64_t revokes = 0;
  uint64_t nodes_lost = 0;
  uint64_t recoveries = 0;      // entities re-granted after their owner was lost
  uint64_t evictions = 0;
  uint64_t acks_withheld = 0;   // heartbeats not acked for lack of a quorum
  uint64_t protocol_errors = 0;
};

class Coordinator final : public Component, public NetworkHandler {
 public:
  Coordinator(Runtime& rt, CoordinatorConfig config);
  ~Coordinator() override;

  void start() override;

  void on_accepted(ConnId conn, std::string_view listen_address) override;
  void on_connected(ConnId conn) override {}
  void on_message(ConnId conn, std::span<const uint8_t> payload) override;
  void on_closed(ConnId conn, CloseReason reason) override;

  Epoch epoch() const { return cfg_.epoch; }
  const std::string& address() const { return address_; }
  const std::map<EntityId, OwnerRecord>& table() const { return table_; }
  const std::map<NodeId, NodeRecord>& nodes() const { return nodes_; }
  const CoordinatorStats& stats() const { return stats_; }
  size_t orphans() const;

 private:
  void watch();
  void handle(ConnId conn, const ServerMessage& m);
  void handle_hello(ConnId conn, const ServerMessage& m, const Hello& hello);
  void handle_spawn(const ServerMessage& m, const SpawnRequest& req);
  void handle_session_closed(const ServerMessage& m, const SessionClosed& closed);
  NodeId pick_compute() const;
  void mark_lost(NodeId node, const char* why);
  void handle_heartbeat(NodeId node, NodeRecord& rec, const Heartbeat& hb);
  void handle_snapshot(NodeId node, const Snapshot& snap);
  void regrant(EntityId entity, OwnerRecord& rec);
  void regrant_orphans();
  bool has_quorum() const;
  void evict(NodeId node, NodeRecord& rec);
  void send_membership();
  void drop_connection(ConnId conn, std::string_view why);
  SendStatus send_to(NodeId node, ServerBody body);
  void trace(TraceKind kind, EntityId entity, int64_t a = 0, int64_t b = 0, NodeId peer = {});

  Runtime& rt_;
  CoordinatorConfig cfg_;
  std::string address_;
  std::map<ConnId, NodeId> conns_;  // invalid NodeId until the peer's Hello
  std::map<NodeId, NodeRecord> nodes_;
  std::map<EntityId, OwnerRecord> table_;
  std::map<NodeId, uint32_t> assigned_;  // entities the table gives each compute node
  uint64_t next_entity_ = 1;
  Tick tick_ = 0;  // the coordinator's own 10 Hz watch cadence, stamped on its messages
  TimerId watch_timer_ = 0;
  CoordinatorStats stats_;
};

}  // namespace aether
