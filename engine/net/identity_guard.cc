#include "engine/net/identity_guard.h"

#include <fmt/format.h>

namespace aether {

namespace {
std::string claim_name(Role role, NodeId node) {
  return node.valid() ? peer_identity_name(PeerIdentity{role, node}) : fmt::format("{}-*", role_name(role));
}
}  // namespace

bool IdentityGuard::admits(ConnId conn, Role role, NodeId node, std::string_view what) {
  const std::optional<PeerIdentity> verified = rt_.network.peer_identity(conn);
  if (!verified) {
    if (!required_) return true;
    refuse(conn, what, fmt::format("claims {} but has no verified identity (one is required)", claim_name(role, node)));
    return false;
  }
  if (verified->role == role && (!node.valid() || verified->node == node)) return true;
  refuse(conn, what, fmt::format("claims {} but its verified identity is {}", claim_name(role, node), peer_identity_name(*verified)));
  return false;
}

void IdentityGuard::refuse(ConnId conn, std::string_view what, std::string_view why) {
  ++rejections_;
  if ((rejections_ & (rejections_ - 1)) != 0) return;
  log_at(rt_.log, LogLevel::kWarn, {}, "identity rejected: {} on connection {} {} ({} rejected so far)", what, conn, why, rejections_);
}

}  // namespace aether
