// Per compute node: tick duration, entities owned and the four queue depths, tick by tick, as
// inline SVG line charts in one HTML page.

#include <algorithm>

#include <fmt/format.h>

#include "viz/html.h"
#include "viz/render.h"

namespace aether::viz {

namespace {

constexpr int kW = 1200;
constexpr int kH = 180;
constexpr double kL = 70, kR = kW - 20, kT = 14, kB = kH - 26;
constexpr const char* kQueueColours[4] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e"};

struct Series {
  std::string name;
  std::string colour;
  std::vector<std::pair<TimeNs, double>> points;
};

// Longer series are reduced to the maximum of each bucket, so a spike is never averaged away.
std::vector<std::pair<TimeNs, double>> reduce(const std::vector<std::pair<TimeNs, double>>& in, size_t max_points) {
  if (in.size() <= max_points || max_points == 0) return in;
  std::vector<std::pair<TimeNs, double>> out;
  const size_t per = (in.size() + max_points - 1) / max_points;
  for (size_t i = 0; i < in.size(); i += per) {
    std::pair<TimeNs, double> best = in[i];
    for (size_t j = i; j < std::min(in.size(), i + per); ++j) {
      if (in[j].second > best.second) best = in[j];
    }
    out.push_back(best);
  }
  return out;
}

std::string chart(const Run& run, const std::string& title, const std::string& unit, const std::vector<Series>& series, size_t max_points) {
  double top = 0;
  for (const Series& s : series) {
    for (const auto& [t, v] : s.points) top = std::max(top, v);
  }
  if (top <= 0) top = 1;
  const TimeNs t0 = run.begin_ns, t1 = std::max(run.end_ns, run.begin_ns + 1);
  std::string out = fmt::format("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{}\" viewBox=\"0 0 {} {}\">\n", kW, kH, kW, kH);
  out += fmt::format("<text x=\"{}\" y=\"11\" font-size=\"12\" font-weight=\"bold\">{}</text>\n", kL, xml_escape(title));
  out += fmt::format("<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"none\" stroke=\"#ccc\"/>\n", kL, kT, kR - kL, kB - kT);
  out += html::time_axis(run, t0, t1, kL, kR, kB, kT);
  for (int i = 0; i <= 2; ++i) {
    const double v = top * i / 2, y = kB - (kB - kT) * i / 2;
    out += fmt::format("<text x=\"{}\" y=\"{:.1f}\" font-size=\"10\" text-anchor=\"end\" fill=\"#555\">{:.4g} {}</text>\n", kL - 4, y + 3, v,
                       xml_escape(unit));
  }
  double legend_x = kL + 300;
  for (const Series& s : series) {
    std::string points;
    for (const auto& [t, v] : reduce(s.points, max_points)) {
      points += fmt::format("{:.1f},{:.1f} ", html::x_of(t, t0, t1, kL, kR), kB - (kB - kT) * v / top);
    }
    double peak = 0;
    for (const auto& [t, v] : s.points) peak = std::max(peak, v);
    out += fmt::format("<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"1.2\"><title>{}: peak {:.4g} {}</title></polyline>\n",
                       points, s.colour, xml_escape(s.name), peak, xml_escape(unit));
    out += fmt::format("<text x=\"{:.0f}\" y=\"11\" font-size=\"11\" fill=\"{}\">{} (peak {:.4g})</text>\n", legend_x, s.colour,
                       xml_escape(s.name), peak);
    legend_x += 170;
  }
  return out + "</svg>\n";
}

}  // namespace

std::string tick_charts_html(const Run& run, const ChartOptions& opt) {
  std::string title = "Ticks and queues per compute node";
  if (!opt.title.empty()) title += " — " + opt.title;
  std::string out = html::page_begin(title);
  bool timed = false;
  for (const auto& [node, samples] : run.ticks) {
    for (const TickSample& s : samples) timed |= s.duration_ns > 0;
  }
  out += "<p>One point per tick of each compute node. Queue depths are the high-water mark within the tick: the InputQueue before "
         "phase 1 drains it, the IntentQueue before phase 4, the OutputQueue before phase 6 flushes it, the SimulationQueue at the end. "
         "Hover a line for its peak.</p>\n";
  if (!timed) out += "<p><b>No tick durations in this trace:</b> a simulated run does not measure them (virtual time stands still inside a tick); run "
                     "<code>aether local --trace</code> or real processes for durations.</p>\n";
  for (const auto& [node, samples] : run.ticks) {
    if (samples.empty()) continue;
    out += fmt::format("<h2 style=\"color:{}\">{}</h2>\n", node_colour(run, node), xml_escape(node_label(run, node)));
    Series dur{"tick duration", node_colour(run, node), {}};
    Series ent{"entities owned", node_colour(run, node), {}};
    std::vector<Series> queues;
    for (int q = 0; q < 4; ++q) queues.push_back(Series{kQueueNames[q], kQueueColours[q], {}});
    bool any_queues = false;
    for (const TickSample& s : samples) {
      dur.points.emplace_back(s.time_ns, static_cast<double>(s.duration_ns) / kNsPerMs);
      ent.points.emplace_back(s.time_ns, static_cast<double>(s.entities));
      if (!s.has_queues) continue;
      any_queues = true;
      for (int q = 0; q < 4; ++q) queues[q].points.emplace_back(s.time_ns, static_cast<double>(s.queues[q]));
    }
    if (timed) out += chart(run, "tick duration", "ms", {dur}, opt.points_max);
    out += chart(run, "entities owned", "", {ent}, opt.points_max);
    if (any_queues) out += chart(run, "queue depths (high-water per tick)", "", queues, opt.points_max);
  }
  if (run.ticks.empty()) out += "<p>No compute node ticked in this trace.</p>\n";
  out += html::page_end();
  return out;
}

}  // namespace aether::viz
