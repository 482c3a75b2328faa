// Instances (docs/gameplay.md, "Instances"): a template zone laid out in slots; the leader gives a
// party a slot by writing the instance's NPCs into its table, so the allocation is nothing but
// records: replicated to the vice with the table, found by a new leader there, and undone by erasing
// them. The rules, all read from the table:
//   - a record stands in a slot when its snapshot does; an instance NPC names the party it was
//     placed for, an avatar's party is its template's rule (ZoneDef::party_of);
//   - a slot is free when no record stands in it; a slot holding any record of party P is P's;
//   - a request is answered with the slot of the entity's party, else a free slot, allocated now,
//     else refused (every slot is another party's) and counted;
//   - a slot is answered only once every follower applied the replication batch that carries the
//     table as the answer found it (vice_witness.h): a new leader never gives away a slot a party
//     was told is theirs;
//   - a slot no player stands in for its template's empty_ticks is torn down: every record in it is
//     erased, the vice told at once, and the owners' copies revoked (as an ended encounter is).

#include "engine/coordinator/coordinator.h"

namespace aether {

std::map<std::pair<uint16_t, uint32_t>, Coordinator::InstanceSlot> Coordinator::instance_slots() const {
  std::map<std::pair<uint16_t, uint32_t>, InstanceSlot> out;
  const gameplay::Content& content = *content_;
  if (content.zones.empty()) return out;
  for (const auto& [id, rec] : table_) {
    const std::optional<gameplay::Place> place = content.place_of(rec.snapshot.pos);
    if (!place || !place->zone->is_template()) continue;
    InstanceSlot& slot = out[{place->zone->id, place->slot}];
    ++slot.records;
    uint64_t party = 0;
    if (rec.snapshot.kind == kEntityKindAvatar) {
      ++slot.players;
      party = place->zone->party_of(id);
    } else if (rec.snapshot.kind == kEntityKindNpc) {
      party = rec.snapshot.npc.party;
    }
    if (party == 0) continue;
    if (slot.party == 0) slot.party = party;
    else if (slot.party != party) slot.mixed = true;  // never by these rules; the checker's to catch
  }
  return out;
}

size_t Coordinator::instances_active() const { return instance_slots().size(); }

void Coordinator::send_witnessed(std::vector<HeldAnswer> answers) {
  for (HeldAnswer& held : answers) send_to(held.to, std::move(held.answer));
}

void Coordinator::handle_instance_request(const ServerMessage& m, const InstanceRequest& req) {
  const gameplay::Content& content = *content_;
  auto answer = [&](InstanceResult result, uint32_t slot) {
    ++stats_.instance_requests[static_cast<size_t>(result)];
    const bool refused = result != InstanceResult::kAllocated && result != InstanceResult::kJoined;
    if (refused) {
      log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, req.entity}, "instance through portal {} refused: {}", req.portal,
             instance_result_name(result));
    }
    const InstanceAnswer a{req.entity, req.portal, refused ? 0 : slot, refused};
    if (refused || followers_.empty()) {
      send_to(m.sender, a);
      return;
    }
    if (!witness_.hold(witness_.batch_for_change(backlog_.empty()), HeldAnswer{m.sender, a})) {
      // Held answers are bounded: this one is not given; its asker asks again after kInstanceAskTicks.
      ++stats_.instance_answers_unheld;
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, req.entity}, "instance answer dropped: {} held for the vice already (limit)",
             witness_.held());
    }
  };
  if (!has_quorum() || in_grace()) return answer(InstanceResult::kNotReady, 0);
  const gameplay::PortalDef* portal = req.portal <= content.portals.size() ? &content.portals[req.portal - 1] : nullptr;
  const gameplay::ZoneDef* zone = portal ? content.find_zone(portal->to_zone) : nullptr;
  if (!zone || !zone->is_template()) return answer(InstanceResult::kInvalid, 0);
  // The asker must own the entity, a living player standing in that portal as our table knows it
  // (its snapshot may lag by a snapshot period: the portal's own zone is what we hold it to).
  auto it = table_.find(req.entity);
  if (it == table_.end() || it->second.owner != m.sender) return answer(InstanceResult::kInvalid, 0);
  const EntityState& s = it->second.snapshot;
  if (s.kind != kEntityKindAvatar || (s.flags & kEntityFlagDead) || content.zone_of(s.pos) != content.find_zone(portal->zone)) {
    return answer(InstanceResult::kInvalid, 0);
  }
  const uint64_t party = zone->party_of(req.entity);
  const auto slots = instance_slots();
  std::optional<uint32_t> free;
  for (uint32_t k = 0; k < zone->instance_slots; ++k) {
    auto found = slots.find({zone->id, k});
    if (found == slots.end()) {
      if (!free) free = k;
      continue;
    }
    if (found->second.party == party && cfg_.planted != PlantedBug::kInstanceTwoParties) {
      // A player is on its way in: the slot is not empty for another empty_ticks (else a teardown
      // could land between this answer and its entering).
      instance_empty_since_.erase({zone->id, k});
      return answer(InstanceResult::kJoined, k);
    }
  }
  // The planted bug: the party's own slot is forgotten and the first slot given, whoever holds it.
  if (cfg_.planted == PlantedBug::kInstanceTwoParties) free = 0;
  if (!free) return answer(InstanceResult::kFull, 0);
  size_t npcs = 0;
  for (const gameplay::SpawnerDef& sp : content.spawners) {
    if (content.template_of(sp) == zone) npcs += sp.count;
  }
  if (table_.size() + npcs > cfg_.table_entities_max) return answer(InstanceResult::kFull, 0);
  // The allocation is the records: place every NPC of the template's spawners, at their place in
  // the slot, for the party. One that no compute node admits now leaves the slot to the party all
  // the same (its other NPCs stand there); content holds a template to at least one spawner.
  const Vec2 shift = zone->slot_shift(*free);
  size_t placed = 0;
  for (const gameplay::SpawnerDef& sp : content.spawners) {
    if (content.template_of(sp) != zone) continue;
    for (uint32_t n = 0; n < sp.count; ++n) placed += place_npc(sp, shift, party) ? 1 : 0;
  }
  if (placed == 0) return answer(InstanceResult::kNotReady, 0);
  // The vice hears of the allocation before the party enters: a new leader taking over without it
  // would find the slot free and could give it to another party while this one stands in it.
  replicate();
  instance_empty_since_.erase({zone->id, *free});
  ++stats_.instances_opened;
  trace(TraceKind::kInstanceOpened, req.entity, (int64_t{zone->id} << 32) | *free, static_cast<int64_t>(party));
  answer(InstanceResult::kAllocated, *free);
}

void Coordinator::tend_instances() {
  const gameplay::Content& content = *content_;
  if (content.zones.empty() || !leading() || !has_quorum() || in_grace()) return;
  const auto slots = instance_slots();
  // Forget the clocks of slots that are free now (bounded by the templates' slots).
  std::erase_if(instance_empty_since_, [&](const auto& e) { return !slots.contains(e.first); });
  for (const auto& [key, slot] : slots) {
    if (slot.players > 0) {
      instance_empty_since_.erase(key);
      continue;
    }
    auto [since, fresh] = instance_empty_since_.emplace(key, tick_);
    const gameplay::ZoneDef* zone = content.find_zone(key.first);
    AETHER_ASSERT(zone && zone->is_template());
    if (fresh || tick_ < since->second + zone->empty_ticks) continue;
    // Torn down: every record standing in the slot is erased (no player stands there), the vice
    // hears of it before any owner lets a copy go (as an encounter's close), then the owners'
    // copies are revoked.
    std::vector<std::pair<EntityId, OwnerRecord>> gone;
    for (const auto& [id, rec] : table_) {
      const std::optional<gameplay::Place> place = content.place_of(rec.snapshot.pos);
      if (place && place->zone == zone && place->slot == key.second && rec.snapshot.kind != kEntityKindAvatar) gone.emplace_back(id, rec);
    }
    for (const auto& [id, rec] : gone) erase_record(id);
    replicate();
    for (const auto& [id, rec] : gone) {
      if (rec.owner.valid()) {
        revoke(rec.owner, id, rec.generation);
        trace(TraceKind::kOwnershipRevoked, id, static_cast<int64_t>(rec.generation), 0, rec.owner);
      }
    }
    instance_empty_since_.erase(since);
    ++stats_.instances_closed;
    trace(TraceKind::kInstanceClosed, EntityId{}, (int64_t{key.first} << 32) | key.second, static_cast<int64_t>(slot.party));
  }
}

const char* instance_result_name(InstanceResult r) {
  switch (r) {
    case InstanceResult::kAllocated: return "allocated";
    case InstanceResult::kJoined: return "joined";
    case InstanceResult::kFull: return "full";
    case InstanceResult::kInvalid: return "invalid";
    case InstanceResult::kNotReady: return "not_ready";
  }
  return "?";
}

}  // namespace aether
