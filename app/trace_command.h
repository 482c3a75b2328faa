#pragma once
// `aether trace dump FILE` and `aether trace check FILE...`: reading trace files written by real
// processes (or `aether sim --trace`) and checking ownership after the fact, from the records alone.
//
// The check rebuilds, per compute node and from that node's own records, the set of entities it owns
// over time (kOwnershipGranted adds, kOwnershipRevoked / kEntityDespawned / kMigrationReleased
// remove, kEvicted clears);
// each kTickDone of a node is a write of every entity it owns at that instant. Files of processes on
// one machine share CLOCK_MONOTONIC, so their records merge by time. Violations:
//  - two writers: node A writes an entity again after node B wrote it, A having written it before and
//    not having been granted it again since B's write; or two nodes write it within one tick window
//    (kTickNs) while both own it;
//  - recovery: an entity owned by a compute node a coordinator declared lost (kNodeLost) is not
//    written by another node within the recovery target after the detection.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/runtime/trace.h"

namespace aether::app {

// Name of a trace kind for people and JSON ("tick_done"); "unknown" for codes this build does not know.
// (viz::trace_kind_name; kept here for the trace tools.)
const char* trace_kind_name(TraceKind kind);

// A record's time: a monotonic clock's (or the simulator's) nanoseconds, in [0, kTraceTimeNsMax)
// (146 years). Later is malformed: the tools add and subtract times and spans, which must not
// overflow whatever a file says.
inline constexpr TimeNs kTraceTimeNsMax = TimeNs{1} << 62;

struct TraceFileContents {
  std::vector<TraceEvent> records;
  // A file cut short while being written (its process was killed) ends in a partial record: the
  // records before it are kept, and this says what was dropped. Empty when the file ended cleanly.
  std::string truncated_tail;
};

// Reads every record of a trace file. A partial LAST record (EOF inside a length prefix or a body)
// after at least one whole record is tolerated and reported in truncated_tail; anything else
// malformed is an error naming the record and its byte offset. Never trusts the file: lengths are
// bounded, fields range-checked. (Garbage whose length prefix runs past the end of the file is
// indistinguishable from a cut record, and is taken for one.)
Status read_trace_records(const std::string& path, TraceFileContents* out);
// Visits every record of a file that must be whole (a truncated tail is an error here).
Status visit_trace_file(const std::string& path, const std::function<void(const TraceEvent&)>& visit);

// Visits every record of a file; a partial last record is tolerated and described in truncated_tail.
Status visit_trace_records(const std::string& path, const std::function<void(const TraceEvent&)>& visit, std::string* truncated_tail);

// The same over bytes in memory (what read_trace_records does after reading the file).
Status parse_trace_records(const std::string& bytes, TraceFileContents* out);

struct TraceViolation {
  enum class Kind { kTwoWriters, kSlowRecovery, kNotRecovered };
  Kind kind = Kind::kTwoWriters;
  TimeNs time_ns = 0;
  EntityId entity{};
  std::vector<NodeId> nodes;  // two writers: the earlier writer, then the later; recovery: lost node, then the writer if any
  std::string what;
};

struct TraceCheckOptions {
  TimeNs recovery_target_ns = 500 * kNsPerMs;
  TimeNs same_tick_window_ns = kTickNs;
  size_t violations_kept_max = 1000;  // further violations are counted, not kept
};

struct TraceCheckResult {
  uint64_t records = 0;
  uint64_t entities = 0;             // entities granted to or written by a compute node
  uint64_t writes = 0;               // (entity, tick) writes by compute nodes
  uint64_t handoffs = 0;             // writes by a node other than the entity's previous writer
  uint64_t regrants = 0;             // kOwnershipGranted with b=1 (recovery) recorded by coordinators
  std::vector<NodeId> compute_nodes;
  std::vector<NodeId> coordinators;
  uint64_t nodes_lost = 0;           // kNodeLost records of compute nodes
  uint64_t recoveries_measured = 0;  // entities of a lost node written again by another node
  TimeNs recovery_max_ns = 0;        // the longest of those, from loss detection to the first write
  uint64_t recoveries_closed = 0;    // entities of a lost node the coordinator revoked (session over) instead
  uint64_t recoveries_unobserved = 0;  // the traces end before the deadline: neither measured nor violated
  uint64_t violations_total = 0;
  std::vector<TraceViolation> violations;  // the first violations_kept_max, in time order
  bool ok() const { return violations_total == 0; }
};

// The check itself, on records from any number of files (merged here by time, stably).
TraceCheckResult check_records(std::vector<TraceEvent> records, const TraceCheckOptions& options = {});

// `aether trace check FILE...`: prints a summary; 0 without violations, 1 with, 2 on unreadable input.
int run_trace_check(const std::vector<std::string>& trace_files, TimeNs recovery_target_ns);
// `aether trace dump FILE...`: one JSON object per record per line, several files merged by time
// (ties by node, then file order); 2 on unreadable input.
int run_trace_dump(const std::vector<std::string>& files);
inline int run_trace_dump(const std::string& file) { return run_trace_dump(std::vector<std::string>{file}); }
// `aether trace merge FILE... -o OUT`: one trace file holding every record of the inputs, merged the
// same way (bounded: at most kMergeRecordsMax records); 2 on unreadable input.
inline constexpr size_t kMergeRecordsMax = 50'000'000;
// Every record of every file, merged by time (ties by node, then file order), at most max_records
// of them (more is an error, not a silent cut); message deliveries left out if asked. A truncated
// last record is dropped, with a line in *warnings. Used by trace dump/merge and by aether viz.
Status load_merged_records(const std::vector<std::string>& files, size_t max_records, bool skip_deliveries, std::vector<TraceEvent>* out,
                           std::string* warnings);
int run_trace_merge(const std::vector<std::string>& files, const std::string& out);

}  // namespace aether::app
