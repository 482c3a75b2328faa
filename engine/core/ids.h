#pragma once
// Identities that appear everywhere: in messages, logs, traces and the simulator's checker.

#include <compare>
#include <cstdint>
#include <limits>

namespace aether {

// A strong integer id: an EntityId cannot be passed where a NodeId is expected.
// Zero is reserved as "none"; valid ids start at 1.
template <class Tag, class Rep>
struct Id {
  Rep value = 0;

  constexpr Id() = default;
  constexpr explicit Id(Rep v) : value(v) {}
  constexpr bool valid() const { return value != 0; }
  friend constexpr auto operator<=>(Id, Id) = default;
};

using EntityId  = Id<struct EntityIdTag, uint64_t>;
using NodeId    = Id<struct NodeIdTag, uint32_t>;   // any server process: coordinator, compute, gateway
using SessionId = Id<struct SessionIdTag, uint64_t>;  // one client connection on one gateway
using AccountId = Id<struct AccountIdTag, uint64_t>;  // a player's account (engine/accounts)
// A player's character: owned by one account, stable for its life (its avatar in the battle, its
// inventory and ledger entries name it).
using CharacterId = Id<struct CharacterIdTag, uint64_t>;

// Logical time and the regime of truth are plain counters: they are compared and incremented.
using Tick  = uint64_t;
using Epoch = uint64_t;

// Seed section 16: an admin order may carry INT_MAX and supersede any authority.
inline constexpr Epoch kEpochAdmin = std::numeric_limits<int32_t>::max();

enum class Role : uint8_t { kNone = 0, kCoordinator = 1, kCompute = 2, kGateway = 3, kClient = 4, kAdmin = 5 };

inline const char* role_name(Role r) {
  switch (r) {
    case Role::kCoordinator: return "coordinator";
    case Role::kCompute: return "compute";
    case Role::kGateway: return "gateway";
    case Role::kClient: return "client";
    case Role::kAdmin: return "admin";
    case Role::kNone: break;
  }
  return "none";
}

}  // namespace aether
