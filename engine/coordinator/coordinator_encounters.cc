// Turn-based encounters are entities like NPCs (docs/gameplay.md, "Encounters"): the leader gives
// each an id, a generation and an owner in its table, and from then on the table's machinery
// (snapshots, migrations with handoffs, recovery, failover) keeps one writer per encounter; its own
// component carries the turn order, the round, the turn and the timer through all of it.
//
// Open: a compute node asks for an encounter between a challenger it owns and the challenged. The
// leader checks both against its table (the challenger's owner is the asker, both alive, players of
// two teams, neither seated in an encounter) and grants the encounter to the asker, which holds the
// challenger, so a duel starts with its encounter beside at least one participant. Close: the owner
// of an ended encounter asks for its removal: the record is erased and the owner's copy revoked.

#include "engine/coordinator/coordinator.h"

#include "engine/gameplay/encounter.h"

namespace aether {

void Coordinator::handle_encounter_request(const ServerMessage& m, const EncounterRequest& req) {
  if (req.ended.valid()) {
    auto it = table_.find(req.ended);
    if (it == table_.end() || it->second.snapshot.kind != kEntityKindEncounter || it->second.owner != m.sender) return;
    const OwnerRecord rec = it->second;
    erase_record(req.ended);
    ++stats_.encounters_closed;
    // The vice hears of the erase before the owner lets the encounter go: a vice taking over with
    // the record but no owner writing it would wait for its loss to be found (encounter-crash with a
    // leader crash just after a close). Replicating early is harmless: the periodic one sends the rest.
    replicate();
    revoke(rec.owner, req.ended, rec.generation);
    trace(TraceKind::kOwnershipRevoked, req.ended, static_cast<int64_t>(rec.generation), 0, rec.owner);
    return;
  }
  auto refuse = [&](const char* why) {
    ++stats_.encounters_refused;
    log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, req.challenger}, "encounter with {} refused: {}", req.target.value, why);
  };
  if (!has_quorum() || in_grace()) return refuse("not leading with a quorum yet");
  auto challenger = table_.find(req.challenger);
  auto target = table_.find(req.target);
  if (challenger == table_.end() || target == table_.end()) return refuse("a participant is not in the table");
  if (challenger->second.owner != m.sender) return refuse("the challenger is not the asker's");
  const EntityState& a = challenger->second.snapshot;
  const EntityState& b = target->second.snapshot;
  if (a.kind != kEntityKindAvatar || b.kind != kEntityKindAvatar || a.team == b.team) return refuse("not two players of two teams");
  if ((a.flags & kEntityFlagDead) || (b.flags & kEntityFlagDead)) return refuse("a participant is dead");
  // Neither may sit in an encounter already (one scan of the table, at most once per challenge a
  // compute node lets through: kChallengeWaitTicks per challenger), and at most kEncountersMax live.
  size_t live = 0;
  for (const auto& [id, rec] : table_) {
    if (rec.snapshot.kind != kEntityKindEncounter) continue;
    ++live;
    if (gameplay::is_seated(rec.snapshot.encounter, req.challenger) || gameplay::is_seated(rec.snapshot.encounter, req.target)) {
      return refuse("a participant is in an encounter already");
    }
  }
  if (live >= kEncountersMax) return refuse("too many encounters");
  if (table_.size() >= cfg_.table_entities_max) return refuse("the table is full");
  const gameplay::EncounterDef& rules = content_->encounters;
  const EntityId entity((epoch_ << 40) | kEncounterIdBit | next_encounter_++);
  const Vec2 pos{clamp_i32(req.pos.x_mm, 0, cfg_.rules.arena_mm - 1), clamp_i32(req.pos.y_mm, 0, cfg_.rules.arena_mm - 1)};
  OwnerRecord rec{m.sender, next_generation(0), NodeId{}, SessionId{}, EntityState{}};
  EntityState& s = rec.snapshot;
  s.id = entity;
  s.pos = pos;
  s.hp = 0;
  s.flags = kEntityFlagDead;  // no body (messages.h, kEntityKindEncounter)
  s.team = kEncounterTeam;
  s.kind = kEntityKindEncounter;
  s.version = 1;
  s.generation = rec.generation;
  s.encounter.turn_ticks = rules.turn_ticks;
  s.encounter.rounds_max = rules.rounds_max;
  s.encounter.seats.push_back(EncounterSeat{req.challenger, a.team, 0});
  s.encounter.seats.push_back(EncounterSeat{req.target, b.team, 0});
  set_record(entity, rec);
  ++stats_.encounters_opened;
  OwnershipGrant grant{entity, rec.generation, NodeId{}, SessionId{}, pos, kEncounterTeam, s};
  grant.encounter_open = true;
  send_to(m.sender, grant);
  trace(TraceKind::kOwnershipGranted, entity, static_cast<int64_t>(rec.generation), 0, m.sender);
}

}  // namespace aether
