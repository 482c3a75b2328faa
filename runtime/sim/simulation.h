#pragma once
// One simulated run: a kernel, a network, a trace, and the hosts (simulated processes) that live on
// them. Everything follows from SimOptions::seed: the same seed gives the same trace, byte for byte,
// on every compiler. One OS thread; nothing global, so several Simulations may coexist.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <spdlog/spdlog.h>

#include "engine/core/ids.h"
#include "engine/core/result.h"
#include "engine/core/time.h"
#include "engine/runtime/log.h"
#include "runtime/sim/host.h"
#include "runtime/sim/kernel.h"
#include "runtime/sim/sim_network.h"
#include "runtime/sim/trace_log.h"

namespace aether::sim {

// Hosts in one simulation (live and crashed alike).
inline constexpr size_t kHostsMax = size_t{1} << 16;

struct SimOptions {
  uint64_t seed = 1;
  TimeNs latency_ns = 500 * kNsPerUs;  // one-way base delay of every link
  TimeNs jitter_ns = 200 * kNsPerUs;   // extra one-way delay, uniform in [0, jitter_ns]
  LogLevel log_level = LogLevel::kWarn;
  std::shared_ptr<spdlog::logger> log_sink;  // null = stderr via common::make_stderr_sink
  std::string trace_path;                    // empty = no trace file
};

class Simulation {
 public:
  explicit Simulation(SimOptions options);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  Kernel& kernel() { return kernel_; }
  const SimOptions& options() const { return options_; }

  // node may be 0 for clients and bots. The host's random stream is derive_seed(seed, index + 1),
  // index being its creation order, so adding a host never shifts the others' streams. identity is
  // what its peers' Network::peer_identity reports for it, through restarts too (nullopt: none, as
  // for a client without a certificate).
  Host& add_host(std::string name, NodeId node, std::optional<PeerIdentity> identity = std::nullopt);
  // Stable for the whole run, through crashes and restarts (see host.h).
  Host* host(size_t index) { return index < hosts_.size() ? hosts_[index].get() : nullptr; }
  size_t host_count() const { return hosts_.size(); }
  // Counts each host's own CPU time from now on, and every host added later's (Host::cpu_ns).
  void enable_cpu_accounting() {
    CpuAccount::read_overhead_ns();  // measured now, before any callback is timed
    cpu_accounting_ = true;
    trace_.time_observer(true);
    for (auto& h : hosts_) h->set_cpu_accounting(true);
  }

  // Faults. All of them are recorded in the trace (trace_log.h says how) and counted in
  // faults_injected(); none draws from a random stream, so a fault-free run is unchanged. Host
  // indices must be < host_count(). Call them from outside the hosts' callbacks (a test's own code,
  // or a kernel event it scheduled).
  //
  // Restart of a crashed host: the same Host object, name, node and index, as incarnation n + 1, with
  // the random stream derive_seed(derive_seed(seed, index + 1), n + 1), no timers, connections,
  // listeners or component (attach a new one). Its old listen addresses were released by crash().
  Host& restart_host(size_t index);
  // One direction of the link between two hosts. kDown holds what is sent (see sim_network.h);
  // a direction held for kPartitionResetNs resets its connection at both ends.
  void set_link(size_t from_host, size_t to_host, LinkState state);
  // Extra one-way delay on a link for items sent from now on (0 removes it). FIFO still holds.
  void set_link_delay(size_t from_host, size_t to_host, TimeNs extra_ns);
  // Per-message faults on one direction of a link (LinkFaults; all zero removes them).
  void set_link_faults(size_t from_host, size_t to_host, LinkFaults faults);
  // Clock faults and slowness of one host (host.h). Recorded like the others.
  void set_clock_drift(size_t host, int32_t drift_ppm);
  void jump_clock(size_t host, TimeNs ns);
  void set_slow(size_t host, TimeNs extra_ns);
  // Faults of one host's disk from now on (sim_storage.h; all zero removes them). Recorded.
  void set_storage_faults(size_t host, const StorageFaults& faults);
  const MessageFaultCounts& message_faults() const { return network_.message_faults(); }
  // Both directions down between every host of side_a and every host of side_b (disjoint sets).
  void partition(const std::vector<size_t>& side_a, const std::vector<size_t>& side_b);
  // Both directions down between host and every other host.
  void isolate(size_t host);
  // Every down link up (extra delays stay; set_link_delay(..., 0) removes them).
  void heal_all();
  uint64_t faults_injected() const { return trace_.faults(); }
  // Sees every trace record as it is made (TraceLog::set_observer).
  void set_trace_observer(std::function<void(const TraceEvent&)> observer) { trace_.set_observer(std::move(observer)); }

  void run_until(TimeNs t) { kernel_.run_until(t); }
  TimeNs now() const { return kernel_.now(); }

  uint64_t trace_digest() const { return trace_.digest(); }
  uint64_t trace_records() const { return trace_.records(); }
  uint64_t messages_delivered() const { return network_.messages_delivered(); }
  // Whether the trace file (if one was asked for) could be opened; the run goes on without it.
  const Status& trace_file_status() const { return trace_file_status_; }

  // Flushes and closes the trace file. The digest keeps counting if the run goes on.
  void finish() { trace_.close_file(); }

 private:
  void record_link_fault(FaultCode code, size_t from, size_t to, int64_t arg);
  uint64_t host_seed(size_t index, uint32_t incarnation) const;

  SimOptions options_;
  Kernel kernel_;
  TraceLog trace_;
  SimNetwork network_;
  Status trace_file_status_ = ok_status();
  // Last, so hosts (and their components) go first, while the kernel and network they use still exist.
  std::vector<std::unique_ptr<Host>> hosts_;
  bool cpu_accounting_ = false;
};

}  // namespace aether::sim
