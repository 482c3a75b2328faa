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
#include "engine/runtime/passwords.h"
#include "engine/runtime/storage.h"
#include "engine/runtime/timers.h"
#include "engine/runtime/trace.h"

namespace aether {

struct Runtime {
  Clock& clock;
  Timers& timers;
  Network& network;
  Random& random;   // decisions (spawn points, jitter, bots): seeded, so that a run can be replayed
  Logger& log;
  TraceSink& trace;
  // Secrets (resume tokens): what a peer must not be able to guess from anything it saw. The real
  // runtime draws them from the operating system's generator (getrandom); the simulator from a
  // seeded stream of their own, so that a run still replays byte for byte.
  Random& entropy;
  // What survives a restart (engine/runtime/storage.h). The simulator gives each host an in-memory
  // disk with faults from the seed; the real runtime the store the process's config names (SQLite or
  // PostgreSQL), or, when none was opened, one that refuses every request.
  Storage& storage;
  // Password hashing, off the loop (engine/runtime/passwords.h): Argon2id on a worker thread in the
  // real runtime, a deterministic stand-in in the simulator.
  PasswordHasher& passwords;
};

}  // namespace aether
