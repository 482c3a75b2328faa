// The simulator's event kernel: ordering, tie-breaking, cancellation, run_until.

#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "runtime/sim/kernel.h"

namespace aether::sim {
namespace {

TEST(SimKernel, StartsAtZeroWithNothingPending) {
  Kernel k;
  EXPECT_EQ(k.now(), 0);
  EXPECT_EQ(k.pending(), 0u);
  EXPECT_FALSE(k.step());
  EXPECT_EQ(k.events_run(), 0u);
}

TEST(SimKernel, RunsByTimeThenSchedulingOrder) {
  Kernel k;
  std::string order;
  k.schedule_at(30, [&] { order += 'a'; });
  k.schedule_at(10, [&] { order += 'b'; });
  k.schedule_at(20, [&] { order += 'c'; });
  k.schedule_at(10, [&] { order += 'd'; });
  k.schedule_at(10, [&] { order += 'e'; });
  while (k.step()) {
  }
  EXPECT_EQ(order, "bdeca");
  EXPECT_EQ(k.now(), 30);
  EXPECT_EQ(k.events_run(), 5u);
}

TEST(SimKernel, TiesScheduledFromHandlersRunAfterEarlierOnes) {
  Kernel k;
  std::string order;
  k.schedule_at(10, [&] {
    order += '1';
    k.schedule_at(10, [&] { order += 'x'; });
    k.schedule_at(10, [&] { order += 'y'; });
    k.schedule_at(k.now(), [&] { order += 'z'; });
  });
  k.schedule_at(10, [&] { order += '2'; });
  k.schedule_at(11, [&] { order += '3'; });
  k.run_until(100);
  EXPECT_EQ(order, "12xyz3");
}

TEST(SimKernel, EarlierTimeScheduledLaterRunsFirst) {
  Kernel k;
  std::string order;
  k.schedule_at(100, [&] { order += 'L'; });
  k.schedule_at(50, [&] { order += 'E'; });
  k.schedule_at(10, [&] {
    order += 'S';
    k.schedule_at(60, [&] { order += 'M'; });  // between two events already queued
  });
  k.run_until(1000);
  EXPECT_EQ(order, "SEML");
}

TEST(SimKernel, CancelledEventNeverRuns) {
  Kernel k;
  int ran = 0;
  const uint64_t a = k.schedule_at(5, [&] { ran += 1; });
  const uint64_t b = k.schedule_at(5, [&] { ran += 10; });
  EXPECT_NE(a, 0u);
  EXPECT_NE(a, b);
  EXPECT_EQ(k.pending(), 2u);
  EXPECT_TRUE(k.cancel(a));
  EXPECT_EQ(k.pending(), 1u);
  EXPECT_FALSE(k.cancel(a));  // twice
  k.run_until(10);
  EXPECT_EQ(ran, 10);
  EXPECT_FALSE(k.cancel(b));  // after it fired
  EXPECT_FALSE(k.cancel(0));
  EXPECT_FALSE(k.cancel(0xdeadbeefULL << 24));
  EXPECT_EQ(k.pending(), 0u);
  EXPECT_EQ(k.events_run(), 1u);
}

TEST(SimKernel, HandlerCannotCancelItselfButCanCancelOthers) {
  Kernel k;
  uint64_t self = 0;
  uint64_t other = 0;
  bool self_cancel = true;
  bool other_cancel = false;
  bool other_ran = false;
  self = k.schedule_at(1, [&] {
    self_cancel = k.cancel(self);
    other_cancel = k.cancel(other);
  });
  other = k.schedule_at(1, [&] { other_ran = true; });
  k.run_until(2);
  EXPECT_FALSE(self_cancel);
  EXPECT_TRUE(other_cancel);
  EXPECT_FALSE(other_ran);
}

TEST(SimKernel, RearmAfterCancelRunsOnlyTheNewEvent) {
  Kernel k;
  std::vector<int> ran;
  const uint64_t first = k.schedule_at(10, [&] { ran.push_back(1); });
  ASSERT_TRUE(k.cancel(first));
  const uint64_t second = k.schedule_at(10, [&] { ran.push_back(2); });
  EXPECT_NE(first, second);  // the freed slot is reused, the id is not
  EXPECT_FALSE(k.cancel(first));
  k.run_until(10);
  EXPECT_EQ(ran, std::vector<int>{2});
}

TEST(SimKernel, RunUntilStopsAtTheBoundAndSetsNow) {
  Kernel k;
  std::vector<TimeNs> seen;
  for (const TimeNs t : {5, 10, 15}) k.schedule_at(t, [&] { seen.push_back(k.now()); });
  k.run_until(10);  // inclusive
  EXPECT_EQ(seen, (std::vector<TimeNs>{5, 10}));
  EXPECT_EQ(k.now(), 10);
  EXPECT_EQ(k.pending(), 1u);
  k.run_until(12);  // nothing due: time still advances
  EXPECT_EQ(k.now(), 12);
  EXPECT_EQ(seen.size(), 2u);
  k.schedule_at(12, [&] { seen.push_back(k.now()); });  // at now is allowed
  k.run_until(20);
  EXPECT_EQ(seen, (std::vector<TimeNs>{5, 10, 12, 15}));
  EXPECT_EQ(k.now(), 20);
}

TEST(SimKernel, RunUntilRunsEventsScheduledMeanwhileUpToTheBound) {
  Kernel k;
  int chain = 0;
  std::function<void()> tick = [&] {
    ++chain;
    k.schedule_at(k.now() + 3, tick);
  };
  k.schedule_at(0, tick);
  k.run_until(10);  // runs at 0, 3, 6, 9
  EXPECT_EQ(chain, 4);
  EXPECT_EQ(k.pending(), 1u);
}

TEST(SimKernel, ManyCancellationsKeepOrderAndCount) {
  Kernel k;
  constexpr int kEvents = 5000;
  std::vector<uint64_t> ids;
  std::vector<int> ran;
  for (int i = 0; i < kEvents; ++i) {
    // Descending times, so order must come from the heap, not from insertion.
    ids.push_back(k.schedule_at(kEvents - i, [&ran, i] { ran.push_back(i); }));
  }
  for (int i = 0; i < kEvents; ++i) {
    if (i % 5 != 0) {
      ASSERT_TRUE(k.cancel(ids[i]));
    }
  }
  EXPECT_EQ(k.pending(), static_cast<size_t>(kEvents / 5));
  k.run_until(kEvents);
  ASSERT_EQ(ran.size(), static_cast<size_t>(kEvents / 5));
  for (size_t j = 0; j < ran.size(); ++j) EXPECT_EQ(ran[j], kEvents - 5 - static_cast<int>(j) * 5);
  EXPECT_EQ(k.pending(), 0u);
  EXPECT_FALSE(k.step());
}

TEST(SimKernel, CancelReleasesTheHandlerAtOnce) {
  Kernel k;
  auto token = std::make_shared<int>(7);
  const uint64_t id = k.schedule_at(1, [token] { (void)token; });
  EXPECT_EQ(token.use_count(), 2);
  ASSERT_TRUE(k.cancel(id));
  EXPECT_EQ(token.use_count(), 1);
}

TEST(SimKernelDeathTest, SchedulingInThePastIsABug) {
  Kernel k;
  k.run_until(10);
  EXPECT_DEATH(k.schedule_at(9, [] {}), "past");
}

}  // namespace
}  // namespace aether::sim
