#include <gtest/gtest.h>

#include "engine/core/random.h"
#include "engine/wire/client_protocol.h"
#include "engine/wire/codec.h"
#include "engine/wire/state_codec.h"
#include "wire.pb.h"

namespace aether {
namespace {

ServerMessage envelope(ServerBody body) { return ServerMessage{NodeId(101), Role::kCompute, 3, 42, std::move(body)}; }

TEST(Codec, DeltaBatchRoundTrips) {
  DeltaBatch batch;
  batch.reset = true;
  batch.states.push_back(EntityState{EntityId(5), Vec2{-1200, 340000}, 77, 1, kEntityFlagDead, EntityId(9), 12, kEntityKindAvatar});
  batch.removed = {EntityId(3), EntityId(4)};
  auto decoded = decode_server(encode(envelope(batch)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->sender, NodeId(101));
  EXPECT_EQ(decoded->sender_role, Role::kCompute);
  EXPECT_EQ(decoded->epoch, 3u);
  EXPECT_EQ(decoded->tick, 42u);
  const auto& got = std::get<DeltaBatch>(decoded->body);
  EXPECT_TRUE(got.reset);
  ASSERT_EQ(got.states.size(), 1u);
  EXPECT_EQ(got.states[0], batch.states[0]);
  EXPECT_EQ(got.removed, batch.removed);
}

TEST(Codec, MigrationGrantCarriesTheReleasedGeneration) {
  // The new owner matches the old owner's Handoff on this generation (chaos-messages seed 56).
  OwnershipGrant g{EntityId(12), 0x0000000700000009ull, NodeId(201), SessionId(5), Vec2{100, -200}, 2, std::nullopt, true,
                   0x0000000600000004ull};
  auto decoded = decode_server(encode(envelope(g)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  const auto& got = std::get<OwnershipGrant>(decoded->body);
  EXPECT_EQ(got.entity, g.entity);
  EXPECT_EQ(got.generation, g.generation);
  EXPECT_TRUE(got.migrate);
  EXPECT_EQ(got.released_generation, g.released_generation);
  EXPECT_FALSE(got.recover.has_value());
}

TEST(Codec, FencesQuestionsHoldingsAndClocksRoundTrip) {
  // The rules of docs/ownership.md §2 and §6 ride on these fields: fence numbers on revokes and
  // evictions, echoed in heartbeats; a question number on Prepare, echoed by the Promise; a holdings
  // digest in heartbeats; the leader's clock in acks and replicas; the released state.
  const uint64_t fence = (uint64_t{4} << 32) | 17;
  auto revoke = decode_server(encode(envelope(OwnershipRevoke{EntityId(8), 5, fence})));
  ASSERT_TRUE(revoke.ok()) << revoke.error().message;
  EXPECT_EQ(std::get<OwnershipRevoke>(revoke->body).fence, fence);
  auto evicted = decode_server(encode(envelope(Evicted{fence + 1})));
  ASSERT_TRUE(evicted.ok()) << evicted.error().message;
  EXPECT_EQ(std::get<Evicted>(evicted->body).fence, fence + 1);
  auto prepare = decode_server(encode(envelope(Prepare{fence, true, 0xabcdef01})));
  ASSERT_TRUE(prepare.ok()) << prepare.error().message;
  EXPECT_EQ(std::get<Prepare>(prepare->body).question, fence);
  EXPECT_TRUE(std::get<Prepare>(prepare->body).leader);
  EXPECT_EQ(std::get<Prepare>(prepare->body).incarnation, 0xabcdef01u);
  Promise promise;
  promise.answers = fence;
  promise.holdings.push_back(Holding{EntityId(3), 9});
  auto promised = decode_server(encode(envelope(promise)));
  ASSERT_TRUE(promised.ok()) << promised.error().message;
  EXPECT_EQ(std::get<Promise>(promised->body).answers, fence);
  Heartbeat hb;
  hb.seq = 2;
  hb.holdings_digest_count = 31;
  hb.holdings_digest = 0xfedcba9876543210ull;
  hb.fence_applied = fence;
  hb.clock_untrusted = true;
  auto beat = decode_server(encode(envelope(hb)));
  ASSERT_TRUE(beat.ok()) << beat.error().message;
  const auto& got = std::get<Heartbeat>(beat->body);
  EXPECT_EQ(got.holdings_digest_count, 31u);
  EXPECT_EQ(got.holdings_digest, hb.holdings_digest);
  EXPECT_EQ(got.fence_applied, fence);
  EXPECT_TRUE(got.clock_untrusted);
  auto ack = decode_server(encode(envelope(HeartbeatAck{2, 0, 123'456'789})));
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_EQ(std::get<HeartbeatAck>(ack->body).leader_clock_ns, 123'456'789);
  Replicate r;
  r.leader_clock_ns = 987'654'321;
  r.batch = 77;
  auto replica = decode_server(encode(envelope(r)));
  ASSERT_TRUE(replica.ok()) << replica.error().message;
  EXPECT_EQ(std::get<Replicate>(replica->body).leader_clock_ns, 987'654'321);
  EXPECT_EQ(std::get<Replicate>(replica->body).batch, 77u);
  auto replica_ack = decode_server(encode(envelope(ReplicaAck{(uint64_t{3} << 32) | 1, 78})));
  ASSERT_TRUE(replica_ack.ok()) << replica_ack.error().message;
  EXPECT_EQ(std::get<ReplicaAck>(replica_ack->body), (ReplicaAck{(uint64_t{3} << 32) | 1, 78}));
  auto saved = decode_server(encode(envelope(LogoutSaved{CharacterId(77), 4})));
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(std::get<LogoutSaved>(saved->body), (LogoutSaved{CharacterId(77), 4}));
  EXPECT_FALSE(decode_server(encode(envelope(LogoutSaved{CharacterId{}, 4}))).ok()) << "no character";
  EXPECT_FALSE(decode_server(encode(envelope(LogoutSaved{CharacterId(77), 0}))).ok()) << "no life";
  EXPECT_FALSE(decode_server(encode(envelope(LogoutSaved{CharacterId(77), kSaveLifeMax}))).ok()) << "a life past the bound";
  const EntityState state{EntityId(12), Vec2{5, 6}, 40, 1, 0, EntityId{}, 77, kEntityKindAvatar, 9};
  auto released = decode_server(encode(envelope(Released{EntityId(12), 9, state})));
  ASSERT_TRUE(released.ok()) << released.error().message;
  EXPECT_EQ(std::get<Released>(released->body).state, state);
  // A released state of another entity is refused.
  auto wrong = decode_server(encode(envelope(Released{EntityId(13), 9, state})));
  ASSERT_FALSE(wrong.ok());
}

TEST(Codec, TableVersionsTravelInAcksHeartbeatsPromisesAndReplicas) {
  // A re-grant waits for a majority to echo the orphaning's version; promises carry it to a
  // candidate, which compares it with its replica's (docs/ownership.md, chaos-partitions 77, 85).
  const uint64_t v = (uint64_t{7} << 32) | 3;
  auto ack = decode_server(encode(envelope(HeartbeatAck{0, v})));
  ASSERT_TRUE(ack.ok()) << ack.error().message;
  EXPECT_EQ(std::get<HeartbeatAck>(ack->body).seq, 0u);
  EXPECT_EQ(std::get<HeartbeatAck>(ack->body).version, v);
  Heartbeat hb;
  hb.seq = 4;
  hb.table_version_seen = v;
  auto beat = decode_server(encode(envelope(hb)));
  ASSERT_TRUE(beat.ok()) << beat.error().message;
  EXPECT_EQ(std::get<Heartbeat>(beat->body).table_version_seen, v);
  Promise promise;
  promise.previous_epoch = 6;
  promise.table_version_seen = v;
  auto promised = decode_server(encode(envelope(promise)));
  ASSERT_TRUE(promised.ok()) << promised.error().message;
  EXPECT_EQ(std::get<Promise>(promised->body).table_version_seen, v);
  Replicate r;
  r.version = v;
  auto replica = decode_server(encode(envelope(r)));
  ASSERT_TRUE(replica.ok()) << replica.error().message;
  EXPECT_EQ(std::get<Replicate>(replica->body).version, v);

  // A version whose epoch part no coordinator could have is refused, with the reason.
  wire::ServerEnvelope env;
  env.set_sender(101);
  env.set_sender_role(2);
  env.mutable_heartbeat_ack()->set_version(~uint64_t{0});
  std::string bytes = env.SerializeAsString();
  auto bad = decode_server({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("impossible table version"), std::string::npos) << bad.error().message;
}

// Routes round-trip; a route with no gateway, no address or an empty range is refused.
// A Promise carries the log-out saves its node owes (docs/persistence.md §9d): at most
// kPromiseLogoutSavesMax, each with a character and a life in [1, kSaveLifeMax).
TEST(Codec, APromiseCarriesTheLogoutSavesOwedWithinItsBound) {
  Promise promise;
  promise.answers = 9;
  promise.logout_saves_owed = {LogoutSaved{CharacterId(70), 3}, LogoutSaved{CharacterId(71), 1}};
  auto promised = decode_server(encode(envelope(promise)));
  ASSERT_TRUE(promised.ok()) << promised.error().message;
  EXPECT_EQ(std::get<Promise>(promised->body), promise);

  const auto refused = [](Promise p) {
    auto r = decode_server(encode(envelope(std::move(p))));
    return r.ok() ? std::string() : r.error().message;
  };
  Promise no_life = promise;
  no_life.logout_saves_owed[1].life = 0;
  EXPECT_NE(refused(no_life).find("without a character or a life"), std::string::npos);
  Promise no_character = promise;
  no_character.logout_saves_owed[0].character = CharacterId{};
  EXPECT_NE(refused(no_character).find("without a character or a life"), std::string::npos);
  Promise too_many = promise;
  too_many.logout_saves_owed.assign(kPromiseLogoutSavesMax + 1, LogoutSaved{CharacterId(70), 3});
  EXPECT_NE(refused(too_many).find("too many log-out saves"), std::string::npos);
  too_many.logout_saves_owed.pop_back();
  EXPECT_EQ(refused(too_many), "");
}

TEST(Codec, GatewayRoutesRoundTripAndBadRoutesAreRefused) {
  GatewayRoutes routes{9, 400'000, {GatewayRoute{NodeId(201), "g1:8000", 0, 2048}, GatewayRoute{NodeId(202), "g2:8000", 2048, 4096}}};
  auto back = decode_server(encode(ServerMessage{NodeId(1), Role::kCoordinator, 3, 4, routes}));
  ASSERT_TRUE(back.ok()) << back.error().message;
  const auto& got = std::get<GatewayRoutes>(back->body);
  EXPECT_EQ(got.version, 9u);
  EXPECT_EQ(got.arena_mm, 400'000);
  EXPECT_EQ(got.routes, routes.routes);
  auto closed = decode_server(encode(ServerMessage{NodeId(201), Role::kGateway, 3, 4, SessionClosed{SessionId(5), EntityId(6), true}}));
  ASSERT_TRUE(closed.ok());
  EXPECT_TRUE(std::get<SessionClosed>(closed->body).detached);
  for (GatewayRoute bad : {GatewayRoute{NodeId{}, "g:1", 0, 4096}, GatewayRoute{NodeId(201), "", 0, 4096}, GatewayRoute{NodeId(201), "g:1", 7, 7},
                           GatewayRoute{NodeId(201), std::string(kAddressBytesMax + 1, 'x'), 0, 4096}}) {
    auto refused = decode_server(encode(ServerMessage{NodeId(1), Role::kCoordinator, 3, 4, GatewayRoutes{1, 400'000, {bad}}}));
    EXPECT_FALSE(refused.ok());
  }
  EXPECT_FALSE(decode_server(encode(ServerMessage{NodeId(1), Role::kCoordinator, 3, 4, GatewayRoutes{1, 0, {}}})).ok()) << "no arena";
}

// Membership carries the leader's region cut; a range with no node or an empty range is refused.
TEST(Codec, MembershipRegionsRoundTripAndBadRangesAreRefused) {
  const Membership m{{PeerInfo{NodeId(101), "c1:7100"}, PeerInfo{NodeId(102), "c2:7100"}},
                     {RegionRange{NodeId(101), 0, 1000}, RegionRange{NodeId(102), 1000, 4096}}};
  auto back = decode_server(encode(ServerMessage{NodeId(1), Role::kCoordinator, 3, 4, m}));
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(std::get<Membership>(back->body), m);
  for (RegionRange bad : {RegionRange{NodeId{}, 0, 4096}, RegionRange{NodeId(101), 9, 9}, RegionRange{NodeId(101), 10, 3}}) {
    EXPECT_FALSE(decode_server(encode(ServerMessage{NodeId(1), Role::kCoordinator, 3, 4, Membership{{}, {bad}}})).ok());
  }
}

TEST(Codec, RejectsGarbageWithoutCrashing) {
  Xoshiro256 rng(1234);
  int rejected = 0;
  for (int i = 0; i < 2000; ++i) {
    std::vector<uint8_t> junk(uniform_below(rng, 64) + 1);
    for (auto& b : junk) b = static_cast<uint8_t>(rng.next_u64());
    // Whatever the bytes, decoding returns a value or an error; the decoders must not crash.
    auto s = decode_server(junk);
    auto c = client::decode_client(junk);
    auto u = client::decode_update(junk);
    rejected += !s.ok();
    (void)c;
    (void)u;
  }
  EXPECT_GT(rejected, 1900);  // random bytes almost never form a valid server envelope
}

TEST(Codec, RejectsEnvelopeWithoutSenderOrBody) {
  wire::ServerEnvelope env;
  env.set_sender_role(2);
  env.mutable_heartbeat();
  std::string bytes = env.SerializeAsString();
  auto no_sender = decode_server({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_FALSE(no_sender.ok());
  EXPECT_NE(no_sender.error().message.find("sender"), std::string::npos);

  env.set_sender(5);
  env.clear_body();
  bytes = env.SerializeAsString();
  auto no_body = decode_server({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_FALSE(no_body.ok());
  EXPECT_NE(no_body.error().message.find("without a body"), std::string::npos);
}

TEST(Codec, RejectsOversizeBatch) {
  wire::ServerEnvelope env;
  env.set_sender(101);
  env.set_sender_role(2);
  auto* d = env.mutable_deltas();
  for (size_t i = 0; i <= kBatchEntitiesMax; ++i) d->add_removed(i + 1);
  std::string bytes = env.SerializeAsString();
  auto decoded = decode_server({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("exceeds"), std::string::npos) << decoded.error().message;
}

TEST(Codec, RejectsPositionsBeyondAnyArena) {
  DeltaBatch batch;
  EntityState edge;
  edge.id = EntityId(5);
  edge.pos = Vec2{kCoordinateMmMax, 0};
  batch.states.push_back(edge);
  auto ok = decode_server(encode(envelope(batch)));
  ASSERT_TRUE(ok.ok());
  // The canonical encoding of a position one millimetre beyond any arena is refused, with why.
  std::vector<uint8_t> bad;
  ByteWriter w(bad);
  w.varint(1);  // one state
  w.varint(5);  // id
  w.varint(0);  // generation
  w.varint(1);  // version
  w.varint(kFieldPos);
  w.zigzag(int64_t{kCoordinateMmMax} + 1);
  w.zigzag(0);
  wire::ServerEnvelope env;
  env.set_sender(101);
  env.set_sender_role(2);
  env.mutable_deltas()->set_states(std::string(bad.begin(), bad.end()));
  std::string bytes = env.SerializeAsString();
  auto decoded = decode_server({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()});
  ASSERT_FALSE(decoded.ok());
  EXPECT_NE(decoded.error().message.find("coordinate out of range"), std::string::npos) << decoded.error().message;
}

TEST(Codec, CanonicalStateRoundTripsEveryFieldAndProjects) {
  // One encoding for feeds, snapshots, handoffs, replication: every field survives it, and a
  // projection keeps only its audience's fields (the issue's "snapshots lose movement, cooldowns
  // and the input sequence" cannot happen again).
  EntityState s;
  s.id = EntityId(77);
  s.pos = Vec2{-12'345, 678'901};
  s.hp = -3;
  s.team = 2;
  s.flags = kEntityFlagDead;
  s.target = EntityId(91);
  s.version = 123'456;
  s.kind = kEntityKindAvatar;
  s.generation = (uint64_t{3} << 32) | 9;
  s.move_x = -1000;
  s.move_y = 707;
  s.cooldown_ticks = 4;
  s.last_input_seq = 4'000'000'000u;
  s.level = 7;
  s.experience = 1'234;
  s.attackers.push_back(Attacker{EntityId(5), 30});
  s.attackers.push_back(Attacker{EntityId(6), 1});
  EntityState back;
  const char* error = nullptr;
  ASSERT_TRUE(unpack_state(pack_state(s), back, &error)) << error;
  EXPECT_EQ(back, s);
  ASSERT_TRUE(unpack_state(pack_state(s, kFieldsOwner), back, &error)) << error;
  EXPECT_EQ(back.experience, s.experience);  // owner
  EXPECT_TRUE(back.attackers.empty());       // servers only
  ASSERT_TRUE(unpack_state(pack_state(s, kFieldsPublic), back, &error)) << error;
  EXPECT_EQ(back.level, 7);
  EXPECT_EQ(back.experience, 0);  // owner only
  EXPECT_EQ(back.pos, s.pos);
  EXPECT_EQ(back.move_y, s.move_y);
  EXPECT_EQ(back.cooldown_ticks, 0u);   // owner only
  EXPECT_EQ(back.last_input_seq, 0u);   // servers only
  // Trailing or truncated bytes are malformed.
  std::vector<uint8_t> bytes = pack_state(s);
  bytes.push_back(0);
  EXPECT_FALSE(unpack_state(bytes, back, &error));
  bytes.resize(bytes.size() - 3);
  EXPECT_FALSE(unpack_state(bytes, back, &error));
}

// Experience travels as an intent with skill 0 (from the entity that died), and only experience does.
TEST(Codec, ExperienceIntentsRoundTripAndSkillZeroIsOnlyForThem) {
  const RemoteIntent award{IntentKey{NodeId(101), 9, 40, 2}, EntityId(3), EntityId(4), 0, intent::Experience{60}};
  auto decoded = decode_server(encode(envelope(award)));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(std::get<RemoteIntent>(decoded->body), award);
  RemoteIntent hit = award;
  hit.action = intent::Damage{5};
  EXPECT_FALSE(decode_server(encode(envelope(hit))).ok()) << "damage needs the skill that made it";
  RemoteIntent skilled = award;
  skilled.skill = 4;
  EXPECT_FALSE(decode_server(encode(envelope(skilled))).ok()) << "no skill makes experience";
  RemoteIntent none = award;
  none.action = intent::Experience{0};
  EXPECT_FALSE(decode_server(encode(envelope(none))).ok());
}

// A state has one encoding: an id padded to two bytes (0xcd 0x00 for 77) is malformed, as is a
// list whose count is padded (found by tests/fuzz: both used to decode, and re-encode to other bytes).
TEST(Codec, ACanonicalStateWithAPaddedVarintIsRejected) {
  EntityState s;
  s.id = EntityId(77);
  std::vector<uint8_t> bytes = pack_state(s, kFieldPos);
  ASSERT_EQ(bytes[0], 77);
  bytes[0] = 77 | 0x80;
  bytes.insert(bytes.begin() + 1, 0x00);
  EntityState back;
  const char* error = nullptr;
  EXPECT_FALSE(unpack_state(bytes, back, &error));
  std::vector<uint8_t> list = pack_states(std::vector<EntityState>{s}, kFieldPos);
  ASSERT_EQ(list[0], 1);
  list[0] = 0x81;
  list.insert(list.begin() + 1, 0x00);
  std::vector<EntityState> states;
  EXPECT_FALSE(unpack_states(list, 4, states, &error));
}

}  // namespace
}  // namespace aether
