#pragma once
// Components on the real runtime: one RealRuntime each, all on one io_context and one thread.

#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "app/cluster.h"
#include "runtime/real/real_runtime.h"

namespace aether::app {

class RealHosting final : public Hosting {
 public:
  RealHosting(boost::asio::io_context& io, real::RealOptions options) : io_(io), options_(std::move(options)) {}
  ~RealHosting() override { shutdown(); }

  Runtime& host(const std::string& name, NodeId node) override {
    runtimes_.push_back(std::make_unique<real::RealRuntime>(io_, name, node, options_));
    return runtimes_.back()->runtime();
  }
  void adopt(std::unique_ptr<Component> component) override {
    component->start();
    components_.push_back(std::move(component));
  }
  std::string listen_address(Role, uint32_t) override { return "127.0.0.1:0"; }

  // Stops every component's I/O, then drops the components (newest first) while runtimes still exist.
  void shutdown() {
    for (auto& rt : runtimes_) rt->shutdown();
    while (!components_.empty()) components_.pop_back();
  }
  const std::vector<std::unique_ptr<real::RealRuntime>>& runtimes() const { return runtimes_; }
  std::vector<Component*> components() const {
    std::vector<Component*> out;
    for (const auto& c : components_) out.push_back(c.get());
    return out;
  }

 private:
  boost::asio::io_context& io_;
  real::RealOptions options_;
  std::vector<std::unique_ptr<real::RealRuntime>> runtimes_;
  std::vector<std::unique_ptr<Component>> components_;
};

}  // namespace aether::app
