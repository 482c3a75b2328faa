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
};

}  // namespace aether
