#include "runtime/sim/simulation.h"

#include <utility>

#include "engine/core/assert.h"
#include "engine/core/random.h"
#include "runtime/common/spd_logger.h"

namespace aether::sim {

namespace {

NetworkOptions network_options(const SimOptions& options) {
  return NetworkOptions{options.seed, options.latency_ns, options.jitter_ns};
}

}  // namespace

Simulation::Simulation(SimOptions options)
    : options_(std::move(options)), network_(kernel_, trace_, network_options(options_)) {
  if (!options_.log_sink) options_.log_sink = common::make_stderr_sink("sim");
  if (!options_.trace_path.empty()) {
    trace_file_status_ = trace_.open_file(options_.trace_path);
    if (!trace_file_status_.ok()) options_.log_sink->error("{}", trace_file_status_.error().message);
  }
}

Simulation::~Simulation() {
  // Newest first, the reverse of creation, like any owner tearing down what it built.
  while (!hosts_.empty()) hosts_.pop_back();
  finish();
}

Host& Simulation::add_host(std::string name, NodeId node, std::optional<PeerIdentity> identity) {
  AETHER_ASSERT_MSG(hosts_.size() < kHostsMax, "too many hosts");
  AETHER_ASSERT_MSG(!identity || identity->node == node, "a host's identity names its own node");
  const auto index = static_cast<uint32_t>(hosts_.size());
  HostConfig config{std::move(name), node, index, host_seed(index, 0), options_.log_sink, options_.log_level, std::move(identity)};
  hosts_.push_back(std::make_unique<Host>(kernel_, trace_, network_, std::move(config)));
  hosts_.back()->set_cpu_accounting(cpu_accounting_);
  return *hosts_.back();
}

uint64_t Simulation::host_seed(size_t index, uint32_t incarnation) const {
  const uint64_t first = derive_seed(options_.seed, uint64_t{index} + 1);
  return incarnation == 0 ? first : derive_seed(first, incarnation);
}

Host& Simulation::restart_host(size_t index) {
  AETHER_ASSERT(index < hosts_.size());
  Host& h = *hosts_[index];
  AETHER_ASSERT_MSG(!h.alive(), "restart_host() of a host that is up: crash() it first");
  h.restart(host_seed(index, h.incarnation() + 1));
  return h;
}

void Simulation::set_link(size_t from_host, size_t to_host, LinkState state) {
  AETHER_ASSERT(from_host < hosts_.size() && to_host < hosts_.size());
  record_link_fault(state == LinkState::kDown ? FaultCode::kLinkDown : FaultCode::kLinkUp, from_host, to_host, 0);
  network_.set_link(static_cast<uint32_t>(from_host), static_cast<uint32_t>(to_host), state);
}

void Simulation::set_link_delay(size_t from_host, size_t to_host, TimeNs extra_ns) {
  AETHER_ASSERT(from_host < hosts_.size() && to_host < hosts_.size());
  AETHER_ASSERT(extra_ns >= 0);
  record_link_fault(FaultCode::kLinkDelay, from_host, to_host, extra_ns);
  network_.set_link_delay(static_cast<uint32_t>(from_host), static_cast<uint32_t>(to_host), extra_ns);
}

void Simulation::set_link_faults(size_t from_host, size_t to_host, LinkFaults faults) {
  AETHER_ASSERT(from_host < hosts_.size() && to_host < hosts_.size());
  const int64_t packed = static_cast<int64_t>(faults.loss_permille) | static_cast<int64_t>(faults.duplicate_permille) << 16 |
                         static_cast<int64_t>(faults.reorder_permille) << 32;
  record_link_fault(FaultCode::kLinkFaults, from_host, to_host, packed);
  network_.set_link_faults(static_cast<uint32_t>(from_host), static_cast<uint32_t>(to_host), faults);
}

void Simulation::set_clock_drift(size_t host, int32_t drift_ppm) {
  AETHER_ASSERT(host < hosts_.size());
  hosts_[host]->set_clock_drift(drift_ppm);
}

void Simulation::jump_clock(size_t host, TimeNs ns) {
  AETHER_ASSERT(host < hosts_.size());
  hosts_[host]->jump_clock(ns);
}

void Simulation::set_slow(size_t host, TimeNs extra_ns) {
  AETHER_ASSERT(host < hosts_.size());
  hosts_[host]->set_slow(extra_ns);
}

void Simulation::set_storage_faults(size_t host, const StorageFaults& faults) {
  AETHER_ASSERT(host < hosts_.size());
  const int64_t packed = static_cast<int64_t>(faults.write_fail_permille) | static_cast<int64_t>(faults.torn_permille) << 16 |
                         static_cast<int64_t>(faults.disk_full ? 1 : 0) << 32;
  const auto h = static_cast<uint32_t>(host);
  trace_.record_fault(fault_event(kernel_.now(), FaultCode::kStorageFaults, h, hosts_[host]->node(), h, hosts_[host]->node(), packed));
  hosts_[host]->storage().set_faults(faults);
}

void Simulation::partition(const std::vector<size_t>& side_a, const std::vector<size_t>& side_b) {
  for (const size_t a : side_a) {
    for (const size_t b : side_b) {
      AETHER_ASSERT_MSG(a != b, "the sides of a partition must be disjoint");
      set_link(a, b, LinkState::kDown);
      set_link(b, a, LinkState::kDown);
    }
  }
}

void Simulation::isolate(size_t host) {
  AETHER_ASSERT(host < hosts_.size());
  for (size_t other = 0; other < hosts_.size(); ++other) {
    if (other == host) continue;
    set_link(host, other, LinkState::kDown);
    set_link(other, host, LinkState::kDown);
  }
}

void Simulation::heal_all() {
  // Releasing held items only schedules kernel events, so recording after it keeps the order of the
  // trace: faults first, then whatever they let through.
  for (const auto& [from, to] : network_.heal_all()) record_link_fault(FaultCode::kLinkUp, from, to, 0);
}

void Simulation::record_link_fault(FaultCode code, size_t from, size_t to, int64_t arg) {
  const auto f = static_cast<uint32_t>(from);
  const auto t = static_cast<uint32_t>(to);
  trace_.record_fault(fault_event(kernel_.now(), code, f, hosts_[from]->node(), t, hosts_[to]->node(), arg));
}

}  // namespace aether::sim
