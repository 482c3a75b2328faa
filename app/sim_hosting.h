#pragma once
// Components in the simulator: one simulated host each. Servers listen on fixed names
// ("compute-2:7100"), which is also where they are reached.

#include <fmt/format.h>

#include "app/cluster.h"
#include "runtime/sim/simulation.h"

namespace aether::app {

class SimHosting final : public Hosting {
 public:
  explicit SimHosting(sim::Simulation& sim) : sim_(sim) {}
  // A server's host presents {role, node} to its peers, as its certificate would; clients none.
  Runtime& host(const std::string& name, NodeId node, Role role) override {
    std::optional<PeerIdentity> identity;
    if (node.valid() && role != Role::kClient && role != Role::kNone) identity = PeerIdentity{role, node};
    last_ = &sim_.add_host(name, node, identity);
    return last_->runtime();
  }
  bool verifies_identities() const override { return true; }
  void adopt(std::unique_ptr<Component> component) override { last_->attach(std::move(component)); }
  std::string listen_address(Role role, uint32_t index) override {
    switch (role) {
      case Role::kCoordinator: return fmt::format("coordinator-{}:7000", index + 1);
      case Role::kCompute: return fmt::format("compute-{}:7100", index + 1);
      case Role::kGateway: return fmt::format("gateway-{}:7200", index + 1);
      default: return "invalid:0";
    }
  }

 private:
  sim::Simulation& sim_;
  sim::Host* last_ = nullptr;
};

}  // namespace aether::app
