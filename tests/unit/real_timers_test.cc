// RealTimers: the contract of engine/runtime/timers.h on a real io_context.

#include "runtime/real/real_timers.h"

#include <gtest/gtest.h>

#include <chrono>
#include <limits>
#include <memory>
#include <vector>

#include "runtime/real/real_runtime.h"

namespace aether::real {
namespace {

namespace asio = boost::asio;

// Steady time that moves only when the test says so, so several timers can share one deadline
// exactly. It starts at the real steady time, so Asio's wait (on the real clock) is meaningful.
class ManualClock final : public Clock {
 public:
  ManualClock() : now_(SteadyClock().now_ns()) {}
  TimeNs now_ns() const override { return now_; }
  int64_t unix_ns() const override { return SteadyClock().unix_ns(); }
  void advance(TimeNs ns) { now_ += ns; }

 private:
  TimeNs now_;
};

RealOptions quiet() {
  RealOptions o;
  o.log_level = LogLevel::kWarn;
  o.seed = 7;
  return o;
}

// Runs io until done() or the time limit (a hung test fails instead of hanging).
template <class Done>
bool run_until(asio::io_context& io, Done done, std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(std::chrono::milliseconds(5));
  }
  return done();
}

TEST(RealTimers, SameDeadlineFiresInSchedulingOrder) {
  asio::io_context io;
  ManualClock clock;
  auto timers = std::make_shared<RealTimers>(io, clock);
  std::vector<int> fired;
  constexpr int kTimers = 200;
  for (int i = 0; i < kTimers; ++i) {
    // Even ones share deadline now+1ms, odd ones share deadline now.
    timers->schedule(i % 2 == 0 ? kNsPerMs : 0, [&fired, i] { fired.push_back(i); });
  }
  EXPECT_TRUE(fired.empty());  // never synchronous
  clock.advance(kNsPerMs);
  ASSERT_TRUE(run_until(io, [&] { return fired.size() == kTimers; }));
  std::vector<int> want;
  for (int i = 1; i < kTimers; i += 2) want.push_back(i);
  for (int i = 0; i < kTimers; i += 2) want.push_back(i);
  EXPECT_EQ(fired, want);
}

TEST(RealTimers, CancelContract) {
  asio::io_context io;
  RealRuntime rt(io, "t", NodeId{1}, quiet());
  Timers& t = rt.runtime().timers;
  std::vector<char> fired;
  const TimerId a = t.schedule(kNsPerMs, [&] { fired.push_back('a'); });
  const TimerId b = t.schedule(kNsPerMs, [&] { fired.push_back('b'); });
  const TimerId c = t.schedule(2 * kNsPerMs, [&] { fired.push_back('c'); });
  EXPECT_NE(a, 0u);
  EXPECT_TRUE(t.cancel(b));
  EXPECT_FALSE(t.cancel(b));
  EXPECT_FALSE(t.cancel(987654));
  EXPECT_FALSE(t.cancel(0));
  ASSERT_TRUE(run_until(io, [&] { return fired.size() == 2; }));
  EXPECT_EQ(fired, (std::vector<char>{'a', 'c'}));
  EXPECT_FALSE(t.cancel(a));  // already fired
  EXPECT_FALSE(t.cancel(c));
}

TEST(RealTimers, CallbackMayCancelAndSchedule) {
  asio::io_context io;
  ManualClock clock;
  auto timers = std::make_shared<RealTimers>(io, clock);
  std::vector<int> fired;
  TimerId second = 0;
  timers->schedule(0, [&] {
    fired.push_back(1);
    EXPECT_TRUE(timers->cancel(second));  // due at the same instant, not yet run: cancellable
    timers->schedule(0, [&] { fired.push_back(3); });
  });
  second = timers->schedule(0, [&] { fired.push_back(2); });
  ASSERT_TRUE(run_until(io, [&] { return fired.size() == 2; }));
  EXPECT_EQ(fired, (std::vector<int>{1, 3}));
  EXPECT_EQ(timers->pending(), 0u);
}

TEST(RealTimers, EarlierTimerReArmsTheWait) {
  asio::io_context io;
  RealRuntime rt(io, "t", NodeId{1}, quiet());
  Timers& t = rt.runtime().timers;
  bool late = false;
  bool early = false;
  t.schedule(10 * kNsPerSec, [&] { late = true; });
  t.schedule(5 * kNsPerMs, [&] { early = true; });
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(run_until(io, [&] { return early; }, std::chrono::seconds(2)));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  EXPECT_FALSE(late);
}

TEST(RealTimers, HugeAndNegativeDelays) {
  asio::io_context io;
  RealRuntime rt(io, "t", NodeId{1}, quiet());
  Timers& t = rt.runtime().timers;
  bool never = false;
  bool now = false;
  const TimerId forever = t.schedule(std::numeric_limits<TimeNs>::max(), [&] { never = true; });
  t.schedule(-5 * kNsPerSec, [&] { now = true; });  // a negative delay means "as soon as possible"
  ASSERT_TRUE(run_until(io, [&] { return now; }));
  EXPECT_FALSE(never);
  EXPECT_TRUE(t.cancel(forever));
}

TEST(RealTimers, CancellingTheEarliestKeepsTheRest) {
  asio::io_context io;
  RealRuntime rt(io, "t", NodeId{1}, quiet());
  Timers& t = rt.runtime().timers;
  bool first = false;
  bool second = false;
  const TimerId id = t.schedule(2 * kNsPerMs, [&] { first = true; });
  t.schedule(10 * kNsPerMs, [&] { second = true; });
  EXPECT_TRUE(t.cancel(id));
  ASSERT_TRUE(run_until(io, [&] { return second; }));
  EXPECT_FALSE(first);
}

TEST(RealTimers, PeriodicReschedulingFromCallback) {
  asio::io_context io;
  RealRuntime rt(io, "t", NodeId{1}, quiet());
  Timers& t = rt.runtime().timers;
  int ticks = 0;
  std::function<void()> tick = [&] {
    if (++ticks < 5) t.schedule(kNsPerMs, tick);
  };
  t.schedule(kNsPerMs, tick);
  ASSERT_TRUE(run_until(io, [&] { return ticks == 5; }));
}

TEST(RealTimers, ZeroDelaySelfReschedulingDoesNotStarveTheLoop) {
  asio::io_context io;
  RealRuntime rt(io, "t", NodeId{1}, quiet());
  Timers& t = rt.runtime().timers;
  int spins = 0;
  std::function<void()> spin = [&] {
    ++spins;
    t.schedule(0, spin);
  };
  t.schedule(0, spin);
  bool posted_ran = false;
  asio::post(io, [&] { posted_ran = true; });
  ASSERT_TRUE(run_until(io, [&] { return posted_ran && spins > 10; }));
}

TEST(RealTimers, ShutdownStopsEverything) {
  asio::io_context io;
  RealRuntime rt(io, "t", NodeId{1}, quiet());
  Timers& t = rt.runtime().timers;
  bool fired = false;
  const TimerId id = t.schedule(kNsPerMs, [&] { fired = true; });
  rt.shutdown();
  EXPECT_FALSE(t.cancel(id));
  const TimerId after = t.schedule(0, [&] { fired = true; });
  EXPECT_NE(after, 0u);
  io.run_for(std::chrono::milliseconds(20));
  EXPECT_FALSE(fired);
}

TEST(RealTimers, RuntimeDestroyedFromItsOwnCallback) {
  asio::io_context io;
  auto rt = std::make_unique<RealRuntime>(io, "t", NodeId{1}, quiet());
  bool other = false;
  rt->runtime().timers.schedule(kNsPerMs, [&] { rt.reset(); });
  rt->runtime().timers.schedule(kNsPerMs, [&] { other = true; });  // same batch, must not run
  ASSERT_TRUE(run_until(io, [&] { return rt == nullptr; }));
  io.run_for(std::chrono::milliseconds(10));
  EXPECT_FALSE(other);
}

TEST(RealTimers, RuntimeDestroyedWithWaitPending) {
  asio::io_context io;
  {
    RealRuntime rt(io, "t", NodeId{1}, quiet());
    rt.runtime().timers.schedule(kNsPerMs, [] { FAIL() << "fired after destruction"; });
  }
  io.run_for(std::chrono::milliseconds(10));
}

TEST(RealRuntime, ClockAndRandom) {
  asio::io_context io;
  RealRuntime a(io, "a", NodeId{1}, quiet());
  RealRuntime b(io, "b", NodeId{2}, quiet());
  const TimeNs t0 = a.runtime().clock.now_ns();
  EXPECT_GE(a.runtime().clock.now_ns(), t0);
  // Same seed, same stream: the seed option makes a run reproducible where it matters (bots).
  EXPECT_EQ(a.runtime().random.next_u64(), b.runtime().random.next_u64());
  RealOptions o = quiet();
  o.seed = 0;
  RealRuntime c(io, "c", NodeId{3}, o);
  EXPECT_NE(c.seed(), 0u);
}

}  // namespace
}  // namespace aether::real
