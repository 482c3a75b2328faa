#pragma once
// Turn-based encounters (docs/gameplay.md, "Encounters"): an encounter is an entity of its own kind,
// owned like any entity, whose component holds the participants (seats) in turn order, the round,
// the turn and the turn's timer, all on the 10 Hz tick.
//
// The rules, one place (these functions; World and the compute node call them):
//   start      the owner draws each seat's initiative from its seeded stream, in seat order, and
//              orders the seats by initiative, highest first (ties: the lower entity id); round 1,
//              turn 1, the first seat acts, the timer starts.
//   act        only the seat whose turn it is acts, and only for the (round, turn) now: anything else
//              is stale and changes nothing. An action ends the turn.
//   timer      a turn whose actor has not acted within turn_ticks passes.
//   next       the next seat in order acts (a new turn number); after the last seat, a new round.
//   removal    a participant that dies or leaves loses its seat; if it was the actor, its turn ends
//              unplayed and the next seat's begins.
//   end        when the seats left are all of one team, or when round rounds_max is over.
// The turn number counts every turn begun and is never reused, so an action names exactly one turn:
// a retried, late or replayed action meets a later turn number and is refused, and a turn is played
// at most once. The whole component is in the canonical state, so a handoff, a snapshot or a replica
// carries the counter: a new owner continues from it.

#include <cstdint>

#include "engine/core/ids.h"
#include "engine/core/random.h"
#include "engine/core/time.h"
#include "engine/wire/messages.h"

namespace aether::gameplay {

// The component inside its owner: the state's fields, the turn's end as an absolute tick (states carry
// ticks left, so a restore elsewhere resumes the timer where it was).
struct EncounterComponent {
  EncounterState st;  // st.turn_ticks_left is unused inside the owner: turn_ends is the timer
  Tick turn_ends = 0;
  bool running() const { return st.round != 0 && !st.ended; }
};

// How a turn ended, for traces and the checker.
enum class TurnEnd : uint8_t { kActed = 0, kPassed = 1, kActorLeft = 2 };

// A turn that ended: its number and round, and how.
struct TurnEnded {
  uint32_t turn = 0;
  uint32_t round = 0;
  TurnEnd how = TurnEnd::kActed;
};

enum class TurnVerdict : uint8_t {
  kAccepted,
  kNotRunning,   // not started, or over
  kNotYourTurn,  // the source is not the seat whose turn it is
  kStale,        // for another round or turn than the one now
};
const char* turn_verdict_name(TurnVerdict v);

// Draws initiative and starts round 1 (a component with round 0; with fewer than two teams seated
// it ends at once instead).
void start_encounter(EncounterComponent& c, Tick now, Random& random);
// The seat whose turn it is (invalid if not running).
EntityId actor_of(const EncounterState& s);
bool is_seated(const EncounterState& s, EntityId who);
// Whether the seats left are all of one team (or none).
bool one_side_left(const EncounterState& s);
// `source` acts for (round, turn): accepted ends the turn (`ended` says which).
TurnVerdict play_turn(EncounterComponent& c, EntityId source, uint32_t round, uint32_t turn, Tick now, TurnEnded* ended);
// The timer ran out: the turn passes. False if it has not run out (or not running).
bool pass_if_due(EncounterComponent& c, Tick now, TurnEnded* ended);
// `who` loses its seat (dead, or left). True if it had one; `actor_turn` is set if its turn was
// running then (and ended unplayed). Ends the encounter if one side is left.
bool remove_seat(EncounterComponent& c, EntityId who, Tick now, TurnEnded* actor_turn, bool* was_actor);

}  // namespace aether::gameplay
