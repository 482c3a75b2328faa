#include <gtest/gtest.h>

#include "tests/unit/sim_cluster.h"

namespace aether {
namespace {

const client::Seen* find_in_view(const BotClient& bot, EntityId id) {
  for (const client::Seen& s : bot.view()) {
    if (s.id == id) return &s;
  }
  return nullptr;
}
Vec2 mm_of(const client::Seen& s) { return Vec2{s.x_cm * client::kClientUnitMm, s.y_cm * client::kClientUnitMm}; }

// A client never holds an entity outside its radius of interest: after every event of the run, each
// bot's view (built only from what its gateway sent) is checked against the bot's own position.
TEST(Interest, ClientNeverSeesBeyondItsRadius) {
  app::ClusterShape shape;
  shape.bots = 40;
  shape.rules.arena_mm = 200'000;
  shape.view_radius_mm = 30'000;
  shape.rules.fire_range_mm = 20'000;
  testing::SimCluster c(21, shape);
  uint64_t checked = 0;
  size_t biggest_view = 0;
  for (TimeNs t = 0; t < 30 * kNsPerSec; t += 5 * kNsPerMs) {
    c.sim.run_until(t);
    for (const BotClient* bot : c.cluster->bots()) {
      const client::Seen* self = find_in_view(*bot, bot->entity());
      if (!self) continue;
      biggest_view = std::max(biggest_view, bot->view_size());
      // Positions reach clients in centimetres: two roundings of at most 5 mm per axis.
      const int64_t radius = shape.view_radius_mm + 2 * client::kClientUnitMm;
      for (const client::Seen& st : bot->view()) {
        if (!st.id.valid()) continue;
        ASSERT_TRUE(within_mm(mm_of(*self), mm_of(st), radius))
            << "bot entity " << bot->entity().value << " sees entity " << st.id.value << " at distance "
            << isqrt64(static_cast<uint64_t>(distance_sq_mm2(mm_of(*self), mm_of(st)))) << " mm";
        ++checked;
      }
    }
  }
  EXPECT_GT(checked, 100'000u);
  EXPECT_GT(biggest_view, 3u) << "bots saw others, so the check above was not vacuous";
  EXPECT_LT(biggest_view, 40u) << "nobody saw the whole battle: filtering happened";
}

// Entering the radius makes an entity appear: whatever the gateway holds within the radius of a
// client's avatar, the client holds too (up to the view limit), once the next update has gone out.
TEST(Interest, ClientSeesWhatIsWithinItsRadius) {
  app::ClusterShape shape;
  shape.bots = 30;
  shape.rules.arena_mm = 150'000;
  shape.view_radius_mm = 30'000;
  testing::SimCluster c(22, shape);
  c.sim.run_until(20 * kNsPerSec);
  // Freeze the world between two ticks: the last update has been delivered (links are < 1 ms).
  c.sim.run_until(20 * kNsPerSec + 60 * kNsPerMs);
  const ComputeNode* node = c.cluster->computes().front();
  size_t compared = 0;
  for (const BotClient* bot : c.cluster->bots()) {
    const gameplay::Entity* me = node->world().find(bot->entity());
    ASSERT_NE(me, nullptr);
    for (const auto& [id, e] : node->world().entities()) {
      if (!within_mm(me->pos, e.pos, shape.view_radius_mm - 2 * shape.rules.speed_mm_per_tick)) continue;
      EXPECT_TRUE(find_in_view(*bot, id)) << "bot " << bot->entity().value << " misses entity " << id.value;
      ++compared;
    }
  }
  EXPECT_GT(compared, 30u);
}

}  // namespace
}  // namespace aether
