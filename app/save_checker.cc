#include "app/save_checker.h"

#include <fmt/format.h>

#include "engine/compute/character_saves.h"
#include "engine/wire/state_codec.h"

namespace aether::app {

void SaveChecker::on_spawn(TimeNs now, NodeId node, const gameplay::Entity& e, const OwesLogout& owes_logout, const std::string& event,
                           const Fail& fail) {
  if (!database_ || !e.character.valid() || e.save_life <= 1) return;  // life 1: no save was found
  const uint32_t saved_life = e.save_life - 1;
  const auto left = left_.find(e.character);
  const std::string who = fmt::format("character {} came back as life {} (entity {} on compute node {})", e.character.value, e.save_life,
                                      e.id.value, node.value);
  if (left != left_.end() && left->second.life == saved_life && !left->second.owner_crashed && owes_logout(left->second.node, e.character)) {
    if (!left->second.wait_excused) {
      fail(now,
           fmt::format("{} while compute node {} still owes the log-out save of life {} (it left at {:.3f} s): the leader did not hold the spawn",
                       who, left->second.node.value, saved_life, static_cast<double>(left->second.at_ns) / kNsPerSec),
           event);
      return;
    }
    ++figures_.before_logout_save;  // the gateway read the save before the log-out's, the leader having stopped waiting
    return;
  }
  const Bytes* row = database_->peek(character_save_key(e.character, saved_life));
  if (!row) {
    fail(now, fmt::format("{}, but the database holds no save of life {}", who, saved_life), event);
    return;
  }
  CharacterSave save;
  const char* error = "malformed";
  if (!decode_character_save(*row, save, &error)) {
    fail(now, fmt::format("{}, but the save of life {} does not decode ({})", who, saved_life, error), event);
    return;
  }
  ++figures_.lives_checked;
  figures_.items_checked += save.inventory.size();
  const bool same_items = save.inventory == e.inventory;
  if (save.experience != e.experience || save.level != e.level || !same_items) {
    fail(now,
         fmt::format("{} with level {}, experience {} and {} items, but its last save (life {}) holds level {}, experience {} and {} items{}", who,
                     e.level, e.experience, e.inventory.size(), saved_life, save.level, save.experience, save.inventory.size(),
                     same_items ? "" : ": items lost or made"),
         event);
    return;
  }
  if (left == left_.end() || left->second.life != saved_life || left->second.owner_crashed) return;
  ++figures_.lives_as_left;
  if (left->second.experience != e.experience || !(left->second.inventory == e.inventory)) {
    fail(now,
         fmt::format("{} with experience {} and {} items, but its avatar of life {} left compute node {} at {:.3f} s with experience {} and {} "
                     "items: its log-out save is missing",
                     who, e.experience, e.inventory.size(), saved_life, left->second.node.value,
                     static_cast<double>(left->second.at_ns) / kNsPerSec, left->second.experience, left->second.inventory.size()),
         event);
  }
}

void SaveChecker::on_left(TimeNs now, NodeId node, const EntityState& last) {
  if (!database_ || !last.character.valid()) return;
  left_[last.character] = Left{last.save_life, node, now, last.experience, last.inventory, false, false};
}

void SaveChecker::on_wait_given_up(CharacterId character) {
  if (auto it = left_.find(character); it != left_.end()) it->second.wait_excused = true;
}

void SaveChecker::on_leader_elected() {
  for (auto& [character, left] : left_) left.wait_excused = true;
}

void SaveChecker::on_crash(NodeId node) {
  for (auto& [character, left] : left_) {
    if (left.node == node) left.owner_crashed = true;
  }
}

}  // namespace aether::app
