#pragma once
// The browsers' listener of a hosted gateway (runtime/real/web_network.h; docs/browser.md), as
// `aether local --web` and a gateway role's web_address open it.

#include <string>
#include <vector>

#include "app/real_hosting.h"

namespace aether::app {

struct WebOptions {
  std::string address;               // "host:port"
  std::string root;                  // the built client's directory; empty: WebSocket only
  std::vector<std::string> origins;  // allowed besides the page's own
  size_t connections_per_address_max = real::kInboundPerAddressMax;  // 0: no limit (aether local's bots and browsers share 127.0.0.1)
};

// Opens it on the runtime of gateway `node`, with the TLS of that gateway's client port (plain when
// the hosting has no TLS). Before the loops run. Returns the bound address.
Result<std::string> open_web(RealHosting& hosting, NodeId node, const WebOptions& options);

}  // namespace aether::app
