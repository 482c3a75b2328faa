// Instances (docs/gameplay.md, "Instances"): the slots the shipped dungeon content lays out, the rules
// of movement and portals in them, the party an instance's NPC carries through every encoding, the
// request and answer on the wire, content faults by file, line and field, and whole runs: parties
// get slots (refused when all are taken, torn down when empty), and the checker catches two parties
// given one slot.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "app/content_loader.h"
#include "app/sim_run.h"
#include "app/text_config.h"
#include "engine/wire/bytes.h"
#include "engine/gameplay/world.h"
#include "engine/wire/codec.h"
#include "engine/wire/state_codec.h"
#include "tests/unit/content_copy.h"
#include "tests/unit/sim_cluster.h"

namespace aether::gameplay {
namespace {

const std::string kContentDir = std::string(AETHER_SOURCE_DIR) + "/content";
const std::string kDungeonDir = kContentDir + "/dungeon";

std::shared_ptr<const Content> dungeon() {
  auto c = app::load_content(kDungeonDir);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? c.value() : nullptr;
}

// The dungeon in a small cluster of 2 compute nodes: the crypt's 3 slots, 900 m of arena.
app::ClusterShape dungeon_cluster(uint32_t coordinators, uint32_t bots, uint32_t travellers) {
  app::ClusterShape shape;
  shape.coordinators = coordinators;
  shape.compute_nodes = 2;
  shape.bots = bots;
  shape.travellers = travellers;
  shape.rules.arena_mm = 900'000;
  shape.rules.fire_range_mm = 30'000;
  shape.rules.content = dungeon();
  return shape;
}

TEST(Instances, TheShippedDungeonLaysOutItsSlots) {
  auto c = dungeon();
  ASSERT_TRUE(c);
  EXPECT_TRUE(check(*c).empty());
  const ZoneDef& crypt = *c->find_zone(2);
  ASSERT_TRUE(crypt.is_template());
  EXPECT_FALSE(c->home_zone()->is_template()) << "players spawn in an ordinary zone";
  ASSERT_EQ(crypt.instance_slots, 3u);
  // Slot k is the crypt shifted east by k times (60 m + 100 m): each a zone to every rule of space.
  for (uint32_t k = 0; k < crypt.instance_slots; ++k) {
    const Vec2 corner{500'000 + static_cast<int32_t>(k) * 160'000, 0};
    EXPECT_EQ(crypt.slot_shift(k).x_mm, static_cast<int32_t>(k) * 160'000);
    const auto place = c->place_of(corner);
    ASSERT_TRUE(place) << k;
    EXPECT_EQ(place->zone, &crypt);
    EXPECT_EQ(place->slot, k);
    EXPECT_EQ(c->zone_of(Vec2{corner.x_mm + 59'999, 59'999}), &crypt);
    EXPECT_EQ(c->zone_of(Vec2{corner.x_mm + 60'000, 30'000}), nullptr) << "between slots is nowhere";
    // The stair stands in every slot at the slot's shift; the lowlands' gates lead into the template.
    const PortalDef* stair = c->portal_at(Vec2{552'000 + crypt.slot_shift(k).x_mm, 30'000});
    ASSERT_TRUE(stair) << k;
    EXPECT_EQ(stair->name, "crypt-stair");
  }
  EXPECT_EQ(c->zone_of(Vec2{500'000 + 3 * 160'000, 30'000}), nullptr) << "no fourth slot";
  EXPECT_EQ(crypt.span_width_mm(), 2 * 160'000 + 60'000);
  // Parties: 4 avatars of consecutive ids; never 0.
  EXPECT_EQ(crypt.party_of(EntityId(4)), crypt.party_of(EntityId(7)));
  EXPECT_NE(crypt.party_of(EntityId(7)), crypt.party_of(EntityId(8)));
  EXPECT_NE(crypt.party_of(EntityId(0)), 0u);
  // The crypt's spawners are the template's (placed per slot for a party), the base ones are not.
  size_t in_template = 0;
  for (const SpawnerDef& sp : c->spawners) in_template += c->template_of(sp) == &crypt;
  EXPECT_EQ(in_template, 2u);
  // The arena must hold every slot.
  EXPECT_TRUE(app::check_zones_fit(*c, 900'000, 50'000).ok());
  EXPECT_FALSE(app::check_zones_fit(*c, 850'000, 50'000).ok()) << "the last slot ends at 880 m";
}

TEST(Instances, MovementStaysInItsSlotAndAPortalIntoATemplateWaitsForTheLeader) {
  auto c = dungeon();
  ASSERT_TRUE(c);
  Rules rules;
  rules.arena_mm = 900'000;
  rules.content = c;
  World w(rules);
  const ZoneDef& crypt = *c->find_zone(2);
  const PortalDef& gate = c->portals[0];
  ASSERT_EQ(gate.to_zone, crypt.id);
  // A player in slot 1 walking west stops at the slot's west edge, never in slot 0 or between.
  Entity& walker = w.spawn(EntityId(1), Vec2{crypt.slot_shift(1).x_mm + 501'000, 20'000}, 0, 1);
  for (Tick t = 1; t <= 20; ++t) {
    w.set_tick(t);
    ASSERT_EQ(w.apply_input(walker.id, ClientInput{static_cast<uint32_t>(t), -1000, 0, EntityId{}, 0}), ApplyResult::kApplied);
    w.update(walker);
    const auto place = c->place_of(walker.pos);
    ASSERT_TRUE(place);
    ASSERT_EQ(place->slot, 1u);
  }
  EXPECT_EQ(walker.pos.x_mm, crypt.slot_shift(1).x_mm + 500'000);
  // A player in a gate into the template is not moved by take_portal: its slot is the leader's to give.
  Entity& traveller = w.spawn(EntityId(2), gate.pos, 0, 1);
  EXPECT_EQ(w.portal_under(traveller), &gate);
  EXPECT_EQ(w.take_portal(traveller), nullptr);
  EXPECT_EQ(traveller.pos, gate.pos);
  // With the answer, it enters the slot given: the gate's destination at the slot's shift, one move.
  const uint64_t version = traveller.version;
  w.enter_slot(traveller, gate, 2);
  EXPECT_EQ(traveller.pos, (Vec2{gate.to.x_mm + crypt.slot_shift(2).x_mm, gate.to.y_mm}));
  EXPECT_EQ(c->place_of(traveller.pos)->slot, 2u);
  EXPECT_GT(traveller.version, version);
  EXPECT_EQ(w.portal_under(traveller), nullptr) << "the destination is in no portal: no bounce";
  // The stair of slot 2 takes it back to the lowlands like any portal.
  traveller.pos = Vec2{552'000 + crypt.slot_shift(2).x_mm, 30'000};
  const PortalDef* stair = w.take_portal(traveller);
  ASSERT_TRUE(stair);
  EXPECT_EQ(traveller.pos, stair->to);
  EXPECT_EQ(c->zone_of(traveller.pos), c->home_zone());
  // An instance's NPC spawned for a party keeps it (and its home in its slot).
  const SpawnerDef* spiders = nullptr;
  for (const SpawnerDef& sp : c->spawners) {
    if (c->template_of(sp)) spiders = &sp;
  }
  ASSERT_TRUE(spiders);
  Entity* npc = w.spawn_npc(EntityId(100), spiders->id, Vec2{spiders->pos.x_mm + crypt.slot_shift(1).x_mm, spiders->pos.y_mm}, 1, 77);
  ASSERT_TRUE(npc);
  EXPECT_EQ(npc->npc.party, 77u);
  EXPECT_EQ(w.state_of(*npc).npc.party, 77u);
}

TEST(Instances, AnInstanceNpcsPartySurvivesTheEncodingAndOtherStatesBytesAreAsBefore) {
  EntityState s;
  s.id = EntityId(0x8000000005ull);
  s.kind = kEntityKindNpc;
  s.version = 3;
  s.generation = 2;
  s.class_id = 102;
  s.hp = 60;
  s.team = kNpcTeam;
  s.npc.spawner = 6;
  s.npc.home = Vec2{690'000, 30'000};
  const std::vector<uint8_t> ordinary = pack_state(s);
  s.npc.party = 1234;
  const std::vector<uint8_t> instance = pack_state(s);
  EXPECT_GT(instance.size(), ordinary.size()) << "the party is written for an instance's NPC";
  EntityState decoded;
  const char* error = nullptr;
  ASSERT_TRUE(unpack_state(instance, decoded, &error)) << error;
  EXPECT_EQ(decoded, s);
  // An NPC of no party is written as before instances existed: no kFieldInstance bit, same bytes.
  s.npc.party = 0;
  EXPECT_EQ(pack_state(s), ordinary);
  EXPECT_EQ(pack_state(s, kFieldsAll & ~kFieldInstance), ordinary);
  // Bytes that carry a party for anything but an NPC, or a party 0, are no encoding of ours.
  auto forged = [](uint32_t kind, uint64_t party) {
    std::vector<uint8_t> out;
    ByteWriter w(out);
    w.varint(7);  // id
    w.varint(1);  // generation
    w.varint(1);  // version
    w.varint(kFieldKind | kFieldInstance);
    w.varint(kind);
    w.varint(party);
    return out;
  };
  EXPECT_FALSE(unpack_state(forged(kEntityKindAvatar, 5), decoded, &error));
  EXPECT_NE(std::string(error).find("instance party"), std::string::npos) << error;
  EXPECT_FALSE(unpack_state(forged(kEntityKindNpc, 0), decoded, &error));
  // The grant of an instance's NPC carries its party; a party without an NPC is malformed.
  OwnershipGrant g{EntityId(9), 4, NodeId{}, SessionId{}, Vec2{690'000, 30'000}, kNpcTeam, std::nullopt};
  g.npc_spawner = 6;
  g.npc_party = 1234;
  auto round = decode_server(encode(ServerMessage{NodeId(1), Role::kCoordinator, 2, 5, g}));
  ASSERT_TRUE(round.ok()) << round.error().message;
  EXPECT_EQ(std::get<OwnershipGrant>(round->body), g);
  g.npc_spawner = 0;
  EXPECT_FALSE(decode_server(encode(ServerMessage{NodeId(1), Role::kCoordinator, 2, 5, g})).ok());
}

TEST(Instances, TheRequestAndTheAnswerOnTheWireAreValidated) {
  auto round = [](ServerBody body) { return decode_server(encode(ServerMessage{NodeId(3), Role::kCompute, 2, 5, std::move(body)})); };
  const InstanceRequest request{EntityId(42), 1};
  auto got = round(request);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(std::get<InstanceRequest>(got->body), request);
  for (const InstanceAnswer& a : {InstanceAnswer{EntityId(42), 1, 2, false}, InstanceAnswer{EntityId(42), 1, 0, true}}) {
    got = round(a);
    ASSERT_TRUE(got.ok()) << got.error().message;
    EXPECT_EQ(std::get<InstanceAnswer>(got->body), a);
  }
  EXPECT_FALSE(round(InstanceRequest{EntityId{}, 1}).ok()) << "no entity";
  EXPECT_FALSE(round(InstanceRequest{EntityId(42), 0}).ok()) << "no portal";
  EXPECT_FALSE(round(InstanceAnswer{EntityId(42), 1, kInstanceSlotsMax, false}).ok()) << "a slot no template has";
  EXPECT_FALSE(round(InstanceAnswer{EntityId(42), 1, 1, true}).ok()) << "a refusal naming a slot";
}

// Parties in the dungeon (scenarios/dungeon-party: 80 travellers, 3 slots, 90 s; the leader crashes at
// 45 s): slots are given
// (and refused when all 3 are other parties'), entered, fought in and torn down when empty, and the
// checker holds every instance entity to its slot and to one party per slot, across the failover
// (a new leader that did not find the slots in its table would give a held slot to another party:
// a violation at its kInstanceOpened record). With the leader giving the first slot to whoever asks
// (instance-two-parties), the checker fails the run.
TEST(Instances, PartiesGetSlotsAcrossALeaderCrashAndTheCheckerCatchesTwoPartiesInOneSlot) {
  const std::string run = std::string(R"(
name: "dungeon-test"
duration_s: 90
topology { coordinators: 2 compute_nodes: 3 gateways: 2 }
bots { count: 80 teams: 2 join_spread_ms: 3000 travellers: 80 }
network { latency_us: 500 jitter_us: 200 }
world { arena_m: 900 view_radius_m: 50 fire_range_m: 30 content_dir: ")") + kDungeonDir + "\" }\n";
  auto parse = [&](const std::string& text) {
    wire::Scenario s;
    const Status parsed = app::parse_text_proto("dungeon-test.textpb", text, &s);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    return s;
  };
  const app::Outcome clean = app::run_scenario(parse(run + "events { at_ms: 45000 crash: \"coordinator-1\" }\n"), app::SimRunOptions{1, "", LogLevel::kError});
  ASSERT_EQ(clean.failure, "") << "without the bug the run must pass, or the test proves nothing";
  EXPECT_GE(clean.instances.opened, 3u) << "parties were given slots";
  EXPECT_GT(clean.instances.closed, 0u) << "a slot left empty was torn down";
  EXPECT_GT(clean.figures.instances_entered, 0u);
  EXPECT_GT(clean.figures.instance_requests[static_cast<size_t>(InstanceResult::kFull)], 0u) << "parties waited: every slot was taken";
  EXPECT_GT(clean.figures.instance_requests[static_cast<size_t>(InstanceResult::kJoined)], 0u)
      << "the new leader (the only coordinator alive at the end) answered parties their slots, found in its table";
  EXPECT_GT(clean.instances.writes_checked, 0u);
  const app::Outcome planted = app::run_scenario(parse(run + "planted_bug: \"instance-two-parties\"\n"), app::SimRunOptions{1, "", LogLevel::kError});
  EXPECT_NE(planted.failure.find("VIOLATION"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.failure.find("party"), std::string::npos) << planted.failure;
}

// The allocation is records of the table, so the vice holds every slot the leader gave, with its
// party, within a replication: each second, every slot the leader held a second before and still
// holds (for the same party) is in the vice's table too.
TEST(Instances, TheVicesTableHoldsEverySlotTheLeaderGave) {
  app::ClusterShape shape = dungeon_cluster(2, 40, 40);
  shape.bots_join_spread_ns = kNsPerSec;
  ASSERT_TRUE(shape.rules.content);
  testing::SimCluster c(7, shape);
  c.sim.run_until(c.sim.now() + 25 * kNsPerSec);
  auto roles = [&]() -> std::pair<const Coordinator*, const Coordinator*> {
    const Coordinator* leader = nullptr;
    const Coordinator* vice = nullptr;
    for (const Coordinator* k : c.cluster->coordinators()) {
      if (k && k->leading()) leader = k;
      else if (k) vice = k;
    }
    return {leader, vice};
  };
  size_t checked = 0;
  for (int second = 0; second < 40; ++second) {
    const auto before = roles().first->instance_slots();
    c.sim.run_until(c.sim.now() + kNsPerSec);
    const auto [leader, vice] = roles();
    ASSERT_TRUE(leader && vice);
    const auto now = leader->instance_slots();
    const auto replica = vice->instance_slots();
    for (const auto& [key, slot] : before) {
      auto still = now.find(key);
      if (still == now.end() || still->second.party != slot.party || slot.party == 0) continue;
      auto held = replica.find(key);
      ASSERT_NE(held, replica.end()) << "slot " << key.second << " of party " << slot.party << " is not in the vice's table";
      EXPECT_EQ(held->second.party, slot.party);
      EXPECT_FALSE(held->second.mixed);
      ++checked;
    }
  }
  EXPECT_GT(checked, 0u) << "slots were taken while the test watched";
  EXPECT_GT(roles().first->stats().instances_opened, 0u);
}

// The witness alone: answers leave in the order held, each once its batch is acknowledged by every
// follower; a change made while the backlog waits needs the next batch; the bound refuses, and a
// new leadership drops what the old one held.
TEST(ViceWitness, ReleasesEachAnswerOnceItsBatchIsAcknowledged) {
  ViceWitness<int> w;
  EXPECT_EQ(w.close_batch(), 1u);
  ASSERT_TRUE(w.hold(w.batch_for_change(/*backlog_empty=*/true), 10));   // rode batch 1
  ASSERT_TRUE(w.hold(w.batch_for_change(/*backlog_empty=*/false), 20));  // rides batch 2
  EXPECT_TRUE(w.acknowledged(0).empty());
  EXPECT_EQ(w.acknowledged(1), std::vector<int>{10});
  EXPECT_EQ(w.held(), 1u);
  EXPECT_EQ(w.close_batch(), 2u);
  EXPECT_EQ(w.acknowledged(2), std::vector<int>{20});
  EXPECT_TRUE(w.acknowledged(2).empty()) << "an answer leaves once";
  for (size_t i = 0; i < ViceWitness<int>::kHeldMax; ++i) ASSERT_TRUE(w.hold(3, static_cast<int>(i)));
  EXPECT_FALSE(w.hold(3, -1)) << "past the bound";
  EXPECT_EQ(w.release_all().size(), ViceWitness<int>::kHeldMax);
  ASSERT_TRUE(w.hold(3, 30));
  w.reset();
  EXPECT_EQ(w.held(), 0u);
  EXPECT_EQ(w.closed(), 0u);
}

// A slot is answered only once the vice holds it (vice_witness.h): with the link to the vice held
// (a partition, as TCP holds it), the leader allocates and waits; the owner hears nothing until the
// link comes back and the vice acknowledges the batch that carried the allocation. Else a leader
// crashing then would leave a party walking into a slot the next leader believes free.
TEST(Instances, ASlotIsAnsweredOnlyOnceTheViceHoldsIt) {
  const app::ClusterShape shape = dungeon_cluster(2, 24, 0);
  ASSERT_TRUE(shape.rules.content);
  testing::SimCluster c(13, shape);
  c.sim.run_until(c.sim.now() + 8 * kNsPerSec);
  Coordinator& leader = *c.cluster->coordinators()[0];
  const Coordinator& vice = *c.cluster->coordinators()[1];
  ASSERT_TRUE(leader.leading());
  const ZoneDef& crypt = *shape.rules.content->find_zone(2);
  EntityId member;
  NodeId owner;
  for (const auto& [id, rec] : leader.table()) {
    if (rec.snapshot.kind != kEntityKindAvatar || (rec.snapshot.flags & kEntityFlagDead) || !rec.owner.valid()) continue;
    member = id;
    owner = rec.owner;
    break;
  }
  ASSERT_TRUE(member.valid());
  const ComputeNode* owner_node = nullptr;
  for (const ComputeNode* k : c.cluster->computes()) {
    if (k && k->node() == owner) owner_node = k;
  }
  ASSERT_NE(owner_node, nullptr);
  // The answer reaches the owner, which did not ask: it drops it and counts it. So the count says
  // when the answer arrived.
  const uint64_t heard_before = owner_node->stats().instance_answers_dropped;
  c.sim.set_link(0, 1, sim::LinkState::kDown);  // coordinator-1 to coordinator-2: replication held
  leader.on_message(leader.nodes().at(owner).conn,
                    encode(ServerMessage{owner, Role::kCompute, leader.epoch(), 1, InstanceRequest{member, 1}}));
  EXPECT_EQ(leader.stats().instance_requests[static_cast<size_t>(InstanceResult::kAllocated)], 1u);
  EXPECT_EQ(leader.instance_answers_held(), 1u);
  c.sim.run_until(c.sim.now() + 400 * kNsPerMs);
  EXPECT_EQ(leader.instance_answers_held(), 1u) << "answered before the vice held the slot";
  EXPECT_EQ(owner_node->stats().instance_answers_dropped, heard_before);
  EXPECT_TRUE(vice.instance_slots().empty());
  // The link comes back: the held batches arrive, the vice acknowledges, the answer goes.
  c.sim.set_link(0, 1, sim::LinkState::kUp);
  c.sim.run_until(c.sim.now() + 400 * kNsPerMs);
  EXPECT_EQ(leader.instance_answers_held(), 0u);
  EXPECT_EQ(owner_node->stats().instance_answers_dropped, heard_before + 1);
  const auto held = vice.instance_slots();
  ASSERT_EQ(held.size(), 1u);
  EXPECT_EQ(held.begin()->second.party, crypt.party_of(member));
}

// The leader's rules, asked directly (messages on the compute nodes' own connections): it trusts only
// the entity's owner and only a portal into a template; it answers a party its slot, gives free slots
// until all are taken, refuses and counts the next party; slots no player entered are torn down with
// every record in them.
TEST(Instances, TheLeaderTrustsOnlyTheOwnerGivesFreeSlotsRefusesWhenFullAndTearsDownEmptySlots) {
  const app::ClusterShape shape = dungeon_cluster(1, 24, 0);
  ASSERT_TRUE(shape.rules.content);
  testing::SimCluster c(11, shape);
  c.sim.run_until(c.sim.now() + 8 * kNsPerSec);
  Coordinator& leader = *c.cluster->coordinators()[0];
  ASSERT_TRUE(leader.leading());
  const ZoneDef& crypt = *shape.rules.content->find_zone(2);
  // One living avatar of each of 4 parties, and its owner.
  std::vector<std::pair<EntityId, NodeId>> members;
  std::set<uint64_t> parties;
  for (const auto& [id, rec] : leader.table()) {
    if (rec.snapshot.kind != kEntityKindAvatar || (rec.snapshot.flags & kEntityFlagDead) || !rec.owner.valid()) continue;
    if (parties.insert(crypt.party_of(id)).second) members.emplace_back(id, rec.owner);
    if (members.size() == 4) break;
  }
  ASSERT_EQ(members.size(), 4u);
  auto ask = [&](EntityId entity, NodeId from, uint16_t portal) {
    const NodeRecord& rec = leader.nodes().at(from);
    leader.on_message(rec.conn, encode(ServerMessage{from, Role::kCompute, leader.epoch(), 1, InstanceRequest{entity, portal}}));
  };
  auto count = [&](InstanceResult r) { return leader.stats().instance_requests[static_cast<size_t>(r)]; };
  NodeId other;
  for (const auto& [node, rec] : leader.nodes()) {
    if (rec.role == Role::kCompute && node != members[0].second) other = node;
  }
  ASSERT_TRUE(other.valid());
  // Not the owner's, then not a portal into a template (the stair leads to the lowlands): refused.
  ask(members[0].first, other, 1);
  ask(members[0].first, members[0].second, 3);
  EXPECT_EQ(count(InstanceResult::kInvalid), 2u);
  EXPECT_EQ(leader.stats().instances_opened, 0u);
  EXPECT_TRUE(leader.instance_slots().empty());
  // The owner's: a free slot, given to the party by writing its NPCs (5: 4 spiders and the ogre).
  ask(members[0].first, members[0].second, 1);
  EXPECT_EQ(count(InstanceResult::kAllocated), 1u);
  auto slots = leader.instance_slots();
  ASSERT_EQ(slots.size(), 1u);
  EXPECT_EQ(slots.begin()->first, (std::pair<uint16_t, uint32_t>{crypt.id, 0}));
  EXPECT_EQ(slots.begin()->second.party, crypt.party_of(members[0].first));
  EXPECT_EQ(slots.begin()->second.records, 5u);
  // Asked again: the party's slot, nothing placed.
  ask(members[0].first, members[0].second, 2);
  EXPECT_EQ(count(InstanceResult::kJoined), 1u);
  EXPECT_EQ(leader.instance_slots().begin()->second.records, 5u);
  // Two more parties take the other slots; the fourth is refused and counted.
  ask(members[1].first, members[1].second, 1);
  ask(members[2].first, members[2].second, 1);
  EXPECT_EQ(count(InstanceResult::kAllocated), 3u);
  ask(members[3].first, members[3].second, 1);
  EXPECT_EQ(count(InstanceResult::kFull), 1u);
  slots = leader.instance_slots();
  ASSERT_EQ(slots.size(), 3u);
  for (const auto& [key, slot] : slots) EXPECT_FALSE(slot.mixed);
  EXPECT_EQ(leader.instances_active(), 3u);
  // Nobody entered: after empty_ticks (10 s) and the second that notices, every slot is torn down
  // and no record of them is left in the table.
  c.sim.run_until(c.sim.now() + 13 * kNsPerSec);
  EXPECT_EQ(leader.stats().instances_closed, 3u);
  EXPECT_TRUE(leader.instance_slots().empty());
  for (const auto& [id, rec] : leader.table()) EXPECT_EQ(rec.snapshot.npc.party, 0u) << id.value;
  // Free again: the fourth party gets one.
  ask(members[3].first, members[3].second, 1);
  EXPECT_EQ(count(InstanceResult::kAllocated), 4u);
}

class BrokenInstances : public aether::testing::ContentCopy {
 protected:
  std::string error(const std::string& zones_text) {
    {
      std::ofstream out(dir_ / "zones.textpb", std::ios::trunc);
      out << zones_text;
    }
    auto c = app::load_content(dir_.string());
    EXPECT_FALSE(c.ok());
    return c.ok() ? std::string() : c.error().message;
  }
};

constexpr const char* kLowlands = "zones { id: 1 name: \"lowlands\" x_m: 0 y_m: 0 width_m: 400 height_m: 400 }\n";
constexpr const char* kSpiders = "spawners { name: \"s\" monster: \"spider\" x_m: 530 y_m: 30 radius_m: 5 count: 2 respawn_ticks: 100 }\n";

TEST_F(BrokenInstances, FaultsNameFileLineAndField) {
  // Slots reaching another zone: the span of all slots keeps 100 m from it.
  std::string e = error(std::string(kLowlands) + "zones { id: 2 name: \"crypt\" x_m: 500 y_m: 0 width_m: 60 height_m: 60 instance_slots: 3 party_size: 4 empty_ticks: 100 }\n" +
                        "zones { id: 3 name: \"attic\" x_m: 900 y_m: 0 width_m: 60 height_m: 60 }\n" + kSpiders);
  EXPECT_NE(e.find("zones.textpb:3: field x_m"), std::string::npos) << e;
  // Slot count, party size and teardown delay in range.
  e = error(std::string(kLowlands) + "zones { id: 2 name: \"crypt\" x_m: 500 y_m: 0 width_m: 60 height_m: 60 instance_slots: 17 party_size: 4 empty_ticks: 100 }\n" + kSpiders);
  EXPECT_NE(e.find("zones.textpb:2: field instance_slots"), std::string::npos) << e;
  e = error(std::string(kLowlands) + "zones { id: 2 name: \"crypt\" x_m: 500 y_m: 0 width_m: 60 height_m: 60 instance_slots: 2 party_size: 0 empty_ticks: 100 }\n" + kSpiders);
  EXPECT_NE(e.find("zones.textpb:2: field party_size"), std::string::npos) << e;
  e = error(std::string(kLowlands) + "zones { id: 2 name: \"crypt\" x_m: 500 y_m: 0 width_m: 60 height_m: 60 instance_slots: 2 party_size: 4 empty_ticks: 5 }\n" + kSpiders);
  EXPECT_NE(e.find("zones.textpb:2: field empty_ticks"), std::string::npos) << e;
  // A template without a spawner: an allocation is its NPCs' records, so it must have some.
  e = error(std::string(kLowlands) + "zones { id: 2 name: \"crypt\" x_m: 500 y_m: 0 width_m: 60 height_m: 60 instance_slots: 2 party_size: 4 empty_ticks: 100 }\n");
  EXPECT_NE(e.find("zones.textpb:2: field instance_slots"), std::string::npos) << e;
  EXPECT_NE(e.find("holds no spawner"), std::string::npos) << e;
  // The home zone is no template; an ordinary zone takes no party rule.
  e = error("zones { id: 1 name: \"lowlands\" x_m: 0 y_m: 0 width_m: 400 height_m: 400 instance_slots: 2 party_size: 4 empty_ticks: 100 }\n");
  EXPECT_NE(e.find("zones.textpb:1: field instance_slots"), std::string::npos) << e;
  e = error(std::string(kLowlands) + "zones { id: 2 name: \"crypt\" x_m: 500 y_m: 0 width_m: 60 height_m: 60 party_size: 4 }\n");
  EXPECT_NE(e.find("zones.textpb:2: field party_size"), std::string::npos) << e;
  // A portal from one template into another.
  e = error(std::string(kLowlands) +
            "zones { id: 2 name: \"crypt\" x_m: 500 y_m: 0 width_m: 60 height_m: 60 instance_slots: 2 party_size: 4 empty_ticks: 100 }\n"
            "zones { id: 3 name: \"vault\" x_m: 500 y_m: 200 width_m: 60 height_m: 60 instance_slots: 2 party_size: 4 empty_ticks: 100 }\n" +
            kSpiders + "spawners { name: \"v\" monster: \"spider\" x_m: 530 y_m: 230 radius_m: 5 count: 2 respawn_ticks: 100 }\n" +
            "portals { name: \"down\" zone: \"crypt\" x_m: 550 y_m: 50 radius_m: 5 to_zone: \"vault\" to_x_m: 510 to_y_m: 230 }\n");
  EXPECT_NE(e.find("zones.textpb:6: field to_zone"), std::string::npos) << e;
  EXPECT_NE(e.find("from one instance template to another"), std::string::npos) << e;
}

}  // namespace
}  // namespace aether::gameplay
