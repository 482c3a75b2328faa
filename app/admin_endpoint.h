#pragma once
// A coordinator's admin listener in a real process (runtime/real/admin_server.h): HTTPS with the
// process's own certificate, operators from its operators file, each command handed to the
// coordinator's operator_command on the coordinator's own event loop.

#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "engine/coordinator/coordinator.h"
#include "runtime/common/spd_logger.h"
#include "runtime/real/admin_server.h"
#include "runtime/real/real_runtime.h"

namespace aether::app {

class AdminEndpoint {
 public:
  // io: the coordinator's loop; cert_file and key_file: what the listener presents.
  static Result<std::unique_ptr<AdminEndpoint>> make(boost::asio::io_context& io, Coordinator& coordinator, const real::RealOptions& options,
                                                     const std::string& cert_file, const std::string& key_file, const std::string& operators_file);
  Result<std::string> listen(const std::string& address) { return server_->listen(address); }
  void shutdown() { server_->shutdown(); }
  // The other coordinators' admin listeners (admin_peers): their consoles may read this one, and this one's console them.
  void set_console_peers(const std::vector<std::string>& addresses) { server_->set_console_peers(addresses); }
  const real::AdminServer& server() const { return *server_; }

 private:
  explicit AdminEndpoint(const real::RealOptions& options);
  common::SpdLogger log_;
  std::unique_ptr<real::AdminServer> server_;
};

}  // namespace aether::app
