// Turn-based encounters: the turn rules (encounter.h) and the World's part of them (challenges,
// turns gated, encounters run in phase 3). docs/gameplay.md, "Encounters".

#include "engine/gameplay/encounter.h"

#include <algorithm>

#include "engine/core/assert.h"
#include "engine/gameplay/world.h"

namespace aether::gameplay {

const char* turn_verdict_name(TurnVerdict v) {
  switch (v) {
    case TurnVerdict::kAccepted: return "accepted";
    case TurnVerdict::kNotRunning: return "not_running";
    case TurnVerdict::kNotYourTurn: return "not_your_turn";
    case TurnVerdict::kStale: return "stale";
  }
  return "unknown";
}

EntityId actor_of(const EncounterState& s) {
  if (s.round == 0 || s.ended || s.actor >= s.seats.size()) return EntityId{};
  return s.seats[s.actor].entity;
}

bool is_seated(const EncounterState& s, EntityId who) {
  return std::any_of(s.seats.begin(), s.seats.end(), [&](const EncounterSeat& seat) { return seat.entity == who; });
}

bool one_side_left(const EncounterState& s) {
  for (const EncounterSeat& seat : s.seats) {
    if (seat.team != s.seats[0].team) return false;
  }
  return true;
}

namespace {

// The turn now has ended: the next seat's turn begins (a new number), after the last seat a new
// round; past rounds_max the encounter is over.
void begin_next_turn(EncounterComponent& c, uint32_t next_actor, Tick now) {
  EncounterState& s = c.st;
  ++s.turn;
  if (next_actor >= s.seats.size()) {
    next_actor = 0;
    ++s.round;
  }
  s.actor = next_actor;
  c.turn_ends = now + s.turn_ticks;
  if (s.round > s.rounds_max || s.seats.empty()) {
    s.ended = true;
    s.round = std::min(s.round, s.rounds_max);  // the rounds played; the turn number stays past the last
    s.actor = 0;
  }
}

TurnEnded current(const EncounterState& s, TurnEnd how) { return TurnEnded{s.turn, s.round, how}; }

}  // namespace

void start_encounter(EncounterComponent& c, Tick now, Random& random) {
  EncounterState& s = c.st;
  AETHER_ASSERT(s.round == 0 && s.turn_ticks > 0);
  for (EncounterSeat& seat : s.seats) seat.initiative = static_cast<uint32_t>(uniform_range(random, 1, kEncounterInitiativeMax));
  std::sort(s.seats.begin(), s.seats.end(), [](const EncounterSeat& a, const EncounterSeat& b) {
    return a.initiative != b.initiative ? a.initiative > b.initiative : a.entity < b.entity;
  });
  s.round = 1;
  s.turn = 1;
  s.actor = 0;
  c.turn_ends = now + s.turn_ticks;
  if (s.seats.size() < 2 || one_side_left(s)) s.ended = true;
}

TurnVerdict play_turn(EncounterComponent& c, EntityId source, uint32_t round, uint32_t turn, Tick now, TurnEnded* ended) {
  if (!c.running()) return TurnVerdict::kNotRunning;
  if (round != c.st.round || turn != c.st.turn) return TurnVerdict::kStale;
  if (source != actor_of(c.st)) return TurnVerdict::kNotYourTurn;
  *ended = current(c.st, TurnEnd::kActed);
  begin_next_turn(c, c.st.actor + 1, now);
  return TurnVerdict::kAccepted;
}

bool pass_if_due(EncounterComponent& c, Tick now, TurnEnded* ended) {
  if (!c.running() || now < c.turn_ends) return false;
  *ended = current(c.st, TurnEnd::kPassed);
  begin_next_turn(c, c.st.actor + 1, now);
  return true;
}

bool remove_seat(EncounterComponent& c, EntityId who, Tick now, TurnEnded* actor_turn, bool* was_actor) {
  EncounterState& s = c.st;
  *was_actor = false;
  size_t i = 0;
  while (i < s.seats.size() && s.seats[i].entity != who) ++i;
  if (i == s.seats.size()) return false;
  const bool running = c.running();
  s.seats.erase_at(i);
  if (!running) {
    if (s.seats.empty()) s.ended = true;
    return true;
  }
  if (i < s.actor) {
    --s.actor;  // the actor's turn goes on; it just moved up a seat
  } else if (i == s.actor) {
    *was_actor = true;
    *actor_turn = current(s, TurnEnd::kActorLeft);
    begin_next_turn(c, static_cast<uint32_t>(i), now);  // the seat after it is now seat i
  }
  if (!s.ended && one_side_left(s)) s.ended = true;
  return true;
}

// --- World: the encounter entity and the participants' side ------------------------------------

Entity& World::open_encounter(const EntityState& first, uint64_t generation) {
  AETHER_ASSERT(first.kind == kEntityKindEncounter && first.encounter.turn_ticks > 0);
  return restore(first, generation);
}

void World::restore_encounter(Entity& e, const EntityState& state) {
  EncounterState s = state.encounter;
  if (s.turn_ticks == 0) s.turn_ticks = 1;
  if (s.actor >= s.seats.size()) s.actor = 0;
  if (s.seats.empty() && s.round != 0) s.ended = true;
  e.encounter.st = s;
  e.encounter.st.turn_ticks_left = 0;
  e.encounter.turn_ends = tick_ + state.encounter.turn_ticks_left;
  // Not a body (messages.h, kEntityKindEncounter).
  e.hp = 0;
  e.dead = true;
  e.team = kEncounterTeam;
}

Refusal World::check_challenge(const Entity& actor, const EntityState* target) const {
  if (actor.dead) return Refusal::kDead;
  if (actor.is_npc() || actor.is_encounter()) return Refusal::kUnknownSkill;
  if (!target || (target->flags & kEntityFlagDead) || target->kind != kEntityKindAvatar || target->id == actor.id) return Refusal::kNoTarget;
  if (target->team == actor.team) return Refusal::kWrongTeam;
  if (!within_mm(actor.pos, target->pos, content_->encounters.challenge_range_mm)) return Refusal::kOutOfRange;
  return Refusal::kNone;
}

}  // namespace aether::gameplay
