#include "engine/compute/load_governor.h"

#include <algorithm>

#include "engine/core/assert.h"

namespace aether {

const char* load_level_name(LoadLevel level) {
  switch (level) {
    case LoadLevel::kNormal: return "normal";
    case LoadLevel::kShedOpportunistic: return "shedding opportunistic load";
    case LoadLevel::kShedSoft: return "shedding soft load";
  }
  return "?";
}

uint32_t LoadGovernor::threshold(LoadLevel level) const {
  switch (level) {
    case LoadLevel::kNormal: return 0;
    case LoadLevel::kShedOpportunistic: return limits_.shed_opportunistic_permille;
    case LoadLevel::kShedSoft: return limits_.shed_soft_permille;
  }
  return 0;
}

LoadLevel LoadGovernor::level_for(uint32_t load) const {
  if (load > limits_.shed_soft_permille) return LoadLevel::kShedSoft;
  if (load > limits_.shed_opportunistic_permille) return LoadLevel::kShedOpportunistic;
  return LoadLevel::kNormal;
}

bool LoadGovernor::observe(Tick tick, size_t entities, uint32_t capacity_entities, TimeNs tick_cost_ns) {
  AETHER_ASSERT(limits_.shed_opportunistic_permille < limits_.shed_soft_permille);
  AETHER_ASSERT(limits_.recover_margin_permille < limits_.shed_opportunistic_permille);
  costs_[tick % kCostWindowTicks] = std::max<TimeNs>(0, tick_cost_ns);
  const TimeNs planned_cost_ns = kTickNs * limits_.tick_cost_planned_permille / 1000;
  const TimeNs cost = *std::max_element(costs_.begin(), costs_.end());
  const uint64_t by_cost = planned_cost_ns > 0 ? static_cast<uint64_t>(cost) * 1000 / static_cast<uint64_t>(planned_cost_ns) : 0;
  const uint64_t by_entities = static_cast<uint64_t>(entities) * 1000 / std::max<uint32_t>(capacity_entities, 1);
  load_permille_ = static_cast<uint32_t>(std::min<uint64_t>(std::max(by_cost, by_entities), 1'000'000));
  ++ticks_at_[static_cast<size_t>(level_)];
  if (!limits_.enabled) return false;

  const LoadLevel wanted = level_for(load_permille_);
  LoadLevel next = level_;
  if (wanted > level_) {
    next = wanted;  // shed at once: an overrun tick is worse than a thinner one
  } else if (level_ != LoadLevel::kNormal && load_permille_ + limits_.recover_margin_permille < threshold(level_)) {
    if (++below_since_ >= limits_.recover_ticks) next = static_cast<LoadLevel>(static_cast<uint8_t>(level_) - 1);
  } else {
    below_since_ = 0;
  }
  if (next == level_) return false;
  level_ = next;
  below_since_ = 0;
  ++entered_[static_cast<size_t>(level_)];
  return true;
}

}  // namespace aether
