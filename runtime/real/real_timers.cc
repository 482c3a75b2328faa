#include "runtime/real/real_timers.h"

#include <chrono>

namespace aether::real {

namespace asio = boost::asio;

TimeNs SteadyClock::now_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

int64_t SteadyClock::unix_ns() const {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

RealTimers::RealTimers(asio::io_context& io, const Clock& clock) : clock_(clock), wake_(io) {}

TimerId RealTimers::schedule(TimeNs delay_ns, std::function<void()> fn) {
  const TimerId id = next_id_++;
  if (shut_down_) return id;  // the host is gone: a valid-looking id that never fires
  const TimeNs now = clock_.now_ns();
  if (delay_ns < 0) delay_ns = 0;
  // Saturate instead of overflowing: "never" is a legitimate delay for a caller to ask for.
  const TimeNs deadline = delay_ns > std::numeric_limits<TimeNs>::max() - now
                              ? std::numeric_limits<TimeNs>::max()
                              : now + delay_ns;
  queue_.emplace(Key{deadline, id}, std::move(fn));
  deadline_of_.emplace(id, deadline);
  if (!firing_) arm();
  return id;
}

bool RealTimers::cancel(TimerId id) {
  const auto it = deadline_of_.find(id);
  if (it == deadline_of_.end()) return false;
  queue_.erase(Key{it->second, id});
  deadline_of_.erase(it);
  // The wait may now be early; an early wake finds nothing due and re-arms, which is cheaper than
  // re-arming on every cancel.
  return true;
}

void RealTimers::shutdown() {
  shut_down_ = true;
  queue_.clear();
  deadline_of_.clear();
  ++generation_;
  armed_for_ns_ = kNotArmed;
  wake_.cancel();
}

void RealTimers::arm() {
  if (shut_down_ || queue_.empty()) return;
  const TimeNs earliest = queue_.begin()->first.deadline_ns;
  if (earliest == armed_for_ns_) return;
  armed_for_ns_ = earliest;
  const uint64_t generation = ++generation_;
  // expires_at cancels the previous wait; its completion (aborted, or already queued as a success)
  // carries an old generation and is ignored.
  wake_.expires_at(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(earliest)));
  wake_.async_wait([weak = weak_from_this(), generation](const boost::system::error_code&) {
    if (auto self = weak.lock()) self->on_wake(generation);
  });
}

void RealTimers::on_wake(uint64_t generation) {
  if (shut_down_ || generation != generation_) return;
  armed_for_ns_ = kNotArmed;
  fire_due();
  arm();
}

// Fires, in (deadline, id) order, the timers that are due and were scheduled before this wake-up. A
// timer scheduled by a callback waits for the next turn of the event loop even when already due, so
// a callback that re-schedules itself with delay 0 cannot starve network events.
void RealTimers::fire_due() {
  // A callback may destroy the runtime that owns us; keep this object alive until the loop ends.
  const std::shared_ptr<RealTimers> keep_alive = shared_from_this();
  const TimeNs now = clock_.now_ns();
  const TimerId id_limit = next_id_;
  firing_ = true;
  while (!shut_down_ && !queue_.empty()) {
    const auto it = queue_.begin();
    if (it->first.deadline_ns > now || it->first.id >= id_limit) break;
    std::function<void()> fn = std::move(it->second);
    deadline_of_.erase(it->first.id);
    queue_.erase(it);
    fn();
  }
  firing_ = false;
}

}  // namespace aether::real
