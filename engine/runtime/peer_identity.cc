#include "engine/runtime/peer_identity.h"

#include <cstdint>

#include <fmt/format.h>

namespace aether {

namespace {

// The roles a certificate may name. Clients carry no certificate; kNone is no role.
constexpr Role kIdentityRoles[] = {Role::kCoordinator, Role::kCompute, Role::kGateway, Role::kAdmin};

std::optional<NodeId> parse_node(std::string_view digits) {
  if (digits.empty() || digits.size() > 10 || digits.front() == '0') return std::nullopt;
  uint64_t value = 0;
  for (const char ch : digits) {
    if (ch < '0' || ch > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(ch - '0');
  }
  if (value > UINT32_MAX) return std::nullopt;
  return NodeId(static_cast<uint32_t>(value));
}

}  // namespace

std::optional<PeerIdentity> parse_peer_identity(std::string_view name) {
  if (name.size() > kPeerIdentityNameBytesMax) return std::nullopt;
  const size_t dash = name.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const std::string_view role_text = name.substr(0, dash);
  for (const Role role : kIdentityRoles) {
    if (role_text != role_name(role)) continue;
    const std::optional<NodeId> node = parse_node(name.substr(dash + 1));
    if (!node) return std::nullopt;
    return PeerIdentity{role, *node};
  }
  return std::nullopt;
}

std::string peer_identity_name(const PeerIdentity& id) { return fmt::format("{}-{}", role_name(id.role), id.node.value); }

}  // namespace aether
