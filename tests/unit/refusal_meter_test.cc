// engine/compute/refusal_meter.h: the owner's count of refused actions per entity and window.

#include <gtest/gtest.h>

#include "engine/compute/refusal_meter.h"

namespace aether {
namespace {

TEST(RefusalMeter, SaysOnceWhenAnEntityPassesTheLimitInOneWindow) {
  RefusalMeter m;
  const EntityId a(1), b(2);
  for (uint32_t i = 0; i < kRefusalsMax; ++i) EXPECT_FALSE(m.refused(a, 10)) << i;
  EXPECT_FALSE(m.refused(b, 10)) << "entities are counted apart";
  EXPECT_TRUE(m.refused(a, 11)) << "the refusal past the limit";
  for (int i = 0; i < 100; ++i) EXPECT_FALSE(m.refused(a, 12)) << "said once per window";
}

TEST(RefusalMeter, AWindowStartsAfreshAndOldWindowsAreSwept) {
  RefusalMeter m;
  const EntityId a(1);
  for (uint32_t i = 0; i < kRefusalsMax; ++i) EXPECT_FALSE(m.refused(a, 5));
  // The next refusal falls in a new window: the count starts again.
  EXPECT_FALSE(m.refused(a, 5 + kRefusalWindowTicks));
  for (uint32_t i = 1; i < kRefusalsMax; ++i) EXPECT_FALSE(m.refused(a, 5 + kRefusalWindowTicks));
  EXPECT_TRUE(m.refused(a, 5 + kRefusalWindowTicks + 1));
  for (uint64_t e = 10; e < 1010; ++e) m.refused(EntityId(e), 300);
  EXPECT_EQ(m.tracked(), 1001u);
  m.sweep(300 + kRefusalWindowTicks);  // every window has ended: nothing is kept
  EXPECT_EQ(m.tracked(), 0u);
}

}  // namespace
}  // namespace aether
