// The compute node's tick: six phases over four bounded queues. The network side is compute_links.cc.

#include "engine/compute/compute_node.h"

#include <algorithm>
#include <bit>

#include "engine/wire/codec.h"

namespace aether {

const char* tick_phase_name(TickPhase phase) {
  switch (phase) {
    case TickPhase::kDrainInputs: return "drain-inputs";
    case TickPhase::kGenerateIntents: return "generate-intents";
    case TickPhase::kSimulate: return "simulate";
    case TickPhase::kConsumeIntents: return "consume-intents";
    case TickPhase::kProduceDeltas: return "produce-deltas";
    case TickPhase::kFlushOutput: return "flush-output";
  }
  return "unknown";
}

ComputeNode::ComputeNode(Runtime& rt, ComputeConfig config)
    : rt_(rt),
      cfg_(std::move(config)),
      identity_(rt, cfg_.identity_required),
      world_(cfg_.rules),
      input_queue_(cfg_.input_queue_max),
      intent_queue_(cfg_.intent_queue_max),
      simulation_queue_(cfg_.simulation_queue_max),
      output_queue_(cfg_.output_queue_max),
      ghosts_(cfg_.ghosts_max),
      governor_(cfg_.load) {
  AETHER_ASSERT(cfg_.node.valid());
  AETHER_ASSERT(!cfg_.coordinator_addresses.empty());
  incarnation_ = rt_.random.next_u64() | 1;  // never 0: 0 means "unknown" to the coordinator
  world_.intent_keys().set_origin(cfg_.node, incarnation_);
  for (const std::string& address : cfg_.coordinator_addresses) {
    coordinators_.push_back(CoordinatorLink{std::make_unique<OutboundLink>(rt_, address)});
    coordinators_.back().link->expect(Role::kCoordinator, NodeId{}, &identity_);  // configured by address only
  }
  AETHER_ASSERT(cfg_.view_radius_mm > 0);
  rt_.network.set_handler(this);
}

ComputeNode::~ComputeNode() {
  for (TimerId t : {tick_timer_, subscribe_timer_, heartbeat_timer_, snapshot_timer_, promise_load_timer_}) {
    if (t != 0) rt_.timers.cancel(t);
  }
}

void ComputeNode::begin_drain() {
  if (drain_) return;
  drain_ = Drain{};
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "draining: asking the leader to move our {} entities off", world_.size());
}

bool ComputeNode::drained() const {
  return drain_ && drain_->leader_knows && world_.size() == 0 && pending_grants_.empty() && pending_handoffs_.empty();
}

Readiness ComputeNode::readiness() const {
  if (data_address_.empty()) return {false, "not listening"};
  if (drain_) return {false, "draining"};
  if (!lease_valid()) {
    if (!lease_.clock_trusted()) return {false, "no lease: our clock cannot be trusted"};
    return {false, lease_.ever_granted() ? "lease lapsed: no leader acked our heartbeats" : "not registered: no lease yet"};
  }
  return {true, "registered and leased"};
}

void ComputeNode::start() {
  if (cfg_.durable_promises) load_promise();
  data_address_ = listen_logged(rt_, cfg_.listen_address);
  if (data_address_.empty()) return;
  log_at(rt_.log, LogLevel::kInfo, {}, "compute node listening on {}", data_address_);
  for (auto& c : coordinators_) c.link->start();
  first_tick_at_ = rt_.clock.now_ns() + kTickNs;
  schedule_tick();
  subscribe_timer_ = rt_.timers.schedule(cfg_.subscribe_every_ns, [this] { subscribe_peers(); });
  heartbeat_timer_ = rt_.timers.schedule(kHeartbeatIntervalNs, [this] { send_heartbeat(); });
  snapshot_timer_ = rt_.timers.schedule(kSnapshotIntervalNs, [this] { send_snapshots(); });
}

// Ticks are pinned to a fixed grid (first_tick_at_ + k * 100 ms), so they do not drift; a tick that
// overruns its budget makes the next one start late, never twice.
void ComputeNode::schedule_tick() {
  const TimeNs now = rt_.clock.now_ns();
  TimeNs next = first_tick_at_ + static_cast<TimeNs>(slot_) * kTickNs;
  if (next < now) {
    ++stats_.tick_overruns;
    next = now;
    slot_ = static_cast<uint64_t>((now - first_tick_at_) / kTickNs);  // skip the missed slots
  }
  tick_timer_ = rt_.timers.schedule(next - now, [this] {
    tick_timer_ = 0;
    ++slot_;
    if (lease_valid() || cfg_.planted == PlantedBug::kWriteAfterLease) {
      lease_lapsed_logged_ = false;
      run_tick();
    } else {
      skip_tick();
    }
    schedule_tick();
  });
}

// Without a valid lease we may no longer be the owner of anything: write nothing, wait for the
// coordinator (a renewal resumes ticking; an eviction drops everything).
void ComputeNode::skip_tick() {
  ++stats_.ticks_without_lease;
  if (lease_lapsed_logged_ || world_.size() == 0 || !lease_.ever_granted()) return;
  lease_lapsed_logged_ = true;
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "lease lapsed: {} entities frozen until the coordinator answers", world_.size());
  trace(TraceKind::kLeaseLapsed, EntityId{}, static_cast<int64_t>(world_.size()));
}

void ComputeNode::run_tick() {
  const TimeNs started = rt_.clock.now_ns();
  ++tick_;
  world_.set_tick(tick_);
  // Each queue is measured where it is fullest: inputs before the drain, intents before phase 4,
  // output before the flush; simulation jobs once gameplay is done.
  const size_t inputs_queued = input_queue_.depth();
  drain_inputs();
  generate_intents();
  simulate();
  const size_t intents_queued = intent_queue_.depth();
  consume_intents();
  const TimeNs gameplay_done = rt_.clock.now_ns();
  produce_deltas();
  send_huds();  // compute_hud.cc
  const size_t outputs_queued = output_queue_.depth();
  flush_output();
  flush_loot_log();
  flush_character_saves();
  trace(TraceKind::kQueueDepths, EntityId{}, pack_queue_depths(inputs_queued, intents_queued),
        pack_queue_depths(simulation_queue_.depth(), outputs_queued));
  const TimeNs took = rt_.clock.now_ns() - started;
  hard_ns_ += gameplay_done - started;
  soft_ns_ += took - (gameplay_done - started);
  ++stats_.ticks;
  stats_.tick_ns.record(took);
  stats_.tick_buckets.record(took);
  if (debug_.active()) debug_states();
  if (journal_.active()) journal_.expire(tick_);
  trace(TraceKind::kTickDone, EntityId{}, static_cast<int64_t>(world_.size()), took);
  if (governor_.observe(tick_, world_.size(), cfg_.capacity_entities, took)) {
    const LoadLevel level = governor_.level();
    trace(TraceKind::kLoadLevel, EntityId{}, static_cast<int64_t>(level), governor_.load_permille());
    log_at(rt_.log, level == LoadLevel::kNormal ? LogLevel::kInfo : LogLevel::kWarn, {epoch_, tick_, {}},
           "load {} permille of plan ({} entities, capacity {}): {}", governor_.load_permille(), world_.size(), cfg_.capacity_entities,
           load_level_name(level));
  }
}

void ComputeNode::enter(TickPhase phase) {
  if (phase_observer_) phase_observer_(phase, tick_);
}

// Phase 1: every input that arrived since the last tick, in arrival order.
void ComputeNode::drain_inputs() {
  enter(TickPhase::kDrainInputs);
  const size_t n = input_queue_.depth();
  for (size_t i = 0; i < n; ++i) {
    InputItem item = *input_queue_.pop();
    if (debug_.active()) debug_input(item.entity, item.input);
    if (journal_.active()) journal_.note_input(item.entity, tick_, item.input);
    switch (world_.apply_input(item.entity, item.input)) {
      case gameplay::ApplyResult::kApplied: ++stats_.inputs_applied; break;
      case gameplay::ApplyResult::kUnknownEntity: ++stats_.inputs_unknown_entity; break;
      case gameplay::ApplyResult::kStale: ++stats_.inputs_stale; break;
      case gameplay::ApplyResult::kDead: break;
    }
  }
}

// The state gameplay may read for a target: ours if we own it, else our ghost of it.
const EntityState* ComputeNode::resolve_target(EntityId target, EntityState& scratch) const {
  if (!target.valid()) return nullptr;
  if (const gameplay::Entity* e = world_.find(target)) {
    scratch = world_.state_of(*e);
    return &scratch;
  }
  const Ghost* g = ghosts_.find(target);
  return g ? &g->state : nullptr;
}

namespace {
constexpr int32_t kAreaGridCellMm = 20'000;  // area skills reach 5-15 m: a query visits a few cells
// What phase 2 reads of the world: our entities (their states made on demand) and our ghosts.
class NodeSurroundings final : public gameplay::Surroundings {
 public:
  NodeSurroundings(const gameplay::World& world, const GhostTable& ghosts) : world_(world), ghosts_(ghosts) {}
  const EntityState* find(EntityId id) override {
    if (const gameplay::Entity* e = world_.find(id)) {
      one_ = world_.state_of(*e);
      return &one_;
    }
    const Ghost* g = ghosts_.find(id);
    return g ? &g->state : nullptr;
  }
  // Everything we know within the radius, through a grid of our entities and ghosts made at the
  // first area query of the tick (positions do not change in phase 2: movement is phase 3's).
  void around(Vec2 at, int32_t radius_mm, size_t max, std::vector<const EntityState*>& out) override {
    out.clear();
    area_.clear();
    if (!grid_built_) build_grid();
    found_.clear();
    grid_.for_each_within(at, radius_mm, [&](EntityId id, Vec2 pos) { found_.emplace_back(distance_sq_mm2(pos, at), id); });
    std::sort(found_.begin(), found_.end());
    if (found_.size() > max) found_.resize(max);
    area_.reserve(found_.size());
    for (const auto& [d, id] : found_) {
      const gameplay::Entity* e = world_.find(id);
      area_.push_back(e ? world_.state_of(*e) : ghosts_.find(id)->state);
    }
    for (const EntityState& s : area_) out.push_back(&s);
  }

 private:
  void build_grid() {
    grid_built_ = true;
    for (const auto& [id, e] : world_.entities()) grid_.add(id, e.pos);
    ghosts_.for_each([&](const Ghost& g) {
      if (!world_.find(g.state.id)) grid_.add(g.state.id, g.state.pos);
    });
    grid_.finish();
  }

  const gameplay::World& world_;
  const GhostTable& ghosts_;
  EntityState one_;
  std::vector<EntityState> area_;
  SpatialGrid grid_{kAreaGridCellMm};
  bool grid_built_ = false;
  std::vector<std::pair<int64_t, EntityId>> found_;
};
}  // namespace

// Phase 2: casts that complete and skills asked for become intents. An intent names the entity it
// acts on and only that entity's owner applies it: ours go to our IntentQueue, the others leave
// (through the OutputQueue) for their owner's. That is what keeps one writer per entity.
void ComputeNode::generate_intents() {
  enter(TickPhase::kGenerateIntents);
  refusals_.sweep(tick_);
  NodeSurroundings around(world_, ghosts_);
  index_encounters();
  for (auto& [id, e] : world_.mutable_entities()) {
    if (e.is_npc()) world_.think(e, around);  // an NPC's AI is its input (engine/gameplay/npc.cc)
    if (e.skill_requested == kChallengeSlot) challenge(e, around);  // compute_encounters.cc
    // In an encounter, a skill only on its turn; using one plays the turn.
    const bool asked = e.skill_requested != 0 && turn_allows(e);
    if (e.skill_requested == 0 && e.cast.skill == 0) continue;
    intents_scratch_.clear();
    const gameplay::Refusal refusal = world_.act(e, around, intents_scratch_);
    if (refusal != gameplay::Refusal::kNone) {
      ++stats_.skill_refusals[static_cast<size_t>(refusal)];
      if (refusals_.refused(e.id, tick_)) kick(e, refusal);
    } else if (asked) {
      turn_played(e, intents_scratch_.empty() ? e.cast.skill : intents_scratch_.front().skill);
    }
    if (intents_scratch_.empty()) continue;
    ++stats_.skills_used;
    trace(TraceKind::kSkillUsed, e.id, intents_scratch_.front().skill, static_cast<int64_t>(intents_scratch_.size()));
    for (const RemoteIntent& intent : intents_scratch_) route_intent(intent);
  }
}

// The player of e was refused more than kRefusalsMax actions in a window (RefusalMeter): the
// gateway holding its session is told to end it (it obeys only e's owner: us). An entity no player
// drives has no gateway and is not kicked.
void ComputeNode::kick(const gameplay::Entity& e, gameplay::Refusal last) {
  auto sub = e.gateway.valid() ? subscribers_.find(e.gateway) : subscribers_.end();
  if (sub == subscribers_.end() || sub->second.role != Role::kGateway) return;
  const uint64_t n = ++stats_.sessions_kicked;
  if (std::has_single_bit(n)) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, e.id}, "more than {} refused actions in {} ticks (last: {}); gateway {} told to end the session ({} so far)",
           kRefusalsMax, kRefusalWindowTicks, gameplay::refusal_name(last), e.gateway.value, n);
  }
  OutputItem item{sub->second.conn, nullptr, encode(envelope(SessionKick{e.id, "too many refused actions"}))};
  // Queue full: this kick is lost; a player still refused past the limit is kicked in the next window.
  output_queue_.try_push(std::move(item));
}

void ComputeNode::route_intent(const RemoteIntent& intent) {
  if (debug_.active()) debug_intent(intent);
  if (journal_.active()) journal_.note_intent(tick_, intent);
  if (world_.find(intent.target)) {
    if (!intent_queue_.try_push(intent)) ++stats_.intents_dropped;
    return;
  }
  const Ghost* ghost = ghosts_.find(intent.target);
  auto peer = ghost ? peers_.find(ghost->owner) : peers_.end();
  const ConnId conn = peer == peers_.end() ? 0 : peer->second.link->conn();
  if (conn == 0) {
    ++stats_.intents_dropped;
    return;
  }
  OutputItem item{conn, nullptr, encode(envelope(intent))};
  if (output_queue_.try_push(std::move(item))) {
    ++stats_.intents_sent_remote;
    trace(TraceKind::kIntentSent, intent.target, static_cast<int64_t>(intent.source.value), 0, ghost->owner);
  } else {
    ++stats_.intents_dropped;
  }
}

Vec2 ComputeNode::respawn_point(uint32_t team) {
  const Vec2 first = gameplay::World::spawn_point(cfg_.rules, team, rt_.random);
  if (!regions_) return first;
  for (int draw = 0; draw < kRespawnDrawsMax; ++draw) {
    const Vec2 p = draw == 0 ? first : gameplay::World::spawn_point(cfg_.rules, team, rt_.random);
    if (regions_->home(p) == cfg_.node) {
      ++stats_.respawns_at_home;
      return p;
    }
  }
  ++stats_.respawns_away;
  return first;
}

// Phase 3: internal jobs that are due, then each entity's effects, resource and movement.
void ComputeNode::simulate() {
  enter(TickPhase::kSimulate);
  while (!simulation_queue_.empty() && simulation_queue_.front().due_tick <= tick_) {
    const gameplay::SimJob job = *simulation_queue_.pop();
    gameplay::Entity* e = world_.find(job.entity);
    if (job.kind == gameplay::SimJob::Kind::kRespawn && e && e->dead) {
      world_.respawn(*e, respawn_point(e->team));
      trace(TraceKind::kEntityRespawned, e->id, e->pos.x_mm, e->pos.y_mm);
    }
  }
  for (auto& [id, e] : world_.mutable_entities()) {
    if (world_.update(e)) on_death(e, EntityId{});
    if (const gameplay::PortalDef* portal = world_.take_portal(e)) {
      if (cfg_.planted == PlantedBug::kPortalOutsideZone) e.pos.x_mm -= gameplay::kZoneGapMm / 2;
      ++stats_.portals_taken;
      trace(TraceKind::kPortalTaken, e.id, portal->id, portal->to_zone);
    }
    enter_instance(e);  // compute_instances.cc
  }
  forget_instance_asks();
  run_encounters();  // compute_encounters.cc
}

// Phase 4: apply the intents aimed at entities we own, local and remote alike.
void ComputeNode::consume_intents() {
  enter(TickPhase::kConsumeIntents);
  while (auto intent = intent_queue_.pop()) apply_intent(*intent);
  std::erase_if(remote_fired_, [&](const auto& fired) {
    const gameplay::SkillDef* skill = world_.content().find_skill(fired.first.second);
    return !skill || fired.second.accepted + skill->cooldown_ticks < tick_;
  });
}

void ComputeNode::apply_intent(const RemoteIntent& intent) {
  gameplay::Entity* target = world_.find(intent.target);
  if (!target) {
    ++stats_.intents_dropped;  // despawned, or no longer ours
    return;
  }
  if (cfg_.planted == PlantedBug::kApplyIntentTwice && !target->dead) {  // planted: a second application, its mark forgotten
    target->intent_marks.clear();
    world_.apply_intent(*target, intent);
    trace(TraceKind::kIntentApplied, target->id, intent_key_hash(intent.key), static_cast<int64_t>(intent.action.index()));
    target->intent_marks.clear();
    if (target->dead) return on_death(*target, intent.source);
  }
  const gameplay::ApplyOutcome out = world_.apply_intent(*target, intent);
  if (out.result == gameplay::Applied::kDuplicate) {
    ++stats_.intents_duplicate;
    return;
  }
  ++stats_.intents_applied;
  trace(TraceKind::kIntentApplied, target->id, intent_key_hash(intent.key), static_cast<int64_t>(intent.action.index()));
  if (std::holds_alternative<intent::Loot>(intent.action)) on_loot(*target, intent, out.result);
  if (std::holds_alternative<intent::EncounterTurn>(intent.action)) return encounter_turn_applied(*target, intent, out);
  if (std::holds_alternative<intent::Damage>(intent.action)) trace(TraceKind::kEntityDamaged, target->id, out.amount, target->hp);
  if (out.leveled) {
    ++stats_.level_ups;
    trace(TraceKind::kLevelUp, target->id, target->level, target->experience);
  }
  if (out.died) on_death(*target, intent.source);
}

void ComputeNode::on_death(gameplay::Entity& e, EntityId killer) {
  ++stats_.deaths;
  trace(TraceKind::kEntityDied, e.id, static_cast<int64_t>(killer.value));
  EntityState scratch;
  const EntityState* by = resolve_target(killer, scratch);
  if (e.is_npc()) ++stats_.npcs_killed;
  else if (by && by->kind == kEntityKindNpc) ++stats_.npc_kills;
  // An NPC respawns on its spawner's delay, by its own component (World::update), wherever it is by then.
  gameplay::SimJob job{gameplay::SimJob::Kind::kRespawn, e.id, tick_ + cfg_.rules.respawn_ticks};
  if (!e.is_npc() && !simulation_queue_.try_push(job)) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, e.id}, "simulation queue full: respawn job dropped");
  }
  // Its killer and assistants earn experience, applied by their owners (ours in this tick's phase 4).
  route_loot(e, killer);  // before the awards forget its attackers
  awards_scratch_.clear();
  world_.award_experience(e, awards_scratch_);
  for (const RemoteIntent& award : awards_scratch_) route_intent(award);
}

// Phase 5: one batch per subscriber into the OutputQueue. Compute nodes get the entities we own;
// gateways also get our ghosts, so a client sees what is near its avatar whoever owns it.
void ComputeNode::produce_deltas() {
  enter(TickPhase::kProduceDeltas);
  if (!governor_.feeds_due(tick_)) {  // soft load shed (load_governor.h): this tick's changes go in the next batch
    ++stats_.feeds_skipped;
    return;
  }
  // Both lists sorted by id (the world and the ghosts are), each state encoded at most once.
  owned_states_.clear();
  visible_states_.clear();
  owned_scratch_.clear();
  std::map<NodeId, std::vector<Vec2>> anchors;
  SpatialGrid owned_grid(cfg_.view_radius_mm);
  SpatialGrid visible_grid(cfg_.view_radius_mm);
  for (const auto& [id, e] : world_.entities()) {
    owned_scratch_.push_back(world_.state_of(e));  // all made before any is pointed at: no reallocation after
    if (e.gateway.valid()) anchors[e.gateway].push_back(e.pos);
  }
  for (const EntityState& st : owned_scratch_) {
    owned_grid.add(st.id, st.pos, static_cast<uint32_t>(owned_states_.size()));
    owned_states_.add(st);
  }
  owned_grid.finish();
  // Visible: what we own, and the ghosts of what we do not (ours wins if both).
  auto own = owned_scratch_.begin();
  auto add_visible = [&](const EntityState& st) {
    if (st.kind == kEntityKindEncounter) return;  // no body to show: gateways are not fed encounters
    visible_grid.add(st.id, st.pos, static_cast<uint32_t>(visible_states_.size()));
    visible_states_.add(st);
  };
  ghosts_.for_each([&](const Ghost& g) {
    const EntityId id = g.state.id;
    for (; own != owned_scratch_.end() && own->id < id; ++own) add_visible(*own);
    if (own != owned_scratch_.end() && own->id == id) return;  // ours: added from the world
    add_visible(g.state);
  });
  for (; own != owned_scratch_.end(); ++own) add_visible(*own);
  visible_grid.finish();

  static const std::vector<Vec2> kNone;
  for (auto& [node, sub] : subscribers_) {
    DeltaBatch batch;
    if (sub.role == Role::kGateway) {
      auto it = anchors.find(node);
      sub.feed->refresh_from_anchors(it == anchors.end() ? kNone : it->second, cfg_.view_radius_mm, tick_);
      batch = sub.feed->build(visible_grid, visible_states_);
    } else {
      batch = sub.feed->build(owned_grid, owned_states_);
    }
    if (sub.feed->last_pushed_new() != 0 || !batch.removed.empty()) {
      trace(TraceKind::kFeedPushed, EntityId{}, static_cast<int64_t>(sub.feed->last_pushed_new()),
            static_cast<int64_t>(batch.removed.size()), node);
    }
    OutputItem item{sub.conn, sub.feed.get(), encode(envelope(std::move(batch)))};
    if (!output_queue_.try_push(std::move(item))) {
      sub.feed->mark_reset();
      ++stats_.feed_resets;
    }
  }
}

// Phase 6: hand everything to the network. A batch the network refuses is not retried: its feed
// restarts with a reset next tick, which carries everything the lost batch did.
void ComputeNode::flush_output() {
  enter(TickPhase::kFlushOutput);
  while (auto item = output_queue_.pop()) {
    if (rt_.network.send(item->conn, item->bytes) == SendStatus::kOk) {
      stats_.delta_bytes_sent += item->bytes.size();
    } else if (item->feed) {
      item->feed->mark_reset();
      ++stats_.feed_resets;
    } else {
      ++stats_.intents_dropped;
    }
  }
}

void ComputeNode::trace(TraceKind kind, EntityId entity, int64_t a, int64_t b, NodeId peer) {
  record_trace(rt_.trace, kind, epoch_, tick_, entity, a, b, peer);
}

}  // namespace aether
