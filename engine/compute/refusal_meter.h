#pragma once
// Refused actions per entity, per window of kRefusalWindowTicks. An honest client knows its bar, its
// cooldowns (the owner sends them), its target's team and roughly its range, so the owner refuses it
// a few actions a window (a key pressed early, a target that moved); a client refused more than
// kRefusalsMax times in one window is cheating or broken, and its session is ended (the owner tells
// the gateway holding it: SessionKick). The gateway's own budget (InputGuard) judges what the
// gateway can see (rate, sequence, targets out of view); this one judges what only the owner can.
//
// One entry per entity refused in the current window, swept every window: bounded by the entities
// the node owns, whatever the clients send. Ordered map: deterministic iteration.

#include <cstdint>
#include <map>

#include "engine/core/ids.h"

namespace aether {

inline constexpr Tick kRefusalWindowTicks = 100;  // 10 s at 10 Hz
inline constexpr uint32_t kRefusalsMax = 50;      // within one window; the gateway's input budget is the same

class RefusalMeter {
 public:
  // Counts a refusal of e's action at tick now. True exactly once per window: when e passes the limit.
  bool refused(EntityId e, Tick now) {
    Count& c = counts_[e];
    if (c.refusals == 0 || now >= c.window_start + kRefusalWindowTicks) c = Count{now, 0};
    return ++c.refusals == kRefusalsMax + 1;
  }
  // Drops the windows that ended before now (call at most once a tick; cost: the entries).
  void sweep(Tick now) {
    if (now < next_sweep_) return;
    next_sweep_ = now + kRefusalWindowTicks;
    std::erase_if(counts_, [now](const auto& kv) { return now >= kv.second.window_start + kRefusalWindowTicks; });
  }
  size_t tracked() const { return counts_.size(); }

 private:
  struct Count {
    Tick window_start = 0;
    uint32_t refusals = 0;
  };
  std::map<EntityId, Count> counts_;
  Tick next_sweep_ = 0;
};

}  // namespace aether
