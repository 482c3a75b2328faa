// The coordinator's authority over compute nodes: leases (heartbeat acks), loss, recovery, eviction.
// The argument for why this keeps one writer per entity is in docs/ownership.md.

#include "engine/coordinator/coordinator.h"
#include "engine/compute/load_governor.h"

namespace aether {

// Generations grow with every grant of an entity, and a grant made at epoch E is at least E << 32:
// whatever a deposed leader granted, a grant by its successor outranks it.
uint64_t Coordinator::next_generation(uint64_t previous) const { return std::max(previous + 1, epoch_ << 32); }

// Whether a compute node is a member of our epoch: it heartbeats under it, and its holdings were
// reconciled with our table in it (it promised us, or it registered holding nothing). A node that
// adopted our epoch through a rival candidate's Prepare has not told us what it holds: acking it
// would renew holdings our table may have given to someone else meanwhile (chaos-partitions seed 253).
bool Coordinator::member(const NodeRecord& rec) const {
  return rec.role == Role::kCompute && !rec.lost && rec.heard_epoch == epoch_ && rec.member_epoch == epoch_;
}

// Whether we may give a compute node something new (a spawn, a recovery, a migration): a member, on a
// live connection, that confirmed any eviction we sent (a resent Evicted would drop what we give it
// now) and whose clock can be trusted.
bool Coordinator::eligible(const NodeRecord& rec) const {
  return member(rec) && rec.conn != 0 && !rec.fences.evict_unconfirmed() && !rec.clock_untrusted;
}

// How many compute nodes a majority is counted over: every one ever registered, lost ones included
// (a minority that has declared the others lost must not become a majority of what is left: the
// other side may well have a leader of a higher epoch with those very nodes; swarm seed 6), and at
// least as many as the cluster is configured with (a restarted coordinator knows only the nodes that
// registered since: a majority of those may be a minority of the cluster).
size_t Coordinator::compute_members() const {
  size_t known = 0;
  for (const auto& [id, rec] : nodes_) known += rec.role == Role::kCompute ? 1 : 0;
  return std::max<size_t>(known, cfg_.compute_nodes);
}

bool Coordinator::majority_of_computes(size_t count) const {
  const size_t members = compute_members();
  return members > 0 && count * 2 > members;
}

// A majority of the compute nodes heartbeated us within a lease as members of our epoch. A node that
// promised a newer coordinator heartbeats with the newer epoch and stops counting for us at once.
bool Coordinator::has_quorum() const {
  if (cfg_.peer_address.empty()) return true;  // a lone coordinator has no rival to split with
  const TimeNs now = rt_.clock.now_ns();
  size_t fresh = 0;
  for (const auto& [id, rec] : nodes_) fresh += (member(rec) && now - rec.last_heard_ns <= kLeaseNs) ? 1 : 0;
  return majority_of_computes(fresh);
}

void Coordinator::handle_heartbeat(NodeId node, NodeRecord& rec, Epoch epoch, const Heartbeat& hb) {
  rec.entities_reported = hb.entities;
  rec.load_permille = hb.load_permille;
  rec.tick_ns_p99 = hb.tick_ns_p99;
  rec.hard_permille = hb.hard_permille;
  rec.soft_permille = hb.soft_permille;
  rec.opportunistic_permille = hb.opportunistic_permille;
  rec.input_queue_depth = hb.input_queue_depth;
  if (rec.load_level != hb.load_level && rec.role == Role::kCompute) {
    log_at(rt_.log, hb.load_level == 0 ? LogLevel::kInfo : LogLevel::kWarn, {epoch_, tick_, {}}, "compute {} now at load level {} ({} permille of capacity)",
           node.value, load_level_name(static_cast<LoadLevel>(hb.load_level)), hb.load_permille);
  }
  rec.load_level = hb.load_level;
  if (hb.draining && rec.role == Role::kCompute && !rec.draining()) {
    rec.drain = NodeRecord::Drain::kSelf;
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "compute {} is stopping: draining it ({} entities)", node.value, table_.given_count(node));
  }
  rec.heard_epoch = epoch;
  rec.heard_seq = hb.seq;
  if (epoch == epoch_) {
    rec.echoed_version = std::max(rec.echoed_version, hb.table_version_seen);
    rec.fences.confirm(hb.fence_applied);
  }
  if (rec.role != Role::kCompute || !leading()) return;
  if (orphans_unconfirmed_ && confirmed_version() >= version_) {  // the echo we waited for: re-grant now
    orphans_unconfirmed_ = false;
    regrant_orphans();
  }
  if (rec.lost && !lost_by_us(rec)) {
    ask(node, rec, HoldingsQuestion::Why::kMembership);  // lost in a replica's view only: its Promise tells what it really holds
    return;
  }
  if (rec.lost) evict(node, rec);
  if (epoch < epoch_) {
    if (epoch != 0) ask(node, rec, HoldingsQuestion::Why::kMembership);  // it missed our takeover: its promise must come before any ack
    return;
  }
  if (rec.member_epoch != epoch_) {  // at our epoch, but it never told us what it holds
    ask(node, rec, HoldingsQuestion::Why::kMembership);
    return;
  }
  rec.clock_untrusted = hb.clock_untrusted;
  if (hb.clock_untrusted && table_.given_count(node) > 0) fence_untrusted_clock(node);
  if (!has_quorum()) {
    ++stats_.acks_withheld;
    return;
  }
  send_ack(node, rec, hb.seq);
  audit_if_diverged(node, rec, hb);
}

// Renews a member's lease (docs/ownership.md §2, "Fences before leases"): every revoke or eviction it
// has not confirmed must precede the ack on this connection, so one sent on an older connection
// (lost with it, maybe: chaos-messages and the chaos property, an eviction lost with a reset) is sent
// again first. The node then applies them before it sees the ack that lets it write.
void Coordinator::send_ack(NodeId node, NodeRecord& rec, uint64_t seq) {
  if (rec.conn == 0) return;
  if (rec.fences.stranded(rec.conn)) {
    if (rec.fences.evict_unconfirmed()) {
      const uint64_t fence = next_fence();
      rec.fences.sent_evict(fence, rec.conn);
      send_to(node, Evicted{fence});
      ++stats_.fences_resent;
    }
    for (const FenceLedger::Revoke& r : rec.fences.revokes()) {
      revoke(node, r.entity, r.generation);
      ++stats_.fences_resent;
    }
    AETHER_ASSERT(!rec.fences.stranded(rec.conn));
  }
  send_to(node, HeartbeatAck{seq, version_, rt_.clock.now_ns()});
}

// A node whose clock cannot be trusted (docs/ownership.md §2a) has written nothing since before the
// heartbeat that says so, and will write nothing until a lease it renews behind our revokes: its
// entities are revoked and orphaned, and re-granted elsewhere once a majority echoed the orphaning,
// as for a lost node. It stays a member holding nothing, and gets nothing new while its clock is out.
void Coordinator::fence_untrusted_clock(NodeId node) {
  const std::map<EntityId, uint64_t> held = given_to(node);
  const uint64_t version = next_table_version();
  for (const auto& [entity, generation] : held) {
    if (auto m = migrations_.find(entity); m != migrations_.end() && m->second.from == node) migrations_.erase(m);
    revoke(node, entity, generation);
    orphan(entity, version);
  }
  stats_.clock_fenced += held.size();
  trace(TraceKind::kClockFenced, EntityId{}, static_cast<int64_t>(held.size()), 0, node);
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "compute {} reports a clock it cannot trust: its {} entities go to other nodes",
         node.value, held.size());
  publish_orphanings();
}

// Every revoke goes through here: numbered, and kept until the node confirms it (send_ack).
void Coordinator::revoke(NodeId node, EntityId entity, uint64_t generation) {
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  const uint64_t fence = next_fence();
  if (it->second.conn != 0) it->second.fences.sent_revoke(entity, generation, fence, it->second.conn);
  send_to(node, OwnershipRevoke{entity, generation, fence});
  // Whatever the reason (a log-out, an abandoned session, a fence at a takeover, an audit), a node
  // that loses a character's avatar takes its log-out save (ComputeNode::handle_revoke): the
  // character's next spawn waits for it. So the wait is noted here, at every revoke, and callers
  // revoke while the record still stands.
  if (const OwnerRecord* rec = table_.get(entity)) note_logout(rec->snapshot, node);
}

// A node's holdings and our table can drift apart without either noticing: a grant or a revoke lost
// with a reset connection, a session closed while its owner was cut off. When the entity count in
// its heartbeats disagrees with the table for kAuditAfterMismatches heartbeats in a row (longer than
// any migration in flight), we ask for its holdings (a Prepare at our own epoch) and reconcile them
// as the leader: what it holds that the table does not know, or gives to another, is revoked; what
// the table gives it that it does not hold is orphaned and re-granted. At most once per
// kAuditIntervalNs per node. Found by the chaos runs with message loss and resets: without it the
// cluster never converged.
void Coordinator::audit_if_diverged(NodeId node, NodeRecord& rec, const Heartbeat& hb) {
  // The table keeps what it gives each node up to date with every change (OwnershipTable), so this is
  // a lookup. Counts alone could agree while the contents differ (a lost revoke and a lost grant:
  // chaos-messages seeds 267 and 552 never converged); the digest covers generations too.
  const HoldingsDigest& given = table_.holdings(node);
  const bool same = hb.holdings_digest_count == given.count() && hb.holdings_digest == given.digest();
  rec.holdings_mismatches = same ? 0 : rec.holdings_mismatches + 1;
  const TimeNs now = rt_.clock.now_ns();
  if (rec.holdings_mismatches < kAuditAfterMismatches || (rec.audited_ns != 0 && now - rec.audited_ns < kAuditIntervalNs)) return;
  if (rec.question.why != HoldingsQuestion::Why::kNone) return;  // one question at a time
  rec.audited_ns = now;
  ++stats_.audits;
  log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "compute {} reports {} holdings, the table gives it {} (or they differ): auditing",
         node.value, hb.holdings_digest_count, given.count());
  ask(node, rec, HoldingsQuestion::Why::kAudit);
}

// The answer to an audit: the table is the truth, the node's holdings are brought in line with it.
void Coordinator::reconcile_audit(NodeId node, const Promise& promise, const std::map<EntityId, uint64_t>& given) {
  uint64_t version = 0;  // one version for all the entities this answer orphans
  std::set<EntityId> held;
  for (const Holding& h : promise.holdings) {
    held.insert(h.entity);
    auto it = table_.find(h.entity);
    // Unknown to us (removed while it could not hear), given to someone else, or an older life.
    if (it == table_.end() || it->second.owner != node || it->second.generation > h.generation) revoke(node, h.entity, h.generation);
  }
  for (const auto& [id, generation] : given) {
    auto it = table_.find(id);
    if (it == table_.end() || held.count(id)) continue;
    const OwnerRecord& rec = it->second;
    if (rec.owner != node || rec.generation != generation) continue;  // changed since we asked
    if (auto m = migrations_.find(id); m != migrations_.end()) {
      // A migration away from a node that does not hold the entity can never complete (its Released
      // would have reached us before this answer, on the same connection): forgotten now, or the
      // balancer would pick the entity again and again and the audit never orphan it (found by the
      // chaos property with message faults).
      if (m->second.from != node) continue;
      migrations_.erase(m);
    }
    if (version == 0) version = next_table_version();
    orphan(id, version);  // it does not hold it: re-granted by regrant_orphans()
  }
  publish_orphanings();
}

// A state is kept if it is of the table's generation and newer than the one we have, and comes from
// the entity's owner, or the entity is orphaned: each generation is granted once, so only its holder
// can send states of it. (A candidate that fences a holding at its takeover orphans it before the
// states sent behind the Promise arrive; rejecting them restored the entity from the blank state an
// adoption from a Promise starts with: chaos-coordinators seed 52.) Every role takes them: the vice too, straight from the nodes and not only through
// the leader's replicas, so that a vice cut off from the leader, once it takes over, recovers
// entities from states as recent as their owners' last snapshots rather than from the replica it
// last received (a rollback as long as the cut; chaos-partitions). A candidate gets them behind
// each Promise.
void Coordinator::handle_snapshot(NodeId node, const Snapshot& snap) {
  const bool relayed = nodes_.count(node) && nodes_.at(node).role == Role::kCoordinator;
  for (const EntityState& st : snap.states) {
    const OwnerRecord* rec = table_.get(st.id);
    if (!rec || !newer_than(st, rec->snapshot)) continue;
    // From the owner, of its generation; relayed by the vice, of any generation up to the table's;
    // for an orphan, a copy from anyone (a ghost, a state taken from its holder: OrphanQuery,
    // Promise), of any generation: one newer than the table's was granted by a leader whose
    // decisions our table missed, and the re-grant must outrank it (the record takes it up).
    const bool orphan = !rec->owner.valid();
    if (!orphan && (relayed ? st.generation > rec->generation : (rec->generation != st.generation || rec->owner != node))) continue;
    table_.edit(st.id, [&](OwnerRecord& r) {
      r.snapshot = st;
      if (orphan) r.generation = std::max(r.generation, st.generation);
    });
    if (leading()) backlog_.changed(st.id);
  }
}

// A compute node silent for kNodeLossAfterNs is lost. Not sooner, and not on a mere connection loss:
// until then it may still hold a valid lease and be writing its entities.
void Coordinator::watch_nodes() {
  for (auto& [id, rec] : nodes_) {
    if (rec.role != Role::kCompute || rec.lost) continue;
    const TimeNs silent_ns = elapsed_since(rec.last_heard_ns, rec.last_heard_tick);
    // One interval late is jitter; from two on, each further missed heartbeat is traced once.
    const auto missed = static_cast<uint32_t>(silent_ns / kHeartbeatIntervalNs);
    if (missed < 2) {
      rec.missed_traced = 0;
    } else if (missed > rec.missed_traced) {
      rec.missed_traced = missed;
      trace(TraceKind::kHeartbeatMissed, EntityId{}, silent_ns, missed, id);
    }
    if (silent_ns > kNodeLossAfterNs) mark_lost(id, "no heartbeat");
  }
}

void Coordinator::mark_lost(NodeId node, const char* why) {
  auto it = nodes_.find(node);
  if (it == nodes_.end() || it->second.lost) return;
  it->second.lost = true;
  it->second.lost_at_ns = rt_.clock.now_ns();
  it->second.lost_epoch = epoch_;
  ++stats_.nodes_lost;
  trace(TraceKind::kNodeLost, EntityId{}, static_cast<int64_t>(it->second.role), 0, node);
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "{} node {} lost: {}", role_name(it->second.role), node.value, why);
  if (it->second.role != Role::kCompute) return;
  send_membership();
  // Every lease the node held has expired (that is what kNodeLossAfterNs waits for): its entities are
  // orphaned, and go to live nodes under a new generation, from their last snapshot, as soon as a
  // majority has echoed the orphaning (one round trip: the probe is answered at once).
  const std::map<EntityId, uint64_t> held = given_to(node);
  const uint64_t version = held.empty() ? 0 : next_table_version();
  for (const auto& [entity, generation] : held) orphan(entity, version);
  for (CharacterId c : logout_waits_.owner_gone(node)) logout_wait_given_up(c, LogoutWaitEnd::kOwnerGone);
  note_handover(HandoverKind::kNodeLost, EntityId{}, node, NodeId{}, held.size());
  for (auto m = migrations_.begin(); m != migrations_.end();) {
    m = (m->second.from == node || m->second.to == node) ? migrations_.erase(m) : std::next(m);
  }
  publish_orphanings();
  regrant_orphans();  // at once if no other coordinator could have led meanwhile (a lone one)
}

// An entity taken from a holder that did not release it (lost, restarted, found not to hold it,
// fenced): nobody may own it until a majority of compute nodes has heard `version` (0: no wait).
void Coordinator::orphan(EntityId entity, uint64_t version) {
  table_.edit(entity, [&](OwnerRecord& rec) {
    rec.owner = NodeId{};
    rec.orphaned_version = std::max(rec.orphaned_version, version);
  });
  backlog_.changed(entity);
  if (version != 0) unpublished_orphans_.push_back(entity);
}

// The next version of our table, for a batch of orphanings; publish_orphanings() once they are made.
uint64_t Coordinator::next_table_version() {
  version_ = std::max(version_, static_cast<uint64_t>(epoch_) << 32) + 1;
  orphans_unconfirmed_ = true;
  orphanings_unpublished_ = true;
  return version_;
}

// While we lead: the vice gets the orphanings at once (so that it rarely has to fence for lack of
// them, should we fail right after), then every compute node is asked for the states it holds of the
// orphans (ghosts, states taken from it) and to echo the new version at once: a majority echoing it
// confirms it, and the states each sent arrived before its echo (docs/ownership.md §4).
void Coordinator::publish_orphanings() {
  if (!orphanings_unpublished_ || !leading()) return;
  orphanings_unpublished_ = false;
  std::vector<EntityId> orphans;
  orphans.swap(unpublished_orphans_);
  if (cfg_.peer_address.empty()) return;
  if (!followers_.empty()) vice_ack_wait_until_ns_ = rt_.clock.now_ns() + kViceAckWaitNs;
  replicate();
  std::sort(orphans.begin(), orphans.end());
  orphans.erase(std::unique(orphans.begin(), orphans.end()), orphans.end());
  std::vector<OrphanQuery> queries(1);
  for (EntityId id : orphans) {
    if (queries.back().entities.size() == kBatchEntitiesMax) queries.emplace_back();
    queries.back().entities.push_back(id);
  }
  queries.back().version = version_;  // on the last: the echo follows every state the node sends
  for (const auto& [id, rec] : nodes_) {
    if (rec.role != Role::kCompute || rec.conn == 0 || rec.heard_epoch != epoch_) continue;
    for (const OrphanQuery& q : queries) send_on(rec.conn, q);
  }
}

// The newest table version a majority of the compute nodes (every one ever registered, as for a
// quorum) echoed in heartbeats under our epoch. Each of them heard it before any promise to a newer
// epoch, so a successor's majority of promises includes one that reports it.
uint64_t Coordinator::confirmed_version() const {
  if (cfg_.peer_address.empty()) return UINT64_MAX;  // a lone coordinator has no successor to tell
  std::vector<uint64_t> echoed;
  for (const auto& [id, rec] : nodes_) {
    if (rec.role == Role::kCompute) echoed.push_back(rec.echoed_version);
  }
  echoed.resize(compute_members(), 0);  // configured nodes we have not heard from echoed nothing
  if (echoed.empty()) return 0;
  const size_t majority = echoed.size() / 2 + 1;
  std::nth_element(echoed.begin(), echoed.begin() + static_cast<std::ptrdiff_t>(majority - 1), echoed.end(), std::greater<>());
  return echoed[majority - 1];
}

void Coordinator::regrant(EntityId entity) {
  const OwnerRecord* found = table_.get(entity);
  if (!found) return;
  const NodeId owner = home_for(found->snapshot.pos, Placement::kExisting);
  if (!owner.valid()) return;
  backlog_.changed(entity);
  table_.assign(entity, owner, next_generation(found->generation));
  const OwnerRecord& rec = *found;
  ++stats_.recoveries;
  send_to(owner, OwnershipGrant{entity, rec.generation, rec.gateway, rec.session, rec.snapshot.pos, rec.snapshot.team, rec.snapshot});
  trace(TraceKind::kOwnershipGranted, entity, static_cast<int64_t>(rec.generation), 1, owner);
  if (rec.gateway.valid()) send_to(rec.gateway, OwnerChanged{entity, owner, nodes_[owner].data_address});
}

// Every 100 ms, and as soon as an orphaning is confirmed.
void Coordinator::regrant_orphans() {
  if (!leading() || in_grace() || !has_quorum() || !pick_compute(Placement::kExisting).valid()) return;
  const TimeNs now = rt_.clock.now_ns();
  const uint64_t confirmed = confirmed_version();
  if (table_.orphans() == 0) return;
  // The vice's fresher states reach us before its acknowledgment of the orphaning (docs/ownership.md
  // §4, "From the freshest state"): wait for it, unless no vice follows or it does not answer soon.
  const bool vice_heard = followers_.empty() || now >= vice_ack_wait_until_ns_;
  std::vector<EntityId> due;
  for (const auto& [entity, generation] : table_.given(NodeId{})) {  // the orphans, by the table's index
    const OwnerRecord& rec = *table_.get(entity);
    if (now >= rec.regrant_not_before_ns && rec.orphaned_version <= confirmed && (vice_heard || rec.orphaned_version <= vice_acked_version_)) {
      due.push_back(entity);
    }
  }
  for (EntityId entity : due) regrant(entity);
}

// A compute node registered again as a new incarnation before we noticed it was gone: the process
// that held its entities is dead and they are held by nobody. They become orphans, re-granted once
// every lease the old process could hold has certainly expired: kNodeLossAfterNs after we last heard
// it, exactly as if it had been declared lost (a second process started by mistake under the same
// node id therefore never overlaps the first as a writer).
void Coordinator::orphan_restarted(NodeId node, TimeNs last_heard_ns) {
  ++stats_.nodes_lost;
  trace(TraceKind::kNodeLost, EntityId{}, static_cast<int64_t>(Role::kCompute), 1, node);
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "compute node {} restarted: its entities are re-granted once its old leases expire",
         node.value);
  const std::map<EntityId, uint64_t> held = given_to(node);
  const uint64_t version = held.empty() ? 0 : next_table_version();
  for (CharacterId c : logout_waits_.owner_gone(node)) logout_wait_given_up(c, LogoutWaitEnd::kOwnerGone);
  note_handover(HandoverKind::kNodeRestarted, EntityId{}, node, NodeId{}, held.size());
  for (const auto& [entity, generation] : held) {
    orphan(entity, version);
    table_.edit(entity, [&](OwnerRecord& rec) { rec.regrant_not_before_ns = last_heard_ns + kNodeLossAfterNs; });
  }
  publish_orphanings();
  for (auto m = migrations_.begin(); m != migrations_.end();) {
    m = (m->second.from == node || m->second.to == node) ? migrations_.erase(m) : std::next(m);
  }
}

// What the table gives `node` now (entity -> generation): what an answer to a Prepare sent now is
// judged against, an audit's (reconcile_audit) or a promise's (reconcile).
// A copy: its callers change the table as they go.
std::map<EntityId, uint64_t> Coordinator::given_to(NodeId node) const {
  if (!node.valid()) return {};
  return table_.given(node);
}

// A Prepare to one node: a candidate's (a vote), or a leader's (to make it a member of our epoch, or
// to audit it). What the table gives the node now is what its Promise is judged against (reconcile,
// reconcile_audit), and only the Promise answering this very question is taken. A question still
// unanswered is asked again (a new one) at most once per kAuditIntervalNs: late heartbeats of an
// older epoch arrive in bursts.
void Coordinator::ask(NodeId node, NodeRecord& rec, HoldingsQuestion::Why why) {
  const TimeNs now = rt_.clock.now_ns();
  if (rec.question.why != HoldingsQuestion::Why::kNone && now - rec.question.sent_ns < kAuditIntervalNs) return;
  rec.question = HoldingsQuestion{why, (static_cast<uint64_t>(epoch_) << 32) | ++questions_asked_, now, given_to(node)};
  send_to(node, Prepare{rec.question.id, leading(), incarnation_});
}

// A node's lost flag is ours to act on only if we declared it, in this epoch: every entity it held
// was then re-granted by us, under generations we know, so whatever it still holds is stale and it
// must drop everything. A flag that came with the replicated table (or from an older epoch) may be
// out of date: meanwhile the node may have been granted entities under newer generations than our
// table knows, and evicting it would destroy the newest holding while we renew a stale one
// elsewhere (chaos-partitions seed 23). Such a node is asked for a Promise instead, and reconciled.
bool Coordinator::lost_by_us(const NodeRecord& rec) const { return rec.lost && rec.lost_epoch == epoch_; }

// A node we declared lost is back (a long pause, a partition healed): whatever it still holds has been
// re-granted elsewhere, so it must drop everything before its lease can be renewed.
// An evicted node is a member again only once it answers our membership question: the heartbeat
// that brought it back may be old (a clogged link delivers it late), sent before it promised a newer
// leader, and counting it toward our quorum would let us renew leases that leader already outlived.
void Coordinator::evict(NodeId node, NodeRecord& rec) {
  ++stats_.evictions;
  rec.lost = false;
  rec.member_epoch = 0;
  const uint64_t fence = next_fence();
  if (rec.conn != 0) rec.fences.sent_evict(fence, rec.conn);
  send_to(node, Evicted{fence});
  trace(TraceKind::kEvicted, EntityId{}, 0, 0, node);
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "compute {} came back after being declared lost: evicted", node.value);
  send_membership();
}

}  // namespace aether
