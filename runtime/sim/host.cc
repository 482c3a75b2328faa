#include "runtime/sim/host.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "engine/core/assert.h"

namespace aether::sim {

Host::Host(Kernel& kernel, TraceLog& trace, SimNetwork& network, HostConfig config)
    : state_{std::move(config.name), config.node, config.index},
      kernel_(kernel),
      trace_(trace),
      network_(network),
      endpoint_(network, state_),
      random_(config.seed),
      // Virtual time as Unix time: lines are stamped from 1970-01-01, identically in every run.
      log_(std::move(config.log_sink), state_.name, state_.node, [&kernel] { return kernel.now(); }, config.log_level),
      runtime_{*this, *this, endpoint_, random_, log_, *this} {
  network_.add_endpoint(endpoint_);
}

Host::~Host() {
  // The component's destructor may still call its runtime: make every call a no-op first.
  state_.alive = false;
  drop_timers();
  component_.reset();
  endpoint_.set_handler(nullptr);
}

void Host::attach(std::unique_ptr<Component> component) {
  AETHER_ASSERT(component != nullptr);
  AETHER_ASSERT_MSG(state_.alive, "cannot attach a component to a crashed host");
  AETHER_ASSERT_MSG(component_ == nullptr, "a host runs one component");
  component_ = std::move(component);
  // A timer like any other: a crash before it fires means start() never runs.
  schedule(0, [this] { start_component(); });
}

void Host::start_component() {
  TraceEvent e;
  e.kind = TraceKind::kHostStarted;
  record(e);
  component_->start();
}

void Host::crash() {
  AETHER_ASSERT_MSG(state_.alive, "a host crashes once");
  AETHER_ASSERT_MSG(state_.callback_depth == 0, "crash() from inside the host's own callback");
  TraceEvent e;
  e.kind = TraceKind::kHostCrashed;
  record(e);
  state_.alive = false;
  drop_timers();
  network_.crash(endpoint_);
  component_.reset();
  endpoint_.set_handler(nullptr);
}

TimerId Host::schedule(TimeNs delay_ns, std::function<void()> fn) {
  const TimerId id = next_timer_id_++;
  if (!state_.alive) return id;  // a dead host's timer never fires
  AETHER_ASSERT(fn != nullptr);
  AETHER_ASSERT_MSG(timers_.size() < kTimersPerHostMax, "a component is leaking timers");
  // A negative delay (a deadline already past) means "as soon as possible", as in the real runtime.
  const TimeNs at = kernel_.now() + std::max<TimeNs>(delay_ns, 0);
  const uint64_t event = kernel_.schedule_at(at, [this, id] { fire(id); });
  timers_.emplace(id, PendingTimer{event, std::move(fn)});
  return id;
}

bool Host::cancel(TimerId id) {
  const auto it = timers_.find(id);
  if (it == timers_.end()) return false;
  const bool pending = kernel_.cancel(it->second.event);
  AETHER_ASSERT(pending);
  timers_.erase(it);
  return true;
}

void Host::fire(TimerId id) {
  const auto it = timers_.find(id);
  AETHER_ASSERT(it != timers_.end());
  // Out of the table before it runs: the handler may re-arm, and cancel(id) must now say false.
  std::function<void()> fn = std::move(it->second.fn);
  timers_.erase(it);
  CallbackScope scope(state_);
  fn();
}

void Host::drop_timers() {
  // Sorted so the kernel sees the same cancellations in the same order on every platform.
  std::vector<TimerId> ids;
  ids.reserve(timers_.size());
  for (const auto& entry : timers_) ids.push_back(entry.first);
  std::sort(ids.begin(), ids.end());
  for (const TimerId id : ids) kernel_.cancel(timers_.at(id).event);
  timers_.clear();
}

void Host::record(TraceEvent event) {
  if (!state_.alive) return;
  event.time_ns = kernel_.now();
  event.node = state_.node;
  trace_.record(event);
}

}  // namespace aether::sim
