#pragma once
// The renderers: each takes the model (viz/model.h) and returns a whole file's text. None does I/O;
// `aether viz` (app/viz_command.cc) reads the traces, writes the files and runs Graphviz.

#include <string>

#include "viz/model.h"

namespace aether::viz {

// A colour per compute node, the same in every picture: the node's rank among compute nodes.
std::string node_colour(const Run& run, NodeId node);

// --- Ownership graph at one instant (Graphviz DOT). ---
struct GraphOptions {
  TimeNs at_ns = 0;
  std::string title;                    // e.g. the trace file's name
  size_t detail_entities_max = 80;      // more entities than this: one box per node, edges aggregated
  size_t detail_edges_max = 400;        // ghost edges drawn one by one in detail mode, at most
  TimeNs recent_ns = 3 * kNsPerSec;     // "moved here recently" looks back this far
};
std::string ownership_dot(const Run& run, const GraphOptions& options);

// --- Migration timeline of the whole run (self-contained HTML with inline SVG and a little JS). ---
struct TimelineOptions {
  std::string title;
  size_t moves_drawn_max = 6000;  // entity moves drawn one by one; beyond, the rest are counted
};
std::string migration_timeline_html(const Run& run, const TimelineOptions& options);

// --- One entity's life across nodes, in order. ---
struct EntityOptions {
  EntityId entity{};
  size_t lines_max = 5000;  // further lines are counted, not printed
};
// Text for a terminal; the records are the merged trace (the model alone lacks inputs and damage).
std::string entity_timeline_text(const Run& run, const std::vector<TraceEvent>& records, const EntityOptions& options);
std::string entity_timeline_html(const Run& run, const std::vector<TraceEvent>& records, const EntityOptions& options);

// --- Tick duration, entities and queue depths per compute node (HTML with inline SVG charts). ---
struct ChartOptions {
  std::string title;
  size_t points_max = 2000;  // per series; longer series are reduced to per-bucket maxima
};
std::string tick_charts_html(const Run& run, const ChartOptions& options);

// --- Chrome trace-event JSON (Perfetto, chrome://tracing): one track per node. ---
struct ChromeOptions {
  size_t events_max = 2'000'000;  // further events are left out and counted in the metadata
};
std::string chrome_trace_json(const Run& run, const ChromeOptions& options);

}  // namespace aether::viz
