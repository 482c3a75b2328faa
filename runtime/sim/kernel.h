#pragma once
// The discrete-event kernel of the simulator: one virtual clock in integer nanoseconds (starting at 0)
// and a queue of one-shot events. Events run in (time, scheduling order) order, so two runs that
// schedule the same events in the same order run them identically. No global state: a Kernel is one
// world, and several may coexist in one process.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <vector>

#include "engine/core/time.h"

namespace aether::sim {

// Event ids pack the slot that holds the handler (low bits) under the event's scheduling sequence
// number (high bits). Comparing ids therefore compares scheduling order, and a stale id (fired or
// cancelled, slot since reused) never matches the slot's current occupant.
inline constexpr int kKernelSlotBits = 24;
// Events pending at once. A simulation beyond this has a runaway producer: we stop it loudly.
inline constexpr size_t kKernelPendingMax = size_t{1} << kKernelSlotBits;
// Events ever scheduled in one Kernel (2^40, about 30 hours of simulation at 10 million events/s).
inline constexpr uint64_t kKernelSequenceMax = uint64_t{1} << (64 - kKernelSlotBits);
// Cancelled events stay in the heap until popped; past this many (and more than the live ones) the
// heap is rebuilt so that cancel-heavy workloads keep the heap proportional to pending().
inline constexpr size_t kKernelCompactStaleMin = 1024;

class Kernel {
 public:
  Kernel() = default;
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;

  TimeNs now() const { return now_; }

  // Schedules fn at absolute time `at` (>= now()). Returns a nonzero id, unique within this Kernel.
  uint64_t schedule_at(TimeNs at, std::function<void()> fn);
  // True only if the event was pending: its handler is destroyed now and never runs. False for a
  // fired, cancelled or unknown id.
  bool cancel(uint64_t id);
  // Runs the earliest pending event (advancing now() to its time). False if nothing is pending.
  bool step();
  // Runs the earliest pending event if its time is <= t. False (and nothing runs) otherwise.
  bool step_until(TimeNs t);
  // Runs every event with time <= t in order (including those scheduled meanwhile), then sets
  // now() = t.
  void run_until(TimeNs t);

  uint64_t events_run() const { return events_run_; }
  size_t pending() const { return live_; }

 private:
  // What the heap orders: 16 bytes, compared as (at, id) = (time, scheduling sequence).
  struct Entry {
    TimeNs at;
    uint64_t id;
  };
  struct Slot {
    uint64_t id = 0;  // the pending event in this slot; 0 when free
    std::function<void()> fn;
  };

  static bool later(const Entry& x, const Entry& y) { return x.at != y.at ? x.at > y.at : x.id > y.id; }
  bool is_live(const Entry& e) const { return slots_[slot_of(e.id)].id == e.id; }
  static uint32_t slot_of(uint64_t id) { return static_cast<uint32_t>(id & (kKernelPendingMax - 1)); }

  uint32_t take_slot();
  void free_slot(uint32_t slot);
  void drop_stale_top();
  void compact_if_worthwhile();

  TimeNs now_ = 0;
  uint64_t next_sequence_ = 1;
  uint64_t events_run_ = 0;
  size_t live_ = 0;
  // A 4-ary min-heap under later(); may hold cancelled entries. Four children of 16 bytes fill one
  // 64-byte cache line, and the tree is half as deep as a binary heap's: at a million pending
  // events a pop touches 10 lines instead of 20 (bench/kernel_bench.cc compares it with a plain
  // binary heap on the same event sequence).
  std::vector<Entry> heap_;
  void heap_push(Entry e);
  Entry heap_pop();  // the earliest entry, removed
  void heap_build();
  void sift_down(size_t i, Entry e);
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
};

}  // namespace aether::sim
