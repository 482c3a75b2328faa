#pragma once
// One-shot timers on an io_context. Asio does not promise that two timers due at the same instant
// complete in the order they were started, so the queue is ours, ordered by (deadline, id) (ids grow,
// so id order is scheduling order), and a single asio::steady_timer sleeps until the earliest deadline.

#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "engine/runtime/clock.h"
#include "engine/runtime/timers.h"

namespace aether::real {

// The real runtime's clock: std::chrono::steady_clock in nanoseconds, the same clock that
// asio::steady_timer waits on, so a deadline computed here is a deadline Asio understands.
// Its calendar is the system clock (std::chrono::system_clock).
class SteadyClock final : public Clock {
 public:
  TimeNs now_ns() const override;
  int64_t unix_ns() const override;
};

// Owned through a shared_ptr: the pending wait holds only a weak_ptr, so destroying the owner while a
// wait is outstanding is safe.
class RealTimers final : public Timers, public std::enable_shared_from_this<RealTimers> {
 public:
  RealTimers(boost::asio::io_context& io, const Clock& clock);

  TimerId schedule(TimeNs delay_ns, std::function<void()> fn) override;
  bool cancel(TimerId id) override;

  // Drops every pending timer and stops the wait. Later schedule() calls return an id that never fires.
  void shutdown();
  size_t pending() const { return queue_.size(); }

 private:
  struct Key {
    TimeNs deadline_ns;
    TimerId id;
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  static constexpr TimeNs kNotArmed = std::numeric_limits<TimeNs>::min();

  void arm();
  void on_wake(uint64_t generation);
  void fire_due();

  const Clock& clock_;
  boost::asio::steady_timer wake_;
  std::map<Key, std::function<void()>> queue_;
  std::unordered_map<TimerId, TimeNs> deadline_of_;
  TimerId next_id_ = 1;
  TimeNs armed_for_ns_ = kNotArmed;  // the deadline wake_ currently waits for
  uint64_t generation_ = 0;          // bumped per arm: a stale completion is recognised and ignored
  bool firing_ = false;              // inside fire_due: schedule() leaves arming to the loop's end
  bool shut_down_ = false;
};

}  // namespace aether::real
