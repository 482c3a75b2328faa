// Leader and vice: replication, the vice's watch on the leader, candidacy, takeover, stepping down.
// The safety argument is in docs/ownership.md, section "Coordinator failover".

#include "engine/coordinator/coordinator.h"

namespace aether {

namespace {
ReplicaEntry entry_of(EntityId id, const OwnerRecord& rec) {
  return ReplicaEntry{id, rec.owner, rec.generation, rec.gateway, rec.session, rec.snapshot, rec.resume_token, rec.detached_since_ns != 0};
}
}  // namespace

// Leader, every 100 ms: what changed goes to the vice. Sent even when nothing changed: it is also the
// leader's heartbeat to the vice.
namespace {
ReplicaNode replica_node(NodeId id, const NodeRecord& rec) {
  return ReplicaNode{id, rec.role, rec.data_address, rec.capacity_entities, rec.lost, rec.drain == NodeRecord::Drain::kOperator};
}
}  // namespace

void Coordinator::replicate() {
  if (followers_.empty()) {
    backlog_.clear();
    send_witnessed(witness_.release_all());  // no vice to wait for
    return;
  }
  std::vector<ReplicaNode> nodes;
  for (const auto& [id, rec] : nodes_) nodes.push_back(replica_node(id, rec));
  // Whole copies first: until each is complete, the backlog waits for it (a change to an entity
  // already copied would otherwise reach the others and never it).
  bool copying = false;
  for (auto& [conn, f] : followers_) {
    if (f.copying) copying = !continue_copy(conn, f) || copying;
  }
  bool refused = copying;
  if (!copying) {
    // The backlog in messages of at most kReplicaEntriesPerMessage entries and as many erasures,
    // lowest ids first, each entry as the table shows it now; each message is built only when the
    // one before it was taken, so a refusing link costs one message per tick, not the backlog. In
    // order, until one is refused: what every follower's network took leaves the backlog; the rest
    // waits for the next tick (replication_backlog.h). The version rides on the message that
    // empties the backlog, so the vice reaches a version only with every entry before it.
    const std::set<EntityId>& changed = backlog_.changed_ids();
    const std::set<EntityId>& erased = backlog_.erased_ids();
    auto next_change = changed.begin();
    auto next_erasure = erased.begin();
    // Past ids erased from the table since they changed: their erasure is in the backlog instead.
    auto skip_gone = [&] {
      while (next_change != changed.end() && table_.get(*next_change) == nullptr) ++next_change;
    };
    bool last = false;
    while (!last) {
      Replicate r;
      skip_gone();
      while (next_change != changed.end() && r.entries.size() < kReplicaEntriesPerMessage) {
        r.entries.push_back(entry_of(*next_change, *table_.get(*next_change)));
        ++next_change;
        skip_gone();
      }
      if (next_change == changed.end()) {
        while (next_erasure != erased.end() && r.erased.size() < kReplicaEntriesPerMessage) {
          r.erased.push_back(*next_erasure);
          ++next_erasure;
        }
      }
      last = next_change == changed.end() && next_erasure == erased.end();
      if (last) {
        r.nodes = nodes;
        r.version = version_;
        r.batch = witness_.close_batch();
      }
      bool taken = true;
      for (const auto& [conn, f] : followers_) taken = send_replica(conn, r) == SendStatus::kOk && taken;
      if (!taken) {
        refused = true;
        break;
      }
      // Only ids behind the cursors leave the set, so the cursors stay valid.
      for (const ReplicaEntry& e : r.entries) backlog_.delivered_change(e.entity);
      for (EntityId id : r.erased) backlog_.delivered_erasure(id);
    }
    if (!refused) backlog_.clear();  // what was not in the table any more went in no message
  }
  if (!refused) return;
  ++stats_.replicas_refused;
  // The vice still hears the leader this tick (the replica doubles as its heartbeat): the
  // membership, no entries, no version.
  Replicate heartbeat;
  heartbeat.nodes = std::move(nodes);
  for (const auto& [conn, f] : followers_) send_replica(conn, heartbeat);
}

bool Coordinator::continue_copy(ConnId conn, Follower& f) {
  AETHER_ASSERT(f.copying);
  Replicate r;
  r.full = true;
  r.more = true;
  for (auto it = table_.lower_bound(f.copy_from); it != table_.end(); ++it) {
    if (r.entries.size() == kReplicaEntriesPerMessage) {
      if (send_replica(conn, r) != SendStatus::kOk) return false;  // this chunk again next tick
      f.copy_from = it->first;
      r.entries.clear();
    }
    r.entries.push_back(entry_of(it->first, it->second));
  }
  r.more = false;
  for (const auto& [id, rec] : nodes_) r.nodes.push_back(replica_node(id, rec));
  // And what the table no longer has: a vice cut off when an entity was erased never heard of it,
  // and without the tombstone would adopt it from a zombie's Promise once it leads: two writers.
  r.erased.assign(tombstone_order_.begin(), tombstone_order_.end());
  r.version = version_;
  if (send_replica(conn, r) != SendStatus::kOk) return false;
  f.copying = false;
  return true;
}

SendStatus Coordinator::send_replica(ConnId conn, const Replicate& r) {
  const SendStatus status = send_on(conn, r);
  const size_t entries = r.entries.size();
  const size_t erased = r.erased.size();
  if (status != SendStatus::kTooLarge || entries + erased <= 1) return status;
  // Halved: the first half carries no membership nor version (they belong to the last part), and is
  // part of a whole copy that continues (more) when r is one.
  Replicate first;
  Replicate rest = r;
  first.full = r.full;
  first.more = r.full;
  first.leader_clock_ns = r.leader_clock_ns;
  if (entries > 1) {
    const size_t half = entries / 2;
    first.entries.assign(r.entries.begin(), r.entries.begin() + static_cast<std::ptrdiff_t>(half));
    rest.entries.erase(rest.entries.begin(), rest.entries.begin() + static_cast<std::ptrdiff_t>(half));
  } else {
    const size_t half = erased / 2;
    first.entries = r.entries;
    first.erased.assign(r.erased.begin(), r.erased.begin() + static_cast<std::ptrdiff_t>(half));
    rest.entries.clear();
    rest.erased.erase(rest.erased.begin(), rest.erased.begin() + static_cast<std::ptrdiff_t>(half));
  }
  const SendStatus head = send_replica(conn, first);
  if (head != SendStatus::kOk) return head;
  return send_replica(conn, rest);
}

// A vice just connected: the whole table, in chunks. Its answer (the states it holds fresher than
// ours, then its acknowledgment) is awaited before any orphan is re-granted, as after an orphaning.
void Coordinator::send_full_replica(ConnId conn) {
  vice_ack_wait_until_ns_ = rt_.clock.now_ns() + kViceAckWaitNs;
  auto it = followers_.find(conn);
  AETHER_ASSERT(it != followers_.end() && it->second.copying);
  continue_copy(conn, it->second);
}

void Coordinator::apply_replica(const Replicate& r) {
  heard_leader();
  table_epoch_ = epoch_;  // dispatch applies only replicas of our epoch's leader
  if (r.full && table_replica_complete_) {  // the first chunk of a whole copy
    // The states we had are kept aside until its last chunk: where ours is newer than the copy's
    // (the leader adopted an entity from a Promise and its state had not reached it yet), ours stays.
    // Found by chaos-coordinators seed 12: the copy's blank state replaced a recent one, and an
    // entity was later recovered from nothing.
    previous_states_.clear();
    for (const auto& [id, rec] : table_) previous_states_.emplace(id, rec.snapshot);
    table_.clear();
    table_version_ = 0;  // until its last chunk, our table reflects no version at all
  }
  if (r.full) table_replica_complete_ = !r.more;
  if (r.full && table_replica_complete_) knows_membership_ = true;
  const TimeNs now = rt_.clock.now_ns();
  Snapshot fresher;  // states of ours the leader's replica shows older: they go back to it
  for (const ReplicaEntry& e : r.entries) {
    OwnerRecord rec{e.owner, e.generation, e.gateway, e.session, e.snapshot, e.resume_token, e.detached ? now : 0};
    const OwnerRecord* old = table_.get(e.entity);  // a newer state straight from the owner (handle_snapshot) is kept
    if (old && newer_than(old->snapshot, e.snapshot)) rec.snapshot = old->snapshot;
    auto kept = previous_states_.find(e.entity);
    if (kept != previous_states_.end() && newer_than(kept->second, rec.snapshot)) rec.snapshot = kept->second;
    if (newer_than(rec.snapshot, e.snapshot) && fresher.states.size() < kBatchEntitiesMax) {
      fresher.states.push_back(rec.snapshot);
    }
    table_.put(e.entity, rec);
  }
  // The leader may have missed an owner's snapshot that reached us: it gets ours before our
  // acknowledgment, and re-grants an orphan only after that (§4, "From the freshest state").
  if (peer_.connected()) {
    if (!fresher.states.empty()) send_on(peer_.conn(), std::move(fresher));
    if (r.version != 0 || r.batch != 0) send_on(peer_.conn(), ReplicaAck{r.version, r.batch});
  }
  if (table_replica_complete_) previous_states_.clear();
  for (EntityId id : r.erased) {
    table_.erase(id);
    bury(id);
  }
  if (r.version != 0) table_version_ = r.version;
  for (const ReplicaNode& n : r.nodes) {
    NodeRecord& rec = nodes_[n.node];  // our own connection and freshness are kept: we hear nodes directly
    rec.role = n.role;
    rec.data_address = n.data_address;
    rec.capacity_entities = n.capacity;
    rec.lost = n.lost;
    // The operator's order is the leader's to keep; a node's own drain we hear from it directly.
    if (n.drained_by_operator) {
      rec.drain = NodeRecord::Drain::kOperator;
    } else if (rec.drain == NodeRecord::Drain::kOperator) {
      rec.drain = NodeRecord::Drain::kNone;
    }
  }
}

// Vice, every 100 ms. (A candidate's retry has its own timer: arm_candidacy_timer.)
void Coordinator::watch_leader() {
  if (stopping_) return;  // stopping: the vice takes over, not us
  if (role_ == CoordinatorRole::kFollower && elapsed_since(leader_heard_ns_, leader_heard_tick_) > kLeaderTimeoutNs) {
    stand_for_election();
  }
}

// A candidate with no majority after its jittered timeout stands again, one epoch higher. The retry
// runs on its own timer, at the drawn instant: rivals that stood together (both saw the leader fall
// silent on the same watch tick) must fall out of step, and a retry rounded up to the 100 ms watch
// tick leaves them ten slots to draw from, so that one split vote in ten repeated itself.
void Coordinator::arm_candidacy_timer() {
  if (candidacy_timer_ != 0) rt_.timers.cancel(candidacy_timer_);
  const TimeNs timeout = kCandidacyTimeoutNs + static_cast<TimeNs>(uniform_below(rt_.random, static_cast<uint64_t>(kCandidacyTimeoutNs)));
  const Epoch stood = epoch_;
  candidacy_timer_ = rt_.timers.schedule(timeout, [this, stood] {
    candidacy_timer_ = 0;
    if (role_ == CoordinatorRole::kCandidate && epoch_ == stood) stand_for_election();  // no majority yet (a partition?)
  });
}

// Every 500 ms while we follow: a round trip to the leader, to compare the rates of our clocks.
void Coordinator::probe_leader_clock() {
  if (role_ != CoordinatorRole::kFollower || !peer_.connected()) return;
  send_on(peer_.conn(), ClockProbe{rt_.clock.now_ns(), 0});
}

// The leader answers a probe with its clock; the vice judges the round trip (engine/core/clock_rate.h).
void Coordinator::handle_clock_probe(ConnId conn, const ClockProbe& probe) {
  const TimeNs now = rt_.clock.now_ns();
  if (probe.answer_clock_ns == 0) {
    if (leading()) send_on(conn, ClockProbe{probe.sent_ns, now});
    return;
  }
  if (role_ != CoordinatorRole::kFollower || probe.sent_ns > now || probe.sent_ns <= 0) return;
  if (leader_clock_epoch_ != epoch_) {  // another leader, another clock
    leader_clock_.restart();
    leader_clock_epoch_ = epoch_;
  }
  const bool was = leader_clock_.trusted();
  const bool is = leader_clock_.add(probe.sent_ns, now, probe.answer_clock_ns);
  if (was == is) return;
  trace(TraceKind::kClockUntrusted, EntityId{}, is ? 0 : 1);
  if (is) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "clock trusted again against the leader's");
  } else {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}},
           "clock untrusted: it runs faster than the leader's by more than {} ppm; we will not stand for election", kClockRelativeRatePpmMax);
  }
}

void Coordinator::stand_for_election() {
  if (!knows_membership_ && cfg_.compute_nodes == 0 && !cfg_.peer_address.empty()) {
    // We restarted and no leader has sent us its table yet: the compute nodes we know may be a
    // minority of the cluster, and a majority of them no majority at all.
    ++stats_.candidacies_refused;
    if (!refused_candidacy_logged_) {
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "leader silent, but we have not learnt the cluster's membership: not standing");
    }
    refused_candidacy_logged_ = true;
    heard_leader();
    return;
  }
  if (!leader_clock_.trusted()) {
    // Our failover grace would be measured on a clock that runs fast beyond the bound (§2a): the old
    // leader's leases could outlast it. Better no leader than two writers; an operator must fix the clock.
    ++stats_.candidacies_refused;
    if (!refused_candidacy_logged_) {
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "leader silent, but our clock cannot be trusted: not standing for election");
    }
    refused_candidacy_logged_ = true;
    heard_leader();  // and look again one leader timeout later
    return;
  }
  refused_candidacy_logged_ = false;
  role_ = CoordinatorRole::kCandidate;
  ++epoch_;
  promised_.clear();
  logout_waits_.clear();  // the promises we ask for tell which log-out saves are owed (heard_owed)
  prior_epoch_seen_ = 0;
  version_ = static_cast<uint64_t>(epoch_) << 32;
  version_seen_max_ = 0;
  promisers_knowing_nothing_.clear();
  arm_candidacy_timer();
  trace(TraceKind::kCandidacy, EntityId{}, static_cast<int64_t>(epoch_));
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "leader silent: standing for epoch {}", epoch_);
  for (auto& [id, rec] : nodes_) {
    rec.question = HoldingsQuestion{};  // a Prepare of an earlier epoch is answered under that epoch: dropped
    rec.fences.clear();  // what we fenced as an earlier epoch's leader is reconciled anew by the promises
    if (rec.role == Role::kCompute && rec.conn != 0) ask(id, rec, HoldingsQuestion::Why::kCandidacy);
  }
}

// A candidate hears that another coordinator leads the epoch it stands for (its replication, or its
// Leadership announcement): it lost this election and follows. Standing again at the next epoch
// would depose a leader that has a majority (chaos-partitions seed 253: a disruptive takeover
// after the faults had ended, and no convergence).
void Coordinator::concede(NodeId leader) {
  AETHER_ASSERT(role_ == CoordinatorRole::kCandidate);
  role_ = CoordinatorRole::kFollower;
  promised_.clear();
  logout_waits_.clear();
  for (auto& [id, rec] : nodes_) rec.question = HoldingsQuestion{};
  heard_leader();
  log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "coordinator {} leads epoch {}: following it", leader.value, epoch_);
}

void Coordinator::handle_promise(NodeId node, const Promise& promise) {
  if (role_ == CoordinatorRole::kFollower) return;
  NodeRecord& rec = nodes_[node];
  if (rec.role != Role::kCompute) return;  // only compute nodes hold entities, and vote
  if (rec.question.why == HoldingsQuestion::Why::kNone || promise.answers != rec.question.id) {
    // The answer to a question we no longer wait for (asked again since, or before a reconnection):
    // judged against what the table gives the node now, it would orphan what we granted since
    // (chaos-messages seed 253: a clogged answer to one audit taken for the answer to the next).
    ++stats_.stale_answers;
    log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, {}}, "promise from {} answers question {:#x}, not ours ({:#x}): dropped", node.value,
           promise.answers, rec.question.id);
    return;
  }
  const HoldingsQuestion question = std::move(rec.question);
  rec.question = HoldingsQuestion{};
  // The log-out saves it owes: their characters' spawns wait as the last leader's did (a log-out
  // before our time) or as ours do (logout_waits.h). A LogoutSaved sent after it settles them.
  for (const LogoutSaved& owed : promise.logout_saves_owed) {
    if (const auto evicted = logout_waits_.heard_owed(owed.character, owed.life, node, rt_.clock.now_ns())) {
      logout_wait_given_up(*evicted, LogoutWaitEnd::kFull);
    }
  }
  if (question.why == HoldingsQuestion::Why::kAudit) {
    if (leading()) reconcile_audit(node, promise, question.given);
    return;
  }
  rec.heard_epoch = epoch_;  // it follows our epoch from now on
  reconcile(node, promise, question.given);
  rec.member_epoch = epoch_;  // reconciled: a member of our epoch
  if (rec.lost) {  // lost in a replica's view only: reconciled, it is a member again
    rec.lost = false;
    send_membership();
  }
  prior_epoch_seen_ = std::max(prior_epoch_seen_, promise.previous_epoch);
  if ((promise.table_version_seen >> 32) < epoch_) version_seen_max_ = std::max(version_seen_max_, promise.table_version_seen);
  if (promise.table_version_seen == 0) promisers_knowing_nothing_.insert(node);
  if (role_ != CoordinatorRole::kCandidate) {  // a late promise to a leader: reconciled, fenced, done
    fence_stale_table(node);
    return;
  }
  promised_.insert(node);
  if (majority_of_computes(promised_.size())) take_over();
}

// What a promising node really holds wins over our (replicated, possibly behind) table when its
// generation is newer; a holding older than our table's is revoked; an entity the table gave it when
// we asked (ask_promise) and still gives it under that generation, but that it no longer holds, is
// orphaned, to be re-granted after the grace period. Grants sent after the Prepare are not in the
// answer and never judged by it: a leader that asked again and again, as late heartbeats of an older
// epoch kept coming, orphaned the entities it had granted meanwhile on the strength of stale answers,
// and re-granted them while their holder still wrote them (chaos-messages seed 162).
void Coordinator::reconcile(NodeId node, const Promise& promise, const std::map<EntityId, uint64_t>& given) {
  std::set<EntityId> held;
  std::vector<EntityId> unknown_to_leader;
  for (const Holding& h : promise.holdings) {
    held.insert(h.entity);
    auto it = table_.find(h.entity);
    if (it == table_.end() && tombstones_.count(h.entity)) {
      revoke(node, h.entity, h.generation);  // a zombie: the entity is gone
    } else if (it == table_.end()) {
      // The client's session as the holder knows it: without it the owner would refuse its inputs.
      OwnerRecord rec{node, h.generation, h.gateway, h.session, EntityState{}, 0, rt_.clock.now_ns()};
      rec.snapshot.id = h.entity;
      rec.snapshot.generation = h.generation;
      set_record(h.entity, rec);
      if (leading()) unknown_to_leader.push_back(h.entity);
    } else if (it->second.generation < h.generation) {
      // The node that held it under the older generation (and may have promised it to us already)
      // must drop it before any lease we give it: the revoke precedes our acks on its connection.
      // Found by the swarm chaos scenario, seed 12: without it both wrote the entity.
      if (it->second.owner.valid() && it->second.owner != node) revoke(it->second.owner, h.entity, it->second.generation);
      table_.assign(h.entity, node, h.generation);
      backlog_.changed(h.entity);
    } else if (it->second.generation > h.generation || it->second.owner != node) {
      revoke(node, h.entity, h.generation);
    }
  }
  uint64_t version = 0;
  for (const auto& [id, generation] : given) {
    auto it = table_.find(id);
    if (it == table_.end() || held.count(id) || it->second.owner != node || it->second.generation != generation) continue;
    if (version == 0) version = next_table_version();
    orphan(id, version);
  }
  // A leader's table has every entity granted in its epoch and, fenced at its takeover, every one it
  // had doubts about. An entity it has never heard of comes from a lineage it never saw: a leader
  // before it may have re-granted it under a newer generation that our table lost. Taken as held,
  // the old generation could write again after the newer one: it is revoked, and re-granted under a
  // generation of ours (once the orphaning is confirmed, never within our takeover's grace) from the
  // freshest state there is.
  for (EntityId id : unknown_to_leader) {
    if (version == 0) version = next_table_version();
    const OwnerRecord& rec = *table_.get(id);
    revoke(node, id, rec.generation);
    trace(TraceKind::kOwnershipRevoked, id, static_cast<int64_t>(rec.generation), 3, node);
    orphan(id, version);
  }
  if (!unknown_to_leader.empty()) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "compute {} holds {} entities our table never had: revoked, re-granted after the grace",
           node.value, unknown_to_leader.size());
  }
  publish_orphanings();  // a leader's (late promise); a candidate's wait for its takeover's acks
}

// Our table may miss decisions of the coordinators before us in two ways, and then the holdings it
// would have us renew may have been given to someone else meanwhile:
//  - an epoch it never saw: a node that promised us followed an epoch newer than our table's. That
//    epoch's leader may have re-granted, under a newer generation, what our table (and the promising
//    node) still hold under an older one (chaos-partitions seed 29);
//  - an orphaning it never saw: a node that promised us heard a table version newer than our
//    table's. The leader it heard it from re-grants an orphan only once a majority echoed the
//    orphaning's version, and any majority of promises includes one of them, so every orphaning
//    that may have led to a re-grant is reported to us this way (chaos-partitions seeds 77, 85:
//    a leader cut from us declared a node lost and re-granted its entities, and the node promised
//    us). A node that has heard no version since it started (it restarted) cannot report one: if
//    the promises that can make up no majority without it, we assume the worst.
// Holdings at risk are revoked before any lease we give and orphaned: re-granted after the grace
// period (kFailoverGraceNs, longer than any lease the unknown decisions gave), from the states the
// promising nodes sent behind their Promise. With only an unknown epoch, the holdings that epoch
// granted are kept; a missed orphaning could concern any holding, so all of them go.
// `only`: a late promise, to a leader (its holdings only); otherwise every promising node's.
void Coordinator::fence_stale_table(NodeId only) {
  const bool epoch_missed = prior_epoch_seen_ > table_epoch_;
  size_t knowing = 0;
  for (NodeId id : promised_) knowing += promisers_knowing_nothing_.count(id) ? 0 : 1;
  const bool blind = !only.valid() && !majority_of_computes(knowing);
  const bool orphaning_missed = version_seen_max_ > table_version_ || blind;
  if (!epoch_missed && !orphaning_missed) return;
  std::vector<std::pair<EntityId, const OwnerRecord*>> fenced;
  for (const auto& [id, rec] : table_) {
    if (!rec.owner.valid() || (only.valid() ? rec.owner != only : !promised_.count(rec.owner))) continue;
    const auto granted_in = static_cast<Epoch>(rec.generation >> 32);
    if (granted_in >= epoch_) continue;  // ours: granted by us, after every promise we count
    if (!orphaning_missed && granted_in >= prior_epoch_seen_) continue;
    fenced.emplace_back(id, &rec);
  }
  const uint64_t version = fenced.empty() ? 0 : next_table_version();
  for (const auto& [id, rec] : fenced) {
    revoke(rec->owner, id, rec->generation);
    trace(TraceKind::kOwnershipRevoked, id, static_cast<int64_t>(rec->generation), 3, rec->owner);
    orphan(id, version);
  }
  if (!fenced.empty()) {
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "our table may miss {} (newest version heard {:#x}, ours {:#x}): holdings fenced",
           orphaning_missed ? "an orphaning" : "an epoch", version_seen_max_, table_version_);
  }
  publish_orphanings();
}

void Coordinator::take_over() {
  role_ = CoordinatorRole::kLeader;
  ++stats_.takeovers;
  grace_until_ns_ = rt_.clock.now_ns() + kFailoverGraceNs;
  grace_until_tick_ = tick_ + static_cast<Tick>((kFailoverGraceNs + kTickNs - 1) / kTickNs) + 1;
  fence_stale_table(NodeId{});
  table_epoch_ = epoch_;
  followers_.clear();
  witness_.reset();
  // logout_waits_ holds what the promises that elected us owe (handle_promise): kept.
  // Every coordinator already connected to us follows us now (it registered while we were its vice):
  // without our replication it would hear no leader and stand against us, epoch after epoch.
  for (const auto& [conn, node] : conns_) {
    auto rec = nodes_.find(node);
    if (rec == nodes_.end() || rec->second.role != Role::kCoordinator || !replicates_to(node)) continue;
    followers_[conn] = Follower{};
    send_full_replica(conn);
  }
  trace(TraceKind::kLeaderElected, EntityId{}, static_cast<int64_t>(epoch_), static_cast<int64_t>(promised_.size()));
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "took over as leader at epoch {} with {} promises", epoch_, promised_.size());
  note_handover(HandoverKind::kLeader, EntityId{}, NodeId{}, cfg_.node, promised_.size());
  announce_leadership();
  send_membership();
  // Every orphan in our table, not only those our candidacy made: the compute nodes may hold fresher
  // states of them (ghosts whose owner they lost, states taken from them) than the table we inherited.
  for (const auto& [id, generation] : table_.given(NodeId{})) unpublished_orphans_.push_back(id);
  orphanings_unpublished_ = orphanings_unpublished_ || !unpublished_orphans_.empty();
  publish_orphanings();
  // Renew at once the leases of the nodes that promised: the heartbeat each sent after promising
  // carries our epoch, so acking it is as safe as any ack, and it keeps them ticking through the
  // takeover instead of waiting for their next heartbeat.
  if (!has_quorum()) return;
  for (auto& [id, rec] : nodes_) {
    if (member(rec) && promised_.count(id)) send_ack(id, rec, rec.heard_seq);
  }
}

void Coordinator::step_down(Epoch seen, NodeId from) {
  const bool was_leading = leading();
  role_ = CoordinatorRole::kFollower;
  epoch_ = seen;
  heard_leader();
  followers_.clear();
  witness_.reset();  // the answers held are not ours to give any more: their askers ask the next leader
  logout_waits_.clear();
  table_replica_complete_ = true;
  unpublished_orphans_.clear();
  orphanings_unpublished_ = false;
  if (!was_leading) return;
  table_version_ = version_;  // our table holds every orphaning we decided
  announce_leadership();  // gateways stop sending us spawns and resumes, and ask the next leader
  ++stats_.step_downs;
  note_handover(HandoverKind::kSteppedDown, EntityId{}, cfg_.node, from, 0);
  trace(TraceKind::kSteppedDown, EntityId{}, static_cast<int64_t>(seen), 0, from);
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "stepping down: node {} is at epoch {}", from.value, seen);
}

void Coordinator::announce_leadership() {
  for (const auto& [conn, node] : conns_) {
    if (node.valid()) send_on(conn, Leadership{leading()});
  }
}

// Every message tells us the sender's epoch. A newer one means another coordinator took over: a
// leader or candidate steps down, a vice follows. Orders from an older coordinator are dropped.
bool Coordinator::observe_epoch(const ServerMessage& m) {
  if (m.epoch > epoch_ && m.epoch != kEpochAdmin) {
    if (role_ == CoordinatorRole::kFollower) {
      epoch_ = m.epoch;
      heard_leader();
    } else {
      step_down(m.epoch, m.sender);
    }
  }
  if (m.sender_role == Role::kCoordinator && m.epoch < epoch_) {
    ++stats_.stale_epoch_dropped;
    trace(TraceKind::kStaleEpochDropped, EntityId{}, static_cast<int64_t>(m.epoch), static_cast<int64_t>(epoch_), m.sender);
    return false;
  }
  const bool leads = (std::holds_alternative<Leadership>(m.body) && std::get<Leadership>(m.body).leader) ||
                     std::holds_alternative<Replicate>(m.body);
  if (m.sender_role == Role::kCoordinator && leads && m.epoch == epoch_) {
    if (role_ == CoordinatorRole::kCandidate) concede(m.sender);
    if (role_ == CoordinatorRole::kFollower) heard_leader();
  }
  return true;
}

}  // namespace aether
