// A compute node's ghost table (engine/compute/ghost_table.h), checked against a plain ordered
// model under random additions, removals and walks: finds agree, walks are in id order and see
// exactly the live ghosts, the bound holds.

#include <gtest/gtest.h>

#include <map>

#include "engine/compute/ghost_table.h"
#include "engine/core/random.h"

namespace aether {
namespace {

TEST(GhostTable, AgreesWithAnOrderedMapUnderRandomAddsErasesAndWalks) {
  Xoshiro256 rng(11);
  constexpr size_t kMax = 300;
  GhostTable table(kMax);
  std::map<EntityId, Ghost> model;
  for (int step = 0; step < 100'000; ++step) {
    // Few distinct ids: an id is often erased and added again before the next walk, in the same
    // slot (the free list is last-in first-out) or another.
    const EntityId id(1 + uniform_below(rng, 400));
    const uint64_t op = uniform_below(rng, 10);
    if (op < 5) {
      if (table.contains(id)) continue;
      Ghost* g = table.add(id, NodeId(static_cast<uint32_t>(1 + uniform_below(rng, 4))));
      if (model.size() >= kMax) {
        ASSERT_EQ(g, nullptr) << "step " << step;
        continue;
      }
      ASSERT_NE(g, nullptr) << "step " << step;
      g->state.version = static_cast<uint64_t>(step);
      model[id] = *g;
    } else if (op < 8) {
      ASSERT_EQ(table.erase(id), model.erase(id) == 1) << "step " << step;
    } else {
      auto want = model.begin();
      table.for_each([&](const Ghost& g) {
        ASSERT_NE(want, model.end());
        EXPECT_EQ(g.state.id, want->first);
        EXPECT_EQ(g.state.version, want->second.state.version);
        EXPECT_EQ(g.owner, want->second.owner);
        ++want;
      });
      EXPECT_EQ(want, model.end()) << "step " << step;
    }
    ASSERT_EQ(table.size(), model.size());
    const Ghost* found = table.find(id);
    auto m = model.find(id);
    ASSERT_EQ(found != nullptr, m != model.end()) << "step " << step;
    if (found) {
      EXPECT_EQ(found->state.version, m->second.state.version);
    }
  }
}

TEST(GhostTable, IdsOfOneOwnerInIdOrder) {
  GhostTable table(10);
  for (uint64_t id : {9, 3, 7, 1, 5}) table.add(EntityId(id), NodeId(id % 3 == 0 ? 2u : 1u));
  table.erase(EntityId(7));
  std::vector<EntityId> ids;
  table.ids_of(NodeId(1), ids);
  EXPECT_EQ(ids, (std::vector<EntityId>{EntityId(1), EntityId(5)}));
  table.ids_of(NodeId(2), ids);
  EXPECT_EQ(ids, (std::vector<EntityId>{EntityId(3), EntityId(9)}));
}

}  // namespace
}  // namespace aether
