// Targeted debug mode (`aether admin debug`) in a simulated cluster: the coordinator forwards the
// debug set to the compute node and the gateway, which then trace inputs, intents and state changes
// of the debugged entity only; --off stops them; the cap is refused with a clear reply; a whole node
// can be debugged; every admin command is traced. Ghost queries are relayed by the coordinator to
// the compute nodes; an admin request on the data port is refused.

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <set>
#include <vector>

#include "engine/compute/entity_journal.h"
#include "engine/wire/codec.h"
#include "tests/unit/sim_cluster.h"

namespace aether {
namespace {

// A one-shot admin client on its own simulated host: connects, sends the request, keeps the reply.
class AdminProbe final : public Component, public NetworkHandler {
 public:
  AdminProbe(Runtime& rt, NodeId self, std::string coordinator, AdminRequest request, Epoch epoch)
      : rt_(rt), self_(self), coordinator_(std::move(coordinator)), request_(std::move(request)), epoch_(epoch) {
    rt_.network.set_handler(this);
  }
  void start() override { rt_.network.connect(coordinator_); }
  void on_accepted(ConnId, std::string_view) override {}
  void on_connected(ConnId conn) override {
    send_server(rt_.network, conn, ServerMessage{self_, Role::kAdmin, epoch_, 0, request_});
  }
  void on_message(ConnId conn, std::span<const uint8_t> payload) override {
    auto m = decode_server(payload);
    if (m && std::holds_alternative<AdminReply>(m->body)) reply = std::get<AdminReply>(m->body);
    rt_.network.close(conn);
  }
  void on_closed(ConnId, CloseReason) override {}
  std::optional<AdminReply> reply;

 private:
  Runtime& rt_;
  NodeId self_;
  std::string coordinator_;
  AdminRequest request_;
  Epoch epoch_;
};

class DebugModeTest : public ::testing::Test {
 protected:
  DebugModeTest() : c_(11, shape()) {
    c_.sim.set_trace_observer([this](const TraceEvent& e) { records_.push_back(e); });
  }
  static app::ClusterShape shape() {
    app::ClusterShape s;
    s.bots = 6;
    return s;
  }
  void run_for(TimeNs ns) { c_.sim.run_until(c_.sim.now() + ns); }
  // An operator's command, as the admin listener hands it to the coordinator.
  AdminReply command(AdminRequest req, OperatorRole role = OperatorRole::kOperator) {
    std::optional<AdminAnswer> answer;
    c_.cluster->coordinator()->operator_command(OperatorId{"op", role}, req, c_.cluster->coordinator()->epoch(),
                                                [&answer](AdminAnswer a) { answer = std::move(a); });
    run_for(300 * kNsPerMs);
    EXPECT_TRUE(answer.has_value());
    return answer ? answer->reply : AdminReply{false, {"no reply"}};
  }
  AdminReply admin(DebugTargets targets) { return command(AdminRequest{AdminRequest::Command::kDebug, {}, {}, std::move(targets)}); }
  // The old way, now refused: an admin request on the coordinator's data port, from a host whose
  // identity (admin-90N) the simulator vouches for as a certificate would.
  AdminProbe* probe_data_port(AdminRequest req) {
    const NodeId self(900 + ++probes_);
    auto probe = std::make_unique<AdminProbe>(c_.hosting.host(fmt::format("admin-{}", self.value), self, Role::kAdmin), self,
                                              c_.hosting.listen_address(Role::kCoordinator, 0), std::move(req), c_.cluster->coordinator()->epoch());
    AdminProbe* raw = probe.get();
    c_.hosting.adopt(std::move(probe));
    run_for(300 * kNsPerMs);
    return raw;
  }
  // Records of kind since index `from`, by node.
  std::map<uint32_t, std::vector<TraceEvent>> kinds(TraceKind kind, size_t from = 0) const {
    std::map<uint32_t, std::vector<TraceEvent>> out;
    for (size_t i = from; i < records_.size(); ++i) {
      if (records_[i].kind == kind) out[records_[i].node.value].push_back(records_[i]);
    }
    return out;
  }
  EntityId some_entity() const { return c_.cluster->computes().front()->world().entities().begin()->first; }

  testing::SimCluster c_;
  std::vector<TraceEvent> records_;
  int probes_ = 0;
};

constexpr uint32_t kCompute = 101;
constexpr uint32_t kGateway = 201;

TEST_F(DebugModeTest, TracesOnlyTheDebuggedEntityUntilTurnedOff) {
  run_for(4 * kNsPerSec);
  ASSERT_EQ(c_.cluster->computes().front()->world().size(), 6u);
  EXPECT_TRUE(kinds(TraceKind::kDebugInput).empty()) << "nothing is debugged before an operator asks";
  const EntityId e = some_entity();

  const AdminReply on = admin(DebugTargets{{e}, {}, false, false});
  ASSERT_TRUE(on.ok) << on.lines.front();
  EXPECT_EQ(on.lines.back(), "told 2 compute nodes and gateways");
  EXPECT_EQ(c_.cluster->coordinator()->debug_entities(), std::set<EntityId>{e});
  const size_t since = records_.size();
  run_for(2 * kNsPerSec);
  EXPECT_EQ(c_.cluster->computes().front()->debug_set().entities(), std::set<EntityId>{e});
  EXPECT_EQ(c_.cluster->gateways().front()->debug_set().entities(), std::set<EntityId>{e});
  auto inputs = kinds(TraceKind::kDebugInput, since);
  auto states = kinds(TraceKind::kDebugState, since);
  EXPECT_GT(inputs[kCompute].size(), 5u);  // about one a tick
  EXPECT_GT(inputs[kGateway].size(), 5u);
  EXPECT_GT(states[kCompute].size(), 5u);
  for (const auto& [node, list] : inputs) {
    for (const TraceEvent& r : list) EXPECT_EQ(r.entity, e) << "node " << node << " traced an entity nobody debugs";
  }
  for (const TraceEvent& r : states[kCompute]) EXPECT_EQ(r.entity, e);

  const AdminReply off = admin(DebugTargets{{e}, {}, true, false});
  ASSERT_TRUE(off.ok);
  run_for(200 * kNsPerMs);  // the set reaches the nodes
  const size_t after_off = records_.size();
  run_for(kNsPerSec);
  EXPECT_TRUE(kinds(TraceKind::kDebugInput, after_off).empty());
  EXPECT_TRUE(kinds(TraceKind::kDebugState, after_off).empty());
  EXPECT_FALSE(c_.cluster->computes().front()->debug_set().active());

  // Each change reached both nodes as a kDebugTargets record, and each admin command was traced.
  EXPECT_EQ(kinds(TraceKind::kDebugTargets)[kCompute].size(), 2u);
  EXPECT_EQ(kinds(TraceKind::kDebugTargets)[kGateway].size(), 2u);
  auto admin_records = kinds(TraceKind::kAdminCommand)[1];
  ASSERT_EQ(admin_records.size(), 2u);
  EXPECT_EQ(admin_records[0].a, static_cast<int64_t>(AdminRequest::Command::kDebug));
  EXPECT_EQ(admin_records[0].entity, e);
}

TEST_F(DebugModeTest, RefusesBeyondTheCapAndKeepsTheSet) {
  run_for(3 * kNsPerSec);
  DebugTargets many;
  for (uint64_t i = 1; i <= kDebugEntitiesMax; ++i) many.entities.push_back(EntityId(1000 + i));
  ASSERT_TRUE(admin(many).ok);
  const AdminReply refused = admin(DebugTargets{{EntityId(5000)}, {}, false, false});
  EXPECT_FALSE(refused.ok);
  ASSERT_FALSE(refused.lines.empty());
  EXPECT_NE(refused.lines.front().find("at most 64 entities"), std::string::npos) << refused.lines.front();
  EXPECT_EQ(c_.cluster->coordinator()->debug_entities().size(), kDebugEntitiesMax);
  EXPECT_FALSE(c_.cluster->coordinator()->debug_entities().contains(EntityId(5000)));
  // Turning some off makes room again.
  ASSERT_TRUE(admin(DebugTargets{{EntityId(1001)}, {}, true, false}).ok);
  EXPECT_TRUE(admin(DebugTargets{{EntityId(5000)}, {}, false, false}).ok);
}

TEST_F(DebugModeTest, AWholeNodeTracesEveryEntityItOwns) {
  run_for(4 * kNsPerSec);
  ASSERT_TRUE(admin(DebugTargets{{}, {NodeId(kCompute)}, false, false}).ok);
  const size_t since = records_.size();
  run_for(kNsPerSec);
  std::set<EntityId> seen;
  auto states = kinds(TraceKind::kDebugState, since);
  for (const TraceEvent& r : states[kCompute]) seen.insert(r.entity);
  EXPECT_EQ(seen.size(), 6u);
  EXPECT_TRUE(kinds(TraceKind::kDebugInput, since)[kGateway].empty()) << "the gateway is not debugged";
  // A listing changes nothing.
  const AdminReply list = admin(DebugTargets{});
  EXPECT_TRUE(list.ok);
  EXPECT_EQ(list.lines.size(), 2u);
  EXPECT_EQ(list.lines[1], "debugging 1 of at most 16 nodes: 101");
}

TEST_F(DebugModeTest, AViewerMayListButNotChangeTheSet) {
  run_for(3 * kNsPerSec);
  const AdminReply refused = command(AdminRequest{AdminRequest::Command::kDebug, {}, {}, DebugTargets{{EntityId(7)}, {}, false, false}},
                                     OperatorRole::kViewer);
  EXPECT_FALSE(refused.ok);
  EXPECT_TRUE(c_.cluster->coordinator()->debug_entities().empty());
  EXPECT_EQ(c_.cluster->coordinator()->stats().admin_refused[static_cast<size_t>(AdminVerdict::kRoleTooLow)], 1u);
  EXPECT_EQ(kinds(TraceKind::kAdminRefused)[1].size(), 1u);
  EXPECT_TRUE(command(AdminRequest{AdminRequest::Command::kDebug, {}, {}, DebugTargets{}}, OperatorRole::kViewer).ok);
}

TEST_F(DebugModeTest, GhostQueriesAreRelayedToTheComputeNodes) {
  run_for(4 * kNsPerSec);
  const EntityId e = some_entity();
  const AdminReply owned = command(AdminRequest{AdminRequest::Command::kGhostQuery, e, {}}, OperatorRole::kViewer);
  ASSERT_TRUE(owned.ok);
  ASSERT_EQ(owned.lines.size(), 3u);
  EXPECT_EQ(owned.lines[0].rfind("compute 101 owns it: generation", 0), 0u) << owned.lines[0];
  // Its subscriptions, and from this question on its inputs and intents (entity_journal.h).
  EXPECT_EQ(owned.lines[1].rfind("compute 101 feeds it to gateway 20", 0), 0u) << owned.lines[1];
  EXPECT_EQ(owned.lines[2], "compute 101 records its last 8 inputs and 8 intents for 60 s from each question");
  run_for(1 * kNsPerSec);
  const AdminReply again = command(AdminRequest{AdminRequest::Command::kGhostQuery, e, {}}, OperatorRole::kViewer);
  ASSERT_GE(again.lines.size(), 3u);
  EXPECT_EQ(again.lines[2].rfind("compute 101 input at tick ", 0), 0u) << again.lines[2];
  EXPECT_LE(again.lines.size(), 2 + kJournalInputsMax + kJournalIntentsMax);
  const AdminReply unknown = command(AdminRequest{AdminRequest::Command::kGhostQuery, EntityId(999999), {}}, OperatorRole::kViewer);
  ASSERT_EQ(unknown.lines.size(), 1u);
  EXPECT_EQ(unknown.lines[0], "compute 101 neither owns nor ghosts it (compute 101)");
}

TEST_F(DebugModeTest, AnAdminRequestOnTheDataPortIsRefusedAndCounted) {
  run_for(3 * kNsPerSec);
  AdminProbe* probe = probe_data_port(AdminRequest{AdminRequest::Command::kDebug, {}, {}, DebugTargets{{EntityId(7)}, {}, false, false}});
  ASSERT_TRUE(probe->reply.has_value());
  EXPECT_FALSE(probe->reply->ok);
  EXPECT_NE(probe->reply->lines.front().find("admin listener"), std::string::npos) << probe->reply->lines.front();
  EXPECT_TRUE(c_.cluster->coordinator()->debug_entities().empty());
  EXPECT_EQ(c_.cluster->coordinator()->stats().admin_on_data_port, 1u);
  EXPECT_TRUE(kinds(TraceKind::kAdminCommand).empty());
}

}  // namespace
}  // namespace aether
