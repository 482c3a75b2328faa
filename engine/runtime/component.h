#pragma once

namespace aether {

// A process-level role (coordinator, compute node, gateway, bot client). Built with a Runtime&,
// started once; destroyed to stop (its destructor must not call into the runtime after the runtime
// has been shut down: runtimes make every call a no-op once their host is dead).
class Component {
 public:
  virtual ~Component() = default;
  virtual void start() = 0;
};

}  // namespace aether
