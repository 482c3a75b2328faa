#pragma once
// The runtime seam. Every component (coordinator, compute node, gateway, bot client) is an
// event-driven state machine that touches the world only through the Runtime handed to its
// constructor. runtime/sim and runtime/real implement it; engine/ never names either.
//
// Threading: a component and its Runtime live on one thread of control. Every callback (timer,
// network event) arrives on it, one at a time, never re-entrantly from inside a Runtime call.

#include "engine/core/random.h"
#include "engine/runtime/clock.h"
#include "engine/runtime/log.h"
#include "engine/runtime/network.h"
#include "engine/runtime/timers.h"
#include "engine/runtime/trace.h"

namespace aether {

struct Runtime {
  Clock& clock;
  Timers& timers;
  Network& network;
  Random& random;
  Logger& log;
  TraceSink& trace;
};

}  // namespace aether
