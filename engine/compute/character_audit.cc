#include "engine/compute/character_audit.h"

#include <fmt/format.h>

#include "engine/compute/character_saves.h"
#include "engine/compute/loot_log.h"
#include "engine/wire/state_codec.h"

namespace aether {

LootItemId loot_item_id(const LootItem& i) { return {i.victim.value, i.key.origin.value, i.key.incarnation, i.key.tick, i.key.seq}; }

std::string loot_item_name(const LootItem& i) {
  return fmt::format("{}:{}/{}/{}/{}/{}", i.kind, i.victim.value, i.key.origin.value, i.key.incarnation, i.key.tick, i.key.seq);
}

void CharacterAudit::find(std::string what) {
  ++report_.findings_total;
  if (report_.findings.size() < kCharacterAuditFindingsMax) report_.findings.push_back(std::move(what));
}

void CharacterAudit::entry(uint64_t seq, std::span<const uint8_t> bytes) {
  ++report_.entries;
  if (bytes.empty() || bytes[0] != 0x4C) return;  // not a loot entry (vaults' entries, other formats)
  ++report_.loot_entries;
  const char* error = "malformed";
  const std::optional<LootEntry> e = decode_loot_entry(bytes, &error);
  if (!e) {
    find(fmt::format("entry {}: malformed loot entry: {}", seq, error));
    return;
  }
  auto [it, fresh] = created_.try_emplace(loot_item_id(e->item), Created{e->item, e->holder, seq});
  if (fresh) {
    ++report_.items_created;
    return;
  }
  if (it->second.item.kind == e->item.kind && it->second.holder == e->holder) {
    ++report_.retried;
    return;
  }
  find(fmt::format("entry {}: item {} created again for entity {} (entry {} made it for entity {}): duplicated", seq, loot_item_name(e->item),
                   e->holder.value, it->second.seq, it->second.holder.value));
}

void CharacterAudit::row(const Bytes& key, const Bytes& value) {
  ++report_.saves;
  CharacterSave s;
  const char* error = "malformed";
  if (!decode_character_save(value, s, &error)) {
    find(fmt::format("save row of {} bytes: unreadable: {}", key.size(), error));
    return;
  }
  if (s.life == 0 || key != character_save_key(s.character, s.life)) {
    find(fmt::format("save of character {} life {}: under another key", s.character.value, s.life));
    return;
  }
  auto [it, fresh] = current_.try_emplace(s.character, s);
  if (fresh) return;
  if (s.life > it->second.life) std::swap(it->second, s);
  superseded_[it->first].push_back(s);
}

void CharacterAudit::finish() {
  report_.characters = current_.size();
  std::map<LootItemId, CharacterId> held;  // by current saves
  std::map<EntityId, CharacterId> avatars;  // current avatars
  for (const auto& [character, save] : current_) {
    if (save.entity.valid()) avatars[save.entity] = character;
    for (const LootItem& item : save.inventory) {
      ++report_.items_held;
      auto [h, fresh] = held.try_emplace(loot_item_id(item), character);
      if (!fresh) {
        find(fmt::format("item {} held by character {} (life {}) and character {}: held twice", loot_item_name(item), character.value, save.life,
                         h->second.value));
      }
      auto c = created_.find(loot_item_id(item));
      if (c == created_.end()) {
        ++report_.held_without_entry;
      } else if (c->second.holder != save.entity) {
        ++report_.held_earlier;
      }
    }
  }
  std::map<LootItemId, bool> in_superseded;
  for (const auto& [character, saves] : superseded_) {
    for (const CharacterSave& s : saves) {
      for (const LootItem& item : s.inventory) in_superseded[loot_item_id(item)] = true;
    }
  }
  for (const auto& [id, c] : created_) {
    if (held.count(id)) continue;
    if (auto a = avatars.find(c.holder); a != avatars.end()) {
      find(fmt::format("entry {}: item {} made for entity {}, character {}'s current avatar (life {}), is in no current save: lost", c.seq,
                       loot_item_name(c.item), c.holder.value, a->second.value, current_.at(a->second).life));
    } else if (in_superseded.count(id)) {
      ++report_.held_superseded;
    } else {
      ++report_.not_current_avatar;
    }
  }
}

}  // namespace aether
