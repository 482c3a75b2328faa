// Turn-based encounters on the compute node (docs/gameplay.md, "Encounters"). The rules are in
// engine/gameplay/encounter.h; this file routes them through the tick:
//   phase 2  index_encounters: which of our entities sit in which encounter (ours, or the ghost of
//            one owned elsewhere) and whose turn it is; a challenge goes to the leader, which creates
//            the encounter entity and grants it to us; a participant's skill is refused unless it is
//            its turn, and a skill used on its turn sends the turn's action to the encounter as an
//            intent (the intent pipeline: at most once, routed to the encounter's owner).
//   phase 3  run_encounters: our encounters start (initiative from our seeded stream), lose the
//            seats of the dead and of those gone past the content's leave distance, pass turns whose
//            timer ran out, end, and ask the leader to remove them.
//   phase 4  the encounter's owner plays the action if it is for the turn now and from its actor
//            (encounter_turn_applied); anything else is refused, changes nothing and is counted.

#include <algorithm>

#include "engine/compute/compute_node.h"

namespace aether {

void ComputeNode::index_encounters() {
  seats_.clear();
  auto add = [&](EntityId encounter, const EncounterState& st) {
    if (st.round == 0 || st.ended) return;
    for (size_t i = 0; i < st.seats.size(); ++i) {
      const EntityId who = st.seats[i].entity;
      if (!world_.find(who)) continue;  // only our entities act here
      // In two encounters at once (the leader refuses it; a restore could bring it back): the lower id rules.
      seats_.try_emplace(who, SeatView{encounter, st.round, st.turn, i == st.actor});
    }
  };
  for (const auto& [id, e] : world_.entities()) {
    if (e.is_encounter()) add(id, e.encounter.st);
  }
  ghosts_.for_each([&](const Ghost& g) {
    if (g.state.kind == kEntityKindEncounter && !world_.find(g.state.id)) add(g.state.id, g.state.encounter);
  });
  std::erase_if(turns_played_, [&](const auto& played) {
    auto seat = seats_.find(played.first);
    return seat == seats_.end() || seat->second.encounter != played.second.first;
  });
  std::erase_if(challenges_, [&](const auto& c) { return c.second + kChallengeWaitTicks <= tick_ || !world_.find(c.first); });
}

void ComputeNode::challenge(gameplay::Entity& e, gameplay::Surroundings& around) {
  e.skill_requested = 0;
  const EntityState* target = around.find(e.target);
  gameplay::Refusal refusal = world_.check_challenge(e, target);
  if (refusal == gameplay::Refusal::kNone && (seats_.count(e.id) || challenges_.count(e.id) || seats_.count(e.target))) {
    refusal = gameplay::Refusal::kInEncounter;
  }
  if (refusal != gameplay::Refusal::kNone) {
    ++stats_.skill_refusals[static_cast<size_t>(refusal)];
    if (refusals_.refused(e.id, tick_)) kick(e, refusal);
    return;
  }
  // The leader checks again against its table (both still there, neither seated anywhere) and
  // grants the encounter to us; only the leader answers, the others drop it.
  const EncounterRequest request{e.id, target->id, e.pos, EntityId{}};
  for_each_coordinator([&](ConnId conn, CoordinatorLink&) { send_server(rt_.network, conn, envelope(request)); });
  challenges_[e.id] = tick_;
  ++stats_.challenges_sent;
  trace(TraceKind::kChallengeSent, e.id, static_cast<int64_t>(target->id.value));
}

bool ComputeNode::turn_allows(gameplay::Entity& e) {
  auto seat = seats_.find(e.id);
  if (seat == seats_.end()) return true;
  auto played = turns_played_.find(e.id);
  const bool played_it = played != turns_played_.end() && played->second.second >= seat->second.turn;
  if (seat->second.its_turn && !played_it) return true;
  // Refused and counted like any refused skill, but not toward the refusal kick: the client
  // protocol does not carry the turn order yet, so an honest client cannot know it must wait.
  ++stats_.skill_refusals[static_cast<size_t>(gameplay::Refusal::kNotYourTurn)];
  e.skill_requested = 0;
  return false;
}

void ComputeNode::turn_played(const gameplay::Entity& e, uint16_t skill) {
  auto seat = seats_.find(e.id);
  if (seat == seats_.end() || skill == 0) return;
  turns_played_[e.id] = {seat->second.encounter, seat->second.turn};
  RemoteIntent action{world_.intent_keys().next(tick_), e.id, seat->second.encounter, skill,
                      intent::EncounterTurn{seat->second.round, seat->second.turn}};
  route_intent(action);
}

void ComputeNode::trace_turn(EntityId encounter, const gameplay::TurnEnded& t) {
  trace(TraceKind::kEncounterTurnEnded, encounter, t.turn, (int64_t{t.round} << 2) | static_cast<int64_t>(t.how));
  if (t.how == gameplay::TurnEnd::kPassed) ++stats_.encounter_turns_passed;
}

void ComputeNode::run_encounters() {
  const gameplay::EncounterDef& rules = world_.content().encounters;
  for (auto& [id, e] : world_.mutable_entities()) {
    if (!e.is_encounter()) continue;
    gameplay::EncounterComponent& c = e.encounter;
    const bool was_ended = c.st.ended;
    if (c.st.round == 0 && !c.st.ended) {
      gameplay::start_encounter(c, tick_, rt_.random);
      ++e.version;
      ++stats_.encounters_started;
      trace(TraceKind::kEncounterStarted, id, static_cast<int64_t>(c.st.seats.size()), static_cast<int64_t>(gameplay::actor_of(c.st).value));
    }
    if (c.running()) {
      // Seats lost: the dead, and those seen farther than the leave distance. One we cannot see
      // (no ghost) keeps its seat: its turns pass on the timer, and the rounds are bounded.
      for (size_t i = 0; i < c.st.seats.size();) {
        const EntityId who = c.st.seats[i].entity;
        EntityState scratch;
        const EntityState* s = resolve_target(who, scratch);
        const bool gone = s && ((s->flags & kEntityFlagDead) || !within_mm(s->pos, e.pos, rules.leave_mm));
        if (!gone) {
          ++i;
          continue;
        }
        gameplay::TurnEnded t;
        bool was_actor = false;
        gameplay::remove_seat(c, who, tick_, &t, &was_actor);
        ++e.version;
        if (was_actor) trace_turn(id, t);
        if (!c.running()) break;
      }
      gameplay::TurnEnded t;
      if (gameplay::pass_if_due(c, tick_, &t)) {
        ++e.version;
        trace_turn(id, t);
      }
    }
    if (!c.st.ended) continue;
    if (!was_ended) {
      ++stats_.encounters_ended;
      trace(TraceKind::kEncounterEnded, id, c.st.round, static_cast<int64_t>(c.st.seats.size()));
    }
    // Over: the leader erases it and revokes it from us. Asked again until it does (a leader
    // failover may lose the request), at most once per kEncounterCloseEveryTicks.
    if (!was_ended || (tick_ + id.value) % kEncounterCloseEveryTicks == 0) {
      const EncounterRequest close{EntityId{}, EntityId{}, Vec2{}, id};
      for_each_coordinator([&](ConnId conn, CoordinatorLink&) { send_server(rt_.network, conn, envelope(close)); });
    }
  }
}

void ComputeNode::encounter_turn_applied(gameplay::Entity& encounter, const RemoteIntent& intent, const gameplay::ApplyOutcome& out) {
  if (out.verdict != gameplay::TurnVerdict::kAccepted) {
    ++stats_.encounter_turns_refused;
    trace(TraceKind::kEncounterTurnRefused, encounter.id, static_cast<int64_t>(out.verdict), static_cast<int64_t>(intent.source.value));
    return;
  }
  ++stats_.encounter_turns_acted;
  trace_turn(encounter.id, out.turn);
  if (cfg_.planted == PlantedBug::kEncounterTurnTwice && encounter.encounter.running()) {
    --encounter.encounter.st.turn;  // planted: the turn's number is not used up, so the next turn repeats it
  }
}

}  // namespace aether
