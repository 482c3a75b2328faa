#pragma once
#include <cstdint>
#include <functional>

#include "engine/core/time.h"

namespace aether {

// 0 is never a valid timer id.
using TimerId = uint64_t;

// One-shot timers. Contract, identical in both runtimes:
//  - schedule() never calls fn synchronously; fn runs later from the event loop, on the component's
//    own thread of control.
//  - Timers due at the same instant fire in the order they were scheduled.
//  - After cancel() returns true, fn is never called. cancel() of a fired, cancelled or unknown id
//    returns false and does nothing.
//  - Pending timers are bounded by the component's own design (each component keeps a fixed set of
//    periodic timers); the runtime does not add hidden ones.
class Timers {
 public:
  virtual ~Timers() = default;
  virtual TimerId schedule(TimeNs delay_ns, std::function<void()> fn) = 0;
  virtual bool cancel(TimerId id) = 0;
};

}  // namespace aether
