#include "app/economy_content.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <memory>

#include <fmt/format.h>
#include <google/protobuf/text_format.h>

#include "app/text_config.h"
#include "content.pb.h"

namespace aether::app {

namespace {

namespace pb = google::protobuf;

constexpr uint32_t kDropWeightMax = 1'000'000;

// "FILE:LINE: field F" of a field of the index-th entry of a repeated field of the file.
std::string where(const std::string& file, const pb::TextFormat::ParseInfoTree& tree, const char* list, int index, const pb::Message& entry,
                  const char* field) {
  const pb::FieldDescriptor* lf = content::ContentFile::descriptor()->FindFieldByName(list);
  const pb::TextFormat::ParseInfoTree* sub = tree.GetTreeForNested(lf, index);
  int line = -1;
  if (sub) {
    const pb::FieldDescriptor* f = entry.GetDescriptor()->FindFieldByName(field);
    if (f) line = sub->GetLocation(f, f->is_repeated() ? 0 : -1).line;
    if (line < 0) line = tree.GetLocation(lf, index).line;
  }
  return line >= 0 ? fmt::format("{}:{}: field {}", file, line + 1, field) : fmt::format("{}: field {}", file, field);
}

}  // namespace

Result<economy::EconomyRules> load_economy_rules(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return make_error(Error::Code::kIo, fmt::format("{}: not a content directory", dir));
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    if (entry.path().extension() == ".textpb") files.push_back(entry.path().string());
  }
  if (ec) return make_error(Error::Code::kIo, fmt::format("{}: {}", dir, ec.message()));
  std::sort(files.begin(), files.end());

  economy::EconomyRules rules;
  std::map<std::string, uint16_t> ids;
  const auto bad = [](const std::string& at, const std::string& what) { return make_error(Error::Code::kMalformed, fmt::format("{}: {}", at, what)); };
  struct Pending {
    std::string file;
    std::shared_ptr<pb::TextFormat::ParseInfoTree> tree;
    std::unique_ptr<content::ContentFile> content;
  };
  std::vector<Pending> parsed;
  for (const std::string& path : files) {
    std::string text;
    if (Status st = read_text_file(path, &text); !st.ok()) return st.error();
    Pending p{path, std::make_shared<pb::TextFormat::ParseInfoTree>(), std::make_unique<content::ContentFile>()};
    if (Status st = parse_text_proto(path, text, p.content.get()); !st.ok()) return st.error();
    pb::TextFormat::Parser parser;
    parser.WriteLocationsTo(p.tree.get());
    parser.ParseFromString(text, p.content.get());  // again, for the locations
    for (int i = 0; i < p.content->items_size(); ++i) {
      const content::Item& item = p.content->items(i);
      if (item.id() == 0 || item.id() > economy::kItemKindMax) return bad(where(path, *p.tree, "items", i, item, "id"), "an item id is 1..65535");
      if (item.name().empty()) return bad(where(path, *p.tree, "items", i, item, "name"), "an item needs a name");
      for (const auto& [name, id] : ids) {
        if (id == item.id()) return bad(where(path, *p.tree, "items", i, item, "id"), fmt::format("item id {} is also {}'s", id, name));
      }
      if (!ids.emplace(item.name(), static_cast<uint16_t>(item.id())).second) {
        return bad(where(path, *p.tree, "items", i, item, "name"), fmt::format("item {} is defined twice", item.name()));
      }
      rules.items.push_back({static_cast<uint16_t>(item.id()), item.name()});
    }
    parsed.push_back(std::move(p));
  }
  bool kill_table = false;
  for (const Pending& p : parsed) {
    for (int i = 0; i < p.content->drop_tables_size(); ++i) {
      const content::DropTable& t = p.content->drop_tables(i);
      if (t.name() != "kill") return bad(where(p.file, *p.tree, "drop_tables", i, t, "name"), "the one drop table is \"kill\"");
      if (kill_table) return bad(where(p.file, *p.tree, "drop_tables", i, t, "name"), "drop table kill is defined twice");
      if (t.nothing_weight() > kDropWeightMax) return bad(where(p.file, *p.tree, "drop_tables", i, t, "nothing_weight"), "weights are at most 1000000");
      if (t.drops_size() == 0) return bad(where(p.file, *p.tree, "drop_tables", i, t, "drops"), "a drop table drops something");
      kill_table = true;
      rules.nothing_weight = t.nothing_weight();
      for (const content::Drop& d : t.drops()) {
        const auto id = ids.find(d.item());
        if (id == ids.end()) return bad(where(p.file, *p.tree, "drop_tables", i, t, "drops"), fmt::format("no item named {}", d.item()));
        if (d.weight() == 0 || d.weight() > kDropWeightMax) return bad(where(p.file, *p.tree, "drop_tables", i, t, "drops"), "a drop's weight is 1..1000000");
        rules.drops.push_back({id->second, d.weight()});
      }
    }
    for (int i = 0; i < p.content->recipes_size(); ++i) {
      const content::Recipe& r = p.content->recipes(i);
      const auto out = ids.find(r.output());
      if (out == ids.end()) return bad(where(p.file, *p.tree, "recipes", i, r, "output"), fmt::format("no item named {}", r.output()));
      if (r.inputs_size() == 0 || static_cast<size_t>(r.inputs_size()) >= economy::kEntryOpsMax) {
        return bad(where(p.file, *p.tree, "recipes", i, r, "inputs"), "a recipe consumes 1 to 15 items");
      }
      economy::Recipe recipe{out->second, {}};
      for (const std::string& in : r.inputs()) {
        const auto id = ids.find(in);
        if (id == ids.end()) return bad(where(p.file, *p.tree, "recipes", i, r, "inputs"), fmt::format("no item named {}", in));
        recipe.inputs.push_back(id->second);
      }
      rules.recipes.push_back(std::move(recipe));
    }
  }
  if (rules.items.empty()) return make_error(Error::Code::kMalformed, fmt::format("{}: no items (content/items.textpb)", dir));
  if (!kill_table) return make_error(Error::Code::kMalformed, fmt::format("{}: no drop table \"kill\"", dir));
  if (rules.recipes.empty()) return make_error(Error::Code::kMalformed, fmt::format("{}: no recipes", dir));
  std::sort(rules.items.begin(), rules.items.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return rules;
}

}  // namespace aether::app
