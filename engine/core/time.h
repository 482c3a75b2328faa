#pragma once
// Time in Aether is integer nanoseconds from an origin chosen by the runtime. The engine never reads
// a clock itself; it asks the runtime's Clock.

#include <cstdint>

namespace aether {

using TimeNs = int64_t;

inline constexpr TimeNs kNsPerUs = 1'000;
inline constexpr TimeNs kNsPerMs = 1'000'000;
inline constexpr TimeNs kNsPerSec = 1'000'000'000;

inline constexpr int32_t kTickHz = 10;
inline constexpr TimeNs kTickNs = kNsPerSec / kTickHz;  // the 100 ms tick budget of seed section 10
static_assert(kTickNs * kTickHz == kNsPerSec);

}  // namespace aether
