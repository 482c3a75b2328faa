// The console's read-only views: the coordinator's handover ring (engine/coordinator/handover_log.h),
// the view routes of the admin API and their JSON (runtime/real/admin_api.h). The views against a
// running cluster: tests/browser/console_test.mjs.

#include <gtest/gtest.h>

#include <optional>
#include <set>
#include <variant>

#include "runtime/real/admin_api.h"
#include "tests/unit/sim_cluster.h"

namespace aether::real {
namespace {

Handover migrated(uint64_t entity) { return Handover{0, static_cast<TimeNs>(entity) * kNsPerMs, 3, HandoverKind::kMigrated, EntityId(entity), NodeId(101), NodeId(102), 1}; }

TEST(HandoverLog, KeepsTheNewestEventsNumberedAndAnswersWhatCameAfter) {
  HandoverLog log;
  EXPECT_TRUE(log.since(0, 10).empty());
  for (uint64_t i = 1; i <= kHandoverLogMax + 10; ++i) log.record(migrated(i));
  EXPECT_EQ(log.size(), kHandoverLogMax) << "bounded: the oldest are forgotten";
  EXPECT_EQ(log.last_seq(), kHandoverLogMax + 10);
  const auto all = log.since(0, kHandoverLogMax);
  ASSERT_EQ(all.size(), kHandoverLogMax);
  EXPECT_EQ(all.front().seq, 11u) << "a reader learns it missed 1..10";
  EXPECT_EQ(all.back().seq, kHandoverLogMax + 10);
  const auto newest = log.since(0, 3);
  ASSERT_EQ(newest.size(), 3u) << "at most max, the newest";
  EXPECT_EQ(newest.front().seq, kHandoverLogMax + 8);
  EXPECT_EQ(newest.back().entity, EntityId(kHandoverLogMax + 10));
  const auto after = log.since(kHandoverLogMax + 8, 100);
  ASSERT_EQ(after.size(), 2u);
  EXPECT_EQ(after.front().seq, kHandoverLogMax + 9);
  EXPECT_TRUE(log.since(log.last_seq(), 100).empty());
}

AdminCall call_of(std::string_view target) {
  auto parsed = parse_admin_call("GET", target, {});
  EXPECT_TRUE(std::holds_alternative<AdminCall>(parsed)) << target;
  return std::holds_alternative<AdminCall>(parsed) ? std::get<AdminCall>(parsed) : AdminCall{};
}
unsigned refusal_of(std::string_view method, std::string_view target) {
  auto parsed = parse_admin_call(method, target, {});
  EXPECT_TRUE(std::holds_alternative<AdminApiError>(parsed)) << method << " " << target << " was accepted";
  return std::holds_alternative<AdminApiError>(parsed) ? std::get<AdminApiError>(parsed).status : 0;
}

TEST(AdminViews, ViewRoutesParseAndRefuseWhatTheyDoNotTake) {
  EXPECT_EQ(call_of("/api/ownership").view, AdminView::kOwnership);
  const AdminCall all = call_of("/api/timeline");
  EXPECT_EQ(all.view, AdminView::kTimeline);
  EXPECT_EQ(all.after, 0u);
  EXPECT_EQ(call_of("/api/timeline?after=42").after, 42u);
  EXPECT_EQ(call_of("/api/nodes").view, AdminView::kNone);
  EXPECT_EQ(refusal_of("POST", "/api/ownership"), 405u);
  EXPECT_EQ(refusal_of("GET", "/api/ownership?cell=1"), 400u);
  EXPECT_EQ(refusal_of("GET", "/api/timeline?after=x"), 400u);
  EXPECT_EQ(refusal_of("GET", "/api/timeline?after=1&after=2"), 400u);
  EXPECT_EQ(refusal_of("GET", "/api/timeline?after=99999999999999999999"), 400u);
  const AdminCall entity = call_of("/api/entity?id=42");
  EXPECT_EQ(entity.view, AdminView::kEntity);
  EXPECT_EQ(entity.request.entity, EntityId(42));
  EXPECT_EQ(call_of("/api/ghosts?id=42").view, AdminView::kNone) << "the ghost query stays a command (it asks the compute nodes)";
  EXPECT_EQ(refusal_of("GET", "/api/entity"), 400u) << "no id";
  EXPECT_EQ(refusal_of("GET", "/api/entity?id=0"), 400u) << "0 is no entity";
  EXPECT_EQ(refusal_of("GET", "/api/entity?id=abc"), 400u);
  EXPECT_EQ(refusal_of("GET", "/api/entity?id=007"), 400u) << "not the shortest form";
  EXPECT_EQ(refusal_of("GET", "/api/entity?id=18446744073709551616"), 400u) << "past 64 bits";
  EXPECT_EQ(refusal_of("GET", "/api/entity?id=1&id=2"), 400u);
  EXPECT_EQ(refusal_of("GET", "/api/entity?id=1&owner=3"), 400u);
  EXPECT_EQ(refusal_of("POST", "/api/entity?id=1"), 405u);
  EXPECT_EQ(call_of("/api/peers").view, AdminView::kPeers);
  EXPECT_EQ(refusal_of("GET", "/api/peers?all=1"), 400u);
}

TEST(AdminViews, EntityIsBoundedJsonAndAnUnknownOneIs404) {
  EntityView unknown;
  unknown.id = EntityId(9);
  const AdminViewAnswer none = entity_json(unknown, 0);
  EXPECT_EQ(none.status, 404u);
  EXPECT_EQ(none.body, "{\"ok\":false,\"view\":\"entity\",\"entity\":9,\"error\":\"entity 9 is not in the table\"}\n");
  EntityView v;
  v.epoch = 3;
  v.leading = true;
  v.id = EntityId(7);
  v.known = true;
  v.owner = NodeId(102);
  v.owner_state = "draining";
  v.generation = 5;
  v.gateway = NodeId(201);
  v.session = 11;
  v.x_mm = -1500;
  v.y_mm = 2000;
  v.hp = 90;
  v.version = 44;
  v.cell_x = 31;
  v.cell_y = 32;
  v.home = NodeId(101);
  v.handovers = {migrated(7)};
  const AdminViewAnswer a = entity_json(v, 9000 * kNsPerMs);
  EXPECT_EQ(a.status, 200u);
  EXPECT_EQ(a.body, "{\"ok\":true,\"view\":\"entity\",\"epoch\":3,\"leading\":true,\"now_ms\":9000,\"entity\":7,\"owner\":102,\"owner_state\":\"draining\","
                    "\"generation\":5,\"gateway\":201,\"session\":11,\"detached\":false,\"migrating_to\":0,\"x_mm\":-1500,\"y_mm\":2000,\"hp\":90,"
                    "\"team\":0,\"kind\":0,\"version\":44,\"cell\":[31,32],\"home\":101,\"handovers\":[{\"seq\":0,\"at_ms\":7,\"epoch\":3,"
                    "\"kind\":\"migrated\",\"entity\":7,\"from\":101,\"to\":102,\"count\":1}],\"lines\":[\"entity 7 owner 102 generation 5 gateway 201 "
                    "session 11\",\"snapshot at (-1500, 2000) mm hp 90 version 44; cell (31, 32) home 101; owner draining\"]}\n");
  // The log's answer for one entity: only its events, the newest kEntityViewHandoversMax.
  HandoverLog log;
  for (uint64_t i = 0; i < 3 * kEntityViewHandoversMax; ++i) log.record(migrated(i % 2 == 0 ? 7 : 8));
  const auto mine = log.of_entity(EntityId(7), kEntityViewHandoversMax);
  ASSERT_EQ(mine.size(), kEntityViewHandoversMax);
  for (const Handover& h : mine) EXPECT_EQ(h.entity, EntityId(7));
  EXPECT_EQ(mine.back().seq, 3 * kEntityViewHandoversMax - 1) << "the newest, oldest first";
  EXPECT_LT(mine.front().seq, mine.back().seq);
  EXPECT_TRUE(log.of_entity(EntityId(9), kEntityViewHandoversMax).empty());
}

TEST(AdminViews, OwnershipAndTimelineAreBoundedJson) {
  OwnershipView v;
  v.epoch = 2;
  v.leading = true;
  v.arena_mm = 400'000;
  v.side = 2;
  v.homes = {NodeId(101), NodeId(101), NodeId(102), NodeId{}};
  v.cells = {{0, 0, NodeId(101), 5}, {1, 1, NodeId{}, 1}};
  v.nodes = {{NodeId(101), 5}};
  v.orphans = 1;
  EXPECT_EQ(ownership_json(v), "{\"ok\":true,\"view\":\"ownership\",\"epoch\":2,\"leading\":true,\"arena_mm\":400000,\"side\":2,"
                               "\"homes\":[101,101,102,0],\"cells\":[[0,0,101,5],[1,1,0,1]],\"cells_dropped\":0,\"nodes\":[[101,5]],\"orphans\":1}\n");
  HandoverLog log;
  log.record(migrated(7));
  log.record(Handover{0, 2500 * kNsPerMs, 3, HandoverKind::kNodeLost, EntityId{}, NodeId(102), NodeId{}, 40});
  EXPECT_EQ(timeline_json(log, 1, 4000 * kNsPerMs), "{\"ok\":true,\"view\":\"timeline\",\"now_ms\":4000,\"last\":2,\"events\":[{\"seq\":2,\"at_ms\":2500,\"epoch\":3,"
                                   "\"kind\":\"node_lost\",\"entity\":0,\"from\":102,\"to\":0,\"count\":40}]}\n");
  for (uint64_t i = 0; i < kHandoverLogMax; ++i) log.record(migrated(100 + i));
  const std::string body = timeline_json(log, 0, 0);
  size_t events = 0;
  for (size_t at = body.find("\"seq\""); at != std::string::npos; at = body.find("\"seq\"", at + 1)) ++events;
  EXPECT_EQ(events, kTimelineAnswerMax) << "an answer holds at most kTimelineAnswerMax events";
}

}  // namespace
}  // namespace aether::real

// The views of a real coordinator in a simulated cluster: two compute nodes share the entities; a
// drain moves them all to the other, and the handover log says so in order.
namespace aether {
namespace {

TEST(AdminViewsInACluster, OwnershipCountsTheTableAndADrainIsLoggedAsMigrations) {
  app::ClusterShape shape;
  shape.compute_nodes = 2;
  shape.bots = 20;
  testing::SimCluster c(21, shape);
  c.sim.run_until(c.sim.now() + 8 * kNsPerSec);
  Coordinator& coord = *c.cluster->coordinator();
  const OwnershipView before = coord.ownership_view();
  EXPECT_TRUE(before.leading);
  ASSERT_EQ(before.homes.size(), size_t{RegionMap::kSide} * RegionMap::kSide);
  std::set<NodeId> homes(before.homes.begin(), before.homes.end());
  EXPECT_TRUE(homes.count(NodeId(101)) && homes.count(NodeId(102))) << "both nodes are home to a region";
  ASSERT_EQ(before.nodes.size(), 2u);
  uint64_t in_cells = 0, in_nodes = before.orphans;
  for (const auto& cell : before.cells) in_cells += cell.entities;
  for (const auto& n : before.nodes) in_nodes += n.entities;
  EXPECT_EQ(in_cells, coord.table().size());
  EXPECT_EQ(in_nodes, coord.table().size());
  const uint64_t on_101 = before.nodes[0].node == NodeId(101) ? before.nodes[0].entities : before.nodes[1].entities;
  ASSERT_GT(on_101, 0u);

  const uint64_t seq_before = coord.handovers().last_seq();
  std::optional<AdminAnswer> answer;
  coord.operator_command(OperatorId{"op", OperatorRole::kOperator}, AdminRequest{AdminRequest::Command::kDrain, {}, NodeId(101), {}}, coord.epoch(),
                         [&answer](AdminAnswer a) { answer = std::move(a); });
  ASSERT_TRUE(answer && answer->reply.ok);
  c.sim.run_until(c.sim.now() + 10 * kNsPerSec);

  const OwnershipView after = coord.ownership_view();
  for (const auto& n : after.nodes) EXPECT_NE(n.node, NodeId(101)) << "the drained node owns nothing";
  for (const auto& cell : after.cells) EXPECT_NE(cell.owner, NodeId(101));
  const std::vector<Handover> events = coord.handovers().since(seq_before, kHandoverLogMax);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().kind, HandoverKind::kDrain);
  EXPECT_EQ(events.front().from, NodeId(101));
  EXPECT_EQ(events.front().count, on_101);
  size_t moved = 0;
  for (const Handover& h : events) {
    if (h.kind != HandoverKind::kMigrated) continue;
    EXPECT_EQ(h.from, NodeId(101));
    EXPECT_EQ(h.to, NodeId(102));
    EXPECT_TRUE(h.entity.valid());
    ++moved;
  }
  EXPECT_GE(moved, on_101) << "every entity it held migrated off (bots that joined it meanwhile too)";
  for (size_t i = 1; i < events.size(); ++i) EXPECT_EQ(events[i].seq, events[i - 1].seq + 1);

  // The inspector's view of an entity that moved: its new owner, up, and its migration in its handovers.
  EntityId moved_one{};
  for (const Handover& h : events) {
    if (h.kind == HandoverKind::kMigrated && coord.table().find(h.entity) != coord.table().end()) moved_one = h.entity;
  }
  ASSERT_TRUE(moved_one.valid()) << "an entity that migrated is still in the table";
  const EntityView seen = coord.entity_view(moved_one);
  {
    EXPECT_TRUE(seen.known);
    EXPECT_EQ(seen.owner, NodeId(102));
    EXPECT_STREQ(seen.owner_state, "up");
    EXPECT_GT(seen.generation, 0u);
    ASSERT_FALSE(seen.handovers.empty());
    EXPECT_EQ(seen.handovers.back().kind, HandoverKind::kMigrated);
    EXPECT_EQ(seen.handovers.back().to, NodeId(102));
    EXPECT_TRUE(seen.home == NodeId(101) || seen.home == NodeId(102));
  }
  const EntityView nobody = coord.entity_view(EntityId(999'999'999));
  EXPECT_FALSE(nobody.known);
  EXPECT_TRUE(nobody.handovers.empty());
}

// An operator's drain is an order to the cluster, not to one coordinator: the vice learns it from
// the replication stream, and after the leader dies the new leader keeps the node drained (it
// places nothing there and the node stays empty).
TEST(AdminViewsInACluster, AnOperatorsDrainOutlivesTheLeaderThatTookIt) {
  app::ClusterShape shape;
  shape.coordinators = 2;
  shape.compute_nodes = 2;
  shape.bots = 20;
  testing::SimCluster c(22, shape);
  c.sim.run_until(c.sim.now() + 8 * kNsPerSec);
  Coordinator* leader = c.cluster->coordinator();
  ASSERT_NE(leader, nullptr);
  std::optional<AdminAnswer> answer;
  leader->operator_command(OperatorId{"op", OperatorRole::kOperator}, AdminRequest{AdminRequest::Command::kDrain, {}, NodeId(101), {}},
                           leader->epoch(), [&answer](AdminAnswer a) { answer = std::move(a); });
  ASSERT_TRUE(answer && answer->reply.ok);
  c.sim.run_until(c.sim.now() + 2 * kNsPerSec);
  Coordinator* vice = nullptr;
  for (Coordinator* k : c.cluster->coordinators()) {
    if (k && k != leader) vice = k;
  }
  ASSERT_NE(vice, nullptr);
  ASSERT_TRUE(vice->nodes().count(NodeId(101)));
  EXPECT_EQ(vice->nodes().at(NodeId(101)).drain, NodeRecord::Drain::kOperator) << "the vice learned the order";

  // The leader dies; the vice takes over and keeps the node drained.
  const NodeId dead = leader->node();
  for (size_t i = 0; i < c.sim.host_count(); ++i) {
    sim::Host* h = c.sim.host(i);
    if (h->node() != dead) continue;
    const Component* gone = leader;
    h->crash();
    c.cluster->forget(gone);
  }
  c.sim.run_until(c.sim.now() + 12 * kNsPerSec);
  Coordinator* next = c.cluster->coordinator();
  ASSERT_EQ(next, vice) << "the vice leads";
  EXPECT_EQ(next->nodes().at(NodeId(101)).drain, NodeRecord::Drain::kOperator);
  EXPECT_EQ(next->table().given_count(NodeId(101)), 0u) << "the new leader placed nothing on the drained node";
  for (ComputeNode* n : c.cluster->computes()) {
    if (n && n->node() == NodeId(101)) {
      EXPECT_EQ(n->world().size(), 0u) << "it holds nothing";
    }
  }
}

}  // namespace
}  // namespace aether
