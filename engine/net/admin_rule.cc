#include "engine/net/admin_rule.h"

namespace aether {

const char* operator_role_name(OperatorRole role) {
  switch (role) {
    case OperatorRole::kViewer: return "viewer";
    case OperatorRole::kOperator: return "operator";
    case OperatorRole::kAdmin: return "admin";
  }
  return "unknown";
}

std::optional<OperatorRole> parse_operator_role(std::string_view name) {
  for (const OperatorRole role : {OperatorRole::kViewer, OperatorRole::kOperator, OperatorRole::kAdmin}) {
    if (name == operator_role_name(role)) return role;
  }
  return std::nullopt;
}

bool valid_operator_name(std::string_view name) {
  if (name.empty() || name.size() > kOperatorNameBytesMax) return false;
  for (const char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

const char* admin_verdict_name(AdminVerdict verdict) {
  switch (verdict) {
    case AdminVerdict::kAllowed: return "allowed";
    case AdminVerdict::kRoleTooLow: return "role_too_low";
    case AdminVerdict::kAdminEpochReserved: return "admin_epoch_reserved";
    case AdminVerdict::kAdminEpochDisabled: return "admin_epoch_disabled";
  }
  return "unknown";
}

const char* admin_command_name(AdminRequest::Command command) {
  switch (command) {
    case AdminRequest::Command::kListNodes: return "nodes";
    case AdminRequest::Command::kShowEntity: return "entity";
    case AdminRequest::Command::kMove: return "move";
    case AdminRequest::Command::kDrain: return "drain";
    case AdminRequest::Command::kFailover: return "failover";
    case AdminRequest::Command::kGhostQuery: return "ghost-query";
    case AdminRequest::Command::kDebug: return "debug";
  }
  return "unknown";
}

bool admin_is_order(const AdminRequest& req) {
  switch (req.command) {
    case AdminRequest::Command::kListNodes:
    case AdminRequest::Command::kShowEntity:
    case AdminRequest::Command::kGhostQuery: return false;
    case AdminRequest::Command::kDebug: return !req.debug.entities.empty() || !req.debug.nodes.empty();
    case AdminRequest::Command::kMove:
    case AdminRequest::Command::kDrain:
    case AdminRequest::Command::kFailover: return true;
  }
  return true;  // an unknown command is treated as the most demanding kind
}

OperatorRole admin_role_needed(const AdminRequest& req) { return admin_is_order(req) ? OperatorRole::kOperator : OperatorRole::kViewer; }

AdminVerdict authorize_admin(OperatorRole role, const AdminRequest& req, bool forced, bool admin_epoch_enabled) {
  if (forced) {
    if (role != OperatorRole::kAdmin) return AdminVerdict::kAdminEpochReserved;
    return admin_epoch_enabled ? AdminVerdict::kAllowed : AdminVerdict::kAdminEpochDisabled;
  }
  return role >= admin_role_needed(req) ? AdminVerdict::kAllowed : AdminVerdict::kRoleTooLow;
}

}  // namespace aether
