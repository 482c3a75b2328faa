#pragma once
#include "engine/core/time.h"

namespace aether {

// Monotonic time. The simulator answers with virtual time; the real runtime with a steady clock.
// Never goes backwards for one component (the simulator may make it drift or jump forward on one
// host to model a faulty clock).
class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimeNs now_ns() const = 0;
  // Calendar time, nanoseconds since 1970-01-01 UTC: only for stamps people read (a ledger entry's
  // time, that an operator's rollback names), never for timing anything. It may step backwards (an
  // operator or NTP sets it) and differ between hosts. The simulator answers a fixed calendar start
  // plus the host's own (drifting) time, so that a seed replays byte for byte.
  virtual int64_t unix_ns() const = 0;
};

}  // namespace aether
