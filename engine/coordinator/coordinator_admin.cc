// Operator commands (seed section 16). Each comes with the operator who sent it (authenticated by
// the transport: the admin listener in the real runtime, the scenario in the simulator), is
// authorised by one rule (engine/net/admin_rule.h), and is logged and traced with who, what, the
// epoch it claims and the outcome. Reads are answered whatever our epoch; orders need the current
// epoch and leadership, or the admin epoch (kEpochAdmin), which supersedes any authority and is an
// admin's alone, where enabled.

#include <fmt/format.h>

#include "engine/coordinator/coordinator.h"

namespace aether {

namespace {
std::string describe(const AdminRequest& req) {
  std::string detail;
  if (req.command == AdminRequest::Command::kDebug) {
    for (EntityId e : req.debug.entities) detail += fmt::format(" entity {}", e.value);
    for (NodeId n : req.debug.nodes) detail += fmt::format(" node {}", n.value);
    detail = fmt::format(" [{}{}]", req.debug.off ? "off:" : "on:", detail.empty() ? " list" : detail);
  }
  return fmt::format("{}{} (entity {}, node {})", admin_command_name(req.command), detail, req.entity.value, req.node.value);
}
}  // namespace

void Coordinator::log_admin(const OperatorId& who, const AdminRequest& req, Epoch claimed, std::string_view outcome, LogLevel level) {
  log_at(rt_.log, level, {epoch_, tick_, req.entity}, "admin {} by operator {} ({}) under epoch {}{}: {}", describe(req), who.name,
         operator_role_name(who.role), claimed, claimed == kEpochAdmin ? " (admin epoch: supersedes authority)" : "", outcome);
}

void Coordinator::operator_command(const OperatorId& who, const AdminRequest& req, Epoch claimed, AdminDone done) {
  ++stats_.admin_commands;
  const bool forced = claimed == kEpochAdmin;
  const bool one_debug_target = req.command == AdminRequest::Command::kDebug && req.debug.entities.size() + req.debug.nodes.size() == 1;
  const EntityId traced_entity = one_debug_target && !req.debug.entities.empty() ? req.debug.entities[0] : req.entity;
  const NodeId traced_node = one_debug_target && !req.debug.nodes.empty() ? req.debug.nodes[0] : req.node;
  const AdminVerdict verdict = authorize_admin(who.role, req, forced, cfg_.admin_epoch_enabled);
  if (verdict != AdminVerdict::kAllowed) {
    ++stats_.admin_refused[static_cast<size_t>(verdict)];
    trace(TraceKind::kAdminRefused, traced_entity, static_cast<int64_t>(req.command), static_cast<int64_t>(verdict), traced_node);
    std::string why;
    switch (verdict) {
      case AdminVerdict::kRoleTooLow:
        why = fmt::format("{} needs the {} role; {} is {}", admin_command_name(req.command), operator_role_name(admin_role_needed(req)),
                          who.name, operator_role_name(who.role));
        break;
      case AdminVerdict::kAdminEpochReserved: why = "the admin epoch (a forced order) is reserved to the admin role"; break;
      case AdminVerdict::kAdminEpochDisabled: why = "the admin epoch is not enabled on this coordinator (admin_epoch_enabled)"; break;
      case AdminVerdict::kAllowed: break;
    }
    log_admin(who, req, claimed, fmt::format("refused ({}: {})", admin_verdict_name(verdict), why), LogLevel::kWarn);
    return done(AdminAnswer{verdict, AdminReply{false, {fmt::format("refused: {}", why)}}});
  }
  if (forced) {
    // An alert: the admin epoch overrides the protocol's authority checks.
    ++stats_.admin_epoch_uses;
    trace(TraceKind::kAdminEpochUsed, traced_entity, static_cast<int64_t>(req.command), 0, traced_node);
  }
  trace(TraceKind::kAdminCommand, traced_entity, static_cast<int64_t>(req.command), static_cast<int64_t>(claimed), traced_node);
  if (req.command == AdminRequest::Command::kGhostQuery) return ask_ghosts(who, req, claimed, std::move(done));
  AdminReply reply;
  if (admin_is_order(req) && !forced && (claimed != epoch_ || !leading())) {
    reply = AdminReply{false, {fmt::format("refused: this coordinator is {} at epoch {}; the order claims epoch {}",
                                           coordinator_role_name(role_), epoch_, claimed)}};
  } else {
    reply = run_admin(req, forced);
  }
  const LogLevel level = forced ? LogLevel::kError : admin_is_order(req) ? LogLevel::kWarn : LogLevel::kInfo;
  log_admin(who, req, claimed, reply.ok ? "done" : fmt::format("failed: {}", reply.lines.empty() ? "" : reply.lines.front()), level);
  done(AdminAnswer{AdminVerdict::kAllowed, std::move(reply)});
}

// An AdminRequest on the data port: operators use the admin listener, and no server sends one to a
// coordinator, so whoever sent it is refused, counted and logged, and its connection closed.
void Coordinator::refuse_admin_on_data_port(ConnId conn, const ServerMessage& m) {
  const uint64_t n = ++stats_.admin_on_data_port;
  if ((n & (n - 1)) == 0) {
    const std::optional<PeerIdentity> verified = rt_.network.peer_identity(conn);
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "admin request refused on the data port: connection {} (claims {} {}, verified {}); "
           "operators use the admin listener ({} refused so far)", conn, role_name(m.sender_role), m.sender.value,
           verified ? peer_identity_name(*verified) : "nothing", n);
  }
  send_on(conn, AdminReply{false, {"refused: operator commands go to the coordinator's admin listener (admin_address), not its data port"}});
  close_refused(conn);
}

// A ghost query asks every compute node connected to us what it holds of the entity (owner or
// ghost): on the connection it registered on, answered in order on that connection.
void Coordinator::ask_ghosts(const OperatorId& who, const AdminRequest& req, Epoch claimed, AdminDone done) {
  if (ghost_queries_.size() >= kGhostQueriesMax) {
    ++stats_.ghost_queries_busy;
    log_admin(who, req, claimed, fmt::format("refused: {} ghost queries under way (the limit)", ghost_queries_.size()), LogLevel::kWarn);
    return done(AdminAnswer{AdminVerdict::kAllowed, AdminReply{false, {fmt::format("busy: {} ghost queries under way; ask again", kGhostQueriesMax)}}});
  }
  const uint64_t id = next_ghost_query_++;
  GhostQuery q{who, req, claimed, std::move(done), {}, {}, 0};
  for (const auto& [node, rec] : nodes_) {
    if (rec.role != Role::kCompute || rec.conn == 0 || rec.lost) continue;
    // A node that left kGhostQueriesMax questions unanswered is not asked more (the queue stays bounded).
    if (auto a = ghosts_asked_.find(rec.conn); a != ghosts_asked_.end() && a->second.size() >= kGhostQueriesMax) continue;
    if (send_on(rec.conn, AdminRequest{AdminRequest::Command::kGhostQuery, req.entity, {}}) != SendStatus::kOk) continue;
    q.waiting.insert(rec.conn);
    ghosts_asked_[rec.conn].push_back(id);
  }
  log_admin(who, req, claimed, fmt::format("asked {} compute nodes", q.waiting.size()), LogLevel::kInfo);
  const bool asked = !q.waiting.empty();
  ghost_queries_.emplace(id, std::move(q));
  if (!asked) return finish_ghost_query(id);
  ghost_queries_[id].deadline = rt_.timers.schedule(kGhostQueryDeadlineNs, [this, id] {
    auto it = ghost_queries_.find(id);
    if (it == ghost_queries_.end()) return;
    it->second.deadline = 0;
    finish_ghost_query(id);
  });
}

void Coordinator::handle_ghost_reply(ConnId conn, NodeId node, const AdminReply& reply) {
  auto asked = ghosts_asked_.find(conn);
  if (asked == ghosts_asked_.end() || asked->second.empty()) return;  // a late answer to a query already answered
  const uint64_t id = asked->second.front();
  asked->second.pop_front();
  if (asked->second.empty()) ghosts_asked_.erase(asked);
  auto it = ghost_queries_.find(id);
  if (it == ghost_queries_.end()) return;
  GhostQuery& q = it->second;
  if (q.waiting.erase(conn) == 0) return;
  for (const std::string& line : reply.lines) {
    if (q.lines.size() >= kAdminReplyLinesMax) break;
    q.lines.push_back(reply.ok ? line : fmt::format("{} (compute {})", line, node.value));
  }
  if (q.waiting.empty()) finish_ghost_query(id);
}

void Coordinator::finish_ghost_query(uint64_t id) {
  auto it = ghost_queries_.find(id);
  if (it == ghost_queries_.end()) return;
  GhostQuery q = std::move(it->second);
  ghost_queries_.erase(it);
  if (q.deadline != 0) rt_.timers.cancel(q.deadline);
  // A late answer still pops this query's place in its connection's queue, and is then dropped.
  for (ConnId conn : q.waiting) {
    q.lines.push_back(fmt::format("no answer from the compute node on connection {} within {} ms", conn, kGhostQueryDeadlineNs / kNsPerMs));
  }
  if (q.lines.empty()) q.lines.push_back("no compute node is connected to this coordinator");
  log_admin(q.who, q.req, q.claimed, fmt::format("done ({} compute nodes silent)", q.waiting.size()), LogLevel::kInfo);
  q.done(AdminAnswer{AdminVerdict::kAllowed, AdminReply{true, std::move(q.lines)}});
}

AdminReply Coordinator::run_admin(const AdminRequest& req, bool forced) {
  AdminReply reply{true, {}};
  auto& out = reply.lines;
  switch (req.command) {
    case AdminRequest::Command::kListNodes:
      out.push_back(fmt::format("coordinator {} {} at epoch {}: {} entities, {} orphaned, {} migrating", cfg_.node.value,
                                coordinator_role_name(role_), epoch_, table_.size(), orphans(), migrations_.size()));
      for (const auto& [id, rec] : nodes_) {
        out.push_back(fmt::format(
            "{} {} at {} {}{} assigned {} reported {} capacity-load {} hard {} soft {} opportunistic {} permille load-level {} tick-p99 {:.3f} ms "
            "heard {} ms ago epoch {} input-queue {}",
            role_name(rec.role), id.value, rec.data_address.empty() ? "-" : rec.data_address, rec.lost ? "lost" : (rec.conn ? "up" : "down"),
            rec.draining() ? " draining" : "", table_.given_count(id), rec.entities_reported, rec.load_permille,
            rec.hard_permille, rec.soft_permille, rec.opportunistic_permille, rec.load_level, static_cast<double>(rec.tick_ns_p99) / 1e6,
            (rt_.clock.now_ns() - rec.last_heard_ns) / kNsPerMs, rec.heard_epoch, rec.input_queue_depth));
      }
      break;
    case AdminRequest::Command::kShowEntity: {
      auto it = table_.find(req.entity);
      if (it == table_.end()) return AdminReply{false, {fmt::format("entity {} is not in the table", req.entity.value)}};
      const OwnerRecord& rec = it->second;
      auto mig = migrations_.find(req.entity);
      out.push_back(fmt::format("entity {} owner {} generation {} gateway {} session {}{}{}", req.entity.value, rec.owner.value,
                                rec.generation, rec.gateway.value, rec.session.value, rec.detached_since_ns ? " detached" : "",
                                mig == migrations_.end() ? "" : fmt::format(" migrating to {}", mig->second.to.value)));
      out.push_back(fmt::format("snapshot at ({}, {}) mm hp {} version {}", rec.snapshot.pos.x_mm, rec.snapshot.pos.y_mm, rec.snapshot.hp,
                                rec.snapshot.version));
      break;
    }
    case AdminRequest::Command::kMove:
      if (!start_migration(req.entity, req.node)) {
        return AdminReply{false, {fmt::format("cannot move entity {} to {} now (unknown, same owner, destination not a live member, "
                                              "already migrating, or in failover grace)", req.entity.value, req.node.value)}};
      }
      out.push_back(fmt::format("moving entity {} to compute {}", req.entity.value, req.node.value));
      break;
    case AdminRequest::Command::kDrain: {
      auto it = nodes_.find(req.node);
      if (it == nodes_.end() || it->second.role != Role::kCompute) return AdminReply{false, {fmt::format("no compute node {}", req.node.value)}};
      it->second.drain = NodeRecord::Drain::kOperator;
      note_handover(HandoverKind::kDrain, EntityId{}, req.node, NodeId{}, table_.given_count(req.node));
      out.push_back(fmt::format("draining compute {}: nothing new is placed there; its entities move off a batch per second",
                                req.node.value));
      break;
    }
    case AdminRequest::Command::kFailover:
      if (leading()) {
        abdicate();
        out.push_back(fmt::format("stepped down from epoch {}; the vice takes over", epoch_));
      } else if (forced && stopping_) {
        return AdminReply{false, {"refused: this coordinator is stopping and stands for no election"}};
      } else if (forced) {
        stand_for_election();
        out.push_back(fmt::format("standing for epoch {} now", epoch_));
      } else {
        return AdminReply{false, {"this coordinator does not lead; to make it take over, send the failover with the admin epoch (--force)"}};
      }
      break;
    case AdminRequest::Command::kGhostQuery:
      return AdminReply{false, {"ghost queries are asked of compute nodes (ask_ghosts)"}};
    case AdminRequest::Command::kDebug:
      return run_debug(req.debug);
  }
  return reply;
}

// Debug on or off for some entities and nodes, within the caps; the whole new set then goes to every
// connected compute node and gateway. With no entity and no node: lists what is debugged.
AdminReply Coordinator::run_debug(const DebugTargets& req) {
  std::set<EntityId> entities = debug_entities_;
  std::set<NodeId> nodes = debug_nodes_;
  for (EntityId e : req.entities) req.off ? (void)entities.erase(e) : (void)entities.insert(e);
  for (NodeId n : req.nodes) req.off ? (void)nodes.erase(n) : (void)nodes.insert(n);
  if (entities.size() > kDebugEntitiesMax || nodes.size() > kDebugNodesMax) {
    return AdminReply{false, {fmt::format("refused: that would debug {} entities and {} nodes; at most {} entities and {} nodes at once "
                                          "(turn some off first with --off)",
                                          entities.size(), nodes.size(), kDebugEntitiesMax, kDebugNodesMax)}};
  }
  const bool changed = entities != debug_entities_ || nodes != debug_nodes_;
  debug_entities_ = std::move(entities);
  debug_nodes_ = std::move(nodes);
  size_t told = 0;
  if (changed) {
    for (const auto& [id, rec] : nodes_) {
      if ((rec.role != Role::kCompute && rec.role != Role::kGateway) || rec.conn == 0 || rec.lost) continue;
      told += send_on(rec.conn, AdminRequest{AdminRequest::Command::kDebug, {}, {}, debug_targets()}) == SendStatus::kOk ? 1 : 0;
    }
  }
  std::string ids;
  for (EntityId e : debug_entities_) ids += fmt::format(" {}", e.value);
  std::string node_ids;
  for (NodeId n : debug_nodes_) node_ids += fmt::format(" {}", n.value);
  AdminReply reply{true, {}};
  reply.lines.push_back(fmt::format("debugging {} of at most {} entities:{}", debug_entities_.size(), kDebugEntitiesMax, ids.empty() ? " none" : ids));
  reply.lines.push_back(fmt::format("debugging {} of at most {} nodes:{}", debug_nodes_.size(), kDebugNodesMax, node_ids.empty() ? " none" : node_ids));
  if (changed) reply.lines.push_back(fmt::format("told {} compute nodes and gateways", told));
  return reply;
}

DebugTargets Coordinator::debug_targets() const {
  DebugTargets t;
  t.entities.assign(debug_entities_.begin(), debug_entities_.end());
  t.nodes.assign(debug_nodes_.begin(), debug_nodes_.end());
  t.whole_set = true;
  return t;
}

void Coordinator::begin_drain() {
  if (stopping_) return;
  stopping_ = Stopping{epoch_, role_ != CoordinatorRole::kFollower};
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "stopping: {}", leading() && !cfg_.peer_address.empty() ? "handing over to the vice" : "nothing to hand over");
  if (candidacy_timer_ != 0) {
    rt_.timers.cancel(candidacy_timer_);
    candidacy_timer_ = 0;
  }
  if (role_ != CoordinatorRole::kFollower) step_down(epoch_, cfg_.node);
}

bool Coordinator::drained() const {
  if (!stopping_) return false;
  if (cfg_.peer_address.empty() || !stopping_->was_leading) return true;  // nothing to hand over, or no one to
  return role_ == CoordinatorRole::kFollower && epoch_ > stopping_->epoch;  // the vice stood, or leads
}

Readiness Coordinator::readiness() const {
  if (address_.empty()) return {false, "not listening"};
  if (stopping_) return {false, "stopping: handing over"};
  if (role_ == CoordinatorRole::kLeader) return {true, "leader"};
  if (role_ == CoordinatorRole::kCandidate) return {false, "candidate: no leader yet"};
  if (!knows_membership_ || !table_replica_complete_) return {false, "vice without a whole copy of the leader's table"};
  if (!leader_clock_.trusted()) return {false, "vice whose clock cannot be trusted: it would not stand"};
  return {true, "vice with the leader's table"};
}

// An operator asked the leader to step down: it stops leading and gives the vice a head start
// before it would itself stand again.
void Coordinator::abdicate() {
  step_down(epoch_, cfg_.node);
  heard_leader(2 * kLeaderTimeoutNs);
}

}  // namespace aether
