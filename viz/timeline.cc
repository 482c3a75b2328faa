// The migration timeline: a lane per compute node, every entity a thin thread in the lane of its
// owner, links where it moved (migration or recovery), crashes, losses, missed heartbeats and epoch
// changes marked. Self-contained HTML with inline SVG.

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "viz/html.h"
#include "viz/render.h"

namespace aether::viz {

namespace {

constexpr int kWidth = 1500;
constexpr double kLeft = 150;
constexpr double kRight = kWidth - 20;
constexpr double kTop = 60;
constexpr double kLaneH = 150;
constexpr double kLaneGap = 14;
constexpr double kCoordH = 50;
constexpr const char* kMigrationColour = "#1f5fbf";
constexpr const char* kRecoveryColour = "#d62728";
constexpr const char* kEpochColour = "#8e44ad";

struct Layout {
  TimeNs t0 = 0, t1 = 1;
  std::map<NodeId, double> lane_top;  // compute nodes
  std::map<EntityId, size_t> row;     // entity -> row within a lane
  size_t rows = 1;
  double coord_top = kTop;
  double bottom = kTop;
  double x(TimeNs t) const { return html::x_of(t, t0, t1, kLeft, kRight); }
  double y(NodeId node, EntityId e) const {
    auto it = lane_top.find(node);
    if (it == lane_top.end()) return coord_top + kCoordH / 2;
    const size_t r = row.count(e) ? row.at(e) : 0;
    return it->second + 8 + (kLaneH - 16) * static_cast<double>(r) / static_cast<double>(std::max<size_t>(rows, 2) - 1);
  }
  double lane_mid(NodeId node) const {
    auto it = lane_top.find(node);
    return it == lane_top.end() ? coord_top + kCoordH / 2 : it->second + kLaneH / 2;
  }
};

Layout layout(const Run& run) {
  Layout l;
  l.t0 = run.begin_ns;
  l.t1 = std::max(run.end_ns, run.begin_ns + 1);
  double y = kTop + kCoordH + kLaneGap;
  for (NodeId n : run.nodes_with(NodeRole::kCompute)) {
    l.lane_top[n] = y;
    y += kLaneH + kLaneGap;
  }
  l.bottom = y;
  for (const auto& [entity, spans] : run.spans_of) l.row.emplace(entity, l.row.size());
  l.rows = l.row.size();
  return l;
}

std::string tip(const std::string& text) { return "<title>" + xml_escape(text) + "</title>"; }

class TimelineWriter {
 public:
  TimelineWriter(const Run& run, const TimelineOptions& opt) : run_(run), opt_(opt), l_(layout(run)) {}

  std::string write() {
    std::string title = "Migration timeline";
    if (!opt_.title.empty()) title += " — " + opt_.title;
    out_ += html::page_begin(title);
    intro();
    const int height = static_cast<int>(l_.bottom + 30);
    out_ += html::zoomable_svg_begin(kWidth, height, "timeline");
    out_ += html::time_axis(run_, l_.t0, l_.t1, kLeft, kRight, l_.bottom, kTop);
    lanes();
    load();
    threads();
    moves();
    markers();
    out_ += html::zoomable_svg_end();
    event_list();
    out_ += html::page_end();
    return out_;
  }

 private:
  void intro() {
    size_t migrations = 0, recoveries = 0;
    for (const OwnerSpan& s : run_.spans) {
      migrations += (s.start == SpanStart::kMigration || s.start == SpanStart::kMigrationFromSnapshot) ? 1 : 0;
      recoveries += s.start == SpanStart::kRecovery ? 1 : 0;
    }
    size_t crashes = 0, losses = 0;
    for (const auto& [id, n] : run_.nodes) {
      crashes += n.crashed_ns.size();
      losses += n.lost_ns.size();
    }
    out_ += fmt::format(
        "<p>{} compute node(s), {} entities, {:.1f} s of trace. <b>{}</b> live migrations, <b>{}</b> recoveries after a node loss, "
        "<b>{}</b> crash(es), <b>{}</b> node(s) declared lost, <b>{}</b> epoch(s).</p>\n",
        l_.lane_top.size(), run_.spans_of.size(), static_cast<double>(run_.end_ns - run_.begin_ns) / kNsPerSec, migrations, recoveries,
        crashes, losses, run_.epoch_steps.size());
    out_ += fmt::format(
        "<p>Each lane is a compute node; each thin grey line is one entity, drawn in the lane of the node that owns it (its row is the "
        "same in every lane). <span style=\"color:{}\">Blue links</span>: live migration (the old owner releases, the new owner gets the "
        "handoff and the grant). <span style=\"color:{}\">Red links</span>: recovery: the owner was lost and the coordinator re-granted "
        "the entity elsewhere. Hatched grey: the node is down. <span style=\"color:{}\">Purple lines</span>: a new epoch (a coordinator "
        "took over). Orange triangles: heartbeats the coordinator missed. The shaded area in each lane is how many entities it owns. "
        "Hover anything for entity, tick and epoch.</p>\n",
        kMigrationColour, kRecoveryColour, kEpochColour);
    if (run_.dropped > 0) out_ += fmt::format("<p><b>{} items over viz's limits were left out.</b></p>\n", run_.dropped);
  }

  void lanes() {
    out_ += "<defs><pattern id=\"down\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">"
            "<rect width=\"8\" height=\"8\" fill=\"#f2f2f2\"/><line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"8\" stroke=\"#bbb\" stroke-width=\"3\"/>"
            "</pattern></defs>\n";
    out_ += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"#fffbea\" stroke=\"#ddd\"/>"
                        "<text x=\"8\" y=\"{}\" font-size=\"12\">coordinators</text>\n",
                        kLeft, l_.coord_top, kRight - kLeft, kCoordH, l_.coord_top + kCoordH / 2 + 4);
    for (const auto& [node, top] : l_.lane_top) {
      const std::string colour = node_colour(run_, node);
      out_ += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\" fill-opacity=\"0.06\" stroke=\"{}\"/>"
                          "<text x=\"8\" y=\"{}\" font-size=\"13\" font-weight=\"bold\" fill=\"{}\">compute {}</text>\n",
                          kLeft, top, kRight - kLeft, kLaneH, colour, colour, top + kLaneH / 2 + 4, colour, node.value);
      const NodeInfo& info = run_.nodes.at(node);
      for (TimeNs c : info.crashed_ns) {
        TimeNs back = l_.t1;
        for (TimeNs r : info.restarted_ns) {
          if (r > c) back = std::min(back, r);
        }
        out_ += fmt::format("<rect x=\"{:.1f}\" y=\"{}\" width=\"{:.1f}\" height=\"{}\" fill=\"url(#down)\">{}</rect>\n", l_.x(c), top,
                            std::max(1.0, l_.x(back) - l_.x(c)), kLaneH,
                            tip(fmt::format("compute {} down from {}{}", node.value, seconds_since(run_, c),
                                            back < l_.t1 ? " until " + seconds_since(run_, back) : "")));
      }
    }
  }

  // Entities owned per tick, as a shaded area at the bottom of each lane.
  void load() {
    int64_t most = 1;
    for (const auto& [node, samples] : run_.ticks) {
      for (const TickSample& s : samples) most = std::max(most, s.entities);
    }
    for (const auto& [node, samples] : run_.ticks) {
      auto top = l_.lane_top.find(node);
      if (top == l_.lane_top.end() || samples.empty()) continue;
      const double base = top->second + kLaneH;
      std::string points = fmt::format("{:.1f},{:.1f}", l_.x(samples.front().time_ns), base);
      const size_t step = std::max<size_t>(1, samples.size() / 1500);  // bounded point count
      for (size_t i = 0; i < samples.size(); i += step) {
        const double h = (kLaneH - 4) * static_cast<double>(std::max<int64_t>(0, samples[i].entities)) / static_cast<double>(most);
        points += fmt::format(" {:.1f},{:.1f}", l_.x(samples[i].time_ns), base - h);
      }
      points += fmt::format(" {:.1f},{:.1f}", l_.x(samples.back().time_ns), base);
      out_ += fmt::format("<polygon points=\"{}\" fill=\"{}\" fill-opacity=\"0.13\" stroke=\"none\">{}</polygon>\n", points,
                          node_colour(run_, node), tip(fmt::format("compute {}: entities owned per tick (at most {})", node.value, most)));
    }
  }

  void threads() {
    for (const OwnerSpan& s : run_.spans) {
      if (drawn_ >= opt_.moves_drawn_max) {
        ++left_out_;
        continue;
      }
      if (!l_.lane_top.count(s.node)) continue;
      ++drawn_;
      const TimeNs end = s.to_ns == kOpenNs ? l_.t1 : s.to_ns;
      const double y = l_.y(s.node, s.entity);
      out_ += fmt::format(
          "<line x1=\"{:.1f}\" y1=\"{:.2f}\" x2=\"{:.1f}\" y2=\"{:.2f}\" stroke=\"#777\" stroke-opacity=\"0.45\" stroke-width=\"0.8\">{}</line>\n",
          l_.x(s.from_ns), y, std::max(l_.x(s.from_ns) + 0.5, l_.x(end)), y,
          tip(fmt::format("entity {} on compute {} from {} (tick {}, epoch {}, generation {}, {}) to {} ({})", s.entity.value, s.node.value,
                          seconds_since(run_, s.from_ns), s.tick, s.epoch, s.generation, span_start_name(s.start),
                          s.to_ns == kOpenNs ? "the end" : seconds_since(run_, s.to_ns), span_end_name(s.end))));
    }
  }

  void moves() {
    for (const auto& [entity, indices] : run_.spans_of) {
      for (size_t k = 1; k < indices.size(); ++k) {
        const OwnerSpan& prev = run_.spans[indices[k - 1]];
        const OwnerSpan& next = run_.spans[indices[k]];
        if (prev.node == next.node) continue;
        if (drawn_ >= opt_.moves_drawn_max) {
          ++left_out_;
          continue;
        }
        ++drawn_;
        const bool recovery = next.start == SpanStart::kRecovery;
        const TimeNs left = prev.to_ns == kOpenNs ? next.from_ns : std::min(prev.to_ns, next.from_ns);
        out_ += fmt::format(
            "<line x1=\"{:.1f}\" y1=\"{:.2f}\" x2=\"{:.1f}\" y2=\"{:.2f}\" stroke=\"{}\" stroke-width=\"{}\" stroke-opacity=\"0.8\">{}</line>\n",
            l_.x(left), l_.y(prev.node, entity), l_.x(next.from_ns) + 0.3, l_.y(next.node, entity), recovery ? kRecoveryColour : kMigrationColour,
            recovery ? 1.4 : 1.0,
            tip(fmt::format("entity {}: compute {} -> compute {} by {} at {} (tick {}, epoch {}, generation {}){}", entity.value, prev.node.value,
                            next.node.value, recovery ? "recovery" : span_start_name(next.start), seconds_since(run_, next.from_ns), next.tick,
                            next.epoch, next.generation,
                            prev.end == SpanEnd::kCrashed ? fmt::format("; the old owner crashed at {}", seconds_since(run_, prev.to_ns)) : "")));
      }
    }
    if (left_out_ > 0) {
      out_ += fmt::format("<text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"#c00\">{} more spans and moves not drawn (limit {})</text>\n", kLeft,
                          kTop - 8, left_out_, opt_.moves_drawn_max);
    }
  }

  void vertical(TimeNs t, const char* colour, double width, const char* dash, const std::string& label, const std::string& hover) {
    const double x = l_.x(t);
    out_ += fmt::format("<g><line x1=\"{0:.1f}\" y1=\"{1}\" x2=\"{0:.1f}\" y2=\"{2}\" stroke=\"{3}\" stroke-width=\"{4}\" stroke-dasharray=\"{5}\"/>"
                        "<text x=\"{6:.1f}\" y=\"{7}\" font-size=\"11\" fill=\"{3}\">{8}</text>{9}</g>\n",
                        x, kTop - 20, l_.bottom, colour, width, dash, x + 3, kTop - 22 + 12 * (labels_++ % 3), xml_escape(label), tip(hover));
  }

  void markers() {
    for (size_t i = 1; i < run_.epoch_steps.size(); ++i) {
      const auto& [t, epoch] = run_.epoch_steps[i];
      vertical(t, kEpochColour, 2, "none", fmt::format("epoch {}", epoch),
               fmt::format("epoch {} first seen at {}: a coordinator took over; older epochs' messages are dropped from now on", epoch,
                           seconds_since(run_, t)));
    }
    for (const Marker& m : run_.markers) {
      const TraceEvent& e = m.record;
      const std::string hover = fmt::format("{} — at {}, tick {}, epoch {}", m.text, seconds_since(run_, e.time_ns), e.tick, e.epoch);
      switch (e.kind) {
        case TraceKind::kHostCrashed: vertical(e.time_ns, kRecoveryColour, 2, "6,3", m.text, hover); break;
        case TraceKind::kNodeLost: vertical(e.time_ns, "#7b0000", 1.5, "2,2", fmt::format("{} lost", e.peer.value), hover); break;
        case TraceKind::kHeartbeatMissed: {
          const double x = l_.x(e.time_ns), y = l_.lane_mid(e.peer) - kLaneH / 2 + 6;
          out_ += fmt::format("<path d=\"M{:.1f},{:.1f} l-5,-8 l10,0 z\" fill=\"#f39c12\">{}</path>\n", x, y + 8, y, tip(hover));
          break;
        }
        case TraceKind::kLeaderElected:
        case TraceKind::kCandidacy:
        case TraceKind::kSteppedDown:
        case TraceKind::kStaleEpochDropped:
        case TraceKind::kEvicted:
        case TraceKind::kLeaseLapsed:
        case TraceKind::kPromised:
        case TraceKind::kHandoffLost:
        case TraceKind::kAdminCommand: {
          const bool coord = !l_.lane_top.count(e.node);
          const double x = l_.x(e.time_ns), y = coord ? l_.coord_top + kCoordH / 2 : l_.lane_mid(e.node) - kLaneH / 2 + 6;
          const char* colour = e.kind == TraceKind::kLeaderElected ? kEpochColour : (e.kind == TraceKind::kStaleEpochDropped ? "#555" : "#c0392b");
          out_ += fmt::format("<circle cx=\"{:.1f}\" cy=\"{:.1f}\" r=\"{}\" fill=\"{}\">{}</circle>\n", x, y,
                              e.kind == TraceKind::kLeaderElected ? 6 : 3.5, colour, tip(hover));
          break;
        }
        default: break;
      }
    }
  }

  // The cluster events as a list under the picture, for reading without hovering.
  void event_list() {
    out_ += "<h2>Cluster events</h2>\n<table><tr><th>time</th><th>node</th><th>tick</th><th>epoch</th><th>what</th></tr>\n";
    size_t shown = 0, stale = 0;
    for (const Marker& m : run_.markers) {
      if (m.record.kind == TraceKind::kStaleEpochDropped || m.record.kind == TraceKind::kEpochChanged) {
        stale += m.record.kind == TraceKind::kStaleEpochDropped ? 1 : 0;
        continue;  // many, and summarised below
      }
      if (++shown > 500) continue;
      out_ += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>\n", seconds_since(run_, m.record.time_ns),
                          xml_escape(node_label(run_, m.record.node)), m.record.tick, m.record.epoch, xml_escape(m.text));
    }
    out_ += "</table>\n";
    if (shown > 500) out_ += fmt::format("<p>{} more events not listed.</p>\n", shown - 500);
    if (stale > 0) out_ += fmt::format("<p>{} messages of a stale epoch were dropped (hover the grey dots).</p>\n", stale);
  }

  const Run& run_;
  const TimelineOptions& opt_;
  Layout l_;
  std::string out_;
  size_t drawn_ = 0;
  size_t left_out_ = 0;
  size_t labels_ = 0;
};

}  // namespace

std::string migration_timeline_html(const Run& run, const TimelineOptions& options) { return TimelineWriter(run, options).write(); }

}  // namespace aether::viz
