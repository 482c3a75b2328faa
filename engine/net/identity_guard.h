#pragma once
// Binds what a peer says it is to what the runtime verified (Network::peer_identity): a server
// never trusts an identity a peer declares. A peer claiming to be `role` `node` is admitted when
//  - its verified identity is exactly that role and node (an invalid node in the claim: any node of
//    that role, for links dialled by address alone), or
//  - nothing was verified and identity is not required (plain TCP, in development and tests; with
//    mutual TLS configured, and in the simulator, identity is required).
// Every refusal is counted (aether_identity_rejections_total) and logged at warn with its reason:
// the first one, then every power of two (a peer retrying in a loop does not flood the log).

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/runtime/runtime.h"

namespace aether {

class IdentityGuard {
 public:
  IdentityGuard(Runtime& rt, bool required) : rt_(rt), required_(required) {}

  // Whether the peer of conn may be `role` `node`; `what` names the claim for the log ("Hello",
  // "admin request", "link to 127.0.0.1:7100"). The caller closes a refused connection.
  bool admits(ConnId conn, Role role, NodeId node, std::string_view what);
  // A refusal decided by the caller (a claim that the identity allows but the configuration does
  // not), counted and logged like the others.
  void refuse(ConnId conn, std::string_view what, std::string_view why);

  bool required() const { return required_; }
  uint64_t rejections() const { return rejections_; }

 private:
  Runtime& rt_;
  const bool required_;
  uint64_t rejections_ = 0;
};

}  // namespace aether
