// Events per second of the simulator's kernel (runtime/sim/kernel.h): every simulated message, timer
// and handshake is one kernel event, so this bounds how fast any simulation can run.
//
// The "hold" model: a steady population of pending events; each event, when it runs, schedules its
// successor at a delay drawn from a spread like a simulated cluster's (network hops, ticks, timeouts),
// so every iteration is one schedule plus one run.

#include <benchmark/benchmark.h>

#include <cstdint>
#include <functional>
#include <algorithm>
#include <vector>

#include "engine/core/random.h"
#include "engine/core/time.h"
#include "runtime/sim/kernel.h"

namespace aether::sim {
namespace {

// 70% network deliveries (500 us + up to 200 us of jitter), 25% tick-period timers, 5% timeouts.
TimeNs draw_delay(Random& rng) {
  const uint64_t kind = uniform_below(rng, 100);
  if (kind < 70) return 500 * kNsPerUs + static_cast<TimeNs>(uniform_below(rng, 200 * kNsPerUs + 1));
  if (kind < 95) return kTickNs;
  return kNsPerSec + static_cast<TimeNs>(uniform_below(rng, 4 * kNsPerSec));
}

struct Hold {
  Kernel kernel;
  Xoshiro256 rng{42};
  void arm() {
    kernel.schedule_at(kernel.now() + draw_delay(rng), [this] { arm(); });
  }
};

void BM_KernelHold(benchmark::State& state) {
  Hold h;
  for (int64_t i = 0; i < state.range(0); ++i) h.arm();
  for (auto _ : state) h.kernel.step();
  state.SetItemsProcessed(static_cast<int64_t>(h.kernel.events_run()));
}
BENCHMARK(BM_KernelHold)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);

// The yardstick: a plain binary heap of (time, sequence, handler) in a vector (std::push_heap,
// std::pop_heap, the handler moved out), fed the same event sequence (same seed, same delays). The
// kernel must be at least as fast at every size.
struct PlainHeap {
  struct Event {
    TimeNs at;
    uint64_t seq;
    std::function<void()> fn;
  };
  static bool later(const Event& a, const Event& b) { return a.at != b.at ? a.at > b.at : a.seq > b.seq; }
  std::vector<Event> heap;
  TimeNs now = 0;
  uint64_t next_seq = 1;
  uint64_t run = 0;
  Xoshiro256 rng{42};
  void arm() {
    heap.push_back(Event{now + draw_delay(rng), next_seq++, [this] { arm(); }});
    std::push_heap(heap.begin(), heap.end(), later);
  }
  void step() {
    std::pop_heap(heap.begin(), heap.end(), later);
    Event e = std::move(heap.back());
    heap.pop_back();
    now = e.at;
    ++run;
    e.fn();
  }
};

void BM_PlainHeapHold(benchmark::State& state) {
  PlainHeap h;
  for (int64_t i = 0; i < state.range(0); ++i) h.arm();
  for (auto _ : state) h.step();
  state.SetItemsProcessed(static_cast<int64_t>(h.run));
}
BENCHMARK(BM_PlainHeapHold)->Arg(1'000)->Arg(10'000)->Arg(100'000)->Arg(1'000'000);

// Timers that are mostly re-armed before they fire (heartbeat and retransmit timeouts): each item is
// one schedule, and half of them are cancelled before running.
struct Rearm {
  Kernel kernel;
  Xoshiro256 rng{7};
  std::vector<uint64_t> timeouts;
  void arm(size_t slot) {
    timeouts[slot] = kernel.schedule_at(kernel.now() + draw_delay(rng), [this, slot] { on_timeout(slot); });
  }
  void on_timeout(size_t slot) {
    // A retransmit: push another, unrelated timeout back (cancel + re-arm), then re-arm this one.
    const size_t other = static_cast<size_t>(uniform_below(rng, timeouts.size()));
    if (other != slot && kernel.cancel(timeouts[other])) arm(other);
    arm(slot);
  }
};

void BM_KernelCancelRearm(benchmark::State& state) {
  Rearm r;
  r.timeouts.resize(static_cast<size_t>(state.range(0)));
  for (size_t i = 0; i < r.timeouts.size(); ++i) r.arm(i);
  for (auto _ : state) r.kernel.step();
  state.SetItemsProcessed(static_cast<int64_t>(r.kernel.events_run()));
}
BENCHMARK(BM_KernelCancelRearm)->Arg(10'000);

}  // namespace
}  // namespace aether::sim

BENCHMARK_MAIN();
