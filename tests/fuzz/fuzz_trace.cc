// Trace files (app/trace_command.h's reader): what `aether trace check|dump|merge` and `aether viz`
// read, and everything they then build from the records: the ownership check, the viz model and
// every renderer.
//
// Input: a trace file. Whatever reads must survive a round trip: written again by the writer's own
// encoder (runtime/common/trace_file.h) it reads back as the same records, with no tail. Then the
// records, as one file and split across two merged by time, go through check_records, build_run
// (with small limits, so that the limits are reached) and every renderer, which must not crash or
// trip a sanitizer whatever the records say.

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "app/trace_command.h"
#include "runtime/common/trace_file.h"
#include "tests/fuzz/fuzz_check.h"
#include "viz/render.h"

namespace {

using namespace aether;

void render(const std::vector<TraceEvent>& records) {
  app::check_records(records);
  viz::RunLimits limits;
  limits.spans_max = 64;
  limits.ghosts_max = 64;
  limits.migrations_max = 16;
  limits.markers_max = 16;
  limits.subscriptions_max = 16;
  limits.tick_samples_max = 64;
  limits.nodes_max = 16;
  for (const viz::RunLimits& l : {viz::RunLimits{}, limits}) {
    const viz::Run run = viz::build_run(records, l);
    for (TimeNs at : {run.begin_ns, run.end_ns, run.begin_ns / 2 + run.end_ns / 2}) {
      viz::GraphOptions g;
      g.at_ns = at;
      g.detail_entities_max = 4;
      g.detail_edges_max = 8;
      (void)viz::ownership_dot(run, g);
      (void)viz::seconds_since(run, at);
      (void)run.epoch_at(at);
    }
    (void)viz::time_of_tick(run, records.empty() ? 0 : records.front().tick);
    (void)viz::migration_timeline_html(run, viz::TimelineOptions{"fuzz", 8});
    for (const TraceEvent& e : {records.front(), records.back()}) {
      viz::EntityOptions o;
      o.entity = e.entity;
      o.lines_max = 16;
      (void)viz::entity_timeline_text(run, records, o);
      (void)viz::entity_timeline_html(run, records, o);
      (void)viz::node_label(run, e.node);
      (void)viz::node_colour(run, e.node);
    }
    (void)viz::tick_charts_html(run, viz::ChartOptions{"fuzz", 4});
    (void)viz::chrome_trace_json(run, viz::ChromeOptions{64});
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  aether::fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  app::TraceFileContents contents;
  if (Status s = app::parse_trace_records(bytes, &contents); !s) {
    FUZZ_CHECK(!s.error().message.empty(), "a rejection without a reason");
    return 0;
  }
  std::string again;
  for (const TraceEvent& e : contents.records) common::append_trace_record(e, &again);
  app::TraceFileContents reread;
  const Status s = app::parse_trace_records(again, &reread);
  FUZZ_CHECK(s.ok(), "records read from a file do not read back once written: %s", s.error().message.c_str());
  FUZZ_CHECK(reread.truncated_tail.empty(), "records written whole read back with a tail: %s", reread.truncated_tail.c_str());
  FUZZ_CHECK(reread.records == contents.records, "records change when written and read back");
  if (contents.records.empty()) return 0;

  render(contents.records);
  std::vector<viz::TraceInput> split(2);
  for (size_t i = 0; i < contents.records.size(); ++i) split[i % 2].records.push_back(contents.records[i]);
  const std::vector<TraceEvent> merged = viz::merge_records(split);
  FUZZ_CHECK(merged.size() == contents.records.size(), "merging lost records");
  for (size_t i = 1; i < merged.size(); ++i) FUZZ_CHECK(merged[i - 1].time_ns <= merged[i].time_ns, "merged records out of time order");
  render(merged);
  return 0;
}
