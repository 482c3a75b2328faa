#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "app/content_loader.h"
#include "tests/unit/content_copy.h"

namespace aether::app {
namespace {

const std::string kContentDir = std::string(AETHER_SOURCE_DIR) + "/content";

TEST(ContentLoader, TheShippedContentLoadsAndPassesEveryRule) {
  auto c = load_content(kContentDir);
  ASSERT_TRUE(c.ok()) << c.error().message;
  const gameplay::Content& content = *c.value();
  EXPECT_GE(content.classes.size(), 4u);
  EXPECT_GE(content.skills.size(), 16u);
  EXPECT_TRUE(gameplay::check(content).empty());
  // Every effect kind the engine knows is used by some effect, and every effect by some skill.
  uint32_t kinds = 0;
  for (const auto& e : content.effects) kinds |= 1u << static_cast<uint32_t>(e.kind);
  EXPECT_EQ(kinds, (1u << gameplay::kEffectKinds) - 1);
  for (const auto& e : content.effects) {
    EXPECT_TRUE(std::any_of(content.skills.begin(), content.skills.end(), [&](const auto& s) { return s.effect == e.id; })) << e.name;
  }
  // Loading is deterministic: the hash the servers compare is the same every time.
  EXPECT_EQ(load_content(kContentDir).value()->hash(), content.hash());
}

class BrokenContent : public aether::testing::ContentCopy {
 protected:
  void append(const char* file, const std::string& text) {
    std::ofstream out(dir_ / file, std::ios::app);
    out << text;
  }
  std::string error() {
    auto c = load_content(dir_.string());
    EXPECT_FALSE(c.ok());
    return c.ok() ? std::string() : c.error().message;
  }
};

TEST_F(BrokenContent, ExperienceFaultsNameFileLineAndField) {
  std::filesystem::remove(dir_ / "experience.textpb");
  append("levels.textpb", "# levels\n\nexperience {\n  kill_xp: 10\n  level_xp: [20, 20]\n}\n");
  std::string e = error();
  EXPECT_NE(e.find("levels.textpb:5: field level_xp"), std::string::npos) << e;
  std::filesystem::remove(dir_ / "levels.textpb");
  append("levels.textpb", "experience { kill_xp: 10 assist_xp: 11 level_xp: [20] }\n");
  e = error();
  EXPECT_NE(e.find("levels.textpb:1: field assist_xp"), std::string::npos) << e;
  append("more.textpb", "experience { kill_xp: 10 }\n");
  e = error();
  EXPECT_NE(e.find("experience set again"), std::string::npos) << e;
}

// Encounters (docs/gameplay.md, "Encounters"): the shipped file sets the defaults; a fault names its
// file, line and field; unset fields keep their defaults; a second `encounters` is refused.
TEST_F(BrokenContent, EncounterFaultsNameFileLineAndField) {
  auto shipped = load_content(kContentDir);
  ASSERT_TRUE(shipped.ok());
  EXPECT_EQ(shipped.value()->encounters, gameplay::EncounterDef{});
  std::filesystem::remove(dir_ / "encounters.textpb");
  append("duels.textpb", "# duels\n\nencounters {\n  turn_ticks: 20\n  rounds_max: 500\n}\n");
  std::string e = error();
  EXPECT_NE(e.find("duels.textpb:5: field rounds_max"), std::string::npos) << e;
  std::filesystem::remove(dir_ / "duels.textpb");
  append("duels.textpb", "encounters { turn_ticks: 20 }\n");
  auto loaded = load_content(dir_.string());
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  EXPECT_EQ(loaded.value()->encounters.turn_ticks, 20u);
  EXPECT_EQ(loaded.value()->encounters.rounds_max, gameplay::EncounterDef{}.rounds_max);
  EXPECT_NE(loaded.value()->hash(), shipped.value()->hash()) << "other encounter rules, other content";
  append("more.textpb", "encounters { rounds_max: 3 }\n");
  e = error();
  EXPECT_NE(e.find("encounters set again"), std::string::npos) << e;
}

TEST_F(BrokenContent, AnUnknownFieldNamesFileAndLine) {
  append("skills.textpb", "skills { id: 99 name: \"x\" damage: 1 splash: 3 }\n");
  const std::string e = error();
  EXPECT_NE(e.find("skills.textpb:"), std::string::npos) << e;
  EXPECT_NE(e.find("splash"), std::string::npos) << e;
}

TEST_F(BrokenContent, ABrokenRuleNamesFileLineAndField) {
  append("effects.textpb", "\neffects {\n  id: 40\n  name: \"overstack\"\n  kind: DAMAGE_OVER_TIME\n  duration_ticks: 10 period_ticks: 5 magnitude: 1\n  stacks_max: 4\n}\n");
  const std::string e = error();
  EXPECT_NE(e.find("effects.textpb:"), std::string::npos) << e;
  EXPECT_NE(e.find("field stacks_max"), std::string::npos) << e;
  EXPECT_NE(e.find("only stacking effects"), std::string::npos) << e;
}

TEST_F(BrokenContent, AnUnresolvedNameAndADuplicateIdAreRefused) {
  append("classes.textpb", "classes { id: 9 name: \"bard\" hp_max: 10 speed_mm_per_tick: 500 skills: [\"lute\"] }\n");
  EXPECT_NE(error().find("no skill is named lute"), std::string::npos);
  std::filesystem::copy_file(kContentDir + "/classes.textpb", dir_ / "classes.textpb", std::filesystem::copy_options::overwrite_existing);
  append("skills.textpb", "skills { id: 1 name: \"strike_again\" aim: ENEMY range_m: 5 damage: 1 }\n");
  const std::string e = error();
  EXPECT_NE(e.find("skill id 1 is used twice"), std::string::npos) << e;
  EXPECT_NE(e.find("field id"), std::string::npos) << e;
}

TEST_F(BrokenContent, NpcFaultsNameFileLineAndField) {
  auto shipped = load_content(kContentDir);
  ASSERT_TRUE(shipped.ok());
  EXPECT_GE(shipped.value()->monsters.size(), 3u);
  EXPECT_GE(shipped.value()->spawners.size(), 3u);
  append("npcs.textpb", "\nspawners {\n  name: \"empty\" monster: \"wolf\" x_m: 10 y_m: 10\n  count: 0 respawn_ticks: 10\n}\n");
  std::string e = error();
  EXPECT_NE(e.find("npcs.textpb:"), std::string::npos) << e;
  EXPECT_NE(e.find("field count"), std::string::npos) << e;
  std::filesystem::copy_file(kContentDir + "/npcs.textpb", dir_ / "npcs.textpb", std::filesystem::copy_options::overwrite_existing);
  append("npcs.textpb", "spawners { name: \"lost\" monster: \"dragon\" count: 1 respawn_ticks: 10 }\n");
  e = error();
  EXPECT_NE(e.find("no monster is named dragon"), std::string::npos) << e;
  EXPECT_NE(e.find("field monster"), std::string::npos) << e;
  std::filesystem::copy_file(kContentDir + "/npcs.textpb", dir_ / "npcs.textpb", std::filesystem::copy_options::overwrite_existing);
  append("npcs.textpb", "monsters { id: 120 name: \"imp\" hp_max: 10 speed_mm_per_tick: 100 skill: \"heal\" aggro_radius_m: 5 leash_m: 10 }\n");
  e = error();
  EXPECT_NE(e.find("field skill"), std::string::npos) << e;
  EXPECT_NE(e.find("aims at an enemy"), std::string::npos) << e;
}

}  // namespace
}  // namespace aether::app
