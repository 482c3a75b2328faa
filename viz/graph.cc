// The ownership graph at one instant, as Graphviz DOT: a cluster per compute node in its colour,
// entities coloured by owner (or, past detail_entities_max, one summary box per node), ghost and
// feed edges, migrations in flight, and where recently moved entities came from.

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "viz/render.h"

namespace aether::viz {

namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22"};
constexpr const char* kDeadColour = "#999999";
constexpr const char* kMigrationColour = "#d62728";

std::string q(std::string_view text) { return "\"" + dot_escape(text) + "\""; }
std::string box_id(NodeId n) { return fmt::format("n{}", n.value); }
std::string entity_id(EntityId e) { return fmt::format("e{}", e.value); }

struct NodeState {
  bool crashed = false;
  TimeNs crashed_ns = -1;
  TimeNs lost_ns = -1;  // declared lost at or before the instant
};

NodeState state_at(const NodeInfo& info, TimeNs t) {
  NodeState s;
  s.crashed = info.crashed_at(t);
  for (TimeNs c : info.crashed_ns) {
    if (c <= t) s.crashed_ns = c;
  }
  for (TimeNs l : info.lost_ns) {
    if (l <= t) s.lost_ns = l;
  }
  return s;
}

// Everything the picture needs at instant t.
struct Snapshot {
  std::map<NodeId, std::vector<EntityId>> owned;             // compute node -> entities it owns
  std::map<std::pair<NodeId, NodeId>, size_t> ghost_pairs;   // (owner, holder) -> ghosts
  std::vector<const GhostSpan*> ghosts;
  std::vector<const Migration*> in_flight;
  std::map<std::pair<NodeId, NodeId>, std::map<SpanStart, size_t>> arrivals;  // (from, to) -> how -> count
  std::map<NodeId, size_t> orphans;  // entities whose last owner crashed, not owned again yet
  size_t entities = 0;
};

Snapshot take(const Run& run, const GraphOptions& opt) {
  const TimeNs t = opt.at_ns;
  Snapshot s;
  for (const auto& [entity, indices] : run.spans_of) {
    const OwnerSpan* now = nullptr;
    const OwnerSpan* before = nullptr;
    for (size_t i : indices) {
      const OwnerSpan& sp = run.spans[i];
      if (sp.from_ns > t) break;
      if (t < sp.to_ns) {
        if (now) before = now;
        now = &sp;
      } else {
        before = &sp;
      }
    }
    if (now) {
      s.owned[now->node].push_back(entity);
      ++s.entities;
      if (before && before->node != now->node && now->from_ns > t - opt.recent_ns) ++s.arrivals[{before->node, now->node}][now->start];
    } else if (before && before->end == SpanEnd::kCrashed) {
      ++s.orphans[before->node];
    }
  }
  for (const GhostSpan& g : run.ghosts) {
    if (g.from_ns > t) break;
    if (t >= g.to_ns) continue;
    ++s.ghost_pairs[{g.owner, g.holder}];
    s.ghosts.push_back(&g);
  }
  for (const Migration& m : run.migrations) {
    if (m.started_ns > t) break;
    if (m.in_flight_at(t) && t - m.started_ns < 10 * kNsPerSec) s.in_flight.push_back(&m);  // older ones were abandoned
  }
  return s;
}

std::string arrivals_label(const std::map<SpanStart, size_t>& how) {
  std::string out;
  for (const auto& [start, n] : how) {
    if (!out.empty()) out += ", ";
    out += fmt::format("{} {}", n, start == SpanStart::kRecovery ? "recovered" : span_start_name(start));
  }
  return out;
}

class DotWriter {
 public:
  DotWriter(const Run& run, const GraphOptions& opt) : run_(run), opt_(opt), snap_(take(run, opt)) {}

  std::string write() {
    detail_ = snap_.entities <= opt_.detail_entities_max;
    header();
    for (NodeId n : run_.nodes_with(NodeRole::kCoordinator)) coordinator(n);
    for (NodeId n : run_.nodes_with(NodeRole::kCompute)) compute(n);
    for (NodeId n : run_.nodes_with(NodeRole::kGateway)) gateway(n);
    feeds();
    ghosts();
    migrations();
    arrivals();
    legend();
    out_ += "}\n";
    return out_;
  }

 private:
  void header() {
    const Epoch epoch = run_.epoch_at(opt_.at_ns);
    std::string title = fmt::format("Ownership at {} (epoch {}){}{}", seconds_since(run_, opt_.at_ns), epoch,
                                    opt_.title.empty() ? "" : " — ", opt_.title);
    title += fmt::format("\n{} entities owned on {} compute nodes; {} ghosts held; {} migrations in flight{}", snap_.entities,
                         snap_.owned.size(), snap_.ghosts.size(), snap_.in_flight.size(),
                         detail_ ? "" : " (summary: one box per node, edges aggregated)");
    out_ += "digraph ownership {\n";
    out_ += fmt::format("  graph [label={}, labelloc=t, fontname=\"Helvetica\", fontsize=16, rankdir=LR, newrank=true, nodesep=0.3, ranksep=1.2];\n",
                        q(title));
    out_ += "  node [fontname=\"Helvetica\", fontsize=11];\n  edge [fontname=\"Helvetica\", fontsize=10];\n";
  }

  std::string dead_note(const NodeInfo& info) const {
    const NodeState st = state_at(info, opt_.at_ns);
    std::string note;
    if (st.crashed) note += fmt::format("\nCRASHED at {}", seconds_since(run_, st.crashed_ns));
    if (st.lost_ns >= 0) note += fmt::format("\ndeclared lost at {}", seconds_since(run_, st.lost_ns));
    return note;
  }

  bool dead(NodeId n) const {
    auto it = run_.nodes.find(n);
    return it != run_.nodes.end() && state_at(it->second, opt_.at_ns).crashed;
  }

  void coordinator(NodeId n) {
    const NodeInfo& info = run_.nodes.at(n);
    const bool down = dead(n);
    out_ += fmt::format("  {} [shape=box, style=\"rounded,filled{}\", fillcolor={}, label={}];\n", box_id(n), down ? ",dashed" : "",
                        down ? "\"#eeeeee\"" : "\"#fff7d6\"", q(fmt::format("coordinator {}{}", n.value, dead_note(info))));
  }

  void gateway(NodeId n) {
    const NodeInfo& info = run_.nodes.at(n);
    const bool down = dead(n);
    out_ += fmt::format("  {} [shape=box, style=\"filled{}\", fillcolor={}, label={}];\n", box_id(n), down ? ",dashed" : "",
                        down ? "\"#eeeeee\"" : "\"#e8f0fe\"", q(fmt::format("gateway {}{}", n.value, dead_note(info))));
  }

  void compute(NodeId n) {
    const NodeInfo& info = run_.nodes.at(n);
    const bool down = dead(n);
    const std::string colour = down ? kDeadColour : node_colour(run_, n);
    auto owned = snap_.owned.find(n);
    const size_t count = owned == snap_.owned.end() ? 0 : owned->second.size();
    size_t held = 0;
    for (const auto& [pair, k] : snap_.ghost_pairs) held += pair.second == n ? k : 0;
    auto orphans = snap_.orphans.find(n);
    std::string label = fmt::format("compute {}{}", n.value, dead_note(info));
    std::string box = fmt::format("owns {} entities\\nholds {} ghosts", count, held);
    if (orphans != snap_.orphans.end()) box += fmt::format("\\n{} entities lost with it, awaiting re-grant", orphans->second);
    out_ += fmt::format("  subgraph cluster_{} {{\n    label={}; style=\"rounded,filled{}\"; color={}; fillcolor={}; penwidth=2;\n", n.value, q(label),
                        down ? ",dashed" : "", q(colour), q(colour + "22"));
    out_ += fmt::format("    {} [shape=box, style=\"rounded,filled\", fillcolor=white, color={}, label=\"{}\"];\n", box_id(n), q(colour),
                        box);
    if (detail_ && owned != snap_.owned.end()) {
      for (EntityId e : owned->second) {
        out_ += fmt::format("    {} [shape=circle, style=filled, fillcolor={}, fontcolor=white, width=0.35, fixedsize=true, fontsize=9, "
                            "label=\"{}\", tooltip=\"entity {} owned by compute {}\"];\n",
                            entity_id(e), q(colour), e.value, e.value, n.value);
      }
    }
    out_ += "  }\n";
  }

  // Feeds: compute -> subscriber (gateway or compute), live at the instant.
  void feeds() {
    std::set<std::pair<NodeId, NodeId>> drawn;
    for (const Subscription& s : run_.subscriptions) {
      if (s.from_ns > opt_.at_ns) break;
      if (opt_.at_ns >= s.to_ns || !drawn.insert({s.publisher, s.subscriber}).second) continue;
      if (!run_.nodes.count(s.publisher) || !run_.nodes.count(s.subscriber)) continue;
      if (s.role == NodeRole::kCompute) continue;  // compute-to-compute feeds are drawn as their ghosts
      out_ += fmt::format("  {} -> {} [style=dotted, color=\"#555555\", arrowsize=0.6, tooltip=\"feed\"];\n", box_id(s.publisher),
                          box_id(s.subscriber));
    }
  }

  void ghosts() {
    if (detail_ && snap_.ghosts.size() <= opt_.detail_edges_max) {
      for (const GhostSpan* g : snap_.ghosts) {
        const OwnerSpan* owner = run_.owner_at(g->entity, opt_.at_ns);
        if (!owner) continue;  // an entity no longer owned: its ghost is stale
        out_ += fmt::format("  {} -> {} [style=dashed, color={}, arrowsize=0.5, tooltip=\"ghost of entity {} held by compute {}\"];\n",
                            entity_id(g->entity), box_id(g->holder), q(node_colour(run_, g->holder)), g->entity.value, g->holder.value);
      }
      return;
    }
    for (const auto& [pair, n] : snap_.ghost_pairs) {
      out_ += fmt::format("  {} -> {} [style=dashed, color={}, penwidth={}, label=\"{} ghosts\"];\n", box_id(pair.first), box_id(pair.second),
                          q(node_colour(run_, pair.second)), 1 + std::min<size_t>(n / 25, 4), n);
    }
  }

  void migrations() {
    std::map<std::pair<NodeId, NodeId>, size_t> pairs;
    for (const Migration* m : snap_.in_flight) {
      if (!m->from.valid() || !m->to.valid()) continue;
      if (detail_) {
        const std::string tail = run_.owner_at(m->entity, opt_.at_ns) ? entity_id(m->entity) : box_id(m->from);  // released: in transit
        out_ += fmt::format("  {} -> {} [color={}, penwidth=2.5, label=\"migrating\", tooltip=\"entity {}: {} -> {} since {}\"];\n",
                            tail, box_id(m->to), q(kMigrationColour), m->entity.value, m->from.value, m->to.value,
                            seconds_since(run_, m->started_ns));
      } else {
        ++pairs[{m->from, m->to}];
      }
    }
    for (const auto& [pair, n] : pairs) {
      out_ += fmt::format("  {} -> {} [color={}, penwidth=3, fontcolor={}, label=\"{} migrating\"];\n", box_id(pair.first), box_id(pair.second),
                          q(kMigrationColour), q(kMigrationColour), n);
    }
  }

  void arrivals() {
    for (const auto& [pair, how] : snap_.arrivals) {
      size_t n = 0;
      bool recovery = false;
      for (const auto& [start, k] : how) {
        n += k;
        recovery |= start == SpanStart::kRecovery;
      }
      const std::string colour = recovery ? "#000000" : "#666666";
      out_ += fmt::format("  {} -> {} [color={}, style=bold, penwidth={}, label={}];\n", box_id(pair.first), box_id(pair.second), q(colour),
                          1 + std::min<size_t>(n / 20, 4),
                          q(fmt::format("{} (moved in the last {:.0f} s)", arrivals_label(how), static_cast<double>(opt_.recent_ns) / kNsPerSec)));
    }
  }

  void legend() {
    out_ += "  legend [shape=plaintext, fontsize=10, label=<<table border=\"0\" cellborder=\"0\" cellspacing=\"2\">"
            "<tr><td align=\"left\"><b>legend</b></td></tr>"
            "<tr><td align=\"left\">box in a coloured frame: a compute node and what it owns</td></tr>"
            "<tr><td align=\"left\"><font color=\"#555555\">dashed: ghosts (read-only copies) fed from owner to holder</font></td></tr>"
            "<tr><td align=\"left\"><font color=\"#d62728\">red: migration in flight</font></td></tr>"
            "<tr><td align=\"left\">bold black: entities that arrived recently (recovered or migrated)</td></tr>"
            "<tr><td align=\"left\">dotted: state feed to a gateway; grey dashed frame: crashed</td></tr></table>>];\n";
  }

  const Run& run_;
  const GraphOptions& opt_;
  Snapshot snap_;
  bool detail_ = false;
  std::string out_;
};

}  // namespace

std::string node_colour(const Run& run, NodeId node) {
  const std::vector<NodeId> computes = run.nodes_with(NodeRole::kCompute);
  auto it = std::find(computes.begin(), computes.end(), node);
  if (it == computes.end()) return "#444444";
  return kPalette[static_cast<size_t>(it - computes.begin()) % std::size(kPalette)];
}

std::string ownership_dot(const Run& run, const GraphOptions& options) { return DotWriter(run, options).write(); }

}  // namespace aether::viz
