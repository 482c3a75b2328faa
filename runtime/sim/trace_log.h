#pragma once
// The simulation's one trace: every TraceEvent of every host, in the order they happened. It keeps a
// running digest so two runs can be compared with one number (same seed, same digest, on every
// compiler), and optionally writes each record to a trace file for `aether trace` and viz/.
//
// Injected faults are part of the trace, so a run with faults never shares a digest with the same
// run without them:
//  - Host::crash records kHostCrashed (a = 0, b = 0) stamped with the host's node.
//  - Simulation::restart_host records kHostStarted with a = the new incarnation (>= 1) and
//    b = kStartedByRestart. (A component's start() records kHostStarted with a = the incarnation and
//    b = 0, so the first life's records are what they always were.)
//  - Link faults and pauses have no TraceKind of their own (engine/runtime/trace.h is the engine's
//    format); they are recorded as kind kNone, which no component emits:
//      time_ns = when the fault was injected
//      node    = the node of host `from`; peer = the node of host `to` (0 for clients and bots)
//      a       = code << 48 | from << 24 | to   (code: FaultCode; from, to: host indices < 2^24;
//                                                for a pause or resume, from = to = the host)
//      b       = the fault's argument (see FaultCode), else 0
//    epoch, tick and entity are 0.
// Every one of these goes through record_fault(), which also counts it (faults()).

#include <cstdint>
#include <functional>
#include <string>

#include "engine/core/hash.h"
#include "engine/core/result.h"
#include "engine/runtime/trace.h"
#include "runtime/common/trace_file.h"

namespace aether::sim {

// What a kNone fault record describes. The numbering is part of the trace format: append only.
enum class FaultCode : uint8_t {
  kLinkDown = 1,     // Simulation::set_link(from, to, kDown), and each link partition()/isolate() cut
  kLinkUp = 2,       // set_link(from, to, kUp), and each down link heal_all() healed
  kLinkDelay = 3,    // set_link_delay(from, to, b)
  kHostPaused = 4,   // Host::pause()
  kHostResumed = 5,  // Host::resume()
  kClockDrift = 6,   // Host::set_clock_drift: b = drift in ppm
  kClockJump = 7,    // Host::jump_clock: b = ns
  kSlow = 8,         // Host::set_slow: b = extra ns after each timer callback
  kLinkFaults = 9,   // Simulation::set_link_faults(from, to): b = loss | duplicate << 16 | reorder << 32 (permille)
  kStorageFaults = 10,  // Simulation::set_storage_faults(host): b = write_fail | torn << 16 | disk_full << 32 (permille, 0/1)
  kStorageLost = 11,    // a crash lost unsynced writes of the host's disk: b = batches lost
};

// kHostStarted's b when the record marks a restart rather than a component's start().
inline constexpr int64_t kStartedByRestart = 1;
// Host indices must fit the 24-bit fields of a fault record's a.
inline constexpr uint32_t kFaultHostFieldMax = (uint32_t{1} << 24) - 1;

// A kNone fault record, encoded as described above.
TraceEvent fault_event(TimeNs time_ns, FaultCode code, uint32_t from, NodeId from_node, uint32_t to, NodeId to_node,
                       int64_t arg);

class TraceLog {
 public:
  TraceLog() = default;
  TraceLog(const TraceLog&) = delete;
  TraceLog& operator=(const TraceLog&) = delete;

  // Starts writing records to path (truncating it). Without it, only the digest is kept.
  Status open_file(const std::string& path);
  // Flushes and closes the file, if any. Recording continues into the digest.
  void close_file();

  // The event must already be stamped with its time and node.
  void record(const TraceEvent& event);
  // Same, for an injected fault (crash, restart, link change, pause, resume): also counts it.
  void record_fault(const TraceEvent& event);

  // Called with every record (faults included) as it is made, inside the event that makes it: the
  // simulator's checker watches the run through it. It must not make records itself.
  void set_observer(std::function<void(const TraceEvent&)> observer) { observer_ = std::move(observer); }

  // With CPU accounting on, the observer's own time is counted here, to be left out of the host
  // whose callback made the record (the checker is not part of any process).
  void time_observer(bool on) { time_observer_ = on; }
  const int64_t* observer_ns() const { return &observer_ns_; }

  uint64_t digest() const { return hasher_.digest(); }
  uint64_t records() const { return records_; }
  uint64_t faults() const { return faults_; }

 private:
  Hasher64 hasher_;
  uint64_t records_ = 0;
  uint64_t faults_ = 0;
  common::TraceFileWriter file_;
  std::function<void(const TraceEvent&)> observer_;
  bool time_observer_ = false;
  int64_t observer_ns_ = 0;
};

}  // namespace aether::sim
