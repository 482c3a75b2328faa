#include "engine/wire/codec.h"

#include <fmt/format.h>

#include "engine/wire/state_codec.h"
#include "wire.pb.h"

namespace aether {

namespace {

// --- engine -> wire -------------------------------------------------------------------------

void to_wire(Vec2 v, wire::Vec2* out) {
  out->set_x_mm(v.x_mm);
  out->set_y_mm(v.y_mm);
}

// The canonical encoding (engine/wire/state_codec.h) as a protobuf `bytes` value.
std::string canonical(const EntityState& s) {
  const std::vector<uint8_t> bytes = pack_state(s);
  return std::string(bytes.begin(), bytes.end());
}
void put_save(const CharacterSave& save, std::string* out) {
  const std::vector<uint8_t> bytes = encode_character_save(save);
  out->assign(bytes.begin(), bytes.end());
}
std::string canonical_list(std::span<const EntityState> states) {
  const std::vector<uint8_t> bytes = pack_states(states);
  return std::string(bytes.begin(), bytes.end());
}

void to_wire(const ClientInput& in, wire::ClientInput* out) {
  out->set_seq(in.seq);
  out->set_move_x(in.move_x);
  out->set_move_y(in.move_y);
  out->set_target(in.target.value);
  out->set_skill(in.skill);
}

std::vector<uint8_t> serialize(const google::protobuf::MessageLite& m) {
  std::vector<uint8_t> bytes(m.ByteSizeLong());
  m.SerializeWithCachedSizesToArray(bytes.data());
  return bytes;
}

struct ServerBodyEncoder {
  wire::ServerEnvelope* env;
  void operator()(const Hello& m) const {
    auto* h = env->mutable_hello();
    h->set_role(static_cast<uint32_t>(m.role));
    h->set_data_address(m.data_address);
    h->set_capacity_entities(m.capacity_entities);
    h->set_incarnation(m.incarnation);
    h->set_content_hash(m.content_hash);
  }
  void operator()(const Heartbeat& m) const {
    auto* h = env->mutable_heartbeat();
    h->set_seq(m.seq);
    h->set_entities(m.entities);
    h->set_tick_ns_p99(m.tick_ns_p99);
    h->set_load_permille(m.load_permille);
    h->set_input_queue_depth(m.input_queue_depth);
    h->set_hard_permille(m.hard_permille);
    h->set_soft_permille(m.soft_permille);
    h->set_opportunistic_permille(m.opportunistic_permille);
    h->set_table_version_seen(m.table_version_seen);
    h->set_holdings_count(m.holdings_digest_count);
    h->set_holdings_digest(m.holdings_digest);
    h->set_fence_applied(m.fence_applied);
    h->set_clock_untrusted(m.clock_untrusted);
    h->set_load_level(m.load_level);
    h->set_draining(m.draining);
  }
  void operator()(const SpawnRequest& m) const {
    auto* r = env->mutable_spawn_request();
    r->set_session(m.session.value);
    r->set_resume_entity(m.resume_entity.value);
    r->set_resume_token(m.resume_token);
    r->set_character(m.character.value);
    r->set_class_id(m.class_id);
    r->set_resume_only(m.resume_only);
    if (m.save.character.valid()) put_save(m.save, r->mutable_character_save());
  }
  void operator()(const SessionMoved& m) const {
    auto* r = env->mutable_session_moved();
    r->set_entity(m.entity.value);
    r->set_gateway(m.gateway.value);
    r->set_session(m.session.value);
  }
  void operator()(const SpawnReply& m) const {
    auto* r = env->mutable_spawn_reply();
    r->set_session(m.session.value);
    r->set_entity(m.entity.value);
    r->set_owner(m.owner.value);
    r->set_owner_address(m.owner_address);
    r->set_refusal(m.refusal);
    r->set_resume_token(m.resume_token);
    r->set_retry_later(m.retry_later);
    r->set_save_pending(m.save_pending);
  }
  void operator()(const OwnershipGrant& m) const {
    auto* g = env->mutable_grant();
    g->set_entity(m.entity.value);
    g->set_generation(m.generation);
    g->set_gateway(m.gateway.value);
    g->set_session(m.session.value);
    to_wire(m.spawn_pos, g->mutable_spawn_pos());
    g->set_team(m.team);
    if (m.recover) g->set_recover(canonical(*m.recover));
    g->set_migrate(m.migrate);
    g->set_released_generation(m.released_generation);
    g->set_class_id(m.class_id);
    g->set_npc_spawner(m.npc_spawner);
    g->set_encounter_open(m.encounter_open);
    g->set_npc_party(m.npc_party);
    if (m.save.character.valid()) put_save(m.save, g->mutable_character_save());
  }
  void operator()(const AdminRequest& m) const {
    auto* r = env->mutable_admin();
    using C = AdminRequest::Command;
    switch (m.command) {
      case C::kListNodes: r->set_list_nodes(true); break;
      case C::kShowEntity: r->set_show_entity(m.entity.value); break;
      case C::kMove:
        r->mutable_move()->set_entity(m.entity.value);
        r->mutable_move()->set_to(m.node.value);
        break;
      case C::kDrain: r->set_drain(m.node.value); break;
      case C::kFailover: r->set_failover(true); break;
      case C::kGhostQuery: r->set_ghost_query(m.entity.value); break;
      case C::kDebug: {
        auto* d = r->mutable_debug();
        for (EntityId e : m.debug.entities) d->add_entities(e.value);
        for (NodeId n : m.debug.nodes) d->add_nodes(n.value);
        d->set_off(m.debug.off);
        d->set_whole_set(m.debug.whole_set);
        break;
      }
    }
  }
  void operator()(const AdminReply& m) const {
    auto* r = env->mutable_admin_reply();
    r->set_ok(m.ok);
    for (const auto& line : m.lines) r->add_lines(line);
  }
  void operator()(const Release& m) const {
    auto* r = env->mutable_release();
    r->set_entity(m.entity.value);
    r->set_generation(m.generation);
    r->set_to(m.to.value);
  }
  void operator()(const Released& m) const {
    auto* r = env->mutable_released();
    r->set_entity(m.entity.value);
    r->set_generation(m.generation);
    r->set_state(canonical(m.state));
  }
  void operator()(const Handoff& m) const {
    auto* h = env->mutable_handoff();
    h->set_state(canonical(m.state));
    for (const auto& in : m.inputs) {
      auto* w = h->add_inputs();
      w->set_entity(in.entity.value);
      to_wire(in.input, w->mutable_input());
    }
  }
  void operator()(const ReplicaAck& m) const {
    env->mutable_replica_ack()->set_version(m.version);
    env->mutable_replica_ack()->set_batch(m.batch);
  }
  void operator()(const EncounterRequest& m) const {
    auto* r = env->mutable_encounter_request();
    r->set_challenger(m.challenger.value);
    r->set_target(m.target.value);
    r->set_x_mm(m.pos.x_mm);
    r->set_y_mm(m.pos.y_mm);
    r->set_ended(m.ended.value);
  }
  void operator()(const InstanceRequest& m) const {
    auto* r = env->mutable_instance_request();
    r->set_entity(m.entity.value);
    r->set_portal(m.portal);
  }
  void operator()(const LogoutSaved& m) const {
    auto* l = env->mutable_logout_saved();
    l->set_character(m.character.value);
    l->set_life(m.life);
  }
  void operator()(const InstanceAnswer& m) const {
    auto* a = env->mutable_instance_answer();
    a->set_entity(m.entity.value);
    a->set_portal(m.portal);
    a->set_slot(m.slot);
    a->set_refused(m.refused);
  }
  void operator()(const AvatarHud& m) const {
    auto* h = env->mutable_avatar_hud();
    h->set_entity(m.entity.value);
    for (size_t i = 0; i < m.items.size(); ++i) h->add_items(m.items[i]);
    h->set_encounter(m.encounter.value);
    h->set_round(m.round);
    h->set_turn(m.turn);
    h->set_actor(m.actor);
    h->set_turn_ticks_left(m.turn_ticks_left);
    for (size_t i = 0; i < m.seats.size(); ++i) {
      h->add_seat_entities(m.seats[i].entity.value);
      h->add_seat_teams(m.seats[i].team);
    }
  }
  void operator()(const SessionKick& m) const {
    auto* k = env->mutable_session_kick();
    k->set_entity(m.entity.value);
    k->set_reason(m.reason);
  }
  void operator()(const OrphanQuery& m) const {
    auto* q = env->mutable_orphan_query();
    q->set_version(m.version);
    for (EntityId id : m.entities) q->add_entities(id.value);
  }
  void operator()(const ClockProbe& m) const {
    env->mutable_clock_probe()->set_sent_ns(m.sent_ns);
    env->mutable_clock_probe()->set_answer_clock_ns(m.answer_clock_ns);
  }
  void operator()(const Evicted& m) const { env->mutable_evicted()->set_fence(m.fence); }
  void operator()(const Leadership& m) const { env->mutable_leadership()->set_leader(m.leader); }
  void operator()(const Prepare& m) const {
    env->mutable_prepare()->set_question(m.question);
    env->mutable_prepare()->set_leader(m.leader);
    env->mutable_prepare()->set_incarnation(m.incarnation);
  }
  void operator()(const Promise& m) const {
    auto* out = env->mutable_promise();
    out->set_answers(m.answers);
    out->set_previous_epoch(m.previous_epoch);
    out->set_table_version_seen(m.table_version_seen);
    for (const LogoutSaved& owed : m.logout_saves_owed) {
      auto* w = out->add_logout_saves_owed();
      w->set_character(owed.character.value);
      w->set_life(owed.life);
    }
    for (const auto& h : m.holdings) {
      auto* w = out->add_holdings();
      w->set_entity(h.entity.value);
      w->set_generation(h.generation);
      w->set_gateway(h.gateway.value);
      w->set_session(h.session.value);
    }
  }
  void operator()(const Replicate& m) const {
    auto* out = env->mutable_replicate();
    out->set_full(m.full);
    out->set_more(m.more);
    for (const auto& e : m.entries) {
      auto* w = out->add_entries();
      w->set_entity(e.entity.value);
      w->set_owner(e.owner.value);
      w->set_generation(e.generation);
      w->set_gateway(e.gateway.value);
      w->set_session(e.session.value);
      w->set_snapshot(canonical(e.snapshot));
      w->set_resume_token(e.resume_token);
      w->set_detached(e.detached);
    }
    for (auto id : m.erased) out->add_erased(id.value);
    for (const auto& n : m.nodes) {
      auto* w = out->add_nodes();
      w->set_node(n.node.value);
      w->set_role(static_cast<uint32_t>(n.role));
      w->set_data_address(n.data_address);
      w->set_capacity(n.capacity);
      w->set_lost(n.lost);
      w->set_drained_by_operator(n.drained_by_operator);
    }
    out->set_version(m.version);
    out->set_leader_clock_ns(m.leader_clock_ns);
    out->set_batch(m.batch);
  }
  void operator()(const HeartbeatAck& m) const {
    env->mutable_heartbeat_ack()->set_seq(m.seq);
    env->mutable_heartbeat_ack()->set_version(m.version);
    env->mutable_heartbeat_ack()->set_leader_clock_ns(m.leader_clock_ns);
  }
  void operator()(const Snapshot& m) const {
    auto* out = env->mutable_snapshot();
    out->set_states(canonical_list(m.states));
  }
  void operator()(const OwnerChanged& m) const {
    auto* out = env->mutable_owner_changed();
    out->set_entity(m.entity.value);
    out->set_owner(m.owner.value);
    out->set_owner_address(m.owner_address);
  }
  void operator()(const OwnershipRevoke& m) const {
    auto* r = env->mutable_revoke();
    r->set_entity(m.entity.value);
    r->set_generation(m.generation);
    r->set_fence(m.fence);
  }
  void operator()(const SessionClosed& m) const {
    auto* s = env->mutable_session_closed();
    s->set_session(m.session.value);
    s->set_entity(m.entity.value);
    s->set_detached(m.detached);
  }
  void operator()(const GatewayRoutes& m) const {
    auto* out = env->mutable_gateway_routes();
    out->set_version(m.version);
    out->set_arena_mm(m.arena_mm);
    for (const GatewayRoute& r : m.routes) {
      auto* route = out->add_routes();
      route->set_gateway(r.gateway.value);
      route->set_address(r.address);
      route->set_begin(r.begin);
      route->set_end(r.end);
    }
  }
  void operator()(const InputForward& m) const {
    auto* f = env->mutable_input();
    f->set_entity(m.entity.value);
    to_wire(m.input, f->mutable_input());
  }
  void operator()(const Membership& m) const {
    auto* out = env->mutable_membership();
    for (const auto& p : m.peers) {
      auto* peer = out->add_peers();
      peer->set_node(p.node.value);
      peer->set_address(p.address);
    }
    for (const auto& r : m.regions) {
      auto* region = out->add_regions();
      region->set_node(r.node.value);
      region->set_begin(r.begin);
      region->set_end(r.end);
    }
  }
  void operator()(const Subscribe& m) const {
    auto* out = env->mutable_subscribe();
    for (const auto& c : m.cells) {
      auto* cell = out->add_cells();
      cell->set_cx(c.cx);
      cell->set_cy(c.cy);
    }
  }
  void operator()(const RemoteIntent& m) const {
    auto* out = env->mutable_intent();
    out->set_source(m.source.value);
    out->set_target(m.target.value);
    out->set_origin(m.key.origin.value);
    out->set_origin_incarnation(m.key.incarnation);
    out->set_origin_tick(m.key.tick);
    out->set_seq(m.key.seq);
    out->set_skill(m.skill);
    std::visit(
        [&](const auto& a) {
          using A = std::decay_t<decltype(a)>;
          if constexpr (std::is_same_v<A, intent::Damage>) out->set_damage(a.amount);
          else if constexpr (std::is_same_v<A, intent::Heal>) out->set_heal(a.amount);
          else if constexpr (std::is_same_v<A, intent::ApplyEffect>) out->set_apply_effect(a.effect);
          else if constexpr (std::is_same_v<A, intent::Interrupt>) out->set_interrupt(true);
          else if constexpr (std::is_same_v<A, intent::Experience>) out->set_experience(static_cast<uint32_t>(a.amount));
          else if constexpr (std::is_same_v<A, intent::Loot>) out->set_loot(a.item);
          else if constexpr (std::is_same_v<A, intent::EncounterTurn>) {
            out->mutable_encounter_turn()->set_round(a.round);
            out->mutable_encounter_turn()->set_turn(a.turn);
          } else out->set_dispel(a.count);
        },
        m.action);
  }
  void operator()(const DeltaBatch& m) const {
    auto* d = env->mutable_deltas();
    AETHER_ASSERT_MSG(m.packed_states.empty() || m.states.empty(), "a batch carries its states packed or not, never both");
    if (m.packed_states.empty()) {
      d->set_states(canonical_list(m.states));
    } else {
      d->set_states(m.packed_states.data(), m.packed_states.size());
    }
    for (auto id : m.removed) d->add_removed(id.value);
    d->set_reset(m.reset);
  }
};

// --- wire -> engine, validating -------------------------------------------------------------

Error malformed(std::string what) { return make_error(Error::Code::kMalformed, std::move(what)); }

bool coordinate_ok(const wire::Vec2& v) {
  return v.x_mm() >= -kCoordinateMmMax && v.x_mm() <= kCoordinateMmMax && v.y_mm() >= -kCoordinateMmMax &&
         v.y_mm() <= kCoordinateMmMax;
}

Vec2 from_wire(const wire::Vec2& v) { return Vec2{v.x_mm(), v.y_mm()}; }

Result<ClientInput> from_wire(const wire::ClientInput& in) {
  if (in.move_x() < -kMovePermilleMax || in.move_x() > kMovePermilleMax || in.move_y() < -kMovePermilleMax ||
      in.move_y() > kMovePermilleMax) {
    return malformed(fmt::format("input {} move ({}, {}) out of [-1000, 1000]", in.seq(), in.move_x(), in.move_y()));
  }
  if (in.skill() > kInputSkillSlotMax) return malformed(fmt::format("input {} skill slot {} past {}", in.seq(), in.skill(), kInputSkillSlotMax));
  return ClientInput{in.seq(), in.move_x(), in.move_y(), EntityId(in.target()), static_cast<uint8_t>(in.skill())};
}

template <class Proto>
bool parse(Proto& m, std::span<const uint8_t> bytes) {
  if (bytes.size() > static_cast<size_t>(INT32_MAX)) return false;
  return m.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

Result<ServerBody> decode_body(const wire::ServerEnvelope& env);

// A character save from a protobuf `bytes` value: null, or what is wrong with it.
const char* get_save(const std::string& bytes, CharacterSave& out) {
  const char* error = "malformed character save";
  if (!decode_character_save({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, out, &error)) return error;
  if (out.life == 0) return "character save of life 0";
  return nullptr;
}

// A canonical state from a protobuf `bytes` value, validated.
Result<EntityState> from_canonical(const std::string& bytes, const char* what) {
  EntityState s;
  const char* error = nullptr;
  if (!unpack_state({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, s, &error)) {
    return malformed(fmt::format("{}: {}", what, error));
  }
  return s;
}
Result<std::vector<EntityState>> from_canonical_list(const std::string& bytes, const char* what) {
  std::vector<EntityState> out;
  const char* error = nullptr;
  if (!unpack_states({reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()}, kBatchEntitiesMax, out, &error)) {
    return malformed(fmt::format("{}: {}", what, error));
  }
  return out;
}

Result<ServerBody> decode_deltas(const wire::DeltaBatch& d) {
  if (static_cast<size_t>(d.removed_size()) > kBatchEntitiesMax) {
    return malformed(fmt::format("delta batch of {} removals exceeds {}", d.removed_size(), kBatchEntitiesMax));
  }
  DeltaBatch out;
  out.reset = d.reset();
  auto states = from_canonical_list(d.states(), "delta batch");
  if (!states) return states.error();
  out.states = std::move(states.value());
  out.removed.reserve(static_cast<size_t>(d.removed_size()));
  for (auto id : d.removed()) {
    if (id == 0) return malformed("delta batch removes entity 0");
    out.removed.push_back(EntityId(id));
  }
  return ServerBody{std::move(out)};
}

// A table version is epoch << 32 | count: its epoch part is a real epoch (below kEpochAdmin).
bool plausible_version(uint64_t version) { return (version >> 32) < static_cast<uint64_t>(kEpochAdmin); }

Result<ServerBody> decode_replicate(const wire::Replicate& r) {
  if (static_cast<size_t>(r.entries_size()) > kBatchEntitiesMax || static_cast<size_t>(r.erased_size()) > kBatchEntitiesMax ||
      static_cast<size_t>(r.nodes_size()) > kMembershipPeersMax) {
    return malformed("replication message too large");
  }
  if (!plausible_version(r.version())) return malformed("replication with an impossible table version");
  Replicate out;
  out.full = r.full();
  out.more = r.more();
  out.version = r.version();
  out.leader_clock_ns = r.leader_clock_ns();
  out.batch = r.batch();
  for (const auto& e : r.entries()) {
    if (e.entity() == 0) return malformed("replicated entity 0");
    auto st = from_canonical(e.snapshot(), "replicated state");
    if (!st) return st.error();
    out.entries.push_back(ReplicaEntry{EntityId(e.entity()), NodeId(e.owner()), e.generation(), NodeId(e.gateway()),
                                       SessionId(e.session()), st.value(), e.resume_token(), e.detached()});
  }
  for (auto id : r.erased()) out.erased.push_back(EntityId(id));
  for (const auto& n : r.nodes()) {
    if (n.node() == 0 || n.role() > 4 || n.data_address().size() > kAddressBytesMax) return malformed("replicated node invalid");
    out.nodes.push_back(ReplicaNode{NodeId(n.node()), static_cast<Role>(n.role()), n.data_address(), n.capacity(), n.lost(),
                                    n.drained_by_operator()});
  }
  return ServerBody{std::move(out)};
}

Result<ServerBody> decode_body(const wire::ServerEnvelope& env) {
  using B = wire::ServerEnvelope;
  switch (env.body_case()) {
    case B::kHello: {
      const auto& h = env.hello();
      if (h.role() < 1 || h.role() > 4) return malformed(fmt::format("hello with unknown role {}", h.role()));
      if (h.data_address().size() > kAddressBytesMax) return malformed("hello address too long");
      return ServerBody{Hello{static_cast<Role>(h.role()), h.data_address(), h.capacity_entities(), h.incarnation(), h.content_hash()}};
    }
    case B::kHeartbeat: {
      const auto& h = env.heartbeat();
      Heartbeat out{h.seq(), h.entities(), h.tick_ns_p99(), h.load_permille(), h.input_queue_depth(),
                    h.hard_permille(), h.soft_permille(), h.opportunistic_permille(), h.table_version_seen(),
                    h.holdings_count(), h.holdings_digest(), h.fence_applied(), h.clock_untrusted()};
      if (h.load_level() > kLoadLevelMax) return malformed(fmt::format("heartbeat with unknown load level {}", h.load_level()));
      out.load_level = static_cast<uint8_t>(h.load_level());
      out.draining = h.draining();
      if (!plausible_version(out.table_version_seen)) return malformed("heartbeat with an impossible table version");
      return ServerBody{std::move(out)};
    }
    case B::kSpawnRequest:
      if (env.spawn_request().session() == 0) return malformed("spawn request for session 0");
      if (env.spawn_request().class_id() > UINT16_MAX) return malformed("spawn request class out of range");
    {
      SpawnRequest out{SessionId(env.spawn_request().session()), EntityId(env.spawn_request().resume_entity()),
                       env.spawn_request().resume_token(), CharacterId(env.spawn_request().character()),
                       env.spawn_request().class_id(), env.spawn_request().resume_only()};
      if (!env.spawn_request().character_save().empty()) {
        if (const char* bad = get_save(env.spawn_request().character_save(), out.save)) return malformed(fmt::format("spawn request: {}", bad));
        if (out.save.character != out.character) return malformed("spawn request saves another character");
      }
      return ServerBody{std::move(out)};
    }
    case B::kAdmin: {
      const auto& a = env.admin();
      using C = AdminRequest::Command;
      using W = wire::AdminRequest;
      switch (a.command_case()) {
        case W::kListNodes: return ServerBody{AdminRequest{C::kListNodes, {}, {}}};
        case W::kShowEntity: return ServerBody{AdminRequest{C::kShowEntity, EntityId(a.show_entity()), {}}};
        case W::kMove: return ServerBody{AdminRequest{C::kMove, EntityId(a.move().entity()), NodeId(a.move().to())}};
        case W::kDrain: return ServerBody{AdminRequest{C::kDrain, {}, NodeId(a.drain())}};
        case W::kFailover: return ServerBody{AdminRequest{C::kFailover, {}, {}}};
        case W::kGhostQuery: return ServerBody{AdminRequest{C::kGhostQuery, EntityId(a.ghost_query()), {}}};
        case W::kDebug: {
          const auto& d = a.debug();
          if (static_cast<size_t>(d.entities_size()) > kDebugEntitiesMax || static_cast<size_t>(d.nodes_size()) > kDebugNodesMax) {
            return malformed("debug request names too many entities or nodes");
          }
          AdminRequest req{C::kDebug, {}, {}};
          for (uint64_t e : d.entities()) {
            if (e == 0) return malformed("debug request for entity 0");
            req.debug.entities.push_back(EntityId(e));
          }
          for (uint32_t n : d.nodes()) {
            if (n == 0) return malformed("debug request for node 0");
            req.debug.nodes.push_back(NodeId(n));
          }
          req.debug.off = d.off();
          req.debug.whole_set = d.whole_set();
          return ServerBody{std::move(req)};
        }
        case W::COMMAND_NOT_SET: break;
      }
      return malformed("admin request without a command");
    }
    case B::kOrphanQuery: {
      const auto& q = env.orphan_query();
      if (!plausible_version(q.version())) return malformed("orphan query with an impossible table version");
      if (static_cast<size_t>(q.entities_size()) > kBatchEntitiesMax) return malformed("orphan query too large");
      OrphanQuery out{q.version(), {}};
      for (uint64_t id : q.entities()) {
        if (id == 0) return malformed("orphan query for entity 0");
        out.entities.push_back(EntityId(id));
      }
      return ServerBody{std::move(out)};
    }
    case B::kEncounterRequest: {
      const auto& r = env.encounter_request();
      const Vec2 pos{r.x_mm(), r.y_mm()};
      if (r.ended() != 0) {
        if (r.challenger() != 0 || r.target() != 0 || r.x_mm() != 0 || r.y_mm() != 0) return malformed("encounter close naming participants or a place");
        return ServerBody{EncounterRequest{EntityId{}, EntityId{}, Vec2{}, EntityId(r.ended())}};
      }
      if (r.challenger() == 0 || r.target() == 0 || r.challenger() == r.target()) return malformed("encounter request without two participants");
      if (pos.x_mm < -kCoordinateMmMax || pos.x_mm > kCoordinateMmMax || pos.y_mm < -kCoordinateMmMax || pos.y_mm > kCoordinateMmMax) {
        return malformed("encounter request position out of range");
      }
      return ServerBody{EncounterRequest{EntityId(r.challenger()), EntityId(r.target()), pos, EntityId{}}};
    }
    case B::kInstanceRequest: {
      const auto& r = env.instance_request();
      if (r.entity() == 0 || r.portal() == 0 || r.portal() > UINT16_MAX) return malformed("instance request without an entity or a portal");
      return ServerBody{InstanceRequest{EntityId(r.entity()), static_cast<uint16_t>(r.portal())}};
    }
    case B::kInstanceAnswer: {
      const auto& a = env.instance_answer();
      if (a.entity() == 0 || a.portal() == 0 || a.portal() > UINT16_MAX) return malformed("instance answer without an entity or a portal");
      if (a.slot() >= kInstanceSlotsMax || (a.refused() && a.slot() != 0)) return malformed("instance answer slot out of range");
      return ServerBody{InstanceAnswer{EntityId(a.entity()), static_cast<uint16_t>(a.portal()), a.slot(), a.refused()}};
    }
    case B::kLogoutSaved: {
      const auto& l = env.logout_saved();
      if (l.character() == 0 || l.life() == 0 || l.life() >= kSaveLifeMax) return malformed("logout saved without a character or a life");
      return ServerBody{LogoutSaved{CharacterId(l.character()), l.life()}};
    }
    case B::kAvatarHud: {
      const auto& h = env.avatar_hud();
      if (h.entity() == 0) return malformed("avatar hud for entity 0");
      if (static_cast<size_t>(h.items_size()) > kInventoryItemsMax) return malformed("avatar hud with too many items");
      AvatarHud hud;
      hud.entity = EntityId(h.entity());
      for (uint32_t kind : h.items()) {
        if (kind == 0 || kind > UINT16_MAX) return malformed("avatar hud item kind out of range");
        hud.items.push_back(static_cast<uint16_t>(kind));
      }
      if (h.encounter() == 0) {
        if (h.round() != 0 || h.turn() != 0 || h.actor() != 0 || h.turn_ticks_left() != 0 || h.seat_entities_size() != 0 || h.seat_teams_size() != 0) {
          return malformed("avatar hud with a turn but no encounter");
        }
        return ServerBody{hud};
      }
      if (h.seat_entities_size() != h.seat_teams_size()) return malformed("avatar hud seats and teams differ in number");
      if (h.seat_entities_size() == 0 || static_cast<size_t>(h.seat_entities_size()) > kEncounterSeatsMax) return malformed("avatar hud seat count out of range");
      if (h.actor() >= static_cast<uint32_t>(h.seat_entities_size())) return malformed("avatar hud actor past the seats");
      if (h.round() == 0 || h.round() > kEncounterRoundsMax) return malformed("avatar hud round out of range");
      hud.encounter = EntityId(h.encounter());
      hud.round = h.round();
      hud.turn = h.turn();
      hud.actor = h.actor();
      hud.turn_ticks_left = h.turn_ticks_left();
      for (int i = 0; i < h.seat_entities_size(); ++i) {
        if (h.seat_entities(i) == 0) return malformed("avatar hud seat of entity 0");
        hud.seats.push_back(EncounterSeat{EntityId(h.seat_entities(i)), h.seat_teams(i), 0});
      }
      return ServerBody{hud};
    }
    case B::kSessionKick: {
      const auto& k = env.session_kick();
      if (k.entity() == 0) return malformed("session kick for entity 0");
      if (k.reason().size() > kKickReasonBytesMax) return malformed("session kick reason too long");
      return ServerBody{SessionKick{EntityId(k.entity()), k.reason()}};
    }
    case B::kReplicaAck:
      if (!plausible_version(env.replica_ack().version())) return malformed("replica ack with an impossible table version");
      return ServerBody{ReplicaAck{env.replica_ack().version(), env.replica_ack().batch()}};
    case B::kClockProbe:
      if (env.clock_probe().sent_ns() < 0 || env.clock_probe().answer_clock_ns() < 0) return malformed("clock probe with a negative time");
      return ServerBody{ClockProbe{env.clock_probe().sent_ns(), env.clock_probe().answer_clock_ns()}};
    case B::kAdminReply: {
      if (static_cast<size_t>(env.admin_reply().lines_size()) > kAdminReplyLinesMax) return malformed("admin reply too long");
      AdminReply out{env.admin_reply().ok(), {}};
      for (const auto& line : env.admin_reply().lines()) out.lines.push_back(line);
      return ServerBody{std::move(out)};
    }
    case B::kRelease:
      if (env.release().entity() == 0 || env.release().to() == 0) return malformed("release invalid");
      return ServerBody{Release{EntityId(env.release().entity()), env.release().generation(), NodeId(env.release().to())}};
    case B::kReleased:
      if (env.released().entity() == 0) return malformed("released entity 0");
    {
      auto st = from_canonical(env.released().state(), "released state");
      if (!st) return st.error();
      if (st.value().id != EntityId(env.released().entity())) return malformed("released state of another entity");
      return ServerBody{Released{EntityId(env.released().entity()), env.released().generation(), st.value()}};
    }
    case B::kHandoff: {
      const auto& h = env.handoff();
      auto st = from_canonical(h.state(), "handoff state");
      if (!st) return st.error();
      if (static_cast<size_t>(h.inputs_size()) > kHandoffInputsMax) return malformed("handoff carries too many inputs");
      Handoff out{st.value(), {}};
      for (const auto& w : h.inputs()) {
        auto in = from_wire(w.input());
        if (!in) return in.error();
        if (EntityId(w.entity()) != st->id) return malformed("handoff input for another entity");
        out.inputs.push_back(InputForward{st->id, in.value()});
      }
      return ServerBody{std::move(out)};
    }
    case B::kSessionMoved: {
      const auto& mv = env.session_moved();
      if (mv.entity() == 0 || mv.gateway() == 0 || mv.session() == 0) return malformed("session move invalid");
      return ServerBody{SessionMoved{EntityId(mv.entity()), NodeId(mv.gateway()), SessionId(mv.session())}};
    }
    case B::kSpawnReply: {
      const auto& r = env.spawn_reply();
      if (r.owner_address().size() > kAddressBytesMax || r.refusal().size() > kReasonBytesMax) {
        return malformed("spawn reply strings too long");
      }
      return ServerBody{
          SpawnReply{SessionId(r.session()), EntityId(r.entity()), NodeId(r.owner()), r.owner_address(), r.refusal(), r.resume_token(),
                     r.retry_later(), r.save_pending()}};
    }
    case B::kGrant: {
      const auto& g = env.grant();
      if (g.entity() == 0) return malformed("grant of entity 0");
      if (!coordinate_ok(g.spawn_pos())) return malformed("grant spawn position out of range");
      OwnershipGrant out{EntityId(g.entity()), g.generation(), NodeId(g.gateway()), SessionId(g.session()), from_wire(g.spawn_pos()),
                         g.team(), std::nullopt, g.migrate(), g.released_generation()};
      if (g.class_id() > UINT16_MAX) return malformed("grant class out of range");
      out.class_id = static_cast<uint16_t>(g.class_id());
      if (g.npc_spawner() > UINT16_MAX) return malformed("grant spawner out of range");
      out.npc_spawner = static_cast<uint16_t>(g.npc_spawner());
      out.encounter_open = g.encounter_open();
      out.npc_party = g.npc_party();
      if (out.npc_party != 0 && out.npc_spawner == 0) return malformed("grant of an instance party without an NPC");
      if (!g.recover().empty()) {
        auto st = from_canonical(g.recover(), "grant's recovery state");
        if (!st) return st.error();
        if (st->id != out.entity) return malformed("grant recovers another entity's state");
        out.recover = st.value();
      }
      if (!g.character_save().empty()) {
        if (const char* bad = get_save(g.character_save(), out.save)) return malformed(fmt::format("grant: {}", bad));
      }
      if (out.encounter_open && (!out.recover || out.recover->kind != kEntityKindEncounter || out.migrate)) {
        return malformed("encounter grant without an encounter's first state");
      }
      return ServerBody{std::move(out)};
    }
    case B::kRevoke:
      if (env.revoke().entity() == 0) return malformed("revoke of entity 0");
      return ServerBody{OwnershipRevoke{EntityId(env.revoke().entity()), env.revoke().generation(), env.revoke().fence()}};
    case B::kSessionClosed:
      return ServerBody{SessionClosed{SessionId(env.session_closed().session()), EntityId(env.session_closed().entity()),
                                      env.session_closed().detached()}};
    case B::kGatewayRoutes: {
      const auto& g = env.gateway_routes();
      // Shape only here; that the ranges cover the curve is checked by RegionMap::adopt.
      if (g.arena_mm() <= 0 || static_cast<size_t>(g.routes_size()) > kGatewayRoutesMax) return malformed("gateway routes invalid");
      GatewayRoutes out{g.version(), g.arena_mm(), {}};
      for (const auto& r : g.routes()) {
        if (r.gateway() == 0 || r.address().empty() || r.address().size() > kAddressBytesMax || r.begin() >= r.end()) {
          return malformed("gateway route invalid");
        }
        out.routes.push_back(GatewayRoute{NodeId(r.gateway()), r.address(), r.begin(), r.end()});
      }
      return ServerBody{std::move(out)};
    }
    case B::kInput: {
      if (env.input().entity() == 0) return malformed("input for entity 0");
      auto in = from_wire(env.input().input());
      if (!in) return in.error();
      return ServerBody{InputForward{EntityId(env.input().entity()), in.value()}};
    }
    case B::kDeltas:
      return decode_deltas(env.deltas());
    case B::kEvicted:
      return ServerBody{Evicted{env.evicted().fence()}};
    case B::kLeadership:
      return ServerBody{Leadership{env.leadership().leader()}};
    case B::kPrepare:
      return ServerBody{Prepare{env.prepare().question(), env.prepare().leader(), env.prepare().incarnation()}};
    case B::kPromise: {
      if (static_cast<size_t>(env.promise().holdings_size()) > kBatchEntitiesMax * 4) return malformed("promise too large");
      Promise out;
      out.answers = env.promise().answers();
      if (env.promise().previous_epoch() > kEpochAdmin) return malformed("promise with an impossible previous epoch");
      out.previous_epoch = static_cast<Epoch>(env.promise().previous_epoch());
      if (!plausible_version(env.promise().table_version_seen())) return malformed("promise with an impossible table version");
      out.table_version_seen = env.promise().table_version_seen();
      for (const auto& h : env.promise().holdings()) {
        if (h.entity() == 0) return malformed("promise holds entity 0");
        out.holdings.push_back(Holding{EntityId(h.entity()), h.generation(), NodeId(h.gateway()), SessionId(h.session())});
      }
      if (static_cast<size_t>(env.promise().logout_saves_owed_size()) > kPromiseLogoutSavesMax) return malformed("promise owes too many log-out saves");
      for (const auto& l : env.promise().logout_saves_owed()) {
        if (l.character() == 0 || l.life() == 0 || l.life() >= kSaveLifeMax) return malformed("promise owes a log-out save without a character or a life");
        out.logout_saves_owed.push_back(LogoutSaved{CharacterId(l.character()), l.life()});
      }
      return ServerBody{std::move(out)};
    }
    case B::kReplicate:
      return decode_replicate(env.replicate());
    case B::kHeartbeatAck:
      if (!plausible_version(env.heartbeat_ack().version())) return malformed("heartbeat ack with an impossible table version");
      return ServerBody{HeartbeatAck{env.heartbeat_ack().seq(), env.heartbeat_ack().version(), env.heartbeat_ack().leader_clock_ns()}};
    case B::kSnapshot: {
      auto states = from_canonical_list(env.snapshot().states(), "snapshot");
      if (!states) return states.error();
      return ServerBody{Snapshot{std::move(states.value())}};
    }
    case B::kOwnerChanged: {
      const auto& o = env.owner_changed();
      if (o.entity() == 0 || o.owner() == 0 || o.owner_address().empty() || o.owner_address().size() > kAddressBytesMax) {
        return malformed("owner change invalid");
      }
      return ServerBody{OwnerChanged{EntityId(o.entity()), NodeId(o.owner()), o.owner_address()}};
    }
    case B::kMembership: {
      if (static_cast<size_t>(env.membership().peers_size()) > kMembershipPeersMax ||
          static_cast<size_t>(env.membership().regions_size()) > kMembershipPeersMax) {
        return malformed("membership too large");
      }
      Membership out;
      for (const auto& p : env.membership().peers()) {
        if (p.node() == 0 || p.address().empty() || p.address().size() > kAddressBytesMax) return malformed("membership entry invalid");
        out.peers.push_back(PeerInfo{NodeId(p.node()), p.address()});
      }
      // Shape only here; that the ranges cover the curve is checked by RegionMap::adopt.
      for (const auto& r : env.membership().regions()) {
        if (r.node() == 0 || r.begin() >= r.end()) return malformed("membership region invalid");
        out.regions.push_back(RegionRange{NodeId(r.node()), r.begin(), r.end()});
      }
      return ServerBody{std::move(out)};
    }
    case B::kSubscribe: {
      if (static_cast<size_t>(env.subscribe().cells_size()) > kSubscribeCellsMax) return malformed("subscription of too many cells");
      Subscribe out;
      out.cells.reserve(static_cast<size_t>(env.subscribe().cells_size()));
      for (const auto& c : env.subscribe().cells()) out.cells.push_back(CellKey{c.cx(), c.cy()});
      return ServerBody{std::move(out)};
    }
    case B::kIntent: {
      const auto& i = env.intent();
      if (i.target() == 0 || i.source() == 0) return malformed("remote intent without its source or target");
      RemoteIntent ri;
      ri.source = EntityId(i.source());
      ri.target = EntityId(i.target());
      ri.key = IntentKey{NodeId(i.origin()), i.origin_incarnation(), i.origin_tick(), i.seq()};
      const bool death_award = i.action_case() == wire::RemoteIntent::kExperience || i.action_case() == wire::RemoteIntent::kLoot;
      if ((i.skill() == 0) != death_award || i.skill() > kSkillIdMax) return malformed(fmt::format("intent with skill {}", i.skill()));
      ri.skill = static_cast<uint16_t>(i.skill());
      auto amount_ok = [](int32_t v) { return v >= 0 && v <= kIntentAmountMax; };
      using A = wire::RemoteIntent::ActionCase;
      switch (i.action_case()) {
        case A::kDamage:
          if (!amount_ok(i.damage())) return malformed(fmt::format("intent damage {} out of range", i.damage()));
          ri.action = intent::Damage{i.damage()};
          break;
        case A::kHeal:
          if (!amount_ok(i.heal())) return malformed(fmt::format("intent heal {} out of range", i.heal()));
          ri.action = intent::Heal{i.heal()};
          break;
        case A::kApplyEffect:
          if (i.apply_effect() == 0 || i.apply_effect() > kSkillIdMax) return malformed(fmt::format("intent effect {} out of range", i.apply_effect()));
          ri.action = intent::ApplyEffect{static_cast<uint16_t>(i.apply_effect())};
          break;
        case A::kInterrupt:
          if (!i.interrupt()) return malformed("intent interrupt false");
          ri.action = intent::Interrupt{};
          break;
        case A::kDispel:
          if (i.dispel() == 0 || i.dispel() > kDispelMax) return malformed(fmt::format("intent dispel {} out of range", i.dispel()));
          ri.action = intent::Dispel{i.dispel()};
          break;
        case A::kEncounterTurn:
          if (i.encounter_turn().round() == 0 || i.encounter_turn().round() > kEncounterRoundsMax || i.encounter_turn().turn() == 0) {
            return malformed("intent for an encounter turn out of range");
          }
          ri.action = intent::EncounterTurn{i.encounter_turn().round(), i.encounter_turn().turn()};
          break;
        case A::kExperience:
          if (i.experience() == 0 || i.experience() > static_cast<uint32_t>(kExperienceStateMax)) return malformed(fmt::format("intent experience {} out of range", i.experience()));
          ri.action = intent::Experience{static_cast<int32_t>(i.experience())};
          break;
        case A::kLoot:
          if (i.loot() == 0 || i.loot() > UINT16_MAX) return malformed(fmt::format("intent loot item {} out of range", i.loot()));
          ri.action = intent::Loot{static_cast<uint16_t>(i.loot())};
          break;
        case A::ACTION_NOT_SET:
          return malformed("intent without an action");
      }
      return ServerBody{ri};
    }
    case B::BODY_NOT_SET:
      break;
  }
  return malformed("server message without a body");
}

}  // namespace

std::vector<uint8_t> encode(const ServerMessage& message) {
  wire::ServerEnvelope env;
  env.set_sender(message.sender.value);
  env.set_sender_role(static_cast<uint32_t>(message.sender_role));
  env.set_epoch(message.epoch);
  env.set_tick(message.tick);
  std::visit(ServerBodyEncoder{&env}, message.body);
  return serialize(env);
}

Result<ServerMessage> decode_server(std::span<const uint8_t> bytes) {
  wire::ServerEnvelope env;
  if (!parse(env, bytes)) return malformed(fmt::format("server message of {} bytes does not parse", bytes.size()));
  if (env.sender() == 0) return malformed("server message without a sender");
  const bool admin = env.sender_role() == static_cast<uint32_t>(Role::kAdmin);
  if ((env.sender_role() < 1 || env.sender_role() > 3) && !admin) {
    return malformed(fmt::format("sender role {} is not a server role", env.sender_role()));
  }
  if (admin && env.body_case() != wire::ServerEnvelope::kAdmin) return malformed("an admin may only send admin requests");
  auto body = decode_body(env);
  if (!body) return body.error();
  return ServerMessage{NodeId(env.sender()), static_cast<Role>(env.sender_role()), env.epoch(), env.tick(), std::move(body.value())};
}

}  // namespace aether
