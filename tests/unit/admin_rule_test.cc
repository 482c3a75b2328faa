// Who may give which operator command (engine/net/admin_rule.h): the rule for every role and every
// command, with and without the admin epoch, enabled or not; then the coordinator applying it, on
// the fake runtime: what each role's order does to the cluster, what is counted, logged and traced.

#include <gtest/gtest.h>

#include <memory>
#include <optional>

#include "engine/coordinator/coordinator.h"
#include "engine/net/admin_rule.h"
#include "tests/unit/fake_runtime.h"

namespace aether {
namespace {

using testing::FakeRuntime;
using testing::LogLine;
using C = AdminRequest::Command;
using V = AdminVerdict;
constexpr OperatorRole kViewer = OperatorRole::kViewer;
constexpr OperatorRole kOperator = OperatorRole::kOperator;
constexpr OperatorRole kAdmin = OperatorRole::kAdmin;

AdminRequest request(C command) {
  AdminRequest req{command, EntityId(7), NodeId(101), {}};
  if (command == C::kDebug) req.debug.entities.push_back(EntityId(7));
  return req;
}

// The table, written out by hand rather than derived from the rule's own helpers.
struct Expected {
  C command;
  V viewer, op, admin;  // unforced
};
constexpr Expected kUnforced[] = {
    {C::kListNodes, V::kAllowed, V::kAllowed, V::kAllowed},
    {C::kShowEntity, V::kAllowed, V::kAllowed, V::kAllowed},
    {C::kGhostQuery, V::kAllowed, V::kAllowed, V::kAllowed},
    {C::kMove, V::kRoleTooLow, V::kAllowed, V::kAllowed},
    {C::kDrain, V::kRoleTooLow, V::kAllowed, V::kAllowed},
    {C::kFailover, V::kRoleTooLow, V::kAllowed, V::kAllowed},
    {C::kDebug, V::kRoleTooLow, V::kAllowed, V::kAllowed},  // with targets: an order
};

TEST(AdminRule, EveryRoleAndEveryCommandWithoutTheAdminEpoch) {
  for (const Expected& e : kUnforced) {
    for (const bool enabled : {false, true}) {  // the admin epoch's switch changes nothing here
      EXPECT_EQ(authorize_admin(kViewer, request(e.command), false, enabled), e.viewer) << admin_command_name(e.command);
      EXPECT_EQ(authorize_admin(kOperator, request(e.command), false, enabled), e.op) << admin_command_name(e.command);
      EXPECT_EQ(authorize_admin(kAdmin, request(e.command), false, enabled), e.admin) << admin_command_name(e.command);
    }
  }
}

TEST(AdminRule, TheAdminEpochIsAnAdminsAloneAndOnlyWhereEnabled) {
  for (const Expected& e : kUnforced) {
    const AdminRequest req = request(e.command);
    EXPECT_EQ(authorize_admin(kViewer, req, true, true), V::kAdminEpochReserved) << admin_command_name(e.command);
    EXPECT_EQ(authorize_admin(kOperator, req, true, true), V::kAdminEpochReserved) << admin_command_name(e.command);
    EXPECT_EQ(authorize_admin(kViewer, req, true, false), V::kAdminEpochReserved) << admin_command_name(e.command);
    EXPECT_EQ(authorize_admin(kOperator, req, true, false), V::kAdminEpochReserved) << admin_command_name(e.command);
    EXPECT_EQ(authorize_admin(kAdmin, req, true, false), V::kAdminEpochDisabled) << admin_command_name(e.command);
    EXPECT_EQ(authorize_admin(kAdmin, req, true, true), V::kAllowed) << admin_command_name(e.command);
  }
}

TEST(AdminRule, ListingTheDebugSetIsAReadChangingItIsAnOrder) {
  const AdminRequest list{C::kDebug, {}, {}, {}};
  EXPECT_EQ(authorize_admin(kViewer, list, false, false), V::kAllowed);
  AdminRequest off{C::kDebug, {}, {}, {}};
  off.debug.nodes.push_back(NodeId(101));
  off.debug.off = true;
  EXPECT_EQ(authorize_admin(kViewer, off, false, false), V::kRoleTooLow);
  EXPECT_EQ(authorize_admin(kOperator, off, false, false), V::kAllowed);
}

TEST(AdminRule, RolesReadAndPrintInTheirOneForm) {
  for (const OperatorRole role : {kViewer, kOperator, kAdmin}) EXPECT_EQ(parse_operator_role(operator_role_name(role)), role);
  for (const char* bad : {"", "Admin", "root", "admin ", "operators"}) EXPECT_EQ(parse_operator_role(bad), std::nullopt) << bad;
}

// --- The coordinator applying the rule ---------------------------------------------------------------

class AdminRuleCoordinator : public ::testing::Test {
 protected:
  static constexpr NodeId kSelf{1};
  static constexpr const char* kListen = "coordinator-1:7000";
  static constexpr Epoch kEpoch = 3;

  AdminRuleCoordinator() : rt_(kSelf) {}
  void start(bool admin_epoch_enabled) {
    CoordinatorConfig cfg;
    cfg.node = kSelf;
    cfg.listen_address = kListen;
    cfg.epoch = kEpoch;
    cfg.admin_epoch_enabled = admin_epoch_enabled;
    coord_ = std::make_unique<Coordinator>(rt_.runtime, cfg);
    coord_->start();
    const ConnId conn = rt_.network.accept(kListen);
    rt_.network.deliver(conn, ServerMessage{NodeId(101), Role::kCompute, 0, 0, Hello{Role::kCompute, "compute:9000", 100, 7, gameplay::content_of(gameplay::Rules{})->hash()}});
  }
  AdminAnswer order(OperatorRole role, C command, Epoch claimed) {
    std::optional<AdminAnswer> answer;
    coord_->operator_command(OperatorId{"alice", role}, AdminRequest{command, {}, NodeId(101), {}}, claimed,
                             [&answer](AdminAnswer a) { answer = std::move(a); });
    EXPECT_TRUE(answer.has_value()) << "no answer at once";
    return answer.value_or(AdminAnswer{V::kAllowed, AdminReply{false, {"no answer"}}});
  }
  bool draining() const { return coord_->nodes().at(NodeId(101)).draining(); }

  FakeRuntime rt_;
  std::unique_ptr<Coordinator> coord_;
};

// The mutant this guards against: a viewer's order obeyed (the rule's role check dropped).
TEST_F(AdminRuleCoordinator, AViewerCannotMoveOrDrain) {
  start(false);
  const AdminAnswer drain = order(kViewer, C::kDrain, kEpoch);
  EXPECT_EQ(drain.verdict, V::kRoleTooLow);
  EXPECT_FALSE(drain.reply.ok);
  EXPECT_FALSE(draining());
  std::optional<AdminAnswer> move;
  coord_->operator_command(OperatorId{"alice", kViewer}, AdminRequest{C::kMove, EntityId(1), NodeId(101), {}}, kEpoch,
                           [&move](AdminAnswer a) { move = std::move(a); });
  ASSERT_TRUE(move.has_value());
  EXPECT_EQ(move->verdict, V::kRoleTooLow);
  EXPECT_TRUE(coord_->migrations().empty());
  EXPECT_EQ(coord_->stats().admin_refused[static_cast<size_t>(V::kRoleTooLow)], 2u);
  EXPECT_EQ(rt_.trace.of(TraceKind::kAdminRefused).size(), 2u);
  EXPECT_TRUE(rt_.trace.of(TraceKind::kAdminCommand).empty());
  EXPECT_TRUE(rt_.log.contains("admin drain (entity 0, node 101) by operator alice (viewer) under epoch 3: refused (role_too_low"));
  // The viewer may read.
  EXPECT_TRUE(order(kViewer, C::kListNodes, 0).reply.ok);
}

TEST_F(AdminRuleCoordinator, AnOperatorDrainsUnderTheCurrentEpochOnly) {
  start(false);
  const AdminAnswer stale = order(kOperator, C::kDrain, kEpoch - 1);
  EXPECT_EQ(stale.verdict, V::kAllowed);
  EXPECT_FALSE(stale.reply.ok) << "an order under another epoch than ours was carried out";
  EXPECT_FALSE(draining());
  const AdminAnswer drain = order(kOperator, C::kDrain, kEpoch);
  EXPECT_TRUE(drain.reply.ok);
  EXPECT_TRUE(draining());
  EXPECT_TRUE(rt_.log.contains("admin drain (entity 0, node 101) by operator alice (operator) under epoch 3: done"));
  EXPECT_EQ(coord_->stats().admin_commands, 2u);
}

TEST_F(AdminRuleCoordinator, AForcedOrderIsRefusedToAnOperatorAndWhileTheAdminEpochIsOff) {
  start(/*admin_epoch_enabled=*/false);
  EXPECT_EQ(order(kOperator, C::kDrain, kEpochAdmin).verdict, V::kAdminEpochReserved);
  EXPECT_EQ(order(kAdmin, C::kDrain, kEpochAdmin).verdict, V::kAdminEpochDisabled);
  EXPECT_FALSE(draining());
  EXPECT_EQ(coord_->stats().admin_epoch_uses, 0u);
  EXPECT_TRUE(rt_.trace.of(TraceKind::kAdminEpochUsed).empty());
}

TEST_F(AdminRuleCoordinator, AForcedOrderByAnAdminWhereEnabledIsCarriedOutAndRaisesTheAlert) {
  start(/*admin_epoch_enabled=*/true);
  EXPECT_EQ(order(kOperator, C::kDrain, kEpochAdmin).verdict, V::kAdminEpochReserved);
  const AdminAnswer forced = order(kAdmin, C::kDrain, kEpochAdmin);
  EXPECT_EQ(forced.verdict, V::kAllowed);
  EXPECT_TRUE(forced.reply.ok);
  EXPECT_TRUE(draining());
  EXPECT_EQ(coord_->stats().admin_epoch_uses, 1u);
  ASSERT_EQ(rt_.trace.of(TraceKind::kAdminEpochUsed).size(), 1u);
  EXPECT_EQ(rt_.trace.of(TraceKind::kAdminEpochUsed)[0].a, static_cast<int64_t>(C::kDrain));
  bool alert = false;
  for (const LogLine& l : rt_.log.lines()) {
    alert |= l.level == LogLevel::kError && l.message.find("by operator alice (admin)") != std::string::npos &&
             l.message.find("admin epoch: supersedes authority") != std::string::npos;
  }
  EXPECT_TRUE(alert) << "the admin epoch's use was not logged at error";
}

// An unforced failover is an operator's order, authorised and logged like the others.
TEST_F(AdminRuleCoordinator, AnUnforcedFailoverIsAnOperatorsOrderAndIsLogged) {
  start(false);
  EXPECT_EQ(order(kViewer, C::kFailover, kEpoch).verdict, V::kRoleTooLow);
  EXPECT_TRUE(coord_->leading());
  EXPECT_TRUE(order(kOperator, C::kFailover, kEpoch).reply.ok);
  EXPECT_FALSE(coord_->leading());
  EXPECT_TRUE(rt_.log.contains("admin failover (entity 0, node 101) by operator alice (operator) under epoch 3: done"));
}

}  // namespace
}  // namespace aether
