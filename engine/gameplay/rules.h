#pragma once
// Gameplay tuning. Integers only: every unit is in the name.

#include <cstdint>
#include <memory>

#include "engine/core/ids.h"

namespace aether::gameplay {

struct Content;  // content.h

struct Rules {
  int32_t arena_mm = 400'000;            // square arena [0, arena) on both axes
  int32_t speed_mm_per_tick = 600;       // 6 m/s at 10 Hz
  int32_t hp_max = 100;
  int32_t fire_damage = 7;
  int32_t fire_range_mm = 30'000;
  Tick fire_cooldown_ticks = 5;
  Tick respawn_ticks = 30;
  uint32_t teams = 2;
  // Teams spawn in bands side by side across a strip this wide at the arena's middle, the whole
  // height of the arena (0, or the arena's side: across the whole arena). A large arena with a
  // narrow front is a battle whose teams meet at once (scenarios/v3-battle).
  int32_t spawn_front_mm = 0;
  // Classes, skills and effects (content.h); null: classic_content(*this), the one-skill game the
  // fields above describe.
  std::shared_ptr<const Content> content;
};

}  // namespace aether::gameplay
