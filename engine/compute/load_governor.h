#pragma once
// A compute node's load level: what it stops doing to keep its 10 Hz tick when pushed past its
// planned load (seed 000 §0, controlled degradation rather than a global stall; §14, the three kinds
// of load). This type owns the level, its thresholds and its hysteresis; the node only asks it what
// to run this tick.
//
// Load, in permille of plan, is the larger of two readings:
//   - entities owned against the node's planned capacity (ComputeConfig::capacity_entities);
//   - the tick's own cost against the planned share of the tick budget (the costliest tick of the
//     last kCostWindowTicks ticks). The simulator's clock does not move inside a callback, so there
//     this reading is 0 and the level follows entities alone: same seed, same levels.
//
// Levels, entered as soon as the load crosses their threshold, left only once it has stayed below
// the threshold minus a margin for recover_ticks (so that a node hovering at a threshold does not
// flap, and its subscribers do not see the rate change every tick):
//   kNormal
//   kShedOpportunistic  past plan: ghost interest (prefetch of other nodes' entities near ours) is
//                       recomputed kOpportunisticStretch times less often.
//   kShedSoft           well past plan: also every feed (to gateways, to other nodes' ghosts) is
//                       built and sent every other tick: clients see 5 updates a second, ghosts are
//                       up to 200 ms old. Feeds carry changes since what the subscriber was last
//                       sent, so a skipped tick's changes go in the next batch, none is lost.
// Hard load is never shed: inputs, gameplay phases, intents, heartbeats and leases, snapshots (the
// checker's rollback bound rests on them), migrations and handoffs. While a node sheds, the
// coordinator's region cut (by entities against capacity) moves regions away from it.

#include <array>
#include <cstdint>

#include "engine/core/ids.h"
#include "engine/core/time.h"
#include "engine/wire/messages.h"

namespace aether {

enum class LoadLevel : uint8_t { kNormal = 0, kShedOpportunistic = 1, kShedSoft = 2 };
inline constexpr size_t kLoadLevels = 3;
static_assert(kLoadLevelMax + 1 == kLoadLevels, "Heartbeat.load_level carries every level");
const char* load_level_name(LoadLevel level);

struct LoadGovernorLimits {
  bool enabled = true;                      // off: the level stays normal whatever the load (for comparison runs)
  uint32_t shed_opportunistic_permille = 1000;  // past plan
  uint32_t shed_soft_permille = 1250;
  uint32_t recover_margin_permille = 100;   // a level is left below its threshold minus this
  Tick recover_ticks = 20;                  // ... for this many ticks in a row (2 s)
  uint32_t tick_cost_planned_permille = 500;  // of the tick budget: the cost that counts as 100% of plan
};

class LoadGovernor {
 public:
  static constexpr Tick kCostWindowTicks = 10;
  static constexpr uint64_t kOpportunisticStretch = 4;

  explicit LoadGovernor(LoadGovernorLimits limits = {}) : limits_(limits) {}

  // Once per tick, after it ran: entities owned, the planned capacity, and what the tick cost.
  // Returns true when the level changed.
  bool observe(Tick tick, size_t entities, uint32_t capacity_entities, TimeNs tick_cost_ns);

  LoadLevel level() const { return level_; }
  uint32_t load_permille() const { return load_permille_; }
  // Whether feeds are built and sent at `tick` (every tick unless soft load is shed).
  bool feeds_due(Tick tick) const { return level_ < LoadLevel::kShedSoft || tick % 2 == 0; }
  // How many times less often opportunistic work runs.
  uint64_t opportunistic_stretch() const { return level_ >= LoadLevel::kShedOpportunistic ? kOpportunisticStretch : 1; }
  // Ticks spent at each level, and the times each shedding level was entered.
  uint64_t ticks_at(LoadLevel level) const { return ticks_at_[static_cast<size_t>(level)]; }
  uint64_t entered(LoadLevel level) const { return entered_[static_cast<size_t>(level)]; }

 private:
  uint32_t threshold(LoadLevel level) const;
  LoadLevel level_for(uint32_t load) const;

  LoadGovernorLimits limits_;
  LoadLevel level_ = LoadLevel::kNormal;
  uint32_t load_permille_ = 0;
  Tick below_since_ = 0;        // ticks in a row below the current level's exit point
  std::array<TimeNs, kCostWindowTicks> costs_{};
  std::array<uint64_t, kLoadLevels> ticks_at_{};
  std::array<uint64_t, kLoadLevels> entered_{};
};

}  // namespace aether
