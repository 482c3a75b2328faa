#pragma once
// Components on the real runtime: one RealRuntime each. By default all share one io_context and the
// caller's thread (a role process hosts one server; tests host a few). With threads (`aether local`),
// each server component gets an io_context of its own, run by a thread of its own, and the bots
// share one more: each component stays single-threaded on its own loop, as in production, and the
// roles no longer queue behind each other on one thread.
//
// Threads share nothing but the trace file (TraceFileWriter locks) and stderr. Whoever reads the
// components from another thread (metrics, the final figures) does it while every loop is parked
// (paused()) or after the threads have stopped (stop_threads()).

#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "app/cluster.h"
#include "runtime/real/real_runtime.h"

namespace aether::app {

class RealHosting final : public Hosting {
 public:
  RealHosting(boost::asio::io_context& io, real::RealOptions options, bool threads = false)
      : io_(io), options_(std::move(options)), threads_(threads) {}
  ~RealHosting() override {
    stop_threads();
    shutdown();
  }

  // TLS for each component, by role and node; without a plan every connection is plain TCP. A
  // plan returns settings made beforehand (app/tls_setup.h), so that a bad file fails at start.
  using TlsPlan = std::function<real::TlsSettings(Role role, NodeId node)>;
  void set_tls(TlsPlan plan) { tls_ = std::move(plan); }
  bool verifies_identities() const override { return static_cast<bool>(tls_); }
  // Each component's store, by role and node, opened beforehand (real::open_backend) so that a bad
  // store fails at start; null (or no plan): the component's storage refuses every request.
  using StoragePlan = std::function<std::unique_ptr<real::StorageBackend>(Role role, NodeId node)>;
  void set_storage(StoragePlan plan) { storage_ = std::move(plan); }

  Runtime& host(const std::string& name, NodeId node, Role role) override {
    boost::asio::io_context* io = &io_;
    if (threads_) {
      AETHER_ASSERT_MSG(workers_.empty(), "components are hosted before the threads start");
      if (!node.valid()) {  // a client: every bot shares one loop
        if (!clients_) clients_ = add_loop();
        io = clients_;
      } else {
        io = add_loop();
      }
    }
    if (node.valid()) io_of_node_[node.value] = io;
    real::RealOptions options = options_;
    if (tls_) options.tls = tls_(role, node);
    runtimes_.push_back(std::make_unique<real::RealRuntime>(*io, name, node, std::move(options)));
    if (storage_) {
      if (auto backend = storage_(role, node)) runtimes_.back()->open_storage(std::move(backend));
    }
    return runtimes_.back()->runtime();
  }
  void adopt(std::unique_ptr<Component> component) override {
    component->start();
    components_.push_back(std::move(component));
  }
  std::string listen_address(Role, uint32_t) override { return "127.0.0.1:0"; }

  // With threads: starts one thread per loop (call once every component is hosted and started).
  void start_threads() {
    if (!threads_ || !workers_.empty()) return;
    for (auto& loop : loops_) {
      boost::asio::io_context* io = &loop->io;
      workers_.emplace_back([io] { io->run(); });
    }
  }
  // Stops every loop and joins its thread; afterwards the components may be read from any thread.
  void stop_threads() {
    for (auto& loop : loops_) {
      loop->guard.reset();
      loop->io.stop();
    }
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }
  // SIGHUP: every revocation list of the process is read again, each by a runtime that uses it, on
  // that runtime's loop (from any thread). Returns how many lists (0: no TLS with a list here).
  size_t reload_revocations() {
    std::set<const real::CrlWatch*> asked;
    for (auto& rt : runtimes_) {
      if (rt->revocations() != nullptr && asked.insert(rt->revocations()).second) rt->request_revocations_reload();
    }
    return asked.size();
  }
  // Runs fn while every loop is parked between two of its handlers (without threads: at once), so
  // that fn may read every component. The loops wait at most as long as fn takes.
  void paused(const std::function<void()>& fn);

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
  size_t threads() const { return workers_.size(); }
  // The runtime hosting a server (nullptr: none here), and the TLS its plan gives it.
  real::RealRuntime* runtime_of(NodeId node) {
    for (auto& rt : runtimes_) {
      if (rt->node() == node) return rt.get();
    }
    return nullptr;
  }
  real::TlsSettings tls_of(Role role, NodeId node) const { return tls_ ? tls_(role, node) : real::TlsSettings{}; }
  // The loop a server's component runs on (what else acts on the component must run there too).
  boost::asio::io_context& io_of(NodeId node) {
    auto it = io_of_node_.find(node.value);
    AETHER_ASSERT_MSG(it != io_of_node_.end(), "a node that is not hosted here");
    return *it->second;
  }

 private:
  struct Loop {
    boost::asio::io_context io{1};
    boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard{io.get_executor()};
  };
  boost::asio::io_context* add_loop() {
    loops_.push_back(std::make_unique<Loop>());
    return &loops_.back()->io;
  }

  boost::asio::io_context& io_;
  real::RealOptions options_;
  TlsPlan tls_;
  StoragePlan storage_;
  const bool threads_;
  // Declared before the runtimes: a loop outlives every runtime and component running on it.
  std::vector<std::unique_ptr<Loop>> loops_;
  boost::asio::io_context* clients_ = nullptr;
  std::map<uint32_t, boost::asio::io_context*> io_of_node_;
  std::vector<std::thread> workers_;
  std::vector<std::unique_ptr<real::RealRuntime>> runtimes_;
  std::vector<std::unique_ptr<Component>> components_;
};

inline void RealHosting::paused(const std::function<void()>& fn) {
  if (workers_.empty()) {
    fn();
    return;
  }
  struct Barrier {
    std::mutex mu;
    std::condition_variable cv;
    size_t parked = 0;
    bool released = false;
  };
  auto barrier = std::make_shared<Barrier>();
  for (auto& loop : loops_) {
    boost::asio::post(loop->io, [barrier] {
      std::unique_lock lock(barrier->mu);
      ++barrier->parked;
      barrier->cv.notify_all();
      barrier->cv.wait(lock, [&] { return barrier->released; });
    });
  }
  {
    std::unique_lock lock(barrier->mu);
    barrier->cv.wait(lock, [&] { return barrier->parked == loops_.size(); });
  }
  fn();  // every loop waits on the barrier: their components are ours to read
  {
    std::lock_guard lock(barrier->mu);
    barrier->released = true;
  }
  barrier->cv.notify_all();
}

}  // namespace aether::app
