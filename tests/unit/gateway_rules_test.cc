// Rules the gateway keeps, with a fake runtime (tests/unit/fake_runtime.h): docs/security.md.

#include <gtest/gtest.h>

#include "engine/core/region_map.h"
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

// A playing client that sends nothing for client_idle_timeout_ns is closed, its avatar with it (a
// held connection must not keep an avatar in the battle); one that keeps sending stays.
TEST_F(GatewayRules, AnIdleClientIsClosedAndItsAvatarWithIt) {
  const auto play = [&](uint64_t n) {
    const ConnId conn = client_hello();
    const auto request = rt_.network.last_of<SpawnRequest>(leader_);
    EXPECT_TRUE(request.has_value());
    rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, kEpoch, 0,
                                               SpawnReply{request->session, EntityId(1ULL << 40 | n), NodeId(101), "compute-101:9000", "", 42}});
    return conn;
  };
  const ConnId idle = play(1);
  const ConnId busy = play(2);
  uint32_t seq = 0;
  const TimeNs timeout = GatewayConfig{}.client_idle_timeout_ns;
  for (TimeNs t = 0; t <= timeout + kNsPerSec; t += kNsPerSec) {
    rt_.network.deliver_bytes(busy, client::encode_input(ClientInput{++seq, 0, 0, EntityId{}, false}));
    rt_.advance(kNsPerSec);
  }
  EXPECT_FALSE(rt_.network.open(idle)) << "a client silent past the idle timeout was kept";
  EXPECT_TRUE(rt_.network.open(busy));
  EXPECT_EQ(gateway_->stats().idle_closed, 1u);
  const auto closed = rt_.network.last_of<SessionClosed>(leader_);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->entity, EntityId(1ULL << 40 | 1));
  EXPECT_FALSE(closed->detached);
}

// Client inputs (engine/gateway/input_guard.h): what no honest client sends is rejected, counted by
// reason, and a session that keeps sending it is closed; an honest client beside it plays on.
class GatewayInputs : public GatewayRules {
 protected:
  static constexpr const char* kOwnerAddress = "compute-101:9000";
  ConnId play(uint64_t n) {
    const ConnId conn = client_hello();
    const auto request = rt_.network.last_of<SpawnRequest>(leader_);
    EXPECT_TRUE(request.has_value());
    rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, kEpoch, 0,
                                               SpawnReply{request->session, EntityId(1ULL << 40 | n), NodeId(101), kOwnerAddress, "", 42}});
    owner_ = rt_.network.outbound_to(kOwnerAddress);
    if (!rt_.network.open(owner_)) rt_.network.complete_connect(owner_);
    return conn;
  }
  void input(ConnId conn, uint32_t seq, EntityId target = {}, bool fire = false) {
    rt_.network.deliver_bytes(conn, client::encode_input(ClientInput{seq, 500, 0, target, fire}));
  }
  uint64_t rejected(InputRejection r) const { return gateway_->stats().inputs_rejected[static_cast<size_t>(r)]; }
  ConnId owner_ = 0;
};

// docs/browser.md, "The bag and the turn order": an avatar's HUD (AvatarHud) from its owner goes
// to that avatar's client alone; the same from a compute node that does not own the avatar, or for
// an avatar no session here plays, is ignored and counted.
TEST_F(GatewayInputs, AnAvatarsHudGoesToItsOwnClientAloneAndOnlyOnItsOwnersWord) {
  const ConnId ana = play(1);
  const ConnId bob = play(2);
  const ConnId ana_owner = owner_;
  // A third player owned by another compute node: the gateway links to that node too.
  const ConnId cid = client_hello();
  const auto request = rt_.network.last_of<SpawnRequest>(leader_);
  ASSERT_TRUE(request.has_value());
  rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, kEpoch, 0,
                                             SpawnReply{request->session, EntityId(1ULL << 40 | 3), NodeId(102), "compute-102:9000", "", 43}});
  const ConnId other_owner = rt_.network.outbound_to("compute-102:9000");
  ASSERT_NE(other_owner, 0u);
  if (!rt_.network.open(other_owner)) rt_.network.complete_connect(other_owner);
  const auto huds_to = [&](ConnId conn) {
    std::vector<AvatarHud> out;
    for (const testing::SentPayload& p : rt_.network.sent()) {
      if (p.conn != conn || p.bytes.empty() || p.bytes[0] != static_cast<uint8_t>(client::Type::kHud)) continue;
      ByteReader r(p.bytes);
      auto h = client::decode_gateway_header(r);
      EXPECT_TRUE(h.ok());
      if (h.ok()) out.push_back(h->hud);
    }
    return out;
  };
  AvatarHud hud;
  hud.entity = EntityId(1ULL << 40 | 1);
  hud.items.push_back(7);
  hud.encounter = EntityId(1ULL << 40 | 50);
  hud.round = 1;
  hud.turn = 2;
  hud.actor = 1;
  hud.turn_ticks_left = 30;
  hud.seats.push_back(EncounterSeat{EntityId(1ULL << 40 | 2), 2, 0});
  hud.seats.push_back(EncounterSeat{EntityId(1ULL << 40 | 1), 1, 0});
  rt_.network.deliver(ana_owner, ServerMessage{NodeId(101), Role::kCompute, kEpoch, 1, hud});
  auto got = huds_to(ana);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].items.size(), 1u);
  EXPECT_EQ(got[0].items[0], 7);
  EXPECT_EQ(got[0].seats.size(), 2u);
  EXPECT_EQ(got[0].actor, 1u);
  EXPECT_TRUE(huds_to(bob).empty()) << "another player was told ana's bag";
  EXPECT_TRUE(huds_to(cid).empty()) << "another player was told ana's bag";
  EXPECT_EQ(gateway_->stats().huds_forwarded, 1u);
  // Node 102 does not own ana's avatar: ignored, counted, nobody told anything.
  rt_.network.deliver(other_owner, ServerMessage{NodeId(102), Role::kCompute, kEpoch, 1, hud});
  EXPECT_EQ(huds_to(ana).size(), 1u);
  EXPECT_EQ(gateway_->stats().huds_refused, 1u);
  // An avatar nobody plays here: ignored, counted.
  AvatarHud stray = hud;
  stray.entity = EntityId(1ULL << 40 | 9);
  rt_.network.deliver(ana_owner, ServerMessage{NodeId(101), Role::kCompute, kEpoch, 1, stray});
  EXPECT_EQ(gateway_->stats().huds_unplayed, 1u);
  EXPECT_TRUE(huds_to(bob).empty());
  EXPECT_TRUE(huds_to(cid).empty());
  // Once ana's session ends, its avatar's HUD goes nowhere.
  rt_.network.reset(ana);
  rt_.network.deliver(ana_owner, ServerMessage{NodeId(101), Role::kCompute, kEpoch, 1, hud});
  EXPECT_EQ(gateway_->stats().huds_unplayed, 2u);
  EXPECT_EQ(gateway_->stats().huds_forwarded, 1u);
  EXPECT_TRUE(rt_.network.open(bob));
}

TEST_F(GatewayInputs, ReplaysAndFloodsAreRejectedByReasonAndTheSenderClosedPastItsBudget) {
  const ConnId cheat = play(1);
  const ConnId honest = play(2);
  const InputGuardLimits limits;
  // One honest input each: both forwarded.
  input(cheat, 1);
  input(honest, 1);
  EXPECT_EQ(rt_.network.sent_of<InputForward>(owner_).size(), 2u);
  // A replay, then a jump to the top of the sequence space, then a replay of that.
  input(cheat, 1);
  EXPECT_EQ(rejected(InputRejection::kStaleSequence), 1u);
  input(cheat, UINT32_MAX);
  input(cheat, UINT32_MAX);
  EXPECT_EQ(rejected(InputRejection::kStaleSequence), 2u);
  // A flood within one 100 ms window (the honest client's first input was in it): past
  // inputs_per_window_max, rejected for rate.
  for (uint32_t i = 0; i < limits.inputs_per_window_max + 2; ++i) input(honest, 2 + i);
  EXPECT_EQ(rejected(InputRejection::kRate), 3u);
  EXPECT_TRUE(rt_.network.open(cheat));
  EXPECT_TRUE(rt_.network.open(honest));
  // The cheat (2 rejections so far) keeps replaying: closed once past rejections_max within the
  // rejection window, not before.
  for (uint64_t i = 2; i < limits.rejections_max; ++i) input(cheat, 5);
  EXPECT_TRUE(rt_.network.open(cheat)) << "closed within its budget";
  EXPECT_EQ(gateway_->stats().rejected_closed, 0u);
  input(cheat, 5);
  EXPECT_FALSE(rt_.network.open(cheat)) << "a client past its rejection budget stayed";
  EXPECT_EQ(gateway_->stats().rejected_closed, 1u);
  // The honest one, in the next window, plays on.
  rt_.advance(kTickNs);
  const size_t forwarded = rt_.network.sent_of<InputForward>(owner_).size();
  input(honest, 100);
  EXPECT_TRUE(rt_.network.open(honest));
  EXPECT_EQ(rt_.network.sent_of<InputForward>(owner_).size(), forwarded + 1);
}

TEST_F(GatewayInputs, RejectionsAreForgivenOnceTheirWindowIsOver) {
  const ConnId client = play(1);
  const InputGuardLimits limits;
  input(client, 10);
  for (uint32_t i = 0; i < limits.rejections_max; ++i) input(client, 1);
  rt_.advance(limits.rejection_window_ns);
  for (uint32_t i = 0; i < limits.rejections_max; ++i) input(client, 1);
  EXPECT_TRUE(rt_.network.open(client)) << "rejections of an earlier window counted against this one";
}

// One cannot aim at what one cannot see: a target the client was never told of is stripped, with
// the fire order; the movement still goes to the owner.
TEST_F(GatewayInputs, ATargetOutsideTheClientsViewIsStrippedAndTheMoveForwarded) {
  const ConnId client = play(1);
  const EntityId unseen(1ULL << 40 | 77);
  input(client, 1, unseen, true);
  const auto forwarded = rt_.network.last_of<InputForward>(owner_);
  ASSERT_TRUE(forwarded.has_value()) << "the movement was dropped with the target";
  EXPECT_EQ(forwarded->input.move_x, 500);
  EXPECT_FALSE(forwarded->input.target.valid());
  EXPECT_EQ(forwarded->input.skill, 0);
  EXPECT_EQ(rejected(InputRejection::kTargetNotInView), 1u);
}

// docs/running.md, "Stopping": a stopping gateway with no other gateway known tells its clients
// Goodbye with their avatars kept (detached) for the resume grace, refuses new connections, and is
// drained once no session is left.
TEST_F(GatewayInputs, AStoppingGatewayDetachesItsClientsAndRefusesNewOnes) {
  const ConnId first = play(1);
  const ConnId second = play(2);
  EXPECT_FALSE(gateway_->drained());
  gateway_->begin_drain();
  EXPECT_FALSE(rt_.network.open(first));
  EXPECT_FALSE(rt_.network.open(second));
  const auto closed = rt_.network.sent_of<SessionClosed>(leader_);
  ASSERT_EQ(closed.size(), 2u);
  EXPECT_TRUE(closed[0].detached && closed[1].detached) << "a stopping gateway despawned an avatar its client could resume";
  EXPECT_TRUE(gateway_->drained());
  const ConnId late = rt_.network.accept(kListen);
  EXPECT_FALSE(rt_.network.open(late)) << "a stopping gateway took a new client";
}

// Routing clients to their region's gateway (GatewayRoutes): the gateway holds a client whose
// avatar is on its side, and sends one whose avatar is deep in another gateway's part to it, with
// its avatar kept for the resume there (SessionClosed, detached).
class GatewayRouting : public GatewayRules {
 protected:
  static constexpr int32_t kArenaMm = 400'000;
  static constexpr NodeId kOther{202};
  static constexpr const char* kOtherAddress = "gateway-202:8000";
  static constexpr const char* kOwnerAddress = "compute-101:9000";

  // Routes: this gateway has the first half of the curve, the other the second half.
  void send_routes(uint32_t split = RegionMap::kCells / 2) {
    GatewayRoutes routes{7, kArenaMm, {GatewayRoute{kSelf, kListen, 0, split}, GatewayRoute{kOther, kOtherAddress, split, RegionMap::kCells}}};
    rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, kEpoch, 0, routes});
  }
  // A position in `gateway`'s half, as far from the other half as can be (well beyond the routing
  // border of two view radii).
  static Vec2 deep_in(NodeId gateway) {
    RegionMap map(kArenaMm);
    EXPECT_TRUE(map.adopt({RegionMap::Range{kSelf, 0, RegionMap::kCells / 2}, RegionMap::Range{kOther, RegionMap::kCells / 2, RegionMap::kCells}}));
    const std::vector<uint16_t> away = map.distances_to(gateway == kSelf ? kOther : kSelf);
    uint32_t best = 0;
    for (uint32_t d = 0; d < RegionMap::kCells; ++d) {
      if (away[d] > away[best]) best = d;
    }
    EXPECT_EQ(map.home_of_cell(best), gateway);
    EXPECT_GT(int64_t{away[best]} * map.cell_mm(), 2 * int64_t{GatewayConfig{}.view_radius_mm});
    const auto [x, y] = RegionMap::from_curve(best);
    return Vec2{static_cast<int32_t>(x) * map.cell_mm() + map.cell_mm() / 2, static_cast<int32_t>(y) * map.cell_mm() + map.cell_mm() / 2};
  }
  // Just across the border into `gateway`'s half: inside it, but within two view radii of the other.
  static Vec2 just_across_into(NodeId gateway) {
    RegionMap map(kArenaMm);
    EXPECT_TRUE(map.adopt({RegionMap::Range{kSelf, 0, RegionMap::kCells / 2}, RegionMap::Range{kOther, RegionMap::kCells / 2, RegionMap::kCells}}));
    const std::vector<uint16_t> away = map.distances_to(gateway == kSelf ? kOther : kSelf);
    for (uint32_t d = 0; d < RegionMap::kCells; ++d) {
      if (map.home_of_cell(d) != gateway || away[d] != 3) continue;
      const auto [x, y] = RegionMap::from_curve(d);
      return Vec2{static_cast<int32_t>(x) * map.cell_mm() + map.cell_mm() / 2, static_cast<int32_t>(y) * map.cell_mm() + map.cell_mm() / 2};
    }
    ADD_FAILURE() << "no cell 3 cells across the border";
    return {};
  }
  // A client plays avatar `avatar` (a resume of it if `resumed`), which its owner reports at `pos`.
  ConnId play(EntityId avatar, Vec2 pos, bool resumed = false) {
    const ConnId conn = rt_.network.accept(kListen);
    rt_.network.deliver_bytes(conn, client::encode_hello(client::Hello{client::kProtocolVersion, "ana", resumed ? avatar : EntityId{}, resumed ? 42u : 0u}));
    const auto request = rt_.network.last_of<SpawnRequest>(leader_);
    EXPECT_TRUE(request.has_value());
    rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, kEpoch, 0,
                                               SpawnReply{request->session, avatar, NodeId(101), kOwnerAddress, "", 42}});
    ConnId owner = rt_.network.outbound_to(kOwnerAddress);
    if (!rt_.network.open(owner)) rt_.network.complete_connect(owner);
    EntityState st;
    st.id = avatar;
    st.pos = pos;
    st.hp = 100;
    st.generation = 1;
    st.version = 1;
    rt_.network.deliver(owner, ServerMessage{NodeId(101), Role::kCompute, kEpoch, 1, DeltaBatch{{st}, {}, false, {}}});
    return conn;
  }
  // The redirect the client got on `conn`, if any.
  std::optional<std::string> redirect_of(ConnId conn) const {
    std::optional<std::string> to;
    for (const auto& p : rt_.network.sent()) {
      if (p.conn != conn || p.bytes.empty() || p.bytes[0] != static_cast<uint8_t>(client::Type::kRedirect)) continue;
      ByteReader r(p.bytes);
      auto header = client::decode_gateway_header(r);
      EXPECT_TRUE(header.ok());
      if (header) to = header->redirect.address;
    }
    return to;
  }
};

TEST_F(GatewayRouting, AClientDeepInAnotherGatewaysPartIsSentThereWithItsAvatarKept) {
  send_routes();
  const EntityId avatar(1ULL << 40 | 7);
  const ConnId conn = play(avatar, deep_in(kOther));
  rt_.advance(kTickNs);
  EXPECT_EQ(redirect_of(conn), std::optional<std::string>(kOtherAddress));
  EXPECT_FALSE(rt_.network.open(conn)) << "the redirected connection stays open";
  const auto closed = rt_.network.last_of<SessionClosed>(leader_);
  ASSERT_TRUE(closed.has_value());
  EXPECT_EQ(closed->entity, avatar);
  EXPECT_TRUE(closed->detached) << "a redirected client's avatar must wait for it, not be despawned";
  EXPECT_EQ(gateway_->stats().clients_redirected, 1u);
  EXPECT_EQ(gateway_->sessions(), 0u);
}

TEST_F(GatewayRouting, AClientOnThisSideOrWithoutRoutesStays) {
  const ConnId before_routes = play(EntityId(1ULL << 40 | 8), deep_in(kOther));
  rt_.advance(kTickNs);
  EXPECT_FALSE(redirect_of(before_routes).has_value()) << "redirected with no routes from the leader";
  send_routes();
  const ConnId here = play(EntityId(1ULL << 40 | 9), deep_in(kSelf));
  rt_.advance(kTickNs);
  EXPECT_FALSE(redirect_of(here).has_value());
  EXPECT_TRUE(rt_.network.open(here));
  EXPECT_TRUE(redirect_of(before_routes).has_value()) << "once routes came, the client in the other part was not sent there";
}

// A client that came here by a resume plays redirect_settle_ns before it may be sent on: no client
// is moved between gateways more often than that.
// Hysteresis: an avatar a few cells across the border (within two view radii of our part) stays.
TEST_F(GatewayRouting, AClientJustAcrossTheBorderStays) {
  send_routes();
  const ConnId conn = play(EntityId(1ULL << 40 | 12), just_across_into(kOther));
  rt_.advance(kTickNs);
  EXPECT_FALSE(redirect_of(conn).has_value()) << "a client just across the border was moved";
}

TEST_F(GatewayRouting, AResumedClientSettlesBeforeItIsSentOn) {
  send_routes();
  const ConnId conn = play(EntityId(1ULL << 40 | 10), deep_in(kOther), /*resumed=*/true);
  rt_.advance(kTickNs);
  EXPECT_FALSE(redirect_of(conn).has_value()) << "a client just resumed here was sent on at once";
  rt_.advance(GatewayConfig{}.redirect_settle_ns);
  EXPECT_TRUE(redirect_of(conn).has_value());
}

TEST_F(GatewayRouting, RoutesThatDoNotCoverTheArenaAreRefused) {
  GatewayRoutes gap{3, kArenaMm, {GatewayRoute{kSelf, kListen, 0, 100}, GatewayRoute{kOther, kOtherAddress, 200, RegionMap::kCells}}};
  rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, kEpoch, 0, gap});
  EXPECT_EQ(gateway_->stats().routes_refused, 1u);
  EXPECT_FALSE(gateway_->routes().has_value());
  const ConnId conn = play(EntityId(1ULL << 40 | 11), deep_in(kOther));
  rt_.advance(kTickNs);
  EXPECT_FALSE(redirect_of(conn).has_value());
}

}  // namespace
}  // namespace aether
