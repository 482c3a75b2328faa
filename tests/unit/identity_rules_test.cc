// The identity rules (docs/security.md, "Identities"): a server binds what a peer claims (its Hello,
// an admin request, the server answering a link it dialled) to what the runtime verified for the
// connection (Network::peer_identity: the peer's certificate under mutual TLS), refuses a mismatch
// with a logged reason and a counter, and with mutual TLS configured refuses a peer with no verified
// identity at all. Each rule on one component alone, on a manual runtime (tests/unit/fake_runtime.h)
// where the test says what the runtime verified for each connection.

#include <gtest/gtest.h>

#include <memory>

#include "engine/compute/compute_node.h"
#include "engine/coordinator/coordinator.h"
#include "engine/gateway/gateway.h"
#include "engine/wire/client_protocol.h"
#include "tests/unit/fake_runtime.h"

namespace aether {
namespace {

using testing::FakeRuntime;

constexpr Epoch kEpoch = 3;
constexpr PeerIdentity identity(Role role, uint32_t node) { return PeerIdentity{role, NodeId(node)}; }

// --- Names ---------------------------------------------------------------------------------------

TEST(PeerIdentityName, OnlyTheCanonicalFormOfAnIdentityRoleParses) {
  EXPECT_EQ(parse_peer_identity("compute-101"), identity(Role::kCompute, 101));
  EXPECT_EQ(parse_peer_identity("coordinator-1"), identity(Role::kCoordinator, 1));
  EXPECT_EQ(parse_peer_identity("gateway-201"), identity(Role::kGateway, 201));
  EXPECT_EQ(parse_peer_identity("admin-1"), identity(Role::kAdmin, 1));
  EXPECT_EQ(parse_peer_identity("compute-4294967295"), identity(Role::kCompute, 4294967295u));
  for (const char* bad : {"", "compute", "compute-", "-101", "compute-0", "compute-0101", "compute-+1", "compute--1", "compute-101 ",
                          " compute-101", "Compute-101", "compute-4294967296", "compute-99999999999", "client-5", "none-5", "bot-1",
                          "compute-1x", "compute_101"}) {
    EXPECT_EQ(parse_peer_identity(bad), std::nullopt) << "'" << bad << "' parsed as an identity";
  }
  EXPECT_EQ(parse_peer_identity(std::string_view("compute-1\0", 10)), std::nullopt) << "a NUL after the name";
  for (const PeerIdentity& id : {identity(Role::kCompute, 101), identity(Role::kAdmin, 7), identity(Role::kCoordinator, 4294967295u)}) {
    EXPECT_EQ(parse_peer_identity(peer_identity_name(id)), id);
  }
}

// --- Coordinator -----------------------------------------------------------------------------------

class IdentityRulesCoordinator : public ::testing::Test {
 protected:
  static constexpr NodeId kSelf{1};
  static constexpr NodeId kPeer{2};
  static constexpr const char* kListen = "coordinator-1:7000";
  static constexpr const char* kPeerAddress = "coordinator-2:7000";

  IdentityRulesCoordinator() : rt_(kSelf) {}
  void start(bool identity_required, bool leader = true) {
    CoordinatorConfig cfg;
    cfg.node = kSelf;
    cfg.listen_address = kListen;
    cfg.peer_address = kPeerAddress;
    cfg.peer_node = kPeer;
    cfg.start_as_leader = leader;
    cfg.epoch = kEpoch;
    cfg.identity_required = identity_required;
    coord_ = std::make_unique<Coordinator>(rt_.runtime, cfg);
    coord_->start();
  }
  // A process verified as `verified` connects and says Hello as `role` `node`.
  ConnId hello(std::optional<PeerIdentity> verified, Role role, uint32_t node) {
    const ConnId conn = rt_.network.accept(kListen, verified);
    rt_.network.deliver(conn, ServerMessage{NodeId(node), role, 0, 0, Hello{role, role == Role::kCompute ? "compute:9000" : "", 100, 7, gameplay::content_of(gameplay::Rules{})->hash()}});
    return conn;
  }
  // An admin order (drain compute 101) from a connection verified as `verified`, signed as `sender`.
  ConnId drain(std::optional<PeerIdentity> verified, uint32_t sender) {
    const ConnId conn = rt_.network.accept(kListen, verified);
    rt_.network.deliver(conn, ServerMessage{NodeId(sender), Role::kAdmin, kEpochAdmin, 0, AdminRequest{AdminRequest::Command::kDrain, {}, NodeId(101)}});
    return conn;
  }
  bool registered(uint32_t node) const { return coord_->nodes().count(NodeId(node)) != 0; }
  bool draining(uint32_t node) const { return registered(node) && coord_->nodes().at(NodeId(node)).draining(); }

  FakeRuntime rt_;
  std::unique_ptr<Coordinator> coord_;
};

TEST_F(IdentityRulesCoordinator, AHelloIsAdmittedOnlyAsTheVerifiedIdentity) {
  start(/*identity_required=*/true);
  const ConnId other_node = hello(identity(Role::kCompute, 102), Role::kCompute, 101);
  const ConnId other_role = hello(identity(Role::kGateway, 101), Role::kCompute, 101);
  EXPECT_FALSE(rt_.network.open(other_node)) << "compute-102 registered as compute 101";
  EXPECT_FALSE(rt_.network.open(other_role)) << "gateway-101 registered as compute 101";
  EXPECT_FALSE(registered(101));
  EXPECT_EQ(coord_->identity_rejections(), 2u);
  EXPECT_TRUE(rt_.log.contains("identity rejected: Hello"));

  const ConnId honest = hello(identity(Role::kCompute, 101), Role::kCompute, 101);
  EXPECT_TRUE(rt_.network.open(honest));
  EXPECT_TRUE(registered(101));
  EXPECT_EQ(coord_->identity_rejections(), 2u);
}

// A gateway saying Hello as an existing gateway (a new incarnation) detached every avatar of it:
// now only the holder of that gateway's certificate can.
TEST_F(IdentityRulesCoordinator, AGatewayHelloFromAnotherIdentityTakesNothingOver) {
  start(/*identity_required=*/true);
  const ConnId real = hello(identity(Role::kGateway, 201), Role::kGateway, 201);
  const ConnId impostor = hello(identity(Role::kGateway, 202), Role::kGateway, 201);
  EXPECT_TRUE(rt_.network.open(real));
  EXPECT_FALSE(rt_.network.open(impostor));
  EXPECT_EQ(coord_->nodes().at(NodeId(201)).conn, real) << "the impostor's connection replaced the gateway's";
}

TEST_F(IdentityRulesCoordinator, WithIdentityRequiredAPeerWithoutOneIsRefused) {
  start(/*identity_required=*/true);
  const ConnId anonymous = hello(std::nullopt, Role::kCompute, 101);
  EXPECT_FALSE(rt_.network.open(anonymous));
  EXPECT_FALSE(registered(101));
  EXPECT_EQ(coord_->identity_rejections(), 1u);
  EXPECT_TRUE(rt_.log.contains("no verified identity"));
}

// Plain TCP (no mutual TLS configured): nothing is verified, and nothing can be refused for it.
TEST_F(IdentityRulesCoordinator, WithoutIdentityRequiredAPeerWithoutOneIsAdmitted) {
  start(/*identity_required=*/false);
  EXPECT_TRUE(rt_.network.open(hello(std::nullopt, Role::kCompute, 101)));
  EXPECT_TRUE(registered(101));
  // A verified identity still binds, required or not.
  EXPECT_FALSE(rt_.network.open(hello(identity(Role::kCompute, 103), Role::kCompute, 102)));
  EXPECT_EQ(coord_->identity_rejections(), 1u);
}

// Operators use the admin listener: on the data port an admin request is refused from anyone, an
// admin identity included (no server sends one to a coordinator), counted, and its connection closed.
TEST_F(IdentityRulesCoordinator, AdminOrdersAreRefusedOnTheDataPort) {
  start(/*identity_required=*/true);
  ASSERT_TRUE(rt_.network.open(hello(identity(Role::kCompute, 101), Role::kCompute, 101)));
  uint64_t refused = 0;
  for (const auto& [verified, sender] : {std::pair{std::optional(identity(Role::kCompute, 101)), 101u},
                                         std::pair{std::optional(identity(Role::kGateway, 201)), 201u},
                                         std::pair{std::optional(identity(Role::kAdmin, 1)), 1u},
                                         std::pair{std::optional<PeerIdentity>{}, 0xadu}}) {
    const ConnId conn = drain(verified, sender);
    EXPECT_FALSE(draining(101)) << "an admin order obeyed on the data port from " << (verified ? peer_identity_name(*verified) : "nobody verified");
    EXPECT_FALSE(rt_.network.open(conn));
    const auto reply = rt_.network.last_of<AdminReply>(conn);
    ASSERT_TRUE(reply.has_value());
    EXPECT_FALSE(reply->ok);
    EXPECT_EQ(coord_->stats().admin_on_data_port, ++refused);
  }
  EXPECT_TRUE(rt_.log.contains("admin request refused on the data port"));
  EXPECT_EQ(coord_->stats().admin_commands, 0u) << "a data-port request reached the operator path";
}

TEST_F(IdentityRulesCoordinator, TheLeaderReplicatesOnlyToItsConfiguredPeer) {
  start(/*identity_required=*/true);
  const ConnId stranger = hello(identity(Role::kCoordinator, 3), Role::kCoordinator, 3);
  EXPECT_TRUE(rt_.network.sent_of<Replicate>(stranger).empty()) << "the table went to coordinator 3, not our peer";
  EXPECT_EQ(coord_->identity_rejections(), 1u);
  const ConnId peer = hello(identity(Role::kCoordinator, 2), Role::kCoordinator, 2);
  EXPECT_FALSE(rt_.network.sent_of<Replicate>(peer).empty()) << "our configured peer got no replica";
  rt_.advance(3 * kTickNs);
  EXPECT_TRUE(rt_.network.sent_of<Replicate>(stranger).empty());
}

TEST_F(IdentityRulesCoordinator, APeerLinkAnsweredByAnotherCoordinatorIsDropped) {
  start(/*identity_required=*/true, /*leader=*/false);
  const ConnId wrong = rt_.network.outbound_to(kPeerAddress);
  rt_.network.complete_connect(wrong, identity(Role::kCoordinator, 3));
  EXPECT_FALSE(rt_.network.open(wrong));
  EXPECT_TRUE(rt_.network.sent_of<Hello>(wrong).empty()) << "we said Hello to a server that is not our peer";
  EXPECT_EQ(coord_->identity_rejections(), 1u);
  rt_.advance(kReconnectDelayMinNs * 2);  // the link dials again
  const ConnId right = rt_.network.outbound_to(kPeerAddress);
  ASSERT_NE(right, wrong);
  rt_.network.complete_connect(right, identity(Role::kCoordinator, 2));
  EXPECT_TRUE(rt_.network.open(right));
  EXPECT_EQ(rt_.network.sent_of<Hello>(right).size(), 1u);
  // On that link, our peer speaks as its certificate's node only.
  rt_.network.deliver(right, ServerMessage{NodeId(3), Role::kCoordinator, kEpoch + 1, 0, Leadership{true}});
  EXPECT_FALSE(rt_.network.open(right)) << "a message signed by coordinator 3 on coordinator-2's link was taken";
  EXPECT_EQ(coord_->epoch(), kEpoch);
  EXPECT_EQ(coord_->identity_rejections(), 2u);
}

// --- Compute node ----------------------------------------------------------------------------------

class IdentityRulesCompute : public ::testing::Test {
 protected:
  static constexpr NodeId kSelf{101};
  static constexpr const char* kListen = "compute-101:9000";
  static constexpr const char* kLeaderAddress = "coordinator-1:7000";

  explicit IdentityRulesCompute(bool identity_required = true) : rt_(kSelf) {
    ComputeConfig cfg;
    cfg.node = kSelf;
    cfg.listen_address = kListen;
    cfg.coordinator_addresses = {kLeaderAddress};
    cfg.identity_required = identity_required;
    node_ = std::make_unique<ComputeNode>(rt_.runtime, cfg);
    node_->start();
    leader_ = rt_.network.outbound_to(kLeaderAddress);
  }
  ConnId hello(std::optional<PeerIdentity> verified, Role role, uint32_t node) {
    const ConnId conn = rt_.network.accept(kListen, verified);
    rt_.network.deliver(conn, ServerMessage{NodeId(node), role, kEpoch, 0, Hello{role, "x:1", 0, 7, gameplay::content_of(gameplay::Rules{})->hash()}});
    return conn;
  }

  FakeRuntime rt_;
  std::unique_ptr<ComputeNode> node_;
  ConnId leader_ = 0;
};

// A gateway saying Hello as an existing one took over its feed (100 players saw nothing for 25 s).
TEST_F(IdentityRulesCompute, ASubscriberIsAdmittedOnlyAsTheVerifiedIdentity) {
  const ConnId impostor = hello(identity(Role::kGateway, 202), Role::kGateway, 201);
  const ConnId posing = hello(identity(Role::kCompute, 201), Role::kGateway, 201);
  const ConnId anonymous = hello(std::nullopt, Role::kGateway, 201);
  EXPECT_FALSE(rt_.network.open(impostor));
  EXPECT_FALSE(rt_.network.open(posing));
  EXPECT_FALSE(rt_.network.open(anonymous));
  EXPECT_EQ(node_->subscribers(), 0u);
  EXPECT_EQ(node_->identity_rejections(), 3u);
  const ConnId honest = hello(identity(Role::kGateway, 201), Role::kGateway, 201);
  EXPECT_TRUE(rt_.network.open(honest));
  EXPECT_EQ(node_->subscribers(), 1u);
}

// Ghost queries reach a compute node relayed by a coordinator, on the coordinator's link; on the data
// port an admin request is refused from anyone, an admin identity included.
TEST_F(IdentityRulesCompute, AdminQuestionsAreRefusedOnTheDataPort) {
  const auto ask = [&](std::optional<PeerIdentity> verified, uint32_t sender) {
    const ConnId conn = rt_.network.accept(kListen, verified);
    rt_.network.deliver(conn, ServerMessage{NodeId(sender), Role::kAdmin, 0, 0, AdminRequest{AdminRequest::Command::kGhostQuery, EntityId(5), {}}});
    const auto reply = rt_.network.last_of<AdminReply>(conn);
    EXPECT_TRUE(reply.has_value());
    return std::pair{conn, reply.value_or(AdminReply{})};
  };
  uint64_t refused = 0;
  for (const auto& [verified, sender] : {std::pair{std::optional(identity(Role::kGateway, 201)), 201u},
                                         std::pair{std::optional(identity(Role::kAdmin, 1)), 1u}}) {
    const auto [conn, reply] = ask(verified, sender);
    EXPECT_FALSE(rt_.network.open(conn));
    EXPECT_FALSE(reply.ok);
    ASSERT_FALSE(reply.lines.empty());
    EXPECT_NE(reply.lines.front().find("admin listener"), std::string::npos) << reply.lines.front();
    EXPECT_EQ(node_->stats().admin_on_data_port, ++refused);
  }
  EXPECT_TRUE(rt_.log.contains("admin request refused on the data port"));
}

// What the data port refuses, the coordinator's own link carries: the answer goes back on it, and
// a question (a read) never moves our epoch.
TEST_F(IdentityRulesCompute, GhostQueriesRelayedByTheCoordinatorAreAnswered) {
  rt_.network.complete_connect(leader_, identity(Role::kCoordinator, 1));
  rt_.network.deliver(leader_, ServerMessage{NodeId(1), Role::kCoordinator, kEpoch + 5, 0, AdminRequest{AdminRequest::Command::kGhostQuery, EntityId(5), {}}});
  const auto reply = rt_.network.last_of<AdminReply>(leader_);
  ASSERT_TRUE(reply.has_value());
  ASSERT_FALSE(reply->lines.empty());
  EXPECT_NE(reply->lines.front().find("neither owns nor ghosts"), std::string::npos) << reply->lines.front();
  EXPECT_TRUE(rt_.network.open(leader_));
  EXPECT_EQ(node_->epoch(), 0u);
  EXPECT_EQ(node_->stats().admin_on_data_port, 0u);
}

TEST_F(IdentityRulesCompute, ACoordinatorLinkAnsweredByAnotherRoleIsDropped) {
  rt_.network.complete_connect(leader_, identity(Role::kCompute, 1));
  EXPECT_FALSE(rt_.network.open(leader_));
  EXPECT_TRUE(rt_.network.sent_of<Hello>(leader_).empty()) << "we registered with a server that is no coordinator";
  EXPECT_EQ(node_->identity_rejections(), 1u);
  rt_.advance(kReconnectDelayMinNs * 2);
  const ConnId retry = rt_.network.outbound_to(kLeaderAddress);
  ASSERT_NE(retry, leader_);
  rt_.network.complete_connect(retry, identity(Role::kCoordinator, 1));
  EXPECT_EQ(rt_.network.sent_of<Hello>(retry).size(), 1u);
  // On that link, the coordinator speaks as its certificate's node only.
  rt_.network.deliver(retry, ServerMessage{NodeId(2), Role::kCoordinator, kEpoch, 0, Leadership{true}});
  EXPECT_FALSE(rt_.network.open(retry)) << "a message signed by coordinator 2 on coordinator-1's link was taken";
  EXPECT_EQ(node_->epoch(), 0u);
  EXPECT_EQ(node_->identity_rejections(), 2u);
}

TEST_F(IdentityRulesCompute, ALinkToAPeerAnsweredByAnotherNodeIsDropped) {
  rt_.network.complete_connect(leader_, identity(Role::kCoordinator, 1));
  rt_.network.deliver(leader_, ServerMessage{NodeId(1), Role::kCoordinator, kEpoch, 0,
                                             Membership{{PeerInfo{NodeId(101), kListen}, PeerInfo{NodeId(102), "compute-102:9000"}}, {}}});
  const ConnId wrong = rt_.network.outbound_to("compute-102:9000");
  ASSERT_NE(wrong, 0u);
  rt_.network.complete_connect(wrong, identity(Role::kCompute, 103));
  EXPECT_FALSE(rt_.network.open(wrong));
  EXPECT_TRUE(rt_.network.sent_of<Hello>(wrong).empty());
  EXPECT_EQ(node_->peers_connected(), 0u);
  EXPECT_EQ(node_->identity_rejections(), 1u);
  rt_.advance(kReconnectDelayMinNs * 2);
  const ConnId right = rt_.network.outbound_to("compute-102:9000");
  rt_.network.complete_connect(right, identity(Role::kCompute, 102));
  EXPECT_EQ(node_->peers_connected(), 1u);
}

// --- Gateway -------------------------------------------------------------------------------------

TEST(IdentityRulesGateway, ALinkToAComputeNodeAnsweredByAnotherIsDropped) {
  constexpr NodeId kSelf{201};
  FakeRuntime rt(kSelf);
  GatewayConfig cfg;
  cfg.node = kSelf;
  cfg.listen_address = "gateway-201:8000";
  cfg.coordinator_addresses = {"coordinator-1:7000"};
  cfg.identity_required = true;
  Gateway gateway(rt.runtime, cfg);
  gateway.start();
  const ConnId impostor = rt.network.outbound_to("coordinator-1:7000");
  rt.network.complete_connect(impostor, identity(Role::kGateway, 1));
  EXPECT_FALSE(rt.network.open(impostor)) << "a gateway answered as our coordinator";
  EXPECT_EQ(gateway.identity_rejections(), 1u);
  rt.advance(kReconnectDelayMinNs * 2);
  const ConnId leader = rt.network.outbound_to("coordinator-1:7000");
  rt.network.complete_connect(leader, identity(Role::kCoordinator, 1));
  rt.network.deliver(leader, ServerMessage{NodeId(1), Role::kCoordinator, kEpoch, 0, Leadership{true}});

  const ConnId client = rt.network.accept("gateway-201:8000");  // players carry no identity: none is asked of them
  rt.network.deliver_bytes(client, client::encode_hello(client::Hello{client::kProtocolVersion, "ana", {}, 0}));
  const auto request = rt.network.last_of<SpawnRequest>(leader);
  ASSERT_TRUE(request.has_value());
  rt.network.deliver(leader, ServerMessage{NodeId(1), Role::kCoordinator, kEpoch, 0,
                                           SpawnReply{request->session, EntityId(1ULL << 40 | 1), NodeId(101), "compute-101:9000", "", 42}});
  const ConnId wrong = rt.network.outbound_to("compute-101:9000");
  ASSERT_NE(wrong, 0u);
  rt.network.complete_connect(wrong, identity(Role::kCompute, 102));
  EXPECT_FALSE(rt.network.open(wrong));
  EXPECT_TRUE(rt.network.sent_of<Hello>(wrong).empty()) << "we subscribed to compute-102 for compute 101's feed";
  EXPECT_EQ(gateway.identity_rejections(), 2u);
  rt.advance(kReconnectDelayMinNs * 2);
  const ConnId right = rt.network.outbound_to("compute-101:9000");
  rt.network.complete_connect(right, identity(Role::kCompute, 101));
  EXPECT_EQ(rt.network.sent_of<Hello>(right).size(), 1u);
  EXPECT_TRUE(rt.network.open(client));
  // On the coordinator link, the coordinator speaks as its certificate's node only.
  rt.network.deliver(leader, ServerMessage{NodeId(2), Role::kCoordinator, kEpoch + 1, 0, Leadership{true}});
  EXPECT_FALSE(rt.network.open(leader)) << "a message signed by coordinator 2 on coordinator-1's link was taken";
  EXPECT_EQ(gateway.epoch(), kEpoch);
  EXPECT_EQ(gateway.identity_rejections(), 3u);
}

}  // namespace
}  // namespace aether
