// The gateway's entity cache (engine/gateway/entity_cache.h) and the id index under it
// (engine/core/id_index.h): each checked against a plain ordered model under random operations.

#include <gtest/gtest.h>

#include <map>
#include <set>

#include "engine/core/id_index.h"
#include "engine/core/random.h"
#include "engine/gateway/entity_cache.h"

namespace aether {
namespace {

TEST(IdIndex, AgreesWithAMapUnderRandomInsertsAndErases) {
  Xoshiro256 rng(7);
  IdIndex index;
  std::map<uint64_t, uint32_t> model;
  for (int step = 0; step < 200'000; ++step) {
    // Few distinct ids, so that probe runs collide, wrap and shift back often.
    const uint64_t id = uniform_below(rng, 3) == 0 ? uniform_below(rng, 1u << 20) : uniform_below(rng, 600);
    const uint32_t want = model.count(id) ? model.at(id) : IdIndex::kNone;
    ASSERT_EQ(index.find(id), want) << "step " << step << " id " << id;
    if (want == IdIndex::kNone) {
      const uint32_t value = static_cast<uint32_t>(uniform_below(rng, 1'000'000));
      index.insert(id, value);
      model[id] = value;
    } else if (uniform_below(rng, 2) == 0) {
      ASSERT_TRUE(index.erase(id));
      model.erase(id);
      ASSERT_FALSE(index.erase(id));
    }
    ASSERT_EQ(index.size(), model.size());
  }
  for (const auto& [id, value] : model) EXPECT_EQ(index.find(id), value);
}

TEST(IdIndex, EmptyAndAbsent) {
  IdIndex index;
  EXPECT_EQ(index.find(0), IdIndex::kNone);
  EXPECT_FALSE(index.erase(5));
  index.insert(0, 3);  // id 0 is an id like any other
  EXPECT_EQ(index.find(0), 3u);
  EXPECT_EQ(index.find(1), IdIndex::kNone);
}

EntityState state_of(uint64_t id, uint64_t generation, uint64_t version, int32_t x) {
  EntityState st;
  st.id = EntityId(id);
  st.generation = generation;
  st.version = version;
  st.pos = Vec2{x, -x};
  st.team = static_cast<uint32_t>(id % 2);
  st.hp = 100;
  st.cooldown_ticks = static_cast<uint32_t>(version % 5);
  return st;
}

TEST(EntityCache, NewestStateWinsAndTheEntryLivesWhileASourceHasIt) {
  EntityCache cache(100);
  const NodeId a(101), b(102);
  EXPECT_EQ(cache.put(a, state_of(1, 1, 5, 10)), EntityCache::Put::kAdded);
  const uint32_t i = cache.find(EntityId(1));
  ASSERT_NE(i, EntityCache::kNone);
  const uint64_t v5 = cache.seen_version(i);
  EXPECT_EQ(cache.put(b, state_of(1, 1, 4, 99)), EntityCache::Put::kKept);  // older: the source is added, not the state
  EXPECT_EQ(cache.state(i).pos.x_mm, 10);
  EXPECT_EQ(cache.seen_version(i), v5);
  EXPECT_TRUE(cache.has_source(i, a));
  EXPECT_TRUE(cache.has_source(i, b));
  EXPECT_EQ(cache.put(b, state_of(1, 2, 1, 30)), EntityCache::Put::kKept);  // a newer generation wins over a higher version
  EXPECT_EQ(cache.state(i).pos.x_mm, 30);
  EXPECT_EQ(cache.state(i).generation, 2u);
  EXPECT_NE(cache.seen_version(i), v5);
  EXPECT_EQ(cache.seen(i).x_cm, 3);
  cache.drop(a, EntityId(1));
  EXPECT_EQ(cache.find(EntityId(1)), i);
  cache.drop(b, EntityId(1));
  EXPECT_EQ(cache.find(EntityId(1)), EntityCache::kNone);
  EXPECT_EQ(cache.size(), 0u);
}

TEST(EntityCache, ForgettingASourceFreesItsNumberAndAtTheBoundOneMoreIsRefused) {
  EntityCache cache(1000);
  for (uint32_t n = 0; n < EntityCache::kSourcesMax; ++n) {
    ASSERT_NE(cache.put(NodeId(1000 + n), state_of(n + 1, 1, 1, 0)), EntityCache::Put::kRefused);
  }
  EXPECT_EQ(cache.sources(), EntityCache::kSourcesMax);
  EXPECT_EQ(cache.put(NodeId(5000), state_of(9999, 1, 1, 0)), EntityCache::Put::kRefused);
  EXPECT_EQ(cache.find(EntityId(9999)), EntityCache::kNone);
  cache.forget(NodeId(1000));
  EXPECT_EQ(cache.find(EntityId(1)), EntityCache::kNone);
  EXPECT_EQ(cache.sources(), EntityCache::kSourcesMax - 1);
  EXPECT_EQ(cache.put(NodeId(5000), state_of(9999, 1, 1, 0)), EntityCache::Put::kAdded);
  // The new source took the freed number: entity 1's old source is not confused with it.
  EXPECT_FALSE(cache.has_source(cache.find(EntityId(9999)), NodeId(1000)));
  EXPECT_TRUE(cache.has_source(cache.find(EntityId(9999)), NodeId(5000)));
}

TEST(EntityCache, EntriesBeyondTheBoundAreRefusedUntilRoomFrees) {
  EntityCache cache(2);
  const NodeId a(101);
  EXPECT_EQ(cache.put(a, state_of(1, 1, 1, 0)), EntityCache::Put::kAdded);
  EXPECT_EQ(cache.put(a, state_of(2, 1, 1, 0)), EntityCache::Put::kAdded);
  EXPECT_EQ(cache.put(a, state_of(3, 1, 1, 0)), EntityCache::Put::kRefused);
  EXPECT_EQ(cache.put(a, state_of(2, 1, 2, 0)), EntityCache::Put::kKept);
  cache.drop(a, EntityId(1));
  EXPECT_EQ(cache.put(a, state_of(3, 1, 1, 0)), EntityCache::Put::kAdded);
}

// Random puts, drops and forgets from a few sources against a model of (entity -> newest state,
// sources): what the cache holds must match it after every step.
TEST(EntityCache, AgreesWithAModelUnderRandomFeeds) {
  Xoshiro256 rng(11);
  EntityCache cache(10'000);
  struct Model {
    EntityState st;
    std::set<uint32_t> sources;
  };
  std::map<uint64_t, Model> model;
  for (int step = 0; step < 50'000; ++step) {
    const uint32_t source = 101 + static_cast<uint32_t>(uniform_below(rng, 5));
    const uint64_t id = 1 + uniform_below(rng, 300);
    const uint64_t op = uniform_below(rng, 100);
    if (op < 70) {
      const EntityState st = state_of(id, 1 + uniform_below(rng, 3), uniform_below(rng, 50), static_cast<int32_t>(uniform_below(rng, 100'000)));
      cache.put(NodeId(source), st);
      auto [it, added] = model.try_emplace(id, Model{st, {}});
      if (!added && newer_than(st, it->second.st)) it->second.st = st;
      it->second.sources.insert(source);
    } else if (op < 98) {
      cache.drop(NodeId(source), EntityId(id));
      if (auto it = model.find(id); it != model.end()) {
        it->second.sources.erase(source);
        if (it->second.sources.empty()) model.erase(it);
      }
    } else {
      cache.forget(NodeId(source));
      for (auto it = model.begin(); it != model.end();) {
        it->second.sources.erase(source);
        it = it->second.sources.empty() ? model.erase(it) : std::next(it);
      }
    }
    ASSERT_EQ(cache.size(), model.size()) << "step " << step;
  }
  size_t live = 0;
  cache.for_each([&](uint32_t i) {
    ++live;
    const auto it = model.find(cache.state(i).id.value);
    ASSERT_NE(it, model.end());
    EXPECT_EQ(cache.state(i).version, it->second.st.version);
    EXPECT_EQ(cache.state(i).generation, it->second.st.generation);
    EXPECT_EQ(cache.state(i).pos, it->second.st.pos);
    EXPECT_EQ(cache.seen(i), client::seen_of(it->second.st));
    for (uint32_t s = 101; s < 106; ++s) EXPECT_EQ(cache.has_source(i, NodeId(s)), it->second.sources.count(s) == 1);
  });
  EXPECT_EQ(live, model.size());
}

}  // namespace
}  // namespace aether
