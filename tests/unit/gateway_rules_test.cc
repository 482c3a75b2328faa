// Rules the gateway keeps, with a fake runtime (tests/unit/fake_runtime.h): docs/security.md.

#include <gtest/gtest.h>

#include "engine/gateway/gateway.h"
#include "engine/wire/client_protocol.h"
#include "tests/unit/fake_runtime.h"

namespace aether {
namespace {

using testing::FakeRuntime;

constexpr NodeId kSelf{201};
constexpr NodeId kLeader{1};
constexpr Epoch kEpoch = 1;
constexpr const char* kListen = "gateway-201:8000";
constexpr const char* kLeaderAddress = "coordinator-1:7000";

class GatewayRules : public ::testing::Test {
 protected:
  GatewayRules() : rt_(kSelf) {
    GatewayConfig cfg;
    cfg.node = kSelf;
    cfg.listen_address = kListen;
    cfg.coordinator_addresses = {kLeaderAddress};
    gateway_ = std::make_unique<Gateway>(rt_.runtime, cfg);
    gateway_->start();
    leader_ = rt_.network.outbound_to(kLeaderAddress);
    rt_.network.complete_connect(leader_);
    rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, kEpoch, 0, Leadership{true}});
  }
  // A client connects and says hello: the gateway asks the leader for its avatar.
  ConnId client_hello() {
    const ConnId conn = rt_.network.accept(kListen);
    const auto hello = client::encode_hello(client::Hello{client::kProtocolVersion, "ana", {}, 0});
    rt_.network.deliver_bytes(conn, hello);
    return conn;
  }

  FakeRuntime rt_;
  std::unique_ptr<Gateway> gateway_;
  ConnId leader_ = 0;
};

// No avatar without a live session: a client that leaves before its avatar came gets it closed as
// soon as the spawn reply arrives (it used to stay in the battle for good: 46 of 50 in an attack).
TEST_F(GatewayRules, AnAvatarWhoseClientLeftBeforeItCameIsClosedAtOnce) {
  const ConnId conn = client_hello();
  const auto request = rt_.network.last_of<SpawnRequest>(leader_);
  ASSERT_TRUE(request.has_value());
  rt_.network.reset(conn);  // the client goes before its Welcome
  const EntityId avatar(1ULL << 40 | 5);
  rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, kEpoch, 0,
                                             SpawnReply{request->session, avatar, NodeId(101), "compute-101:9000", "", 42}});
  const auto closed = rt_.network.last_of<SessionClosed>(leader_);
  ASSERT_TRUE(closed.has_value()) << "the avatar of a client that left was never closed";
  EXPECT_EQ(closed->entity, avatar);
  EXPECT_EQ(closed->session, request->session);
}

// A spawn the leader defers (no compute node ready) holds the client and is asked again.
TEST_F(GatewayRules, ADeferredSpawnIsAskedAgainAndTheClientHeld) {
  const ConnId conn = client_hello();
  const auto request = rt_.network.last_of<SpawnRequest>(leader_);
  ASSERT_TRUE(request.has_value());
  SpawnReply later{request->session, {}, {}, "", "no compute node available", 0, true};
  rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, kEpoch, 0, later});
  EXPECT_TRUE(rt_.network.open(conn));
  const size_t asked = rt_.network.sent_of<SpawnRequest>(leader_).size();
  rt_.advance(2 * kNsPerSec);
  EXPECT_GT(rt_.network.sent_of<SpawnRequest>(leader_).size(), asked);
  EXPECT_TRUE(rt_.network.open(conn));
  EXPECT_EQ(gateway_->stats().spawns_deferred, 1u);
}

}  // namespace
}  // namespace aether
