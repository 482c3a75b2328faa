// Property: a turn-based encounter (engine/gameplay/encounter.h), whatever its participants do
// (the actor acts, another seat or a stale action tries, turns run out on the timer) and wherever it
// goes (handoffs through the canonical encoding to another world at another tick), gives every
// participant exactly one turn per round, in initiative order (highest first, ties to the lower id),
// numbers its turns 1, 2, 3, ... with none repeated or skipped, passes a turn exactly when its timer
// runs out, refuses every action not for the turn now by its actor (changing nothing), and ends
// after rounds_max rounds.

#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which does not include it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "engine/gameplay/world.h"
#include "engine/wire/state_codec.h"

namespace aether::gameplay {
namespace {

enum Op : int { kActorActs = 0, kOtherTries = 1, kStaleTries = 2, kTick = 3, kHandoff = 4 };

struct Run {
  std::unique_ptr<World> world;
  Entity* e = nullptr;
  Tick base = 0;  // the world's tick when `elapsed` was 0
  uint32_t key_seq = 0;
};

RC_GTEST_PROP(TurnOrder, EveryParticipantGetsExactlyOneTurnPerRoundInInitiativeOrder, ()) {
  const auto seats = *rc::gen::inRange<uint32_t>(2, static_cast<uint32_t>(kEncounterSeatsMax) + 1);
  const auto rounds_max = *rc::gen::inRange<uint32_t>(1, 6);
  const auto turn_ticks = *rc::gen::inRange<uint32_t>(1, 6);
  const auto seed = *rc::gen::arbitrary<uint64_t>();
  const auto ops = *rc::gen::container<std::vector<int>>(rc::gen::inRange(0, 5));

  EntityState first;
  first.id = EntityId(900);
  first.kind = kEntityKindEncounter;
  first.flags = kEntityFlagDead;
  first.team = kEncounterTeam;
  first.version = 1;
  first.generation = 1;
  first.encounter.turn_ticks = turn_ticks;
  first.encounter.rounds_max = rounds_max;
  for (uint32_t i = 0; i < seats; ++i) first.encounter.seats.push_back(EncounterSeat{EntityId(10 + i), i, 0});  // a team each

  Run run;
  run.base = 1'000;
  run.world = std::make_unique<World>(Rules{});
  run.world->set_tick(run.base);
  run.e = &run.world->open_encounter(first, 1);
  Xoshiro256 rng(seed);
  start_encounter(run.e->encounter, run.base, rng);
  RC_ASSERT(run.e->encounter.running());

  // The order the rule gives, from the initiative drawn.
  std::vector<EncounterSeat> expected(run.e->encounter.st.seats.begin(), run.e->encounter.st.seats.end());
  std::sort(expected.begin(), expected.end(), [](const EncounterSeat& a, const EncounterSeat& b) {
    return a.initiative != b.initiative ? a.initiative > b.initiative : a.entity < b.entity;
  });
  const uint32_t total = seats * rounds_max;

  std::vector<std::pair<TurnEnded, EntityId>> ended;  // every turn that ended, and whose it was
  Tick elapsed = 0;
  Tick turn_started = 0;
  auto now = [&] { return run.base + elapsed; };
  auto act = [&](EntityId source, uint32_t round, uint32_t turn) {
    run.world->set_tick(now());
    const EncounterState before = run.e->encounter.st;
    const EntityId actor = actor_of(before);
    const ApplyOutcome out = run.world->apply_intent(*run.e, RemoteIntent{IntentKey{NodeId(1), 1, now(), run.key_seq++}, source, run.e->id, 1,
                                                                           intent::EncounterTurn{round, turn}});
    const bool right = before.round != 0 && !before.ended && source == actor && round == before.round && turn == before.turn;
    RC_ASSERT((out.verdict == TurnVerdict::kAccepted) == right);
    if (!right) {
      RC_ASSERT(run.e->encounter.st == before);  // refused: nothing changed
      return;
    }
    ended.emplace_back(out.turn, actor);
    turn_started = elapsed;
  };
  auto tick = [&] {
    ++elapsed;
    const EntityId actor = actor_of(run.e->encounter.st);
    const bool due = run.e->encounter.running() && elapsed - turn_started >= turn_ticks;
    TurnEnded t;
    RC_ASSERT(pass_if_due(run.e->encounter, now(), &t) == due);
    if (!due) return;
    RC_ASSERT(t.how == TurnEnd::kPassed);
    ended.emplace_back(t, actor);
    turn_started = elapsed;
  };
  auto handoff = [&] {
    run.world->set_tick(now());
    const EntityState st = run.world->state_of(*run.e);
    EntityState decoded;
    const char* error = nullptr;
    RC_ASSERT(unpack_state(pack_state(st), decoded, &error));
    auto next = std::make_unique<World>(Rules{});
    const Tick base = 50'000 + run.base;  // another node, another tick
    next->set_tick(base + elapsed);
    run.e = &next->restore(decoded, st.generation + 1);
    run.world = std::move(next);
    run.base = base;
    RC_ASSERT(run.world->state_of(*run.e).encounter == st.encounter);  // the turn, its timer and the order went with it
  };

  for (int op : ops) {
    const EncounterState& s = run.e->encounter.st;
    const EntityId actor = actor_of(s);
    switch (op) {
      case kActorActs: act(actor, s.round, s.turn); break;
      case kOtherTries: act(s.seats[(s.actor + 1) % s.seats.size()].entity, s.round, s.turn); break;
      case kStaleTries: act(actor, s.round, s.turn - 1); break;
      case kTick: tick(); break;
      case kHandoff: handoff(); break;
    }
    if (!run.e->encounter.running()) break;
  }
  // Left alone, the timer finishes it.
  for (uint32_t guard = 0; run.e->encounter.running(); ++guard) {
    RC_ASSERT(guard <= total * turn_ticks);
    tick();
  }

  RC_ASSERT(run.e->encounter.st.ended);
  RC_ASSERT(ended.size() == total);
  for (size_t k = 0; k < ended.size(); ++k) {
    const auto& [t, who] = ended[k];
    RC_ASSERT(t.turn == k + 1);                              // numbered 1, 2, 3, ...: none repeated, none skipped
    RC_ASSERT(t.round == k / seats + 1);                     // one turn per seat per round
    RC_ASSERT(who == expected[k % seats].entity);            // in initiative order
  }
}

}  // namespace
}  // namespace aether::gameplay
