#pragma once
// `aether viz graph|timeline|entity|charts|chrome FILE... -o OUT`: pictures of a run from its trace
// files (one per process, or one from `aether sim --trace`), merged into one timeline. The rendering
// is viz/; this reads the files (tolerating a cut last record, as a SIGKILLed process leaves),
// writes the output and runs Graphviz's dot for SVG.

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "app/trace_command.h"
#include "engine/core/result.h"
#include "viz/model.h"

namespace aether::app {

// Reads and merges trace files for viz (message deliveries are left out: they are the bulk of a
// simulator trace and nothing is drawn from them). Errors name the file and the record.
inline constexpr size_t kVizRecordsMax = 20'000'000;
inline Status load_viz_records(const std::vector<std::string>& files, std::vector<TraceEvent>* out, std::string* warnings) {
  return load_merged_records(files, kVizRecordsMax, true, out, warnings);
}

// Runs `dot -Tsvg dot_path -o svg_path`. An error says clearly when dot is not installed.
Status run_dot(const std::string& dot_path, const std::string& svg_path);

struct VizArgs {
  std::string command;  // graph, timeline, entity, charts, chrome
  std::vector<std::string> files;
  std::string out;
  double at_s = -1;       // graph: seconds since the run's start
  int64_t at_tick = -1;   // graph: or a tick
  uint32_t detail_max = 80;
  uint64_t entity = 0;
};

// Registers `viz` and its subcommands on the CLI; run_viz_if_parsed returns -1 if `viz` was not used.
VizArgs* add_viz_subcommands(CLI::App& cli);
int run_viz_if_parsed(const VizArgs& args);

}  // namespace aether::app
