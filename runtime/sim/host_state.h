#pragma once
// What every piece of one simulated process (its timers, its network endpoint, its trace sink) needs
// to know about that process. Owned by the Host; the pieces hold a reference.

#include <cstdint>
#include <string>

#include "engine/core/ids.h"

namespace aether::sim {

struct HostState {
  std::string name;
  NodeId node{};       // 0 for processes that are not cluster nodes (clients, bots)
  uint32_t index = 0;  // creation order in the Simulation; also the endpoint's index in the network
  bool alive = true;   // false from crash() on: every runtime call is then a no-op
  // Nonzero while one of this host's callbacks runs: crash() must not destroy the component under
  // its own feet.
  uint32_t callback_depth = 0;
};

// Marks a host as running one of its callbacks for the guard's lifetime.
class CallbackScope {
 public:
  explicit CallbackScope(HostState& host) : host_(host) { ++host_.callback_depth; }
  ~CallbackScope() { --host_.callback_depth; }
  CallbackScope(const CallbackScope&) = delete;
  CallbackScope& operator=(const CallbackScope&) = delete;

 private:
  HostState& host_;
};

}  // namespace aether::sim
