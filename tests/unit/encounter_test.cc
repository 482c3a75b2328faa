// Turn-based encounters (engine/gameplay/encounter.h): turn order by initiative, the turn timer,
// stale and out-of-turn actions refused, the dead and the gone losing their seats, the round bound,
// and the component through the canonical encoding, the wire's handoff and grant, and a restore on
// another node.

#include <gtest/gtest.h>

#include "engine/gameplay/world.h"
#include "engine/wire/codec.h"
#include "engine/wire/state_codec.h"

namespace aether::gameplay {
namespace {

constexpr uint32_t kTurnTicks = 30;

// An encounter's first state as the leader makes it (coordinator_encounters.cc).
EntityState first_state(EntityId id, std::initializer_list<std::pair<uint64_t, uint32_t>> seats, uint32_t rounds_max = 3) {
  EntityState s;
  s.id = id;
  s.pos = Vec2{10'000, 10'000};
  s.flags = kEntityFlagDead;
  s.team = kEncounterTeam;
  s.kind = kEntityKindEncounter;
  s.version = 1;
  s.generation = 5;
  s.encounter.turn_ticks = kTurnTicks;
  s.encounter.rounds_max = rounds_max;
  for (const auto& [entity, team] : seats) s.encounter.seats.push_back(EncounterSeat{EntityId(entity), team, 0});
  return s;
}

EncounterComponent started(std::initializer_list<std::pair<uint64_t, uint32_t>> seats, Tick now = 100, uint64_t seed = 7, uint32_t rounds_max = 3) {
  EncounterComponent c;
  c.st = first_state(EntityId(900), seats, rounds_max).encounter;
  Xoshiro256 rng(seed);
  start_encounter(c, now, rng);
  return c;
}

std::vector<EntityId> order(const EncounterState& s) {
  std::vector<EntityId> out;
  for (const EncounterSeat& seat : s.seats) out.push_back(seat.entity);
  return out;
}

TEST(Encounter, InitiativeOrdersTheSeatsAndEachActsOncePerRoundInThatOrder) {
  EncounterComponent c = started({{1, 0}, {2, 1}, {3, 0}, {4, 1}});
  ASSERT_TRUE(c.running());
  EXPECT_EQ(c.st.round, 1u);
  EXPECT_EQ(c.st.turn, 1u);
  for (size_t i = 1; i < c.st.seats.size(); ++i) {
    const EncounterSeat& a = c.st.seats[i - 1];
    const EncounterSeat& b = c.st.seats[i];
    EXPECT_TRUE(a.initiative > b.initiative || (a.initiative == b.initiative && a.entity < b.entity)) << "highest initiative first";
    EXPECT_GE(b.initiative, 1u);
    EXPECT_LE(a.initiative, kEncounterInitiativeMax);
  }
  // The same seed draws the same order; the order is a function of the draws, not of the seats' order.
  EXPECT_EQ(order(started({{1, 0}, {2, 1}, {3, 0}, {4, 1}}).st), order(c.st));
  const std::vector<EntityId> seats = order(c.st);
  Tick now = 100;
  uint32_t turn = 1;
  for (uint32_t round = 1; round <= 2; ++round) {
    for (EntityId who : seats) {
      EXPECT_EQ(actor_of(c.st), who);
      TurnEnded ended;
      ASSERT_EQ(play_turn(c, who, round, turn, ++now, &ended), TurnVerdict::kAccepted);
      EXPECT_EQ(ended.turn, turn);
      EXPECT_EQ(ended.round, round);
      EXPECT_EQ(ended.how, TurnEnd::kActed);
      ++turn;
      EXPECT_EQ(c.turn_ends, now + kTurnTicks) << "the next turn's timer starts with it";
    }
  }
  EXPECT_EQ(c.st.round, 3u);
  EXPECT_EQ(c.st.turn, 9u);
}

TEST(Encounter, ATurnNotPlayedWithinItsTimerPasses) {
  EncounterComponent c = started({{1, 0}, {2, 1}}, 100);
  const EntityId first = actor_of(c.st);
  TurnEnded ended;
  EXPECT_FALSE(pass_if_due(c, 100 + kTurnTicks - 1, &ended)) << "not before its timer runs out";
  EXPECT_EQ(actor_of(c.st), first);
  ASSERT_TRUE(pass_if_due(c, 100 + kTurnTicks, &ended));
  EXPECT_EQ(ended.how, TurnEnd::kPassed);
  EXPECT_EQ(ended.turn, 1u);
  EXPECT_NE(actor_of(c.st), first);
  EXPECT_EQ(c.st.turn, 2u);
  EXPECT_EQ(c.turn_ends, 100 + 2 * kTurnTicks);
  // The first actor's action for its lost turn comes late: stale, nothing changes.
  const EncounterComponent before = c;
  EXPECT_EQ(play_turn(c, first, 1, 1, 100 + kTurnTicks + 1, &ended), TurnVerdict::kStale);
  EXPECT_EQ(c.st, before.st);
  EXPECT_EQ(c.turn_ends, before.turn_ends);
}

TEST(Encounter, StaleAndOutOfTurnActionsAreRefusedAndChangeNothing) {
  EncounterComponent c = started({{1, 0}, {2, 1}, {3, 1}});
  const EntityId actor = actor_of(c.st);
  const EntityId other = c.st.seats[1].entity;
  const EncounterComponent before = c;
  TurnEnded ended;
  EXPECT_EQ(play_turn(c, other, 1, 1, 101, &ended), TurnVerdict::kNotYourTurn);
  EXPECT_EQ(play_turn(c, actor, 1, 2, 101, &ended), TurnVerdict::kStale) << "a turn to come";
  EXPECT_EQ(play_turn(c, actor, 2, 1, 101, &ended), TurnVerdict::kStale) << "another round";
  EXPECT_EQ(play_turn(c, EntityId(77), 1, 1, 101, &ended), TurnVerdict::kNotYourTurn) << "not seated";
  EXPECT_EQ(c.st, before.st);
  ASSERT_EQ(play_turn(c, actor, 1, 1, 101, &ended), TurnVerdict::kAccepted);
  EXPECT_EQ(play_turn(c, actor, 1, 1, 102, &ended), TurnVerdict::kStale) << "a turn is played once: the same action again is stale";

  // Through the World, as phase 4 applies it: a second delivery of one intent is a duplicate (its
  // key), a new intent for the turn already played is stale; neither changes the encounter.
  World w(Rules{});
  w.set_tick(200);
  Entity& e = w.open_encounter(first_state(EntityId(900), {{1, 0}, {2, 1}}), 5);
  Xoshiro256 rng(3);
  start_encounter(e.encounter, 200, rng);
  const EntityId a = actor_of(e.encounter.st);
  const RemoteIntent act{IntentKey{NodeId(1), 1, 200, 0}, a, e.id, 1, intent::EncounterTurn{1, 1}};
  ApplyOutcome out = w.apply_intent(e, act);
  EXPECT_EQ(out.result, Applied::kApplied);
  EXPECT_EQ(out.verdict, TurnVerdict::kAccepted);
  EXPECT_EQ(out.turn.turn, 1u);
  const EncounterState after = e.encounter.st;
  EXPECT_EQ(w.apply_intent(e, act).result, Applied::kDuplicate);
  out = w.apply_intent(e, RemoteIntent{IntentKey{NodeId(1), 1, 201, 0}, a, e.id, 1, intent::EncounterTurn{1, 1}});
  EXPECT_EQ(out.result, Applied::kNoEffect);
  EXPECT_EQ(out.verdict, TurnVerdict::kStale);
  EXPECT_EQ(e.encounter.st, after);
  // Damage and the like never touch an encounter: it is no body.
  EXPECT_EQ(w.apply_intent(e, RemoteIntent{IntentKey{NodeId(1), 1, 202, 0}, a, e.id, 1, intent::Damage{5}}).result, Applied::kDead);
}

TEST(Encounter, TheDeadAndTheGoneLoseTheirSeatsAndOneSideLeftEndsIt) {
  EncounterComponent c = started({{1, 0}, {2, 1}, {3, 0}, {4, 1}});
  const std::vector<EntityId> seats = order(c.st);
  TurnEnded ended;
  bool was_actor = false;
  // The actor dies: its turn ends unplayed and the next seat's begins, with a new number.
  ASSERT_TRUE(remove_seat(c, seats[0], 110, &ended, &was_actor));
  EXPECT_TRUE(was_actor);
  EXPECT_EQ(ended.how, TurnEnd::kActorLeft);
  EXPECT_EQ(ended.turn, 1u);
  EXPECT_EQ(actor_of(c.st), seats[1]);
  EXPECT_EQ(c.st.turn, 2u);
  EXPECT_EQ(c.st.round, 1u);
  EXPECT_EQ(c.turn_ends, 110 + kTurnTicks);
  // A seat before the actor goes: the actor's turn goes on.
  ASSERT_EQ(play_turn(c, seats[1], 1, 2, 111, &ended), TurnVerdict::kAccepted);
  ASSERT_EQ(actor_of(c.st), seats[2]);
  ASSERT_TRUE(remove_seat(c, seats[1], 112, &ended, &was_actor));
  EXPECT_FALSE(was_actor);
  EXPECT_EQ(c.st.turn, 3u);
  EXPECT_FALSE(remove_seat(c, EntityId(99), 112, &ended, &was_actor)) << "not seated";
  // Seats left: seats[2], seats[3]. If they are of one team the encounter is over.
  ASSERT_EQ(c.st.seats.size(), 2u);
  const bool one_team = c.st.seats[0].team == c.st.seats[1].team;
  EXPECT_EQ(one_side_left(c.st), one_team);
  EXPECT_EQ(c.st.ended, one_team);
  if (!one_team) {
    EXPECT_EQ(actor_of(c.st), seats[2]) << "the actor's turn went on";
  }
  // Remove a seat of whichever team has the other seat: one side is left, it ends.
  if (!one_team) {
    ASSERT_TRUE(remove_seat(c, seats[3], 113, &ended, &was_actor));
    EXPECT_TRUE(c.st.ended);
    EXPECT_FALSE(c.running());
    EXPECT_FALSE(actor_of(c.st).valid());
    EXPECT_EQ(play_turn(c, seats[2], c.st.round, c.st.turn, 114, &ended), TurnVerdict::kNotRunning);
    EXPECT_FALSE(pass_if_due(c, 10'000, &ended));
  }
}

TEST(Encounter, ItEndsAfterItsRoundBound) {
  EncounterComponent c = started({{1, 0}, {2, 1}}, 0, 9, 2);
  TurnEnded ended;
  Tick now = 0;
  uint32_t turns = 0;
  while (c.running()) {
    now += kTurnTicks;
    ASSERT_TRUE(pass_if_due(c, now, &ended));
    ++turns;
    ASSERT_LE(ended.round, 2u);
  }
  EXPECT_EQ(turns, 4u) << "two rounds of two seats";
  EXPECT_TRUE(c.st.ended);
  EXPECT_EQ(c.st.round, 2u);
}

TEST(Encounter, ASingleTeamOrASingleSeatEndsAtTheStart) {
  EXPECT_TRUE(started({{1, 0}, {2, 0}}).st.ended);
  EXPECT_TRUE(started({{1, 0}}).st.ended);
}

// The component through every path: the canonical encoding (feeds, snapshots, replicas, storage),
// a handoff and an encounter's grant on the wire, and a restore on another node at another tick,
// which resumes the turn's timer where it was.
TEST(Encounter, ItsStateSurvivesTheEncodingTheWireAndARestoreElsewhere) {
  World w(Rules{});
  w.set_tick(500);
  Entity& e = w.open_encounter(first_state(EntityId(900), {{1, 0}, {2, 1}, {3, 1}}), 5);
  EXPECT_TRUE(e.is_encounter());
  EXPECT_TRUE(e.dead) << "no body";
  Xoshiro256 rng(11);
  start_encounter(e.encounter, 500, rng);
  TurnEnded ended;
  ASSERT_EQ(play_turn(e.encounter, actor_of(e.encounter.st), 1, 1, 505, &ended), TurnVerdict::kAccepted);
  w.set_tick(505);
  ASSERT_EQ(w.apply_intent(e, RemoteIntent{IntentKey{NodeId(2), 1, 505, 0}, actor_of(e.encounter.st), e.id, 1, intent::EncounterTurn{1, 2}}).verdict,
            TurnVerdict::kAccepted);
  w.set_tick(512);
  const EntityState st = w.state_of(e);
  EXPECT_EQ(st.kind, kEntityKindEncounter);
  EXPECT_EQ(st.encounter.turn, 3u);
  EXPECT_EQ(st.encounter.turn_ticks_left, 505 + kTurnTicks - 512);
  EXPECT_FALSE(st.intent_marks.empty());

  EntityState decoded;
  const char* error = nullptr;
  ASSERT_TRUE(unpack_state(pack_state(st), decoded, &error)) << error;
  EXPECT_EQ(decoded, st);

  ServerMessage handoff{NodeId(1), Role::kCompute, 3, 512, Handoff{st, {}}};
  auto back = decode_server(encode(handoff));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(std::get<Handoff>(back->body).state, st);
  OwnershipGrant grant{st.id, 6, NodeId{}, SessionId{}, st.pos, kEncounterTeam, first_state(st.id, {{1, 0}, {2, 1}})};
  grant.encounter_open = true;
  auto g = decode_server(encode(ServerMessage{NodeId(1), Role::kCoordinator, 3, 512, grant}));
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(std::get<OwnershipGrant>(g->body), grant);
  grant.recover.reset();
  EXPECT_FALSE(decode_server(encode(ServerMessage{NodeId(1), Role::kCoordinator, 3, 512, grant})).ok()) << "an encounter grant carries its first state";

  World other(Rules{});
  other.set_tick(2'000);
  Entity& moved = other.restore(decoded, st.generation + 1);
  ASSERT_TRUE(moved.is_encounter());
  EntityState again = other.state_of(moved);
  EXPECT_EQ(again.version, st.version + 1);
  again.version = st.version;
  again.generation = st.generation;
  EXPECT_EQ(again, st);
  // The turn counter went with it: the turn now is the one to play, the ones before are stale, and
  // the timer runs out when it would have.
  EXPECT_EQ(play_turn(moved.encounter, actor_of(moved.encounter.st), 1, 2, 2'001, &ended), TurnVerdict::kStale);
  EXPECT_FALSE(pass_if_due(moved.encounter, 2'000 + st.encounter.turn_ticks_left - 1, &ended));
  ASSERT_TRUE(pass_if_due(moved.encounter, 2'000 + st.encounter.turn_ticks_left, &ended));
  EXPECT_EQ(ended.turn, 3u);

  // An avatar's bytes carry no encounter component; bytes that carry it for anything else than an
  // encounter are no encoding of ours.
  Entity& avatar = w.spawn(EntityId(7), Vec2{}, 0, 1);
  EntityState av = w.state_of(avatar);
  av.encounter = st.encounter;
  ASSERT_TRUE(unpack_state(pack_state(av), decoded, &error)) << error;
  EXPECT_EQ(decoded.encounter, EncounterState{});
  std::vector<uint8_t> forged;
  ByteWriter fw(forged);
  fw.varint(7);
  fw.varint(1);
  fw.varint(1);
  fw.varint(kFieldEncounter);
  for (int i = 0; i < 7; ++i) fw.varint(i == 4 ? kTurnTicks : 0);
  fw.varint(0);  // no seats
  error = nullptr;
  EXPECT_FALSE(unpack_state(forged, decoded, &error));
  ASSERT_NE(error, nullptr);
  EXPECT_NE(std::string(error).find("encounter"), std::string::npos) << error;
}

TEST(Encounter, AChallengeNeedsALivingEnemyPlayerWithinRange) {
  World w(Rules{});
  w.set_tick(10);
  Entity& me = w.spawn(EntityId(1), Vec2{0, 0}, 0, 1);
  Entity& foe = w.spawn(EntityId(2), Vec2{5'000, 0}, 1, 1);
  Entity& far = w.spawn(EntityId(3), Vec2{50'000, 0}, 1, 1);
  Entity& ally = w.spawn(EntityId(4), Vec2{1'000, 0}, 0, 1);
  EXPECT_EQ(w.check_challenge(me, nullptr), Refusal::kNoTarget);
  const EntityState f = w.state_of(foe), r = w.state_of(far), a = w.state_of(ally);
  EXPECT_EQ(w.check_challenge(me, &f), Refusal::kNone);
  EXPECT_EQ(w.check_challenge(me, &r), Refusal::kOutOfRange);
  EXPECT_EQ(w.check_challenge(me, &a), Refusal::kWrongTeam);
  EntityState not_a_player = f;
  not_a_player.kind = kEntityKindNpc;
  EXPECT_EQ(w.check_challenge(me, &not_a_player), Refusal::kNoTarget);
  me.dead = true;
  EXPECT_EQ(w.check_challenge(me, &f), Refusal::kDead);
}

TEST(Encounter, ContentRulesForEncounters) {
  Content c = *content_of(Rules{});
  EXPECT_TRUE(check(c).empty());
  c.encounters.turn_ticks = 0;
  c.encounters.rounds_max = kEncounterRoundsMax + 1;
  const std::vector<ContentError> errors = check(c);
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_EQ(errors[0].where, ContentError::Where::kEncounters);
  EXPECT_EQ(errors[0].field, "turn_ticks");
  EXPECT_EQ(errors[1].field, "rounds_max");
}

}  // namespace
}  // namespace aether::gameplay
