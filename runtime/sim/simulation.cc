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

Host& Simulation::add_host(std::string name, NodeId node) {
  AETHER_ASSERT_MSG(hosts_.size() < kHostsMax, "too many hosts");
  const auto index = static_cast<uint32_t>(hosts_.size());
  HostConfig config{std::move(name), node, index, derive_seed(options_.seed, uint64_t{index} + 1), options_.log_sink,
                    options_.log_level};
  hosts_.push_back(std::make_unique<Host>(kernel_, trace_, network_, std::move(config)));
  return *hosts_.back();
}

}  // namespace aether::sim
