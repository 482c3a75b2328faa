#pragma once

namespace aether {

// Whether a component can do its job now: the real runtime serves it on GET /readyz, and
// Kubernetes sends a process work (Service endpoints) and lets the next pod of a rolling upgrade
// go only while it is. `why` says what is missing or what it does (a static string).
struct Readiness {
  bool ready = false;
  const char* why = "";
};

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
  // Servers say what readiness means for their role (coordinator, compute node, gateway); a
  // component with no such condition (a bot) is ready once started.
  virtual Readiness readiness() const { return {true, "started"}; }
};

}  // namespace aether
