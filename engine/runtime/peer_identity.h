#pragma once
// Who is at the other end of a connection, as the runtime verified it, never as the peer declares
// it: the real runtime reads it from the peer's certificate under mutual TLS, the simulator from the
// host at the other end of the link. Its textual form, a certificate's common name, is
// "<role>-<node>": "coordinator-1", "compute-101", "gateway-201", "admin-1".

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/ids.h"

namespace aether {

// The longest name parse_peer_identity reads ("coordinator-4294967295" is 22 bytes).
inline constexpr size_t kPeerIdentityNameBytesMax = 64;

struct PeerIdentity {
  Role role = Role::kNone;  // coordinator, compute, gateway or admin
  NodeId node{};            // valid
  friend bool operator==(const PeerIdentity&, const PeerIdentity&) = default;
};

// The identity a name states, in its one canonical form only: a role that identities may have
// (never client or none), a dash, a node id in decimal without sign or leading zero, greater than 0
// and at most 2^32 - 1, nothing else. Anything else is no identity (nullopt).
std::optional<PeerIdentity> parse_peer_identity(std::string_view name);

// The canonical name of an identity: parse_peer_identity(peer_identity_name(id)) == id.
std::string peer_identity_name(const PeerIdentity& id);

}  // namespace aether
