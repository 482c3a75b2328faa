#include "runtime/sim/host.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "engine/core/assert.h"

namespace aether::sim {

namespace {
constexpr uint64_t kEntropyStream = 0xe7e7;  // Runtime::entropy's stream of a host's seed
constexpr uint64_t kStorageStream = 0xd15c;  // the disk's fault stream of a host's seed
}  // namespace

Host::Host(Kernel& kernel, TraceLog& trace, SimNetwork& network, HostConfig config)
    : state_{std::move(config.name), config.node, config.index},
      kernel_(kernel),
      trace_(trace),
      network_(network),
      endpoint_(network, state_),
      random_(config.seed),
      entropy_(derive_seed(config.seed, kEntropyStream)),
      // Virtual time as Unix time: lines are stamped from 1970-01-01, identically in every run.
      log_(std::move(config.log_sink), state_.name, state_.node, [&kernel] { return kernel.now(); }, config.log_level),
      storage_(state_, *this, *this, log_, derive_seed(config.seed, kStorageStream)),
      runtime_{*this, *this, endpoint_, random_, log_, *this, entropy_, seam_, passwords_} {
  state_.identity = config.identity;
  network_.add_endpoint(endpoint_);
  state_.cpu.excluded_ns = trace.observer_ns();
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
  e.a = state_.incarnation;
  record(e);
  component_->start();
}

void Host::crash() {
  AETHER_ASSERT_MSG(state_.alive, "crash() of a host that is already down");
  AETHER_ASSERT_MSG(state_.callback_depth == 0, "crash() from inside the host's own callback");
  TraceEvent e;
  e.time_ns = kernel_.now();
  e.node = state_.node;
  e.kind = TraceKind::kHostCrashed;
  trace_.record_fault(e);
  state_.alive = false;
  drop_timers();
  if (drain_event_ != 0) kernel_.cancel(drain_event_);
  drain_event_ = 0;
  if (busy_event_ != 0) kernel_.cancel(busy_event_);
  busy_event_ = 0;
  state_.busy = false;
  network_.crash(endpoint_);  // also empties the deferred queue and clears paused
  // The disk keeps what was durable (its pending completions went with the timers above).
  if (const uint64_t lost = storage_.crash(); lost > 0) record_fault(FaultCode::kStorageLost, static_cast<int64_t>(lost));
  seam_.client_crashed();
  for (SimStorageSeam* client : database_clients_) client->database_lost();
  AETHER_ASSERT(state_.deferred.empty() && !state_.paused);
  passwords_.forget();  // its pending completions went with the timers too
  component_.reset();
  endpoint_.set_handler(nullptr);
}

void Host::use_database(Host& database) {
  AETHER_ASSERT_MSG(&database != this && !database.uses_database(), "a database host keeps its own disk");
  AETHER_ASSERT_MSG(!seam_.shared() && storage_.in_flight() == 0, "connect a host to one database, before it uses storage");
  seam_.connect(database.storage_);
  database.database_clients_.push_back(&seam_);
  database.storage_.set_in_flight_max(kStorageInFlightMax * database.database_clients_.size());
}

void Host::restart(uint64_t random_seed) {
  AETHER_ASSERT_MSG(!state_.alive, "only a crashed host can restart");
  AETHER_ASSERT(timers_.empty() && component_ == nullptr && endpoint_.connections() == 0 && drain_event_ == 0);
  state_.alive = true;
  ++state_.incarnation;
  random_ = Xoshiro256(random_seed);
  entropy_ = Xoshiro256(derive_seed(random_seed, kEntropyStream));
  storage_.reseed(derive_seed(random_seed, kStorageStream));
  TraceEvent e;
  e.time_ns = kernel_.now();
  e.node = state_.node;
  e.kind = TraceKind::kHostStarted;
  e.a = state_.incarnation;
  e.b = kStartedByRestart;
  trace_.record_fault(e);
}

void Host::pause() {
  AETHER_ASSERT_MSG(state_.alive, "pause() of a crashed host");
  AETHER_ASSERT_MSG(!state_.paused, "pause() of a paused host");
  AETHER_ASSERT_MSG(state_.callback_depth == 0, "pause() from inside the host's own callback");
  record_fault(FaultCode::kHostPaused);
  state_.paused = true;
}

void Host::resume() {
  AETHER_ASSERT_MSG(state_.alive && state_.paused, "resume() of a host that is not paused");
  record_fault(FaultCode::kHostResumed);
  state_.paused = false;
  if (drain_event_ == 0 && !state_.busy && !state_.deferred.empty()) {
    drain_event_ = kernel_.schedule_at(kernel_.now(), [this] { drain(); });
  }
}

void Host::drain() {
  drain_event_ = 0;
  // One event for the whole queue: nothing that comes due meanwhile can run in between (and while
  // the queue is not empty, whatever comes due joins its end).
  while (state_.alive && !state_.paused && !state_.busy && !state_.deferred.empty()) {
    const Deferred d = state_.deferred.front();
    state_.deferred.pop_front();
    if (d.kind == Deferred::Kind::kTimer) {
      run_timer(d.timer);
    } else {
      network_.run_deferred(d);
    }
  }
}

void Host::record_fault(FaultCode code, int64_t arg) {
  trace_.record_fault(fault_event(kernel_.now(), code, state_.index, state_.node, state_.index, state_.node, arg));
}

TimeNs Host::local_time(TimeNs kernel_ns) const {
  const TimeNs d = kernel_ns - clock_anchor_;
  return clock_anchor_local_ + d + d * drift_ppm_ / 1'000'000;
}

void Host::set_clock_drift(int32_t drift_ppm) {
  AETHER_ASSERT_MSG(drift_ppm >= -kClockDriftPpmMax && drift_ppm <= kClockDriftPpmMax, "clock drift out of range");
  record_fault(FaultCode::kClockDrift, drift_ppm);
  clock_anchor_local_ = local_time(kernel_.now());
  clock_anchor_ = kernel_.now();
  drift_ppm_ = drift_ppm;
}

void Host::jump_clock(TimeNs ns) {
  AETHER_ASSERT_MSG(ns >= 0, "a monotonic clock only jumps forward");
  record_fault(FaultCode::kClockJump, ns);
  clock_anchor_local_ += ns;
}

void Host::set_slow(TimeNs extra_ns) {
  AETHER_ASSERT(extra_ns >= 0);
  record_fault(FaultCode::kSlow, extra_ns);
  slow_ns_ = extra_ns;
}

void Host::end_busy() {
  busy_event_ = 0;
  state_.busy = false;
  if (drain_event_ == 0 && !state_.paused && !state_.deferred.empty()) {
    drain_event_ = kernel_.schedule_at(kernel_.now(), [this] { drain(); });
  }
}

TimerId Host::schedule(TimeNs delay_ns, std::function<void()> fn) {
  const TimerId id = next_timer_id_++;
  if (!state_.alive) return id;  // a dead host's timer never fires
  AETHER_ASSERT(fn != nullptr);
  AETHER_ASSERT_MSG(timers_.size() < kTimersPerHostMax, "a component is leaking timers");
  // A negative delay (a deadline already past) means "as soon as possible", as in the real runtime.
  TimeNs delay = std::max<TimeNs>(delay_ns, 0);
  if (drift_ppm_ != 0) delay = (delay * 1'000'000 + (1'000'000 + drift_ppm_) - 1) / (1'000'000 + drift_ppm_);
  const TimeNs at = kernel_.now() + delay;
  const uint64_t event = kernel_.schedule_at(at, [this, id] { fire(id); });
  timers_.emplace(id, PendingTimer{event, std::move(fn)});
  return id;
}

bool Host::cancel(TimerId id) {
  const auto it = timers_.find(id);
  if (it == timers_.end()) return false;
  // A timer that fired while paused has no kernel event left; its deferred entry finds it gone.
  if (it->second.event != 0) {
    const bool pending = kernel_.cancel(it->second.event);
    AETHER_ASSERT(pending);
  }
  timers_.erase(it);
  return true;
}

void Host::fire(TimerId id) {
  const auto it = timers_.find(id);
  AETHER_ASSERT(it != timers_.end());
  if (state_.gated()) {
    it->second.event = 0;
    state_.deferred.push_back(Deferred{Deferred::Kind::kTimer, 0, 0, id});
    return;
  }
  run_timer(id);
}

void Host::run_timer(TimerId id) {
  const auto it = timers_.find(id);
  if (it == timers_.end()) return;  // cancelled while deferred
  // Out of the table before it runs: the handler may re-arm, and cancel(id) must now say false.
  std::function<void()> fn = std::move(it->second.fn);
  timers_.erase(it);
  {
    CallbackScope scope(state_);
    fn();
  }
  if (slow_ns_ > 0 && state_.alive && !state_.busy) {
    state_.busy = true;
    busy_event_ = kernel_.schedule_at(kernel_.now() + slow_ns_, [this] { end_busy(); });
  }
}

void Host::drop_timers() {
  // Sorted so the kernel sees the same cancellations in the same order on every platform.
  std::vector<TimerId> ids;
  ids.reserve(timers_.size());
  for (const auto& entry : timers_) ids.push_back(entry.first);
  std::sort(ids.begin(), ids.end());
  for (const TimerId id : ids) {
    const uint64_t event = timers_.at(id).event;
    if (event != 0) kernel_.cancel(event);
  }
  timers_.clear();
}

void Host::record(TraceEvent event) {
  if (!state_.alive) return;
  event.time_ns = kernel_.now();
  event.node = state_.node;
  trace_.record(event);
}

}  // namespace aether::sim
