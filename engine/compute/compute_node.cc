#include "engine/compute/compute_node.h"

#include "engine/wire/codec.h"

namespace aether {

const char* tick_phase_name(TickPhase phase) {
  switch (phase) {
    case TickPhase::kDrainInputs: return "drain-inputs";
    case TickPhase::kGenerateIntents: return "generate-intents";
    case TickPhase::kSimulate: return "simulate";
    case TickPhase::kConsumeIntents: return "consume-intents";
    case TickPhase::kProduceDeltas: return "produce-deltas";
    case TickPhase::kFlushOutput: return "flush-output";
  }
  return "unknown";
}

ComputeNode::ComputeNode(Runtime& rt, ComputeConfig config)
    : rt_(rt),
      cfg_(std::move(config)),
      world_(cfg_.rules),
      grid_(cfg_.view_radius_mm),
      input_queue_(cfg_.input_queue_max),
      intent_queue_(cfg_.intent_queue_max),
      simulation_queue_(cfg_.simulation_queue_max),
      output_queue_(cfg_.output_queue_max),
      coordinator_(rt, cfg_.coordinator_address) {
  AETHER_ASSERT(cfg_.node.valid());
  AETHER_ASSERT(cfg_.view_radius_mm > 0);
  rt_.network.set_handler(this);
}

ComputeNode::~ComputeNode() {
  if (tick_timer_ != 0) rt_.timers.cancel(tick_timer_);
}

void ComputeNode::start() {
  data_address_ = listen_logged(rt_, cfg_.listen_address);
  if (data_address_.empty()) return;
  log_at(rt_.log, LogLevel::kInfo, {}, "compute node listening on {}", data_address_);
  coordinator_.start();
  first_tick_at_ = rt_.clock.now_ns() + kTickNs;
  schedule_tick();
}

// Ticks are pinned to a fixed grid (first_tick_at_ + k * 100 ms), so they do not drift; a tick that
// overruns its budget makes the next one start late, never twice.
void ComputeNode::schedule_tick() {
  const TimeNs now = rt_.clock.now_ns();
  TimeNs next = first_tick_at_ + static_cast<TimeNs>(tick_) * kTickNs;
  if (next < now) {
    ++stats_.tick_overruns;
    next = now;
  }
  tick_timer_ = rt_.timers.schedule(next - now, [this] {
    tick_timer_ = 0;
    run_tick();
    schedule_tick();
  });
}

void ComputeNode::run_tick() {
  const TimeNs started = rt_.clock.now_ns();
  ++tick_;
  drain_inputs();
  generate_intents();
  simulate();
  consume_intents();
  produce_deltas();
  flush_output();
  const TimeNs took = rt_.clock.now_ns() - started;
  ++stats_.ticks;
  stats_.tick_ns.record(took);
  trace(TraceKind::kTickDone, EntityId{}, static_cast<int64_t>(world_.size()), took);
  if (tick_ % cfg_.heartbeat_every_ticks == 0) send_heartbeat();
}

void ComputeNode::enter(TickPhase phase) {
  if (phase_observer_) phase_observer_(phase, tick_);
}

// Phase 1: every input that arrived since the last tick, in arrival order.
void ComputeNode::drain_inputs() {
  enter(TickPhase::kDrainInputs);
  const size_t n = input_queue_.depth();  // inputs arriving during the tick wait for the next one
  for (size_t i = 0; i < n; ++i) {
    InputItem item = *input_queue_.pop();
    switch (world_.apply_input(item.entity, item.input)) {
      case gameplay::ApplyResult::kApplied: ++stats_.inputs_applied; break;
      case gameplay::ApplyResult::kUnknownEntity: ++stats_.inputs_unknown_entity; break;
      case gameplay::ApplyResult::kStale: ++stats_.inputs_stale; break;
      case gameplay::ApplyResult::kDead: break;
    }
  }
}

// Phase 2: turn requests into intents. An intent names the entity it acts on; only that entity's
// owner applies it (phase 4), which keeps one writer per entity.
void ComputeNode::generate_intents() {
  enter(TickPhase::kGenerateIntents);
  for (auto& [id, e] : world_.mutable_entities()) {
    auto intent = world_.intent_to_fire(e, tick_);
    if (intent && !intent_queue_.try_push(*intent)) ++stats_.intents_dropped;
  }
}

// Phase 3: internal jobs that are due, then movement.
void ComputeNode::simulate() {
  enter(TickPhase::kSimulate);
  while (!simulation_queue_.empty() && simulation_queue_.front().due_tick <= tick_) {
    const gameplay::SimJob job = *simulation_queue_.pop();
    gameplay::Entity* e = world_.find(job.entity);
    if (job.kind == gameplay::SimJob::Kind::kRespawn && e && e->dead) {
      world_.respawn(*e, rt_.random);
      trace(TraceKind::kEntityRespawned, e->id, e->pos.x_mm, e->pos.y_mm);
    }
  }
  for (auto& [id, e] : world_.mutable_entities()) world_.move(e);
}

// Phase 4: apply the intents aimed at entities we own.
void ComputeNode::consume_intents() {
  enter(TickPhase::kConsumeIntents);
  while (auto intent = intent_queue_.pop()) {
    gameplay::Entity* target = world_.find(intent->target);
    if (!target) {
      ++stats_.intents_dropped;  // target despawned, or (cluster work) owned elsewhere
      continue;
    }
    ++stats_.intents_applied;
    const bool died = world_.apply_damage(*target, intent->amount);
    trace(TraceKind::kEntityDamaged, target->id, intent->amount, target->hp);
    if (!died) continue;
    ++stats_.deaths;
    trace(TraceKind::kEntityDied, target->id, static_cast<int64_t>(intent->source.value));
    gameplay::SimJob job{gameplay::SimJob::Kind::kRespawn, target->id, tick_ + cfg_.rules.respawn_ticks};
    if (!simulation_queue_.try_push(job)) {
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, target->id}, "simulation queue full: respawn job dropped");
    }
  }
}

// Phase 5: one batch per subscribed gateway, into the OutputQueue.
void ComputeNode::produce_deltas() {
  enter(TickPhase::kProduceDeltas);
  grid_.clear();
  std::map<NodeId, std::vector<Vec2>> anchors;
  for (const auto& [id, e] : world_.entities()) {
    grid_.add(id, e.pos);
    if (e.gateway.valid()) anchors[e.gateway].push_back(e.pos);
  }
  grid_.finish();
  static const std::vector<Vec2> kNone;
  for (auto& [gateway, peer] : gateways_) {
    auto it = anchors.find(gateway);
    DeltaBatch batch = peer.feed->build(world_, grid_, it == anchors.end() ? kNone : it->second, tick_);
    OutputItem item{peer.conn, gateway, encode(envelope(std::move(batch)))};
    if (!output_queue_.try_push(std::move(item))) {
      peer.feed->mark_reset();
      ++stats_.feed_resets;
    }
  }
}

// Phase 6: hand the batches to the network. A batch the network refuses is not retried: the feed
// restarts with a reset next tick, which carries everything the lost batch did.
void ComputeNode::flush_output() {
  enter(TickPhase::kFlushOutput);
  while (auto item = output_queue_.pop()) {
    const SendStatus s = rt_.network.send(item->conn, item->bytes);
    if (s == SendStatus::kOk) {
      stats_.delta_bytes_sent += item->bytes.size();
      continue;
    }
    auto it = gateways_.find(item->gateway);
    if (it != gateways_.end()) {
      it->second.feed->mark_reset();
      ++stats_.feed_resets;
    }
  }
}

ServerMessage ComputeNode::envelope(ServerBody body) const {
  return ServerMessage{cfg_.node, Role::kCompute, epoch_, tick_, std::move(body)};
}

void ComputeNode::send_hello() {
  send_server(rt_.network, coordinator_.conn(), envelope(Hello{Role::kCompute, data_address_, cfg_.capacity_entities}));
}

void ComputeNode::send_heartbeat() {
  if (!coordinator_.connected()) return;
  Heartbeat hb;
  hb.entities = static_cast<uint32_t>(world_.size());
  hb.tick_ns_p99 = stats_.tick_ns.percentile(990);
  hb.load_permille = static_cast<uint32_t>(world_.size() * 1000 / (cfg_.capacity_entities ? cfg_.capacity_entities : 1));
  hb.input_queue_depth = static_cast<uint32_t>(input_queue_.depth());
  send_server(rt_.network, coordinator_.conn(), envelope(hb));
}

void ComputeNode::on_accepted(ConnId conn, std::string_view) {
  if (inbound_.size() >= cfg_.inbound_connections_max) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "refusing connection {}: {} open already", conn, inbound_.size());
    rt_.network.close(conn);
    return;
  }
  inbound_[conn] = NodeId{};
}

void ComputeNode::on_connected(ConnId conn) {
  if (coordinator_.handle_connected(conn)) {
    log_at(rt_.log, LogLevel::kInfo, {}, "connected to coordinator at {}", coordinator_.address());
    send_hello();
  }
}

void ComputeNode::on_closed(ConnId conn, CloseReason reason) {
  if (coordinator_.handle_closed(conn)) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "coordinator connection lost ({}); retrying", close_reason_name(reason));
    return;
  }
  auto it = inbound_.find(conn);
  if (it == inbound_.end()) return;
  if (it->second.valid()) {
    auto g = gateways_.find(it->second);
    if (g != gateways_.end() && g->second.conn == conn) gateways_.erase(g);
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "gateway {} disconnected ({})", it->second.value, close_reason_name(reason));
  }
  inbound_.erase(it);
}

void ComputeNode::on_message(ConnId conn, std::span<const uint8_t> payload) {
  auto decoded = decode_server(payload);
  if (!decoded) {
    drop_connection(conn, decoded.error().message);
    return;
  }
  if (coordinator_.is(conn)) {
    handle_coordinator(decoded.value());
  } else {
    handle_peer(conn, decoded.value());
  }
}

void ComputeNode::drop_connection(ConnId conn, std::string_view why) {
  ++stats_.protocol_errors;
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "closing connection {}: {}", conn, why);
  rt_.network.close(conn);
  if (coordinator_.handle_closed(conn)) return;
  on_closed(conn, CloseReason::kLocal);
}

// Control messages carry the coordinator's epoch; one older than ours comes from a deposed
// coordinator and must not be applied (seed section 12).
bool ComputeNode::accept_epoch(const ServerMessage& m) {
  if (m.epoch < epoch_) {
    ++stats_.stale_epoch_dropped;
    trace(TraceKind::kStaleEpochDropped, EntityId{}, static_cast<int64_t>(m.epoch), static_cast<int64_t>(epoch_), m.sender);
    return false;
  }
  if (m.epoch > epoch_) {
    epoch_ = m.epoch;
    trace(TraceKind::kEpochChanged, EntityId{}, static_cast<int64_t>(epoch_), 0, m.sender);
  }
  return true;
}

void ComputeNode::handle_coordinator(const ServerMessage& m) {
  if (m.sender_role != Role::kCoordinator) {
    drop_connection(coordinator_.conn(), "coordinator link carries a message from a non-coordinator");
    return;
  }
  if (!accept_epoch(m)) return;
  if (const auto* g = std::get_if<OwnershipGrant>(&m.body)) {
    handle_grant(m, *g);
  } else if (const auto* r = std::get_if<OwnershipRevoke>(&m.body)) {
    handle_revoke(m, *r);
  } else {
    log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, {}}, "ignoring unexpected message from coordinator");
  }
}

void ComputeNode::handle_grant(const ServerMessage& m, const OwnershipGrant& g) {
  if (const gameplay::Entity* existing = world_.find(g.entity)) {
    if (existing->generation >= g.generation) return;  // a duplicate or older grant
    world_.despawn(g.entity);
  }
  gameplay::Entity& e = world_.spawn(g.entity, g.spawn_pos, g.team, g.generation);
  e.session = g.session;
  e.gateway = g.gateway;
  trace(TraceKind::kOwnershipGranted, g.entity, static_cast<int64_t>(g.generation), 0, m.sender);
  trace(TraceKind::kEntitySpawned, g.entity, g.spawn_pos.x_mm, g.spawn_pos.y_mm);
  log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, g.entity}, "granted, generation {}", g.generation);
}

void ComputeNode::handle_revoke(const ServerMessage& m, const OwnershipRevoke& r) {
  const gameplay::Entity* e = world_.find(r.entity);
  if (!e || e->generation > r.generation) return;
  world_.despawn(r.entity);
  trace(TraceKind::kOwnershipRevoked, r.entity, static_cast<int64_t>(r.generation), 0, m.sender);
  trace(TraceKind::kEntityDespawned, r.entity);
}

void ComputeNode::handle_peer(ConnId conn, const ServerMessage& m) {
  auto it = inbound_.find(conn);
  if (it == inbound_.end()) return;
  if (!it->second.valid()) {
    const auto* hello = std::get_if<Hello>(&m.body);
    if (!hello || m.sender_role != Role::kGateway || hello->role != Role::kGateway) {
      drop_connection(conn, "first message on a data connection must be a gateway Hello");
      return;
    }
    it->second = m.sender;
    GatewayPeer& peer = gateways_[m.sender];
    peer.conn = conn;  // a reconnecting gateway replaces its older connection
    peer.feed = std::make_unique<GatewayFeed>();
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "gateway {} subscribed", m.sender.value);
    return;
  }
  if (m.sender != it->second) {
    drop_connection(conn, "sender changed on an established connection");
    return;
  }
  if (const auto* in = std::get_if<InputForward>(&m.body)) {
    if (!input_queue_.try_push(InputItem{in->entity, in->input})) {
      trace(TraceKind::kQueueRefused, in->entity, 1, static_cast<int64_t>(input_queue_.refused_total()));
    }
  }
}

void ComputeNode::trace(TraceKind kind, EntityId entity, int64_t a, int64_t b, NodeId peer) {
  record_trace(rt_.trace, kind, epoch_, tick_, entity, a, b, peer);
}

}  // namespace aether
