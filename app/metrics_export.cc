#include "app/metrics_export.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <vector>

#include <fmt/format.h>

#include "runtime/common/prometheus_text.h"
#include "runtime/real/crl_watch.h"

namespace aether::app {

namespace {

using common::Labels;
using common::MetricsText;
using common::MetricType;
constexpr auto kCounter = MetricType::kCounter;
constexpr auto kGauge = MetricType::kGauge;

double seconds(TimeNs ns) { return static_cast<double>(ns) / static_cast<double>(kNsPerSec); }
double num(uint64_t v) { return static_cast<double>(v); }

Labels server_labels(NodeId node, const char* role) { return {{"node", fmt::format("{}", node.value)}, {"role", role}}; }

// Targeted debug mode: how many entities are debugged (the coordinator's set, or the set a node was
// told), and whether the whole node is (null for the coordinator, which keeps the set).
void debug_metrics(MetricsText& m, const Labels& l, const DebugSet* told, size_t coordinator_entities = 0) {
  m.family("aether_debug_entities", "Entities in targeted debug mode (aether admin debug).", kGauge)
      .add(l, num(told ? told->entities().size() : coordinator_entities));
  if (told) m.family("aether_debug_node", "1 while this whole node is in targeted debug mode.", kGauge).add(l, told->whole_node() ? 1 : 0);
}

void identity_metrics(MetricsText& m, const Labels& l, uint64_t rejections) {
  m.family("aether_identity_rejections_total",
           "Peers refused because what they claimed (Hello, admin request, the server dialled) did not match their verified identity.", kCounter)
      .add(l, num(rejections));
}

void compute_metrics(MetricsText& m, const ComputeNode& n) {
  const Labels l = server_labels(n.node(), "compute");
  const ComputeStats& s = n.stats();
  m.family("aether_ticks_total", "Ticks run by a compute node.", kCounter).add(l, num(s.ticks));
  static const auto bounds = [] {
    std::array<double, kTickBucketBoundsNs.size()> out{};
    for (size_t i = 0; i < out.size(); ++i) out[i] = seconds(kTickBucketBoundsNs[i]);
    return out;
  }();
  m.family("aether_tick_duration_seconds", "Duration of one tick; the budget is 0.1 s (10 Hz).", MetricType::kHistogram)
      .add_histogram(l, bounds, s.tick_buckets.counts(), seconds(static_cast<TimeNs>(s.tick_buckets.sum())));
  m.family("aether_tick_overruns_total", "Ticks that started late because an earlier one overran the 100 ms budget.", kCounter)
      .add(l, num(s.tick_overruns));
  m.family("aether_ticks_without_lease_total", "Tick slots skipped because the node's lease had lapsed.", kCounter)
      .add(l, num(s.ticks_without_lease));
  m.family("aether_entities", "Entities this compute node owns (writes).", kGauge).add(l, num(n.world().size()));
  m.family("aether_load_permille", "The node's load in permille of its plan (entities against capacity, tick cost against its planned share).", kGauge)
      .add(l, num(n.load().load_permille()));
  m.family("aether_load_level", "What the node sheds to keep its tick: 0 nothing, 1 opportunistic load, 2 soft load too.", kGauge)
      .add(l, num(static_cast<uint64_t>(n.load().level())));
  for (auto [level, name] : {std::pair{LoadLevel::kNormal, "normal"}, std::pair{LoadLevel::kShedOpportunistic, "opportunistic_shed"},
                             std::pair{LoadLevel::kShedSoft, "soft_shed"}}) {
    Labels ll = l;
    ll.emplace_back("level", name);
    m.family("aether_load_level_ticks_total", "Ticks run at each load level.", kCounter).add(ll, num(n.load().ticks_at(level)));
  }
  m.family("aether_feeds_skipped_total", "Ticks whose feeds waited for the next tick because soft load was shed.", kCounter)
      .add(l, num(s.feeds_skipped));
  m.family("aether_ghosts", "Read-only copies of entities owned by other compute nodes.", kGauge).add(l, num(n.ghosts().size()));
  for (const QueueFigures& q : n.queues()) {
    Labels ql = l;
    ql.emplace_back("queue", q.name);
    m.family("aether_queue_depth", "Items waiting in one of the four tick queues now.", kGauge).add(ql, num(q.depth));
    m.family("aether_queue_depth_max", "Deepest a tick queue has been since the process started.", kGauge).add(ql, num(q.depth_max));
    m.family("aether_queue_capacity", "The bound of a tick queue.", kGauge).add(ql, num(q.capacity));
    m.family("aether_queue_refused_total", "Items refused because their queue was full.", kCounter).add(ql, num(q.refused_total));
  }
  m.family("aether_subscriptions", "Feeds this compute node sends (to gateways and other compute nodes).", kGauge).add(l, num(n.subscribers()));
  m.family("aether_compute_peers_connected", "Other compute nodes this one is linked to.", kGauge).add(l, num(n.peers_connected()));
  for (const auto& [direction, count] : {std::pair{"in", s.migrations_in}, std::pair{"out", s.migrations_out}}) {
    Labels ml = l;
    ml.emplace_back("direction", direction);
    m.family("aether_migrations_total", "Entities migrated into or out of this compute node.", kCounter).add(ml, num(count));
  }
  m.family("aether_recoveries_total", "Entities granted to this node after their owner was lost.", kCounter).add(l, num(s.recoveries));
  for (const auto& [where, count] : {std::pair{"home", s.respawns_at_home}, std::pair{"away", s.respawns_away}}) {
    Labels rl = l;
    rl.emplace_back("where", where);
    m.family("aether_respawns_total", "Respawns inside this node's own region (home) or, none drawn there, elsewhere (away: a migration follows).",
             kCounter).add(rl, num(count));
  }
  m.family("aether_regions_refused_total", "Region cuts from a coordinator that did not cover the arena (ignored).", kCounter)
      .add(l, num(s.regions_refused));
  m.family("aether_inputs_applied_total", "Client inputs applied in phase 1.", kCounter).add(l, num(s.inputs_applied));
  m.family("aether_intents_applied_total", "Intents applied to their target in phase 4.", kCounter).add(l, num(s.intents_applied));
  m.family("aether_intents_rejected_total", "Remote intents refused by the owner (source not the sender's, beyond range, wrong amount, too fast).",
           kCounter).add(l, num(s.intents_rejected));
  m.family("aether_intents_received_remote_total", "Remote intents from other compute nodes that passed the owner's checks and went to the IntentQueue.",
           kCounter).add(l, num(s.intents_received_remote));
  m.family("aether_hello_timeouts_total", "Connections closed for saying no Hello within the deadline (5 s).", kCounter)
      .add(l, num(s.hello_timeouts));
  m.family("aether_inputs_rejected_total", "Inputs refused by the owner (from a gateway that does not hold the entity's session).", kCounter)
      .add(l, num(s.inputs_rejected));
  m.family("aether_deaths_total", "Entities that died on this node.", kCounter).add(l, num(s.deaths));
  m.family("aether_level_ups_total", "Levels gained by entities of this node (experience from kills and assists).", kCounter).add(l, num(s.level_ups));
  uint64_t npcs_alive = 0, encounters_active = 0;
  for (const auto& [id, e] : n.world().entities()) {
    if (e.is_npc() && !e.dead) ++npcs_alive;
    if (e.is_encounter() && e.encounter.running()) ++encounters_active;
  }
  m.family("aether_npcs_alive", "NPCs this compute node owns that are alive.", kGauge).add(l, num(npcs_alive));
  m.family("aether_encounters_active", "Turn-based encounters this compute node owns that are under way.", kGauge).add(l, num(encounters_active));
  m.family("aether_encounter_turns_total", "Turns of this node's encounters that ended, by how: acted, passed (timer).", kCounter)
      .add([&] { Labels x = l; x.emplace_back("how", "acted"); return x; }(), num(s.encounter_turns_acted));
  m.family("aether_encounter_turns_total", "Turns of this node's encounters that ended, by how: acted, passed (timer).", kCounter)
      .add([&] { Labels x = l; x.emplace_back("how", "passed"); return x; }(), num(s.encounter_turns_passed));
  m.family("aether_encounter_actions_refused_total", "Actions for an encounter's turn refused by its owner (stale, or not the actor's).", kCounter)
      .add(l, num(s.encounter_turns_refused));
  m.family("aether_portals_taken_total", "Players this compute node owned that a portal moved to another zone.", kCounter).add(l, num(s.portals_taken));
  m.family("aether_instances_entered_total", "Players this compute node owned that went through a portal into their party's instance slot.", kCounter)
      .add(l, num(s.instances_entered));
  for (const auto& [answer, count] : {std::pair{"asked", s.instance_requests_sent}, std::pair{"refused", s.instance_refusals}}) {
    Labels x = l;
    x.emplace_back("answer", answer);
    m.family("aether_instance_asks_total", "Asks to the leader for a party's instance slot, and the refusals among the answers.", kCounter).add(x, num(count));
  }
  {
    // Loot (docs/persistence.md §9c): items made here, refused for a full bag, and what became of
    // their ledger entries.
    const LootFigures& f = n.loot_log().figures();
    const char* help = "Loot on this node, by outcome: created (items made), refused_full (no room in the bag), logged (entries durable), "
                       "fenced (refused by a newer owner's fence), unlogged (pending list full).";
    for (const auto& [outcome, count] : {std::pair<const char*, uint64_t>{"created", f.created}, {"refused_full", f.refused_full},
                                         {"logged", f.logged}, {"fenced", f.fenced}, {"unlogged", f.unlogged}}) {
      Labels x = l;
      x.emplace_back("outcome", outcome);
      m.family("aether_loot_items_total", help, kCounter).add(x, num(count));
    }
    m.family("aether_loot_write_failures_total", "Loot ledger batches whose write failed (their entries retried).", kCounter)
        .add(l, num(f.write_failures));
  }
  {
    // Characters' saves (docs/persistence.md §9d): periodic and log-out saves of the avatars we own.
    // Saves made with a loot entry are in aether_loot_items_total{outcome="logged"}.
    const SaveFigures& f = n.character_saves().figures();
    const char* help = "Character saves (periodic and log-out) by outcome: written (accepted by the store), synced (of them durable: log-outs), "
                       "fenced (refused by a newer owner's fence, dropped), dropped (log-out saves past the bound).";
    for (const auto& [outcome, count] : {std::pair<const char*, uint64_t>{"written", f.written}, {"synced", f.synced},
                                         {"fenced", f.fenced}, {"dropped", f.dropped}}) {
      Labels x = l;
      x.emplace_back("outcome", outcome);
      m.family("aether_character_saves_total", help, kCounter).add(x, num(count));
    }
    m.family("aether_character_save_write_failures_total", "Character save batches whose write failed (their saves taken again).", kCounter)
        .add(l, num(f.failed));
  }
  m.family("aether_huds_sent_total", "Avatar HUDs (bag, turn order) sent to the gateways of this node's players (on change and every 10 s).", kCounter)
      .add(l, num(s.huds_sent));
  m.family("aether_skills_used_total", "Skills that fired (instant, or a cast that completed) on this node.", kCounter).add(l, num(s.skills_used));
  m.family("aether_intents_duplicate_total", "Intents dropped as already applied (their key at or below their origin's mark).", kCounter)
      .add(l, num(s.intents_duplicate));
  for (size_t r = 1; r < gameplay::kRefusalKinds; ++r) {
    Labels lr = l;
    lr.emplace_back("reason", std::string(gameplay::refusal_name(static_cast<gameplay::Refusal>(r))));
    m.family("aether_skill_refusals_total", "Skills asked for by clients and refused by the owner's rules, by reason.", kCounter)
        .add(lr, num(s.skill_refusals[r]));
  }
  m.family("aether_refusal_kicks_total", "Players refused more actions than an honest client is in a window: their gateway told to end the session.",
           kCounter)
      .add(l, num(s.sessions_kicked));
  debug_metrics(m, l, &n.debug_set());
  identity_metrics(m, l, n.identity_rejections());
  m.family("aether_admin_data_port_refusals_total", "Admin requests refused on a data port (operators use the admin listener).", kCounter)
      .add(l, num(s.admin_on_data_port));
  m.family("aether_lease_valid", "1 while the compute node holds a valid lease (may write its entities).", kGauge)
      .add(l, n.lease_valid() ? 1 : 0);
  m.family("aether_epoch", "The newest cluster epoch this node follows.", kGauge).add(l, num(n.epoch()));
  m.family("aether_stale_messages_dropped_total", "Messages dropped because they carried an epoch older than the newest seen.", kCounter)
      .add(l, num(s.stale_epoch_dropped));
  m.family("aether_protocol_errors_total", "Malformed or unexpected messages; each closed its connection.", kCounter)
      .add(l, num(s.protocol_errors));
}

void coordinator_metrics(MetricsText& m, const Coordinator& k) {
  const Labels l = server_labels(k.node(), "coordinator");
  const CoordinatorStats& s = k.stats();
  m.family("aether_coordinator_epoch", "The epoch this coordinator is at.", kGauge).add(l, num(k.epoch()));
  m.family("aether_coordinator_leader", "1 while this coordinator leads, else 0.", kGauge).add(l, k.leading() ? 1 : 0);
  m.family("aether_coordinator_failovers_total", "Times this coordinator became leader by taking over.", kCounter).add(l, num(s.takeovers));
  m.family("aether_replicas_refused_total", "Ticks whose replication to the vice the network refused in part; the rest waited in the backlog (docs/ownership.md section 6).",
           kCounter).add(l, num(s.replicas_refused));
  m.family("aether_replication_backlog_entities", "Entity changes the vice's network has not taken yet (docs/ownership.md section 6).", kGauge)
      .add(l, num(k.replication_backlog()));
  m.family("aether_coordinator_step_downs_total", "Times this coordinator stopped leading.", kCounter).add(l, num(s.step_downs));
  m.family("aether_coordinator_table_entities", "Entities in the owner table.", kGauge).add(l, num(k.table().size()));
  m.family("aether_coordinator_orphans", "Entities in the table without a live owner.", kGauge).add(l, num(k.orphans()));
  m.family("aether_coordinator_migrations_in_flight", "Migrations started and not yet done.", kGauge).add(l, num(k.migrations().size()));
  m.family("aether_coordinator_migrations_started_total", "Migrations this coordinator started.", kCounter).add(l, num(s.migrations_started));
  m.family("aether_coordinator_migrations_done_total", "Migrations whose entity was granted to its destination.", kCounter)
      .add(l, num(s.migrations_done));
  m.family("aether_coordinator_nodes_lost_total", "Compute nodes and gateways declared lost.", kCounter).add(l, num(s.nodes_lost));
  m.family("aether_coordinator_recoveries_total", "Entities re-granted after their owner was lost.", kCounter).add(l, num(s.recoveries));
  m.family("aether_coordinator_spawns_total", "Entities spawned.", kCounter).add(l, num(s.spawns));
  m.family("aether_coordinator_spawns_refused_total", "Spawn requests refused.", kCounter).add(l, num(s.spawns_refused));
  m.family("aether_coordinator_resumes_refused_total", "Resumes refused: a wrong or spent token, or an avatar still attached to its session.",
           kCounter).add(l, num(s.resumes_refused));
  m.family("aether_hello_timeouts_total", "Connections closed for saying no Hello within the deadline (5 s).", kCounter)
      .add(l, num(s.hello_timeouts));
  m.family("aether_coordinator_gateway_route_cuts_total", "Times the gateways' routes were recut (gateways came or went, or a share strayed).",
           kCounter).add(l, num(s.gateway_route_cuts));
  m.family("aether_coordinator_sessions_detached_total", "Clients sent to their region's gateway, avatar kept for their resume there.",
           kCounter).add(l, num(s.sessions_detached));
  m.family("aether_coordinator_spawns_deferred_total", "Spawn requests answered retry-later (no compute node ready, no quorum).", kCounter)
      .add(l, num(s.spawns_deferred));
  // Instances (docs/gameplay.md, "Instances"): slots taken (records stand in them: the table's, so a
  // vice shows what it would lead with), and how the leader answered requests.
  m.family("aether_instances_active", "Instance slots taken by a party (records of the table stand in them).", kGauge).add(l, num(k.instances_active()));
  for (size_t r = 0; r < kInstanceResults; ++r) {
    Labels with_result = l;
    with_result.emplace_back("result", instance_result_name(static_cast<InstanceResult>(r)));
    m.family("aether_instance_requests_total", "Requests for a party's instance slot, by result: allocated, joined, full (refused: every slot another party's), invalid, not_ready.", kCounter)
        .add(with_result, num(s.instance_requests[r]));
  }
  const LogoutWaitFigures& waits = k.logout_waits().figures();
  m.family("aether_coordinator_logout_waits", "Characters whose next spawn waits for their last life's log-out save.", kGauge)
      .add(l, num(k.logout_waits().size()));
  m.family("aether_coordinator_logout_waits_total", "Character log-outs whose save a spawn would wait for.", kCounter).add(l, num(waits.waits));
  m.family("aether_coordinator_logout_waits_heard_total",
           "Waits for a log-out save learnt from a compute node's Promise (a save owed to an earlier leader's log-out).", kCounter)
      .add(l, num(waits.heard));
  m.family("aether_coordinator_spawns_held_for_save_total", "Spawn requests answered retry-later: the character's log-out save had not landed.",
           kCounter).add(l, num(waits.spawns_held));
  m.family("aether_coordinator_spawns_held_for_avatar_total",
           "Spawn requests answered retry-later: the character's last avatar was still in the world (one avatar per character).", kCounter)
      .add(l, num(s.spawns_held_for_avatar));
  for (const auto& [why, count] : {std::pair{"settled", waits.settled}, std::pair{"timeout", waits.given_up_timeout},
                                   std::pair{"owner_lost", waits.given_up_lost}, std::pair{"full", waits.given_up_full}}) {
    Labels with_end = l;
    with_end.emplace_back("end", why);
    m.family("aether_coordinator_logout_waits_ended_total", "Waits for a log-out save ended: settled by the owner, or given up (timeout, owner_lost, full).",
             kCounter).add(with_end, num(count));
  }
  m.family("aether_instance_answers_held", "Slot answers waiting for the vice to acknowledge the batch carrying the allocation.", kGauge)
      .add(l, num(k.instance_answers_held()));
  m.family("aether_instance_answers_unheld_total", "Slot answers not given: the bound on answers waiting for the vice was reached (the owner asks again).",
           kCounter).add(l, num(s.instance_answers_unheld));
  size_t members = 0;
  for (const auto& [id, rec] : k.nodes()) members += rec.lost ? 0 : 1;
  m.family("aether_coordinator_members", "Compute nodes and gateways known and not lost.", kGauge).add(l, num(members));
  debug_metrics(m, l, nullptr, k.debug_entities().size());
  identity_metrics(m, l, k.identity_rejections());
  m.family("aether_coordinator_debug_nodes", "Nodes debugged as a whole (aether admin debug --node).", kGauge).add(l, num(k.debug_nodes().size()));
  m.family("aether_admin_commands_total", "Operators' commands the coordinator received (authorised or not).", kCounter).add(l, num(s.admin_commands));
  for (const AdminVerdict v : {AdminVerdict::kRoleTooLow, AdminVerdict::kAdminEpochReserved, AdminVerdict::kAdminEpochDisabled}) {
    Labels with_verdict = l;
    with_verdict.emplace_back("verdict", admin_verdict_name(v));
    m.family("aether_admin_refused_total", "Operators' commands refused by the rule (engine/net/admin_rule.h), by verdict.", kCounter)
        .add(with_verdict, num(s.admin_refused[static_cast<size_t>(v)]));
  }
  m.family("aether_admin_epoch_uses_total", "Commands carried out under the admin epoch (superseding authority): alert on any increase.", kCounter)
      .add(l, num(s.admin_epoch_uses));
  m.family("aether_admin_epoch_enabled", "1 if this coordinator lets an admin order under the admin epoch.", kGauge).add(l, k.admin_epoch_enabled() ? 1 : 0);
  m.family("aether_admin_data_port_refusals_total", "Admin requests refused on a data port (operators use the admin listener).", kCounter)
      .add(l, num(s.admin_on_data_port));
  m.family("aether_admin_ghost_queries_busy_total", "Ghost queries refused at the limit of queries under way.", kCounter)
      .add(l, num(s.ghost_queries_busy));
  m.family("aether_epoch", "The newest cluster epoch this node follows.", kGauge).add(l, num(k.epoch()));
  m.family("aether_stale_messages_dropped_total", "Messages dropped because they carried an epoch older than the newest seen.", kCounter)
      .add(l, num(s.stale_epoch_dropped));
  m.family("aether_protocol_errors_total", "Malformed or unexpected messages; each closed its connection.", kCounter)
      .add(l, num(s.protocol_errors));
}

void gateway_metrics(MetricsText& m, const Gateway& g) {
  const Labels l = server_labels(g.node(), "gateway");
  const GatewayStats& s = g.stats();
  m.family("aether_gateway_connections", "Client sessions open on this gateway.", kGauge).add(l, num(g.sessions()));
  m.family("aether_gateway_sessions_opened_total", "Client sessions opened.", kCounter).add(l, num(s.sessions_opened));
  m.family("aether_gateway_sessions_closed_total", "Client sessions closed.", kCounter).add(l, num(s.sessions_closed));
  m.family("aether_gateway_slow_clients_dropped_total", "Clients disconnected as slow consumers.", kCounter).add(l, num(s.slow_clients_dropped));
  m.family("aether_gateway_inputs_forwarded_total", "Client inputs forwarded to their owner.", kCounter).add(l, num(s.inputs_forwarded));
  m.family("aether_gateway_inputs_dropped_total", "Client inputs not forwarded (rejected, or no link to the owner).", kCounter)
      .add(l, num(s.inputs_dropped));
  for (size_t r = 0; r < kInputRejectionKinds; ++r) {
    Labels lr = l;
    lr.emplace_back("reason", std::string(input_rejection_name(static_cast<InputRejection>(r))));
    m.family("aether_gateway_inputs_rejected_total",
             "Client inputs rejected, by reason (rate, stale_sequence, target_not_in_view: forwarded without the aim).", kCounter)
        .add(lr, num(s.inputs_rejected[r]));
  }
  m.family("aether_gateway_rejected_closed_total", "Client sessions closed for too many rejected inputs.", kCounter)
      .add(l, num(s.rejected_closed));
  m.family("aether_gateway_updates_sent_total", "Updates sent to clients.", kCounter).add(l, num(s.updates_sent));
  m.family("aether_gateway_update_bytes_sent_total", "Bytes of updates sent to clients (payload).", kCounter).add(l, num(s.update_bytes_sent));
  m.family("aether_gateway_view_entities_total", "Entities clients knew, summed over updates sent (divide by updates for the mean view).",
           kCounter).add(l, num(s.view_entities));
  m.family("aether_gateway_changes_deferred_total", "Client changes that waited for a later update (per-client byte budget).", kCounter)
      .add(l, num(s.changes_deferred));
  m.family("aether_gateway_resumes_refused_total", "Resumes of an avatar another live session of this gateway plays (ignored).", kCounter)
      .add(l, num(s.resumes_refused));
  m.family("aether_gateway_hello_timeouts_total", "Client connections closed for saying no Hello within the deadline (5 s).", kCounter)
      .add(l, num(s.hello_timeouts));
  m.family("aether_gateway_sessions_kicked_total", "Client sessions ended on their avatar owner's word (too many refused actions).", kCounter)
      .add(l, num(s.sessions_kicked));
  m.family("aether_gateway_kicks_refused_total", "Session kicks from a compute node that does not own the avatar (ignored).", kCounter)
      .add(l, num(s.kicks_refused));
  for (const auto& [outcome, count] : {std::pair<const char*, uint64_t>{"forwarded", s.huds_forwarded}, {"refused", s.huds_refused},
                                       {"unplayed", s.huds_unplayed}}) {
    Labels x = l;
    x.emplace_back("outcome", outcome);
    m.family("aether_gateway_huds_total",
             "Avatar HUDs (bag, turn order) from compute nodes: forwarded to the avatar's client, refused (not its owner), unplayed (no session here).",
             kCounter)
        .add(x, num(count));
  }
  m.family("aether_gateway_idle_closed_total", "Playing clients closed after sending nothing for the idle timeout (30 s).", kCounter)
      .add(l, num(s.idle_closed));
  m.family("aether_gateway_clients_redirected_total", "Clients sent to the gateway of their avatar's region.", kCounter)
      .add(l, num(s.clients_redirected));
  m.family("aether_gateway_routes_refused_total", "Gateway routes from the leader that did not cover the arena (ignored).", kCounter)
      .add(l, num(s.routes_refused));
  m.family("aether_gateway_spawns_deferred_total", "Spawn replies saying retry later (the client was held, not refused).", kCounter)
      .add(l, num(s.spawns_deferred));
  if (const accounts::AccountService* a = g.accounts()) {
    // Accounts (docs/security.md, "Accounts and sessions"): every refusal by reason.
    for (size_t r = 1; r < accounts::kAuthRefusalKinds; ++r) {
      Labels lr = l;
      lr.emplace_back("reason", std::string(accounts::auth_refusal_name(static_cast<accounts::AuthRefusal>(r))));
      m.family("aether_gateway_hellos_refused_total", "Client hellos refused for their session token, by reason (token_missing, token_unknown, ...).",
               kCounter).add(lr, num(s.hellos_refused[r]));
      m.family("aether_gateway_account_requests_refused_total",
               "Register, login and refresh requests refused, by reason (the client is told only a generic reason).", kCounter)
          .add(lr, num(a->stats().refused[r]));
    }
    m.family("aether_gateway_hellos_character_busy_total", "Hellos refused: their character already plays in another session.", kCounter)
        .add(l, num(s.hellos_character_busy));
    m.family("aether_gateway_resume_only_admitted_total", "Hellos without a good token admitted on an avatar's resume token alone.", kCounter)
        .add(l, num(s.resume_only_admitted));
    m.family("aether_gateway_account_requests_closed_total", "Connections closed past their account requests limit.", kCounter)
        .add(l, num(s.account_requests_closed));
    m.family("aether_gateway_registrations_total", "Accounts registered.", kCounter).add(l, num(a->stats().registered));
    m.family("aether_gateway_logins_total", "Logins that opened a session.", kCounter).add(l, num(a->stats().logins));
    m.family("aether_gateway_refreshes_total", "Session token rotations.", kCounter).add(l, num(a->stats().refreshes));
    m.family("aether_gateway_logouts_total", "Sessions ended by logout.", kCounter).add(l, num(a->stats().logouts));
    m.family("aether_gateway_token_families", "Open sessions (token families) held by this gateway.", kGauge).add(l, num(a->sessions().families()));
  }
  for (const auto& [outcome, count] : {std::pair<const char*, uint64_t>{"found", s.saves_loaded}, {"absent", s.saves_absent},
                                       {"corrupt", s.saves_unreadable}, {"read_failed", s.save_reads_failed}}) {
    // Characters' saves read at log-in (docs/persistence.md §9d).
    Labels x = l;
    x.emplace_back("outcome", outcome);
    m.family("aether_gateway_character_loads_total",
             "Characters' saves read at log-in: found (spawned from it), absent (a first life), corrupt (session closed), read_failed (asked again).",
             kCounter)
        .add(x, num(count));
  }
  m.family("aether_gateway_character_saves_reread_total",
           "Characters' saves read again because the leader held the spawn until the log-out save landed.", kCounter)
      .add(l, num(s.saves_reread));
  m.family("aether_gateway_cache_entities", "Entities in the gateway's cache.", kGauge).add(l, num(g.cache_size()));
  m.family("aether_gateway_compute_links", "Compute nodes whose feeds this gateway takes.", kGauge).add(l, num(g.compute_links()));
  debug_metrics(m, l, &g.debug_set());
  identity_metrics(m, l, g.identity_rejections());
  m.family("aether_epoch", "The newest cluster epoch this node follows.", kGauge).add(l, num(g.epoch()));
  m.family("aether_stale_messages_dropped_total", "Messages dropped because they carried an epoch older than the newest seen.", kCounter)
      .add(l, num(s.stale_epoch_dropped));
  m.family("aether_protocol_errors_total", "Malformed or unexpected messages; each closed its connection.", kCounter)
      .add(l, num(s.protocol_errors));
}

struct NetFigures {
  uint64_t received = 0;
  uint64_t sent = 0;
  uint64_t connections = 0;
  uint64_t partial_bytes = 0;
  real::TcpLimitStats closed;  // connections closed at a limit
};

void network_metrics(MetricsText& m, const RealHosting& hosting, const std::map<uint32_t, const char*>& role_of) {
  std::map<uint32_t, NetFigures> servers;
  NetFigures bots;
  for (const auto& rt : hosting.runtimes()) {
    const auto role = role_of.find(rt->node().value);
    NetFigures& f = role == role_of.end() ? bots : servers[rt->node().value];
    f.received += rt->bytes_received();
    f.sent += rt->bytes_sent();
    f.connections += rt->connections_open();
    f.partial_bytes += rt->partial_frame_bytes();
    f.closed.partial_frame_deadline += rt->limit_stats().partial_frame_deadline;
    f.closed.partial_frames_budget += rt->limit_stats().partial_frames_budget;
    f.closed.connection_limit += rt->limit_stats().connection_limit;
    f.closed.tls_handshake += rt->limit_stats().tls_handshake;
    f.closed.tls_handshake_deadline += rt->limit_stats().tls_handshake_deadline;
    f.closed.tls_handshakes_limit += rt->limit_stats().tls_handshakes_limit;
    f.closed.per_address_limit += rt->limit_stats().per_address_limit;
    f.closed.tls_handshakes_per_address_limit += rt->limit_stats().tls_handshakes_per_address_limit;
    f.closed.tls_peer_revoked += rt->limit_stats().tls_peer_revoked;
  }
  auto add = [&m](const Labels& l, const NetFigures& f) {
    m.family("aether_network_received_bytes_total", "Bytes received on TCP connections (frames with their length prefix).", kCounter)
        .add(l, num(f.received));
    m.family("aether_network_sent_bytes_total", "Bytes sent on TCP connections (frames with their length prefix).", kCounter)
        .add(l, num(f.sent));
    m.family("aether_network_connections", "TCP connections open (connecting or established).", kGauge).add(l, num(f.connections));
    m.family("aether_network_partial_frame_bytes", "Memory held by receive frame buffers (frames begun and not yet whole), all connections.", kGauge)
        .add(l, num(f.partial_bytes));
    for (const auto& [why, count] : {std::pair{"partial_frame_deadline", f.closed.partial_frame_deadline},
                                     std::pair{"partial_frames_budget", f.closed.partial_frames_budget},
                                     std::pair{"connection_limit", f.closed.connection_limit},
                                     std::pair{"tls_handshake", f.closed.tls_handshake},
                                     std::pair{"tls_handshake_deadline", f.closed.tls_handshake_deadline},
                                     std::pair{"tls_handshakes_limit", f.closed.tls_handshakes_limit},
                                     std::pair{"per_address_limit", f.closed.per_address_limit},
                                     std::pair{"tls_handshakes_per_address_limit", f.closed.tls_handshakes_per_address_limit},
                                     std::pair{"tls_peer_revoked", f.closed.tls_peer_revoked}}) {
      Labels with_reason = l;
      with_reason.emplace_back("reason", why);
      m.family("aether_network_limit_closes_total", "Connections closed or refused at a network limit, by limit.", kCounter)
          .add(with_reason, num(count));
    }
  };
  for (const auto& [node, f] : servers) add(server_labels(NodeId(node), role_of.at(node)), f);
  bool any_bot = false;
  for (const auto& rt : hosting.runtimes()) any_bot = any_bot || !role_of.contains(rt->node().value);
  if (any_bot) add({{"role", "bot"}}, bots);
}

// Each revocation list (runtime/real/crl_watch.h): a server's, and the bots' (one list they share).
void revocation_metrics(MetricsText& m, const RealHosting& hosting, const std::map<uint32_t, const char*>& role_of) {
  std::set<const real::CrlWatch*> seen;
  for (const auto& rt : hosting.runtimes()) {
    const real::CrlWatch* watch = rt->revocations();
    if (watch == nullptr || !seen.insert(watch).second) continue;
    const auto role = role_of.find(rt->node().value);
    const Labels l = role == role_of.end() ? Labels{{"role", "bot"}} : server_labels(rt->node(), role->second);
    for (const auto& [outcome, count] : {std::pair{"loaded", watch->stats().loaded}, std::pair{"refused", watch->stats().refused}}) {
      Labels with_outcome = l;
      with_outcome.emplace_back("outcome", outcome);
      m.family("aether_tls_crl_reloads_total",
               "Revocation list files read while running: loaded (in force since) or refused (unreadable, not the CA's, out of date or older; the list in force stayed).",
               kCounter)
          .add(with_outcome, num(count));
    }
    m.family("aether_tls_crl_revoked_certificates", "Certificates the revocation list in force names.", kGauge).add(l, num(watch->entries()));
    m.family("aether_tls_crl_next_update_timestamp_seconds",
             "When the revocation list in force runs out (Unix time): past it every handshake fails until a new list is loaded.", kGauge)
        .add(l, num(static_cast<uint64_t>(std::max<int64_t>(0, watch->next_update_unix_s()))));
  }
}

// A gateway's browsers' listener (runtime/real/web_network.h), when it has one.
void web_metrics(MetricsText& m, const RealHosting& hosting, const std::map<uint32_t, const char*>& role_of) {
  for (const auto& rt : hosting.runtimes()) {
    const auto role = role_of.find(rt->node().value);
    if (role == role_of.end() || rt->web().address().empty()) continue;
    const Labels l = server_labels(rt->node(), role->second);
    const real::WebStats& w = rt->web().stats();
    m.family("aether_web_connections", "Connections to the web listener (HTTP requests and WebSockets).", kGauge).add(l, num(rt->web().connections()));
    for (const auto& [event, count] : {std::pair{"upgraded", w.upgraded}, std::pair{"file_served", w.files_served},
                                       std::pair{"not_found", w.not_found}, std::pair{"bad_request", w.bad_requests},
                                       std::pair{"origin_refused", w.origin_refused}, std::pair{"handshake_failed", w.handshake_failed},
                                       std::pair{"connection_limit", w.connection_limit}, std::pair{"per_address_limit", w.per_address_limit},
                                       std::pair{"message_too_big", w.message_too_big},
                                       std::pair{"text_frame", w.text_frames}, std::pair{"dead_peer", w.dead_peers}}) {
      Labels with_event = l;
      with_event.emplace_back("event", event);
      m.family("aether_web_events_total", "Web listener events: WebSockets opened, files served, and what was refused or closed, by kind.", kCounter)
          .add(with_event, num(count));
    }
  }
}

// Each server's store (runtime/real/worker_store.h), when it opened one.
void storage_metrics(MetricsText& m, const RealHosting& hosting, const std::map<uint32_t, const char*>& role_of) {
  for (const auto& rt : hosting.runtimes()) {
    const auto role = role_of.find(rt->node().value);
    if (role == role_of.end() || !rt->storage().is_open()) continue;
    const Labels l = server_labels(rt->node(), role->second);
    const real::WorkerStoreStats& s = rt->storage().stats();
    m.family("aether_storage_requests_total", "Storage requests accepted.", kCounter).add(l, num(s.requests));
    m.family("aether_storage_in_flight", "Storage requests accepted and not completed.", kGauge).add(l, num(rt->storage().in_flight()));
    for (const auto& [code, count] : {std::pair{"busy", s.busy}, std::pair{"io_error", s.io_errors}, std::pair{"corrupt", s.corrupt},
                                      std::pair{"fenced", s.fenced}}) {
      Labels with_code = l;
      with_code.emplace_back("code", code);
      m.family("aether_storage_failures_total", "Storage requests refused at the call (busy) or completed with an error, by status.", kCounter)
          .add(with_code, num(count));
    }
  }
}

void bot_metrics(MetricsText& m, uint32_t bots, uint32_t playing, uint64_t updates, uint64_t resumes) {
  const Labels l = {{"role", "bot"}};
  m.family("aether_bots", "Bot clients in this process.", kGauge).add(l, bots);
  m.family("aether_bots_playing", "Bot clients with an avatar in the battle.", kGauge).add(l, playing);
  m.family("aether_bot_updates_received_total", "Updates bot clients received.", kCounter).add(l, num(updates));
  m.family("aether_bot_resumes_total", "Times a bot took its avatar back after a disconnect.", kCounter).add(l, num(resumes));
}

// The servers a process hosts, each with its node and role (bots are not servers).
struct ServerOf {
  const Component* component;
  NodeId node;
  const char* role;
};
std::vector<ServerOf> servers(const RealHosting& hosting) {
  std::vector<ServerOf> out;
  for (Component* c : hosting.components()) {
    if (const auto* n = dynamic_cast<const ComputeNode*>(c)) out.push_back({c, n->node(), "compute"});
    if (const auto* k = dynamic_cast<const Coordinator*>(c)) out.push_back({c, k->node(), "coordinator"});
    if (const auto* g = dynamic_cast<const Gateway*>(c)) out.push_back({c, g->node(), "gateway"});
  }
  return out;
}

void readiness_metrics(MetricsText& m, const RealHosting& hosting) {
  for (const ServerOf& s : servers(hosting)) {
    m.family("aether_ready", "1 while the server can do its job (what GET /readyz answers).", kGauge)
        .add(server_labels(s.node, s.role), s.component->readiness().ready ? 1 : 0);
  }
}

void server_metrics(MetricsText& m, const real::MetricsServer& server) {
  const real::MetricsServerStats& s = server.stats();
  m.family("aether_metrics_requests_total", "Scrapes of /metrics answered.", kCounter).add({}, num(s.requests));
  m.family("aether_probes_total", "GET /healthz and /readyz answered.", kCounter).add({}, num(s.probes));
  m.family("aether_probes_failed_total", "GET /healthz and /readyz answered 503.", kCounter).add({}, num(s.probes_failed));
  for (const auto& [why, count] : {std::pair{"not_found", s.not_found}, std::pair{"bad_request", s.bad_requests},
                                   std::pair{"connection_limit", s.connections_refused}, std::pair{"timeout", s.timeouts}}) {
    m.family("aether_metrics_refused_total", "HTTP requests or connections to the metrics endpoint not answered with metrics.", kCounter)
        .add({{"reason", why}}, num(count));
  }
}

void admin_server_metrics(MetricsText& m, const real::AdminServer& admin) {
  const real::AdminServerStats& s = admin.stats();
  m.family("aether_admin_connections", "Connections open to the admin listener.", kGauge).add({}, num(admin.connections_open()));
  m.family("aether_admin_connections_total", "Connections the admin listener accepted (within its limits).", kCounter).add({}, num(s.connections));
  for (const auto& [status, count] : s.answers) {
    m.family("aether_admin_answers_total", "Answers of the admin listener, by HTTP status.", kCounter).add({{"status", fmt::format("{}", status)}}, num(count));
  }
  for (size_t i = 0; i < real::kAuthFailureKinds; ++i) {
    m.family("aether_admin_auth_failures_total", "Failed operator authentications at the admin listener, by reason.", kCounter)
        .add({{"reason", real::auth_failure_name(static_cast<real::AuthFailure>(i))}}, num(s.auth_failures[i]));
  }
  auto& reloads = m.family("aether_admin_operator_reloads_total",
                           "Operators files taken in after they changed (revocations and additions without a restart), by result.", kCounter);
  reloads.add({{"result", "ok"}}, num(s.operator_swaps));
  reloads.add({{"result", "refused"}}, num(s.operator_reload_failures));
  for (const char* why : {"tls_handshake", "tls_handshake_deadline", "connection_limit", "per_address_limit", "idle", "request_deadline",
                          "header_too_large", "body_too_large", "bad_request"}) {
    auto it = s.closes.find(why);
    m.family("aether_admin_limit_closes_total", "Admin listener connections closed or refused at a limit, by limit.", kCounter)
        .add({{"reason", why}}, num(it == s.closes.end() ? 0 : it->second));
  }
}

}  // namespace

std::string render_metrics(const RealHosting& hosting, const real::MetricsServer* server, const real::AdminServer* admin) {
  MetricsText m;
  std::map<uint32_t, const char*> role_of;  // server node id -> role
  uint32_t bots = 0, playing = 0;
  uint64_t updates = 0, resumes = 0;
  // Compute first, so the families an operator looks at first come first in the page.
  for (Component* c : hosting.components()) {
    if (const auto* n = dynamic_cast<const ComputeNode*>(c)) {
      compute_metrics(m, *n);
      role_of[n->node().value] = "compute";
    }
  }
  for (Component* c : hosting.components()) {
    if (const auto* k = dynamic_cast<const Coordinator*>(c)) {
      coordinator_metrics(m, *k);
      role_of[k->node().value] = "coordinator";
    } else if (const auto* g = dynamic_cast<const Gateway*>(c)) {
      gateway_metrics(m, *g);
      role_of[g->node().value] = "gateway";
    } else if (const auto* b = dynamic_cast<const BotClient*>(c)) {
      ++bots;
      playing += b->playing() ? 1 : 0;
      updates += b->stats().updates_received;
      resumes += b->stats().resumes;
    }
  }
  readiness_metrics(m, hosting);
  network_metrics(m, hosting, role_of);
  revocation_metrics(m, hosting, role_of);
  web_metrics(m, hosting, role_of);
  storage_metrics(m, hosting, role_of);
  if (bots) bot_metrics(m, bots, playing, updates, resumes);
  if (server) server_metrics(m, *server);
  if (admin) admin_server_metrics(m, *admin);
  return m.render();
}

namespace {

// GET /readyz: ready when every server of the process is, with a line per server saying why.
real::ProbeAnswer readiness_probe(const RealHosting& hosting) {
  real::ProbeAnswer answer{true, {}};
  for (const ServerOf& s : servers(hosting)) {
    const Readiness r = s.component->readiness();
    answer.ok = answer.ok && r.ready;
    answer.text += fmt::format("{} {}: {} ({})\n", s.role, s.node.value, r.ready ? "ready" : "not ready", r.why);
  }
  if (answer.text.empty()) answer.text = "no server here: ready once started\n";
  return answer;
}

}  // namespace

MetricsEndpoint::MetricsEndpoint(boost::asio::io_context& io, RealHosting& hosting, const real::RealOptions& options)
    : log_(options.log_sink ? options.log_sink : common::make_stderr_sink("metrics"), "metrics", NodeId{}, real::unix_now_ns,
           options.log_level, options.log_format),
      server_(io, log_, [this, &hosting] {
        std::string page;
        hosting.paused([&] { page = render_metrics(hosting, &server_, admin_); });  // the roles' loops parked meanwhile
        return page;
      }) {
  // /healthz is answered by a handler on the event loop (with threads, once every loop parked):
  // a process whose loop is stuck never answers, and the probe times out.
  server_.set_probes(
      [&hosting] {
        size_t components = 0;
        hosting.paused([&] { components = hosting.components().size(); });
        return real::ProbeAnswer{true, fmt::format("alive: {} components on a running event loop\n", components)};
      },
      [&hosting] {
        real::ProbeAnswer answer;
        hosting.paused([&] { answer = readiness_probe(hosting); });
        return answer;
      });
}

}  // namespace aether::app
