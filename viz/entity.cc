// One entity's life across nodes: every grant, release, handoff, ghost, input, intent and state
// change, in trace order. Runs of inputs forwarded on the same route are folded into one line.

#include <fmt/format.h>

#include "viz/html.h"
#include "viz/render.h"

namespace aether::viz {

namespace {

struct Line {
  const TraceEvent* first = nullptr;
  std::string what;
};

const char* ghost_reason(int64_t a) {
  switch (a) {
    case static_cast<int64_t>(GhostDropReason::kLeftInterest): return "left the holder's interest";
    case static_cast<int64_t>(GhostDropReason::kFeedReset): return "the owner's feed restarted";
    case static_cast<int64_t>(GhostDropReason::kOwnerGone): return "the owner's link went away";
    case static_cast<int64_t>(GhostDropReason::kNowOurs): return "the holder owns it now";
    default: return "unknown reason";
  }
}

std::string describe(const Run& run, const TraceEvent& e) {
  const std::string peer = node_label(run, e.peer);
  auto grant_kind = [](int64_t b) {
    return b == 0 ? "spawn" : b == 1 ? "recovery" : b == 2 ? "migration (with handoff)" : b == 3 ? "migration from snapshot" : "grant";
  };
  const bool coordinator = run.nodes.count(e.node) && run.nodes.at(e.node).role == NodeRole::kCoordinator;
  switch (e.kind) {
    case TraceKind::kOwnershipGranted:
      if (coordinator) return fmt::format("coordinator grants it to {} ({}), generation {}", peer, grant_kind(e.b), e.a);
      return fmt::format("OWNER from now: {}, generation {}", grant_kind(e.b), e.a);
    case TraceKind::kOwnershipRevoked: return fmt::format("ownership revoked (generation {})", e.a);
    case TraceKind::kMigrationStarted: return fmt::format("migration to {} starts (generation {})", peer, e.a);
    case TraceKind::kMigrationReleased: return fmt::format("released to {}: stops writing it, handoff sent", peer);
    case TraceKind::kHandoffReceived: return fmt::format("handoff received from {}{}", peer, e.b ? " (grant was here first)" : ", waiting for the grant");
    case TraceKind::kHandoffLost: return fmt::format("handoff to {} could not be sent", peer);
    case TraceKind::kGhostAdded: return fmt::format("holds a ghost of it, fed by {} (version {})", peer, e.b);
    case TraceKind::kGhostDropped: return fmt::format("ghost dropped: {}", ghost_reason(e.a));
    case TraceKind::kIntentSent: return fmt::format("intent: entity {} fires at it; sent to its owner {}", e.a, peer);
    case TraceKind::kEntitySpawned: return fmt::format("spawned at ({}, {}) mm", e.a, e.b);
    case TraceKind::kEntityDespawned: return "despawned here";
    case TraceKind::kEntityDamaged: return fmt::format("damaged by {}: hp {}", e.a, e.b);
    case TraceKind::kEntityDied: return fmt::format("died (killed by entity {})", e.a);
    case TraceKind::kEntityRespawned: return fmt::format("respawned at ({}, {}) mm", e.a, e.b);
    case TraceKind::kSkillUsed: return fmt::format("used skill {} ({} intents)", e.a, e.b);
    case TraceKind::kIntentApplied: return fmt::format("intent {:x} applied (action {})", e.a, e.b);
    case TraceKind::kSessionOpened: return fmt::format("client session {} opened; owner {}", e.a, peer);
    case TraceKind::kSessionClosed: return fmt::format("client session {} closed", e.a);
    case TraceKind::kSessionResumed: return fmt::format("client resumed through {}", peer);
    case TraceKind::kClientRedirected: return fmt::format("client session {} sent to its region's gateway {}", e.a, peer);
    case TraceKind::kClientDisconnected: return fmt::format("client disconnected (reason {})", e.a);
    case TraceKind::kOwnerRouted: return fmt::format("inputs now routed to {} (was {})", peer, node_label(run, NodeId(static_cast<uint32_t>(e.a))));
    case TraceKind::kQueueRefused: return fmt::format("input refused: queue {} full ({} refused in all)", e.a, e.b);
    case TraceKind::kAdminCommand: return fmt::format("admin command {} (epoch {}), node argument {}", e.a, e.b, e.peer.value);
    default: return fmt::format("{} a={} b={} peer={}", kind_label(e.kind), e.a, e.b, e.peer.value);
  }
}

std::vector<Line> lines_of(const Run& run, const std::vector<TraceEvent>& records, const EntityOptions& opt, size_t* left_out) {
  std::vector<Line> lines;
  const TraceEvent* run_first = nullptr;  // a run of inputs forwarded on one route
  const TraceEvent* run_last = nullptr;
  size_t run_n = 0;
  auto push = [&](Line line) {
    if (lines.size() >= opt.lines_max) {
      ++*left_out;
      return;
    }
    lines.push_back(std::move(line));
  };
  auto close_run = [&] {
    if (!run_first) return;
    push(Line{run_first, run_n == 1 ? fmt::format("input {} forwarded to {}", run_first->a, node_label(run, run_first->peer))
                                    : fmt::format("inputs {}..{} ({}) forwarded to {}, until {}", run_first->a, run_last->a, run_n,
                                                  node_label(run, run_first->peer), seconds_since(run, run_last->time_ns))});
    run_first = run_last = nullptr;
    run_n = 0;
  };
  for (const TraceEvent& e : records) {
    if (e.entity != opt.entity || e.kind == TraceKind::kMessageDelivered) continue;
    if (e.kind == TraceKind::kInputForwarded) {
      if (run_first && (run_first->node != e.node || run_first->peer != e.peer)) close_run();
      if (!run_first) run_first = &e;
      run_last = &e;
      ++run_n;
      continue;
    }
    close_run();
    push(Line{&e, describe(run, e)});
  }
  close_run();
  return lines;
}

}  // namespace

std::string entity_timeline_text(const Run& run, const std::vector<TraceEvent>& records, const EntityOptions& opt) {
  size_t left_out = 0;
  const std::vector<Line> lines = lines_of(run, records, opt, &left_out);
  std::string out = fmt::format("entity {}: {} line(s)\n", opt.entity.value, lines.size());
  out += fmt::format("{:>12}  {:>6}  {:>5}  {:<16}  {}\n", "time", "tick", "epoch", "node", "what");
  for (const Line& l : lines) {
    out += fmt::format("{:>12}  {:>6}  {:>5}  {:<16}  {}\n", seconds_since(run, l.first->time_ns), l.first->tick, l.first->epoch,
                       node_label(run, l.first->node), l.what);
  }
  if (left_out > 0) out += fmt::format("... {} more line(s) not shown (limit {})\n", left_out, opt.lines_max);
  if (lines.empty()) out += "no record names this entity\n";
  return out;
}

std::string entity_timeline_html(const Run& run, const std::vector<TraceEvent>& records, const EntityOptions& opt) {
  size_t left_out = 0;
  const std::vector<Line> lines = lines_of(run, records, opt, &left_out);
  std::string out = html::page_begin(fmt::format("Entity {}", opt.entity.value));
  out += "<p>Every record naming this entity, from every node, in time order. OWNER lines are the compute node's own grant: "
         "from then on it writes the entity. Rows are tinted with the colour of the node that recorded them.</p>\n";
  out += "<table><tr><th>time</th><th>tick</th><th>epoch</th><th>node</th><th>what</th></tr>\n";
  for (const Line& l : lines) {
    const bool compute = run.nodes.count(l.first->node) && run.nodes.at(l.first->node).role == NodeRole::kCompute;
    out += fmt::format("<tr style=\"background:{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n",
                       compute ? node_colour(run, l.first->node) + "22" : "#ffffff", seconds_since(run, l.first->time_ns), l.first->tick,
                       l.first->epoch, xml_escape(node_label(run, l.first->node)), xml_escape(l.what));
  }
  out += "</table>\n";
  if (left_out > 0) out += fmt::format("<p>{} more line(s) not shown (limit {}).</p>\n", left_out, opt.lines_max);
  if (lines.empty()) out += "<p>No record names this entity.</p>\n";
  out += html::page_end();
  return out;
}

}  // namespace aether::viz
