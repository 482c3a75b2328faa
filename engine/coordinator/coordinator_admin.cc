// Operator commands (seed section 16). Every one is logged and traced with the epoch it claims.
// Reads are always answered; orders need the current epoch and leadership, or kEpochAdmin, which
// supersedes any authority.

#include <fmt/format.h>

#include "engine/coordinator/coordinator.h"

namespace aether {

namespace {
const char* command_name(AdminRequest::Command c) {
  switch (c) {
    case AdminRequest::Command::kListNodes: return "nodes";
    case AdminRequest::Command::kShowEntity: return "entity";
    case AdminRequest::Command::kMove: return "move";
    case AdminRequest::Command::kDrain: return "drain";
    case AdminRequest::Command::kFailover: return "failover";
    case AdminRequest::Command::kGhostQuery: return "ghost-query";
    case AdminRequest::Command::kDebug: return "debug";
  }
  return "unknown";
}
}  // namespace

void Coordinator::handle_admin(ConnId conn, const ServerMessage& m, const AdminRequest& req) {
  const bool forced = m.epoch == kEpochAdmin;
  std::string detail;
  if (req.command == AdminRequest::Command::kDebug) {
    for (EntityId e : req.debug.entities) detail += fmt::format(" entity {}", e.value);
    for (NodeId n : req.debug.nodes) detail += fmt::format(" node {}", n.value);
    detail = fmt::format(" [{}{}]", req.debug.off ? "off:" : "on:", detail.empty() ? " list" : detail);
  }
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, req.entity}, "admin {}{} (entity {}, node {}) under epoch {}{}", command_name(req.command), detail,
         req.entity.value, req.node.value, m.epoch, forced ? " (admin epoch: supersedes authority)" : "");
  const bool one_debug_target = req.command == AdminRequest::Command::kDebug && req.debug.entities.size() + req.debug.nodes.size() == 1;
  const EntityId traced_entity = one_debug_target && !req.debug.entities.empty() ? req.debug.entities[0] : req.entity;
  const NodeId traced_node = one_debug_target && !req.debug.nodes.empty() ? req.debug.nodes[0] : req.node;
  trace(TraceKind::kAdminCommand, traced_entity, static_cast<int64_t>(req.command), static_cast<int64_t>(m.epoch), traced_node);
  AdminReply reply{true, {}};
  const bool changes_debug = req.command == AdminRequest::Command::kDebug && (!req.debug.entities.empty() || !req.debug.nodes.empty());
  const bool mutating = req.command == AdminRequest::Command::kMove || req.command == AdminRequest::Command::kDrain || changes_debug;
  if (mutating && !forced && (m.epoch != epoch_ || !leading())) {
    reply = AdminReply{false, {fmt::format("refused: this coordinator is {} at epoch {}; the order claims epoch {}",
                                           coordinator_role_name(role_), epoch_, m.epoch)}};
  } else {
    reply = run_admin(req, forced);
  }
  send_on(conn, std::move(reply));
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
            "heard {} ms ago epoch {}",
            role_name(rec.role), id.value, rec.data_address.empty() ? "-" : rec.data_address, rec.lost ? "lost" : (rec.conn ? "up" : "down"),
            rec.draining() ? " draining" : "", table_.given_count(id), rec.entities_reported, rec.load_permille,
            rec.hard_permille, rec.soft_permille, rec.opportunistic_permille, rec.load_level, static_cast<double>(rec.tick_ns_p99) / 1e6,
            (rt_.clock.now_ns() - rec.last_heard_ns) / kNsPerMs, rec.heard_epoch));
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
      out.push_back(fmt::format("draining compute {}: nothing new is placed there; its entities move off a batch per second",
                                req.node.value));
      break;
    }
    case AdminRequest::Command::kFailover:
      if (leading()) {
        abdicate();
        out.push_back(fmt::format("stepped down from epoch {}; the vice takes over", epoch_));
      } else if (forced) {
        stand_for_election();
        out.push_back(fmt::format("standing for epoch {} now", epoch_));
      } else {
        return AdminReply{false, {"this coordinator does not lead; to make it take over, send the failover with the admin epoch (--force)"}};
      }
      break;
    case AdminRequest::Command::kGhostQuery:
      return AdminReply{false, {"ghost queries go to compute nodes"}};
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

// An operator asked the leader to step down: it stops leading and gives the vice a head start
// before it would itself stand again.
void Coordinator::abdicate() {
  step_down(epoch_, cfg_.node);
  heard_leader(2 * kLeaderTimeoutNs);
}

}  // namespace aether
