// The game's own cost, without networking (docs/performance.md, "The game on the tick"): one tick of
// the compute node's gameplay phases for N entities of the project's content (content/: four
// classes, their skills and effects), and the cost of applying one intent.
//
// A tick here is what ComputeNode runs for its entities: phase 1 (one input each: a move and, every
// few ticks, a skill of its class bar at its duelling partner), phase 2 (act: casts that complete and
// skills asked for become intents), phase 4 (apply them: all targets are ours), phase 3 (effects,
// resources, movement; the dead respawn at once so the battle stays full). Entities stand in pairs
// of enemies 5 m apart, pairs 20 m apart: every skill has a target in range, as in a dense battle.
// Surroundings find area targets through a grid made at the first area query of the tick, as the
// compute node's do.
//
//   build/bin/aether_bench_gameplay     # items_per_second: entities ticked (or intents applied) per second

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "app/content_loader.h"
#include "engine/core/geometry.h"
#include "engine/core/spatial_grid.h"
#include "engine/gameplay/world.h"

namespace aether {
namespace {

using gameplay::Entity;
using gameplay::World;

std::shared_ptr<const gameplay::Content> project_content() {
  static const std::shared_ptr<const gameplay::Content> content = [] {
    auto loaded = app::load_content(std::string(AETHER_SOURCE_DIR) + "/content");
    if (!loaded) {
      std::fprintf(stderr, "content: %s\n", loaded.error().message.c_str());
      std::abort();
    }
    return loaded.value();
  }();
  return content;
}

gameplay::Rules rules_of(int32_t arena_mm) {
  gameplay::Rules r;
  r.arena_mm = arena_mm;
  r.content = project_content();
  return r;
}

class GridSurroundings final : public gameplay::Surroundings {
 public:
  explicit GridSurroundings(const World& w) : w_(w) {}
  const EntityState* find(EntityId id) override {
    const Entity* e = w_.find(id);
    if (!e) return nullptr;
    one_ = w_.state_of(*e);
    return &one_;
  }
  void around(Vec2 at, int32_t radius_mm, size_t max, std::vector<const EntityState*>& out) override {
    out.clear();
    if (!built_) {
      built_ = true;
      for (const auto& [id, e] : w_.entities()) grid_.add(id, e.pos);
      grid_.finish();
    }
    found_.clear();
    grid_.for_each_within(at, radius_mm, [&](EntityId id, Vec2 pos) { found_.emplace_back(distance_sq_mm2(pos, at), id); });
    std::sort(found_.begin(), found_.end());
    if (found_.size() > max) found_.resize(max);
    area_.clear();
    for (const auto& [d, id] : found_) area_.push_back(w_.state_of(*w_.find(id)));
    for (const EntityState& s : area_) out.push_back(&s);
  }

 private:
  const World& w_;
  EntityState one_;
  std::vector<std::pair<int64_t, EntityId>> found_;
  std::vector<EntityState> area_;
  SpatialGrid grid_{20'000};
  bool built_ = false;
};

struct Battle {
  explicit Battle(size_t n) : world(rules_of(static_cast<int32_t>(20'000 * (n / 2 + 2)))) {
    const auto& classes = world.content().classes;
    for (size_t i = 0; i < n; ++i) {
      const size_t pair = i / 2;
      const Vec2 at{static_cast<int32_t>(10'000 + 20'000 * (pair % 64)), static_cast<int32_t>(10'000 + 20'000 * (pair / 64) + 5'000 * (i % 2))};
      world.spawn(EntityId(i + 1), at, static_cast<uint32_t>(i % 2), 1, classes[(i / 2) % classes.size()].id);
    }
  }

  // One tick of phases 1-4 for every entity; returns the intents applied.
  size_t tick() {
    world.set_tick(++now);
    for (auto& [id, e] : world.mutable_entities()) {
      const EntityId partner(id.value % 2 == 1 ? id.value + 1 : id.value - 1);
      const int32_t sway = (now / 10) % 2 == 0 ? 200 : -200;
      const auto bar = static_cast<uint8_t>(e.cls->skills.size());
      const uint8_t slot = bar == 0 || (now + id.value) % 3 != 0 ? 0 : static_cast<uint8_t>(1 + (now / 3 + id.value) % bar);
      world.apply_input(id, ClientInput{static_cast<uint32_t>(now), sway, 0, partner, slot});
    }
    GridSurroundings around(world);
    made.clear();
    for (auto& [id, e] : world.mutable_entities()) {
      if (e.skill_requested == 0 && e.cast.skill == 0) continue;
      world.act(e, around, made);
    }
    size_t applied = 0;
    for (const RemoteIntent& i : made) {
      if (Entity* t = world.find(i.target)) {
        world.apply_intent(*t, i);
        ++applied;
      }
    }
    for (auto& [id, e] : world.mutable_entities()) {
      world.update(e);
      if (e.dead) world.respawn(e, e.pos);
    }
    return applied;
  }

  World world;
  Tick now = 0;
  std::vector<RemoteIntent> made;
};

void BM_GameTick(benchmark::State& state) {
  Battle battle(static_cast<size_t>(state.range(0)));
  for (int i = 0; i < 50; ++i) battle.tick();  // past the first casts and cooldowns
  size_t intents = 0;
  for (auto _ : state) intents += battle.tick();
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * state.range(0));
  state.counters["intents_per_tick"] = benchmark::Counter(static_cast<double>(intents) / static_cast<double>(state.iterations()));
}
BENCHMARK(BM_GameTick)->Arg(250)->Arg(1'000)->Arg(4'000)->Unit(benchmark::kMicrosecond);

// Phase 4 alone: damage intents, each with a new idempotency key, on 1,000 entities in turn (a heal
// now and then keeps them alive).
void BM_ApplyIntent(benchmark::State& state) {
  Battle battle(1'000);
  World& w = battle.world;
  uint32_t seq = 0;
  uint64_t n = 0;
  for (auto _ : state) {
    const EntityId target((n % 1'000) + 1);
    const EntityId source(target.value % 2 == 1 ? target.value + 1 : target.value - 1);
    RemoteIntent intent;
    intent.key = IntentKey{NodeId(7), 1, battle.now, ++seq};
    intent.source = source;
    intent.target = target;
    intent.skill = 0;
    if (n % 8 == 7) {
      intent.action = intent::Heal{50};
    } else {
      intent.action = intent::Damage{5};
    }
    Entity* t = w.find(target);
    benchmark::DoNotOptimize(w.apply_intent(*t, intent));
    if (t->dead) w.respawn(*t, t->pos);
    ++n;
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()));
}
BENCHMARK(BM_ApplyIntent);

}  // namespace
}  // namespace aether

BENCHMARK_MAIN();
