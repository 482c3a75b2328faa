#pragma once
// What viz/ draws, rebuilt from trace records alone: which node played which role, who owned each
// entity when (from the compute nodes' own records), who held ghosts of it, migrations with their
// phases, failovers and epoch changes, and per-tick figures of every compute node.
//
// Records come from files (untrusted): nothing here asserts on their content. An inconsistent trace
// (a release without a grant, a migration that never finishes) yields a shorter span or an open
// migration, never a crash. Everything kept is bounded (RunLimits); past a limit the rest is counted
// in Run::dropped and the renderers say so.

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/runtime/trace.h"

namespace aether::viz {

// Name of a trace kind for people and JSON ("tick_done"); "unknown" for codes this build does not know.
const char* trace_kind_name(TraceKind kind);
// trace_kind_name, or "unknown_<code>" for codes this build does not know.
std::string kind_label(TraceKind kind);

// Escaping for the formats the renderers write.
std::string xml_escape(std::string_view text);   // SVG, HTML text and attributes
std::string json_escape(std::string_view text);  // the inside of a JSON string
std::string dot_escape(std::string_view text);   // the inside of a DOT "..." string

// One input file's records, in file order.
struct TraceInput {
  std::string name;
  std::vector<TraceEvent> records;
};

// One timeline from many files: ordered by time_ns, ties by node, then by file order, then by order
// within the file. (Files of processes on one machine share CLOCK_MONOTONIC; a simulator trace is one
// file already in order.)
std::vector<TraceEvent> merge_records(const std::vector<TraceInput>& inputs);

enum class NodeRole : uint8_t { kUnknown = 0, kCoordinator, kCompute, kGateway };
const char* node_role_name(NodeRole role);

inline constexpr TimeNs kOpenNs = std::numeric_limits<TimeNs>::max();

struct NodeInfo {
  NodeId id{};
  NodeRole role = NodeRole::kUnknown;
  std::vector<TimeNs> crashed_ns;    // kHostCrashed
  std::vector<TimeNs> restarted_ns;  // kHostStarted after a crash
  std::vector<TimeNs> lost_ns;       // a coordinator declared it lost (kNodeLost)
  bool crashed_at(TimeNs t) const;   // crashed at or before t and not restarted since
};

// How a span of ownership began (kOwnershipGranted's b) and ended.
enum class SpanStart : uint8_t { kSpawn = 0, kRecovery = 1, kMigration = 2, kMigrationFromSnapshot = 3, kOther = 4 };
enum class SpanEnd : uint8_t { kOpen = 0, kReleased, kRevoked, kDespawned, kEvicted, kCrashed, kRegranted };
const char* span_start_name(SpanStart s);
const char* span_end_name(SpanEnd e);

// An entity owned by one compute node from from_ns until to_ns (kOpenNs: still at the trace's end).
struct OwnerSpan {
  EntityId entity{};
  NodeId node{};
  TimeNs from_ns = 0;
  TimeNs to_ns = kOpenNs;
  Tick tick = 0;  // the owner's tick at the grant
  Epoch epoch = 0;
  uint64_t generation = 0;
  SpanStart start = SpanStart::kSpawn;
  SpanEnd end = SpanEnd::kOpen;
  NodeId released_to{};  // kReleased: the destination
};

// A ghost of `entity` held by `holder`, fed by `owner`.
struct GhostSpan {
  EntityId entity{};
  NodeId holder{};
  NodeId owner{};
  TimeNs from_ns = 0;
  TimeNs to_ns = kOpenNs;
};

// One migration, from the coordinator's start to the new owner's grant. -1: that phase never seen.
struct Migration {
  EntityId entity{};
  NodeId from{};
  NodeId to{};
  Epoch epoch = 0;
  uint64_t generation = 0;  // the generation being moved (kMigrationStarted's a)
  TimeNs started_ns = -1;   // coordinator
  TimeNs released_ns = -1;  // old owner
  TimeNs handoff_ns = -1;   // new owner received the state
  TimeNs done_ns = -1;      // new owner granted (kOwnershipGranted b=2 or 3)
  bool from_snapshot = false;
  bool in_flight_at(TimeNs t) const { return started_ns >= 0 && started_ns <= t && (done_ns < 0 || done_ns > t); }
};

// A feed from a compute node (publisher) to a gateway or another compute node (subscriber).
struct Subscription {
  NodeId publisher{};
  NodeId subscriber{};
  NodeRole role = NodeRole::kUnknown;  // the subscriber's
  TimeNs from_ns = 0;
  TimeNs to_ns = kOpenNs;
};

// A cluster event worth a mark on a timeline: crash, restart, loss, missed heartbeats, elections,
// epoch changes, stale-epoch drops, evictions, lease lapses.
struct Marker {
  TraceEvent record;
  std::string text;  // for people: "compute 102 crashed"
};

// One tick of one compute node (kTickDone, with kQueueDepths of the same tick when present).
struct TickSample {
  TimeNs time_ns = 0;
  Tick tick = 0;
  Epoch epoch = 0;
  int64_t entities = 0;
  int64_t duration_ns = 0;
  bool has_queues = false;
  int64_t queues[4] = {0, 0, 0, 0};  // input, intent, simulation, output
};
inline constexpr const char* kQueueNames[4] = {"input", "intent", "simulation", "output"};

struct RunLimits {
  size_t spans_max = 2'000'000;
  size_t ghosts_max = 4'000'000;
  size_t migrations_max = 1'000'000;
  size_t markers_max = 100'000;
  size_t subscriptions_max = 100'000;
  size_t tick_samples_max = 2'000'000;
  size_t nodes_max = 4096;
};

struct Run {
  std::map<NodeId, NodeInfo> nodes;   // servers only (node 0, clients and bots, is left out)
  std::vector<OwnerSpan> spans;       // ordered by from_ns
  std::vector<GhostSpan> ghosts;      // ordered by from_ns
  std::vector<Migration> migrations;  // ordered by started_ns
  std::vector<Marker> markers;        // in time order
  std::vector<Subscription> subscriptions;  // ordered by from_ns
  std::map<NodeId, std::vector<TickSample>> ticks;
  TimeNs begin_ns = 0;
  TimeNs end_ns = 0;
  uint64_t records = 0;
  uint64_t dropped = 0;  // items not kept because a RunLimits bound was reached

  std::vector<NodeId> nodes_with(NodeRole role) const;
  // The epoch the cluster was in at t: the highest epoch any record at or before t carried.
  Epoch epoch_at(TimeNs t) const;
  // The owner span of an entity covering t, or null.
  const OwnerSpan* owner_at(EntityId entity, TimeNs t) const;
  std::vector<std::pair<TimeNs, Epoch>> epoch_steps;  // (first time seen, epoch), increasing
  std::map<EntityId, std::vector<size_t>> spans_of;   // entity -> indices into spans, in time order
};

// Builds the model from merged records (merge_records' order).
Run build_run(const std::vector<TraceEvent>& records, const RunLimits& limits = {});

// When the cluster reached tick `tick`: the earliest kTickDone of that tick on any compute node; the
// run's end if no node got that far.
TimeNs time_of_tick(const Run& run, Tick tick);

// "+12.345 s" from the run's start.
std::string seconds_since(const Run& run, TimeNs t);
// "compute 101", "coordinator 1", "gateway 201", "node 7".
std::string node_label(const Run& run, NodeId node);

}  // namespace aether::viz
