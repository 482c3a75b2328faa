#pragma once
// Plain figures components keep for export (Prometheus /metrics in the real runtime). No I/O here:
// components only count; runtime/common renders and runtime/real serves.

#include <array>
#include <cstddef>
#include <cstdint>

#include "engine/core/bounded_queue.h"
#include "engine/core/time.h"

namespace aether {

// Upper bounds of the tick-duration histogram, in nanoseconds, chosen around the 100 ms tick budget
// (kTickNs is one of them, so "ticks within budget" is one bucket read). Exported in seconds.
inline constexpr std::array<TimeNs, 12> kTickBucketBoundsNs = {
    1 * kNsPerMs,  2 * kNsPerMs,  5 * kNsPerMs,  10 * kNsPerMs,  20 * kNsPerMs,  50 * kNsPerMs,
    75 * kNsPerMs, kTickNs,       150 * kNsPerMs, 250 * kNsPerMs, 500 * kNsPerMs, 1000 * kNsPerMs,
};
static_assert(kTickBucketBoundsNs[7] == kTickNs, "the tick budget is a bucket bound");

// A histogram with fixed upper bounds, as Prometheus wants it: counts per bucket (not cumulative;
// the renderer accumulates), plus one overflow bucket, the sum and the count. Fixed memory.
template <size_t N>
class BucketHistogram {
 public:
  explicit constexpr BucketHistogram(const std::array<TimeNs, N>& bounds) : bounds_(bounds) {}

  void record(TimeNs value) {
    if (value < 0) value = 0;
    size_t b = 0;
    while (b < N && value > bounds_[b]) ++b;  // a value equal to a bound falls in that bound's bucket
    ++counts_[b];
    ++count_;
    sum_ += static_cast<uint64_t>(value);
  }

  const std::array<TimeNs, N>& bounds() const { return bounds_; }
  // counts()[i] for i < N: samples in (bounds[i-1], bounds[i]]; counts()[N]: above the last bound.
  const std::array<uint64_t, N + 1>& counts() const { return counts_; }
  uint64_t count() const { return count_; }
  uint64_t sum() const { return sum_; }

 private:
  std::array<TimeNs, N> bounds_;
  std::array<uint64_t, N + 1> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
};

using TickHistogram = BucketHistogram<kTickBucketBoundsNs.size()>;

// One bounded queue as an operator sees it.
struct QueueFigures {
  const char* name = "";  // a static string: "input", "intent", ...
  size_t depth = 0;
  size_t depth_max = 0;   // deepest it has been
  size_t capacity = 0;
  uint64_t refused_total = 0;
};

template <class T>
QueueFigures queue_figures(const char* name, const BoundedQueue<T>& q) {
  return QueueFigures{name, q.depth(), q.depth_max(), q.capacity(), q.refused_total()};
}

}  // namespace aether
