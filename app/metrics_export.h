#pragma once
// /metrics for a real process: what its components count, in the Prometheus text format. One
// endpoint per process; in `aether local` the series of each server carry node="101" and
// role="compute" labels, and the bots are summed into role="bot". Never an entity id as a label.

#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>

#include "app/real_hosting.h"
#include "runtime/common/spd_logger.h"
#include "runtime/real/admin_server.h"
#include "runtime/real/metrics_server.h"

namespace aether::app {

// The exposition for every component hosting holds (server, admin may be null: their own figures
// are left out).
std::string render_metrics(const RealHosting& hosting, const real::MetricsServer* server, const real::AdminServer* admin = nullptr);

// The HTTP endpoint of one process, with its own log name ("metrics").
class MetricsEndpoint {
 public:
  MetricsEndpoint(boost::asio::io_context& io, RealHosting& hosting, const real::RealOptions& options);
  // Listens on address ("host:port", port 0 allowed) and returns the bound address.
  Result<std::string> listen(const std::string& address) { return server_.listen(address); }
  void shutdown() { server_.shutdown(); }
  // The process's admin listener, whose figures the page then carries (it must outlive this).
  void set_admin(const real::AdminServer* admin) { admin_ = admin; }

 private:
  common::SpdLogger log_;
  real::MetricsServer server_;
  const real::AdminServer* admin_ = nullptr;
};

}  // namespace aether::app
