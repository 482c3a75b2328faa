#pragma once
// One simulated process: a name, a node id, and the runtime seam its component lives on (virtual
// clock, kernel timers, simulated network, its own random stream, logs stamped with virtual time,
// trace records into the simulation's trace). Made by Simulation::add_host.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <unordered_map>

#include <spdlog/spdlog.h>

#include "engine/core/random.h"
#include "engine/runtime/component.h"
#include "engine/runtime/runtime.h"
#include "runtime/common/spd_logger.h"
#include "runtime/sim/host_state.h"
#include "runtime/sim/kernel.h"
#include "runtime/sim/sim_network.h"
#include "runtime/sim/trace_log.h"

namespace aether::sim {

// Timers one host may have pending at once. Components keep a small fixed set; a host past this is
// leaking timers, and we stop it loudly rather than let the kernel fill up.
inline constexpr size_t kTimersPerHostMax = size_t{1} << 16;

// Everything a Host is built from; Simulation fills it in.
struct HostConfig {
  std::string name;
  NodeId node{};
  uint32_t index = 0;
  uint64_t seed = 0;  // of this host's random stream
  std::shared_ptr<spdlog::logger> log_sink;
  LogLevel log_level = LogLevel::kWarn;
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
  size_t index() const { return state_.index; }
  bool alive() const { return state_.alive; }

  // The host owns the component. Its start() runs from the event loop at the current virtual time
  // (never inside attach()), as the host's first timer.
  void attach(std::unique_ptr<Component> component);
  Component* component() { return component_.get(); }
  size_t timers_pending() const { return timers_.size(); }

  // The process dies: every runtime call becomes a no-op, pending timers are dropped, the component
  // is destroyed, messages in flight to the host are discarded and each peer is reset one latency
  // later. Records kHostCrashed. Must not be called from inside this host's own callbacks.
  void crash();

 private:
  struct PendingTimer {
    uint64_t event;  // kernel event id
    std::function<void()> fn;
  };

  // Clock
  TimeNs now_ns() const override { return kernel_.now(); }
  // Timers
  TimerId schedule(TimeNs delay_ns, std::function<void()> fn) override;
  bool cancel(TimerId id) override;
  // TraceSink
  void record(TraceEvent event) override;

  void fire(TimerId id);
  void drop_timers();
  void start_component();

  HostState state_;
  Kernel& kernel_;
  TraceLog& trace_;
  SimNetwork& network_;
  SimEndpoint endpoint_;
  Xoshiro256 random_;
  common::SpdLogger log_;
  Runtime runtime_;
  TimerId next_timer_id_ = 1;  // never reused, also for ids handed out while dead
  std::unordered_map<TimerId, PendingTimer> timers_;
  std::unique_ptr<Component> component_;
};

}  // namespace aether::sim
