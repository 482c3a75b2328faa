#pragma once

namespace aether {

// A process-level role (coordinator, compute node, gateway, bot client). Built with a Runtime&,
// started once; destroyed to stop (its destructor must not call into the runtime after the runtime
// has been shut down: runtimes make every call a no-op once their host is dead).
class Component {
 public:
  virtual ~Component() = default;
  virtual void start() = 0;
  // A graceful stop (SIGTERM in the real runtime): hand what this process holds to others, so that a
  // player sees at most a reconnect. The process exits once drained() or after its drain deadline,
  // whichever comes first. A component with nothing to hand over is drained at once.
  virtual void begin_drain() {}
  virtual bool drained() const { return true; }
};

}  // namespace aether
