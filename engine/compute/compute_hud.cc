// What each player's HUD shows of its avatar's server-only fields (AvatarHud, messages.h): the
// owner tells the gateway holding the avatar's session, for that avatar only. A record per avatar
// whose HUD is not empty (at most our world's avatars) says what was sent, to which gateway and
// when: an avatar's HUD goes out when it differs from the record (the timer aside), when its
// session moved to another gateway, and every kAvatarHudRefreshTicks while not empty; an empty one
// goes out once, and its record is dropped.

#include <algorithm>

#include "engine/compute/compute_node.h"
#include "engine/wire/codec.h"

namespace aether {

AvatarHud ComputeNode::hud_of(const gameplay::Entity& e) const {
  AvatarHud hud;
  hud.entity = e.id;
  for (size_t i = 0; i < e.inventory.size(); ++i) hud.items.push_back(e.inventory[i].kind);
  auto seat = seats_.find(e.id);
  if (seat == seats_.end()) return hud;
  // The encounter as it is now (phase 3 may have passed a turn or taken a seat since phase 2).
  const EncounterState* st = nullptr;
  uint32_t ticks_left = 0;
  if (const gameplay::Entity* mine = world_.find(seat->second.encounter)) {
    st = &mine->encounter.st;  // its timer lives in turn_ends (a tick), as the state's encoding says
    const Tick ends = mine->encounter.turn_ends;
    ticks_left = static_cast<uint32_t>(ends > tick_ ? std::min<Tick>(ends - tick_, kDurationTicksMax) : 0);
  } else if (const Ghost* ghost = ghosts_.find(seat->second.encounter)) {
    st = &ghost->state.encounter;
    ticks_left = st->turn_ticks_left;
  }
  if (st == nullptr || st->round == 0 || st->ended || st->actor >= st->seats.size()) return hud;
  bool seated = false;
  for (size_t i = 0; i < st->seats.size(); ++i) seated = seated || st->seats[i].entity == e.id;
  if (!seated) return hud;
  hud.encounter = seat->second.encounter;
  hud.round = st->round;
  hud.turn = st->turn;
  hud.actor = st->actor;
  hud.turn_ticks_left = ticks_left;
  for (size_t i = 0; i < st->seats.size(); ++i) hud.seats.push_back(EncounterSeat{st->seats[i].entity, st->seats[i].team, 0});
  return hud;
}

void ComputeNode::send_huds() {
  for (const auto& [id, e] : world_.entities()) {
    if (!e.gateway.valid() || e.is_npc() || e.is_encounter()) continue;
    auto sent = huds_sent_.find(id);
    // No record, no item, no seat: its HUD is empty and nothing was sent (most avatars of a
    // battle), so it costs two lookups, not a HUD built to be thrown away.
    if (sent == huds_sent_.end() && e.inventory.size() == 0 && !seats_.contains(id)) continue;
    AvatarHud hud = hud_of(e);
    if (sent == huds_sent_.end()) {
      if (hud.empty()) continue;  // the client starts with an empty HUD
    } else if (sent->second.gateway == e.gateway && sent->second.hud.same_view(hud) && tick_ < sent->second.tick + kAvatarHudRefreshTicks) {
      continue;
    }
    auto sub = subscribers_.find(e.gateway);
    if (sub == subscribers_.end() || sub->second.role != Role::kGateway) continue;  // tried again next tick
    OutputItem item{sub->second.conn, nullptr, encode(envelope(hud))};
    // Queue full: not recorded, so tried again next tick.
    if (!output_queue_.try_push(std::move(item))) continue;
    ++stats_.huds_sent;
    if (hud.empty()) {
      huds_sent_.erase(id);
    } else {
      huds_sent_.insert_or_assign(id, HudSent{e.gateway, tick_, std::move(hud)});
    }
  }
  // Avatars gone from our world (dead and removed, migrated, lost): their records go too.
  std::erase_if(huds_sent_, [&](const auto& entry) { return world_.find(entry.first) == nullptr; });
}

}  // namespace aether
