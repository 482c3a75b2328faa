// The ownership protocol's rules (docs/ownership.md), one rule per test, each checked on one
// component alone: a ComputeNode or a Coordinator on a manual runtime (tests/unit/fake_runtime.h),
// with the test playing every other process message by message. The simulator's tests watch whole
// clusters; these pin each rule to the instant and the message where it applies, so that breaking
// the rule (a comparison flipped, a check dropped) fails the test that names it.

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "engine/compute/compute_node.h"
#include "engine/coordinator/coordinator.h"
#include "engine/core/holdings.h"
#include "tests/unit/fake_runtime.h"

namespace aether {
namespace {

using testing::FakeRuntime;

constexpr Epoch kEpoch = 3;

// Generations, fences and table versions are all `epoch << 32 | n` (docs/ownership.md §1, §2, §6).
constexpr uint64_t numbered(Epoch epoch, uint64_t n) { return (epoch << 32) | n; }

constexpr EntityId entity_of(uint64_t n) { return EntityId((kEpoch << 40) | n); }

EntityState state_of(EntityId id, uint64_t generation, int32_t hp, Vec2 pos) {
  EntityState s;
  s.id = id;
  s.pos = pos;
  s.hp = hp;
  s.version = 10;
  s.generation = generation;
  return s;
}

// --- Compute node --------------------------------------------------------------------------------

class ProtocolRulesCompute : public ::testing::Test {
 protected:
  static constexpr NodeId kSelf{101};
  static constexpr NodeId kLeader{1};
  static constexpr NodeId kRival{2};      // a second coordinator: the vice, or a rival candidate
  static constexpr NodeId kOldOwner{102};  // the compute node an entity migrates from
  static constexpr NodeId kGateway{201};
  static constexpr const char* kListen = "compute-101:9000";
  static constexpr const char* kLeaderAddress = "coordinator-1:7000";
  static constexpr const char* kRivalAddress = "coordinator-2:7000";

  ProtocolRulesCompute() : rt_(kSelf) {
    ComputeConfig cfg;
    cfg.node = kSelf;
    cfg.listen_address = kListen;
    cfg.coordinator_addresses = {kLeaderAddress, kRivalAddress};
    node_ = std::make_unique<ComputeNode>(rt_.runtime, cfg);
    node_->start();
    leader_ = rt_.network.outbound_to(kLeaderAddress);
    rival_ = rt_.network.outbound_to(kRivalAddress);
    // Hello and heartbeat 1 leave at once. The rival stays unconnected unless a test connects it.
    rt_.network.complete_connect(leader_);
  }

  void order(ConnId conn, NodeId from, Epoch epoch, ServerBody body) {
    rt_.network.deliver(conn, ServerMessage{from, Role::kCoordinator, epoch, 0, std::move(body)});
  }
  void from_leader(ServerBody body, Epoch epoch = kEpoch) { order(leader_, kLeader, epoch, std::move(body)); }
  Heartbeat last_heartbeat(ConnId conn) const {
    auto hb = rt_.network.last_of<Heartbeat>(conn);
    EXPECT_TRUE(hb.has_value()) << "no heartbeat on connection " << conn;
    return hb.value_or(Heartbeat{});
  }
  // When heartbeat `seq` left on `conn`, by our (the node's) clock.
  TimeNs sent_at(ConnId conn, uint64_t seq) const {
    for (const testing::SentPayload& p : rt_.network.sent()) {
      if (p.conn != conn) continue;
      auto m = decode_server(p.bytes);
      if (m && std::holds_alternative<Heartbeat>(m->body) && std::get<Heartbeat>(m->body).seq == seq) return p.at_ns;
    }
    ADD_FAILURE() << "heartbeat " << seq << " was never sent";
    return 0;
  }
  void grant(EntityId e, uint64_t generation) {
    from_leader(OwnershipGrant{e, generation, kGateway, SessionId(e.value), Vec2{10'000, 10'000}, 0, std::nullopt});
  }
  static OwnershipGrant migration_grant(EntityId e, uint64_t generation, uint64_t released_generation, const EntityState& fallback) {
    OwnershipGrant g{e, generation, kGateway, SessionId(e.value), fallback.pos, fallback.team, fallback};
    g.migrate = true;
    g.released_generation = released_generation;
    return g;
  }
  // The old owner's data connection to us, as its peer link opens it.
  ConnId connect_old_owner() {
    const ConnId conn = rt_.network.accept(kListen);
    rt_.network.deliver(conn, ServerMessage{kOldOwner, Role::kCompute, kEpoch, 0, Hello{Role::kCompute, "compute-102:9000", 100, 7}});
    return conn;
  }
  void handoff(ConnId conn, const EntityState& state) {
    rt_.network.deliver(conn, ServerMessage{kOldOwner, Role::kCompute, kEpoch, 0, Handoff{state, {}}});
  }
  // Past the handoff wait, and past the next run of the timer that expires waits (subscribe_peers).
  TimeNs past_handoff_wait_ns() const { return kHandoffWaitNs + node_->config().subscribe_every_ns + kTickNs; }
  const gameplay::Entity* find(EntityId e) const { return node_->world().find(e); }

  FakeRuntime rt_;
  std::unique_ptr<ComputeNode> node_;
  ConnId leader_ = 0;
  ConnId rival_ = 0;
};

// docs/ownership.md §6a, "Migration grants name the released generation": a revoke also cancels a
// migration grant still waiting for its Handoff, if the grant's generation is no newer than the
// revoked one; otherwise, left waiting, it would materialise from its snapshot after kHandoffWaitNs
// beside whoever the coordinator re-granted the entity to. A revoke of an older generation is about
// an older life of the entity and leaves the newer grant alone.
TEST_F(ProtocolRulesCompute, RevokeCancelsAWaitingMigrationGrantOfItsGenerationOrOlder) {
  const uint64_t generation = numbered(kEpoch, 5);
  const EntityId revoked_same = entity_of(1), revoked_newer = entity_of(2), revoked_older = entity_of(3);
  for (EntityId e : {revoked_same, revoked_newer, revoked_older}) {
    from_leader(migration_grant(e, generation, generation - 1, state_of(e, generation - 1, 80, Vec2{5'000, 5'000})));
  }
  from_leader(OwnershipRevoke{revoked_same, generation, numbered(kEpoch, 1)});
  from_leader(OwnershipRevoke{revoked_newer, generation + 1, numbered(kEpoch, 2)});
  from_leader(OwnershipRevoke{revoked_older, generation - 1, numbered(kEpoch, 3)});
  rt_.advance(past_handoff_wait_ns());
  EXPECT_EQ(find(revoked_same), nullptr) << "a revoke of the grant's own generation left it to materialise";
  EXPECT_EQ(find(revoked_newer), nullptr) << "a revoke of a newer generation left the grant to materialise";
  ASSERT_NE(find(revoked_older), nullptr) << "a revoke of an older generation cancelled a newer grant";
  EXPECT_EQ(find(revoked_older)->generation, generation);
  EXPECT_EQ(node_->stats().handoff_fallbacks, 1u);
}

// docs/ownership.md §6a, "Migration grants name the released generation": the destination uses only
// the Handoff of the grant's released_generation. One of another generation (an older migration
// that fell back to its snapshot, its handoff late on a clogged link) would roll the entity back:
// the entity never starts from it, whichever of grant and handoff arrives first.
TEST_F(ProtocolRulesCompute, MigrationGrantUsesOnlyTheHandoffOfItsReleasedGeneration) {
  const uint64_t released = numbered(kEpoch, 4);
  const uint64_t generation = numbered(kEpoch, 5);
  const uint64_t older_migration = numbered(kEpoch - 1, 9);
  const ConnId old_owner = connect_old_owner();

  // Grant first: another generation's handoff is not the one it waits for; its own one is.
  const EntityId grant_first = entity_of(1);
  from_leader(migration_grant(grant_first, generation, released, state_of(grant_first, released, 80, Vec2{5'000, 5'000})));
  handoff(old_owner, state_of(grant_first, older_migration, 33, Vec2{7'000, 7'000}));
  EXPECT_EQ(find(grant_first), nullptr) << "started from the handoff of another generation";
  handoff(old_owner, state_of(grant_first, released, 55, Vec2{6'000, 6'000}));
  ASSERT_NE(find(grant_first), nullptr) << "its own handoff did not start it";
  EXPECT_EQ(find(grant_first)->hp, 55);
  EXPECT_EQ(find(grant_first)->generation, generation);

  // Handoff first: another generation's is dropped when the grant comes, and after the wait the
  // entity starts from the grant's snapshot (hp 80), not from that handoff (hp 33).
  const EntityId handoff_first = entity_of(2);
  handoff(old_owner, state_of(handoff_first, older_migration, 33, Vec2{7'000, 7'000}));
  from_leader(migration_grant(handoff_first, generation, released, state_of(handoff_first, released, 80, Vec2{5'000, 5'000})));
  EXPECT_EQ(find(handoff_first), nullptr) << "started from the handoff of another generation";
  rt_.advance(past_handoff_wait_ns());
  ASSERT_NE(find(handoff_first), nullptr);
  EXPECT_EQ(find(handoff_first)->hp, 80) << "started from the handoff of another generation";
  EXPECT_EQ(find(handoff_first)->pos, (Vec2{5'000, 5'000}));
}

// docs/ownership.md §6a, "One promise per epoch", and §6 "Members of an epoch": a node promises at
// most one candidate per epoch, like a vote (or two candidates could both reach a majority), but a
// leader's Prepare (leader = true) is no vote and is answered even then. §6 "One question, one
// answer": a Promise echoes the question it answers.
TEST_F(ProtocolRulesCompute, PromisesOneCandidatePerEpochButAlwaysAnswersALeader) {
  rt_.network.complete_connect(rival_);
  const Epoch next = kEpoch + 1;
  const uint64_t leader_question = numbered(next, 7), rival_vote = numbered(next, 1), rival_as_leader = numbered(next, 2);

  order(leader_, kLeader, next, Prepare{leader_question, false});
  const auto promised = rt_.network.sent_of<Promise>(leader_);
  ASSERT_EQ(promised.size(), 1u);
  EXPECT_EQ(promised[0].answers, leader_question);

  order(rival_, kRival, next, Prepare{rival_vote, false});
  EXPECT_TRUE(rt_.network.sent_of<Promise>(rival_).empty()) << "a second vote in epoch " << next;

  order(rival_, kRival, next, Prepare{rival_as_leader, true});
  auto answered = rt_.network.sent_of<Promise>(rival_);
  ASSERT_EQ(answered.size(), 1u) << "a leader's question went unanswered";
  EXPECT_EQ(answered[0].answers, rival_as_leader);

  // The vote is per epoch: at the next one the rival may have it.
  const uint64_t next_vote = numbered(next + 1, 1);
  order(rival_, kRival, next + 1, Prepare{next_vote, false});
  answered = rt_.network.sent_of<Promise>(rival_);
  ASSERT_EQ(answered.size(), 2u);
  EXPECT_EQ(answered[1].answers, next_vote);
}

// docs/ownership.md §6a, "One promise per epoch": the vote goes to one coordinator process. The
// same coordinator restarted (a new incarnation) forgot the epoch it stood for, and its fence and
// table numbers would start over below those we applied: it is refused the epoch, while the process
// we promised may ask again (a retry) and is answered.
TEST_F(ProtocolRulesCompute, PromisesOneCoordinatorProcessPerEpoch) {
  const Epoch next = kEpoch + 1;
  constexpr uint64_t kFirstProcess = 0x11, kRestarted = 0x23;
  order(leader_, kLeader, next, Prepare{numbered(next, 1), false, kFirstProcess});
  ASSERT_EQ(rt_.network.sent_of<Promise>(leader_).size(), 1u);

  order(leader_, kLeader, next, Prepare{numbered(next, 1), false, kRestarted});
  EXPECT_EQ(rt_.network.sent_of<Promise>(leader_).size(), 1u) << "a restarted coordinator was promised the epoch its earlier process held";

  order(leader_, kLeader, next, Prepare{numbered(next, 2), false, kFirstProcess});
  const auto promised = rt_.network.sent_of<Promise>(leader_);
  ASSERT_EQ(promised.size(), 2u) << "the process we promised asked again and went unanswered";
  EXPECT_EQ(promised[1].answers, numbered(next, 2));
}

// docs/running.md, "Stopping": a draining node says so in every heartbeat, and is drained only once
// a leader acked one of those (it will place nothing more here) and it holds nothing.
TEST_F(ProtocolRulesCompute, ADrainingNodeIsDrainedOnlyOnceTheLeaderKnowsAndItHoldsNothing) {
  const EntityId e = entity_of(1);
  grant(e, numbered(kEpoch, 1));
  node_->begin_drain();
  EXPECT_FALSE(node_->drained());
  rt_.advance(kHeartbeatIntervalNs);
  const Heartbeat hb = last_heartbeat(leader_);
  EXPECT_TRUE(hb.draining) << "a draining node's heartbeat did not say so";
  from_leader(HeartbeatAck{hb.seq, 0, rt_.now_ns()});
  EXPECT_FALSE(node_->drained()) << "drained while it still holds an entity";
  from_leader(OwnershipRevoke{e, numbered(kEpoch, 1), numbered(kEpoch, 5)});
  ASSERT_EQ(find(e), nullptr);
  EXPECT_TRUE(node_->drained());
}

TEST_F(ProtocolRulesCompute, AnEmptyNodeIsNotDrainedBeforeALeaderAckedItsDrainingHeartbeat) {
  node_->begin_drain();
  from_leader(HeartbeatAck{1, 0, rt_.now_ns()});  // heartbeat 1 left before the drain began
  EXPECT_FALSE(node_->drained()) << "an ack of a heartbeat that did not say draining counted";
  rt_.advance(kHeartbeatIntervalNs);
  from_leader(HeartbeatAck{last_heartbeat(leader_).seq, 0, rt_.now_ns()});
  EXPECT_TRUE(node_->drained());
}

// docs/ownership.md §1 "Lease" and §2: a node without a valid lease runs no tick (its entities
// freeze), and the leader's HeartbeatAck(seq) extends the lease to the node's own send time of
// heartbeat seq + kLeaseNs, not to the ack's arrival + kLeaseNs (the conservative end: the leader's
// loss timeout is measured from when it heard that heartbeat).
TEST_F(ProtocolRulesCompute, NoTickWithoutALeaseAndALeaseRunsFromTheAckedHeartbeatsSendTime) {
  const EntityId e = entity_of(1);
  grant(e, numbered(kEpoch, 1));
  // A gateway starts it moving: every tick that runs changes its position, so its version.
  const ConnId gateway = rt_.network.accept(kListen);
  rt_.network.deliver(gateway, ServerMessage{kGateway, Role::kGateway, kEpoch, 0, Hello{Role::kGateway, "", 0, 9}});
  rt_.network.deliver(gateway, ServerMessage{kGateway, Role::kGateway, kEpoch, 0, InputForward{e, ClientInput{1, 1000, 0, EntityId{}, false}}});
  ASSERT_NE(find(e), nullptr);
  const uint64_t version_granted = find(e)->version;

  // No ack yet: five tick slots go by, none runs.
  rt_.advance(500 * kNsPerMs);
  EXPECT_FALSE(node_->lease_valid());
  EXPECT_EQ(node_->stats().ticks, 0u);
  EXPECT_GE(node_->stats().ticks_without_lease, 4u);
  EXPECT_EQ(find(e)->version, version_granted);

  // The ack of heartbeat 1 arrives 500 ms after it left.
  const TimeNs sent_ns = sent_at(leader_, 1);
  ASSERT_EQ(rt_.now_ns() - sent_ns, 500 * kNsPerMs);
  from_leader(HeartbeatAck{1, 0, rt_.now_ns()});
  rt_.advance_to(sent_ns + kLeaseNs - 1);
  EXPECT_TRUE(node_->lease_valid());
  EXPECT_GT(node_->stats().ticks, 0u);
  EXPECT_GT(find(e)->version, version_granted) << "ticks under a lease moved nothing: the frozen check below would prove nothing";
  rt_.advance_to(sent_ns + kLeaseNs);
  EXPECT_FALSE(node_->lease_valid()) << "the lease ran from the ack's arrival, not from the heartbeat's send time";

  // Lapsed: the entity freezes, however long the coordinator stays silent.
  const uint64_t version_lapsed = find(e)->version;
  const uint64_t ticks_lapsed = node_->stats().ticks;
  rt_.advance(2 * kNsPerSec);
  EXPECT_EQ(find(e)->version, version_lapsed) << "an entity was written without a lease";
  EXPECT_EQ(node_->stats().ticks, ticks_lapsed);
}

// docs/ownership.md §6 step 2 and §9: a node drops, and counts (stale_epoch_dropped), any control
// message of an epoch lower than its own: grants, revokes and evictions of a deposed leader are not
// applied, and their fences are not reported as applied.
TEST_F(ProtocolRulesCompute, OrdersOfAnOlderEpochAreDropped) {
  const EntityId held = entity_of(1), offered = entity_of(2);
  grant(held, numbered(kEpoch, 1));  // the node follows kEpoch from here on
  ASSERT_NE(find(held), nullptr);
  ASSERT_EQ(node_->epoch(), kEpoch);
  const uint64_t dropped_before = node_->stats().stale_epoch_dropped;

  const Epoch deposed = kEpoch - 1;
  from_leader(OwnershipGrant{offered, numbered(deposed, 1), kGateway, SessionId(2), Vec2{1'000, 1'000}, 0, std::nullopt}, deposed);
  from_leader(OwnershipRevoke{held, numbered(kEpoch, 1), numbered(deposed, 1)}, deposed);
  from_leader(Evicted{numbered(deposed, 2)}, deposed);
  EXPECT_EQ(node_->stats().stale_epoch_dropped, dropped_before + 3);
  EXPECT_EQ(find(offered), nullptr) << "a deposed leader's grant was applied";
  EXPECT_NE(find(held), nullptr) << "a deposed leader's revoke or eviction was applied";
  EXPECT_EQ(node_->stats().evictions, 0u);
  EXPECT_EQ(node_->epoch(), kEpoch);
  rt_.advance(kHeartbeatIntervalNs);
  EXPECT_EQ(last_heartbeat(leader_).fence_applied, 0u) << "a dropped order's fence was reported applied";

  // The same revoke at the node's epoch is applied: the dropped ones were dropped for their epoch.
  from_leader(OwnershipRevoke{held, numbered(kEpoch, 1), numbered(kEpoch, 1)});
  EXPECT_EQ(find(held), nullptr);
}

// docs/ownership.md §2 "Fences before leases": every heartbeat reports, to each coordinator, the
// newest revoke or eviction fence applied from that coordinator (fence numbers are one
// coordinator's own). §6a "Holdings audits": every heartbeat carries a count and an order-free
// digest (engine/core/holdings.h) of the node's (entity, generation) pairs, migration grants waiting
// for their handoff included.
TEST_F(ProtocolRulesCompute, HeartbeatReportsFencesAppliedPerCoordinatorAndItsHoldingsDigest) {
  rt_.network.complete_connect(rival_);
  const EntityId a = entity_of(1), b = entity_of(2), waiting = entity_of(3);
  const uint64_t ga = numbered(kEpoch, 1), gb = numbered(kEpoch, 2), gw = numbered(kEpoch, 3);
  grant(a, ga);
  grant(b, gb);
  from_leader(migration_grant(waiting, gw, gw - 1, state_of(waiting, gw - 1, 90, Vec2{3'000, 3'000})));
  HoldingsDigest expected;
  expected.add(a, ga);
  expected.add(b, gb);
  expected.add(waiting, gw);
  rt_.advance(kHeartbeatIntervalNs);
  for (ConnId conn : {leader_, rival_}) {
    const Heartbeat hb = last_heartbeat(conn);
    EXPECT_EQ(hb.holdings_digest_count, 3u);
    EXPECT_EQ(hb.holdings_digest, expected.digest()) << "the digest misses a holding, or a waiting migration grant";
    EXPECT_EQ(hb.fence_applied, 0u);
  }

  // The leader's fences: 7, then a lower number. The report names the newest, and never goes back.
  const uint64_t leader_fence = numbered(kEpoch, 7);
  from_leader(OwnershipRevoke{a, ga, leader_fence});
  from_leader(OwnershipRevoke{entity_of(99), 1, numbered(kEpoch, 4)});  // about nothing held: applied all the same
  expected.remove(a, ga);
  rt_.advance(kHeartbeatIntervalNs);
  EXPECT_EQ(last_heartbeat(leader_).fence_applied, leader_fence);
  EXPECT_EQ(last_heartbeat(rival_).fence_applied, 0u) << "the leader's fence was reported to another coordinator";
  EXPECT_EQ(last_heartbeat(leader_).holdings_digest_count, 2u);
  EXPECT_EQ(last_heartbeat(leader_).holdings_digest, expected.digest());

  // The rival's eviction: reported to the rival only; the leader's figure stays.
  const uint64_t rival_fence = numbered(kEpoch, 2);
  order(rival_, kRival, kEpoch, Evicted{rival_fence});
  rt_.advance(kHeartbeatIntervalNs);
  EXPECT_EQ(last_heartbeat(rival_).fence_applied, rival_fence);
  EXPECT_EQ(last_heartbeat(leader_).fence_applied, leader_fence);
  EXPECT_EQ(last_heartbeat(leader_).holdings_digest_count, 0u);
  EXPECT_EQ(last_heartbeat(leader_).holdings_digest, 0u);
}

// docs/ownership.md §2a "The clock bound": acks carry the leader's clock; two one-second windows in
// a row in which even the node's most favourable reading is slower than the leader's by more than
// kClockRelativeRatePpmMax prove a clock beyond the bound: the lease ends at once, no heartbeat sent
// before renews it, and heartbeats say clock_untrusted.
TEST_F(ProtocolRulesCompute, ClockSlowBeyondTheBoundForTwoWindowsEndsTheLease) {
  const TimeNs t0 = rt_.now_ns();  // heartbeat 1 left at t0
  const TimeNs leader_t0 = 5'000 * kNsPerSec;
  // The leader's clock advances 100 ns for every 94 of ours: ours is 6% slow, beyond 2.0203%.
  const auto leader_clock = [&](TimeNs ours) { return leader_t0 + (ours - t0) * 100 / 94; };
  // Each heartbeat is acked the instant it leaves (a zero round trip: exact readings). Window 1
  // closes with ack 6 (1 s on our clock, 1.064 s on the leader's), window 2 with ack 11.
  constexpr uint64_t kSecondWindowAck = 11;
  for (uint64_t n = 1; n <= kSecondWindowAck; ++n) {
    if (n > 1) rt_.advance(kHeartbeatIntervalNs);
    const Heartbeat hb = last_heartbeat(leader_);
    ASSERT_EQ(hb.seq, n);
    EXPECT_FALSE(hb.clock_untrusted);
    from_leader(HeartbeatAck{hb.seq, 0, leader_clock(rt_.now_ns())});
    if (n < kSecondWindowAck) {
      EXPECT_TRUE(node_->clock_trusted()) << "untrusted after ack " << n << ": one window is not enough";
      EXPECT_TRUE(node_->lease_valid()) << "after ack " << n;
    }
  }
  EXPECT_FALSE(node_->clock_trusted());
  EXPECT_FALSE(node_->lease_valid()) << "a clock proven slow beyond the bound still holds a lease";

  rt_.advance(kHeartbeatIntervalNs);
  const Heartbeat next = last_heartbeat(leader_);
  EXPECT_TRUE(next.clock_untrusted);
  from_leader(HeartbeatAck{next.seq, 0, leader_clock(rt_.now_ns())});
  EXPECT_FALSE(node_->lease_valid()) << "a heartbeat sent while the clock is untrusted renewed the lease";
}

// docs/ownership.md §2a: one window beyond the bound is not enough. A clock that leaps forward once
// (here the leader's, by 150 ms) makes the node's look slow over the one window holding the leap
// (1 s against 1.15 s: beyond), and within the bound over the next: the node keeps its lease.
TEST_F(ProtocolRulesCompute, OneSlowWindowAloneLeavesTheClockTrusted) {
  const TimeNs t0 = rt_.now_ns();
  const TimeNs leader_t0 = 5'000 * kNsPerSec;
  constexpr uint64_t kLeapBeforeAck = 4;  // inside window 1 (acks 1 to 6)
  for (uint64_t n = 1; n <= 21; ++n) {
    if (n > 1) rt_.advance(kHeartbeatIntervalNs);
    const Heartbeat hb = last_heartbeat(leader_);
    ASSERT_EQ(hb.seq, n);
    EXPECT_FALSE(hb.clock_untrusted) << "heartbeat " << n;
    const TimeNs leap_ns = n >= kLeapBeforeAck ? 150 * kNsPerMs : 0;
    from_leader(HeartbeatAck{hb.seq, 0, leader_t0 + (rt_.now_ns() - t0) + leap_ns});
    EXPECT_TRUE(node_->clock_trusted()) << "after ack " << n;
    EXPECT_TRUE(node_->lease_valid()) << "after ack " << n;
  }
  EXPECT_EQ(node_->stats().clock_untrusted, 0u);
}

// docs/ownership.md §6a "Evicted means everything": an evicted node drops its entities, its lease,
// and its migration grants still waiting for their handoff (one materialised later would be a second
// writer beside whoever the coordinator gave the entity to).
TEST_F(ProtocolRulesCompute, EvictionDropsWaitingMigrationGrantsToo) {
  const EntityId owned = entity_of(1), waiting = entity_of(2);
  grant(owned, numbered(kEpoch, 1));
  from_leader(migration_grant(waiting, numbered(kEpoch, 2), numbered(kEpoch, 1), state_of(waiting, numbered(kEpoch, 1), 70, Vec2{2'000, 2'000})));
  from_leader(HeartbeatAck{last_heartbeat(leader_).seq, 0, rt_.now_ns()});
  ASSERT_TRUE(node_->lease_valid());
  from_leader(Evicted{numbered(kEpoch, 1)});
  EXPECT_EQ(node_->world().size(), 0u);
  EXPECT_FALSE(node_->lease_valid());
  rt_.advance(past_handoff_wait_ns());
  EXPECT_EQ(find(waiting), nullptr) << "a migration grant outlived the eviction and materialised";
}

// docs/ownership.md, "Durable promises": with durable_promises, one promise per epoch survives the
// node's restart. The Promise leaves only once the record is synced; a restarted process answers no
// Prepare before it has read the record, then refuses the epoch to any other coordinator process.
// Without it (the memory-only node) the restarted process promises the rival: the limit it closes.
class DurablePromises : public ::testing::Test {
 protected:
  static constexpr NodeId kSelf{101}, kFirst{1}, kRival{2};
  static constexpr uint64_t kFirstProcess = 0x11, kRivalProcess = 0x22;

  struct Process {
    explicit Process(bool durable, const std::shared_ptr<std::map<Bytes, StorageRow>>& disk) : rt(kSelf) {
      rt.storage.disk = disk;
      ComputeConfig cfg;
      cfg.node = kSelf;
      cfg.listen_address = "compute-101:9000";
      cfg.coordinator_addresses = {"coordinator-1:7000", "coordinator-2:7000"};
      cfg.durable_promises = durable;
      node = std::make_unique<ComputeNode>(rt.runtime, cfg);
      node->start();
      first = rt.network.outbound_to("coordinator-1:7000");
      rival = rt.network.outbound_to("coordinator-2:7000");
      rt.network.complete_connect(first);
      rt.network.complete_connect(rival);
    }
    void prepare(ConnId conn, NodeId from, Epoch epoch, uint64_t question, uint64_t incarnation) {
      rt.network.deliver(conn, ServerMessage{from, Role::kCoordinator, epoch, 0, Prepare{question, false, incarnation}});
    }
    size_t promises(ConnId conn) const { return rt.network.sent_of<Promise>(conn).size(); }
    FakeRuntime rt;
    std::unique_ptr<ComputeNode> node;
    ConnId first = 0, rival = 0;
  };
  std::shared_ptr<std::map<Bytes, StorageRow>> disk_ = std::make_shared<std::map<Bytes, StorageRow>>();
};

TEST_F(DurablePromises, ARestartedNodeKeepsTheEpochItPromised) {
  const Epoch e = kEpoch + 1;
  {
    Process p(true, disk_);
    p.rt.advance(0);  // the record is read (there is none)
    p.prepare(p.first, kFirst, e, numbered(e, 1), kFirstProcess);
    EXPECT_EQ(p.promises(p.first), 0u) << "the Promise left before the record was written";
    p.rt.advance(0);
    ASSERT_EQ(p.promises(p.first), 1u) << "no Promise once the record was synced";
    EXPECT_EQ(p.node->stats().promise_writes, 1u);
    ASSERT_EQ(disk_->size(), 1u);
    EXPECT_EQ(decode_promise(disk_->begin()->second.value), (PromiseRecord{e, kFirst, kFirstProcess}));
    EXPECT_EQ(disk_->begin()->second.fence, e);
  }
  Process restarted(true, disk_);
  restarted.prepare(restarted.rival, kRival, e, numbered(e, 1), kRivalProcess);
  EXPECT_EQ(restarted.node->stats().prepares_unanswered, 1u) << "answered before the record was read";
  restarted.rt.advance(0);
  restarted.prepare(restarted.rival, kRival, e, numbered(e, 2), kRivalProcess);
  restarted.rt.advance(0);
  EXPECT_EQ(restarted.promises(restarted.rival), 0u) << "a second coordinator was promised epoch " << e;
  restarted.prepare(restarted.first, kFirst, e, numbered(e, 3), kFirstProcess);
  restarted.rt.advance(0);
  EXPECT_EQ(restarted.promises(restarted.first), 1u) << "the process promised before the restart asked again and went unanswered";
  restarted.prepare(restarted.rival, kRival, e + 1, numbered(e + 1, 1), kRivalProcess);
  restarted.rt.advance(0);
  EXPECT_EQ(restarted.promises(restarted.rival), 1u) << "the next epoch is anyone's";
  EXPECT_EQ(decode_promise(disk_->begin()->second.value), (PromiseRecord{e + 1, kRival, kRivalProcess}));
  Process again(true, disk_);
  again.rt.advance(0);
  EXPECT_EQ(again.node->epoch(), e + 1) << "a restarted node went back to an epoch older than it promised";
}

TEST_F(DurablePromises, WithoutThemARestartedNodePromisesTheEpochAgain) {
  const Epoch e = kEpoch + 1;
  {
    Process p(false, disk_);
    p.prepare(p.first, kFirst, e, numbered(e, 1), kFirstProcess);
    ASSERT_EQ(p.promises(p.first), 1u);
  }
  Process restarted(false, disk_);
  restarted.prepare(restarted.rival, kRival, e, numbered(e, 1), kRivalProcess);
  EXPECT_EQ(restarted.promises(restarted.rival), 1u) << "the memory-only node is expected to forget (docs/ownership.md)";
  EXPECT_TRUE(disk_->empty());
}

TEST_F(DurablePromises, ANodeWhoseStoreRefusesNeverPromises) {
  Process p(true, disk_);
  p.rt.storage.refuse = true;
  p.rt.advance(0);  // the read at start went through; the write will be refused
  p.prepare(p.first, kFirst, kEpoch + 1, numbered(kEpoch + 1, 1), kFirstProcess);
  p.rt.advance(kNsPerSec);
  EXPECT_EQ(p.promises(p.first), 0u) << "promised without the record on stable storage";
  EXPECT_EQ(p.node->stats().promise_write_failures, 1u);
  p.rt.storage.refuse = false;
  p.prepare(p.first, kFirst, kEpoch + 1, numbered(kEpoch + 1, 2), kFirstProcess);  // the coordinator asks again
  p.rt.advance(0);
  EXPECT_EQ(p.promises(p.first), 1u);
}

TEST_F(DurablePromises, ACorruptRecordStopsTheNodeFromVoting) {
  (*disk_)[promise_key(kSelf)] = StorageRow{promise_key(kSelf), Bytes{0x7f, 0x01}, 5};
  Process p(true, disk_);
  p.rt.advance(0);
  p.prepare(p.first, kFirst, kEpoch + 1, numbered(kEpoch + 1, 1), kFirstProcess);
  p.rt.advance(kNsPerSec);
  EXPECT_EQ(p.promises(p.first), 0u) << "voted over a vote it could not read";
}

// --- Coordinator ---------------------------------------------------------------------------------

// docs/security.md "Owners validate what they apply": an input is taken only from the gateway that
// holds the entity's session; another gateway's is refused and counted, never queued.
TEST_F(ProtocolRulesCompute, InputsOnlyFromTheGatewayHoldingTheSession) {
  const EntityId e(1ULL << 40 | 1);
  grant(e, kEpoch << 32);  // its session is on kGateway
  ASSERT_NE(find(e), nullptr);
  const ConnId other = rt_.network.accept(kListen);
  const NodeId kOtherGateway(202);
  rt_.network.deliver(other, ServerMessage{kOtherGateway, Role::kGateway, kEpoch, 0, Hello{Role::kGateway, "", 0, 9}});
  rt_.network.deliver(other, ServerMessage{kOtherGateway, Role::kGateway, kEpoch, 0, InputForward{e, ClientInput{1, 1000, 0, EntityId{}, false}}});
  EXPECT_EQ(node_->stats().inputs_rejected, 1u);
  const ConnId own = rt_.network.accept(kListen);
  rt_.network.deliver(own, ServerMessage{kGateway, Role::kGateway, kEpoch, 0, Hello{Role::kGateway, "", 0, 8}});
  rt_.network.deliver(own, ServerMessage{kGateway, Role::kGateway, kEpoch, 0, InputForward{e, ClientInput{2, 1000, 0, EntityId{}, false}}});
  EXPECT_EQ(node_->stats().inputs_rejected, 1u);  // its own gateway's input is taken
}

// docs/security.md "Owners validate what they apply": a remote intent must come from the node that
// owns its source; one claiming a source it does not own (or one we have never seen) is refused.
TEST_F(ProtocolRulesCompute, RemoteIntentsOnlyFromTheOwnerOfTheirSource) {
  const EntityId target(1ULL << 40 | 1);
  grant(target, kEpoch << 32);
  ASSERT_NE(find(target), nullptr);
  const ConnId peer = connect_old_owner();  // compute 102, which owns nothing we have a ghost of
  rt_.network.deliver(peer, ServerMessage{kOldOwner, Role::kCompute, kEpoch, 0, RemoteIntent{IntentKey{kOldOwner, 1, 1, 0}, EntityId(1ULL << 40 | 2), target, 1, intent::Damage{node_->config().rules.fire_damage}}});
  EXPECT_EQ(node_->stats().intents_rejected, 1u);
  EXPECT_EQ(node_->stats().intents_received_remote, 0u);
  EXPECT_EQ(find(target)->hp, node_->config().rules.hp_max);
}

// docs/gameplay.md "Intents, at most once": a remote intent from the owner of its source is still
// checked against the skill it names: an action that skill does not make (a heal from a shot, or more
// damage than any bonus gives) is refused and counted; the skill's own action is taken.
TEST_F(ProtocolRulesCompute, ARemoteIntentMustBeAnActionItsSkillMakes) {
  const EntityId target(1ULL << 40 | 5);
  const EntityId source(1ULL << 40 | 6);
  grant(target, numbered(kEpoch, 1));
  ASSERT_NE(find(target), nullptr);
  from_leader(Membership{{PeerInfo{kOldOwner, "compute-102:9000"}}, {}});
  const ConnId link = rt_.network.outbound_to("compute-102:9000");
  ASSERT_NE(link, 0u);
  rt_.network.complete_connect(link);
  EntityState ghost;  // the source, owned by compute 102, next to our target, of the classic class
  ghost.id = source;
  ghost.pos = find(target)->pos;
  ghost.hp = 100;
  ghost.team = 1;
  ghost.class_id = 1;
  ghost.generation = numbered(kEpoch, 2);
  ghost.version = 3;
  rt_.network.deliver(link, ServerMessage{kOldOwner, Role::kCompute, kEpoch, 1, DeltaBatch{{ghost}, {}, false, {}}});
  ASSERT_TRUE(node_->ghosts().contains(source));
  const ConnId peer = connect_old_owner();
  const int32_t damage = node_->config().rules.fire_damage;
  auto intent = [&](uint32_t seq, IntentAction action) {
    rt_.network.deliver(peer, ServerMessage{kOldOwner, Role::kCompute, kEpoch, 0, RemoteIntent{IntentKey{kOldOwner, 9, 40, seq}, source, target, 1, action}});
  };
  intent(0, intent::Heal{5});
  intent(1, intent::Damage{damage * 20});
  EXPECT_EQ(node_->stats().intents_rejected, 2u);
  EXPECT_EQ(node_->stats().intents_received_remote, 0u);
  intent(2, intent::Damage{damage});
  EXPECT_EQ(node_->stats().intents_rejected, 2u);
  EXPECT_EQ(node_->stats().intents_received_remote, 1u);
}

// docs/ownership.md §4 "From the freshest state": the state of an entity taken from us (revoked) is
// kept, and given to a leader asking for its orphans (OrphanQuery): after a fence and a flip of
// leadership it may be the freshest copy anywhere.
TEST_F(ProtocolRulesCompute, TheStateOfAnEntityTakenFromUsAnswersAnOrphanQuery) {
  const EntityId e(1ULL << 40 | 3);
  grant(e, numbered(kEpoch, 4));
  ASSERT_NE(find(e), nullptr);
  const uint64_t version = find(e)->version;
  from_leader(OwnershipRevoke{e, numbered(kEpoch, 4), 1});
  ASSERT_EQ(find(e), nullptr);
  from_leader(OrphanQuery{numbered(kEpoch, 9), {e}});
  bool answered = false;
  for (const Snapshot& chunk : rt_.network.sent_of<Snapshot>(leader_)) {
    for (const EntityState& st : chunk.states) answered = answered || (st.id == e && st.version == version);
  }
  EXPECT_TRUE(answered) << "the state of an entity taken from us was forgotten";
}

// docs/ownership.md §4 "From the freshest state": a node granted an entity to recover starts from
// its own ghost of it when that is fresher than the state the grant carries.
TEST_F(ProtocolRulesCompute, ARecoveryStartsFromOurOwnGhostWhenItIsFresher) {
  const EntityId e(1ULL << 40 | 4);
  from_leader(Membership{{PeerInfo{kOldOwner, "compute-102:9000"}}, {}});
  const ConnId peer = rt_.network.outbound_to("compute-102:9000");
  ASSERT_NE(peer, 0u);
  rt_.network.complete_connect(peer);
  EntityState ghost;
  ghost.id = e;
  ghost.pos = Vec2{20'000, 20'000};
  ghost.hp = 40;
  ghost.generation = numbered(kEpoch, 2);
  ghost.version = 50;
  rt_.network.deliver(peer, ServerMessage{kOldOwner, Role::kCompute, kEpoch, 1, DeltaBatch{{ghost}, {}, false, {}}});
  EntityState stale = ghost;  // what the leader's table had: older
  stale.version = 10;
  stale.hp = 100;
  from_leader(OwnershipGrant{e, numbered(kEpoch, 3), kGateway, SessionId(e.value), stale.pos, 0, stale});
  ASSERT_NE(find(e), nullptr);
  EXPECT_EQ(find(e)->hp, 40) << "recovered from the grant's older state although our own ghost was fresher";
}

// docs/browser.md, "The bag and the turn order": the owner tells the gateway holding an avatar's
// session what that avatar's bag holds (AvatarHud), once when it first has something and then only
// on a change or every kAvatarHudRefreshTicks, never each tick; an avatar with nothing to show
// costs no message.
TEST_F(ProtocolRulesCompute, AnAvatarsBagGoesToItsGatewayOnceAndAgainOnlyAtTheRefresh) {
  const EntityId bare = entity_of(1), looted = entity_of(2);
  grant(bare, numbered(kEpoch, 1));
  EntityState st = state_of(looted, numbered(kEpoch, 1), 100, Vec2{10'000, 10'000});
  st.inventory.push_back(LootItem{7, entity_of(9), IntentKey{NodeId(102), 1, 5, 1}});
  from_leader(OwnershipGrant{looted, numbered(kEpoch, 2), kGateway, SessionId(looted.value), st.pos, 0, st});
  ASSERT_NE(find(looted), nullptr);
  ASSERT_EQ(find(looted)->inventory.size(), 1u) << "the grant's state did not bring the bag: the test below would prove nothing";
  const ConnId gateway = rt_.network.accept(kListen);
  rt_.network.deliver(gateway, ServerMessage{kGateway, Role::kGateway, kEpoch, 0, Hello{Role::kGateway, "", 0, 9}});
  // Ticks run as long as the leader acks our heartbeats (a lease).
  const auto run_for = [&](TimeNs ns) {
    for (TimeNs t = 0; t < ns; t += 500 * kNsPerMs) {
      from_leader(HeartbeatAck{last_heartbeat(leader_).seq, 0, rt_.now_ns()});
      rt_.advance(500 * kNsPerMs);
    }
  };
  run_for(2 * kNsPerSec);
  const uint64_t ticks = node_->stats().ticks;
  ASSERT_GE(ticks, 10u);
  auto huds = rt_.network.sent_of<AvatarHud>(gateway);
  ASSERT_EQ(huds.size(), 1u) << "the bag went to the gateway " << huds.size() << " times in " << ticks << " ticks without changing";
  EXPECT_EQ(huds[0].entity, looted);
  ASSERT_EQ(huds[0].items.size(), 1u);
  EXPECT_EQ(huds[0].items[0], 7);
  EXPECT_FALSE(huds[0].encounter.valid());
  // Past the refresh: once more, and still never for the avatar with nothing.
  run_for(kAvatarHudRefreshTicks * kTickNs);
  huds = rt_.network.sent_of<AvatarHud>(gateway);
  EXPECT_EQ(huds.size(), 2u) << "in " << node_->stats().ticks - ticks << " more ticks";
  for (const AvatarHud& h : huds) EXPECT_EQ(h.entity, looted);
  EXPECT_EQ(node_->stats().huds_sent, huds.size());
}

class ProtocolRulesCoordinator : public ::testing::Test {
 protected:
  static constexpr NodeId kSelf{1};
  static constexpr NodeId kGateway{201};
  static constexpr const char* kListen = "coordinator-1:7000";
  static constexpr const char* kPeerAddress = "coordinator-2:7000";

  // A compute node, played by the test on one connection at a time.
  struct ComputeSide {
    NodeId id{};
    ConnId conn = 0;
    uint64_t incarnation = 0;
    uint64_t seq = 0;  // its last heartbeat's
  };

  ProtocolRulesCoordinator() : rt_(kSelf) {}

  static CoordinatorConfig config(bool with_peer) {
    CoordinatorConfig cfg;
    cfg.node = kSelf;
    cfg.listen_address = kListen;
    cfg.epoch = kEpoch;
    // A configured peer (never connected here) makes the majority rules apply; a lone coordinator
    // needs no quorum and no echo, having no rival to split with.
    if (with_peer) {
      cfg.peer_address = kPeerAddress;
      cfg.peer_node = NodeId(2);
    }
    return cfg;
  }
  void start(const CoordinatorConfig& cfg) {
    coord_ = std::make_unique<Coordinator>(rt_.runtime, cfg);
    coord_->start();
  }
  void start_leader(bool with_peer = false) { start(config(with_peer)); }

  void send(const ComputeSide& n, ServerBody body, Epoch epoch = kEpoch) {
    rt_.network.deliver(n.conn, ServerMessage{n.id, Role::kCompute, epoch, 0, std::move(body)});
  }
  // A compute node connects and says Hello; epoch 0 is a process that never followed an epoch.
  void connect(ComputeSide& n, Epoch hello_epoch) {
    n.conn = rt_.network.accept(kListen);
    send(n, Hello{Role::kCompute, fmt::format("compute-{}:9000", n.id.value), 100, n.incarnation, gameplay::content_of(gameplay::Rules{})->hash()}, hello_epoch);
  }
  ComputeSide join(uint32_t id, Epoch hello_epoch = 0) {
    ComputeSide n{NodeId(id), 0, 1000 + id, 0};
    connect(n, hello_epoch);
    return n;
  }
  // A heartbeat whose holdings agree with what the table gives the node.
  Heartbeat agreeing(const ComputeSide& n, uint64_t fence_applied = 0, uint64_t version_seen = 0) const {
    Heartbeat hb;
    const HoldingsDigest& given = coord_->table().holdings(n.id);
    hb.entities = given.count();
    hb.holdings_digest_count = given.count();
    hb.holdings_digest = given.digest();
    hb.fence_applied = fence_applied;
    hb.table_version_seen = version_seen;
    return hb;
  }
  uint64_t heartbeat(ComputeSide& n, Heartbeat hb, Epoch epoch = kEpoch) {
    hb.seq = ++n.seq;
    send(n, hb, epoch);
    return hb.seq;
  }
  // The heartbeats acked on the node's current connection (probes, seq 0, ack nothing).
  std::vector<uint64_t> acked(const ComputeSide& n) const {
    std::vector<uint64_t> out;
    for (const HeartbeatAck& a : rt_.network.sent_of<HeartbeatAck>(n.conn)) {
      if (a.seq != 0) out.push_back(a.seq);
    }
    return out;
  }
  void from_gateway(ServerBody body) {
    rt_.network.deliver(gateway_, ServerMessage{kGateway, Role::kGateway, kEpoch, 0, std::move(body)});
  }
  void join_gateway() {
    gateway_ = rt_.network.accept(kListen);
    rt_.network.deliver(gateway_, ServerMessage{kGateway, Role::kGateway, 0, 0, Hello{Role::kGateway, "", 0, 77}});
  }
  // Another gateway registers; returns its connection.
  ConnId join_other_gateway(NodeId id, const std::string& address, uint64_t incarnation) {
    const ConnId conn = rt_.network.accept(kListen);
    rt_.network.deliver(conn, ServerMessage{id, Role::kGateway, 0, 0, Hello{Role::kGateway, address, 0, incarnation}});
    return conn;
  }
  // A leader with one member and one avatar on it, spawned through the first gateway (session 1).
  EntityId leader_with_one_avatar(ComputeSide& member) {
    start_leader();
    member = join(101);
    heartbeat(member, agreeing(member));
    join_gateway();
    return spawn(1);
  }
  EntityId spawn(uint64_t session) {
    from_gateway(SpawnRequest{SessionId(session), EntityId{}, 0});
    auto reply = rt_.network.last_of<SpawnReply>(gateway_);
    EXPECT_TRUE(reply.has_value() && reply->entity.valid()) << (reply ? reply->refusal : "no reply");
    return reply ? reply->entity : EntityId{};
  }
  NodeId owner(EntityId e) const {
    const OwnerRecord* rec = coord_->table().get(e);
    EXPECT_NE(rec, nullptr);
    return rec ? rec->owner : NodeId{};
  }
  bool lost(const ComputeSide& n) const { return coord_->nodes().at(n.id).lost; }

  FakeRuntime rt_;
  std::unique_ptr<Coordinator> coord_;
  ConnId gateway_ = 0;
};

// Where in `messages` the first message with a body of type T satisfying `pred` is (npos if none).
template <class T, class Pred>
size_t first_index(const std::vector<ServerMessage>& messages, Pred pred, size_t from = 0) {
  for (size_t i = from; i < messages.size(); ++i) {
    if (const T* body = std::get_if<T>(&messages[i].body); body && pred(*body)) return i;
  }
  return std::string::npos;
}

// docs/ownership.md §6 "One question, one answer": a Promise is judged only against the question it
// answers (Promise.answers == the outstanding Prepare.question). An answer to another question (an
// earlier one, its connection clogged) is dropped and counted: judged against what the table gives
// the node now, it would orphan entities granted since it was asked.
TEST_F(ProtocolRulesCoordinator, PromiseAnsweringAnotherQuestionIsDropped) {
  start_leader();
  ComputeSide n = join(101);
  heartbeat(n, agreeing(n));
  join_gateway();
  const EntityId e = spawn(1);
  ASSERT_EQ(owner(e), n.id);
  // The node reports holding nothing: after kAuditAfterMismatches heartbeats the leader asks it.
  for (uint32_t i = 0; i < kAuditAfterMismatches; ++i) {
    rt_.advance(kHeartbeatIntervalNs);
    heartbeat(n, Heartbeat{});
  }
  const auto prepares = rt_.network.sent_of<Prepare>(n.conn);
  ASSERT_EQ(prepares.size(), 1u);
  const uint64_t asked = prepares[0].question;

  send(n, Promise{asked - 1, {}, 0, 0, {}});  // the answer to an earlier question, holding nothing
  EXPECT_EQ(coord_->stats().stale_answers, 1u);
  EXPECT_EQ(coord_->orphans(), 0u) << "an answer to another question orphaned an entity";
  EXPECT_EQ(owner(e), n.id);

  // The same answer to this question does orphan it: the dropped one would have.
  send(n, Promise{asked, {}, 0, 0, {}});
  EXPECT_EQ(coord_->orphans(), 1u);
  EXPECT_EQ(coord_->stats().stale_answers, 1u);
}

// docs/ownership.md §6 "Members of an epoch": a leader acks only the nodes whose holdings it has
// reconciled in its epoch. A node heartbeating at the leader's epoch that has not promised to it
// (it adopted the epoch through a rival candidate's Prepare) gets a Prepare with leader = true
// instead of an ack, and is acked once its Promise answers that Prepare.
TEST_F(ProtocolRulesCoordinator, NoAckAtItsEpochBeforeTheNodesPromise) {
  start_leader();
  ComputeSide n = join(101, kEpoch);  // follows kEpoch already, but never told this leader what it holds
  for (int i = 0; i < 12; ++i) {  // 2.4 s: past kAuditIntervalNs, so an unanswered question is asked again
    heartbeat(n, agreeing(n));
    rt_.advance(kHeartbeatIntervalNs);
  }
  EXPECT_TRUE(acked(n).empty()) << "a lease renewed for holdings never reconciled";
  const auto prepares = rt_.network.sent_of<Prepare>(n.conn);
  ASSERT_EQ(prepares.size(), 2u) << "a heartbeat of a non-member must be answered by a question";
  for (const Prepare& p : prepares) EXPECT_TRUE(p.leader);

  send(n, Promise{prepares.back().question, {}, kEpoch - 1, 0, {}});
  const uint64_t seq = heartbeat(n, agreeing(n));
  EXPECT_EQ(acked(n), std::vector<uint64_t>{seq});
}

// docs/ownership.md §6 "Members of an epoch" and "N grants only to nodes heartbeating under E+1":
// a leader gives entities (spawn placement here) only to members of its epoch. A node heartbeating
// at the leader's epoch that has not promised to it is given nothing, however idle; once its
// Promise is reconciled it is.
TEST_F(ProtocolRulesCoordinator, GivesNothingToANodeBeforeItsPromise) {
  start_leader();
  ComputeSide n = join(101, kEpoch);
  heartbeat(n, agreeing(n));
  join_gateway();
  from_gateway(SpawnRequest{SessionId(1), EntityId{}, 0});
  auto refused = rt_.network.last_of<SpawnReply>(gateway_);
  ASSERT_TRUE(refused.has_value());
  EXPECT_FALSE(refused->entity.valid()) << "an entity was placed on a node that never promised";
  EXPECT_TRUE(rt_.network.sent_of<OwnershipGrant>(n.conn).empty());

  const auto prepare = rt_.network.last_of<Prepare>(n.conn);
  ASSERT_TRUE(prepare.has_value());
  send(n, Promise{prepare->question, {}, kEpoch - 1, 0, {}});
  heartbeat(n, agreeing(n));
  const EntityId e = spawn(2);
  EXPECT_EQ(owner(e), n.id);
}

// docs/persistence.md §9d "One avatar per character": a log-in of a character whose last avatar is
// still in the table waits (retry later, the save read again) until that avatar has left and its
// log-out save has landed; a detached avatar is abandoned at once by the log-in (its player is back)
// and the log-in then waits for its log-out save like any other. (chaos-economy seed 1: the
// SessionClosed of the last session reached a new leader after the log-in, and two lives played.)
TEST_F(ProtocolRulesCoordinator, ACharacterHasOneAvatarInTheWorldAndALoginWaitsForTheLastToLeave) {
  start_leader();
  ComputeSide n = join(101);
  heartbeat(n, agreeing(n));
  join_gateway();
  const CharacterId c(70);
  const auto ask = [&](uint64_t session, uint32_t life) {
    SpawnRequest req;
    req.session = SessionId(session);
    req.character = c;
    req.save.character = c;
    req.save.life = life;
    from_gateway(req);
    return rt_.network.last_of<SpawnReply>(gateway_);
  };
  const auto revokes_of = [&](EntityId e) {
    size_t count = 0;
    for (const OwnershipRevoke& r : rt_.network.sent_of<OwnershipRevoke>(n.conn)) count += r.entity == e;
    return count;
  };
  auto first = ask(1, 1);
  ASSERT_TRUE(first && first->entity.valid()) << (first ? first->refusal : "no reply");
  EXPECT_EQ(coord_->table().avatar_of(c), first->entity);

  // Attached to a live session: the log-in waits, the avatar is left alone.
  auto held = ask(2, 2);
  ASSERT_TRUE(held.has_value());
  EXPECT_FALSE(held->entity.valid()) << "a second avatar of one character";
  EXPECT_TRUE(held->retry_later && held->save_pending) << held->refusal;
  EXPECT_EQ(coord_->stats().spawns_held_for_avatar, 1u);
  EXPECT_EQ(revokes_of(first->entity), 0u);
  // Its session ends: revoked, and the log-in waits for the log-out save, then goes.
  from_gateway(SessionClosed{SessionId(1), first->entity});
  EXPECT_EQ(revokes_of(first->entity), 1u);
  EXPECT_EQ(coord_->table().avatar_of(c), EntityId{});
  held = ask(2, 2);
  ASSERT_TRUE(held.has_value());
  EXPECT_TRUE(held->retry_later && held->save_pending && !held->entity.valid()) << "spawned before the log-out save landed";
  send(n, LogoutSaved{c, 1}, kEpoch);
  auto second = ask(2, 2);
  ASSERT_TRUE(second && second->entity.valid()) << (second ? second->refusal : "no reply");

  // Detached (its client gone): the log-in abandons it at once, then waits for its save.
  from_gateway(SessionClosed{SessionId(2), second->entity, true});
  held = ask(3, 3);
  ASSERT_TRUE(held.has_value());
  EXPECT_TRUE(held->retry_later && held->save_pending && !held->entity.valid());
  EXPECT_EQ(revokes_of(second->entity), 1u) << "the detached avatar was not abandoned";
  EXPECT_EQ(coord_->table().get(second->entity), nullptr);
  EXPECT_EQ(coord_->logout_waits().size(), 1u);
  send(n, LogoutSaved{c, 2}, kEpoch);
  auto third = ask(3, 3);
  ASSERT_TRUE(third && third->entity.valid()) << (third ? third->refusal : "no reply");
  EXPECT_TRUE(coord_->table().consistent());
}

// docs/ownership.md §2 "Fences before leases" (engine/coordinator/fence_ledger.h): a lease is renewed
// only on a connection on which every fence the node has not confirmed precedes the renewal. A
// revoke sent on connection A may be lost with it: on the node's next connection B, the first ack
// comes after the revoke sent again; once a heartbeat confirms it (fence_applied), it is never sent
// again, on B or on a later connection C.
TEST_F(ProtocolRulesCoordinator, FencesBeforeLeasesRevokeResentOnTheNextConnection) {
  start_leader();
  ComputeSide n = join(101);
  heartbeat(n, agreeing(n));
  join_gateway();
  const EntityId e = spawn(1);
  from_gateway(SessionClosed{SessionId(1), e});
  const auto on_a = rt_.network.sent_of<OwnershipRevoke>(n.conn);
  ASSERT_EQ(on_a.size(), 1u);
  ASSERT_EQ(on_a[0].entity, e);

  rt_.network.reset(n.conn);
  connect(n, kEpoch);  // the same process (same incarnation), same epoch, connection B
  const uint64_t seq = heartbeat(n, agreeing(n));  // fence_applied 0: the revoke may never have arrived
  const std::vector<ServerMessage> on_b = rt_.network.sent_on(n.conn);
  const size_t ack = first_index<HeartbeatAck>(on_b, [](const HeartbeatAck& a) { return a.seq != 0; });
  const size_t revoke = first_index<OwnershipRevoke>(on_b, [&](const OwnershipRevoke& r) { return r.entity == e; });
  ASSERT_NE(ack, std::string::npos) << "the member was not acked";
  ASSERT_LT(revoke, ack) << "a lease renewed on B before the revoke sent on A was resent";
  EXPECT_EQ(std::get<HeartbeatAck>(on_b[ack].body).seq, seq);
  const uint64_t resent_fence = std::get<OwnershipRevoke>(on_b[revoke].body).fence;
  EXPECT_EQ(coord_->stats().fences_resent, 1u);

  // Confirmed: later acks come alone, on B and on any later connection C.
  rt_.advance(kHeartbeatIntervalNs);
  const uint64_t confirming = heartbeat(n, agreeing(n, resent_fence));
  EXPECT_EQ(first_index<OwnershipRevoke>(rt_.network.sent_on(n.conn), [](const OwnershipRevoke&) { return true; }, revoke + 1),
            std::string::npos)
      << "a confirmed revoke was sent again";
  EXPECT_EQ(acked(n).back(), confirming);
  rt_.network.reset(n.conn);
  connect(n, kEpoch);
  const uint64_t on_c = heartbeat(n, agreeing(n, resent_fence));
  EXPECT_TRUE(rt_.network.sent_of<OwnershipRevoke>(n.conn).empty()) << "a confirmed revoke was sent again on a new connection";
  EXPECT_EQ(acked(n), std::vector<uint64_t>{on_c});
  EXPECT_EQ(coord_->stats().fences_resent, 1u);
}

// A heartbeat confirms the fences numbered up to what it reports applied, and no further: of two
// revokes sent together, the second is still owed after a heartbeat confirming only the first, and
// precedes the first ack on the node's next connection.
TEST_F(ProtocolRulesCoordinator, FencesBeforeLeasesOnlyTheFencesReportedAppliedAreConfirmed) {
  start_leader();
  ComputeSide n = join(101);
  heartbeat(n, agreeing(n));
  join_gateway();
  const EntityId first = spawn(1);
  const EntityId second = spawn(2);
  from_gateway(SessionClosed{SessionId(1), first});
  from_gateway(SessionClosed{SessionId(2), second});
  const auto on_a = rt_.network.sent_of<OwnershipRevoke>(n.conn);
  ASSERT_EQ(on_a.size(), 2u);
  ASSERT_EQ(on_a[0].entity, first);
  ASSERT_EQ(on_a[1].fence, on_a[0].fence + 1);
  rt_.advance(kHeartbeatIntervalNs);
  heartbeat(n, agreeing(n, on_a[0].fence));  // the first applied, the second not yet arrived

  rt_.network.reset(n.conn);
  connect(n, kEpoch);
  heartbeat(n, agreeing(n, on_a[0].fence));
  const std::vector<ServerMessage> on_b = rt_.network.sent_on(n.conn);
  const size_t ack = first_index<HeartbeatAck>(on_b, [](const HeartbeatAck& a) { return a.seq != 0; });
  const size_t revoke = first_index<OwnershipRevoke>(on_b, [&](const OwnershipRevoke& r) { return r.entity == second; });
  ASSERT_NE(ack, std::string::npos) << "the member was not acked";
  ASSERT_LT(revoke, ack) << "a revoke the node never reported applied was taken as confirmed and not resent";
  EXPECT_EQ(first_index<OwnershipRevoke>(on_b, [&](const OwnershipRevoke& r) { return r.entity == first; }), std::string::npos)
      << "a confirmed revoke was sent again";
}

// docs/ownership.md §2 "Fences before leases", for an eviction: an Evicted sent on connection A (the
// node came back after being declared lost) precedes, on the node's next connection B, the first
// ack there; once a heartbeat confirms it, it is never sent again, on B or on a later connection C.
TEST_F(ProtocolRulesCoordinator, FencesBeforeLeasesEvictionResentOnTheNextConnection) {
  start_leader();
  ComputeSide n = join(101);
  heartbeat(n, agreeing(n));
  rt_.advance(kNodeLossAfterNs + 3 * kTickNs);  // a long pause: declared lost
  ASSERT_TRUE(lost(n));
  heartbeat(n, agreeing(n));  // back on A: evicted there
  ASSERT_EQ(rt_.network.sent_of<Evicted>(n.conn).size(), 1u);

  rt_.network.reset(n.conn);
  connect(n, kEpoch);
  // §6 "A node back from the dead counts only once it answers": evicted, it is no member (no ack,
  // no vote toward the quorum) until its Promise answers our membership question.
  heartbeat(n, agreeing(n));
  const auto asked = rt_.network.sent_of<Prepare>(n.conn);
  ASSERT_FALSE(asked.empty()) << "an evicted node was not asked for its membership";
  EXPECT_TRUE(acked(n).empty()) << "an evicted node was acked before it answered";
  send(n, Promise{asked.back().question, {}, kEpoch - 1, 0, {}});
  const uint64_t seq = heartbeat(n, agreeing(n));
  const std::vector<ServerMessage> on_b = rt_.network.sent_on(n.conn);
  const size_t ack = first_index<HeartbeatAck>(on_b, [](const HeartbeatAck& a) { return a.seq != 0; });
  const size_t evicted = first_index<Evicted>(on_b, [](const Evicted&) { return true; });
  ASSERT_NE(ack, std::string::npos) << "the member was not acked";
  ASSERT_LT(evicted, ack) << "a lease renewed on B before the eviction sent on A was resent";
  EXPECT_EQ(std::get<HeartbeatAck>(on_b[ack].body).seq, seq);
  const uint64_t resent_fence = std::get<Evicted>(on_b[evicted].body).fence;

  rt_.advance(kHeartbeatIntervalNs);
  const uint64_t confirming = heartbeat(n, agreeing(n, resent_fence));
  EXPECT_EQ(first_index<Evicted>(rt_.network.sent_on(n.conn), [](const Evicted&) { return true; }, evicted + 1), std::string::npos)
      << "a confirmed eviction was sent again";
  EXPECT_EQ(acked(n).back(), confirming);
  rt_.network.reset(n.conn);
  connect(n, kEpoch);
  const uint64_t on_c = heartbeat(n, agreeing(n, resent_fence));
  EXPECT_TRUE(rt_.network.sent_of<Evicted>(n.conn).empty()) << "a confirmed eviction was sent again on a new connection";
  EXPECT_EQ(acked(n), std::vector<uint64_t>{on_c});
  EXPECT_EQ(coord_->stats().fences_resent, 1u);
}

// docs/ownership.md §6 "Orphanings are confirmed by a majority", and §6a "A majority is of every
// compute node ever registered": an entity taken from a holder that never released it (here: its
// node declared lost after kNodeLossAfterNs of silence) is re-granted only once a majority of all
// the compute nodes, the lost one included, has echoed the orphaning's table version (probed by a
// HeartbeatAck of seq 0) in Heartbeat.table_version_seen. With four nodes, one lost: three echoes,
// not two (two would be a majority of the three still alive).
TEST_F(ProtocolRulesCoordinator, OrphanReGrantedOnlyOnceAMajorityEchoedItsOrphaning) {
  start_leader(/*with_peer=*/true);
  ComputeSide a = join(101), b = join(102), c = join(103), d = join(104);
  for (ComputeSide* n : {&a, &b, &c, &d}) heartbeat(*n, agreeing(*n));
  join_gateway();
  const EntityId e = spawn(1);
  ASSERT_EQ(owner(e), a.id);  // equal loads: the lowest id

  uint64_t b_seen = 0, c_seen = 0, d_seen = 0;
  const auto pump = [&](TimeNs for_ns) {  // b, c and d heartbeat; a is silent
    for (TimeNs t = 0; t < for_ns; t += kHeartbeatIntervalNs) {
      rt_.advance(kHeartbeatIntervalNs);
      heartbeat(b, agreeing(b, 0, b_seen));
      heartbeat(c, agreeing(c, 0, c_seen));
      heartbeat(d, agreeing(d, 0, d_seen));
    }
  };
  pump(kNodeLossAfterNs + 3 * kTickNs);
  ASSERT_TRUE(lost(a));
  ASSERT_EQ(coord_->orphans(), 1u);
  // The orphaning goes to every node as an OrphanQuery: its entities (each node sends back the states
  // it holds of them) and its version, to echo at once.
  std::optional<uint64_t> version;
  for (const OrphanQuery& query : rt_.network.sent_of<OrphanQuery>(b.conn)) {
    if (query.version == 0) continue;
    version = query.version;
    EXPECT_EQ(query.entities, std::vector<EntityId>{e});
  }
  ASSERT_TRUE(version.has_value()) << "the orphaning's version was never sent";
  EXPECT_EQ(*version, numbered(kEpoch, 1));

  b_seen = *version;  // one of four
  pump(kNsPerSec);
  EXPECT_EQ(coord_->orphans(), 1u) << "re-granted on one echo of four";
  c_seen = *version;  // two of four: a majority of the live nodes only
  pump(kNsPerSec);
  EXPECT_EQ(coord_->orphans(), 1u) << "re-granted on two echoes of four (the lost node counts)";
  for (const ComputeSide* n : {&b, &c, &d}) EXPECT_TRUE(rt_.network.sent_of<OwnershipGrant>(n->conn).empty());

  d_seen = *version;  // three of four: re-granted at once, from its snapshot
  heartbeat(d, agreeing(d, 0, d_seen));
  EXPECT_EQ(coord_->orphans(), 0u);
  const NodeId to = owner(e);
  const ComputeSide* taker = to == b.id ? &b : to == c.id ? &c : to == d.id ? &d : nullptr;
  ASSERT_NE(taker, nullptr) << "re-granted to node " << to.value;
  auto grant = rt_.network.last_of<OwnershipGrant>(taker->conn);
  ASSERT_TRUE(grant.has_value());
  EXPECT_EQ(grant->entity, e);
  EXPECT_TRUE(grant->recover.has_value());
}

// docs/ownership.md §4 "From the freshest state": the vice may hold a fresher state of an orphan (its
// own snapshot from the owner); it sends it before acknowledging the orphaning's version. A confirmed
// orphan is re-granted only once the vice acknowledged (ReplicaAck), or kViceAckWaitNs passed.
TEST_F(ProtocolRulesCoordinator, AnOrphanWaitsForTheVicesAcknowledgment) {
  start_leader(/*with_peer=*/true);
  ComputeSide a = join(101), b = join(102), c = join(103);
  for (ComputeSide* n : {&a, &b, &c}) heartbeat(*n, agreeing(*n));
  const ConnId vice = rt_.network.accept(kListen);
  rt_.network.deliver(vice, ServerMessage{NodeId(2), Role::kCoordinator, kEpoch, 0, Hello{Role::kCoordinator, kPeerAddress, 0, 5}});
  uint64_t acked = 0;
  for (const Replicate& r : rt_.network.sent_of<Replicate>(vice)) acked = std::max(acked, r.version);
  rt_.network.deliver(vice, ServerMessage{NodeId(2), Role::kCoordinator, kEpoch, 0, ReplicaAck{acked}});
  join_gateway();
  const EntityId e = spawn(1);
  ASSERT_EQ(owner(e), a.id);
  // a falls silent: b and c keep heartbeating until a is lost and its entity orphaned.
  while (!lost(a)) {
    rt_.advance(kHeartbeatIntervalNs);
    heartbeat(b, agreeing(b));
    heartbeat(c, agreeing(c));
  }
  ASSERT_FALSE(owner(e).valid());
  uint64_t version = 0;
  for (const OrphanQuery& q : rt_.network.sent_of<OrphanQuery>(b.conn)) version = std::max(version, q.version);
  ASSERT_NE(version, 0u);
  heartbeat(b, agreeing(b, 0, version));  // b and c echo at once: a majority of three confirms
  heartbeat(c, agreeing(c, 0, version));
  EXPECT_FALSE(owner(e).valid()) << "re-granted before the vice acknowledged the orphaning";
  rt_.network.deliver(vice, ServerMessage{NodeId(2), Role::kCoordinator, kEpoch, 0, ReplicaAck{version}});
  EXPECT_TRUE(owner(e).valid()) << "not re-granted once the vice acknowledged";
}

// docs/ownership.md §6a "Holdings audits": a node whose heartbeats' holdings digest disagrees with
// what the table gives it for kAuditAfterMismatches heartbeats in a row is asked for its holdings (a
// Prepare with leader = true); a run broken by one agreeing heartbeat starts again, and a node that
// agrees is never asked. The digest, not the count: here the counts agree and the generations do not.
TEST_F(ProtocolRulesCoordinator, HoldingsDisagreeingForKAuditAfterMismatchesHeartbeatsAreAudited) {
  start_leader();
  ComputeSide a = join(101);
  heartbeat(a, agreeing(a));
  join_gateway();
  const EntityId e = spawn(1);
  ASSERT_EQ(owner(e), a.id);
  ComputeSide b = join(102);
  heartbeat(b, agreeing(b));

  HoldingsDigest other_generation;
  other_generation.add(e, coord_->table().get(e)->generation + 1);
  const auto beat = [&](bool a_agrees) {
    rt_.advance(kHeartbeatIntervalNs);
    Heartbeat hb = agreeing(a);
    if (!a_agrees) {
      hb.holdings_digest_count = other_generation.count();
      hb.holdings_digest = other_generation.digest();
    }
    heartbeat(a, hb);
    heartbeat(b, agreeing(b));
  };
  for (uint32_t i = 0; i + 1 < kAuditAfterMismatches; ++i) beat(false);
  beat(true);
  for (uint32_t i = 0; i + 1 < kAuditAfterMismatches; ++i) beat(false);
  EXPECT_TRUE(rt_.network.sent_of<Prepare>(a.conn).empty()) << "audited before kAuditAfterMismatches disagreeing heartbeats in a row";
  beat(false);
  const auto prepares = rt_.network.sent_of<Prepare>(a.conn);
  ASSERT_EQ(prepares.size(), 1u) << "not audited after kAuditAfterMismatches disagreeing heartbeats in a row";
  EXPECT_TRUE(prepares[0].leader);
  EXPECT_EQ(coord_->stats().audits, 1u);
  EXPECT_TRUE(rt_.network.sent_of<Prepare>(b.conn).empty()) << "a node whose digest agrees was audited";
}

// docs/ownership.md §6a "Tombstones": an entity erased from the table (session closed) is remembered;
// a Promise still holding it (a zombie, held by a node cut off when it went) is answered with a
// revoke, never adopted back into the table.
TEST_F(ProtocolRulesCoordinator, PromiseHoldingAnErasedEntityIsAnsweredWithARevoke) {
  start_leader();
  ComputeSide a = join(101);
  heartbeat(a, agreeing(a));
  join_gateway();
  const EntityId e = spawn(1);
  const uint64_t generation = coord_->table().get(e)->generation;
  from_gateway(SessionClosed{SessionId(1), e});
  ASSERT_EQ(coord_->table().count(e), 0u);

  ComputeSide zombie = join(102, kEpoch);  // must promise before it is a member: it is asked
  const auto prepare = rt_.network.last_of<Prepare>(zombie.conn);
  ASSERT_TRUE(prepare.has_value());
  send(zombie, Promise{prepare->question, {Holding{e, generation}}, kEpoch - 1, 0, {}});
  EXPECT_EQ(coord_->table().count(e), 0u) << "an erased entity was adopted back from a Promise";
  const auto revokes = rt_.network.sent_of<OwnershipRevoke>(zombie.conn);
  ASSERT_EQ(revokes.size(), 1u);
  EXPECT_EQ(revokes[0].entity, e);
  EXPECT_EQ(revokes[0].generation, generation);
}

// A leader's table has every entity granted in its epoch and, fenced at its takeover, every one it
// doubted; an entity it never heard of comes from a lineage it never saw (an older leader may have
// re-granted it under a newer generation the table lost). A late Promise holding one has it revoked
// and orphaned, then re-granted under a generation of this epoch, with the client's session the
// holder reported (without it the new owner would refuse the client's inputs).
TEST_F(ProtocolRulesCoordinator, AnEntityTheTableNeverHadIsRevokedAndReGrantedUnderANewGeneration) {
  start_leader();
  ComputeSide a = join(101);
  heartbeat(a, agreeing(a));
  const EntityId stranger((kEpoch - 1) << 40 | 9);
  const uint64_t old_generation = (kEpoch - 1) << 32;
  ComputeSide late = join(102, kEpoch);  // must promise before it is a member: it is asked
  const auto prepare = rt_.network.last_of<Prepare>(late.conn);
  ASSERT_TRUE(prepare.has_value());
  send(late, Promise{prepare->question, {Holding{stranger, old_generation, kGateway, SessionId(55)}}, kEpoch - 1, 0, {}});
  const auto revokes = rt_.network.sent_of<OwnershipRevoke>(late.conn);
  ASSERT_EQ(revokes.size(), 1u) << "an entity the table never had was taken as held under its old generation";
  EXPECT_EQ(revokes[0].entity, stranger);
  EXPECT_EQ(revokes[0].generation, old_generation);
  const OwnerRecord* rec = coord_->table().get(stranger);
  ASSERT_NE(rec, nullptr);
  EXPECT_FALSE(rec->owner.valid());
  EXPECT_EQ(rec->gateway, kGateway);
  EXPECT_EQ(rec->session, SessionId(55));

  uint64_t version = 0;  // the orphaning's, if sent to echo (a lone coordinator needs no majority)
  for (const OrphanQuery& query : rt_.network.sent_of<OrphanQuery>(a.conn)) version = std::max(version, query.version);
  for (int i = 0; i < 100 && !coord_->table().get(stranger)->owner.valid(); ++i) {
    rt_.advance(kHeartbeatIntervalNs);
    heartbeat(a, agreeing(a, 0, version));
    heartbeat(late, agreeing(late, revokes[0].fence, version));
  }
  const NodeId to = owner(stranger);
  ASSERT_TRUE(to.valid()) << "never re-granted";
  const auto grant = rt_.network.last_of<OwnershipGrant>(to == a.id ? a.conn : late.conn);
  ASSERT_TRUE(grant.has_value());
  EXPECT_EQ(grant->entity, stranger);
  EXPECT_GT(grant->generation, old_generation);
  EXPECT_EQ(grant->generation >> 32, kEpoch) << "re-granted under an older epoch's generation";
  EXPECT_EQ(grant->gateway, kGateway);
  EXPECT_EQ(grant->session, SessionId(55));
}

// docs/ownership.md §6 "Tombstones": a whole replica carries the leader's tombstones. A vice cut off
// when an entity was erased gets the whole table when it reconnects; without the tombstone, once it
// leads, it would adopt the erased entity back from a zombie's Promise (chaos-five seed 927: two
// writers).
TEST_F(ProtocolRulesCoordinator, AWholeReplicaCarriesTheTombstones) {
  CoordinatorConfig cfg = config(/*with_peer=*/false);
  cfg.peer_node = NodeId(2);  // the vice below: replicas go to the configured peer only
  start(cfg);
  ComputeSide a = join(101);
  heartbeat(a, agreeing(a));
  join_gateway();
  const EntityId kept = spawn(1);
  const EntityId erased = spawn(2);
  from_gateway(SessionClosed{SessionId(2), erased});
  ASSERT_EQ(coord_->table().count(erased), 0u);

  const ConnId vice = rt_.network.accept(kListen);
  rt_.network.deliver(vice, ServerMessage{NodeId(2), Role::kCoordinator, kEpoch, 0, Hello{Role::kCoordinator, kPeerAddress, 0, 5}});
  const auto replicas = rt_.network.sent_of<Replicate>(vice);
  ASSERT_FALSE(replicas.empty());
  ASSERT_TRUE(replicas.front().full);
  const Replicate& last = replicas.back();
  EXPECT_FALSE(last.more);
  bool has_kept = false;
  for (const Replicate& r : replicas) {
    for (const ReplicaEntry& e : r.entries) has_kept = has_kept || e.entity == kept;
  }
  EXPECT_TRUE(has_kept);
  EXPECT_NE(std::find(last.erased.begin(), last.erased.end(), erased), last.erased.end()) << "the tombstone did not travel";
}

// docs/ownership.md §6, flow control: a change whose replica the network refuses (a full send
// buffer to the vice) waits in the backlog and reaches the vice once the buffer drains, with the
// version; until then each tick's refusal is counted. (Before: it was lost with its message, and a
// new leader revoked the entity as a stranger: v3-battle seed 1.)
TEST_F(ProtocolRulesCoordinator, AChangeTheNetworkRefusedReachesTheViceLater) {
  CoordinatorConfig cfg = config(/*with_peer=*/false);
  cfg.peer_node = NodeId(2);
  start(cfg);
  ComputeSide a = join(101);
  heartbeat(a, agreeing(a));
  join_gateway();
  const ConnId vice = rt_.network.accept(kListen);
  rt_.network.deliver(vice, ServerMessage{NodeId(2), Role::kCoordinator, kEpoch, 0, Hello{Role::kCoordinator, kPeerAddress, 0, 5}});
  ASSERT_FALSE(rt_.network.sent_of<Replicate>(vice).empty()) << "the whole table on connect";
  EXPECT_EQ(coord_->stats().replicas_refused, 0u);
  rt_.network.set_backpressure(vice, true);
  const EntityId e = spawn(7);
  rt_.advance(3 * kTickNs);
  EXPECT_GE(coord_->stats().replicas_refused, 3u) << "each tick's refusal is counted";
  const size_t before = rt_.network.sent_of<Replicate>(vice).size();
  rt_.network.set_backpressure(vice, false);
  const uint64_t refused = coord_->stats().replicas_refused;
  rt_.advance(kTickNs);
  EXPECT_EQ(coord_->stats().replicas_refused, refused) << "a drained buffer takes the next replica";
  const auto replicas = rt_.network.sent_of<Replicate>(vice);
  bool carried = false;
  uint64_t version = 0;
  for (size_t i = before; i < replicas.size(); ++i) {
    for (const ReplicaEntry& entry : replicas[i].entries) carried = carried || entry.entity == e;
    version = std::max(version, replicas[i].version);
  }
  EXPECT_TRUE(carried) << "the refused change was lost, not delayed";
  EXPECT_NE(version, 0u) << "the backlog emptied: the version travels";
}

// A whole copy larger than one message goes in chunks, and one the network refuses halfway
// continues from the refused chunk on a later tick (a vice connecting to a large battle); the
// backlog waits until it is complete, so no version reaches a vice whose table is partial.
TEST_F(ProtocolRulesCoordinator, AWholeCopyTheNetworkRefusedContinuesWhereItStopped) {
  CoordinatorConfig cfg = config(/*with_peer=*/false);
  cfg.peer_node = NodeId(2);
  start(cfg);
  ComputeSide a{NodeId(101), 0, 1101, 0};  // room for a table of more than one message
  a.conn = rt_.network.accept(kListen);
  send(a, Hello{Role::kCompute, "compute-101:9000", 2 * kReplicaEntriesPerMessage, a.incarnation, gameplay::content_of(gameplay::Rules{})->hash()}, 0);
  heartbeat(a, agreeing(a));
  join_gateway();
  const size_t count = kReplicaEntriesPerMessage + 10;
  for (size_t i = 0; i < count; ++i) spawn(static_cast<uint64_t>(100 + i));
  ASSERT_EQ(coord_->table().size(), count);
  const ConnId vice = rt_.network.accept(kListen);
  rt_.network.set_backpressure(vice, true);
  rt_.network.deliver(vice, ServerMessage{NodeId(2), Role::kCoordinator, kEpoch, 0, Hello{Role::kCoordinator, kPeerAddress, 0, 5}});
  rt_.advance(2 * kTickNs);
  EXPECT_TRUE(rt_.network.sent_of<Replicate>(vice).empty());
  rt_.network.set_backpressure(vice, false);
  rt_.advance(kTickNs);
  const auto replicas = rt_.network.sent_of<Replicate>(vice);
  ASSERT_GE(replicas.size(), 2u) << "more than one message's worth";
  std::set<EntityId> copied;
  bool ended = false;
  for (const Replicate& r : replicas) {
    if (!r.full) continue;
    EXPECT_FALSE(ended) << "a chunk after the copy's last";
    for (const ReplicaEntry& entry : r.entries) copied.insert(entry.entity);
    ended = !r.more;
    if (r.more) {
      EXPECT_EQ(r.version, 0u) << "a version before the copy was complete";
    }
  }
  EXPECT_TRUE(ended);
  EXPECT_EQ(copied.size(), count);
}

// A leader, two members, one avatar, and an operator's move of it to the other node: the leader has
// sent the owner its Release (of generation_), and waits for the Released.
class ProtocolRulesMove : public ProtocolRulesCoordinator {
 protected:
  bool start_move() {
    start_leader();
    a_ = join(101);
    b_ = join(102);
    heartbeat(a_, agreeing(a_));
    heartbeat(b_, agreeing(b_));
    join_gateway();
    e_ = spawn(1);
    from_ = owner(e_) == a_.id ? &a_ : &b_;
    to_ = owner(e_) == a_.id ? &b_ : &a_;
    generation_ = coord_->table().get(e_)->generation;
    std::optional<AdminAnswer> answer;
    coord_->operator_command(OperatorId{"op", OperatorRole::kOperator}, AdminRequest{AdminRequest::Command::kMove, e_, to_->id, {}}, kEpoch,
                             [&answer](AdminAnswer a) { answer = std::move(a); });
    const auto release = rt_.network.last_of<Release>(from_->conn);
    EXPECT_TRUE(release.has_value()) << "the move was not started: " << (answer && !answer->reply.lines.empty() ? answer->reply.lines[0] : "no answer");
    return release.has_value() && release->generation == generation_;
  }
  ComputeSide a_, b_;
  ComputeSide* from_ = nullptr;
  ComputeSide* to_ = nullptr;
  EntityId e_{};
  uint64_t generation_ = 0;
};

// docs/ownership.md §5 (live migration): the leader grants the destination only on the release of
// the very generation its table holds for the entity. A Released naming another generation (a late
// one, from an older grant of the same entity to the same node) says nothing about the holding the
// table knows: the node may still write that one, and granting now would make two writers.
TEST_F(ProtocolRulesMove, AGrantFollowsOnlyTheReleaseOfTheGenerationTheTableHolds) {
  ASSERT_TRUE(start_move());
  const EntityId e = e_;
  ComputeSide& from = *from_;
  ComputeSide& to = *to_;
  const uint64_t generation = generation_;

  EntityState state;
  state.id = e;
  state.generation = generation - 1;
  send(from, Released{e, generation - 1, state});  // an older generation's release, arriving late
  EXPECT_TRUE(rt_.network.sent_of<OwnershipGrant>(to.conn).empty()) << "granted on the release of a generation the table does not hold";
  EXPECT_EQ(owner(e), from.id);

  state.generation = generation;
  send(from, Released{e, generation, state});
  const auto grant = rt_.network.last_of<OwnershipGrant>(to.conn);
  ASSERT_TRUE(grant.has_value()) << "the release of the table's generation was not followed by the grant";
  EXPECT_EQ(grant->entity, e);
  EXPECT_EQ(owner(e), to.id);
}

// docs/ownership.md "Released carries the state": the state the old owner released is the freshest
// there is, and the table keeps it, so a recovery after the new owner is lost never starts older.
TEST_F(ProtocolRulesMove, TheReleasedStateIsKeptInTheTable) {
  ASSERT_TRUE(start_move());
  const EntityId e = e_;
  ComputeSide& from = *from_;
  ComputeSide& to = *to_;
  const uint64_t generation = generation_;
  EntityState released = coord_->table().get(e)->snapshot;
  released.version += 40;
  released.pos = Vec2{12'345, 23'456};
  released.generation = generation;
  send(from, Released{e, generation, released});
  ASSERT_EQ(owner(e), to.id);
  EXPECT_EQ(coord_->table().get(e)->snapshot.version, released.version) << "the released state was not kept";
  EXPECT_EQ(coord_->table().get(e)->snapshot.pos, released.pos);
}

// docs/architecture.md §7 (clients follow space): a gateway that sends its client to the gateway of
// its region ends the session *detached*: the avatar stays (no revoke), and the client takes it back
// through the other gateway with its token. A detach naming another gateway's session changes nothing.
TEST_F(ProtocolRulesCoordinator, ADetachedSessionKeepsItsAvatarForTheResumeElsewhere) {
  ComputeSide a;
  const EntityId e = leader_with_one_avatar(a);
  const uint64_t token = coord_->table().get(e)->resume_token;
  const NodeId kOther(202);
  const ConnId other = join_other_gateway(kOther, "gateway-2:8000", 78);

  rt_.network.deliver(other, ServerMessage{kOther, Role::kGateway, kEpoch, 0, SessionClosed{SessionId(1), e, true}});
  EXPECT_EQ(coord_->table().get(e)->detached_since_ns, 0) << "another gateway detached a session it does not hold";
  from_gateway(SessionClosed{SessionId(1), e, true});
  ASSERT_EQ(coord_->table().count(e), 1u) << "a redirected client's avatar was despawned";
  EXPECT_NE(coord_->table().get(e)->detached_since_ns, 0);
  EXPECT_TRUE(rt_.network.sent_of<OwnershipRevoke>(a.conn).empty());
  EXPECT_EQ(coord_->stats().sessions_detached, 1u);

  rt_.network.deliver(other, ServerMessage{kOther, Role::kGateway, kEpoch, 0, SpawnRequest{SessionId(9), e, token}});
  auto resumed = rt_.network.last_of<SpawnReply>(other);
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->entity, e) << (resumed->refusal.empty() ? "no avatar" : resumed->refusal);
  EXPECT_EQ(coord_->table().get(e)->gateway, kOther);
  EXPECT_EQ(coord_->table().get(e)->detached_since_ns, 0);
}

// docs/ownership.md §2a: a node reporting a clock it cannot trust writes nothing (its lease ends), so
// the leader gives its entities to other nodes at once: revoked, orphaned, re-granted elsewhere.
TEST_F(ProtocolRulesCoordinator, AnUntrustedClocksEntitiesGoToOtherNodes) {
  start_leader();
  ComputeSide a = join(101), b = join(102);
  heartbeat(a, agreeing(a));
  heartbeat(b, agreeing(b));
  join_gateway();
  const EntityId e = spawn(1);
  ComputeSide& holder = owner(e) == a.id ? a : b;
  ComputeSide& other = owner(e) == a.id ? b : a;
  Heartbeat untrusted = agreeing(holder);
  untrusted.clock_untrusted = true;
  heartbeat(holder, untrusted);
  const auto revokes = rt_.network.sent_of<OwnershipRevoke>(holder.conn);
  ASSERT_EQ(revokes.size(), 1u) << "the entities of a node with an untrusted clock stayed with it";
  EXPECT_EQ(revokes[0].entity, e);
  EXPECT_EQ(coord_->stats().clock_fenced, 1u);
  for (int i = 0; i < 100 && owner(e) != other.id; ++i) {
    rt_.advance(kHeartbeatIntervalNs);
    heartbeat(other, agreeing(other));
    heartbeat(holder, untrusted);
  }
  EXPECT_EQ(owner(e), other.id) << "never re-granted to the node whose clock is trusted";
}

// docs/ownership.md §6a: a compute node that registers as a new process (a new incarnation) before
// it was declared lost held entities under leases the old process may still use: they are re-granted
// only once every such lease has expired, kNodeLossAfterNs after the old process was last heard.
TEST_F(ProtocolRulesCoordinator, ARestartedNodesEntitiesWaitForItsOldLeasesToExpire) {
  start_leader();
  ComputeSide a = join(101);
  heartbeat(a, agreeing(a));
  join_gateway();
  const EntityId e = spawn(1);
  ASSERT_EQ(owner(e), a.id);
  const TimeNs last_heard = rt_.clock.now_ns();
  rt_.advance(kHeartbeatIntervalNs);
  ++a.incarnation;  // the process restarted: same node id, new connection, new incarnation
  connect(a, 0);
  EXPECT_FALSE(owner(e).valid()) << "a restarted node kept the old process's entities";
  while (rt_.clock.now_ns() + kHeartbeatIntervalNs < last_heard + kNodeLossAfterNs) {
    rt_.advance(kHeartbeatIntervalNs);
    heartbeat(a, agreeing(a));
    ASSERT_FALSE(owner(e).valid()) << "re-granted " << (rt_.clock.now_ns() - last_heard) / kNsPerMs
                                   << " ms after the old process was last heard, before its leases expired";
  }
  for (int i = 0; i < 20 && !owner(e).valid(); ++i) {
    rt_.advance(kHeartbeatIntervalNs);
    heartbeat(a, agreeing(a));
  }
  EXPECT_EQ(owner(e), a.id) << "never re-granted once the old leases expired";
}

// docs/security.md "Resume tokens": an avatar still attached to a live session cannot be taken with
// its token (the asking gateway is told to retry later: its old gateway's loss may not be known yet);
// once its gateway is lost it can, once: the resume draws a new token, and the old one is refused.
TEST_F(ProtocolRulesCoordinator, AResumeTokenServesOnceAndOnlyADetachedAvatar) {
  ComputeSide a;
  const EntityId e = leader_with_one_avatar(a);
  const uint64_t token = coord_->table().get(e)->resume_token;

  const NodeId kThief(202);
  const ConnId thief = join_other_gateway(kThief, "", 78);
  rt_.network.deliver(thief, ServerMessage{kThief, Role::kGateway, kEpoch, 0, SpawnRequest{SessionId(9), e, token}});
  auto held = rt_.network.last_of<SpawnReply>(thief);
  ASSERT_TRUE(held.has_value());
  EXPECT_FALSE(held->entity.valid()) << "an attached avatar was taken with its token";
  EXPECT_TRUE(held->retry_later);
  EXPECT_EQ(coord_->table().get(e)->session, SessionId(1));

  rt_.network.reset(gateway_);  // its gateway is lost: the avatar is detached
  rt_.network.deliver(thief, ServerMessage{kThief, Role::kGateway, kEpoch, 0, SpawnRequest{SessionId(9), e, token}});
  auto resumed = rt_.network.last_of<SpawnReply>(thief);
  ASSERT_TRUE(resumed.has_value());
  EXPECT_EQ(resumed->entity, e);
  EXPECT_NE(resumed->resume_token, token) << "the token was not renewed";
  EXPECT_EQ(coord_->table().get(e)->resume_token, resumed->resume_token);

  // The spent token, presented again elsewhere, takes nothing.
  const ConnId third = rt_.network.accept(kListen);
  rt_.network.deliver(third, ServerMessage{NodeId(203), Role::kGateway, 0, 0, Hello{Role::kGateway, "", 0, 79}});
  rt_.network.deliver(third, ServerMessage{NodeId(203), Role::kGateway, kEpoch, 0, SpawnRequest{SessionId(10), e, token}});
  auto refused = rt_.network.last_of<SpawnReply>(third);
  ASSERT_TRUE(refused.has_value());
  EXPECT_NE(refused->entity, e);
  EXPECT_EQ(coord_->table().get(e)->gateway, kThief);
}

// docs/security.md "Budgets on every connection": a connection that says no Hello within
// kHelloDeadlineNs is closed and counted; one that said Hello stays.
TEST_F(ProtocolRulesCoordinator, ASilentConnectionIsClosedAtTheHelloDeadline) {
  start_leader();
  const ConnId silent = rt_.network.accept(kListen);
  ComputeSide a = join(101);
  rt_.advance(kHelloDeadlineNs / 2);
  heartbeat(a, agreeing(a));
  EXPECT_TRUE(rt_.network.open(silent));
  rt_.advance(kHelloDeadlineNs / 2 + 2 * kTickNs);
  heartbeat(a, agreeing(a));
  EXPECT_FALSE(rt_.network.open(silent));
  EXPECT_TRUE(rt_.network.open(a.conn));
  EXPECT_EQ(coord_->stats().hello_timeouts, 1u);
}

// docs/ownership.md §6 "Members of an epoch": a candidate that hears the winner of its own epoch
// (its Leadership) follows it at once, instead of standing again one epoch higher and deposing a
// leader that has a majority.
TEST_F(ProtocolRulesCoordinator, CandidateHearingTheLeaderOfItsEpochFollowsIt) {
  CoordinatorConfig cfg = config(/*with_peer=*/true);
  cfg.start_as_leader = false;
  start(cfg);
  const ConnId leader = rt_.network.outbound_to(kPeerAddress);
  rt_.network.complete_connect(leader);
  // The leader's whole table, membership included: a vice stands only once it knows the membership.
  Replicate whole;
  whole.full = true;
  whole.nodes = {ReplicaNode{NodeId(101), Role::kCompute, "compute-101:9000", 100, false}};
  whole.version = numbered(kEpoch, 0);
  rt_.network.deliver(leader, ServerMessage{NodeId(2), Role::kCoordinator, kEpoch, 0, whole});
  rt_.advance(kLeaderTimeoutNs + 3 * kTickNs);  // the leader falls silent
  ASSERT_EQ(coord_->role(), CoordinatorRole::kCandidate);
  ASSERT_EQ(coord_->epoch(), kEpoch + 1);

  // A rival candidate won epoch kEpoch + 1 and says so.
  const ConnId rival = rt_.network.accept(kListen);
  rt_.network.deliver(rival, ServerMessage{NodeId(3), Role::kCoordinator, kEpoch + 1, 0, Hello{Role::kCoordinator, "coordinator-3:7000", 0, 0}});
  rt_.network.deliver(rival, ServerMessage{NodeId(3), Role::kCoordinator, kEpoch + 1, 0, Leadership{true}});
  EXPECT_EQ(coord_->role(), CoordinatorRole::kFollower) << "a candidate kept standing against the leader of its epoch";
  EXPECT_EQ(coord_->epoch(), kEpoch + 1);
}

// docs/ownership.md §6 (fencing what the table may miss). A vice holding the table of epoch kEpoch
// (entity e granted to 101) stands after its leader falls silent; 101 and 102 promise, reporting the
// epoch they followed and the newest table version they heard. Returns whether the candidate, now
// leader, revoked e from 101 and orphaned it.
class ProtocolRulesFencing : public ProtocolRulesCoordinator {
 protected:
  bool fenced_after_promises(Epoch followed, uint64_t version_seen, bool third_lost = false) {
    CoordinatorConfig cfg = config(/*with_peer=*/true);
    cfg.start_as_leader = false;
    cfg.compute_nodes = 3;
    start(cfg);
    const ConnId leader = rt_.network.outbound_to(kPeerAddress);
    rt_.network.complete_connect(leader);
    const EntityId e(numbered(kEpoch, 7) << 8);
    Replicate whole;
    whole.full = true;
    for (uint32_t id : {101u, 102u, 103u}) {
      whole.nodes.push_back(ReplicaNode{NodeId(id), Role::kCompute, fmt::format("compute-{}:9000", id), 100, third_lost && id == 103});
    }
    ReplicaEntry entry;
    entry.entity = e;
    entry.owner = NodeId(101);
    entry.generation = numbered(kEpoch, 5);
    entry.snapshot.id = e;
    entry.snapshot.generation = entry.generation;
    whole.entries.push_back(entry);
    whole.version = numbered(kEpoch, 0);
    rt_.network.deliver(leader, ServerMessage{NodeId(2), Role::kCoordinator, kEpoch, 0, whole});
    EXPECT_EQ(owner(e), NodeId(101));
    a_ = join(101, followed);
    b_ = join(102, followed);
    ComputeSide& a = a_;
    ComputeSide& b = b_;
    e_ = e;
    heartbeat(a, Heartbeat{}, followed);
    heartbeat(b, Heartbeat{}, followed);
    rt_.advance(kLeaderTimeoutNs + 3 * kTickNs);  // no leader speaks to us: we stand
    EXPECT_EQ(coord_->role(), CoordinatorRole::kCandidate);
    for (ComputeSide* n : {&a, &b}) {
      const auto prepare = rt_.network.last_of<Prepare>(n->conn);
      EXPECT_TRUE(prepare.has_value());
      if (!prepare) return false;
      std::vector<Holding> holds;
      if (n->id == NodeId(101)) holds.push_back(Holding{e, entry.generation, NodeId{}, SessionId{}});
      send(*n, Promise{prepare->question, holds, followed, version_seen, n->id == NodeId(101) ? owed_by_a_ : std::vector<LogoutSaved>{}},
           coord_->epoch());
    }
    EXPECT_EQ(coord_->role(), CoordinatorRole::kLeader);
    const auto revokes = rt_.network.sent_of<OwnershipRevoke>(a.conn);
    const bool revoked = revokes.size() == 1 && revokes[0].entity == e;
    EXPECT_EQ(revoked, !owner(e).valid()) << "a fenced holding must be orphaned too, and only a fenced one";
    return revoked;
  }
  ComputeSide a_, b_;
  EntityId e_{};
  std::vector<LogoutSaved> owed_by_a_;  // the log-out saves node 101's Promise says it owes
};

// The promising nodes followed epoch kEpoch + 1, which the table never saw: its leader may have
// re-granted e. The promises know the table's version, so only the missed epoch says so.
TEST_F(ProtocolRulesFencing, AHoldingFromBeforeAnEpochTheTableNeverSawIsFenced) {
  EXPECT_TRUE(fenced_after_promises(kEpoch + 1, numbered(kEpoch, 0))) << "renewed as it stood";
}

// The promising nodes know nothing of any table version (they restarted): with no majority of
// promises that know one, an orphaning the table missed cannot be ruled out.
TEST_F(ProtocolRulesFencing, ACandidateWhosePromisesKnowNoVersionFences) {
  EXPECT_TRUE(fenced_after_promises(kEpoch, 0)) << "a blind candidate renewed what its table gave";
}

// docs/ownership.md §6 "Grace": a new leader re-grants nothing for kFailoverGraceNs after its
// takeover (longer than any lease the old leader could have renewed), however soon its orphanings
// are confirmed; then it does.
TEST_F(ProtocolRulesFencing, ANewLeaderReGrantsNothingWithinItsGrace) {
  ASSERT_TRUE(fenced_after_promises(kEpoch + 1, numbered(kEpoch, 0)));
  const TimeNs took_over = rt_.clock.now_ns();
  uint64_t version = 0;
  for (const OrphanQuery& q : rt_.network.sent_of<OrphanQuery>(a_.conn)) version = std::max(version, q.version);
  ASSERT_NE(version, 0u);
  while (!owner(e_).valid() && rt_.clock.now_ns() - took_over < kFailoverGraceNs + 2 * kNsPerSec) {
    rt_.advance(kHeartbeatIntervalNs);
    heartbeat(a_, agreeing(a_, rt_.network.sent_of<OwnershipRevoke>(a_.conn).back().fence, version), coord_->epoch());
    heartbeat(b_, agreeing(b_, 0, version), coord_->epoch());
  }
  ASSERT_TRUE(owner(e_).valid()) << "never re-granted after the grace";
  EXPECT_GE(rt_.clock.now_ns() - took_over, kFailoverGraceNs) << "re-granted within the new leader's grace";
}

// docs/persistence.md §9d: a log-out save a node owes when a new leader takes over (the old leader
// revoked the avatar, then fell) is in the node's Promise; the new leader holds that character's
// spawn, save pending, until the node reports it settled, as the old leader would have. Another
// character is not held for a save.
TEST_F(ProtocolRulesFencing, ANewLeaderHoldsTheSpawnOfACharacterWhoseLogoutSaveANodeOwes) {
  owed_by_a_ = {LogoutSaved{CharacterId(70), 3}};
  ASSERT_FALSE(fenced_after_promises(kEpoch, numbered(kEpoch, 0)));
  EXPECT_EQ(coord_->logout_waits().size(), 1u);
  EXPECT_EQ(coord_->logout_waits().figures().heard, 1u);  // aether_coordinator_logout_waits_heard_total
  join_gateway();
  const auto ask = [&](uint64_t session, uint64_t character) {
    SpawnRequest req;
    req.session = SessionId(session);
    req.character = CharacterId(character);
    req.save.character = req.character;
    req.save.life = 4;
    rt_.network.deliver(gateway_, ServerMessage{kGateway, Role::kGateway, coord_->epoch(), 0, req});
    return rt_.network.last_of<SpawnReply>(gateway_);
  };
  auto held = ask(1, 70);
  ASSERT_TRUE(held.has_value());
  EXPECT_FALSE(held->entity.valid());
  EXPECT_TRUE(held->retry_later && held->save_pending) << held->refusal;
  auto other = ask(2, 71);
  ASSERT_TRUE(other.has_value());
  EXPECT_FALSE(other->save_pending) << "a character whose save nobody owes waited for one";

  send(b_, LogoutSaved{CharacterId(70), 3}, coord_->epoch());  // not the owner: settles nothing
  EXPECT_EQ(coord_->logout_waits().size(), 1u);
  send(a_, LogoutSaved{CharacterId(70), 3}, coord_->epoch());
  EXPECT_EQ(coord_->logout_waits().size(), 0u);
  auto after = ask(3, 70);
  ASSERT_TRUE(after.has_value());
  EXPECT_FALSE(after->save_pending) << "still held once the owner reported the save settled";
}

// Nothing missed: promises of the table's epoch that know its version leave the holding in place.
TEST_F(ProtocolRulesFencing, NothingMissedNothingFenced) {
  EXPECT_FALSE(fenced_after_promises(kEpoch, numbered(kEpoch, 0)));
}

// docs/ownership.md "Lost flags belong to the epoch that set them": a leader evicts a returning node
// only if it declared it lost itself, in its epoch. A flag copied from a replica (the node may since
// have been granted newer generations by the leader that set it) leads to a Prepare instead.
TEST_F(ProtocolRulesFencing, ALostFlagFromAReplicaAsksInsteadOfEvicting) {
  ASSERT_FALSE(fenced_after_promises(kEpoch, numbered(kEpoch, 0), /*third_lost=*/true));
  ComputeSide c = join(103, kEpoch);
  EXPECT_TRUE(rt_.network.sent_of<Evicted>(c.conn).empty()) << "evicted on a lost flag copied from a replica";
  EXPECT_TRUE(rt_.network.last_of<Prepare>(c.conn).has_value()) << "the returning node was not asked what it holds";
}

// docs/ownership.md §1 "Generation": a grant made at epoch E has a generation of at least E << 32, so
// it outranks anything an older leader granted; entity ids carry the epoch that created them.
TEST_F(ProtocolRulesCoordinator, GrantsOfAnEpochOutrankEveryOlderGeneration) {
  start_leader();
  ComputeSide n = join(101);
  heartbeat(n, agreeing(n));
  join_gateway();
  const EntityId e = spawn(1);
  const auto grant = rt_.network.last_of<OwnershipGrant>(n.conn);
  ASSERT_TRUE(grant.has_value());
  EXPECT_GE(grant->generation, numbered(kEpoch, 0));
  EXPECT_GT(grant->generation, numbered(kEpoch - 1, 0xffffffff));
  EXPECT_EQ(e.value >> 40, kEpoch);
}

// docs/ownership.md §4: a closed connection alone is not a loss (a node cut from the coordinator may
// still hold a valid lease and be writing); silence is, once it has lasted more than
// kNodeLossAfterNs (one lease on the slowest clock within the bound, plus a margin). §6a "Clock rate
// and jumps": silence is read by the clock and by the watch-timer count (firings - 1 periods), the
// shorter; heard at a watch instant, the count reads one period less, so the node is not lost one
// period past kNodeLossAfterNs either.
TEST_F(ProtocolRulesCoordinator, ClosedConnectionIsNoLossOnlySilenceIs) {
  start_leader();
  ComputeSide n = join(101);
  heartbeat(n, agreeing(n));
  join_gateway();
  const EntityId e = spawn(1);
  const TimeNs heard_ns = rt_.now_ns();  // a watch instant: the coordinator started now
  rt_.network.reset(n.conn);
  rt_.advance_to(heard_ns + kNodeLossAfterNs);
  EXPECT_FALSE(lost(n)) << "declared lost while its lease may still be valid";
  EXPECT_EQ(owner(e), n.id);
  rt_.advance_to(heard_ns + kNodeLossAfterNs + kTickNs);
  EXPECT_FALSE(lost(n)) << "declared lost before the watch count showed kNodeLossAfterNs of silence";
  EXPECT_EQ(coord_->stats().nodes_lost, 0u);
  rt_.advance_to(heard_ns + kNodeLossAfterNs + 3 * kTickNs);
  EXPECT_TRUE(lost(n));
  EXPECT_EQ(coord_->orphans(), 1u);
}

// docs/ownership.md §6a, "One promise per epoch": a candidate with no majority stands again one
// epoch higher after kCandidacyTimeoutNs plus a draw of up to as much again, at the drawn instant
// (its own timer), not at the next 100 ms watch tick: rivals that stood on the same tick must fall
// out of step (chaos-wide seed 431: split votes in lockstep until the run ended).
TEST_F(ProtocolRulesCoordinator, ACandidateStandsAgainAtItsDrawnInstantNotOnAWatchTick) {
  CoordinatorConfig cfg = config(/*with_peer=*/true);
  cfg.start_as_leader = false;
  cfg.compute_nodes = 3;  // the membership it may stand with (none of them answers here)
  start(cfg);
  std::vector<TimeNs> stood;  // when each candidacy began (the epoch rose)
  Epoch seen = coord_->epoch();
  const TimeNs step = kNsPerMs / 4;
  const TimeNs began = rt_.now_ns();
  while (stood.size() < 8 && rt_.now_ns() - began < 60 * kNsPerSec) {
    rt_.advance(step);
    if (coord_->epoch() != seen) {
      seen = coord_->epoch();
      stood.push_back(rt_.now_ns());
    }
  }
  ASSERT_EQ(stood.size(), 8u) << "a candidate without a majority did not keep standing";
  size_t off_tick = 0;
  for (size_t i = 1; i < stood.size(); ++i) {
    const TimeNs gap = stood[i] - stood[i - 1];
    EXPECT_GE(gap, kCandidacyTimeoutNs);
    EXPECT_LE(gap, 2 * kCandidacyTimeoutNs + step);
    off_tick += (gap % kTickNs) > step && (gap % kTickNs) < kTickNs - step ? 1 : 0;
  }
  EXPECT_GT(off_tick, 3u) << "retries fell on the 100 ms grid: candidates that stood together would stay in step";
}

}  // namespace
}  // namespace aether

namespace aether {
namespace {

// docs/gameplay.md "Content files": a compute node running other content would apply other rules
// to its entities and refuse its neighbours' honest intents; the coordinator does not register it.
TEST_F(ProtocolRulesCoordinator, AComputeNodeWithOtherContentIsRefused) {
  start_leader();
  ComputeSide other{NodeId(107), 0, 1107, 0};
  other.conn = rt_.network.accept(kListen);
  send(other, Hello{Role::kCompute, "compute-107:9000", 100, other.incarnation, gameplay::content_of(gameplay::Rules{})->hash() ^ 1}, 0);
  EXPECT_EQ(coord_->nodes().count(other.id), 0u);
  EXPECT_EQ(coord_->stats().content_mismatches, 1u);
  ComputeSide same = join(108);
  EXPECT_EQ(coord_->nodes().count(same.id), 1u);
}

}  // namespace
}  // namespace aether
