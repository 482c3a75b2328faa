#include "app/cluster.h"

#include <fmt/format.h>

namespace aether::app {

NodeId coordinator_node_id(uint32_t index) { return NodeId(1 + index); }
NodeId compute_node_id(uint32_t index) { return NodeId(101 + index); }
NodeId gateway_node_id(uint32_t index) { return NodeId(201 + index); }

namespace {
template <class T>
T* place(Hosting& hosting, std::unique_ptr<T> component) {
  T* raw = component.get();
  hosting.adopt(std::move(component));
  return raw;
}

// The address a server is reachable at: what it bound if it has started, else what it was told.
std::string reachable(const std::string& bound, const std::string& configured) { return bound.empty() ? configured : bound; }
}  // namespace

Cluster::Cluster(Hosting& hosting, const ClusterShape& shape, Random& join_random) {
  AETHER_ASSERT(shape.coordinators >= 1 && shape.coordinators <= 2);
  std::vector<std::string> coordinator_addresses;
  for (uint32_t i = 0; i < shape.coordinators; ++i) coordinator_addresses.push_back(hosting.listen_address(Role::kCoordinator, i));
  for (uint32_t i = 0; i < shape.coordinators; ++i) {
    CoordinatorConfig cc;
    cc.node = coordinator_node_id(i);
    cc.listen_address = coordinator_addresses[i];
    if (shape.coordinators == 2) {
      cc.peer_address = coordinator_addresses[1 - i];
      cc.peer_node = coordinator_node_id(1 - i);
    }
    cc.identity_required = hosting.verifies_identities();
    cc.start_as_leader = i == 0;
    cc.compute_nodes = shape.compute_nodes;
    cc.planted = shape.planted;
    cc.rules = shape.rules;
    cc.migration_storm_every_ticks = shape.migration_storm_every_ticks;
    cc.migration_storm_batch = shape.migration_storm_batch;
    cc.admin_epoch_enabled = shape.admin_epoch_enabled;
    coordinator_configs_.push_back(cc);
    Runtime& rt = hosting.host(fmt::format("coordinator-{}", i + 1), cc.node, Role::kCoordinator);
    coordinators_.push_back(place(hosting, std::make_unique<Coordinator>(rt, cc)));
    coordinator_addresses[i] = reachable(coordinators_.back()->address(), cc.listen_address);
  }
  // With port 0 (the real runtime in one process) each coordinator learns its peer's port only now.
  for (uint32_t i = 0; i < shape.coordinators && shape.coordinators == 2; ++i) {
    const std::string configured = hosting.listen_address(Role::kCoordinator, 1 - i);
    if (coordinator_addresses[1 - i] != configured) coordinators_[i]->connect_peer(coordinator_addresses[1 - i]);
    coordinator_configs_[i].peer_address = coordinator_addresses[1 - i];
  }
  for (uint32_t i = 0; i < shape.compute_nodes; ++i) {
    ComputeConfig c;
    c.node = compute_node_id(i);
    c.listen_address = hosting.listen_address(Role::kCompute, i);
    c.coordinator_addresses = coordinator_addresses;
    c.rules = shape.rules;
    c.view_radius_mm = shape.view_radius_mm;
    c.capacity_entities = shape.compute_capacity_entities;
    c.load.enabled = shape.load_shedding;
    c.durable_promises = shape.durable_promises;
    c.planted = shape.planted;
    c.identity_required = hosting.verifies_identities();
    compute_configs_.push_back(c);
    Runtime& rt = hosting.host(fmt::format("compute-{}", i + 1), c.node, Role::kCompute);
    computes_.push_back(place(hosting, std::make_unique<ComputeNode>(rt, c)));
  }
  std::vector<std::string> gateway_addresses;
  for (uint32_t i = 0; i < shape.gateways; ++i) {
    GatewayConfig g;
    g.node = gateway_node_id(i);
    g.listen_address = hosting.listen_address(Role::kGateway, i);
    g.coordinator_addresses = coordinator_addresses;
    g.view_radius_mm = shape.view_radius_mm;
    g.identity_required = hosting.verifies_identities();
    g.accounts.enabled = shape.accounts;
    g.accounts.login = shape.account_login;
    g.accounts.sessions = shape.account_sessions;
    gateway_configs_.push_back(g);
    Runtime& rt = hosting.host(fmt::format("gateway-{}", i + 1), g.node, Role::kGateway);
    gateways_.push_back(place(hosting, std::make_unique<Gateway>(rt, g)));
    gateway_addresses.push_back(reachable(gateways_.back()->address(), g.listen_address));
  }
  const std::shared_ptr<const gameplay::Content> content = shape.accounts ? gameplay::content_of(shape.rules) : nullptr;
  for (uint32_t i = 0; i < shape.bots; ++i) {
    BotConfig b;
    // Bots spread over the gateways; after a loss each tries the others in turn.
    for (uint32_t k = 0; k < gateway_addresses.size(); ++k) b.gateway_addresses.push_back(gateway_addresses[(i + k) % gateway_addresses.size()]);
    b.name = fmt::format("bot-{}", i + 1);
    b.arena_mm = shape.rules.arena_mm;
    b.fire_range_mm = shape.rules.fire_range_mm;
    b.content = shape.rules.content;
    b.cheat = i < shape.cheaters;
    b.challenge = !b.cheat && i < shape.cheaters + shape.challengers;
    b.travel = !b.cheat && !b.challenge && i < shape.cheaters + shape.challengers + shape.travellers;
    if (shape.accounts) {
      b.account.enabled = true;
      b.account.password = fmt::format("{}-password", b.name);  // bots' passwords are no secret
      // Classes in turn over each team's bots, as the coordinator picks them for anonymous clients.
      const uint32_t teams = shape.rules.teams ? shape.rules.teams : 1;
      b.account.class_id = gameplay::class_for_spawn(*content, i / teams).id;
      b.relog_every_ns = shape.relog_every_ns;
    }
    b.start_delay_ns = shape.bots_join_spread_ns > 0 ? static_cast<TimeNs>(uniform_below(join_random, static_cast<uint64_t>(shape.bots_join_spread_ns))) : 0;
    Runtime& rt = hosting.host(b.name, NodeId{}, Role::kClient);
    bots_.push_back(place(hosting, std::make_unique<BotClient>(rt, b)));
  }
}

void Cluster::forget(const Component* component) {
  auto clear = [component](auto& list) {
    for (auto& p : list) {
      if (p == component) p = nullptr;
    }
  };
  clear(computes_);
  clear(gateways_);
  clear(bots_);
  clear(coordinators_);
}

std::unique_ptr<Component> Cluster::rebuild(std::string_view host_name, Runtime& rt) {
  const size_t dash = host_name.rfind('-');
  if (dash == std::string_view::npos) return nullptr;
  const std::string_view role = host_name.substr(0, dash);
  uint32_t n = 0;
  for (const char ch : host_name.substr(dash + 1)) {
    if (ch < '0' || ch > '9' || n > 100'000) return nullptr;
    n = n * 10 + static_cast<uint32_t>(ch - '0');
  }
  if (n == 0) return nullptr;
  const uint32_t i = n - 1;
  if (role == "coordinator" && i < coordinators_.size() && !coordinators_[i]) {
    CoordinatorConfig cc = coordinator_configs_[i];
    cc.start_as_leader = false;
    auto c = std::make_unique<Coordinator>(rt, cc);
    coordinators_[i] = c.get();
    return c;
  }
  if (role == "compute" && i < computes_.size() && !computes_[i]) {
    auto c = std::make_unique<ComputeNode>(rt, compute_configs_[i]);
    computes_[i] = c.get();
    return c;
  }
  if (role == "gateway" && i < gateways_.size() && !gateways_[i]) {
    auto g = std::make_unique<Gateway>(rt, gateway_configs_[i]);
    gateways_[i] = g.get();
    return g;
  }
  return nullptr;
}

Coordinator* Cluster::coordinator() const {
  Coordinator* best = nullptr;
  for (Coordinator* c : coordinators_) {
    if (c && c->leading() && (!best || c->epoch() > best->epoch())) best = c;
  }
  return best;
}

ClusterFigures Cluster::figures() const {
  ClusterFigures f;
  for (const ComputeNode* c : computes_) {
    if (!c) continue;
    const ComputeStats& s = c->stats();
    f.ticks += s.ticks;
    f.tick_ns.merge(s.tick_ns);
    f.tick_overruns += s.tick_overruns;
    f.entities += c->world().size();
    f.deaths += s.deaths;
    f.level_ups += s.level_ups;
    f.npcs_killed += s.npcs_killed;
    f.npc_kills += s.npc_kills;
    const LootFigures& loot = c->loot_log().figures();
    f.loot.created += loot.created;
    f.loot.refused_full += loot.refused_full;
    f.loot.logged += loot.logged;
    f.loot.write_failures += loot.write_failures;
    f.loot.fenced += loot.fenced;
    f.loot.unlogged += loot.unlogged;
    const SaveFigures& saves = c->character_saves().figures();
    f.saves.written += saves.written;
    f.saves.synced += saves.synced;
    f.saves.fenced += saves.fenced;
    f.saves.failed += saves.failed;
    f.saves.dropped += saves.dropped;
    f.challenges += s.challenges_sent;
    f.portals_taken += s.portals_taken;
    f.instances_entered += s.instances_entered;
    f.instance_refusals += s.instance_refusals;
    f.encounters_started += s.encounters_started;
    f.encounters_ended += s.encounters_ended;
    f.encounter_turns_acted += s.encounter_turns_acted;
    f.encounter_turns_passed += s.encounter_turns_passed;
    f.encounter_turns_refused += s.encounter_turns_refused;
    for (const auto& [id, e] : c->world().entities()) {
      if (e.is_encounter()) ++f.encounters_live;
      if (!e.is_npc()) continue;
      ++f.npcs;
      if (!e.dead) ++f.npcs_alive;
    }
    f.skills_used += s.skills_used;
    f.intents_applied += s.intents_applied;
    f.intents_duplicate += s.intents_duplicate;
    for (size_t r = 0; r < f.skill_refusals.size(); ++r) f.skill_refusals[r] += s.skill_refusals[r];
    f.inputs_applied += s.inputs_applied;
    f.intents_remote += s.intents_received_remote;
    f.recoveries += s.recoveries;
    f.migrations += s.migrations_in;
    f.respawns_at_home += s.respawns_at_home;
    f.respawns_away += s.respawns_away;
    f.handoff_fallbacks += s.handoff_fallbacks;
    f.protocol_errors += s.protocol_errors;
    f.ticks_shedding_opportunistic += c->load().ticks_at(LoadLevel::kShedOpportunistic);
    f.ticks_shedding_soft += c->load().ticks_at(LoadLevel::kShedSoft);
    f.shedding_episodes += c->load().entered(LoadLevel::kShedOpportunistic) + c->load().entered(LoadLevel::kShedSoft);
    f.feeds_skipped += s.feeds_skipped;
    f.nodes_shedding += c->load().level() != LoadLevel::kNormal ? 1 : 0;
  }
  for (const Coordinator* k : coordinators_) {
    if (!k) continue;
    for (size_t r = 0; r < kInstanceResults; ++r) f.instance_requests[r] += k->stats().instance_requests[r];
    f.instances_opened += k->stats().instances_opened;
    f.instances_closed += k->stats().instances_closed;
  }
  if (const Coordinator* leader = coordinator()) f.instances_active = leader->instances_active();
  for (const Gateway* g : gateways_) {
    if (!g) continue;
    f.inputs_forwarded += g->stats().inputs_forwarded;
    f.updates_sent += g->stats().updates_sent;
    f.view_entities += g->stats().view_entities;
    f.changes_deferred += g->stats().changes_deferred;
    f.protocol_errors += g->stats().protocol_errors;
    for (size_t r = 0; r < kInputRejectionKinds; ++r) f.inputs_rejected[r] += g->stats().inputs_rejected[r];
    f.rejected_closed += g->stats().rejected_closed;
    f.sessions_kicked += g->stats().sessions_kicked;
    if (const accounts::AccountService* a = g->accounts()) {
      f.accounts_registered += a->stats().registered;
      f.account_logins += a->stats().logins;
    }
    for (uint64_t n : g->stats().hellos_refused) f.hellos_refused += n;
    f.resume_only_admitted += g->stats().resume_only_admitted;
    f.saves_loaded += g->stats().saves_loaded;
    f.saves_absent += g->stats().saves_absent;
    f.saves_unreadable += g->stats().saves_unreadable;
  }
  for (const BotClient* b : bots_) {
    if (!b) continue;
    f.bot_bytes_received += b->stats().bytes_received;
    (b->cheating() ? f.bots_kicked_cheating : f.bots_kicked_honest) += b->stats().kicked;
    f.bot_updates += b->stats().updates_received;
    f.bots_playing += b->playing() ? 1 : 0;
    // Moving between gateways, a cheater rejoining after its kick, or logging back in: on its way, not left out.
    f.bots_between_gateways += !b->playing() && (b->between_gateways() || b->rejoining_after_kick() || b->relogging()) ? 1 : 0;
    ++f.bots_alive;
    f.bot_resumes += b->stats().resumes;
    f.bot_redirects += b->stats().redirects;
    f.bot_logins += b->stats().logins;
    f.bot_relogs += b->stats().relogs;
    f.bot_auth_refused += b->stats().auth_refused;
    f.protocol_errors += b->stats().protocol_errors;
  }
  for (const Coordinator* c : coordinators_) {
    if (c) f.protocol_errors += c->stats().protocol_errors;
  }
  return f;
}

}  // namespace aether::app
