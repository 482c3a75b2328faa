#include "app/admin_endpoint.h"

#include "runtime/real/admin_api.h"

namespace aether::app {

AdminEndpoint::AdminEndpoint(const real::RealOptions& options)
    : log_(options.log_sink ? options.log_sink : common::make_stderr_sink("admin"), "admin", NodeId{}, real::unix_now_ns, options.log_level,
           options.log_format) {}

Result<std::unique_ptr<AdminEndpoint>> AdminEndpoint::make(boost::asio::io_context& io, Coordinator& coordinator, const real::RealOptions& options,
                                                           const std::string& cert_file, const std::string& key_file,
                                                           const std::string& operators_file) {
  auto operators = real::OperatorStore::load(operators_file);
  if (!operators) return operators.error();
  auto tls = real::make_tls_context(real::TlsSide::kServer, real::TlsFiles{cert_file, key_file, {}, {}});
  if (!tls) return tls.error();
  std::unique_ptr<AdminEndpoint> endpoint(new AdminEndpoint(options));
  auto store = std::make_shared<const real::OperatorStore>(std::move(operators.value()));
  endpoint->server_ = std::make_unique<real::AdminServer>(
      io, endpoint->log_, *tls, std::move(store),
      [&coordinator](const OperatorId& who, const AdminRequest& req, Epoch claimed, std::function<void(AdminAnswer)> done) {
        coordinator.operator_command(who, req, claimed, std::move(done));
      });
  // Views are reads any operator may make (viewer and up); logged at debug, as the console asks every second.
  endpoint->server_->set_view_handler([&coordinator, log = &endpoint->log_](const OperatorId& who, const real::AdminCall& call) {
    const char* name = call.view == real::AdminView::kOwnership ? "ownership" : call.view == real::AdminView::kEntity ? "entity" : "timeline";
    log_at(*log, LogLevel::kDebug, {coordinator.epoch(), 0, {}}, "admin view {} by operator {} ({})", name, who.name, operator_role_name(who.role));
    switch (call.view) {
      case real::AdminView::kOwnership: return real::AdminViewAnswer{200, real::ownership_json(coordinator.ownership_view())};
      case real::AdminView::kEntity: return real::entity_json(coordinator.entity_view(call.request.entity), coordinator.clock_ns());
      default: return real::AdminViewAnswer{200, real::timeline_json(coordinator.handovers(), call.after, coordinator.clock_ns())};
    }
  });
  endpoint->server_->watch_operators_file(operators_file);
  return endpoint;
}

}  // namespace aether::app
