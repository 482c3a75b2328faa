#include "runtime/sim/kernel.h"

#include <algorithm>
#include <utility>

#include "engine/core/assert.h"

namespace aether::sim {

uint64_t Kernel::schedule_at(TimeNs at, std::function<void()> fn) {
  AETHER_ASSERT_MSG(at >= now_, "an event cannot be scheduled in the past");
  AETHER_ASSERT(fn != nullptr);
  AETHER_ASSERT_MSG(next_sequence_ < kKernelSequenceMax, "kernel event sequence exhausted");
  const uint32_t slot = take_slot();
  const uint64_t id = (next_sequence_++ << kKernelSlotBits) | slot;
  slots_[slot].id = id;
  slots_[slot].fn = std::move(fn);
  heap_push(Entry{at, id});
  ++live_;
  return id;
}

bool Kernel::cancel(uint64_t id) {
  const uint32_t slot = slot_of(id);
  if (id == 0 || slot >= slots_.size() || slots_[slot].id != id) return false;
  // The heap entry stays behind and is skipped when it surfaces (or dropped by a compaction).
  free_slot(slot);
  --live_;
  compact_if_worthwhile();
  return true;
}

bool Kernel::step() {
  drop_stale_top();
  if (heap_.empty()) return false;
  const Entry top = heap_pop();
  AETHER_ASSERT(top.at >= now_);
  now_ = top.at;
  // Move the handler out and free its slot first: the handler may schedule (growing slots_) or try to
  // cancel itself (which must then report false, as it has fired).
  const uint32_t slot = slot_of(top.id);
  std::function<void()> fn = std::move(slots_[slot].fn);
  free_slot(slot);
  --live_;
  ++events_run_;
  fn();
  return true;
}

bool Kernel::step_until(TimeNs t) {
  drop_stale_top();
  if (heap_.empty() || heap_.front().at > t) return false;
  return step();
}

void Kernel::run_until(TimeNs t) {
  AETHER_ASSERT_MSG(t >= now_, "run_until cannot go back in time");
  for (;;) {
    drop_stale_top();
    if (heap_.empty() || heap_.front().at > t) break;
    step();
  }
  now_ = t;
}

uint32_t Kernel::take_slot() {
  if (!free_slots_.empty()) {
    const uint32_t slot = free_slots_.back();
    free_slots_.pop_back();
    return slot;
  }
  AETHER_ASSERT_MSG(slots_.size() < kKernelPendingMax, "too many pending kernel events");
  slots_.emplace_back();
  return static_cast<uint32_t>(slots_.size() - 1);
}

void Kernel::free_slot(uint32_t slot) {
  slots_[slot].id = 0;
  slots_[slot].fn = nullptr;
  free_slots_.push_back(slot);
}

void Kernel::drop_stale_top() {
  while (!heap_.empty() && !is_live(heap_.front())) heap_pop();
}

void Kernel::compact_if_worthwhile() {
  const size_t stale = heap_.size() - live_;
  if (stale < kKernelCompactStaleMin || stale <= live_) return;
  // Entries are totally ordered by (at, id), so rebuilding cannot change the order events run in.
  std::erase_if(heap_, [this](const Entry& e) { return !is_live(e); });
  heap_build();
}

namespace {
constexpr size_t kArity = 4;
}  // namespace

void Kernel::heap_push(Entry e) {
  size_t i = heap_.size();
  heap_.push_back(e);
  while (i > 0) {
    const size_t parent = (i - 1) / kArity;
    if (!later(heap_[parent], e)) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = e;
}

// Places e at position i or below: at each level the earliest of up to four children moves up.
void Kernel::sift_down(size_t i, Entry e) {
  const size_t n = heap_.size();
  for (;;) {
    const size_t first = i * kArity + 1;
    if (first >= n) break;
    size_t best = first;
    const size_t end = std::min(first + kArity, n);
    for (size_t c = first + 1; c < end; ++c) {
      if (later(heap_[best], heap_[c])) best = c;
    }
    if (!later(e, heap_[best])) break;
    heap_[i] = heap_[best];
    i = best;
  }
  heap_[i] = e;
}

Kernel::Entry Kernel::heap_pop() {
  AETHER_ASSERT(!heap_.empty());
  const Entry top = heap_.front();
  const Entry last = heap_.back();
  heap_.pop_back();
  if (!heap_.empty()) sift_down(0, last);
  return top;
}

void Kernel::heap_build() {
  const size_t n = heap_.size();
  if (n < 2) return;
  for (size_t start = (n - 2) / kArity + 1; start-- > 0;) sift_down(start, heap_[start]);
}

}  // namespace aether::sim
