// The gateway's per-player paths, measured apart from the cluster: a feed's states packed and
// unpacked (what compute nodes send and gateways decode, kFieldsGateway), and one client's view
// built and committed per tick (engine/gateway/client_view.h). In a battle every gateway does the
// first once per feed per tick and the second once per client per tick, so these are the figures
// that a cost per player per tick is made of (docs/performance.md).
//
// The view's workload is a fight: of N entities in view, a third move every tick, one in fifty is
// replaced (one leaves, a new one enters), and the own avatar moves; the default budget (780 bytes).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/core/random.h"
#include "engine/gateway/client_view.h"
#include "engine/wire/client_protocol.h"
#include "engine/wire/state_codec.h"

namespace aether {
namespace {

EntityState battle_state(uint64_t i, Random& random) {
  EntityState s;
  s.id = EntityId((uint64_t{1} << 40) | (i + 1));
  s.generation = 3;
  s.version = 100 + i;
  s.kind = kEntityKindAvatar;
  s.pos = Vec2{static_cast<int32_t>(uniform_range(random, 0, 2'000'000)), static_cast<int32_t>(uniform_range(random, 0, 2'000'000))};
  s.move_x = static_cast<int32_t>(uniform_range(random, 0, 2000)) - 1000;
  s.move_y = static_cast<int32_t>(uniform_range(random, 0, 2000)) - 1000;
  s.hp = static_cast<int32_t>(uniform_range(random, 1, 100));
  s.team = static_cast<uint32_t>(i % 2);
  s.target = EntityId((uint64_t{1} << 40) | ((i * 7) % 500 + 1));
  s.cooldown_ticks = static_cast<uint32_t>(i % 10);
  return s;
}

std::vector<EntityState> battle_states(size_t n) {
  Xoshiro256 random(7);
  std::vector<EntityState> states;
  for (size_t i = 0; i < n; ++i) states.push_back(battle_state(i, random));
  return states;
}

// A feed of N states, as a compute node packs it for its gateways.
void BM_PackStates(benchmark::State& state) {
  const std::vector<EntityState> states = battle_states(static_cast<size_t>(state.range(0)));
  size_t bytes = 0;
  for (auto _ : state) {
    std::vector<uint8_t> out = pack_states(states, kFieldsGateway);
    bytes = out.size();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
  state.counters["bytes_per_state"] = static_cast<double>(bytes) / static_cast<double>(state.range(0));
}
BENCHMARK(BM_PackStates)->Arg(100)->Arg(1'000);

// The same feed decoded, as a gateway does for every feed it receives.
void BM_UnpackStates(benchmark::State& state) {
  const std::vector<uint8_t> bytes = pack_states(battle_states(static_cast<size_t>(state.range(0))), kFieldsGateway);
  std::vector<EntityState> out;
  for (auto _ : state) {
    const char* error = nullptr;
    if (!unpack_states(bytes, kBatchEntitiesMax, out, &error)) state.SkipWithError(error);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_UnpackStates)->Arg(100)->Arg(1'000);

// One client's view, one tick at a time: build against the fight's candidates, commit.
void BM_ClientViewTick(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Xoshiro256 random(11);
  std::vector<client::Seen> seen(n);
  std::vector<uint64_t> version(n);
  uint64_t next_version = 1;
  uint64_t next_id = 1;
  for (size_t i = 0; i < n; ++i) {
    seen[i] = client::seen_of(battle_state(next_id++, random));
    version[i] = next_version++;
  }
  const EntityId self = seen[0].id;
  ClientView view{ViewLimits{}};
  std::vector<ViewCandidate> candidates;
  std::vector<ClientView::Aggregate> aggregates;
  std::vector<uint8_t> out;
  Tick tick = 1;
  size_t deferred = 0;
  for (auto _ : state) {
    state.PauseTiming();
    // The fight moves on: a third of the view moves, one in fifty is replaced by a newcomer.
    for (size_t i = 0; i < n; ++i) {
      if (i != 0 && uniform_range(random, 0, 49) == 0) {
        seen[i] = client::seen_of(battle_state(next_id++, random));
        version[i] = next_version++;
      } else if (i == 0 || uniform_range(random, 0, 2) == 0) {
        seen[i].x_cm += static_cast<int32_t>(uniform_range(random, 0, 60)) - 30;
        seen[i].y_cm += static_cast<int32_t>(uniform_range(random, 0, 60)) - 30;
        version[i] = next_version++;
      }
    }
    candidates.clear();
    for (size_t i = 0; i < n; ++i) candidates.push_back(ViewCandidate{seen[i].id, &seen[i], version[i], 1 + static_cast<uint32_t>(i % 4)});
    std::sort(candidates.begin(), candidates.end(), [](const ViewCandidate& a, const ViewCandidate& b) { return a.id < b.id; });
    out.clear();
    state.ResumeTiming();
    deferred += view.build(tick++, self, candidates, aggregates, false, 0, out).deferred;
    view.commit();
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["deferred_per_tick"] = static_cast<double>(deferred) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_ClientViewTick)->Arg(40)->Arg(140)->Arg(256);

}  // namespace
}  // namespace aether

BENCHMARK_MAIN();
