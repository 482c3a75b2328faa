// Character saves (docs/persistence.md §9d; the rules are in character_saves.h): the owner of a
// character's avatar saves it at log-out and every kCharacterSaveIntervalTicks, after the tick,
// never waited on; saves at loot events travel with the loot's ledger entry (compute_loot.cc).

#include "engine/compute/compute_node.h"

namespace aether {

CharacterSave ComputeNode::save_of(const gameplay::Entity& e) const {
  CharacterSave s;
  s.character = e.character;
  s.life = e.save_life;
  s.entity = e.id;
  s.loaded = true;
  s.class_id = e.cls ? e.cls->id : 0;
  s.level = e.level;
  s.experience = e.experience;
  s.pos = e.pos;
  s.inventory = e.inventory;
  return s;
}

void ComputeNode::save_at_logout(const gameplay::Entity& e) {
  saves_.logout(save_of(e), e.generation);
}

void ComputeNode::flush_character_saves() {
  if (tick_ % kCharacterSaveIntervalTicks == 0) {
    for (const auto& [id, e] : world_.entities()) {
      if (e.character.valid()) saves_.mark_due(id);
    }
  }
  // The coordinators hold a character's next spawn until its log-out save settled (LogoutSaved).
  for (const LogoutSaved& settled : saves_.take_settled()) {
    for_each_coordinator([&](ConnId conn, CoordinatorLink&) { send_server(rt_.network, conn, envelope(settled)); });
  }
  // After every loot batch captured before now (character_saves.h, "Ordering").
  if (saves_.idle() || loot_log_.pending() != 0) return;
  saves_.flush(
      rt_.storage, life_,
      [this](EntityId id) -> std::optional<CharacterSaves::Save> {
        const gameplay::Entity* e = world_.find(id);
        if (!e || !e->character.valid()) return std::nullopt;
        return CharacterSaves::Save{save_of(*e), e->generation};
      },
      [this](const WriteResult& r, size_t saves) {
        if (r.status.ok()) return;
        log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "character saves: a batch of {} not written ({}); {}", saves, r.status.reason,
               r.status.code == StorageCode::kFenced ? "a newer owner saved one of them" : "taken again");
      });
}

}  // namespace aether
