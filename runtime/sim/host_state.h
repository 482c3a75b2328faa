#pragma once
// What every piece of one simulated process (its timers, its network endpoint, its trace sink) needs
// to know about that process. Owned by the Host; the pieces hold a reference.

#include <time.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>

#include "engine/core/ids.h"
#include "engine/runtime/peer_identity.h"

namespace aether::sim {

// A callback into a paused host's component that came due while it was paused (or while older ones
// still waited). Each one keeps its place in one queue per host, so resume() runs timers and network
// events in the order they came due.
struct Deferred {
  enum class Kind : uint8_t {
    kTimer,    // timer `timer` fired (skipped if it was cancelled meanwhile)
    kArrival,  // the oldest arrived item of connection `conn`, direction `side`, is to be handled
    kReset,    // connection `conn` is reset at end `side` (peer crashed, or partition timeout)
  };
  Kind kind = Kind::kTimer;
  uint8_t side = 0;
  uint32_t conn = 0;
  uint64_t timer = 0;
};

// The CPU time this process's own callbacks took on the simulator's thread, as if it ran alone on a
// core (Simulation::enable_cpu_accounting). Read from the thread's CPU clock, so it varies from run
// to run: it is reported, never hashed, and nothing in the simulation depends on it.
//
// The clock is a system call (about 0.5 us on the project's machine, as much as a bot's whole
// decision), and each reading's cost falls partly inside the interval it bounds: two readings around
// w ns of work are w + r apart, r being one reading's cost. So a callback is charged its interval
// minus r, and a span excluded inside it (the checker, timed by two readings of its own) is w + 2r of
// the callback's interval, its own interval plus r. r is the least gap between two readings in a row
// (read_overhead_ns, measured once): the least, so that the correction never charges less than the
// work itself.
struct CpuAccount {
  bool enabled = false;
  int64_t total_ns = 0;
  int64_t started_ns = 0;
  const int64_t* excluded_ns = nullptr;  // time spent meanwhile that is not the process's (the checker)
  int64_t excluded_at_start_ns = 0;
  static int64_t thread_now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
  }
  // One reading's cost, r above: the least gap over many pairs of readings in a row.
  static int64_t read_overhead_ns() {
    static const int64_t r = [] {
      int64_t least = INT64_MAX;
      for (int i = 0; i < 4096; ++i) {
        const int64_t a = thread_now_ns();
        const int64_t b = thread_now_ns();
        least = std::min(least, b - a);
      }
      return std::max<int64_t>(0, least);
    }();
    return r;
  }
};

struct HostState {
  std::string name;
  NodeId node{};       // 0 for processes that are not cluster nodes (clients, bots)
  uint32_t index = 0;  // creation order in the Simulation; also the endpoint's index in the network
  bool alive = true;   // false from crash() on (until a restart): every runtime call is then a no-op
  bool paused = false; // between pause() and resume(): callbacks are queued in `deferred`
  bool busy = false;   // a slow host still "computing" after a timer callback (Host::set_slow)
  uint32_t incarnation = 0;  // 0 for the first life, +1 per restart
  // Nonzero while one of this host's callbacks runs: crash() must not destroy the component under
  // its own feet.
  uint32_t callback_depth = 0;
  // Bounded by what can be pending for a host anyway: its timers (kTimersPerHostMax) and the items in
  // flight towards it (kMessagesInFlightMax per connection direction).
  std::deque<Deferred> deferred{};
  CpuAccount cpu{};
  // What its peers' Network::peer_identity reports for it: the simulator's stand-in for the
  // certificate a real server process holds (nullopt for clients and bots, which hold none).
  std::optional<PeerIdentity> identity{};

  // True when a callback coming due now must wait its turn in `deferred`: while paused or busy, and
  // after that until everything that waited has run, so nothing overtakes what came due before it.
  bool gated() const { return paused || busy || !deferred.empty(); }
};

// Marks a host as running one of its callbacks for the guard's lifetime, and counts the CPU time it
// takes when accounting is on (the outermost callback only: nested ones are part of it).
class CallbackScope {
 public:
  explicit CallbackScope(HostState& host) : host_(host) {
    if (host_.callback_depth++ != 0 || !host_.cpu.enabled) return;
    host_.cpu.excluded_at_start_ns = host_.cpu.excluded_ns ? *host_.cpu.excluded_ns : 0;
    host_.cpu.started_ns = CpuAccount::thread_now_ns();
  }
  ~CallbackScope() {
    if (--host_.callback_depth != 0 || !host_.cpu.enabled) return;
    const int64_t excluded = host_.cpu.excluded_ns ? *host_.cpu.excluded_ns - host_.cpu.excluded_at_start_ns : 0;
    host_.cpu.total_ns += std::max<int64_t>(0, CpuAccount::thread_now_ns() - host_.cpu.started_ns - excluded - CpuAccount::read_overhead_ns());
  }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

 private:
  HostState& host_;
};

}  // namespace aether::sim
