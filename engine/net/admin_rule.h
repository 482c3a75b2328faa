#pragma once
// Who may give which operator command: one pure rule, used by the coordinator whichever runtime
// carries the command (the real runtime's admin listener, the simulator's scenario events).
//
//   viewer:   reads: nodes, entity, ghost-query, and debug without targets (the debugged set);
//   operator: also orders: move, drain, debug on or off, and an unforced failover;
//   admin:    also orders under the admin epoch (kEpochAdmin, "forced": it supersedes any authority),
//             and only where the admin epoch is enabled (CoordinatorConfig::admin_epoch_enabled,
//             off unless a deployment sets it).
// A request that claims the admin epoch is a forced order whatever its command: it needs an admin
// and the admin epoch enabled, for a read as for an order.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/wire/messages.h"

namespace aether {

// Ordered: each role may do everything the one before it may.
enum class OperatorRole : uint8_t { kViewer = 1, kOperator = 2, kAdmin = 3 };
const char* operator_role_name(OperatorRole role);
// "viewer", "operator", "admin"; anything else is no role.
std::optional<OperatorRole> parse_operator_role(std::string_view name);

// An operator's name: 1 to kOperatorNameBytesMax characters of a-z 0-9 . _ - (what an operators
// file and a log line may carry).
inline constexpr size_t kOperatorNameBytesMax = 64;
bool valid_operator_name(std::string_view name);

// An authenticated operator, as the transport that authenticated it says (the admin listener: a
// bearer token checked against the operators file; the simulator: the scenario's event).
struct OperatorId {
  std::string name;
  OperatorRole role = OperatorRole::kViewer;
};

enum class AdminVerdict : uint8_t {
  kAllowed = 0,
  kRoleTooLow = 1,          // an order above the operator's role
  kAdminEpochReserved = 2,  // the admin epoch claimed by a role other than admin
  kAdminEpochDisabled = 3,  // the admin epoch claimed by an admin where it is not enabled
};
const char* admin_verdict_name(AdminVerdict verdict);

// The answer to an operator's command: the rule's verdict, and what the component answered
// (refused with the reason when the verdict is not kAllowed).
struct AdminAnswer {
  AdminVerdict verdict = AdminVerdict::kAllowed;
  AdminReply reply;
};

const char* admin_command_name(AdminRequest::Command command);
// Whether a request changes anything (an order) or only reads.
bool admin_is_order(const AdminRequest& req);
// The lowest role that may send req without the admin epoch.
OperatorRole admin_role_needed(const AdminRequest& req);

AdminVerdict authorize_admin(OperatorRole role, const AdminRequest& req, bool forced, bool admin_epoch_enabled);

}  // namespace aether
