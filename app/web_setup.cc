#include "app/web_setup.h"

namespace aether::app {

Result<std::string> open_web(RealHosting& hosting, NodeId node, const WebOptions& options) {
  real::RealRuntime* rt = hosting.runtime_of(node);
  if (rt == nullptr) return make_error(Error::Code::kState, fmt::format("web: no gateway {} hosted here", node.value));
  real::WebSettings settings;
  settings.tls = hosting.tls_of(Role::kGateway, node).accept;  // the client port's certificate
  settings.allowed_origins = options.origins;
  settings.web_root = options.root;
  settings.limits.connections_per_address_max = options.connections_per_address_max;
  return rt->listen_web(options.address, std::move(settings));
}

}  // namespace aether::app
