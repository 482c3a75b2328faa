#pragma once
// One simulated process: a name, a node id, and the runtime seam its component lives on (virtual
// clock, kernel timers, simulated network, its own random stream, logs stamped with virtual time,
// trace records into the simulation's trace). Made by Simulation::add_host.
//
// A Host object lives as long as its Simulation, through every crash and restart: crash() leaves it
// dead (its component destroyed), Simulation::restart_host() revives the same object as a new
// incarnation. So a Host&, its runtime() and the Clock, Timers, Network, Random, Logger and TraceSink
// in it stay valid for the whole run; a component, and the connection and timer ids it held, belong
// to one incarnation (ids are never reused, so a stale one is simply unknown to the next).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <spdlog/spdlog.h>

#include "engine/core/random.h"
#include "engine/runtime/component.h"
#include "engine/runtime/runtime.h"
#include "runtime/common/spd_logger.h"
#include "runtime/sim/host_state.h"
#include "runtime/sim/kernel.h"
#include "runtime/sim/sim_network.h"
#include "runtime/sim/sim_passwords.h"
#include "runtime/sim/sim_database.h"
#include "runtime/sim/sim_storage.h"
#include "runtime/sim/trace_log.h"

namespace aether::sim {

// Timers one host may have pending at once. Components keep a small fixed set; a host past this is
// leaking timers, and we stop it loudly rather than let the kernel fill up.
inline constexpr size_t kTimersPerHostMax = size_t{1} << 16;
// The largest clock rate error a fault may set: 10%, far beyond real quartz (~100 ppm) and ten times
// the bound the ownership protocol assumes (kClockRateErrorPpmMax, 1%: docs/ownership.md §2a), so
// that scenarios can cross the line and show what happens beyond it.
inline constexpr int32_t kClockDriftPpmMax = 100'000;
// A simulated host's calendar (Clock::unix_ns) starts at 2026-01-01 00:00:00 UTC when the run starts.
inline constexpr int64_t kSimCalendarStartUnixNs = int64_t{1'767'225'600} * 1'000'000'000;

// Everything a Host is built from; Simulation fills it in.
struct HostConfig {
  std::string name;
  NodeId node{};
  uint32_t index = 0;
  uint64_t seed = 0;  // of this host's random stream
  std::shared_ptr<spdlog::logger> log_sink;
  LogLevel log_level = LogLevel::kWarn;
  std::optional<PeerIdentity> identity;  // what its peers see as its verified identity (HostState)
};

class Host final : private Clock, private Timers, private TraceSink {
 public:
  Host(Kernel& kernel, TraceLog& trace, SimNetwork& network, HostConfig config);
  ~Host() override;
  Host(const Host&) = delete;
  Host& operator=(const Host&) = delete;

  Runtime& runtime() { return runtime_; }
  const std::string& name() const { return state_.name; }
  NodeId node() const { return state_.node; }
  const std::optional<PeerIdentity>& identity() const { return state_.identity; }
  size_t index() const { return state_.index; }
  bool alive() const { return state_.alive; }
  bool paused() const { return state_.paused; }
  // The host's disk, for faults and tests (what survives a crash: sim_storage.h).
  SimStorage& storage() { return storage_; }
  // From now on this host's Runtime::storage is `database`'s disk, reached over a connection
  // (sim_database.h): a shared database host, as role processes share one PostgreSQL database.
  void use_database(Host& database);
  bool uses_database() const { return seam_.shared(); }
  // 0 for the first life, then 1, 2, ... per restart.
  uint32_t incarnation() const { return state_.incarnation; }
  // Timers and network events waiting for resume() (or, just after it, for their turn).
  size_t deferred_pending() const { return state_.deferred.size(); }

  // The host owns the component. Its start() runs from the event loop at the current virtual time
  // (never inside attach()), as the host's first timer.
  void attach(std::unique_ptr<Component> component);
  Component* component() { return component_.get(); }
  // Including timers that fired while paused and wait for resume().
  size_t timers_pending() const { return timers_.size(); }

  // The process dies: every runtime call becomes a no-op, pending timers are dropped, the component
  // is destroyed, its listen addresses are released, messages in flight to the host (and whatever
  // waited for it while paused) are discarded and each peer is reset one latency later (or when the
  // link to it heals). Records kHostCrashed. Must not be called from inside this host's own callbacks.
  void crash();

  // The process stops without dying, like a long GC pause or SIGSTOP: from now on, its timers and
  // network events (accepts, connects, messages, closes, resets) are deferred, in the order they
  // come due. Peers keep sending; what waits still counts against their in-flight limits. The clock
  // keeps running. Records a kHostPaused fault. The host must be alive, not paused, and not inside
  // one of its own callbacks.
  void pause();
  // Runs everything deferred, in order, from one kernel event at the current time (the component
  // sees the clock jump), before anything that comes due after it. Records a kHostResumed fault.
  void resume();

  // Clock faults (seed-free; Simulation records them). The host's clock reads
  //   local(t) = anchor_local + (t - anchor) * (1e6 + drift_ppm) / 1e6     (t: kernel time)
  // and a timer armed for d local nanoseconds fires after d * 1e6 / (1e6 + drift_ppm) kernel ones.
  // set_clock_drift re-anchors at now (the clock never jumps back); jump_clock moves it forward by
  // ns at once, as after a VM migration; timers already armed keep their kernel deadline.
  // drift_ppm must stay within +-kClockDriftPpmMax.
  void set_clock_drift(int32_t drift_ppm);
  void jump_clock(TimeNs ns);
  int32_t clock_drift_ppm() const { return drift_ppm_; }
  // A slow host: every timer callback (a tick, a heartbeat) is followed by extra_ns of virtual CPU
  // time during which the host handles nothing; what comes due waits, in order, as for a pause.
  // 0 makes it normal again.
  void set_slow(TimeNs extra_ns);
  TimeNs slow_ns() const { return slow_ns_; }
  // This process's own CPU time, counted around its callbacks once enabled (CpuAccount: reported,
  // never hashed). Kept across crashes and restarts: it is the host's, not one incarnation's.
  void set_cpu_accounting(bool on) { state_.cpu.enabled = on; }
  int64_t cpu_ns() const { return state_.cpu.total_ns; }

  // For Simulation::restart_host: a crashed host comes back as its next incarnation, with a random
  // stream seeded from random_seed and no timers, connections, listeners or component.
  void restart(uint64_t random_seed);

 private:
  struct PendingTimer {
    uint64_t event;  // kernel event id; 0 once fired into the deferred queue of a paused host
    std::function<void()> fn;
  };

  // Clock
  TimeNs now_ns() const override { return local_time(kernel_.now()); }
  int64_t unix_ns() const override { return kSimCalendarStartUnixNs + local_time(kernel_.now()); }
  TimeNs local_time(TimeNs kernel_ns) const;
  // Timers
  TimerId schedule(TimeNs delay_ns, std::function<void()> fn) override;
  bool cancel(TimerId id) override;
  // TraceSink
  void record(TraceEvent event) override;

  void fire(TimerId id);
  void run_timer(TimerId id);
  void drain();
  void drop_timers();
  void start_component();
  void record_fault(FaultCode code, int64_t arg = 0);
  void end_busy();

  HostState state_;
  Kernel& kernel_;
  TraceLog& trace_;
  SimNetwork& network_;
  SimEndpoint endpoint_;
  Xoshiro256 random_;
  Xoshiro256 entropy_;  // Runtime::entropy: its own stream, derived from the host's seed
  common::SpdLogger log_;
  SimStorage storage_;  // the host's disk: kept through crashes and restarts (sim_storage.h)
  SimStorageSeam seam_{state_, *this, storage_};  // what Runtime::storage is: our disk, or a database's
  std::vector<SimStorageSeam*> database_clients_;  // hosts whose storage is our disk (use_database)
  SimPasswordHasher passwords_{*this, entropy_};  // a deterministic stand-in, not Argon2id (sim_passwords.h)
  Runtime runtime_;
  TimerId next_timer_id_ = 1;  // never reused, also for ids handed out while dead
  uint64_t drain_event_ = 0;   // the kernel event that runs the deferred queue after resume()
  uint64_t busy_event_ = 0;    // the kernel event that ends a slow host's busy spell
  TimeNs slow_ns_ = 0;
  TimeNs clock_anchor_ = 0;        // kernel time of the last re-anchoring
  TimeNs clock_anchor_local_ = 0;  // the host's clock at that moment
  int32_t drift_ppm_ = 0;
  std::unordered_map<TimerId, PendingTimer> timers_;
  std::unique_ptr<Component> component_;
};

}  // namespace aether::sim
