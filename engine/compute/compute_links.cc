// The compute node's network side: the coordinator link, subscribers (gateways and other compute
// nodes) on accepted connections, and our own links to the other compute nodes for ghosts.

#include "engine/compute/compute_node.h"
#include <fmt/format.h>

#include "engine/wire/codec.h"

namespace aether {

size_t ComputeNode::peers_connected() const {
  size_t n = 0;
  for (const auto& [id, p] : peers_) n += p.link->connected() ? 1 : 0;
  return n;
}

ServerMessage ComputeNode::envelope(ServerBody body) const {
  return ServerMessage{cfg_.node, Role::kCompute, epoch_, tick_, std::move(body)};
}

ComputeNode::CoordinatorLink* ComputeNode::coordinator_link(ConnId conn) {
  for (auto& c : coordinators_) {
    if (c.link->is(conn)) return &c;
  }
  return nullptr;
}

// A revoke or an eviction from the coordinator on `conn` was applied (whether or not it changed anything).
void ComputeNode::fence_applied(ConnId conn, uint64_t fence) {
  if (CoordinatorLink* c = coordinator_link(conn)) c->fence_applied = std::max(c->fence_applied, fence);
}

// Every kHeartbeatIntervalNs, outside the tick. The coordinator's ack of heartbeat `seq` renews our
// lease from the time we sent it (not the time the ack arrives): the conservative end for safety.
void ComputeNode::send_heartbeat() {
  heartbeat_timer_ = rt_.timers.schedule(kHeartbeatIntervalNs, [this] { send_heartbeat(); });
  Heartbeat hb;
  hb.seq = ++heartbeat_seq_;
  hb.entities = static_cast<uint32_t>(world_.size() + pending_grants_.size());  // what we hold or are about to
  hb.tick_ns_p99 = stats_.tick_ns.percentile(990);
  hb.load_permille = static_cast<uint32_t>(world_.size() * 1000 / (cfg_.capacity_entities ? cfg_.capacity_entities : 1));
  hb.input_queue_depth = static_cast<uint32_t>(input_queue_.depth());
  hb.table_version_seen = table_version_seen_;
  hb.clock_untrusted = !lease_.clock_trusted();
  hb.load_level = static_cast<uint8_t>(governor_.level());
  hb.draining = drain_.has_value();
  if (drain_ && drain_->first_seq == 0) drain_->first_seq = hb.seq;
  const HoldingsDigest held = holdings_digest();
  hb.holdings_digest_count = held.count();
  hb.holdings_digest = held.digest();

  const TimeNs now = rt_.clock.now_ns();
  const TimeNs window = now - load_window_start_ns_;
  if (window > 0) {  // share of the time, in permille of one tick's budget per tick
    auto share = [window](TimeNs spent) { return static_cast<uint32_t>(std::min<TimeNs>(spent * 1000 / window, 1'000'000)); };
    hb.hard_permille = share(hard_ns_);
    hb.soft_permille = share(soft_ns_);
    hb.opportunistic_permille = share(opportunistic_ns_);
  }
  hard_ns_ = soft_ns_ = opportunistic_ns_ = 0;
  load_window_start_ns_ = now;
  // To every coordinator: the leader acks it; the vice keeps its own view of who is alive.
  bool sent = false;
  for_each_coordinator([&](ConnId conn, CoordinatorLink& c) {
    hb.fence_applied = c.fence_applied;
    sent |= send_server(rt_.network, conn, envelope(hb)) == SendStatus::kOk;
  });
  if (!sent) return;
  lease_.sent(hb.seq, rt_.clock.now_ns());
}

// Every ack carries the leader's table version, which our heartbeats echo and our promises report
// (docs/ownership.md, "Orphanings are confirmed by a majority").
void ComputeNode::handle_ack(const ServerMessage& m, const HeartbeatAck& ack) {
  table_version_seen_ = std::max(table_version_seen_, ack.version);
  if (drain_ && drain_->first_seq != 0 && ack.seq >= drain_->first_seq) drain_->leader_knows = true;
  switch (lease_.acked(ack.seq, rt_.clock.now_ns(), ack.leader_clock_ns, m.sender, m.epoch)) {
    case Lease::Change::kNone: break;
    case Lease::Change::kClockUntrusted:
      // Our clock runs slower than the leader's by more than the protocol allows (§2a): a lease
      // measured on it could outlast what the leader waits before re-granting. We write nothing from
      // now on, and our heartbeats say so: the leader gives our entities to others.
      ++stats_.clock_untrusted;
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}},
             "clock untrusted: it runs slower than leader {}'s by more than {} ppm; writing nothing, entities given up", m.sender.value,
             kClockRelativeRatePpmMax);
      trace(TraceKind::kClockUntrusted, EntityId{}, 1, 0, m.sender);
      break;
    case Lease::Change::kClockTrusted:
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "clock trusted again against leader {}", m.sender.value);
      trace(TraceKind::kClockUntrusted, EntityId{}, 0, 0, m.sender);
      break;
  }
}

// The leader has just orphaned these entities and waits for a majority to echo the new version before
// it re-grants them: it gets every state we hold of them first (a ghost, a state taken from us, or our
// own if it thinks we do not hold it), then, at the batch's end, a heartbeat echoing the version at
// once rather than at the next heartbeat. On one connection, the states arrive before the echo.
void ComputeNode::handle_orphan_query(ConnId conn, const OrphanQuery& query) {
  std::vector<EntityState> states;
  for (EntityId id : query.entities) {
    // The newest copy we have: our own, a ghost, a last state, or a handoff waiting for its grant
    // (a released state may live nowhere else).
    std::optional<EntityState> best;
    auto consider = [&best](const EntityState& st) {
      if (!best || newer_than(st, *best)) best = st;
    };
    if (const gameplay::Entity* e = world_.find(id)) consider(world_.state_of(*e));
    if (const Ghost* g = ghosts_.find(id)) consider(g->state);
    if (const LastStates::Kept* gone = last_states_.find(id)) consider(gone->state);
    if (auto h = pending_handoffs_.find(id); h != pending_handoffs_.end()) consider(h->second.handoff.state);
    if (best) states.push_back(*best);
  }
  send_states(conn, states);
  if (query.version == 0 || query.version <= table_version_seen_) return;  // more to come, or nothing new
  table_version_seen_ = query.version;
  if (heartbeat_timer_ != 0) rt_.timers.cancel(heartbeat_timer_);
  send_heartbeat();
}

void ComputeNode::send_states(ConnId conn, const std::vector<EntityState>& states) {
  Snapshot chunk;
  for (const EntityState& st : states) {
    chunk.states.push_back(st);
    if (chunk.states.size() == kBatchEntitiesMax) {
      send_server(rt_.network, conn, envelope(chunk));
      chunk.states.clear();
    }
  }
  if (!chunk.states.empty()) send_server(rt_.network, conn, envelope(chunk));
}

// Every kSnapshotIntervalNs, outside the tick: our entities' full states, from which the coordinator
// recovers them if we are lost.
void ComputeNode::send_snapshots() {
  snapshot_timer_ = rt_.timers.schedule(kSnapshotIntervalNs, [this] { send_snapshots(); });
  // With or without a lease: every heartbeat that renews one must follow a snapshot at most one
  // interval older on its connection (docs/ownership.md §4, "Rollback"), the first after a lapse
  // too. A node whose entities were given away meanwhile sends states of an older generation,
  // which the coordinators ignore.
  const std::vector<Snapshot> chunks = snapshot_chunks();
  for_each_coordinator([&](ConnId conn, CoordinatorLink&) {
    for (const Snapshot& chunk : chunks) send_server(rt_.network, conn, envelope(chunk));
  });
}

std::vector<Snapshot> ComputeNode::snapshot_chunks() const {
  std::vector<Snapshot> chunks(1);
  for (const auto& [id, e] : world_.entities()) {
    if (chunks.back().states.size() == kBatchEntitiesMax) chunks.emplace_back();
    chunks.back().states.push_back(world_.state_of(e));
  }
  if (chunks.back().states.empty()) chunks.clear();
  return chunks;
}

// What we hold, as the leader's table should give it to us: our entities and the migration grants
// waiting for their handoff (the same set a Promise reports).
HoldingsDigest ComputeNode::holdings_digest() const {
  HoldingsDigest d;
  for (const auto& [id, e] : world_.entities()) d.add(id, e.generation);
  for (const auto& [id, pending] : pending_grants_) {
    if (!world_.find(id)) d.add(id, pending.grant.generation);
  }
  return d;
}

// A coordinator asks what we hold (accept_epoch adopted its epoch): a candidate asks for our vote, a
// leader reconciles or audits us. We tell it, and promise to ignore older epochs.
void ComputeNode::handle_prepare(ConnId conn, NodeId from, const Prepare& prepare) {
  // Two candidates may stand for the same epoch: we vote only for the first, or both would reach a
  // majority and lead that epoch. The same coordinator process may ask again (a retry): it gets our
  // holdings again. The same coordinator restarted is another candidate: it forgot what it decided
  // in that epoch, and its fence and table numbers would start over below ours. A leader's question
  // is no vote (the epoch has its leader already): it is always answered.
  if (cfg_.durable_promises && !promise_loaded_) {
    // What we promised before a restart is not known yet: no answer (the coordinator asks again).
    ++stats_.prepares_unanswered;
    return;
  }
  if (!prepare.leader && promised_epoch_ == epoch_ && (promised_to_ != from || promised_to_incarnation_ != prepare.incarnation)) {
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "prepare from coordinator {} (incarnation {:x}) refused: epoch {} already promised to {}",
           from.value, prepare.incarnation, epoch_, promised_to_.value);
    return;
  }
  if (promised_epoch_ != epoch_) {
    promised_epoch_ = epoch_;
    promised_to_ = from;
    promised_to_incarnation_ = prepare.incarnation;
  }
  if (cfg_.durable_promises && promise_synced_epoch_ != promised_epoch_) {
    persist_promise(conn, from, prepare);
    return;
  }
  Promise promise;
  promise.answers = prepare.question;
  promise.previous_epoch = epoch_before_;
  promise.table_version_seen = table_version_seen_;
  promise.logout_saves_owed = saves_.owed();
  for (const auto& [id, e] : world_.entities()) promise.holdings.push_back(Holding{id, e.generation, e.gateway, e.session});
  // Grants waiting for their handoff are ours too: the coordinator must not re-grant them elsewhere.
  for (const auto& [id, pending] : pending_grants_) {
    if (!world_.find(id)) promise.holdings.push_back(Holding{id, pending.grant.generation, pending.grant.gateway, pending.grant.session});
  }
  ++stats_.promises;
  trace(TraceKind::kPromised, EntityId{}, static_cast<int64_t>(epoch_), static_cast<int64_t>(promise.holdings.size()));
  send_server(rt_.network, conn, envelope(std::move(promise)));
  // And their states right behind it: a candidate whose table lacks them (it was behind, or it
  // restarted) must not have to restore them from nothing if we are lost before our next snapshot.
  // Found by the swarm chaos scenario, seed 2: an entity recovered as a blank from a promise.
  for (const Snapshot& chunk : snapshot_chunks()) send_server(rt_.network, conn, envelope(chunk));
  // And the last states of entities taken from us: a candidate whose table is older than the taking
  // recovers them from these, not from what it last knew (a fence, then a flip of leadership).
  std::vector<EntityState> gone;
  for (const auto& [id, kept] : last_states_.kept()) {
    if (kept.why == LastStates::Why::kTaken) gone.push_back(kept.state);
  }
  // And states released to us whose grant has not come: after a takeover it may never come, and the
  // old owner that released it may be cut off, leaving this the freshest copy.
  for (const auto& [id, waiting] : pending_handoffs_) gone.push_back(waiting.handoff.state);
  send_states(conn, gone);
  if (heartbeat_timer_ != 0) rt_.timers.cancel(heartbeat_timer_);
  send_heartbeat();  // under the new epoch, for the new leader to ack as soon as it leads
}

// The coordinator declared us lost and has re-granted everything we owned: drop it all.
void ComputeNode::handle_evicted(const ServerMessage& m) {
  ++stats_.evictions;

  const size_t dropped = world_.size();
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "evicted by coordinator {}: dropping {} entities", m.sender.value, dropped);
  trace(TraceKind::kEvicted, EntityId{}, static_cast<int64_t>(dropped), 0, m.sender);
  std::vector<EntityId> ids;
  for (const auto& [id, e] : world_.entities()) {
    ids.push_back(id);
    last_states_.keep(world_.state_of(e), LastStates::Why::kTaken);
  }
  for (EntityId id : ids) world_.despawn(id);
  input_queue_.clear();
  intent_queue_.clear();
  simulation_queue_.clear();
  // Migrations we were waiting to complete were decided by the same coordinator that has now given
  // everything of ours away: a pending grant materialised later would be a second writer (found by
  // the chaos partition runs: a grant held by a partition, then the eviction, then the fallback).
  pending_grants_.clear();
  for (const auto& [id, waiting] : pending_handoffs_) last_states_.keep(waiting.handoff.state, LastStates::Why::kOwnerLost);
  pending_handoffs_.clear();
  lease_.drop();
}

// Every subscribe_every_ns, outside the tick: the cells around our entities (with hysteresis) are the
// ghosts we need; each peer whose copy of that set is out of date gets the new one.
void ComputeNode::subscribe_peers() {
  const TimeNs started = rt_.clock.now_ns();
  for (ConnId conn : hello_deadlines_.expired(started)) {
    ++stats_.hello_timeouts;  // a budget, not a protocol error: a partition can hold an honest Hello
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "closing connection {}: no Hello within the deadline", conn);
    rt_.network.close(conn);
    on_closed(conn, CloseReason::kLocal);
  }
  std::vector<Vec2> anchors;
  anchors.reserve(world_.size());
  for (const auto& [id, e] : world_.entities()) anchors.push_back(e.pos);
  ghost_interest_.refresh(anchors, cfg_.view_radius_mm, tick_);
  expire_migrations();
  const std::vector<CellKey> cells = ghost_interest_.cells();
  for (auto& [id, peer] : peers_) {
    if (!peer.link->connected() || (peer.subscribed && peer.cells_sent == cells)) continue;
    if (send_server(rt_.network, peer.link->conn(), envelope(Subscribe{cells})) == SendStatus::kOk) {
      peer.cells_sent = cells;
      peer.subscribed = true;
      ++stats_.subscriptions_sent;
      trace(TraceKind::kSubscribeSent, EntityId{}, static_cast<int64_t>(cells.size()), 0, id);
    }
  }
  // Opportunistic: stretched while the node sheds load (load_governor.h).
  subscribe_timer_ = rt_.timers.schedule(cfg_.subscribe_every_ns * static_cast<TimeNs>(governor_.opportunistic_stretch()), [this] { subscribe_peers(); });
  opportunistic_ns_ += rt_.clock.now_ns() - started;
}

void ComputeNode::on_accepted(ConnId conn, std::string_view) {
  if (inbound_.size() >= cfg_.inbound_connections_max) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "refusing connection {}: {} open already", conn, inbound_.size());
    rt_.network.close(conn);
    return;
  }
  inbound_[conn] = NodeId{};
  hello_deadlines_.accepted(conn, rt_.clock.now_ns());
}

void ComputeNode::on_connected(ConnId conn) {
  if (CoordinatorLink* c = coordinator_link(conn); c && c->link->handle_connected(conn)) {
    OutboundLink* link = c->link.get();
    log_at(rt_.log, LogLevel::kInfo, {}, "connected to coordinator at {}", link->address());
    send_server(rt_.network, conn, envelope(Hello{Role::kCompute, data_address_, cfg_.capacity_entities, incarnation_, world_.content().hash()}));
    // Our states first: every heartbeat that renews a lease follows, on its own connection, a
    // snapshot at most one interval older (what bounds a rollback, docs/ownership.md §4). The last
    // snapshot on the old connection may have been lost with it.
    for (const Snapshot& chunk : snapshot_chunks()) send_server(rt_.network, conn, envelope(chunk));
    if (heartbeat_timer_ != 0) rt_.timers.cancel(heartbeat_timer_);
    send_heartbeat();  // the first lease as soon as possible
    return;
  }
  for (auto& [id, peer] : peers_) {
    if (!peer.link->handle_connected(conn)) continue;
    send_server(rt_.network, conn, envelope(Hello{Role::kCompute, data_address_, cfg_.capacity_entities, incarnation_, world_.content().hash()}));
    peer.subscribed = false;  // the peer's feed starts from scratch: subscribe again
    return;
  }
}

void ComputeNode::on_closed(ConnId conn, CloseReason reason) {
  if (CoordinatorLink* c = coordinator_link(conn); c && c->link->handle_closed(conn)) {
    OutboundLink* link = c->link.get();
    log_at(rt_.log, link->failures() == 1 ? LogLevel::kWarn : LogLevel::kDebug, {epoch_, tick_, {}},
           "coordinator connection to {} lost ({}); retrying", link->address(), close_reason_name(reason));
    return;
  }
  for (auto& [id, peer] : peers_) {
    if (!peer.link->handle_closed(conn)) continue;
    forget_ghosts_of(id, GhostDropReason::kOwnerGone);
    return;
  }
  hello_deadlines_.closed(conn);
  auto it = inbound_.find(conn);
  if (it == inbound_.end()) return;
  if (it->second.valid()) {
    auto sub = subscribers_.find(it->second);
    if (sub != subscribers_.end() && sub->second.conn == conn) {
      subscribers_.erase(sub);
      trace(TraceKind::kSubscriberLeft, EntityId{}, 0, 0, it->second);
    }
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "subscriber {} disconnected ({})", it->second.value, close_reason_name(reason));
  }
  inbound_.erase(it);
}

void ComputeNode::on_message(ConnId conn, std::span<const uint8_t> payload) {
  auto decoded = decode_server(payload);
  if (!decoded) {
    drop_connection(conn, decoded.error().message);
    return;
  }
  if (coordinator_link(conn)) {
    handle_coordinator(conn, decoded.value());
    return;
  }
  for (auto& [id, peer] : peers_) {
    if (!peer.link->is(conn)) continue;
    if (decoded->sender != id || decoded->sender_role != Role::kCompute) {
      drop_connection(conn, "peer link answered by another node");
      return;
    }
    handle_peer_reply(id, decoded.value());
    return;
  }
  handle_inbound(conn, decoded.value());
}

void ComputeNode::close_refused(ConnId conn) {
  rt_.network.close(conn);
  on_closed(conn, CloseReason::kLocal);
}

void ComputeNode::drop_connection(ConnId conn, std::string_view why) {
  ++stats_.protocol_errors;
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "closing connection {}: {}", conn, why);
  rt_.network.close(conn);
  on_closed(conn, CloseReason::kLocal);
}

// Control messages carry the coordinator's epoch; one older than ours comes from a deposed
// coordinator and must not be applied (seed section 12).
bool ComputeNode::accept_epoch(const ServerMessage& m) {
  if (m.epoch < epoch_ && cfg_.planted != PlantedBug::kAcceptStaleEpoch) {
    ++stats_.stale_epoch_dropped;
    trace(TraceKind::kStaleEpochDropped, EntityId{}, static_cast<int64_t>(m.epoch), static_cast<int64_t>(epoch_), m.sender);
    return false;
  }
  if (m.epoch > epoch_) {
    epoch_before_ = epoch_;
    epoch_ = m.epoch;
    trace(TraceKind::kEpochChanged, EntityId{}, static_cast<int64_t>(epoch_), 0, m.sender);
  }
  return true;
}

void ComputeNode::handle_coordinator(ConnId conn, const ServerMessage& m) {
  if (m.sender_role != Role::kCoordinator) {
    drop_connection(conn, "coordinator link carries a message from a non-coordinator");
    return;
  }
  if (const NodeId verified = coordinator_link(conn)->link->verified_node(); verified.valid() && m.sender != verified) {
    identity_.refuse(conn, "message on a coordinator link", fmt::format("is signed by node {}, not by its verified identity's node {}",
                                                                        m.sender.value, verified.value));
    close_refused(conn);
    return;
  }
  if (std::holds_alternative<Leadership>(m.body)) {
    if (std::get<Leadership>(m.body).leader) accept_epoch(m);  // a leader's epoch is one to follow
    return;
  }
  // An operator's ghost query, relayed by a coordinator: a read, answered whatever the epoch, and
  // before the epoch fence so that a question never moves our epoch.
  if (const auto* admin = std::get_if<AdminRequest>(&m.body); admin && admin->command == AdminRequest::Command::kGhostQuery) {
    answer_admin(conn, *admin);
    return;
  }
  if (!accept_epoch(m)) return;
  trace(TraceKind::kControlApplied, EntityId{}, static_cast<int64_t>(m.epoch), static_cast<int64_t>(m.body.index()), m.sender);
  if (const auto* prepare = std::get_if<Prepare>(&m.body)) {
    handle_prepare(conn, m.sender, *prepare);
  } else if (const auto* ack = std::get_if<HeartbeatAck>(&m.body)) {
    handle_ack(m, *ack);
  } else if (const auto* query = std::get_if<OrphanQuery>(&m.body)) {
    handle_orphan_query(conn, *query);
  } else if (const auto* g = std::get_if<OwnershipGrant>(&m.body)) {
    handle_grant(m, *g);
  } else if (const auto* evicted = std::get_if<Evicted>(&m.body)) {
    handle_evicted(m);
    fence_applied(conn, evicted->fence);
  } else if (const auto* rel = std::get_if<Release>(&m.body)) {
    handle_release(m, *rel);
  } else if (const auto* admin = std::get_if<AdminRequest>(&m.body); admin && admin->command == AdminRequest::Command::kDebug) {
    set_debug(m.sender, admin->debug);
  } else if (const auto* moved = std::get_if<SessionMoved>(&m.body)) {
    if (gameplay::Entity* e = world_.find(moved->entity)) {  // its client now comes through another gateway
      e->gateway = moved->gateway;
      e->session = moved->session;
    }
  } else if (const auto* r = std::get_if<OwnershipRevoke>(&m.body)) {
    handle_revoke(m, *r);
    fence_applied(conn, r->fence);
  } else if (const auto* mem = std::get_if<Membership>(&m.body)) {
    handle_membership(*mem);
  } else if (const auto* answer = std::get_if<InstanceAnswer>(&m.body)) {
    handle_instance_answer(*answer);  // compute_instances.cc
  }
}

// A state to restore an entity from: `from`, or our own ghost of it if that is newer (fed by the
// previous owner until it was lost or cut off). One rule for recoveries and for migrations whose
// handoff never came (docs/ownership.md §4, "From the freshest state").
EntityState ComputeNode::freshest(const EntityState& from) {
  const Ghost* ghost = ghosts_.find(from.id);
  if (!ghost || !newer_than(ghost->state, from)) return from;
  ++stats_.recovered_from_ghost;
  return ghost->state;
}

void ComputeNode::handle_grant(const ServerMessage& m, const OwnershipGrant& g) {
  if (const gameplay::Entity* existing = world_.find(g.entity)) {
    if (existing->generation >= g.generation) return;  // a duplicate or older grant
    world_.despawn(g.entity);
  }
  if (g.migrate) {
    handle_migration_grant(g);
    return;
  }
  gameplay::Entity* e = nullptr;
  if (g.recover && g.encounter_open) {
    e = &world_.open_encounter(*g.recover, g.generation);  // a new encounter: phase 3 starts it
  } else if (g.recover) {
    // Recovery after the owner was lost: start from the freshest state we can find, our own ghost
    // (fed by the lost owner until it died) or the coordinator's last snapshot.
    ++stats_.recoveries;
    e = &world_.restore(freshest(*g.recover), g.generation);
  } else if (g.npc_spawner != 0) {
    e = world_.spawn_npc(g.entity, g.npc_spawner, g.spawn_pos, g.generation, g.npc_party);
    if (!e) {  // content is checked equal at Hello; a grant naming a spawner we lack is refused
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, g.entity}, "grant of an NPC of unknown spawner {}: ignored", g.npc_spawner);
      return;
    }
  } else {
    e = &world_.spawn(g.entity, g.spawn_pos, g.team, g.generation, g.class_id);
    if (g.save.character.valid()) {  // a character's avatar: what it had
      CharacterSave save = g.save;
      if (cfg_.planted == PlantedBug::kEconomySpawnIgnoresSave) save.loaded = false;  // planted: a new life from nothing
      world_.load_save(*e, save);
    }
  }
  if (ghosts_.contains(g.entity)) forget_ghost(g.entity, GhostDropReason::kNowOurs);  // ours now: the ghost is obsolete
  last_states_.forget(g.entity);
  e->session = g.session;
  e->gateway = g.gateway;
  const bool recovered = g.recover && !g.encounter_open;
  trace(TraceKind::kOwnershipGranted, g.entity, static_cast<int64_t>(g.generation), recovered ? 1 : 0, m.sender);
  trace(TraceKind::kEntitySpawned, g.entity, e->pos.x_mm, e->pos.y_mm);
  log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, g.entity}, "granted, generation {}{}", g.generation, recovered ? " (recovered)" : "");
}

void ComputeNode::handle_revoke(const ServerMessage& m, const OwnershipRevoke& r) {

  // A migration grant still waiting for its handoff is revoked too: left alone, it would
  // materialise (from its snapshot) once the wait ran out, a second writer beside whoever the
  // coordinator re-granted the entity to (chaos-messages seed 31).
  if (auto pending = pending_grants_.find(r.entity); pending != pending_grants_.end() && pending->second.grant.generation <= r.generation) {
    pending_grants_.erase(pending);
    trace(TraceKind::kOwnershipRevoked, r.entity, static_cast<int64_t>(r.generation), 1, m.sender);
  }
  const gameplay::Entity* e = world_.find(r.entity);
  if (!e || e->generation > r.generation) return;
  last_states_.keep(world_.state_of(*e), LastStates::Why::kTaken);
  if (e->character.valid() && cfg_.planted != PlantedBug::kEconomyLogoutWithoutSave) save_at_logout(*e);  // planted: none
  world_.despawn(r.entity);
  trace(TraceKind::kOwnershipRevoked, r.entity, static_cast<int64_t>(r.generation), 0, m.sender);
  trace(TraceKind::kEntityDespawned, r.entity);
}

// The coordinator's list of live compute nodes: keep one outbound link to each other one.
void ComputeNode::handle_membership(const Membership& m) {
  if (!m.regions.empty()) {
    std::vector<RegionMap::Range> ranges;
    ranges.reserve(m.regions.size());
    for (const RegionRange& r : m.regions) ranges.push_back(RegionMap::Range{r.node, r.begin, r.end});
    RegionMap map(cfg_.rules.arena_mm);
    if (map.adopt(ranges)) {
      regions_ = std::move(map);
    } else {
      ++stats_.regions_refused;
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "regions from coordinator do not cover the arena ({} ranges); ignored", ranges.size());
    }
  }
  std::map<NodeId, std::string> wanted;
  for (const PeerInfo& p : m.peers) {
    if (p.node != cfg_.node) wanted.emplace(p.node, p.address);
  }
  for (auto it = peers_.begin(); it != peers_.end();) {
    auto w = wanted.find(it->first);
    if (w != wanted.end() && w->second == it->second.link->address()) {
      ++it;
      continue;
    }
    forget_ghosts_of(it->first, GhostDropReason::kOwnerGone);
    it = peers_.erase(it);  // the link's destructor closes the connection
  }
  for (const auto& [id, address] : wanted) {
    if (peers_.count(id)) continue;
    Peer peer;
    peer.link = std::make_unique<OutboundLink>(rt_, address);
    peer.link->expect(Role::kCompute, id, &identity_);
    peer.link->start();
    peers_.emplace(id, std::move(peer));
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "peer compute node {} at {}", id.value, address);
  }
}

// A message on a connection someone opened to us: a gateway or compute node subscribing, their
// inputs and intents.
void ComputeNode::handle_inbound(ConnId conn, const ServerMessage& m) {
  auto it = inbound_.find(conn);
  if (it == inbound_.end()) return;
  if (std::holds_alternative<AdminRequest>(m.body)) {
    // Operators go through the coordinator's admin listener, which relays ghost queries on the
    // coordinator's own link: nobody may send an admin request to this port.
    const uint64_t n = ++stats_.admin_on_data_port;
    if ((n & (n - 1)) == 0) {
      const std::optional<PeerIdentity> verified = rt_.network.peer_identity(conn);
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "admin request refused on the data port: connection {} (claims {} {}, verified {}); "
             "operators use the coordinator's admin listener ({} refused so far)", conn, role_name(m.sender_role), m.sender.value,
             verified ? peer_identity_name(*verified) : "nothing", n);
    }
    send_server(rt_.network, conn, envelope(AdminReply{false, {"refused: operator commands go to the coordinator's admin listener, not a data port"}}));
    close_refused(conn);
    return;
  }
  if (!it->second.valid()) {
    const auto* hello = std::get_if<Hello>(&m.body);
    if (!hello || hello->role != m.sender_role || (hello->role != Role::kGateway && hello->role != Role::kCompute)) {
      drop_connection(conn, "first message on a data connection must be a gateway or compute Hello");
      return;
    }
    if (!identity_.admits(conn, hello->role, m.sender, "Hello")) {
      close_refused(conn);
      return;
    }
    it->second = m.sender;
    hello_deadlines_.greeted(conn);
    Subscriber& sub = subscribers_[m.sender];
    sub.conn = conn;  // a reconnecting subscriber replaces its older connection
    sub.role = hello->role;
    sub.feed = std::make_unique<InterestFeed>();
    trace(TraceKind::kSubscriberJoined, EntityId{}, static_cast<int64_t>(hello->role), 0, m.sender);
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "{} {} subscribed", role_name(hello->role), m.sender.value);
    return;
  }
  if (m.sender != it->second) {
    drop_connection(conn, "sender changed on an established connection");
    return;
  }
  if (const auto* in = std::get_if<InputForward>(&m.body)) {
    const gameplay::Entity* e = world_.find(in->entity);
    if (!e && forward_if_moved(in->entity, *in)) return;
    // From the gateway holding its session, or forwarded by a compute node after a move.
    if (e && m.sender_role == Role::kGateway && e->gateway != m.sender) {
      reject(stats_.inputs_rejected, "input from a gateway that does not hold the entity's session", m.sender, in->entity);
      return;
    }
    if (!input_queue_.try_push(InputItem{in->entity, in->input})) {
      trace(TraceKind::kQueueRefused, in->entity, 1, static_cast<int64_t>(input_queue_.refused_total()));
    }
  } else if (const auto* sub = std::get_if<Subscribe>(&m.body)) {
    auto s = subscribers_.find(m.sender);
    if (s != subscribers_.end() && s->second.role == Role::kCompute) s->second.feed->set_cells(sub->cells);
  } else if (const auto* h = std::get_if<Handoff>(&m.body)) {
    auto s = subscribers_.find(m.sender);
    if (s != subscribers_.end() && s->second.role == Role::kCompute) {
      trace(TraceKind::kHandoffReceived, h->state.id, static_cast<int64_t>(h->state.generation),
            pending_grants_.count(h->state.id) ? 1 : 0, m.sender);
      handle_handoff(*h);
    }
  } else if (const auto* ri = std::get_if<RemoteIntent>(&m.body)) {
    if (!world_.find(ri->target) && forward_if_moved(ri->target, *ri)) return;
    if (!accept_remote_intent(m.sender, *ri)) return;
    ++stats_.intents_received_remote;
    if (journal_.active()) journal_.note_intent(tick_, *ri);
    if (!intent_queue_.try_push(*ri)) ++stats_.intents_dropped;
  }
}

// A remote intent is checked as we check our own skills (World::act), against what our ghost of
// its source shows: it comes from the compute node that owns its source; the skill is in the bar of
// the source's class; the action is one the skill makes (an amount at most the skill's, with the
// largest damage bonus content allows); the target is within the skill's range (plus its area and
// the distance both may have moved since the ghost was sent); and a source uses a skill no sooner
// than half its cooldown after the last use we accepted (network jitter can bunch two honest uses;
// a flood cannot pass; the several intents of one use share its origin tick). A source our ghost
// shows dead is not refused: the owner's feed and its intents travel on different connections, and
// a skill used in the tick its user died was used honestly. Experience (skill 0) comes from the
// owner of the entity that died, at most what one death gives.
bool ComputeNode::accept_remote_intent(NodeId sender, const RemoteIntent& ri) {
  const gameplay::Entity* target = world_.find(ri.target);
  if (!target) return true;  // not ours (any more): dropped when applied, as before
  const Ghost* source = ghosts_.find(ri.source);
  const gameplay::Content& content = world_.content();
  const gameplay::SkillDef* skill = content.find_skill(ri.skill);
  const gameplay::ClassDef* cls = source ? content.find_class(source->state.class_id) : nullptr;
  const char* why = nullptr;
  LogLevel level = LogLevel::kWarn;  // what no honest node sends
  const int64_t slack = 4 * int64_t{cfg_.rules.speed_mm_per_tick};
  auto use = remote_fired_.find({ri.source, ri.skill});
  const bool experience = std::holds_alternative<intent::Experience>(ri.action);
  const bool loot = std::holds_alternative<intent::Loot>(ri.action);
  const bool turn = std::holds_alternative<intent::EncounterTurn>(ri.action);
  if (!source || source->owner != sender) {
    why = "intent from a node that does not own its source";
    level = LogLevel::kInfo;  // also an honest race: a skill used just before its source moved to another node
  } else if (experience) {
    // A death's award: from the dead entity's owner, at most what one death gives.
    if (!gameplay::experience_fits(content, ri.action)) why = "intent with more experience than a death gives";
  } else if (loot) {
    // A death's loot: from the dead entity's owner, an item the drop table gives.
    if (!gameplay::loot_fits(content, ri.action)) why = "intent with loot the drop table does not give";
  } else if (turn) {
    // A turn's action: from a participant of this encounter (whose turn and which turn, play_turn decides).
    if (!target->is_encounter() || !gameplay::is_seated(target->encounter.st, ri.source)) why = "encounter turn from one not seated in it";
  } else if (!skill || !cls || std::find(cls->skills.begin(), cls->skills.end(), ri.skill) == cls->skills.end()) {
    why = "intent for a skill its source's class does not have";
  } else if (!action_fits(*skill, ri.action)) {
    why = "intent with an action or amount the skill does not give";
  } else if (skill->aim != gameplay::Aim::kSelf &&
             !within_mm(source->state.pos, target->pos, int64_t{skill->range_mm} + skill->radius_mm + slack)) {
    why = "intent from beyond the skill's range";
  } else if (use != remote_fired_.end() && ri.key.tick != use->second.origin_tick && tick_ < use->second.accepted + (skill->cooldown_ticks + 1) / 2) {
    why = "intents from one source faster than the skill's cooldown";
  }
  if (why) {
    reject(stats_.intents_rejected, why, sender, ri.source, level);
    return false;
  }
  if (experience || turn) return true;
  if (use == remote_fired_.end() || use->second.origin_tick != ri.key.tick) remote_fired_[{ri.source, ri.skill}] = RemoteUse{tick_, ri.key.tick};
  return true;
}

// Counted, and logged at the first rejection and then at every power of two (a flood does not
// flood the log; the counter in /metrics has the whole story).
void ComputeNode::reject(uint64_t& counter, const char* what, NodeId sender, EntityId entity, LogLevel level) {
  ++counter;
  if ((counter & (counter - 1)) == 0) {
    log_at(rt_.log, level, {epoch_, tick_, entity}, "rejected: {} (sender {}; {} rejected so far)", what, sender.value, counter);
  }
}

// An operator asks what this node knows of an entity (owner or ghost), relayed by a coordinator:
// `aether admin entity`. The answer goes back on the coordinator's link.
void ComputeNode::answer_admin(ConnId conn, const AdminRequest& req) {
  AdminReply reply{true, {}};
  if (req.command != AdminRequest::Command::kGhostQuery) {
    reply = AdminReply{false, {"compute nodes answer ghost queries only"}};
  } else if (const gameplay::Entity* e = world_.find(req.entity)) {
    reply.lines.push_back(fmt::format("compute {} owns it: generation {} version {} at ({}, {}) mm hp {}{}", cfg_.node.value, e->generation,
                                      e->version, e->pos.x_mm, e->pos.y_mm, e->hp, lease_valid() ? "" : " (lease lapsed: frozen)"));
    reply.lines.push_back(feeds_line(req.entity));
    // The inspector reads every second: from this question on, its inputs and intents are kept.
    journal_.watch(req.entity, tick_);
    const EntityJournal::Record* rec = journal_.find(req.entity);
    if (rec->inputs.empty() && rec->intents.empty()) {
      reply.lines.push_back(fmt::format("compute {} records its last {} inputs and {} intents for {} s from each question", cfg_.node.value,
                                        kJournalInputsMax, kJournalIntentsMax, kJournalWatchTicks / kTickHz));
    }
    for (const EntityJournal::Input& in : rec->inputs) {
      reply.lines.push_back(fmt::format("compute {} input at tick {}: seq {} move ({}, {}) permille target {} skill slot {}", cfg_.node.value, in.tick,
                                        in.input.seq, in.input.move_x, in.input.move_y, in.input.target.value, in.input.skill));
    }
    for (const EntityJournal::Intent& in : rec->intents) {
      reply.lines.push_back(fmt::format("compute {} intent at tick {}: {} -> {} skill {} {} {}", cfg_.node.value, in.tick, in.intent.source.value,
                                        in.intent.target.value, in.intent.skill, intent_action_name(in.intent.action),
                                        intent_action_value(in.intent.action)));
    }
  } else if (const Ghost* g = ghosts_.find(req.entity)) {
    reply.lines.push_back(fmt::format("compute {} holds a ghost from owner {}: version {} at ({}, {}) mm", cfg_.node.value,
                                      g->owner.value, g->state.version, g->state.pos.x_mm, g->state.pos.y_mm));
    reply.lines.push_back(feeds_line(req.entity));
  } else {
    reply.ok = false;
    reply.lines.push_back(fmt::format("compute {} neither owns nor ghosts it", cfg_.node.value));
  }
  send_server(rt_.network, conn, envelope(std::move(reply)));
}

// Who receives `id` from us: the subscribers (gateways, other compute nodes' ghosts) whose feed holds it.
std::string ComputeNode::feeds_line(EntityId id) const {
  std::string who;
  for (const auto& [node, sub] : subscribers_) {
    if (sub.feed && sub.feed->holds(id)) who += fmt::format("{}{} {}", who.empty() ? "" : ", ", role_name(sub.role), node.value);
  }
  return fmt::format("compute {} feeds it to {}", cfg_.node.value, who.empty() ? "no subscriber" : who);
}

void ComputeNode::handle_peer_reply(NodeId peer, const ServerMessage& m) {
  if (const auto* batch = std::get_if<DeltaBatch>(&m.body)) apply_ghosts(peer, *batch);
}

// Ghosts are read-only copies; the owner's feed is the only thing that changes them.
void ComputeNode::apply_ghosts(NodeId owner, const DeltaBatch& batch) {
  if (batch.reset) forget_ghosts_of(owner, GhostDropReason::kFeedReset);
  for (const EntityState& st : batch.states) {
    if (world_.find(st.id)) continue;  // we own it (a stale feed): our copy is the truth
    Ghost* g = ghosts_.find(st.id);
    if (!g) {
      g = ghosts_.add(st.id, owner);
      if (!g) {
        ++stats_.ghosts_refused;
        continue;
      }
      g->state = st;
      last_states_.forget(st.id);
      trace(TraceKind::kGhostAdded, st.id, static_cast<int64_t>(st.generation), static_cast<int64_t>(st.version), owner);
    } else if (g->owner == owner || newer_than(st, g->state)) {
      if (g->owner != owner) {  // the entity moved: its ghost now comes from the new owner
        trace(TraceKind::kGhostAdded, st.id, static_cast<int64_t>(st.generation), static_cast<int64_t>(st.version), owner);
      }
      g->state = st;  // in place: a state is some 550 bytes, copied once per ghost per tick
      g->owner = owner;
    }
  }
  for (EntityId id : batch.removed) {
    const Ghost* g = ghosts_.find(id);
    if (g && g->owner == owner) forget_ghost(id, GhostDropReason::kLeftInterest);
  }
}

void ComputeNode::forget_ghosts_of(NodeId owner, GhostDropReason why) {
  ghosts_.ids_of(owner, ghost_ids_scratch_);
  for (EntityId id : ghost_ids_scratch_) {
    const Ghost* g = ghosts_.find(id);
    trace(TraceKind::kGhostDropped, id, static_cast<int64_t>(why), 0, owner);
    if (why == GhostDropReason::kOwnerGone) last_states_.keep(g->state, LastStates::Why::kOwnerLost);
    ghosts_.erase(id);
  }
}

void ComputeNode::forget_ghost(EntityId id, GhostDropReason why) {
  const Ghost* g = ghosts_.find(id);
  if (!g) return;
  trace(TraceKind::kGhostDropped, id, static_cast<int64_t>(why), 0, g->owner);
  ghosts_.erase(id);
}

}  // namespace aether
