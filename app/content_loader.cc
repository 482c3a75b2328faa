#include "app/content_loader.h"

#include <algorithm>
#include <filesystem>
#include <map>

#include <fmt/format.h>
#include <google/protobuf/text_format.h>

#include "app/economy_content.h"
#include "app/text_config.h"
#include "content.pb.h"

namespace aether::app {

namespace {

namespace pb = google::protobuf;

// Where an entry of the content came from: its file and the parse locations of its fields.
struct Origin {
  std::string file;
  std::shared_ptr<pb::TextFormat::ParseInfoTree> tree;  // the file's
  const pb::TextFormat::ParseInfoTree* entry = nullptr;  // the entry's subtree
  const pb::Message* message = nullptr;
};

std::string where(const Origin& o, const std::string& field) {
  int line = -1;
  if (o.entry && o.message) {
    if (const pb::FieldDescriptor* f = o.message->GetDescriptor()->FindFieldByName(field)) {
      const pb::TextFormat::ParseLocation loc = o.entry->GetLocation(f, f->is_repeated() ? 0 : -1);
      line = loc.line;
    }
    if (line < 0) {
      // The field is absent (defaulted): point at the entry's first field.
      const pb::Descriptor* d = o.message->GetDescriptor();
      for (int i = 0; i < d->field_count() && line < 0; ++i) {
        const pb::FieldDescriptor* f = d->field(i);
        line = o.entry->GetLocation(f, f->is_repeated() ? 0 : -1).line;
      }
    }
  }
  return line >= 0 ? fmt::format("{}:{}: field {}", o.file, line + 1, field) : fmt::format("{}: field {}", o.file, field);
}

uint32_t kinds_mask(const pb::RepeatedField<int>& kinds) {
  uint32_t mask = 0;
  for (int k : kinds) mask |= 1u << static_cast<uint32_t>(k);
  return mask;
}

}  // namespace

Status check_zones_fit(const gameplay::Content& content, int64_t arena_mm, int64_t view_radius_mm) {
  for (const gameplay::ZoneDef& z : content.zones) {
    if (int64_t{z.min.x_mm} + z.span_width_mm() > arena_mm || int64_t{z.min.y_mm} + z.height_mm > arena_mm) {
      return make_error(Error::Code::kInvalidArgument, fmt::format("zone {} reaches past the arena ({} m)", z.name, arena_mm / 1000));
    }
  }
  if (!content.zones.empty() && view_radius_mm >= gameplay::kZoneGapMm) {
    return make_error(Error::Code::kInvalidArgument,
                      fmt::format("a view radius of {} m reaches across zones: it must stay below the {} m between them", view_radius_mm / 1000, gameplay::kZoneGapMm / 1000));
  }
  return ok_status();
}

Result<std::shared_ptr<const gameplay::Content>> load_content(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return make_error(Error::Code::kIo, fmt::format("{}: not a content directory", dir));
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".textpb") files.push_back(entry.path().string());
  }
  if (ec) return make_error(Error::Code::kIo, fmt::format("{}: {}", dir, ec.message()));
  std::sort(files.begin(), files.end());
  if (files.empty()) return make_error(Error::Code::kMalformed, fmt::format("{}: no .textpb content file", dir));
  if (files.size() > kContentFilesMax) return make_error(Error::Code::kTooLarge, fmt::format("{}: more than {} content files", dir, kContentFilesMax));

  std::vector<std::unique_ptr<content::ContentFile>> parsed;
  std::vector<Origin> classes, skills, effects, monsters, spawners, zones, portals;
  auto out = std::make_shared<gameplay::Content>();
  std::string gcd_file;
  Origin experience;  // the file that sets it, if one does
  Origin encounters;  // likewise
  for (const std::string& path : files) {
    std::string text;
    if (Status st = read_text_file(path, &text); !st.ok()) return st.error();
    auto file = std::make_unique<content::ContentFile>();
    auto tree = std::make_shared<pb::TextFormat::ParseInfoTree>();
    pb::TextFormat::Parser parser;
    parser.WriteLocationsTo(tree.get());
    if (Status st = parse_text_proto(path, text, file.get()); !st.ok()) return st.error();
    parser.ParseFromString(text, file.get());  // again, for the locations (it parsed above)
    const pb::Descriptor* d = file->GetDescriptor();
    if (file->global_cooldown_ticks() != 0) {
      if (!gcd_file.empty()) return make_error(Error::Code::kMalformed, fmt::format("{}: global_cooldown_ticks set again (first in {})", path, gcd_file));
      gcd_file = path;
      out->global_cooldown_ticks = file->global_cooldown_ticks();
    }
    if (file->has_experience()) {
      if (!experience.file.empty()) return make_error(Error::Code::kMalformed, fmt::format("{}: experience set again (first in {})", path, experience.file));
      experience = {path, tree, tree->GetTreeForNested(d->FindFieldByName("experience"), -1), &file->experience()};
      const content::Experience& x = file->experience();
      for (const auto& [field, v] : {std::pair{"kill_xp", x.kill_xp()}, std::pair{"assist_xp", x.assist_xp()}}) {
        if (v > static_cast<uint32_t>(gameplay::kExperienceMax)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} is past {}", where(experience, field), v, gameplay::kExperienceMax));
      }
      out->experience.kill_xp = static_cast<int32_t>(x.kill_xp());
      out->experience.assist_xp = static_cast<int32_t>(x.assist_xp());
      out->experience.assist_window_ticks = x.assist_window_ticks();
      for (uint32_t need : x.level_xp()) {
        if (need > static_cast<uint32_t>(gameplay::kExperienceMax)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} is past {}", where(experience, "level_xp"), need, gameplay::kExperienceMax));
        out->experience.level_xp.push_back(static_cast<int32_t>(need));
      }
    }
    if (file->has_encounters()) {
      if (!encounters.file.empty()) return make_error(Error::Code::kMalformed, fmt::format("{}: encounters set again (first in {})", path, encounters.file));
      encounters = {path, tree, tree->GetTreeForNested(d->FindFieldByName("encounters"), -1), &file->encounters()};
      const content::Encounters& x = file->encounters();
      for (const auto& [field, v] : {std::pair{"turn_ticks", x.turn_ticks()}, std::pair{"rounds_max", x.rounds_max()},
                                     std::pair{"challenge_range_m", x.challenge_range_m()}, std::pair{"leave_m", x.leave_m()}}) {
        if (v > 1'000'000) return make_error(Error::Code::kMalformed, fmt::format("{}: {} is past 1000000", where(encounters, field), v));
      }
      if (x.turn_ticks() != 0) out->encounters.turn_ticks = x.turn_ticks();
      if (x.rounds_max() != 0) out->encounters.rounds_max = x.rounds_max();
      if (x.challenge_range_m() != 0) out->encounters.challenge_range_mm = static_cast<int32_t>(x.challenge_range_m() * 1000);
      if (x.leave_m() != 0) out->encounters.leave_mm = static_cast<int32_t>(x.leave_m() * 1000);
    }
    for (int i = 0; i < file->classes_size(); ++i) {
      classes.push_back({path, tree, tree->GetTreeForNested(d->FindFieldByName("classes"), i), &file->classes(i)});
    }
    for (int i = 0; i < file->skills_size(); ++i) {
      skills.push_back({path, tree, tree->GetTreeForNested(d->FindFieldByName("skills"), i), &file->skills(i)});
    }
    for (int i = 0; i < file->effects_size(); ++i) {
      effects.push_back({path, tree, tree->GetTreeForNested(d->FindFieldByName("effects"), i), &file->effects(i)});
    }
    for (int i = 0; i < file->monsters_size(); ++i) {
      monsters.push_back({path, tree, tree->GetTreeForNested(d->FindFieldByName("monsters"), i), &file->monsters(i)});
    }
    for (int i = 0; i < file->spawners_size(); ++i) {
      spawners.push_back({path, tree, tree->GetTreeForNested(d->FindFieldByName("spawners"), i), &file->spawners(i)});
    }
    for (int i = 0; i < file->zones_size(); ++i) {
      zones.push_back({path, tree, tree->GetTreeForNested(d->FindFieldByName("zones"), i), &file->zones(i)});
    }
    for (int i = 0; i < file->portals_size(); ++i) {
      portals.push_back({path, tree, tree->GetTreeForNested(d->FindFieldByName("portals"), i), &file->portals(i)});
    }
    parsed.push_back(std::move(file));
  }
  auto too_big = [](uint32_t v, uint32_t max) { return v > max; };
  std::map<std::string, uint16_t> skill_ids, effect_ids;
  for (const Origin& o : effects) {
    const auto& e = static_cast<const content::Effect&>(*o.message);
    if (too_big(e.id(), UINT16_MAX)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} is not a 16-bit id", where(o, "id"), e.id()));
    gameplay::EffectDef def;
    def.id = static_cast<uint16_t>(e.id());
    def.name = e.name();
    def.kind = static_cast<gameplay::EffectKind>(e.kind());
    def.duration_ticks = e.duration_ticks();
    def.period_ticks = e.period_ticks();
    def.magnitude = e.magnitude();
    def.stacking = static_cast<gameplay::Stacking>(e.stacking());
    def.stacks_max = e.stacks_max() == 0 ? 1 : e.stacks_max();
    def.harmful = e.harmful();
    def.immune_kinds = kinds_mask(e.immune());
    if (!effect_ids.emplace(def.name, def.id).second) return make_error(Error::Code::kMalformed, fmt::format("{}: effect name {} is used twice", where(o, "name"), def.name));
    out->effects.push_back(def);
  }
  constexpr uint32_t kMetresMax = gameplay::kRangeMmMax / 1000;
  for (const Origin& o : skills) {
    const auto& s = static_cast<const content::Skill&>(*o.message);
    if (too_big(s.id(), UINT16_MAX)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} is not a 16-bit id", where(o, "id"), s.id()));
    for (const auto& [field, v] : {std::pair{"range_m", s.range_m()}, std::pair{"radius_m", s.radius_m()}}) {
      if (too_big(v, kMetresMax)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} m is past {} m", where(o, field), v, kMetresMax));
    }
    for (const auto& [field, v] : {std::pair{"cost", s.cost()}, std::pair{"damage", s.damage()}, std::pair{"heal", s.heal()}}) {
      if (too_big(v, static_cast<uint32_t>(gameplay::kStatMax))) return make_error(Error::Code::kMalformed, fmt::format("{}: {} is past {}", where(o, field), v, gameplay::kStatMax));
    }
    gameplay::SkillDef def;
    def.id = static_cast<uint16_t>(s.id());
    def.name = s.name();
    def.aim = static_cast<gameplay::Aim>(s.aim());
    def.range_mm = static_cast<int32_t>(s.range_m() * 1000);
    def.radius_mm = static_cast<int32_t>(s.radius_m() * 1000);
    def.area_targets_max = s.area_targets_max();
    def.cooldown_ticks = s.cooldown_ticks();
    def.cast_ticks = s.cast_ticks();
    def.on_global_cooldown = !s.off_global_cooldown();
    def.cost = static_cast<int32_t>(s.cost());
    def.damage = static_cast<int32_t>(s.damage());
    def.heal = static_cast<int32_t>(s.heal());
    def.interrupt = s.interrupt();
    def.dispel = s.dispel();
    if (!s.effect().empty()) {
      auto it = effect_ids.find(s.effect());
      if (it == effect_ids.end()) return make_error(Error::Code::kMalformed, fmt::format("{}: no effect is named {}", where(o, "effect"), s.effect()));
      def.effect = it->second;
    }
    if (!skill_ids.emplace(def.name, def.id).second) return make_error(Error::Code::kMalformed, fmt::format("{}: skill name {} is used twice", where(o, "name"), def.name));
    out->skills.push_back(def);
  }
  for (const Origin& o : classes) {
    const auto& c = static_cast<const content::Class&>(*o.message);
    if (too_big(c.id(), UINT16_MAX)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} is not a 16-bit id", where(o, "id"), c.id()));
    for (const auto& [field, v] : {std::pair{"hp_max", c.hp_max()}, std::pair{"resource_max", c.resource_max()}, std::pair{"resource_start", c.resource_start()},
                                   std::pair{"resource_per_hit", c.resource_per_hit()}, std::pair{"speed_mm_per_tick", c.speed_mm_per_tick()},
                                   std::pair{"hp_per_level", c.hp_per_level()}, std::pair{"damage_per_level_permille", c.damage_per_level_permille()}}) {
      if (too_big(v, static_cast<uint32_t>(gameplay::kStatMax))) return make_error(Error::Code::kMalformed, fmt::format("{}: {} is past {}", where(o, field), v, gameplay::kStatMax));
    }
    gameplay::ClassDef def;
    def.id = static_cast<uint16_t>(c.id());
    def.name = c.name();
    def.hp_max = static_cast<int32_t>(c.hp_max());
    def.resource = static_cast<gameplay::Resource>(c.resource());
    def.resource_max = static_cast<int32_t>(c.resource_max());
    def.resource_start = static_cast<int32_t>(c.resource_start());
    def.resource_per_second = c.resource_per_second();
    def.resource_per_hit = static_cast<int32_t>(c.resource_per_hit());
    def.speed_mm_per_tick = static_cast<int32_t>(c.speed_mm_per_tick());
    def.immune_kinds = kinds_mask(c.immune());
    def.hp_per_level = static_cast<int32_t>(c.hp_per_level());
    def.damage_per_level_permille = static_cast<int32_t>(c.damage_per_level_permille());
    for (const std::string& name : c.skills()) {
      auto it = skill_ids.find(name);
      if (it == skill_ids.end()) return make_error(Error::Code::kMalformed, fmt::format("{}: no skill is named {}", where(o, "skills"), name));
      def.skills.push_back(it->second);
    }
    out->classes.push_back(def);
  }
  std::map<std::string, uint16_t> monster_ids;
  for (const Origin& o : monsters) {
    const auto& m = static_cast<const content::Monster&>(*o.message);
    if (too_big(m.id(), UINT16_MAX)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} is not a 16-bit id", where(o, "id"), m.id()));
    for (const auto& [field, v] : {std::pair{"hp_max", m.hp_max()}, std::pair{"speed_mm_per_tick", m.speed_mm_per_tick()}}) {
      if (too_big(v, static_cast<uint32_t>(gameplay::kStatMax))) return make_error(Error::Code::kMalformed, fmt::format("{}: {} is past {}", where(o, field), v, gameplay::kStatMax));
    }
    for (const auto& [field, v] : {std::pair{"aggro_radius_m", m.aggro_radius_m()}, std::pair{"leash_m", m.leash_m()}}) {
      if (too_big(v, kMetresMax)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} m is past {} m", where(o, field), v, kMetresMax));
    }
    gameplay::MonsterDef def;
    def.id = static_cast<uint16_t>(m.id());
    def.name = m.name();
    def.stats.id = def.id;
    def.stats.name = m.name();
    def.stats.hp_max = static_cast<int32_t>(m.hp_max());
    def.stats.speed_mm_per_tick = static_cast<int32_t>(m.speed_mm_per_tick());
    def.stats.immune_kinds = kinds_mask(m.immune());
    def.aggro_radius_mm = static_cast<int32_t>(m.aggro_radius_m() * 1000);
    def.leash_mm = static_cast<int32_t>(m.leash_m() * 1000);
    auto skill = skill_ids.find(m.skill());
    if (skill == skill_ids.end()) return make_error(Error::Code::kMalformed, fmt::format("{}: no skill is named {}", where(o, "skill"), m.skill()));
    def.stats.skills.push_back(skill->second);
    if (!monster_ids.emplace(def.name, def.id).second) return make_error(Error::Code::kMalformed, fmt::format("{}: monster name {} is used twice", where(o, "name"), def.name));
    out->monsters.push_back(def);
  }
  std::map<std::string, uint16_t> spawner_names;
  for (const Origin& o : spawners) {
    const auto& sp = static_cast<const content::Spawner&>(*o.message);
    for (const auto& [field, v] : {std::pair{"x_m", sp.x_m()}, std::pair{"y_m", sp.y_m()}, std::pair{"radius_m", sp.radius_m()}}) {
      if (too_big(v, kMetresMax)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} m is past {} m", where(o, field), v, kMetresMax));
    }
    gameplay::SpawnerDef def;
    def.id = static_cast<uint16_t>(out->spawners.size() + 1);
    def.name = sp.name();
    auto monster = monster_ids.find(sp.monster());
    if (monster == monster_ids.end()) return make_error(Error::Code::kMalformed, fmt::format("{}: no monster is named {}", where(o, "monster"), sp.monster()));
    def.monster = monster->second;
    def.pos = Vec2{static_cast<int32_t>(sp.x_m() * 1000), static_cast<int32_t>(sp.y_m() * 1000)};
    def.radius_mm = static_cast<int32_t>(sp.radius_m() * 1000);
    def.count = sp.count();
    def.respawn_ticks = sp.respawn_ticks();
    if (!spawner_names.emplace(def.name, def.id).second) return make_error(Error::Code::kMalformed, fmt::format("{}: spawner name {} is used twice", where(o, "name"), def.name));
    out->spawners.push_back(def);
  }
  // Zones and portals (docs/gameplay.md, "Zones and portals"); portals name zones by name.
  std::map<std::string, uint16_t> zone_ids, portal_names;
  for (const Origin& o : zones) {
    const auto& z = static_cast<const content::Zone&>(*o.message);
    if (too_big(z.id(), UINT16_MAX)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} is not a 16-bit id", where(o, "id"), z.id()));
    for (const auto& [field, v] : {std::pair{"x_m", z.x_m()}, std::pair{"y_m", z.y_m()}, std::pair{"width_m", z.width_m()}, std::pair{"height_m", z.height_m()}}) {
      if (too_big(v, kMetresMax)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} m is past {} m", where(o, field), v, kMetresMax));
    }
    gameplay::ZoneDef def;
    def.id = static_cast<uint16_t>(z.id());
    def.name = z.name();
    def.min = Vec2{static_cast<int32_t>(z.x_m() * 1000), static_cast<int32_t>(z.y_m() * 1000)};
    def.width_mm = static_cast<int32_t>(z.width_m() * 1000);
    def.height_mm = static_cast<int32_t>(z.height_m() * 1000);
    // Ranges are content rules (gameplay::check); here only what fits the types.
    def.instance_slots = std::min<uint32_t>(z.instance_slots(), UINT16_MAX);
    def.party_size = std::min<uint32_t>(z.party_size(), UINT16_MAX);
    def.empty_ticks = std::min<uint32_t>(z.empty_ticks(), 1'000'000);
    if (!zone_ids.emplace(def.name, def.id).second) return make_error(Error::Code::kMalformed, fmt::format("{}: zone name {} is used twice", where(o, "name"), def.name));
    out->zones.push_back(def);
  }
  for (const Origin& o : portals) {
    const auto& p = static_cast<const content::Portal&>(*o.message);
    for (const auto& [field, v] : {std::pair{"x_m", p.x_m()}, std::pair{"y_m", p.y_m()}, std::pair{"radius_m", p.radius_m()}, std::pair{"to_x_m", p.to_x_m()},
                                   std::pair{"to_y_m", p.to_y_m()}}) {
      if (too_big(v, kMetresMax)) return make_error(Error::Code::kMalformed, fmt::format("{}: {} m is past {} m", where(o, field), v, kMetresMax));
    }
    gameplay::PortalDef def;
    def.id = static_cast<uint16_t>(out->portals.size() + 1);
    def.name = p.name();
    auto from = zone_ids.find(p.zone());
    if (from == zone_ids.end()) return make_error(Error::Code::kMalformed, fmt::format("{}: no zone is named {}", where(o, "zone"), p.zone()));
    auto to = zone_ids.find(p.to_zone());
    if (to == zone_ids.end()) return make_error(Error::Code::kMalformed, fmt::format("{}: no zone is named {}", where(o, "to_zone"), p.to_zone()));
    def.zone = from->second;
    def.to_zone = to->second;
    def.pos = Vec2{static_cast<int32_t>(p.x_m() * 1000), static_cast<int32_t>(p.y_m() * 1000)};
    def.radius_mm = static_cast<int32_t>(p.radius_m() * 1000);
    def.to = Vec2{static_cast<int32_t>(p.to_x_m() * 1000), static_cast<int32_t>(p.to_y_m() * 1000)};
    if (!portal_names.emplace(def.name, def.id).second) return make_error(Error::Code::kMalformed, fmt::format("{}: portal name {} is used twice", where(o, "name"), def.name));
    out->portals.push_back(def);
  }
  // The engine's rules, with each fault mapped back to its entry's file and line. check() works on
  // the lists in file order (the loader's), so its indices are ours; sorting comes after.
  const std::vector<gameplay::ContentError> errors = gameplay::check(*out);
  if (!errors.empty()) {
    const gameplay::ContentError& e = errors.front();
    const std::vector<Origin>* list = e.where == gameplay::ContentError::Where::kClass   ? &classes
                                      : e.where == gameplay::ContentError::Where::kSkill ? &skills
                                      : e.where == gameplay::ContentError::Where::kEffect ? &effects
                                      : e.where == gameplay::ContentError::Where::kMonster ? &monsters
                                      : e.where == gameplay::ContentError::Where::kSpawner ? &spawners
                                      : e.where == gameplay::ContentError::Where::kZone    ? &zones
                                      : e.where == gameplay::ContentError::Where::kPortal  ? &portals
                                                                                          : nullptr;
    std::string at = list && e.index < list->size() ? where((*list)[e.index], e.field) : fmt::format("{}: {}", dir, e.field);
    if (e.where == gameplay::ContentError::Where::kExperience && !experience.file.empty()) at = where(experience, e.field);
    if (e.where == gameplay::ContentError::Where::kEncounters && !encounters.file.empty()) at = where(encounters, e.field);
    return make_error(Error::Code::kMalformed, fmt::format("{}: {}{}", at, e.message,
                                                           errors.size() > 1 ? fmt::format(" (and {} more)", errors.size() - 1) : ""));
  }
  gameplay::sort_by_id(*out);
  // Loot (docs/persistence.md §9c): the drop table "kill" of the economy's content, checked by its
  // own loader (app/economy_content.cc), when the directory has one.
  const bool drop_tables = std::any_of(parsed.begin(), parsed.end(), [](const auto& f) { return f->drop_tables_size() > 0; });
  if (drop_tables) {
    Result<economy::EconomyRules> econ = load_economy_rules(dir);
    if (!econ.ok()) return econ.error();
    out->loot.nothing_weight = econ.value().nothing_weight;
    for (const economy::DropEntry& d : econ.value().drops) out->loot.drops.push_back(gameplay::LootDrop{d.item, d.weight});
  }
  return std::shared_ptr<const gameplay::Content>(std::move(out));
}

}  // namespace aether::app
