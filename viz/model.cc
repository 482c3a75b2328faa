// Trace records -> the model viz/ draws. See model.h.

#include "viz/model.h"

#include <algorithm>
#include <numeric>
#include <set>

#include <fmt/format.h>

namespace aether::viz {

const char* trace_kind_name(TraceKind kind) {
  switch (kind) {
    case TraceKind::kNone: return "none";
    case TraceKind::kMessageDelivered: return "message_delivered";
    case TraceKind::kConnectionClosed: return "connection_closed";
    case TraceKind::kHostStarted: return "host_started";
    case TraceKind::kHostCrashed: return "host_crashed";
    case TraceKind::kNodeRegistered: return "node_registered";
    case TraceKind::kNodeLost: return "node_lost";
    case TraceKind::kEpochChanged: return "epoch_changed";
    case TraceKind::kStaleEpochDropped: return "stale_epoch_dropped";
    case TraceKind::kLeaderElected: return "leader_elected";
    case TraceKind::kCandidacy: return "candidacy";
    case TraceKind::kSteppedDown: return "stepped_down";
    case TraceKind::kPromised: return "promised";
    case TraceKind::kOwnershipGranted: return "ownership_granted";
    case TraceKind::kOwnershipRevoked: return "ownership_revoked";
    case TraceKind::kMigrationStarted: return "migration_started";
    case TraceKind::kMigrationReleased: return "migration_released";
    case TraceKind::kEntitySpawned: return "entity_spawned";
    case TraceKind::kEntityDespawned: return "entity_despawned";
    case TraceKind::kEntityDamaged: return "entity_damaged";
    case TraceKind::kEntityDied: return "entity_died";
    case TraceKind::kEntityRespawned: return "entity_respawned";
    case TraceKind::kSkillUsed: return "skill_used";
    case TraceKind::kIntentApplied: return "intent_applied";
    case TraceKind::kTickDone: return "tick_done";
    case TraceKind::kQueueRefused: return "queue_refused";
    case TraceKind::kLeaseLapsed: return "lease_lapsed";
    case TraceKind::kEvicted: return "evicted";
    case TraceKind::kClockUntrusted: return "clock_untrusted";
    case TraceKind::kClockFenced: return "clock_fenced";
    case TraceKind::kSessionOpened: return "session_opened";
    case TraceKind::kSessionClosed: return "session_closed";
    case TraceKind::kClientDisconnected: return "client_disconnected";
    case TraceKind::kInputForwarded: return "input_forwarded";
    case TraceKind::kSessionResumed: return "session_resumed";
    case TraceKind::kClientRedirected: return "client_redirected";
    case TraceKind::kAdminCommand: return "admin_command";
    case TraceKind::kAdminRefused: return "admin_refused";
    case TraceKind::kAdminEpochUsed: return "admin_epoch_used";
    case TraceKind::kHandoffReceived: return "handoff_received";
    case TraceKind::kHandoffLost: return "handoff_lost";
    case TraceKind::kSubscribeSent: return "subscribe_sent";
    case TraceKind::kSubscriberJoined: return "subscriber_joined";
    case TraceKind::kSubscriberLeft: return "subscriber_left";
    case TraceKind::kGhostAdded: return "ghost_added";
    case TraceKind::kGhostDropped: return "ghost_dropped";
    case TraceKind::kFeedPushed: return "feed_pushed";
    case TraceKind::kHeartbeatMissed: return "heartbeat_missed";
    case TraceKind::kQueueDepths: return "queue_depths";
    case TraceKind::kIntentSent: return "intent_sent";
    case TraceKind::kOwnerRouted: return "owner_routed";
    case TraceKind::kLoadLevel: return "load_level";
    case TraceKind::kControlApplied: return "control_applied";
    case TraceKind::kDebugTargets: return "debug_targets";
    case TraceKind::kDebugInput: return "debug_input";
    case TraceKind::kDebugIntent: return "debug_intent";
    case TraceKind::kDebugState: return "debug_state";
    case TraceKind::kDebugSuppressed: return "debug_suppressed";
    case TraceKind::kLevelUp: return "level_up";
    case TraceKind::kEncounterStarted: return "encounter_started";
    case TraceKind::kEncounterTurnEnded: return "encounter_turn_ended";
    case TraceKind::kEncounterEnded: return "encounter_ended";
    case TraceKind::kEncounterTurnRefused: return "encounter_turn_refused";
    case TraceKind::kChallengeSent: return "challenge_sent";
    case TraceKind::kPortalTaken: return "portal_taken";
    case TraceKind::kInstanceOpened: return "instance_opened";
    case TraceKind::kInstanceClosed: return "instance_closed";
    case TraceKind::kInstanceEntered: return "instance_entered";
    case TraceKind::kLogoutWaitGivenUp: return "logout_wait_given_up";
    case TraceKind::kEconCreated: return "econ_created";
    case TraceKind::kEconDestroyed: return "econ_destroyed";
    case TraceKind::kEconEscrowed: return "econ_escrowed";
    case TraceKind::kEconReleased: return "econ_released";
    case TraceKind::kEconSent: return "econ_sent";
    case TraceKind::kEconReceived: return "econ_received";
    case TraceKind::kEconRecovered: return "econ_recovered";
    case TraceKind::kEconApplied: return "econ_applied";
    case TraceKind::kEconFailed: return "econ_failed";
    case TraceKind::kEconCurrency: return "econ_currency";
    default: break;  // a kind newer than this list (the numbering only ever grows)
  }
  return "unknown";
}

std::string kind_label(TraceKind kind) {
  const std::string_view name = trace_kind_name(kind);
  if (name == "unknown") return fmt::format("unknown_{}", static_cast<uint32_t>(kind));
  return std::string(name);
}

std::string xml_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        // Control characters are not allowed in XML 1.0 text: drop them.
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') break;
        out += c;
    }
  }
  return out;
}

std::string json_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      case '<': out += "\\u003c"; break;  // safe inside an HTML <script> too
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out += fmt::format("\\u{:04x}", static_cast<unsigned>(static_cast<unsigned char>(c)));
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string dot_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    if (static_cast<unsigned char>(c) < 0x20) continue;
    out += c;
  }
  return out;
}

std::vector<TraceEvent> merge_records(const std::vector<TraceInput>& inputs) {
  struct Ref {
    TimeNs t;
    uint32_t node;
    size_t file;
    size_t index;
  };
  std::vector<Ref> refs;
  size_t total = 0;
  for (const TraceInput& in : inputs) total += in.records.size();
  refs.reserve(total);
  for (size_t f = 0; f < inputs.size(); ++f) {
    for (size_t i = 0; i < inputs[f].records.size(); ++i) {
      const TraceEvent& e = inputs[f].records[i];
      refs.push_back(Ref{e.time_ns, e.node.value, f, i});
    }
  }
  std::sort(refs.begin(), refs.end(), [](const Ref& x, const Ref& y) {
    if (x.t != y.t) return x.t < y.t;
    if (x.node != y.node) return x.node < y.node;
    if (x.file != y.file) return x.file < y.file;
    return x.index < y.index;
  });
  std::vector<TraceEvent> out;
  out.reserve(total);
  for (const Ref& r : refs) out.push_back(inputs[r.file].records[r.index]);
  return out;
}

const char* node_role_name(NodeRole role) {
  switch (role) {
    case NodeRole::kCoordinator: return "coordinator";
    case NodeRole::kCompute: return "compute";
    case NodeRole::kGateway: return "gateway";
    case NodeRole::kUnknown: break;
  }
  return "node";
}

const char* span_start_name(SpanStart s) {
  switch (s) {
    case SpanStart::kSpawn: return "spawn";
    case SpanStart::kRecovery: return "recovery";
    case SpanStart::kMigration: return "migration";
    case SpanStart::kMigrationFromSnapshot: return "migration from snapshot";
    case SpanStart::kOther: break;
  }
  return "grant";
}

const char* span_end_name(SpanEnd e) {
  switch (e) {
    case SpanEnd::kOpen: return "still owned";
    case SpanEnd::kReleased: return "released (migration)";
    case SpanEnd::kRevoked: return "revoked";
    case SpanEnd::kDespawned: return "despawned";
    case SpanEnd::kEvicted: return "evicted";
    case SpanEnd::kCrashed: return "owner crashed";
    case SpanEnd::kRegranted: return "granted again";
  }
  return "?";
}

bool NodeInfo::crashed_at(TimeNs t) const {
  TimeNs crash = -1, restart = -1;
  for (TimeNs c : crashed_ns) {
    if (c <= t) crash = std::max(crash, c);
  }
  for (TimeNs r : restarted_ns) {
    if (r <= t) restart = std::max(restart, r);
  }
  return crash >= 0 && crash >= restart;
}

std::vector<NodeId> Run::nodes_with(NodeRole role) const {
  std::vector<NodeId> out;
  for (const auto& [id, info] : nodes) {
    if (info.role == role) out.push_back(id);
  }
  return out;
}

Epoch Run::epoch_at(TimeNs t) const {
  Epoch e = 0;
  for (const auto& [when, epoch] : epoch_steps) {
    if (when > t) break;
    e = epoch;
  }
  return e;
}

const OwnerSpan* Run::owner_at(EntityId entity, TimeNs t) const {
  auto it = spans_of.find(entity);
  if (it == spans_of.end()) return nullptr;
  const OwnerSpan* best = nullptr;
  for (size_t i : it->second) {
    const OwnerSpan& s = spans[i];
    if (s.from_ns <= t && t < s.to_ns) best = &s;  // the latest one wins if spans overlap
  }
  return best;
}

TimeNs time_of_tick(const Run& run, Tick tick) {
  TimeNs best = kOpenNs;
  for (const auto& [node, samples] : run.ticks) {
    auto it = std::lower_bound(samples.begin(), samples.end(), tick, [](const TickSample& s, Tick t) { return s.tick < t; });
    if (it != samples.end() && it->tick == tick) best = std::min(best, it->time_ns);
  }
  return best == kOpenNs ? run.end_ns : best;
}

std::string seconds_since(const Run& run, TimeNs t) {
  return fmt::format("+{:.3f} s", static_cast<double>(t - run.begin_ns) / kNsPerSec);
}

std::string node_label(const Run& run, NodeId node) {
  auto it = run.nodes.find(node);
  const NodeRole role = it == run.nodes.end() ? NodeRole::kUnknown : it->second.role;
  return fmt::format("{} {}", node_role_name(role), node.value);
}

namespace {

// Which role a node plays, from what it records (a compute node ticks, a coordinator elects, a
// gateway opens sessions) and from what coordinators say of it (kNodeRegistered's a).
NodeRole role_from_emitted(TraceKind kind) {
  switch (kind) {
    case TraceKind::kTickDone:
    case TraceKind::kQueueDepths:
    case TraceKind::kLoadLevel:
    case TraceKind::kPromised:
    case TraceKind::kLeaseLapsed:
    case TraceKind::kEntitySpawned:
    case TraceKind::kGhostAdded:
    case TraceKind::kMigrationReleased:
    case TraceKind::kHandoffReceived:
      return NodeRole::kCompute;
    case TraceKind::kNodeRegistered:
    case TraceKind::kNodeLost:
    case TraceKind::kLeaderElected:
    case TraceKind::kCandidacy:
    case TraceKind::kSteppedDown:
    case TraceKind::kMigrationStarted:
    case TraceKind::kHeartbeatMissed:
    case TraceKind::kAdminCommand:
    case TraceKind::kAdminRefused:
    case TraceKind::kAdminEpochUsed:
      return NodeRole::kCoordinator;
    case TraceKind::kSessionOpened:
    case TraceKind::kInputForwarded:
    case TraceKind::kOwnerRouted:
    case TraceKind::kClientRedirected:
    case TraceKind::kClientDisconnected:
      return NodeRole::kGateway;
    default: return NodeRole::kUnknown;
  }
}

NodeRole role_from_wire(int64_t role) {
  switch (role) {
    case static_cast<int64_t>(Role::kCoordinator): return NodeRole::kCoordinator;
    case static_cast<int64_t>(Role::kCompute): return NodeRole::kCompute;
    case static_cast<int64_t>(Role::kGateway): return NodeRole::kGateway;
    default: return NodeRole::kUnknown;
  }
}

std::string marker_text(const Run& run, const TraceEvent& e) {
  const std::string who = node_label(run, e.node);
  const std::string peer = node_label(run, e.peer);
  switch (e.kind) {
    case TraceKind::kHostCrashed: return fmt::format("{} crashed", who);
    case TraceKind::kHostStarted: return fmt::format("{} restarted (incarnation {})", who, e.a);
    case TraceKind::kNodeLost: return fmt::format("{} declared {} lost (no heartbeat)", who, peer);
    case TraceKind::kHeartbeatMissed:
      return fmt::format("{}: no heartbeat from {} for {:.0f} ms ({} intervals)", who, peer, static_cast<double>(e.a) / kNsPerMs, e.b);
    case TraceKind::kLeaderElected: return fmt::format("{} leads epoch {} ({} promises)", who, e.a, e.b);
    case TraceKind::kCandidacy: return fmt::format("{} stands for epoch {}", who, e.a);
    case TraceKind::kSteppedDown: return fmt::format("{} stepped down: epoch {} seen from {}", who, e.a, peer);
    case TraceKind::kEpochChanged: return fmt::format("{} follows epoch {}", who, e.a);
    case TraceKind::kStaleEpochDropped: return fmt::format("{} dropped a message of stale epoch {} (knows {}) from {}", who, e.a, e.b, peer);
    case TraceKind::kEvicted: return fmt::format("{}: eviction ({} entities dropped) by/of {}", who, e.a, peer);
    case TraceKind::kLeaseLapsed: return fmt::format("{}: lease lapsed, {} entities frozen", who, e.a);
    case TraceKind::kPromised: return fmt::format("{} promised epoch {} holding {} entities", who, e.a, e.b);
    case TraceKind::kHandoffLost: return fmt::format("{}: handoff of entity {} to {} could not be sent", who, e.entity.value, peer);
    case TraceKind::kAdminCommand: return fmt::format("{}: admin command {} (epoch {})", who, e.a, e.b);
    case TraceKind::kAdminRefused: return fmt::format("{}: admin command {} refused (verdict {})", who, e.a, e.b);
    case TraceKind::kAdminEpochUsed: return fmt::format("{}: admin command {} under the admin epoch", who, e.a);
    case TraceKind::kLoadLevel:
      return fmt::format("{}: load {} permille of plan, {}", who, e.b, e.a == 0 ? "normal again" : e.a == 1 ? "shedding opportunistic load" : "shedding soft load");
    default: return fmt::format("{}: {}", who, kind_label(e.kind));
  }
}

bool is_marker(TraceKind kind) {
  switch (kind) {
    case TraceKind::kHostCrashed:
    case TraceKind::kNodeLost:
    case TraceKind::kHeartbeatMissed:
    case TraceKind::kLeaderElected:
    case TraceKind::kCandidacy:
    case TraceKind::kSteppedDown:
    case TraceKind::kEpochChanged:
    case TraceKind::kStaleEpochDropped:
    case TraceKind::kEvicted:
    case TraceKind::kLeaseLapsed:
    case TraceKind::kPromised:
    case TraceKind::kHandoffLost:
    case TraceKind::kAdminCommand:
    case TraceKind::kAdminRefused:
    case TraceKind::kAdminEpochUsed:
    case TraceKind::kLoadLevel:
      return true;
    default: return false;
  }
}

class Builder {
 public:
  Builder(const RunLimits& limits) : lim_(limits) {}

  Run build(const std::vector<TraceEvent>& records) {
    run_.records = records.size();
    if (!records.empty()) {
      run_.begin_ns = records.front().time_ns;
      run_.end_ns = records.back().time_ns;
    }
    for (const TraceEvent& e : records) learn_role(e);
    for (const TraceEvent& e : records) apply(e);
    return std::move(run_);
  }

 private:
  NodeInfo* node(NodeId id) {
    if (!id.valid()) return nullptr;
    auto it = run_.nodes.find(id);
    if (it != run_.nodes.end()) return &it->second;
    if (run_.nodes.size() >= lim_.nodes_max) {
      ++run_.dropped;
      return nullptr;
    }
    NodeInfo& info = run_.nodes[id];
    info.id = id;
    return &info;
  }

  void learn_role(const TraceEvent& e) {
    if (e.kind == TraceKind::kNodeRegistered) {
      if (NodeInfo* n = node(e.peer); n && n->role == NodeRole::kUnknown) n->role = role_from_wire(e.a);
    }
    const NodeRole role = role_from_emitted(e.kind);
    if (role == NodeRole::kUnknown) return;
    if (NodeInfo* n = node(e.node); n && n->role == NodeRole::kUnknown) n->role = role;
  }

  bool is_compute(NodeId id) const {
    auto it = run_.nodes.find(id);
    return it != run_.nodes.end() && it->second.role == NodeRole::kCompute;
  }

  void apply(const TraceEvent& e) {
    if (!e.node.valid()) return;  // clients, bots, and the simulator's fault records
    node(e.node);
    if (e.epoch > epoch_max_) {
      epoch_max_ = e.epoch;
      if (e.epoch != kEpochAdmin) run_.epoch_steps.emplace_back(e.time_ns, e.epoch);
    }
    if (is_marker(e.kind) || (e.kind == TraceKind::kHostStarted && e.a > 0)) add_marker(e);
    switch (e.kind) {
      case TraceKind::kHostCrashed: on_crash(e); break;
      case TraceKind::kHostStarted:
        if (e.a > 0) {
          if (NodeInfo* n = node(e.node)) n->restarted_ns.push_back(e.time_ns);
        }
        break;
      case TraceKind::kNodeLost:
        if (NodeInfo* n = node(e.peer)) n->lost_ns.push_back(e.time_ns);
        break;
      case TraceKind::kOwnershipGranted:
        if (is_compute(e.node)) on_grant(e);
        break;
      case TraceKind::kOwnershipRevoked: close_span(e.node, e.entity, e.time_ns, SpanEnd::kRevoked, {}); break;
      case TraceKind::kEntityDespawned: close_span(e.node, e.entity, e.time_ns, SpanEnd::kDespawned, {}); break;
      case TraceKind::kMigrationReleased:
        close_span(e.node, e.entity, e.time_ns, SpanEnd::kReleased, e.peer);
        if (Migration* m = open_migration(e.entity)) m->released_ns = e.time_ns;
        break;
      case TraceKind::kEvicted:
        if (is_compute(e.node)) close_all(e.node, e.time_ns, SpanEnd::kEvicted);
        break;
      case TraceKind::kMigrationStarted: on_migration_started(e); break;
      case TraceKind::kHandoffReceived:
        if (Migration* m = open_migration(e.entity)) m->handoff_ns = e.time_ns;
        break;
      case TraceKind::kGhostAdded: on_ghost_added(e); break;
      case TraceKind::kGhostDropped: close_ghost(e.node, e.entity, e.time_ns); break;
      case TraceKind::kQueueDepths: queues_[e.node] = e; break;
      case TraceKind::kSubscriberJoined: on_subscriber(e); break;
      case TraceKind::kSubscriberLeft: close_subscription(e.node, e.peer, e.time_ns); break;
      case TraceKind::kTickDone: on_tick(e); break;
      default: break;
    }
  }

  void add_marker(const TraceEvent& e) {
    if (run_.markers.size() >= lim_.markers_max) {
      ++run_.dropped;
      return;
    }
    run_.markers.push_back(Marker{e, marker_text(run_, e)});
  }

  void on_crash(const TraceEvent& e) {
    if (NodeInfo* n = node(e.node)) n->crashed_ns.push_back(e.time_ns);
    close_all(e.node, e.time_ns, SpanEnd::kCrashed);
    for (auto it = open_subs_.begin(); it != open_subs_.end();) {
      if (it->first.first == e.node || it->first.second == e.node) {
        run_.subscriptions[it->second].to_ns = e.time_ns;
        it = open_subs_.erase(it);
      } else {
        ++it;
      }
    }
    auto g = open_ghosts_.find(e.node);
    if (g == open_ghosts_.end()) return;
    for (const auto& [entity, index] : g->second) run_.ghosts[index].to_ns = e.time_ns;
    open_ghosts_.erase(g);
  }

  void on_grant(const TraceEvent& e) {
    close_span(e.node, e.entity, e.time_ns, SpanEnd::kRegranted, {});
    if (run_.spans.size() >= lim_.spans_max) {
      ++run_.dropped;
      return;
    }
    OwnerSpan s;
    s.entity = e.entity;
    s.node = e.node;
    s.from_ns = e.time_ns;
    s.tick = e.tick;
    s.epoch = e.epoch;
    s.generation = static_cast<uint64_t>(e.a);
    s.start = (e.b >= 0 && e.b <= 3) ? static_cast<SpanStart>(e.b) : SpanStart::kOther;
    const size_t index = run_.spans.size();
    run_.spans.push_back(s);
    run_.spans_of[e.entity].push_back(index);
    open_spans_[e.node][e.entity] = index;
    if (s.start == SpanStart::kMigration || s.start == SpanStart::kMigrationFromSnapshot) {
      if (Migration* m = open_migration(e.entity)) {
        m->done_ns = e.time_ns;
        m->from_snapshot = s.start == SpanStart::kMigrationFromSnapshot;
        if (!m->to.valid()) m->to = e.node;
        open_migrations_.erase(e.entity);
      }
    }
  }

  void close_span(NodeId node, EntityId entity, TimeNs t, SpanEnd why, NodeId to) {
    auto n = open_spans_.find(node);
    if (n == open_spans_.end()) return;
    auto it = n->second.find(entity);
    if (it == n->second.end()) return;
    OwnerSpan& s = run_.spans[it->second];
    s.to_ns = t;
    s.end = why;
    s.released_to = to;
    n->second.erase(it);
  }

  void close_all(NodeId node, TimeNs t, SpanEnd why) {
    auto n = open_spans_.find(node);
    if (n == open_spans_.end()) return;
    for (const auto& [entity, index] : n->second) {
      run_.spans[index].to_ns = t;
      run_.spans[index].end = why;
    }
    open_spans_.erase(n);
  }

  // The compute node holding an entity right now, by its own records (the latest grant wins).
  NodeId current_owner(EntityId entity) const {
    auto it = run_.spans_of.find(entity);
    if (it == run_.spans_of.end()) return {};
    for (auto i = it->second.rbegin(); i != it->second.rend(); ++i) {
      if (run_.spans[*i].end == SpanEnd::kOpen) return run_.spans[*i].node;
    }
    return {};
  }

  Migration* open_migration(EntityId entity) {
    auto it = open_migrations_.find(entity);
    return it == open_migrations_.end() ? nullptr : &run_.migrations[it->second];
  }

  void on_migration_started(const TraceEvent& e) {
    if (run_.migrations.size() >= lim_.migrations_max) {
      ++run_.dropped;
      return;
    }
    Migration m;
    m.entity = e.entity;
    m.from = current_owner(e.entity);
    m.to = e.peer;
    m.epoch = e.epoch;
    m.generation = static_cast<uint64_t>(e.a);
    m.started_ns = e.time_ns;
    open_migrations_[e.entity] = run_.migrations.size();  // an earlier one never finished: abandoned
    run_.migrations.push_back(m);
  }

  void on_ghost_added(const TraceEvent& e) {
    close_ghost(e.node, e.entity, e.time_ns);
    if (run_.ghosts.size() >= lim_.ghosts_max) {
      ++run_.dropped;
      return;
    }
    open_ghosts_[e.node][e.entity] = run_.ghosts.size();
    run_.ghosts.push_back(GhostSpan{e.entity, e.node, e.peer, e.time_ns, kOpenNs});
  }

  void close_ghost(NodeId holder, EntityId entity, TimeNs t) {
    auto n = open_ghosts_.find(holder);
    if (n == open_ghosts_.end()) return;
    auto it = n->second.find(entity);
    if (it == n->second.end()) return;
    run_.ghosts[it->second].to_ns = t;
    n->second.erase(it);
  }

  void on_subscriber(const TraceEvent& e) {
    close_subscription(e.node, e.peer, e.time_ns);
    if (run_.subscriptions.size() >= lim_.subscriptions_max) {
      ++run_.dropped;
      return;
    }
    open_subs_[{e.node, e.peer}] = run_.subscriptions.size();
    run_.subscriptions.push_back(Subscription{e.node, e.peer, role_from_wire(e.a), e.time_ns, kOpenNs});
  }

  void close_subscription(NodeId publisher, NodeId subscriber, TimeNs t) {
    auto it = open_subs_.find({publisher, subscriber});
    if (it == open_subs_.end()) return;
    run_.subscriptions[it->second].to_ns = t;
    open_subs_.erase(it);
  }

  void on_tick(const TraceEvent& e) {
    std::vector<TickSample>& samples = run_.ticks[e.node];
    if (tick_samples_ >= lim_.tick_samples_max) {
      ++run_.dropped;
      return;
    }
    ++tick_samples_;
    TickSample s;
    s.time_ns = e.time_ns;
    s.tick = e.tick;
    s.epoch = e.epoch;
    s.entities = e.a;
    s.duration_ns = e.b;
    auto q = queues_.find(e.node);
    if (q != queues_.end() && q->second.tick == e.tick) {
      s.has_queues = true;
      s.queues[0] = q->second.a >> 32;
      s.queues[1] = q->second.a & kQueueDepthFieldMax;
      s.queues[2] = q->second.b >> 32;
      s.queues[3] = q->second.b & kQueueDepthFieldMax;
      queues_.erase(q);
    }
    samples.push_back(s);
  }

  const RunLimits lim_;
  Run run_;
  Epoch epoch_max_ = 0;
  size_t tick_samples_ = 0;
  std::map<NodeId, std::map<EntityId, size_t>> open_spans_;
  std::map<NodeId, std::map<EntityId, size_t>> open_ghosts_;
  std::map<EntityId, size_t> open_migrations_;
  std::map<std::pair<NodeId, NodeId>, size_t> open_subs_;  // (publisher, subscriber) -> index
  std::map<NodeId, TraceEvent> queues_;  // the last kQueueDepths of each node, until its kTickDone
};

}  // namespace

Run build_run(const std::vector<TraceEvent>& records, const RunLimits& limits) { return Builder(limits).build(records); }

}  // namespace aether::viz
