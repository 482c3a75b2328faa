#include "engine/coordinator/coordinator.h"

#include "engine/gameplay/world.h"
#include "engine/net/outbound_link.h"
#include "engine/wire/codec.h"

namespace aether {

Coordinator::Coordinator(Runtime& rt, CoordinatorConfig config) : rt_(rt), cfg_(std::move(config)) {
  AETHER_ASSERT(cfg_.node.valid());
  AETHER_ASSERT(cfg_.epoch > 0);
  rt_.network.set_handler(this);
}

Coordinator::~Coordinator() {
  if (watch_timer_ != 0) rt_.timers.cancel(watch_timer_);
}

void Coordinator::start() {
  address_ = listen_logged(rt_, cfg_.listen_address);
  if (address_.empty()) return;
  log_at(rt_.log, LogLevel::kInfo, {cfg_.epoch, 0, {}}, "coordinator leading epoch {} on {}", cfg_.epoch, address_);
  trace(TraceKind::kEpochChanged, EntityId{}, static_cast<int64_t>(cfg_.epoch));
  watch_timer_ = rt_.timers.schedule(kTickNs, [this] { watch(); });
}

// Every 100 ms: a compute node silent for kNodeLossAfterNs is lost. Not sooner, and not on a mere
// connection loss: until then it may still hold a valid lease and be writing its entities.
void Coordinator::watch() {
  ++tick_;
  const TimeNs now = rt_.clock.now_ns();
  for (auto& [id, rec] : nodes_) {
    if (rec.role == Role::kCompute && !rec.lost && now - rec.last_heard_ns > kNodeLossAfterNs) mark_lost(id, "no heartbeat");
  }
  regrant_orphans();
  watch_timer_ = rt_.timers.schedule(kTickNs, [this] { watch(); });
}

void Coordinator::mark_lost(NodeId node, const char* why) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || it->second.lost) return;
  it->second.lost = true;
  it->second.lost_at_ns = rt_.clock.now_ns();
  ++stats_.nodes_lost;
  trace(TraceKind::kNodeLost, EntityId{}, static_cast<int64_t>(it->second.role), 0, node);
  log_at(rt_.log, LogLevel::kWarn, {cfg_.epoch, tick_, {}}, "{} node {} lost: {}", role_name(it->second.role), node.value, why);
  if (it->second.role != Role::kCompute) return;
  assigned_.erase(node);
  send_membership();
  // Every lease the node held has expired (that is what kNodeLossAfterNs waits for): its entities
  // go to live nodes now, under a new generation, from their last snapshot.
  for (auto& [entity, rec] : table_) {
    if (rec.owner == node) regrant(entity, rec);
  }
}

void Coordinator::regrant(EntityId entity, OwnerRecord& rec) {
  const NodeId owner = pick_compute();
  if (!owner.valid()) {
    rec.owner = NodeId{};  // orphaned: regrant_orphans() tries again every 100 ms
    return;
  }
  rec.owner = owner;
  ++rec.generation;
  ++assigned_[owner];
  ++stats_.recoveries;
  send_to(owner, OwnershipGrant{entity, rec.generation, rec.gateway, rec.session, rec.snapshot.pos, rec.snapshot.team, rec.snapshot});
  trace(TraceKind::kOwnershipGranted, entity, static_cast<int64_t>(rec.generation), 1, owner);
  if (rec.gateway.valid()) send_to(rec.gateway, OwnerChanged{entity, owner, nodes_[owner].data_address});
}

void Coordinator::regrant_orphans() {
  if (!pick_compute().valid()) return;
  for (auto& [entity, rec] : table_) {
    if (!rec.owner.valid()) regrant(entity, rec);
  }
}

size_t Coordinator::orphans() const {
  size_t n = 0;
  for (const auto& [entity, rec] : table_) n += rec.owner.valid() ? 0 : 1;
  return n;
}

// A majority of the compute nodes that are members (not declared lost) heard from within a lease.
bool Coordinator::has_quorum() const {
  if (!cfg_.require_quorum) return true;
  const TimeNs now = rt_.clock.now_ns();
  size_t members = 0, fresh = 0;
  for (const auto& [id, rec] : nodes_) {
    if (rec.role != Role::kCompute || rec.lost) continue;
    ++members;
    fresh += now - rec.last_heard_ns <= kLeaseNs ? 1 : 0;
  }
  return members > 0 && fresh * 2 > members;
}

// A node we declared lost is back (a long pause, a partition healed): whatever it still holds has been
// re-granted elsewhere, so it must drop everything before its lease can be renewed.
void Coordinator::evict(NodeId node, NodeRecord& rec) {
  ++stats_.evictions;
  rec.lost = false;
  assigned_.erase(node);
  send_to(node, Evicted{});
  trace(TraceKind::kEvicted, EntityId{}, 0, 0, node);
  log_at(rt_.log, LogLevel::kWarn, {cfg_.epoch, tick_, {}}, "compute {} came back after being declared lost: evicted", node.value);
  send_membership();
}

void Coordinator::handle_heartbeat(NodeId node, NodeRecord& rec, const Heartbeat& hb) {
  rec.entities_reported = hb.entities;
  rec.load_permille = hb.load_permille;
  rec.tick_ns_p99 = hb.tick_ns_p99;
  if (rec.role != Role::kCompute) return;
  if (rec.lost) evict(node, rec);
  if (!has_quorum()) {
    ++stats_.acks_withheld;
    return;
  }
  send_to(node, HeartbeatAck{hb.seq});
}

void Coordinator::handle_snapshot(NodeId node, const Snapshot& snap) {
  for (const EntityState& st : snap.states) {
    auto it = table_.find(st.id);
    if (it != table_.end() && it->second.owner == node && it->second.generation == st.generation) it->second.snapshot = st;
  }
}

// Every compute node learns the live compute nodes (and where to reach them) whenever the set
// changes, so each can subscribe to the others for ghosts.
void Coordinator::send_membership() {
  Membership m;
  for (const auto& [id, rec] : nodes_) {
    if (rec.role == Role::kCompute && !rec.lost && rec.conn != 0) m.peers.push_back(PeerInfo{id, rec.data_address});
  }
  for (const PeerInfo& p : m.peers) send_to(p.node, m);
}

void Coordinator::on_accepted(ConnId conn, std::string_view) {
  if (conns_.size() >= cfg_.peers_max) {
    log_at(rt_.log, LogLevel::kWarn, {}, "refusing connection {}: {} peers already", conn, conns_.size());
    rt_.network.close(conn);
    return;
  }
  conns_[conn] = NodeId{};
}

void Coordinator::on_closed(ConnId conn, CloseReason reason) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  const NodeId node = it->second;
  conns_.erase(it);
  if (!node.valid()) return;
  auto rec = nodes_.find(node);
  if (rec == nodes_.end() || rec->second.conn != conn) return;
  rec->second.conn = 0;  // a compute node is declared lost only by heartbeat timeout (watch)
  log_at(rt_.log, LogLevel::kInfo, {cfg_.epoch, tick_, {}}, "{} {} disconnected ({})", role_name(rec->second.role), node.value,
         close_reason_name(reason));
}

void Coordinator::on_message(ConnId conn, std::span<const uint8_t> payload) {
  auto decoded = decode_server(payload);
  if (!decoded) {
    drop_connection(conn, decoded.error().message);
    return;
  }
  handle(conn, decoded.value());
}

void Coordinator::drop_connection(ConnId conn, std::string_view why) {
  ++stats_.protocol_errors;
  log_at(rt_.log, LogLevel::kWarn, {cfg_.epoch, tick_, {}}, "closing connection {}: {}", conn, why);
  rt_.network.close(conn);
  on_closed(conn, CloseReason::kLocal);
}

void Coordinator::handle(ConnId conn, const ServerMessage& m) {
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  if (const auto* hello = std::get_if<Hello>(&m.body)) {
    handle_hello(conn, m, *hello);
    return;
  }
  if (it->second != m.sender) {
    drop_connection(conn, "message before Hello, or sender changed on an established connection");
    return;
  }
  NodeRecord& rec = nodes_[m.sender];
  rec.last_heard_ns = rt_.clock.now_ns();
  if (const auto* hb = std::get_if<Heartbeat>(&m.body)) {
    handle_heartbeat(m.sender, rec, *hb);
  } else if (const auto* snap = std::get_if<Snapshot>(&m.body)) {
    handle_snapshot(m.sender, *snap);
  } else if (const auto* req = std::get_if<SpawnRequest>(&m.body)) {
    handle_spawn(m, *req);
  } else if (const auto* closed = std::get_if<SessionClosed>(&m.body)) {
    handle_session_closed(m, *closed);
  }
}

void Coordinator::handle_hello(ConnId conn, const ServerMessage& m, const Hello& hello) {
  if (hello.role != m.sender_role || (hello.role != Role::kCompute && hello.role != Role::kGateway)) {
    drop_connection(conn, "Hello from a role that does not register with the coordinator");
    return;
  }
  if (hello.role == Role::kCompute && hello.data_address.empty()) {
    drop_connection(conn, "compute Hello without a data address");
    return;
  }
  auto existing = nodes_.find(m.sender);
  if (existing != nodes_.end() && existing->second.conn != 0 && existing->second.conn != conn &&
      existing->second.role != hello.role) {
    drop_connection(conn, "node id already registered with another role");
    return;
  }
  const bool was_lost = existing != nodes_.end() && existing->second.lost;
  conns_[conn] = m.sender;
  NodeRecord& rec = nodes_[m.sender];
  rec.role = hello.role;
  rec.conn = conn;
  rec.data_address = hello.data_address;
  rec.capacity_entities = hello.capacity_entities;
  rec.last_heard_ns = rt_.clock.now_ns();
  if (was_lost) evict(m.sender, rec);
  trace(TraceKind::kNodeRegistered, EntityId{}, static_cast<int64_t>(hello.role), 0, m.sender);
  if (hello.role == Role::kCompute) send_membership();
  log_at(rt_.log, LogLevel::kInfo, {cfg_.epoch, tick_, {}}, "{} {} registered{}{}", role_name(hello.role), m.sender.value,
         hello.data_address.empty() ? "" : " at ", hello.data_address);
}

// Least loaded live compute node, by entities the table gives it relative to its capacity; ties go to
// the lowest node id so the choice is deterministic.
NodeId Coordinator::pick_compute() const {
  NodeId best{};
  uint64_t best_load = UINT64_MAX;
  for (const auto& [id, rec] : nodes_) {
    if (rec.role != Role::kCompute || rec.lost || rec.conn == 0 || rec.capacity_entities == 0) continue;
    auto a = assigned_.find(id);
    const uint64_t n = a == assigned_.end() ? 0 : a->second;
    if (n >= rec.capacity_entities) continue;
    const uint64_t load = n * 1'000'000 / rec.capacity_entities;
    if (load < best_load) {
      best_load = load;
      best = id;
    }
  }
  return best;
}

void Coordinator::handle_spawn(const ServerMessage& m, const SpawnRequest& req) {
  SpawnReply reply;
  reply.session = req.session;
  const NodeId owner = pick_compute();
  if (!owner.valid() || table_.size() >= cfg_.table_entities_max) {
    reply.refusal = owner.valid() ? "entity table full" : "no compute node available";
    ++stats_.spawns_refused;
    log_at(rt_.log, LogLevel::kWarn, {cfg_.epoch, tick_, {}}, "spawn for session {} refused: {}", req.session.value, reply.refusal);
    send_to(m.sender, reply);
    return;
  }
  const EntityId entity(next_entity_++);
  const uint32_t team = static_cast<uint32_t>((entity.value - 1) % (cfg_.rules.teams ? cfg_.rules.teams : 1));
  const Vec2 pos = gameplay::World::spawn_point(cfg_.rules, team, rt_.random);
  OwnerRecord rec{owner, 1, m.sender, req.session, EntityState{}};
  rec.snapshot = EntityState{entity, pos, cfg_.rules.hp_max, team, 0, EntityId{}, 1, kEntityKindAvatar, rec.generation};
  table_[entity] = rec;
  ++assigned_[owner];
  ++stats_.spawns;
  OwnershipGrant grant{entity, rec.generation, m.sender, req.session, pos, team, std::nullopt};
  send_to(owner, grant);
  trace(TraceKind::kOwnershipGranted, entity, static_cast<int64_t>(rec.generation), 0, owner);
  reply.entity = entity;
  reply.owner = owner;
  reply.owner_address = nodes_[owner].data_address;
  send_to(m.sender, reply);
}

void Coordinator::handle_session_closed(const ServerMessage& m, const SessionClosed& closed) {
  auto it = table_.find(closed.entity);
  if (it == table_.end() || it->second.gateway != m.sender || it->second.session != closed.session) return;
  const OwnerRecord rec = it->second;
  table_.erase(it);
  if (auto a = assigned_.find(rec.owner); a != assigned_.end() && a->second > 0) --a->second;
  ++stats_.revokes;
  if (rec.owner.valid()) send_to(rec.owner, OwnershipRevoke{closed.entity, rec.generation});
  trace(TraceKind::kOwnershipRevoked, closed.entity, static_cast<int64_t>(rec.generation), 0, rec.owner);
}

SendStatus Coordinator::send_to(NodeId node, ServerBody body) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || it->second.conn == 0) return SendStatus::kClosed;
  const SendStatus s = send_server(rt_.network, it->second.conn, ServerMessage{cfg_.node, Role::kCoordinator, cfg_.epoch, tick_, std::move(body)});
  if (s != SendStatus::kOk) {
    log_at(rt_.log, LogLevel::kWarn, {cfg_.epoch, tick_, {}}, "control message to {} not sent (status {})", node.value, static_cast<int>(s));
  }
  return s;
}

void Coordinator::trace(TraceKind kind, EntityId entity, int64_t a, int64_t b, NodeId peer) {
  record_trace(rt_.trace, kind, cfg_.epoch, tick_, entity, a, b, peer);
}

}  // namespace aether
