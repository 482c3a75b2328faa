// Live migration on the compute side: release (old owner), handoff, and materialisation (new owner).
// The protocol and its argument are in docs/ownership.md, "Migration".

#include "engine/compute/compute_node.h"
#include "engine/wire/codec.h"

namespace aether {

// Old owner, between ticks: stop writing the entity, ship it whole to the new owner with the inputs
// waiting for it, tell the leader. Inputs and intents that still reach us later are forwarded.
void ComputeNode::handle_release(const ServerMessage& m, const Release& r) {
  gameplay::Entity* e = world_.find(r.entity);
  if (!e || e->generation != r.generation) return;  // not ours (any more): the leader times the migration out
  Handoff h;
  h.state = world_.state_of(*e);
  // Inputs queued since the last tick go along (the queue is drained every tick, so these are few).
  const size_t queued = input_queue_.depth();
  for (size_t i = 0; i < queued; ++i) {
    InputItem item = *input_queue_.pop();
    if (item.entity == r.entity && h.inputs.size() < kHandoffInputsMax) {
      h.inputs.push_back(InputForward{item.entity, item.input});
    } else if (item.entity != r.entity) {
      input_queue_.try_push(std::move(item));  // cannot fail: we just made room
    }
  }
  const EntityState released = h.state;
  // Kept like a state taken from us: if the grant never comes (the leader fell), a later leader
  // recovers the entity from this, asked behind our Promise or by OrphanQuery.
  last_states_.keep(released, LastStates::Why::kTaken);
  world_.despawn(r.entity);
  ++stats_.migrations_out;
  remember_move(r.entity, r.to);
  auto peer = peers_.find(r.to);
  const ConnId conn = peer == peers_.end() ? 0 : peer->second.link->conn();
  if (send_server(rt_.network, conn, envelope(std::move(h))) != SendStatus::kOk) {
    ++stats_.handoffs_lost;
    trace(TraceKind::kHandoffLost, r.entity, static_cast<int64_t>(r.generation), 0, r.to);
  }
  for_each_coordinator([&](ConnId conn, CoordinatorLink&) { send_server(rt_.network, conn, envelope(Released{r.entity, r.generation, released})); });
  trace(TraceKind::kMigrationReleased, r.entity, static_cast<int64_t>(r.generation), 0, r.to);
  (void)m;
}

void ComputeNode::remember_move(EntityId entity, NodeId to) {
  moved_[entity] = MovedEntity{to, rt_.clock.now_ns() + kForwardTtlNs};
  while (moved_.size() > kForwardsMax) moved_.erase(moved_.begin());  // the oldest ids go first
}

// New owner: the state arrived from the old owner. The grant may be here already, or still coming.
void ComputeNode::handle_handoff(const Handoff& h) {
  auto grant = pending_grants_.find(h.state.id);
  if (grant == pending_grants_.end()) {
    auto waiting = pending_handoffs_.find(h.state.id);
    if (waiting != pending_handoffs_.end() && waiting->second.handoff.state.generation > h.state.generation) return;  // a late, older one
    if (waiting == pending_handoffs_.end() && pending_handoffs_.size() >= kPendingMigrationsMax) {
      pending_handoffs_.erase(pending_handoffs_.begin());
    }
    pending_handoffs_[h.state.id] = PendingHandoff{h, rt_.clock.now_ns() + kHandoffWaitNs};
    return;
  }
  // Only the state released for this very migration will do. Another generation's handoff (an older
  // migration that fell back to its snapshot, delayed on a clogged link) would roll the entity back:
  // it is dropped and the grant keeps waiting for its own (chaos-messages seed 56).
  if (h.state.generation != grant->second.grant.released_generation) return;
  const OwnershipGrant g = grant->second.grant;
  pending_grants_.erase(grant);
  materialise(g, &h);
}

// New owner: a migration grant. Without the handoff yet, wait for it (kHandoffWaitNs at most).
void ComputeNode::handle_migration_grant(const OwnershipGrant& g) {
  auto h = pending_handoffs_.find(g.entity);
  if (h != pending_handoffs_.end() && h->second.handoff.state.generation != g.released_generation) {
    // Only the state released for this very migration will do: one of another generation (a
    // migration that fell back to its snapshot, its handoff arriving late) would roll the entity
    // back. Found by the swarm chaos scenario, seed 17, and chaos-messages seed 56.
    pending_handoffs_.erase(h);
    h = pending_handoffs_.end();
  }
  if (h == pending_handoffs_.end()) {
    if (pending_grants_.size() >= kPendingMigrationsMax) pending_grants_.erase(pending_grants_.begin());
    pending_grants_[g.entity] = PendingGrant{g, rt_.clock.now_ns() + kHandoffWaitNs};
    return;
  }
  const Handoff handoff = h->second.handoff;
  pending_handoffs_.erase(h);
  materialise(g, &handoff);
}

// The entity becomes ours: from the handoff if we have it, else (the old owner died mid-migration)
// from the snapshot the grant carries.
void ComputeNode::materialise(const OwnershipGrant& g, const Handoff* h) {
  if (world_.find(g.entity)) return;
  if (cfg_.planted == PlantedBug::kLoseEntity) return;  // planted: the entity vanishes here
  EntityState fallback;
  fallback.id = g.entity;
  fallback.pos = g.spawn_pos;
  const gameplay::ClassDef* cls = world_.content().find_class(g.class_id);
  fallback.hp = (cls ? *cls : world_.content().classes.front()).hp_max;
  fallback.class_id = g.class_id;
  fallback.team = g.team;
  // Without the handoff (its owner lost or cut off), the freshest state we know: the grant's snapshot
  // or our own ghost, fed by the old owner until it stopped (migrations go to neighbours, which hold
  // ghosts often fresher than the grant's snapshot).
  const EntityState from = h ? h->state : freshest(g.recover.value_or(fallback));
  gameplay::Entity& e = world_.restore(from, g.generation);
  e.session = g.session;
  e.gateway = g.gateway;
  if (h) {
    if (cfg_.planted == PlantedBug::kEconomyLootOnHandoffRetry) planted_loot_again(e);
    for (const InputForward& in : h->inputs) input_queue_.try_push(InputItem{in.entity, in.input});
  } else {
    ++stats_.handoff_fallbacks;
  }
  if (ghosts_.contains(g.entity)) forget_ghost(g.entity, GhostDropReason::kNowOurs);
  last_states_.forget(g.entity);
  moved_.erase(g.entity);
  ++stats_.migrations_in;
  trace(TraceKind::kOwnershipGranted, g.entity, static_cast<int64_t>(g.generation), h ? 2 : 3);
}

// Outside the tick: grants whose handoff never came fall back to their snapshot; stale forwarding
// entries and orphan handoffs go.
void ComputeNode::expire_migrations() {
  const TimeNs now = rt_.clock.now_ns();
  for (auto it = pending_grants_.begin(); it != pending_grants_.end();) {
    if (it->second.deadline_ns > now) {
      ++it;
      continue;
    }
    const OwnershipGrant g = it->second.grant;
    it = pending_grants_.erase(it);
    materialise(g, nullptr);
  }
  for (auto it = moved_.begin(); it != moved_.end();) it = it->second.until_ns <= now ? moved_.erase(it) : std::next(it);
  for (auto it = pending_handoffs_.begin(); it != pending_handoffs_.end();) {
    if (it->second.deadline_ns > now) {
      ++it;
      continue;
    }
    // Its grant never came: the state handed to us may be the freshest copy anywhere (the old owner
    // released it), so it is kept for a later recovery to ask for (OrphanQuery).
    last_states_.keep(it->second.handoff.state, LastStates::Why::kOwnerLost);
    it = pending_handoffs_.erase(it);
  }
}

// An input or intent for an entity that just left us follows it to its new owner.
bool ComputeNode::forward_if_moved(EntityId entity, ServerBody body) {
  auto it = moved_.find(entity);
  if (it == moved_.end()) return false;
  auto peer = peers_.find(it->second.to);
  if (peer != peers_.end() && send_server(rt_.network, peer->second.link->conn(), envelope(std::move(body))) == SendStatus::kOk) {
    ++stats_.forwarded_after_move;
  }
  return true;
}

}  // namespace aether
