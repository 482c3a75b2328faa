// Zones and portals (docs/gameplay.md, "Zones and portals"): the layout the shipped zoned content
// declares, the rules movement and portals keep, and content faults named by file, line and field.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/content_loader.h"
#include "app/sim_run.h"
#include "app/text_config.h"
#include "engine/core/random.h"
#include "engine/gameplay/world.h"
#include "tests/unit/content_copy.h"

namespace aether::gameplay {
namespace {

const std::string kContentDir = std::string(AETHER_SOURCE_DIR) + "/content";
const std::string kZonedDir = kContentDir + "/zoned";

std::shared_ptr<const Content> zoned() {
  auto c = app::load_content(kZonedDir);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? c.value() : nullptr;
}

TEST(Zones, TheShippedLayoutHoldsItsRules) {
  auto c = zoned();
  ASSERT_TRUE(c);
  EXPECT_TRUE(check(*c).empty());
  ASSERT_EQ(c->zones.size(), 2u);
  ASSERT_EQ(c->portals.size(), 2u);
  const ZoneDef& lowlands = c->zones[0];
  const ZoneDef& crypt = c->zones[1];
  EXPECT_EQ(c->home_zone(), &lowlands);
  EXPECT_EQ(c->zone_of(Vec2{0, 0}), &lowlands);
  EXPECT_EQ(c->zone_of(Vec2{399'999, 399'999}), &lowlands);
  EXPECT_EQ(c->zone_of(Vec2{400'000, 200'000}), nullptr) << "the east edge is exclusive";
  EXPECT_EQ(c->zone_of(Vec2{450'000, 50'000}), nullptr) << "between zones is nowhere";
  EXPECT_EQ(c->zone_of(Vec2{500'000, 50'000}), &crypt);
  EXPECT_EQ(c->zone_of(Vec2{550'000, 100'000}), nullptr);
  // No view radius (50 m in the scenarios, below kZoneGapMm) reaches from one zone into the other.
  EXPECT_GE(crypt.min.x_mm - (lowlands.min.x_mm + lowlands.width_mm), kZoneGapMm);
  // Every portal leads into another zone, to a point that is in no portal's disc.
  for (const PortalDef& p : c->portals) {
    EXPECT_EQ(c->zone_of(p.pos)->id, p.zone) << p.name;
    EXPECT_EQ(c->zone_of(p.to)->id, p.to_zone) << p.name;
    EXPECT_NE(p.zone, p.to_zone) << p.name;
    EXPECT_EQ(c->portal_at(p.to), nullptr) << p.name;
    EXPECT_EQ(c->portal_at(p.pos), &p) << p.name;
  }
  // Every spawner's home lies in a zone; the crypt has monsters of its own.
  size_t in_crypt = 0;
  for (const SpawnerDef& sp : c->spawners) {
    ASSERT_TRUE(c->zone_of(sp.pos)) << sp.name;
    in_crypt += c->zone_of(sp.pos) == &crypt;
  }
  EXPECT_GE(in_crypt, 1u);
  // Zones are part of the rules the servers compare; the base content has none, and its hash is
  // what it was before zones (no zone field is hashed when there are none).
  auto base = app::load_content(kContentDir);
  ASSERT_TRUE(base.ok());
  EXPECT_TRUE(base.value()->zones.empty());
  EXPECT_NE(base.value()->hash(), c->hash());
  Content moved = *c;
  moved.portals[0].to.x_mm += 1'000;
  EXPECT_NE(moved.hash(), c->hash());
}

TEST(Zones, SpawnsAreInTheHomeZoneAndWithoutZonesAsBefore) {
  auto c = zoned();
  ASSERT_TRUE(c);
  Rules rules;
  rules.arena_mm = 600'000;
  rules.content = c;
  Rules plain;
  plain.arena_mm = 600'000;
  Xoshiro256 a(7), b(7), d(7);
  for (int i = 0; i < 500; ++i) {
    const Vec2 p = World::spawn_point(rules, static_cast<uint32_t>(i % 2), a);
    ASSERT_EQ(c->zone_of(p), c->home_zone()) << p.x_mm << "," << p.y_mm;
  }
  // Without zones the spawn is exactly the arena's team band, as it was.
  for (int i = 0; i < 50; ++i) {
    const Vec2 p = World::spawn_point(plain, 1, b);
    const int64_t band = plain.arena_mm / 2;
    const int64_t x = band + uniform_range(d, band / 8, band - band / 8 - 1);
    const int64_t y = uniform_range(d, plain.arena_mm / 8, plain.arena_mm - plain.arena_mm / 8 - 1);
    ASSERT_EQ(p, (Vec2{static_cast<int32_t>(x), static_cast<int32_t>(y)}));
  }
}

TEST(Zones, MovementStaysInItsZoneAndAPortalTakesAPlayerInOneTick) {
  auto c = zoned();
  ASSERT_TRUE(c);
  Rules rules;
  rules.arena_mm = 600'000;
  rules.content = c;
  World w(rules);
  const PortalDef& gate = c->portals[0];
  // Walking east along the lowlands' edge, away from the gate: stopped at the zone's edge, never
  // between zones, however long it walks.
  Entity& walker = w.spawn(EntityId(1), Vec2{399'000, 20'000}, 0, 1);
  for (Tick t = 1; t <= 20; ++t) {
    w.set_tick(t);
    ASSERT_EQ(w.apply_input(walker.id, ClientInput{static_cast<uint32_t>(t), 1000, 0, EntityId{}, 0}), ApplyResult::kApplied);
    w.update(walker);
    EXPECT_EQ(w.take_portal(walker), nullptr);
    ASSERT_EQ(c->zone_of(walker.pos), c->home_zone());
  }
  EXPECT_EQ(walker.pos.x_mm, 399'999);
  // A player stepping into the gate's disc is at the gate's destination within the same tick.
  Entity& traveller = w.spawn(EntityId(2), Vec2{gate.pos.x_mm - gate.radius_mm - 300, gate.pos.y_mm}, 0, 1);
  w.set_tick(30);
  ASSERT_EQ(w.apply_input(traveller.id, ClientInput{1, 1000, 0, EntityId{}, 0}), ApplyResult::kApplied);
  const uint64_t version = traveller.version;
  w.update(traveller);
  EXPECT_EQ(w.take_portal(traveller), &gate);
  EXPECT_EQ(traveller.pos, gate.to);
  EXPECT_EQ(c->zone_of(traveller.pos)->id, gate.to_zone);
  EXPECT_GT(traveller.version, version) << "a portal move is a change the feeds carry";
  EXPECT_EQ(traveller.move_x, 0);
  EXPECT_EQ(w.take_portal(traveller), nullptr) << "the destination is in no portal: no bounce";
  // NPCs and the dead do not take portals.
  Entity& ghost_of_war = w.spawn(EntityId(3), gate.pos, 0, 1);
  ghost_of_war.hp = 0;
  ghost_of_war.dead = true;
  EXPECT_EQ(w.take_portal(ghost_of_war), nullptr);
  Entity* npc = w.spawn_npc(EntityId(4), 1, gate.pos, 1);
  ASSERT_TRUE(npc);
  EXPECT_EQ(w.take_portal(*npc), nullptr);
  EXPECT_EQ(npc->pos, gate.pos);
}

// Travellers in the zoned world (60 s: they fight 20 s, then walk some 200 m to the gate): the checker
// holds every entity to a zone and every portal move to its destination. With a portal that drops
// its traveller 50 m short (portal-outside-zone), it fails at the portal's record (kind 126).
TEST(Zones, TravellersCrossAndTheCheckerCatchesAPortalThatMissesItsZone) {
  const std::string travel = std::string(R"(
name: "zones-travel"
duration_s: 60
topology { coordinators: 1 compute_nodes: 2 gateways: 1 }
bots { count: 40 teams: 2 join_spread_ms: 1000 travellers: 30 }
network { latency_us: 500 jitter_us: 200 }
world { arena_m: 600 view_radius_m: 50 fire_range_m: 30 content_dir: ")") + kZonedDir + "\" }\n";
  auto parse = [&](const std::string& text) {
    wire::Scenario s;
    const Status parsed = app::parse_text_proto("zones-travel.textpb", text, &s);
    EXPECT_TRUE(parsed.ok()) << parsed.error().message;
    return s;
  };
  const app::Outcome clean = app::run_scenario(parse(travel), app::SimRunOptions{1, "", LogLevel::kError});
  ASSERT_EQ(clean.failure, "") << "without the bug the run must pass, or the test proves nothing";
  EXPECT_GT(clean.figures.portals_taken, 0u) << "travellers went through portals";
  EXPECT_EQ(clean.checks.portals_taken, clean.figures.portals_taken) << "the checker saw every portal move (no node crashed)";
  EXPECT_GT(clean.checks.zone_checks, 0u);
  const app::Outcome planted = app::run_scenario(parse(travel + "planted_bug: \"portal-outside-zone\"\n"), app::SimRunOptions{1, "", LogLevel::kError});
  EXPECT_NE(planted.failure.find("VIOLATION"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.failure.find("not at its destination"), std::string::npos) << planted.failure;
  EXPECT_NE(planted.first_event.find("trace record kind 126"), std::string::npos) << planted.first_event;
}

class BrokenZones : public aether::testing::ContentCopy {
 protected:
  std::string error(const std::string& zones_text) {
    {
      std::ofstream out(dir_ / "zones.textpb", std::ios::trunc);
      out << zones_text;
    }
    auto c = app::load_content(dir_.string());
    EXPECT_FALSE(c.ok());
    return c.ok() ? std::string() : c.error().message;
  }
};

constexpr const char* kTwoZones =
    "# zones\n"
    "zones { id: 1 name: \"lowlands\" x_m: 0 y_m: 0 width_m: 400 height_m: 400 }\n"
    "zones { id: 2 name: \"crypt\" x_m: 500 y_m: 0 width_m: 100 height_m: 100 }\n";

TEST_F(BrokenZones, FaultsNameFileLineAndField) {
  // Zones too close: no view radius may reach across two.
  std::string e = error("# zones\nzones { id: 1 name: \"lowlands\" x_m: 0 y_m: 0 width_m: 400 height_m: 400 }\n\n"
                        "zones { id: 2 name: \"crypt\" x_m: 450 y_m: 0 width_m: 100 height_m: 100 }\n");
  EXPECT_NE(e.find("zones.textpb:4: field x_m"), std::string::npos) << e;
  EXPECT_NE(e.find("at least 100 m apart"), std::string::npos) << e;
  // Overlapping zones.
  e = error("zones { id: 1 name: \"a\" x_m: 0 y_m: 0 width_m: 400 height_m: 400 }\nzones { id: 2 name: \"b\" x_m: 100 y_m: 100 width_m: 50 height_m: 50 }\n");
  EXPECT_NE(e.find("zones.textpb:2: field x_m"), std::string::npos) << e;
  // Too small, and an id used twice.
  e = error("zones { id: 1 name: \"lowlands\" x_m: 0 y_m: 0 width_m: 400 height_m: 400 }\nzones { id: 2 name: \"closet\" x_m: 500 y_m: 0 width_m: 5 height_m: 100 }\n");
  EXPECT_NE(e.find("zones.textpb:2: field width_m"), std::string::npos) << e;
  e = error("zones { id: 1 name: \"lowlands\" x_m: 0 y_m: 0 width_m: 400 height_m: 400 }\nzones { id: 1 name: \"crypt\" x_m: 500 y_m: 0 width_m: 100 height_m: 100 }\n");
  EXPECT_NE(e.find("zones.textpb:2: field id"), std::string::npos) << e;
  // A portal into an unknown zone, one leading into a portal's disc, one whose disc leaves its zone.
  e = error(std::string(kTwoZones) + "portals { name: \"p\" zone: \"lowlands\" x_m: 380 y_m: 200 radius_m: 5 to_zone: \"attic\" to_x_m: 510 to_y_m: 50 }\n");
  EXPECT_NE(e.find("zones.textpb:4: field to_zone"), std::string::npos) << e;
  e = error(std::string(kTwoZones) +
            "portals { name: \"in\" zone: \"lowlands\" x_m: 380 y_m: 200 radius_m: 5 to_zone: \"crypt\" to_x_m: 590 to_y_m: 50 }\n"
            "portals { name: \"out\" zone: \"crypt\" x_m: 590 y_m: 50 radius_m: 5 to_zone: \"lowlands\" to_x_m: 360 to_y_m: 200 }\n");
  EXPECT_NE(e.find("zones.textpb:4: field to_x_m"), std::string::npos) << e;
  EXPECT_NE(e.find("leads into portal out's disc"), std::string::npos) << e;
  e = error(std::string(kTwoZones) + "portals { name: \"edge\" zone: \"lowlands\" x_m: 398 y_m: 200 radius_m: 5 to_zone: \"crypt\" to_x_m: 510 to_y_m: 50 }\n");
  EXPECT_NE(e.find("zones.textpb:4: field x_m"), std::string::npos) << e;
  e = error(std::string(kTwoZones) + "portals { name: \"loop\" zone: \"crypt\" x_m: 550 y_m: 50 radius_m: 5 to_zone: \"crypt\" to_x_m: 510 to_y_m: 50 }\n");
  EXPECT_NE(e.find("leads back into its own zone"), std::string::npos) << e;
  // With zones, a spawner outside every zone (npcs.textpb's spawners are in the lowlands; this one is not).
  e = error(std::string(kTwoZones) + "spawners { name: \"lost\" monster: \"wolf\" x_m: 450 y_m: 50 radius_m: 5 count: 1 respawn_ticks: 10 }\n");
  EXPECT_NE(e.find("zones.textpb:4: field x_m"), std::string::npos) << e;
  EXPECT_NE(e.find("not inside one zone"), std::string::npos) << e;
  // Portals need zones.
  e = error("portals { name: \"p\" zone: \"lowlands\" x_m: 380 y_m: 200 radius_m: 5 to_zone: \"crypt\" to_x_m: 510 to_y_m: 50 }\n");
  EXPECT_NE(e.find("no zone is named lowlands"), std::string::npos) << e;
}

}  // namespace
}  // namespace aether::gameplay
