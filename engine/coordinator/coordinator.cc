// The coordinator's peers, spawns and sessions. Authority (leases, loss, recovery) is in
// coordinator_authority.cc; replication and failover in coordinator_failover.cc.

#include "engine/coordinator/coordinator.h"

#include "engine/gameplay/world.h"
#include "engine/wire/codec.h"

namespace aether {

const char* coordinator_role_name(CoordinatorRole role) {
  switch (role) {
    case CoordinatorRole::kLeader: return "leader";
    case CoordinatorRole::kFollower: return "vice";
    case CoordinatorRole::kCandidate: return "candidate";
  }
  return "unknown";
}

Coordinator::Coordinator(Runtime& rt, CoordinatorConfig config)
    : rt_(rt),
      cfg_(std::move(config)),
      identity_(rt, cfg_.identity_required),
      content_(gameplay::content_of(cfg_.rules)),
      content_hash_(content_->hash()),
      regions_(cfg_.rules.arena_mm),
      gateway_routes_(cfg_.rules.arena_mm),
      peer_(rt, cfg_.peer_address) {
  AETHER_ASSERT(cfg_.node.valid());
  peer_.expect(Role::kCoordinator, cfg_.peer_node, &identity_);
  AETHER_ASSERT(cfg_.epoch > 0 && cfg_.epoch < kEpochAdmin);
  rt_.network.set_handler(this);
}

Coordinator::~Coordinator() {
  if (watch_timer_ != 0) rt_.timers.cancel(watch_timer_);
  if (candidacy_timer_ != 0) rt_.timers.cancel(candidacy_timer_);
  for (const auto& [id, q] : ghost_queries_) {
    if (q.deadline != 0) rt_.timers.cancel(q.deadline);
  }
}

void Coordinator::start() {
  address_ = listen_logged(rt_, cfg_.listen_address);
  if (address_.empty()) return;
  epoch_ = cfg_.epoch;
  incarnation_ = rt_.random.next_u64() | 1;  // never 0: what a Prepare from an older binary carries
  role_ = cfg_.start_as_leader ? CoordinatorRole::kLeader : CoordinatorRole::kFollower;
  if (cfg_.start_as_leader) {
    knows_membership_ = true;
    table_epoch_ = epoch_;
    version_ = static_cast<uint64_t>(epoch_) << 32;
  }
  heard_leader();
  log_at(rt_.log, LogLevel::kInfo, {epoch_, 0, {}}, "coordinator starting as {} at epoch {} on {}", coordinator_role_name(role_), epoch_,
         address_);
  if (leading()) trace(TraceKind::kLeaderElected, EntityId{}, static_cast<int64_t>(epoch_));
  if (!cfg_.peer_address.empty()) peer_.start();
  watch_timer_ = rt_.timers.schedule(kTickNs, [this] { watch(); });
}

void Coordinator::connect_peer(const std::string& address) {
  if (address == cfg_.peer_address && !address_.empty()) return;  // already dialling it: a restart would cut a handshake short
  peer_.stop();
  peer_.retarget(address);
  cfg_.peer_address = address;
  peer_.start();
}

// Every 100 ms, by role.
void Coordinator::watch() {
  ++tick_;
  watch_timer_ = rt_.timers.schedule(kTickNs, [this] { watch(); });
  for (ConnId conn : hello_deadlines_.expired(rt_.clock.now_ns())) {
    ++stats_.hello_timeouts;  // a budget, not a protocol error: a partition can hold an honest Hello
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "closing connection {}: no Hello within the deadline", conn);
    rt_.network.close(conn);
    on_closed(conn, CloseReason::kLocal);
  }
  if (leading()) {
    watch_nodes();
    regrant_orphans();
    if (tick_ % kTickHz == 0) sweep_detached();
    if (tick_ % kTickHz == 0) place_npcs();
    if (tick_ % kTickHz == 0) tend_instances();  // coordinator_instances.cc
    if (tick_ % kTickHz == kTickHz / 2) {
      const RegionMap::Counts counts = entity_counts();
      balance(counts);
      route_gateways(counts);
    }
    storm();
    expire_migrations();
    replicate();
  } else {
    watch_leader();
    if (tick_ % 5 == 0) probe_leader_clock();
  }
}

void Coordinator::on_accepted(ConnId conn, std::string_view) {
  if (conns_.size() >= cfg_.peers_max) {
    log_at(rt_.log, LogLevel::kWarn, {}, "refusing connection {}: {} peers already", conn, conns_.size());
    rt_.network.close(conn);
    return;
  }
  conns_[conn] = NodeId{};
  hello_deadlines_.accepted(conn, rt_.clock.now_ns());
}

void Coordinator::on_connected(ConnId conn) {
  if (peer_.handle_connected(conn)) send_on(conn, Hello{Role::kCoordinator, address_, 0});
}

void Coordinator::on_closed(ConnId conn, CloseReason reason) {
  if (peer_.handle_closed(conn)) return;
  followers_.erase(conn);
  hello_deadlines_.closed(conn);
  if (ghosts_asked_.erase(conn) != 0) {  // its answers will not come: finish what waited only on it
    std::vector<uint64_t> finished;
    for (auto& [id, q] : ghost_queries_) {
      if (q.waiting.erase(conn) != 0 && q.waiting.empty()) finished.push_back(id);
    }
    for (uint64_t id : finished) finish_ghost_query(id);
  }
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  const NodeId node = it->second;
  conns_.erase(it);
  if (!node.valid()) return;
  auto rec = nodes_.find(node);
  if (rec == nodes_.end() || rec->second.conn != conn) return;
  rec->second.conn = 0;  // a compute node is declared lost only by heartbeat timeout, never by this
  if (rec->second.role == Role::kGateway) detach_gateway(node);
  log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "{} {} disconnected ({})", role_name(rec->second.role), node.value,
         close_reason_name(reason));
}

void Coordinator::on_message(ConnId conn, std::span<const uint8_t> payload) {
  auto decoded = decode_server(payload);
  if (!decoded) {
    drop_connection(conn, decoded.error().message);
    return;
  }
  dispatch(conn, decoded.value());
}

void Coordinator::drop_connection(ConnId conn, std::string_view why) {
  ++stats_.protocol_errors;
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "closing connection {}: {}", conn, why);
  rt_.network.close(conn);
  on_closed(conn, CloseReason::kLocal);
}

void Coordinator::close_refused(ConnId conn) {
  rt_.network.close(conn);
  on_closed(conn, CloseReason::kLocal);
}

void Coordinator::dispatch(ConnId conn, const ServerMessage& m) {
  if (peer_.is(conn)) {  // our own link to the other coordinator: it replicates to us when it leads
    if (m.sender_role != Role::kCoordinator) return drop_connection(conn, "peer link answered by a non-coordinator");
    if (peer_.verified_node().valid() && m.sender != peer_.verified_node()) {
      identity_.refuse(conn, "message on the peer link", fmt::format("is signed by node {}, not by its verified identity's node {}",
                                                                     m.sender.value, peer_.verified_node().value));
      return close_refused(conn);
    }
    if (!observe_epoch(m)) return;
    if (const auto* r = std::get_if<Replicate>(&m.body)) {
      if (role_ != CoordinatorRole::kLeader && m.epoch == epoch_) apply_replica(*r);
    } else if (const auto* probe = std::get_if<ClockProbe>(&m.body)) {
      handle_clock_probe(conn, *probe);
    }
    return;
  }
  auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  if (std::holds_alternative<AdminRequest>(m.body)) return refuse_admin_on_data_port(conn, m);
  if (const auto* hello = std::get_if<Hello>(&m.body)) return handle_hello(conn, m, *hello);
  if (it->second != m.sender) return drop_connection(conn, "message before Hello, or sender changed on an established connection");
  if (const auto* probe = std::get_if<ClockProbe>(&m.body)) return handle_clock_probe(conn, *probe);
  if (const auto* answer = std::get_if<AdminReply>(&m.body)) return handle_ghost_reply(conn, m.sender, *answer);
  if (!observe_epoch(m)) return;
  NodeRecord& rec = nodes_[m.sender];
  rec.last_heard_ns = rt_.clock.now_ns();
  rec.last_heard_tick = tick_;
  if (const auto* hb = std::get_if<Heartbeat>(&m.body)) {
    handle_heartbeat(m.sender, rec, m.epoch, *hb);
  } else if (const auto* snap = std::get_if<Snapshot>(&m.body)) {
    handle_snapshot(m.sender, *snap);
  } else if (const auto* ack = std::get_if<ReplicaAck>(&m.body)) {
    auto follower = followers_.find(conn);
    if (!leading() || rec.role != Role::kCoordinator || follower == followers_.end()) return;
    // A batch number from the future is a peer's lie or a bug: never taken as witness.
    if (ack->batch > follower->second.acked_batch && ack->batch <= witness_.closed()) {
      follower->second.acked_batch = ack->batch;
      uint64_t acked = ack->batch;
      for (const auto& [c, f] : followers_) acked = std::min(acked, f.acked_batch);
      send_witnessed(witness_.acknowledged(acked));
    }
    if (ack->version > vice_acked_version_) {
      vice_acked_version_ = ack->version;
      regrant_orphans();
    }
  } else if (const auto* promise = std::get_if<Promise>(&m.body)) {
    if (m.epoch == epoch_) handle_promise(m.sender, *promise);
  } else if (const auto* saved = std::get_if<LogoutSaved>(&m.body)) {
    // A candidate settles too: a save owed in a node's Promise may land before the election ends.
    if (rec.role == Role::kCompute && role_ != CoordinatorRole::kFollower) logout_waits_.settled(saved->character, saved->life, m.sender);
  } else if (const auto* released = std::get_if<Released>(&m.body); released && !leading()) {
    // Not ours to complete, but the freshest state there is: a vice keeps it as the owner's latest
    // snapshot, for the recovery it may have to make if the leader falls before the grant.
    Snapshot latest;
    latest.states.push_back(released->state);
    handle_snapshot(m.sender, latest);
  } else if (!leading()) {
    return;  // spawns and sessions are the leader's business; the gateway asks again when it knows
  } else if (const auto* req = std::get_if<SpawnRequest>(&m.body)) {
    handle_spawn(m, *req);
  } else if (const auto* er = std::get_if<EncounterRequest>(&m.body)) {
    handle_encounter_request(m, *er);  // coordinator_encounters.cc
  } else if (const auto* ir = std::get_if<InstanceRequest>(&m.body)) {
    handle_instance_request(m, *ir);  // coordinator_instances.cc
  } else if (const auto* closed = std::get_if<SessionClosed>(&m.body)) {
    handle_session_closed(m, *closed);
  } else if (const auto* released = std::get_if<Released>(&m.body)) {
    handle_released(m.sender, *released);
  }
}

void Coordinator::handle_hello(ConnId conn, const ServerMessage& m, const Hello& hello) {
  if (hello.role != m.sender_role || hello.role == Role::kClient || hello.role == Role::kNone) {
    return drop_connection(conn, "Hello from a role that does not register with the coordinator");
  }
  if (hello.role == Role::kCompute && hello.data_address.empty()) return drop_connection(conn, "compute Hello without a data address");
  if (!identity_.admits(conn, hello.role, m.sender, "Hello")) return close_refused(conn);
  // Every compute node runs the same game: one with other content would apply other rules to the
  // entities it owns and refuse its neighbours' honest intents.
  if (hello.role == Role::kCompute && hello.content_hash != content_hash_) {
    ++stats_.content_mismatches;
    return drop_connection(conn, fmt::format("compute {} runs other content (hash {:016x}, ours {:016x}): refused", m.sender.value,
                                             hello.content_hash, content_hash_));
  }
  auto existing = nodes_.find(m.sender);
  if (existing != nodes_.end() && existing->second.role != Role::kNone && existing->second.role != hello.role) {
    return drop_connection(conn, "node id already registered with another role");
  }
  const bool was_lost = existing != nodes_.end() && existing->second.lost;
  const bool existing_known = existing != nodes_.end() && existing->second.role == hello.role;
  if (hello.role == Role::kGateway && existing != nodes_.end() && existing->second.incarnation != hello.incarnation) {
    detach_gateway(m.sender);  // a restarted gateway: its old sessions are gone
  }
  if (hello.role == Role::kCompute && existing != nodes_.end() && !was_lost && existing->second.incarnation != 0 &&
      existing->second.incarnation != hello.incarnation) {
    orphan_restarted(m.sender, existing->second.last_heard_ns);  // before last_heard_ns moves on
  }
  conns_[conn] = m.sender;
  hello_deadlines_.greeted(conn);
  NodeRecord& rec = nodes_[m.sender];
  if (rec.incarnation != hello.incarnation) {
    rec.fences.clear();  // a new process: it holds nothing we fenced
    if (rec.drain == NodeRecord::Drain::kSelf) rec.drain = NodeRecord::Drain::kNone;  // and it is not stopping
  }
  rec.role = hello.role;
  rec.conn = conn;
  rec.data_address = hello.data_address;
  rec.capacity_entities = hello.capacity_entities;
  rec.incarnation = hello.incarnation;
  rec.question = HoldingsQuestion{};  // an answer would have come on the old connection: ask again
  rec.audited_ns = 0;
  // A process that never followed any epoch holds nothing: it is a member of ours as it stands.
  if (m.epoch == 0) rec.member_epoch = epoch_;
  rec.last_heard_ns = rt_.clock.now_ns();
  rec.last_heard_tick = tick_;
  trace(TraceKind::kNodeRegistered, EntityId{}, static_cast<int64_t>(hello.role), 0, m.sender);
  log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "{} {} registered{}{}", role_name(hello.role), m.sender.value,
         hello.data_address.empty() ? "" : " at ", hello.data_address);
  send_on(conn, Leadership{leading()});
  if (hello.role == Role::kGateway && leading() && !gateway_routes_.ranges().empty()) send_on(conn, gateway_routes_message());
  if (hello.role != Role::kCoordinator && leading() && (!debug_entities_.empty() || !debug_nodes_.empty())) {
    send_on(conn, AdminRequest{AdminRequest::Command::kDebug, {}, {}, debug_targets()});
  }
  if (hello.role == Role::kCoordinator) {
    if (leading() && replicates_to(m.sender)) {
      followers_[conn] = Follower{};
      send_full_replica(conn);
    } else if (leading()) {
      identity_.refuse(conn, "Hello", fmt::format("names coordinator {}, not our configured peer: nothing is replicated to it", m.sender.value));
    }
    return;
  }
  if (hello.role != Role::kCompute) return;
  if (cfg_.compute_nodes != 0 && compute_members() > cfg_.compute_nodes && !existing_known) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "{} compute nodes registered, more than the {} configured (compute_nodes): "
           "majorities count them all, but a restarted coordinator would not know of the extra ones", compute_members(), cfg_.compute_nodes);
  }
  if (role_ == CoordinatorRole::kCandidate) return ask(m.sender, rec, HoldingsQuestion::Why::kCandidacy);
  if (!leading()) return;
  if (was_lost && lost_by_us(rec)) evict(m.sender, rec);
  // A node that is not a member of our epoch (it missed our takeover, promised a rival candidate, or
  // is lost only in a replica's view) must promise before it is acked: its Promise tells us what it
  // holds, so we can revoke what was re-granted meanwhile.
  if (!member(rec) && m.epoch != 0) ask(m.sender, rec, HoldingsQuestion::Why::kMembership);
  send_membership();
}

bool Coordinator::admits(NodeId node, const NodeRecord& rec, Placement placement) const {
  // Only members of our epoch: one that has yet to promise could answer with holdings that miss a
  // grant crossing its promise, and reconciliation would orphan it. Nor a node that has not
  // confirmed its eviction: a resent Evicted would drop what we give it now.
  if (!eligible(rec) || rec.draining() || rec.capacity_entities == 0) return false;
  const uint64_t limit = placement == Placement::kNewcomer ? rec.capacity_entities : rec.capacity_entities * kOverloadCeilingPermille / 1000;
  return table_.given_count(node) < limit;
}

// Least loaded live compute node that admits the placement, by entities the table gives it relative
// to its capacity; ties go to the lowest node id so the choice is deterministic.
NodeId Coordinator::pick_compute(Placement placement) const {
  NodeId best{};
  uint64_t best_load = UINT64_MAX;
  for (const auto& [id, rec] : nodes_) {
    if (!admits(id, rec, placement)) continue;
    const uint64_t n = table_.given_count(id);
    const uint64_t load = n * 1'000'000 / rec.capacity_entities;
    if (load < best_load) {
      best_load = load;
      best = id;
    }
  }
  return best;
}

// The client of a lost gateway is back through another one, with its token: same avatar, new route.
// Only a detached avatar (its gateway lost) can be resumed through another gateway: one still
// attached to a live session there is its player's, and a token presented for it meanwhile is
// someone else's copy (the client is held and asks again, in case its old gateway's loss is simply
// not known yet). Through its own gateway it can: that gateway holds no other live session of it
// (Gateway::handle_client checks). A token serves once: each resume draws a new one, given to the
// client in its Welcome.
Coordinator::Resume Coordinator::resume(const ServerMessage& m, const SpawnRequest& req) {
  const OwnerRecord* found = table_.get(req.resume_entity);
  if (!found || found->resume_token != req.resume_token || !found->owner.valid()) {
    ++stats_.resumes_refused;
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, req.resume_entity}, "resume refused (unknown, wrong token or being recovered)");
    return Resume::kRefused;
  }
  // Attached to a session on the asking gateway itself: that gateway closed the session (the client
  // came back through it) and vouches that none of its live sessions holds the avatar; its
  // SessionClosed may have been lost with a connection.
  if (found->detached_since_ns == 0 && found->gateway != m.sender) {
    ++stats_.resumes_refused;
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, req.resume_entity}, "resume held: the avatar is still attached to session {} on gateway {}",
           found->session.value, found->gateway.value);
    return Resume::kAttached;
  }
  const uint64_t token = rt_.entropy.next_u64() | 1;
  table_.edit(req.resume_entity, [&](OwnerRecord& r) {
    r.gateway = m.sender;
    r.session = req.session;
    r.detached_since_ns = 0;
    r.resume_token = token;
  });
  const OwnerRecord& rec = *found;
  backlog_.changed(req.resume_entity);
  ++stats_.resumes;
  send_to(rec.owner, SessionMoved{req.resume_entity, m.sender, req.session});
  trace(TraceKind::kSessionResumed, req.resume_entity, static_cast<int64_t>(req.session.value), 0, m.sender);
  send_to(m.sender, SpawnReply{req.session, req.resume_entity, rec.owner, nodes_[rec.owner].data_address, "", rec.resume_token});
  return Resume::kResumed;
}

void Coordinator::detach_gateway(NodeId gateway) {
  const TimeNs now = rt_.clock.now_ns();
  std::vector<EntityId> detached;
  for (const auto& [id, rec] : table_) {
    if (rec.gateway == gateway && rec.detached_since_ns == 0) detached.push_back(id);
  }
  for (EntityId id : detached) {
    table_.edit(id, [&](OwnerRecord& r) { r.detached_since_ns = now; });
    backlog_.changed(id);
  }
}

// Every second: avatars whose client did not come back within the grace period go.
void Coordinator::sweep_detached() {
  const TimeNs now = rt_.clock.now_ns();
  std::vector<EntityId> gone;
  for (const auto& [id, rec] : table_) {
    if (rec.detached_since_ns != 0 && now - rec.detached_since_ns > kSessionResumeGraceNs) gone.push_back(id);
  }
  for (EntityId id : gone) abandon_detached(id);
}

void Coordinator::abandon_detached(EntityId id) {
  const OwnerRecord rec = *table_.get(id);
  AETHER_ASSERT(rec.detached_since_ns != 0);
  if (rec.owner.valid()) revoke(rec.owner, id, rec.generation);  // while the record stands: revoke() reads its character
  erase_record(id);
  ++stats_.abandoned;
  trace(TraceKind::kOwnershipRevoked, id, static_cast<int64_t>(rec.generation), 2, rec.owner);
}

void Coordinator::handle_spawn(const ServerMessage& m, const SpawnRequest& req) {
  SpawnReply reply;
  reply.session = req.session;
  if (req.resume_entity.valid()) {
    const Resume resumed = resume(m, req);
    if (resumed == Resume::kResumed) return;
    if (resumed == Resume::kAttached) {
      reply.refusal = "avatar still attached to a live session";
      reply.retry_later = true;
      send_to(m.sender, reply);
      return;
    }
  }
  if (req.resume_only) {
    // The gateway admitted this session on its resume token alone (no account token): a refused
    // resume gives it nothing (docs/security.md, "Accounts and sessions").
    reply.refusal = "resume refused";
    send_to(m.sender, reply);
    return;
  }
  // The save the gateway read may be older than the log-out save still on its way: it reads again
  // when it asks again (logout_waits.h).
  if (req.character.valid() && cfg_.planted != PlantedBug::kEconomySpawnBeforeLogoutSave) {
    const LogoutWaits::Verdict verdict = logout_waits_.holds(req.character, rt_.clock.now_ns());
    if (verdict == LogoutWaits::Verdict::kGivenUp) logout_wait_given_up(req.character, LogoutWaitEnd::kTimeout);
    if (verdict == LogoutWaits::Verdict::kHold) {
      reply.refusal = "the character's log-out save has not landed yet";
      reply.retry_later = true;
      reply.save_pending = true;
      send_to(m.sender, reply);
      return;
    }
  }
  // One avatar per character in the world: a log-in of a character whose last avatar is still here
  // waits until it has left and its log-out save has landed (the wait above, on the next try), and
  // reads that save again. Else two avatars of one character would play at once, the new one from
  // a save older than what the old one goes on earning: the SessionClosed of its last session may
  // still be on its way (sent to a deposed leader, or behind the log-in on another gateway's link).
  // An avatar left detached, its player now back through a new session, is not waited for any
  // longer: it leaves as at the end of its grace period. One attached to a live session (the
  // account playing elsewhere) keeps the log-in waiting until that session ends.
  if (req.character.valid()) {
    if (const EntityId live = table_.avatar_of(req.character); live.valid()) {
      if (table_.get(live)->detached_since_ns != 0) abandon_detached(live);
      ++stats_.spawns_held_for_avatar;
      reply.refusal = "the character's last avatar has not left the world yet";
      reply.retry_later = true;
      reply.save_pending = true;
      send_to(m.sender, reply);
      return;
    }
  }
  const bool available = pick_compute(Placement::kNewcomer).valid();
  if (!available || table_.size() >= cfg_.table_entities_max || !has_quorum()) {
    reply.refusal = !available ? "no compute node available" : (!has_quorum() ? "no quorum" : "entity table full");
    // Waiting for a compute node or a quorum passes (a cluster starting, a node lost): the gateway
    // holds its client and asks again. A full table does not pass by waiting.
    reply.retry_later = table_.size() < cfg_.table_entities_max;
    if (reply.retry_later) {
      ++stats_.spawns_deferred;
      log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, {}}, "spawn for session {} deferred: {}", req.session.value, reply.refusal);
    } else {
      ++stats_.spawns_refused;
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "spawn for session {} refused: {}", req.session.value, reply.refusal);
    }
    send_to(m.sender, reply);
    return;
  }
  // Entity ids carry the epoch that made them, so a deposed leader's spawns never collide with ours.
  const EntityId entity((epoch_ << 40) | next_entity_++);
  const uint32_t team = static_cast<uint32_t>((next_entity_ - 2) % (cfg_.rules.teams ? cfg_.rules.teams : 1));
  Vec2 pos = gameplay::World::spawn_point(cfg_.rules, team, rt_.random);
  // A character comes back where its save left it, if that is in the arena (docs/persistence.md §9d).
  const CharacterSave& save = req.save;
  const bool saved_pos = save.character.valid() && save.loaded && save.pos.x_mm >= 0 && save.pos.y_mm >= 0 &&
                         save.pos.x_mm < cfg_.rules.arena_mm && save.pos.y_mm < cfg_.rules.arena_mm;
  if (saved_pos) pos = save.pos;
  const NodeId owner = home_for(pos, Placement::kNewcomer);  // valid: pick_compute() was
  OwnerRecord rec{owner, next_generation(0), m.sender, req.session, EntityState{}};
  // A character's avatar has its character's class; an anonymous client's is picked in turn.
  const gameplay::ClassDef* chosen = req.class_id != 0 && req.class_id <= UINT16_MAX ? content_->find_class(static_cast<uint16_t>(req.class_id)) : nullptr;
  const gameplay::ClassDef& cls = chosen ? *chosen : gameplay::class_for_spawn(*content_, (next_entity_ - 2) / (cfg_.rules.teams ? cfg_.rules.teams : 1));
  rec.snapshot.id = entity;
  rec.snapshot.pos = pos;
  rec.snapshot.hp = cls.hp_max;
  rec.snapshot.team = team;
  rec.snapshot.version = 1;
  rec.snapshot.generation = rec.generation;
  rec.snapshot.class_id = cls.id;
  rec.snapshot.resource = cls.resource_start;
  if (save.character.valid()) {
    // What the compute node's World::load_save makes of it, so that a recovery before its first
    // promise starts from the save too.
    rec.snapshot.character = save.character;
    rec.snapshot.save_life = save.life;
    if (save.loaded) {
      rec.snapshot.experience = std::clamp(save.experience, 0, kExperienceStateMax);
      rec.snapshot.level = content_->experience.level_for(rec.snapshot.experience);
      rec.snapshot.hp = gameplay::hp_max_at(cls, rec.snapshot.level);
      rec.snapshot.inventory = save.inventory;
    }
  }
  rec.resume_token = rt_.entropy.next_u64() | 1;
  set_record(entity, rec);
  ++stats_.spawns;
  OwnershipGrant grant{entity, rec.generation, m.sender, req.session, pos, team, std::nullopt};
  grant.class_id = cls.id;
  if (save.character.valid()) grant.save = save;
  send_to(owner, grant);
  trace(TraceKind::kOwnershipGranted, entity, static_cast<int64_t>(rec.generation), 0, owner);
  reply.entity = entity;
  reply.owner = owner;
  reply.owner_address = nodes_[owner].data_address;
  reply.resume_token = rec.resume_token;
  send_to(m.sender, reply);
}

void Coordinator::handle_session_closed(const ServerMessage& m, const SessionClosed& closed) {
  auto it = table_.find(closed.entity);
  if (it == table_.end() || it->second.gateway != m.sender || it->second.session != closed.session) return;
  if (closed.detached) {
    // The client was sent to its region's gateway: the avatar waits for it there, as after a
    // gateway loss (resume() takes a detached avatar through any gateway, sweep_detached() ends the wait).
    if (it->second.detached_since_ns == 0) {
      table_.edit(closed.entity, [&](OwnerRecord& r) { r.detached_since_ns = rt_.clock.now_ns(); });
      backlog_.changed(closed.entity);
      ++stats_.sessions_detached;
    }
    return;
  }
  const OwnerRecord rec = it->second;
  if (rec.owner.valid()) revoke(rec.owner, closed.entity, rec.generation);  // while the record stands: revoke() reads its character
  erase_record(closed.entity);
  ++stats_.revokes;
  trace(TraceKind::kOwnershipRevoked, closed.entity, static_cast<int64_t>(rec.generation), 0, rec.owner);
}

// A character's avatar revoked from `holder`: the holder takes its log-out save, and the
// character's next spawn waits for it (logout_waits.h).
void Coordinator::note_logout(const EntityState& avatar, NodeId holder) {
  if (holder.valid() && avatar.character.valid() && avatar.save_life != 0) {
    const auto evicted = logout_waits_.left(avatar.character, avatar.save_life, holder, rt_.clock.now_ns());
    if (evicted) logout_wait_given_up(*evicted, LogoutWaitEnd::kFull);
  }
}

void Coordinator::logout_wait_given_up(CharacterId character, LogoutWaitEnd why) {
  log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "character {}'s spawn stops waiting for its log-out save: {}", character.value,
         why == LogoutWaitEnd::kTimeout ? "not settled in time" : why == LogoutWaitEnd::kOwnerGone ? "its owner is gone" : "too many waits");
  trace(TraceKind::kLogoutWaitGivenUp, EntityId{}, static_cast<int64_t>(character.value), static_cast<int64_t>(why));
}

// Every compute node learns the live compute nodes (and where to reach them) whenever the set
// changes, so each can subscribe to the others for ghosts; and the regions whenever they are recut,
// so that each respawns its dead at home (ComputeNode::respawn_point).
void Coordinator::send_membership() {
  if (!leading()) return;
  Membership m;
  for (const auto& [id, rec] : nodes_) {
    if (rec.role == Role::kCompute && !rec.lost && rec.conn != 0) m.peers.push_back(PeerInfo{id, rec.data_address});
  }
  for (const RegionMap::Range& r : regions_.ranges()) m.regions.push_back(RegionRange{r.node, r.begin, r.end});
  for (const PeerInfo& p : m.peers) send_to(p.node, m);
}

void Coordinator::set_record(EntityId entity, const OwnerRecord& rec) {
  table_.put(entity, rec);
  backlog_.changed(entity);
}

void Coordinator::erase_record(EntityId entity) {
  table_.erase(entity);
  backlog_.erased(entity);
  bury(entity);
}

void Coordinator::bury(EntityId entity) {
  if (!tombstones_.insert(entity).second) return;
  tombstone_order_.push_back(entity);
  if (tombstone_order_.size() > kTombstonesMax) {
    tombstones_.erase(tombstone_order_.front());
    tombstone_order_.pop_front();
  }
}

SendStatus Coordinator::send_on(ConnId conn, ServerBody body) {
  return send_server(rt_.network, conn, ServerMessage{cfg_.node, Role::kCoordinator, epoch_, tick_, std::move(body)});
}

SendStatus Coordinator::send_to(NodeId node, ServerBody body) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || it->second.conn == 0) return SendStatus::kClosed;
  const SendStatus s = send_on(it->second.conn, std::move(body));
  if (s != SendStatus::kOk) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "control message to {} not sent (status {})", node.value, static_cast<int>(s));
  }
  return s;
}

void Coordinator::trace(TraceKind kind, EntityId entity, int64_t a, int64_t b, NodeId peer) {
  record_trace(rt_.trace, kind, epoch_, tick_, entity, a, b, peer);
}

}  // namespace aether
