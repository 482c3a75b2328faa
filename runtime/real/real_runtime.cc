#include "runtime/real/real_runtime.h"

#include <chrono>
#include <memory>
#include <random>

#include <boost/asio/post.hpp>

namespace aether::real {

namespace {

uint64_t seed_or_entropy(uint64_t seed) {
  if (seed != 0) return seed;
  std::random_device device;
  const uint64_t hi = device();
  const uint64_t lo = device();
  return (hi << 32) ^ lo;
}

std::shared_ptr<spdlog::logger> sink_or_stderr(std::shared_ptr<spdlog::logger> sink, const std::string& name) {
  return sink ? std::move(sink) : common::make_stderr_sink(name);
}

}  // namespace

// Log lines carry wall time: operators correlate them with other machines and with their own clocks.
int64_t unix_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

RealRuntime::RealRuntime(boost::asio::io_context& io, std::string name, NodeId node, RealOptions options)
    : io_(io),
      name_(std::move(name)),
      node_(node),
      seed_(seed_or_entropy(options.seed)),
      log_(sink_or_stderr(std::move(options.log_sink), name_), name_, node, unix_now_ns, options.log_level, options.log_format),
      trace_(clock_, node, std::move(options.trace)),
      random_(seed_),
      timers_(std::make_shared<RealTimers>(io, clock_)),
      network_(std::make_shared<TcpNetwork>(io, log_, trace_, options.limits, std::move(options.tls))),
      web_(std::make_shared<WebNetwork>(io, log_)),
      routed_(network_, web_),
      storage_(io, log_),
      passwords_(io, options.password_cost),
      runtime_{clock_, *timers_, routed_, random_, log_, trace_, entropy_, storage_, passwords_} {
  TraceEvent started;
  started.kind = TraceKind::kHostStarted;
  trace_.record(started);
  log_at(log_, LogLevel::kDebug, {}, "real runtime up, seed {}", seed_);
}

RealRuntime::~RealRuntime() { shutdown(); }

void RealRuntime::request_revocations_reload() {
  boost::asio::post(io_, [network = std::weak_ptr<TcpNetwork>(network_)] {
    if (auto n = network.lock()) n->reload_revocations();
  });
}

void RealRuntime::shutdown() {
  if (shut_down_) return;
  shut_down_ = true;
  network_->shutdown();
  web_->shutdown();
  timers_->shutdown();
  storage_.shutdown();
  passwords_.shutdown();
}

}  // namespace aether::real
