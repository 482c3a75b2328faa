#include "engine/gateway/gateway.h"

#include "engine/compute/character_saves.h"
#include "engine/wire/state_codec.h"

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <vector>

#include "engine/wire/client_protocol.h"
#include "engine/wire/codec.h"

namespace aether {

namespace {
// A flush is triggered by the first compute batch of a tick; later batches of the same 100 ms (from
// other nodes) wait for the next flush, so each client gets at most one update per tick.
constexpr TimeNs kFlushIntervalMinNs = kTickNs / 2;
}  // namespace

Gateway::Gateway(Runtime& rt, GatewayConfig config)
    : rt_(rt), cfg_(std::move(config)), identity_(rt, cfg_.identity_required), cache_(cfg_.cache_entities_max), grid_(cfg_.view_radius_mm) {
  AETHER_ASSERT(cfg_.node.valid());
  AETHER_ASSERT(!cfg_.coordinator_addresses.empty());
  for (const std::string& address : cfg_.coordinator_addresses) {
    coordinators_.push_back(std::make_unique<OutboundLink>(rt_, address));
    coordinators_.back()->expect(Role::kCoordinator, NodeId{}, &identity_);  // configured by address only
  }
  incarnation_ = rt_.random.next_u64();
  AETHER_ASSERT(cfg_.view_radius_mm > 0);
  AETHER_ASSERT(cfg_.client_view_entities_max > 0 && 2 * cfg_.client_view_entities_max <= client::kSlotsMax);
  AETHER_ASSERT(cfg_.client_update_bytes_max >= client::kUpdateFixedBytesMax);
  if (cfg_.accounts.enabled) accounts_.emplace(rt_, cfg_.accounts.login, cfg_.accounts.sessions);
  rt_.network.set_handler(this);
}

Gateway::~Gateway() {
  if (housekeeping_timer_ != 0) rt_.timers.cancel(housekeeping_timer_);
}

void Gateway::start() {
  address_ = listen_logged(rt_, cfg_.listen_address);
  if (address_.empty()) return;
  log_at(rt_.log, LogLevel::kInfo, {}, "gateway listening for clients on {}{}", address_, accounts_ ? " (accounts: a client needs a token)" : "");
  if (accounts_) accounts_->start();
  for (auto& link : coordinators_) link->start();
  housekeeping_timer_ = rt_.timers.schedule(kTickNs, [this] { housekeeping(); });
}

// Every 100 ms: open a new input window, close connections that never said hello, and flush if no
// compute batch has triggered a flush for a whole tick (so clients still learn of lost nodes).
void Gateway::housekeeping() {
  const TimeNs now = rt_.clock.now_ns();
  std::vector<std::pair<SessionId, const char*>> expired;
  for (auto& [id, s] : sessions_) {
    s.inputs.new_window();
    if (s.state == SessionState::kAwaitHello && now - s.opened_ns > cfg_.hello_timeout_ns) {
      const uint64_t n = ++stats_.hello_timeouts;
      if (std::has_single_bit(n)) {
        log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "session {}: no Hello within {} ms; disconnecting ({} so far)", id.value,
               cfg_.hello_timeout_ns / kNsPerMs, n);
      }
      expired.emplace_back(id, "no hello in time");
    }
    if (s.state == SessionState::kActive && now - std::max(s.last_heard_ns, s.active_since_ns) > cfg_.client_idle_timeout_ns) {
      ++stats_.idle_closed;
      expired.emplace_back(id, "idle");
    }
    if (s.state == SessionState::kAwaitSpawn && s.spawn_retry_at_ns != 0 && now >= s.spawn_retry_at_ns) {
      if (now - s.opened_ns > cfg_.spawn_wait_max_ns) {
        expired.emplace_back(id, "no room in the battle");
      } else {
        s.spawn_retry_at_ns = 0;
        request_spawn(s);
      }
    }
  }
  for (const auto& [id, why] : expired) close_session(id, why, true);
  if (accounts_) accounts_->sweep();
  route_clients();
  if (now - last_flush_ns_ > 2 * kTickNs) flush_clients(tick_);
  housekeeping_timer_ = rt_.timers.schedule(kTickNs, [this] { housekeeping(); });
}

// --- clients --------------------------------------------------------------------------------

void Gateway::on_accepted(ConnId conn, std::string_view) {
  Session s;
  s.id = SessionId((uint64_t{cfg_.node.value} << 40) | next_session_++);
  s.conn = conn;
  s.opened_ns = rt_.clock.now_ns();
  s.view = ClientView(ViewLimits{cfg_.client_view_entities_max, cfg_.client_update_bytes_max, cfg_.aggregate_cell_mm});
  s.inputs = InputGuard(cfg_.inputs);
  s.address = rt_.network.peer_address(conn);
  if (stopping_) {
    send_goodbye(conn, "gateway stopping");
    rt_.network.close(conn);
    return;
  }
  if (sessions_.size() >= cfg_.sessions_max) {
    send_goodbye(conn, "gateway full");
    rt_.network.close(conn);
    log_at(rt_.log, LogLevel::kWarn, {}, "refused client connection: {} sessions already", sessions_.size());
    return;
  }
  const SessionId id = s.id;
  client_conns_[conn] = &sessions_.emplace(id, std::move(s)).first->second;
  ++stats_.sessions_opened;
}

void Gateway::on_message(ConnId conn, std::span<const uint8_t> payload) {
  if (auto c = client_conns_.find(conn); c != client_conns_.end()) {
    Session& s = *c->second;
    s.last_heard_ns = rt_.clock.now_ns();
    auto decoded = client::decode_client(payload);
    if (!decoded) {
      ++stats_.protocol_errors;
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, s.entity}, "client session {}: {}; disconnecting", s.id.value,
             decoded.error().message);
      close_session(s.id, "malformed message", true);
      return;
    }
    handle_client(s, decoded.value());
    return;
  }
  auto decoded = decode_server(payload);
  if (!decoded) {
    ++stats_.protocol_errors;
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "closing server connection {}: {}", conn, decoded.error().message);
    rt_.network.close(conn);
    on_closed(conn, CloseReason::kLocal);
    return;
  }
  handle_server(conn, decoded.value());
}

void Gateway::handle_client(Session& s, const client::Message& m) {
  if (const auto* hello = std::get_if<client::Hello>(&m)) {
    handle_hello(s, *hello);
    return;
  }
  if (const auto* input = std::get_if<ClientInput>(&m)) {
    if (s.state != SessionState::kActive) return;
    forward_input(s, *input);
    return;
  }
  if (!handle_account(s, m)) {
    // Accounts are off here: an account message is a protocol error like any unknown one.
    ++stats_.protocol_errors;
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, s.entity}, "client session {}: account message to a gateway without accounts; disconnecting",
           s.id.value);
    close_session(s.id, "accounts not served here", true);
  }
}

void Gateway::handle_hello(Session& s, const client::Hello& hello_in) {
  const client::Hello* hello = &hello_in;
  {
    if (s.state != SessionState::kAwaitHello) return;  // a repeated hello changes nothing
    if (hello->protocol_version != client::kProtocolVersion) {
      close_session(s.id, "unsupported protocol version", true);
      return;
    }
    if (accounts_) {
      // Admission (docs/security.md, "Accounts and sessions"): a valid access token, whose
      // character becomes the avatar; or, without one, the resume token of an avatar (a client sent
      // here from another gateway, which issued its token): then it resumes or gets nothing.
      const accounts::SessionBook::Holder holder = accounts_->check_access({hello->access.id, hello->access.secret});
      const bool has_resume = hello->resume_entity.valid() && hello->resume_token != 0;
      if (holder.refusal != accounts::TokenRefusal::kNone && !has_resume) {
        const accounts::AuthRefusal why = accounts::refusal_of(holder.refusal);
        ++stats_.hellos_refused[static_cast<size_t>(why)];
        // The first refusal and every power of two after: a flood does not flood the log.
        ++hello_refusals_logged_;
        if ((hello_refusals_logged_ & (hello_refusals_logged_ - 1)) == 0) {
          log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "client session {} from {} refused at hello: {} ({} refusals so far)", s.id.value,
                 s.address, accounts::auth_refusal_name(why), hello_refusals_logged_);
        }
        const std::string goodbye = std::string("not logged in: ") + accounts::auth_refusal_name(why);
        close_session(s.id, goodbye.c_str(), true);
        return;
      }
      if (holder.refusal == accounts::TokenRefusal::kNone) {
        for (const auto& [id, other] : sessions_) {
          if (id != s.id && other.character == holder.character && other.character.valid()) {
            ++stats_.hellos_character_busy;
            log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, other.entity}, "client session {}: character {} already plays in session {}; refused",
                   s.id.value, holder.character.value, id.value);
            close_session(s.id, "character already playing", true);
            return;
          }
        }
        s.character = holder.character;
        s.class_id = holder.class_id;
        if (!has_resume) {
          // A client that logs in again takes its character's avatar back, if it still waits.
          if (auto a = avatars_.find(s.character); a != avatars_.end()) {
            s.state = SessionState::kAwaitSpawn;
            s.resume_entity = a->second.first;
            s.resume_token = a->second.second;
            trace(TraceKind::kSessionOpened, EntityId{}, static_cast<int64_t>(s.id.value));
            request_spawn(s);
            return;
          }
        }
      } else {
        s.resume_only = true;
        ++stats_.resume_only_admitted;
      }
    }
    s.state = SessionState::kAwaitSpawn;
    s.resume_entity = hello->resume_entity;
    s.resume_token = hello->resume_token;
    // A token for an avatar one of our live sessions plays is someone else's copy: it takes nothing
    // here (the coordinator trusts us on this: docs/security.md), and the client gets a new avatar.
    for (const auto& [id, other] : sessions_) {
      if (id != s.id && other.entity.valid() && other.entity == s.resume_entity) {
        // Logged at 1, 2, 4, 8... refusals: a client replaying a token cannot flood the log.
        if (std::has_single_bit(++stats_.resumes_refused)) {
          log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, s.resume_entity}, "session {}: resume of an avatar session {} plays; ignored ({} so far)",
                 s.id.value, id.value, stats_.resumes_refused);
        }
        s.resume_entity = EntityId{};
        s.resume_token = 0;
        break;
      }
    }
    trace(TraceKind::kSessionOpened, EntityId{}, static_cast<int64_t>(s.id.value));
    request_spawn(s);
  }
}

bool Gateway::handle_account(Session& s, const client::Message& m) {
  if (!accounts_) return false;
  if (++s.account_requests > cfg_.accounts.requests_per_connection_max) {
    ++stats_.account_requests_closed;
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, s.entity}, "client session {} from {}: more than {} account requests; closed", s.id.value,
           s.address, cfg_.accounts.requests_per_connection_max);
    close_session(s.id, "too many account requests", true);
    return true;
  }
  const SessionId id = s.id;
  if (const auto* refresh = std::get_if<client::Refresh>(&m)) {
    reply_auth(id, accounts_->refresh({refresh->token.id, refresh->token.secret}));
    return true;
  }
  if (const auto* logout = std::get_if<client::Logout>(&m)) {
    accounts::AuthOutcome out;
    if (!accounts_->logout({logout->token.id, logout->token.secret})) {
      out.code = accounts::AuthCode::kTokenRefused;
      out.why = accounts::AuthRefusal::kTokenUnknown;
    }
    reply_auth(id, out);
    // Logging out ends the session too: its avatar leaves with it.
    if (out.code == accounts::AuthCode::kOk && s.state != SessionState::kAwaitHello) close_session(id, "logged out", true);
    return true;
  }
  // Register and login: before the hello only, one at a time.
  if (s.state != SessionState::kAwaitHello || s.account_pending) {
    accounts::AuthOutcome busy;
    busy.code = accounts::AuthCode::kBusy;
    busy.why = accounts::AuthRefusal::kBusy;
    reply_auth(id, busy);
    return true;
  }
  s.account_pending = true;
  auto done = [this, id](const accounts::AuthOutcome& out) {
    if (auto it = sessions_.find(id); it != sessions_.end()) it->second.account_pending = false;
    reply_auth(id, out);
  };
  if (const auto* reg = std::get_if<client::Register>(&m)) {
    accounts_->register_account(reg->account, reg->password, reg->class_id, s.address, done);
  } else if (const auto* login = std::get_if<client::Login>(&m)) {
    accounts_->login(login->account, login->password, s.address, done);
  } else {
    s.account_pending = false;
    return false;
  }
  return true;
}

// The answer to an account request, if its client is still connected.
void Gateway::reply_auth(SessionId id, const accounts::AuthOutcome& out) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  if (out.code != accounts::AuthCode::kOk) {
    log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, {}}, "client session {}: account request refused: {}", id.value, accounts::auth_refusal_name(out.why));
  }
  client::AuthReply reply;
  reply.code = static_cast<uint8_t>(out.code);
  reply.message = accounts::auth_code_message(out.code);
  if (out.code == accounts::AuthCode::kOk) {
    reply.access = {out.tokens.access.id, out.tokens.access.secret};
    reply.refresh = {out.tokens.refresh.id, out.tokens.refresh.secret};
    reply.access_ttl_ms = static_cast<uint64_t>(std::max<TimeNs>(0, out.tokens.access_expires_ns - rt_.clock.now_ns()) / kNsPerMs);
    reply.character = out.character.value;
    reply.class_id = out.class_id;
  }
  rt_.network.send(it->second.conn, client::encode_auth_reply(reply));
}

// The session's InputGuard decides what of an input goes to the owner (engine/gateway/input_guard.h).
void Gateway::forward_input(Session& s, const ClientInput& input) {
  ClientInput in = input;
  const InputGuard::Check check = s.inputs.check(in, in.target.valid() && s.view.knows(in.target));
  if (check.verdict != InputGuard::Verdict::kForward) {
    ++stats_.inputs_rejected[static_cast<size_t>(check.reason)];
    log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, s.entity}, "session {}: input seq {} rejected: {}", s.id.value, in.seq,
           input_rejection_name(check.reason));
    if (s.inputs.reject(rt_.clock.now_ns())) {
      ++stats_.rejected_closed;
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, s.entity}, "session {}: more than {} rejected inputs in {} s (last: {}): closed", s.id.value,
             cfg_.inputs.rejections_max, cfg_.inputs.rejection_window_ns / kNsPerSec, input_rejection_name(check.reason));
      close_session(s.id, "too many rejected inputs", true);
      return;
    }
    if (check.verdict == InputGuard::Verdict::kDrop) {
      ++stats_.inputs_dropped;
      return;
    }
    in.target = EntityId{};  // kForwardMoveOnly: the move, without the aim
    in.skill = 0;
  }
  auto node = nodes_.find(s.owner);
  if (node == nodes_.end() || !node->second.link->connected()) {
    ++stats_.inputs_dropped;
    return;
  }
  if (send_server(rt_.network, node->second.link->conn(), envelope(InputForward{s.entity, in})) == SendStatus::kOk) {
    ++stats_.inputs_forwarded;
    trace(TraceKind::kInputForwarded, s.entity, static_cast<int64_t>(in.seq), 0, s.owner);
    if (debug_.covers(s.entity)) {
      log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, s.entity}, "debug: input seq {} move ({}, {}) target {} skill slot {} from session {} to owner {}",
             in.seq, in.move_x, in.move_y, in.target.value, in.skill, s.id.value, s.owner.value);
      trace(TraceKind::kDebugInput, s.entity, static_cast<int64_t>(in.seq), in.skill, s.owner);
    }
  } else {
    ++stats_.inputs_dropped;
  }
}

void Gateway::request_spawn(Session& s) {
  if (leader_conn_ == 0) return;  // asked again when a coordinator says it leads
  if (s.character.valid() && s.save_read != Session::SaveRead::kRead) {
    read_save(s);  // asks again once read
    return;
  }
  SpawnRequest req{s.id, s.resume_entity, s.resume_token, s.character, s.class_id, s.resume_only};
  if (s.character.valid()) req.save = s.save;
  send_server(rt_.network, leader_conn_, envelope(std::move(req)));
}

// A character's newest save (the last life in key order), read from the accounts' store before its
// spawn: the avatar spawned is its next life, starting from it (docs/persistence.md §9d).
void Gateway::read_save(Session& s) {
  if (s.save_read == Session::SaveRead::kReading) return;
  const SessionId id = s.id;
  std::weak_ptr<char> life = life_;
  // Lives are few (a save erases the life before it): the last row of a bounded scan is the newest,
  // or, past the bound, the scan goes on from it.
  const StorageCode code = rt_.storage.scan(character_save_prefix(s.character), {}, kStorageScanRowsMax, [this, id, life](ScanResult r) {
    if (life.expired()) return;
    save_read(id, r);
  });
  if (code != StorageCode::kOk) {
    ScanResult refused;
    refused.status.code = code;
    refused.status.reason = storage_code_name(code);
    s.save_read = Session::SaveRead::kReading;
    save_read(id, refused);
    return;
  }
  s.save_read = Session::SaveRead::kReading;
}

void Gateway::save_read(SessionId id, const ScanResult& r) {
  auto it = sessions_.find(id);
  if (it == sessions_.end() || it->second.save_read != Session::SaveRead::kReading) return;
  Session& s = it->second;
  if (!r.status.ok() || r.more) {
    // A store that cannot answer now: asked again with the spawn, after spawn_retry_ns. (A
    // character with more lives than a scan returns has rows our saves never leave: refused too.)
    s.save_read = Session::SaveRead::kNotRead;
    ++stats_.save_reads_failed;
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "session {}: character {}'s save not read ({}); asking again", id.value, s.character.value,
           r.more ? "too many lives" : r.status.reason);
    s.spawn_retry_at_ns = rt_.clock.now_ns() + cfg_.spawn_retry_ns;
    return;
  }
  CharacterSave save;
  save.character = s.character;
  save.life = 1;
  if (r.rows.empty()) ++stats_.saves_absent;
  if (!r.rows.empty()) {
    const StorageRow& row = r.rows.back();
    const char* error = "malformed";
    CharacterSave stored;
    if (!decode_character_save(row.value, stored, &error) || stored.character != s.character || stored.life >= kSaveLifeMax ||
        row.key != character_save_key(s.character, stored.life)) {
      // Never play a character from a save we cannot read: its items would be hidden by the next life.
      ++stats_.saves_unreadable;
      log_at(rt_.log, LogLevel::kError, {epoch_, tick_, {}}, "session {}: character {}'s save is unreadable ({}); refused, see docs/persistence.md",
             id.value, s.character.value, error);
      close_session(id, "character save unreadable", true);
      return;
    }
    save = stored;
    save.life = stored.life + 1;
    save.entity = EntityId{};
    save.loaded = true;
    ++stats_.saves_loaded;
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "session {}: character {} comes back as life {}: level {}, experience {}, {} items", id.value,
           s.character.value, save.life, save.level, save.experience, save.inventory.size());
  }
  s.save = save;
  s.save_read = Session::SaveRead::kRead;
  if (s.state == SessionState::kAwaitSpawn) request_spawn(s);
}

OutboundLink* Gateway::coordinator_link(ConnId conn) {
  for (auto& link : coordinators_) {
    if (link->is(conn)) return link.get();
  }
  return nullptr;
}

// A session's end must reach the leader, or its avatar stays in the battle attached to a dead
// session (and its token takes it nowhere: docs/security.md). Closes are kept kRecentClosesNs (at
// most kRecentClosesMax) and sent again to every new leader: the coordinator ignores one that no
// longer matches its table, so a repeat is harmless (a close sent while no coordinator leads, or on
// a connection that then breaks, is otherwise lost).
void Gateway::report_closed(const SessionClosed& closed) {
  recent_closes_.emplace_back(rt_.clock.now_ns(), closed);
  if (recent_closes_.size() > kRecentClosesMax) recent_closes_.pop_front();
  if (leader_conn_ != 0) send_server(rt_.network, leader_conn_, envelope(closed));
}

void Gateway::resend_closed() {
  const TimeNs now = rt_.clock.now_ns();
  while (!recent_closes_.empty() && now - recent_closes_.front().first > kRecentClosesNs) recent_closes_.pop_front();
  if (leader_conn_ == 0) return;
  for (const auto& [at, closed] : recent_closes_) send_server(rt_.network, leader_conn_, envelope(closed));
}

void Gateway::send_goodbye(ConnId conn, const char* why) { rt_.network.send(conn, client::encode_goodbye(client::Goodbye{why})); }

void Gateway::close_session(SessionId id, const char* why, bool notify_client) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  Session& s = it->second;
  if (notify_client) {
    send_goodbye(s.conn, why);
    rt_.network.close(s.conn);
  }
  if (s.entity.valid()) report_closed(SessionClosed{s.id, s.entity});
  trace(TraceKind::kSessionClosed, s.entity, static_cast<int64_t>(s.id.value));
  log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, s.entity}, "session {} closed: {}", s.id.value, why);
  client_conns_.erase(s.conn);
  if (auto a = avatar_sessions_.find(s.entity); a != avatar_sessions_.end() && a->second == s.id) avatar_sessions_.erase(a);
  sessions_.erase(it);
  ++stats_.sessions_closed;
}

// The client goes to `to`, the gateway of its avatar's region: its session here ends, its avatar
// stays (detached, resumable there with the token it has: Coordinator::handle_session_closed), and
// the end is reported like any other (kept and sent again to a new leader).
void Gateway::redirect_session(Session& s, NodeId to, const std::string& address) {
  ++stats_.clients_redirected;
  trace(TraceKind::kClientRedirected, s.entity, static_cast<int64_t>(s.id.value), 0, to);
  log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, s.entity}, "session {}: client sent to gateway {} at {}", s.id.value, to.value, address);
  rt_.network.send(s.conn, client::encode_redirect(client::Redirect{address}));
  detach_session(s);
}

// The client was told where to go (or to come back): its connection closes and its avatar waits
// for the resume (SessionClosed, detached).
void Gateway::detach_session(Session& s) {
  rt_.network.close(s.conn);
  report_closed(SessionClosed{s.id, s.entity, true});
  const SessionId id = s.id;
  client_conns_.erase(s.conn);
  if (auto a = avatar_sessions_.find(s.entity); a != avatar_sessions_.end() && a->second == id) avatar_sessions_.erase(a);
  sessions_.erase(id);  // s is gone
  ++stats_.sessions_closed;
}

Readiness Gateway::readiness() const {
  if (address_.empty()) return {false, "not listening"};
  if (stopping_) return {false, "stopping: handing clients over"};
  if (leader_conn_ == 0) return {false, "no leading coordinator connected"};
  if (sessions_.size() >= cfg_.sessions_max) return {false, "full: sessions_max clients"};
  return {true, "connected to the leader, accepting clients"};
}

void Gateway::begin_drain() {
  if (stopping_) return;
  stopping_ = true;
  log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "stopping: handing {} client(s) over", sessions_.size());
  std::vector<SessionId> ids;
  for (const auto& [id, s] : sessions_) ids.push_back(id);
  for (SessionId id : ids) {
    Session& s = sessions_.at(id);
    if (s.state != SessionState::kActive) {
      close_session(id, "gateway stopping", true);  // no avatar yet: the client connects again
      continue;
    }
    hand_over(s);
  }
}

void Gateway::hand_over(Session& s) {
  ++stats_.handed_over;
  NodeId to{};
  if (routes_) {
    const uint32_t index = cache_.find(s.entity);
    if (index != EntityCache::kNone) to = routes_->home_of_cell(routes_->cell_of(cache_.state(index).pos));
    if (to == cfg_.node) to = NodeId{};
    for (auto it = route_addresses_.begin(); !to.valid() && it != route_addresses_.end(); ++it) {
      if (it->first != cfg_.node) to = it->first;
    }
  }
  if (to.valid() && route_addresses_.count(to)) {
    redirect_session(s, to, route_addresses_.at(to));
    return;
  }
  // No other gateway known: the client comes back through whatever spreads clients over gateways
  // (a load balancer) and resumes its avatar with its token within the resume grace.
  send_goodbye(s.conn, "gateway stopping");
  detach_session(s);
}

// Routes from the leader: taken whole if they cover the arena, else ignored (and counted).
void Gateway::handle_routes(const GatewayRoutes& m) {
  std::vector<RegionMap::Range> ranges;
  std::map<NodeId, std::string> addresses;
  ranges.reserve(m.routes.size());
  for (const GatewayRoute& r : m.routes) {
    ranges.push_back(RegionMap::Range{r.gateway, r.begin, r.end});
    addresses[r.gateway] = r.address;
  }
  RegionMap map(m.arena_mm);
  if (!map.adopt(ranges)) {
    ++stats_.routes_refused;
    log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "gateway routes version {} do not cover the arena; ignored", m.version);
    return;
  }
  // Hysteresis: at least the ownership border, and two view radii, so that a client whose avatar
  // roams along a border, or a small arena's width, is never moved (its view would barely change).
  const int32_t cell_mm = map.cell_mm();
  route_border_cells_ = static_cast<uint32_t>(std::max<int64_t>(RegionMap::kBorderCells, (2 * int64_t{cfg_.view_radius_mm} + cell_mm - 1) / cell_mm));
  route_distance_ = map.distances_to(cfg_.node);
  routes_ = std::move(map);
  route_addresses_ = std::move(addresses);
  log_at(rt_.log, LogLevel::kDebug, {epoch_, tick_, {}}, "gateway routes version {}: {} gateway(s)", m.version, route_addresses_.size());
}

// Every tick: clients whose avatar is deep inside another gateway's part of the arena (farther than
// route_border_cells_ from ours) are sent there, at most redirects_per_tick_max.
// A client that arrived by a resume first plays here redirect_settle_ns, so that no client is
// moved more often than that (routes changing under it, or its avatar crossing back and forth).
void Gateway::route_clients() {
  if (!routes_) return;
  const TimeNs now = rt_.clock.now_ns();
  uint32_t budget = cfg_.redirects_per_tick_max;
  std::vector<std::pair<SessionId, NodeId>> moving;
  for (const auto& [id, s] : sessions_) {
    if (budget == 0) break;
    if (s.state != SessionState::kActive || (s.resumed && now - s.active_since_ns < cfg_.redirect_settle_ns)) continue;
    const uint32_t index = cache_.find(s.entity);
    if (index == EntityCache::kNone) continue;
    const Vec2 pos = cache_.state(index).pos;
    const uint32_t cell = routes_->cell_of(pos);
    const NodeId home = routes_->home_of_cell(cell);
    if (!home.valid() || home == cfg_.node || route_distance_[cell] <= route_border_cells_) continue;
    moving.emplace_back(id, home);
    --budget;
  }
  for (const auto& [id, to] : moving) redirect_session(sessions_.at(id), to, route_addresses_.at(to));
}

void Gateway::on_closed(ConnId conn, CloseReason reason) {
  if (auto c = client_conns_.find(conn); c != client_conns_.end()) {
    close_session(c->second->id, close_reason_name(reason), false);
    return;
  }
  if (OutboundLink* link = coordinator_link(conn); link && link->handle_closed(conn)) {
    if (leader_conn_ == conn) leader_conn_ = 0;
    log_at(rt_.log, link->failures() == 1 ? LogLevel::kWarn : LogLevel::kDebug, {epoch_, tick_, {}},
           "coordinator connection to {} lost ({}); retrying", link->address(), close_reason_name(reason));
    return;
  }
  for (auto& [id, node] : nodes_) {
    if (node.link->handle_closed(conn)) {
      log_at(rt_.log, node.link->failures() == 1 ? LogLevel::kWarn : LogLevel::kDebug, {epoch_, tick_, {}},
             "compute node {} connection lost ({})", id.value, close_reason_name(reason));
      cache_.forget(id);
      return;
    }
  }
}

void Gateway::on_connected(ConnId conn) {
  if (OutboundLink* link = coordinator_link(conn); link && link->handle_connected(conn)) {
    send_server(rt_.network, conn, envelope(Hello{Role::kGateway, cfg_.advertise_address.empty() ? address_ : cfg_.advertise_address, 0, incarnation_}));
    return;
  }
  for (auto& [id, node] : nodes_) {
    if (node.link->handle_connected(conn)) {
      send_server(rt_.network, conn, envelope(Hello{Role::kGateway, address_, 0, incarnation_}));
      return;
    }
  }
}

// --- servers --------------------------------------------------------------------------------

void Gateway::handle_server(ConnId conn, const ServerMessage& m) {
  if (coordinator_link(conn)) {
    handle_coordinator(conn, m);
    return;
  }
  for (auto& [id, node] : nodes_) {
    if (!node.link->is(conn)) continue;
    if (m.sender != id || m.sender_role != Role::kCompute) {
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, {}}, "compute link {} sent as node {}; closing", id.value, m.sender.value);
      rt_.network.close(conn);
      node.link->handle_closed(conn);
      cache_.forget(id);
      return;
    }
    if (const auto* batch = std::get_if<DeltaBatch>(&m.body)) {
      apply_batch(id, m.tick, *batch);
    } else if (const auto* kick = std::get_if<SessionKick>(&m.body)) {
      handle_kick(id, *kick);
    } else if (const auto* hud = std::get_if<AvatarHud>(&m.body)) {
      handle_hud(id, *hud);
    }
    return;
  }
}

// Orders from a coordinator older than the newest epoch we have seen are stale and ignored.
void Gateway::handle_coordinator(ConnId conn, const ServerMessage& m) {
  if (m.sender_role != Role::kCoordinator) return;
  if (const NodeId verified = coordinator_link(conn)->verified_node(); verified.valid() && m.sender != verified) {
    identity_.refuse(conn, "message on a coordinator link", fmt::format("is signed by node {}, not by its verified identity's node {}",
                                                                        m.sender.value, verified.value));
    rt_.network.close(conn);
    on_closed(conn, CloseReason::kLocal);
    return;
  }
  if (m.epoch < epoch_) {
    ++stats_.stale_epoch_dropped;
    return;
  }
  epoch_ = m.epoch;
  if (const auto* lead = std::get_if<Leadership>(&m.body)) {
    if (lead->leader) {
      // A new leader, or the same coordinator leading again at a new epoch (it stepped down in
      // between and dropped what we asked meanwhile): sessions still waiting ask again
      // (chaos-partitions seed 3: resumes sent during a leaderless gap were never answered).
      const bool changed = leader_conn_ != conn || leader_epoch_ != m.epoch;
      leader_conn_ = conn;
      leader_epoch_ = m.epoch;
      log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "coordinator {} leads at epoch {}", m.sender.value, m.epoch);
      if (changed) resend_closed();
      for (auto& [id, s] : sessions_) {
        if (changed && s.state == SessionState::kAwaitSpawn) {
          s.spawn_retry_at_ns = 0;  // asked now; one request in flight per session
          request_spawn(s);
        }
      }
    } else if (leader_conn_ == conn) {
      leader_conn_ = 0;
    }
  } else if (const auto* reply = std::get_if<SpawnReply>(&m.body)) {
    handle_spawn_reply(*reply);
  } else if (const auto* moved = std::get_if<OwnerChanged>(&m.body)) {
    handle_owner_changed(*moved);
  } else if (const auto* routes = std::get_if<GatewayRoutes>(&m.body)) {
    if (conn == leader_conn_) handle_routes(*routes);
  } else if (const auto* admin = std::get_if<AdminRequest>(&m.body); admin && admin->command == AdminRequest::Command::kDebug) {
    if (debug_.apply(cfg_.node, admin->debug)) {
      log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "debug: coordinator {} set the debug set: {}", m.sender.value, debug_.describe());
      trace(TraceKind::kDebugTargets, EntityId{}, static_cast<int64_t>(debug_.entities().size()), debug_.whole_node() ? 1 : 0, m.sender);
    }
  }
}

// The avatar's owner judged its player a cheat (too many refused actions): the session ends and,
// with it, the avatar (not detached: no resume). Only the owner we know for the avatar is obeyed.
void Gateway::handle_kick(NodeId from, const SessionKick& kick) {
  for (auto& [id, s] : sessions_) {
    if (s.entity != kick.entity) continue;
    if (s.owner != from) {
      if (std::has_single_bit(++stats_.kicks_refused)) {
        log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, kick.entity}, "session {}: kick from compute {}, which does not own its avatar (owner {}); ignored ({} so far)",
               id.value, from.value, s.owner.value, stats_.kicks_refused);
      }
      return;
    }
    const uint64_t n = ++stats_.sessions_kicked;
    if (std::has_single_bit(n)) {
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, kick.entity}, "session {}: ended on its owner's word: {} ({} so far)", id.value, kick.reason, n);
    }
    close_session(id, "too many refused actions", true);
    return;
  }
}

// The avatar's owner says what its player's HUD shows of its bag and encounter: sent to that
// avatar's client alone, and only on the word of the owner we know for the avatar (as for kicks).
// An avatar no session here plays (closed meanwhile, or moved) is ignored.
void Gateway::handle_hud(NodeId from, const AvatarHud& hud) {
  auto a = avatar_sessions_.find(hud.entity);
  auto it = a == avatar_sessions_.end() ? sessions_.end() : sessions_.find(a->second);
  if (it == sessions_.end() || it->second.state != SessionState::kActive) {
    ++stats_.huds_unplayed;
    return;
  }
  Session& s = it->second;
  if (s.owner != from) {
    if (std::has_single_bit(++stats_.huds_refused)) {
      log_at(rt_.log, LogLevel::kWarn, {epoch_, tick_, hud.entity}, "session {}: hud from compute {}, which does not own its avatar (owner {}); ignored ({} so far)",
             s.id.value, from.value, s.owner.value, stats_.huds_refused);
    }
    return;
  }
  ++stats_.huds_forwarded;
  rt_.network.send(s.conn, client::encode_hud(hud));
}

void Gateway::handle_spawn_reply(const SpawnReply& reply) {
  auto it = sessions_.find(reply.session);
  if (it == sessions_.end() && reply.entity.valid()) {
    // The client left before its avatar came: no avatar without a live session (it would stay in
    // the battle, unplayed, until the coordinator's grace after a gateway loss, which never comes).
    report_closed(SessionClosed{reply.session, reply.entity});
    trace(TraceKind::kSessionClosed, reply.entity, static_cast<int64_t>(reply.session.value));
    return;
  }
  if (it == sessions_.end() || it->second.state != SessionState::kAwaitSpawn) return;
  Session& s = it->second;
  if (!reply.entity.valid() && reply.retry_later) {
    ++stats_.spawns_deferred;
    s.spawn_retry_at_ns = rt_.clock.now_ns() + cfg_.spawn_retry_ns;
    // Held for a log-out save newer than the one we read (coordinator/logout_waits.h): read the save
    // again before the next ask. Other deferrals (no compute node, no quorum) keep the save read.
    if (reply.save_pending && s.character.valid() && s.save_read == Session::SaveRead::kRead) {
      s.save_read = Session::SaveRead::kNotRead;
      ++stats_.saves_reread;
    }
    return;
  }
  if (!reply.entity.valid() || !reply.owner.valid() || reply.owner_address.empty()) {
    close_session(s.id, reply.refusal.empty() ? "spawn refused" : reply.refusal.c_str(), true);
    return;
  }
  if (!ensure_node(reply.owner, reply.owner_address)) {
    close_session(s.id, "too many compute nodes", true);
    return;
  }
  s.entity = reply.entity;
  s.owner = reply.owner;
  s.state = SessionState::kActive;
  avatar_sessions_.insert_or_assign(s.entity, s.id);
  s.active_since_ns = rt_.clock.now_ns();
  s.resumed = s.resume_entity.valid() && s.resume_entity == reply.entity;
  if (s.character.valid()) {
    if (avatars_.size() >= cfg_.sessions_max && !avatars_.count(s.character)) avatars_.erase(avatars_.begin());
    avatars_[s.character] = {reply.entity, reply.resume_token};
  }
  rt_.network.send(s.conn, client::encode_welcome(client::Welcome{s.entity, tick_, static_cast<uint32_t>(kTickHz),
                                                                  static_cast<uint32_t>(cfg_.view_radius_mm), reply.resume_token}));
  trace(TraceKind::kSessionOpened, s.entity, static_cast<int64_t>(s.id.value), 0, s.owner);
}

// A link to compute node `node` (we route inputs there and receive its feed), made if new.
bool Gateway::ensure_node(NodeId node, const std::string& address) {
  auto it = nodes_.find(node);
  if (it != nodes_.end()) {
    if (it->second.link->address() != address) {  // the node restarted elsewhere
      it->second.link->stop();
      it->second.link->retarget(address);
      it->second.link->start();
    }
    return true;
  }
  if (nodes_.size() >= cfg_.compute_nodes_max) return false;
  NodeLink link;
  link.link = std::make_unique<OutboundLink>(rt_, address);
  link.link->expect(Role::kCompute, node, &identity_);
  link.link->start();
  nodes_.emplace(node, std::move(link));
  return true;
}

// Recovery or migration moved an entity: its client's inputs go to the new owner from now on.
void Gateway::handle_owner_changed(const OwnerChanged& m) {
  for (auto& [id, s] : sessions_) {
    if (s.entity != m.entity) continue;
    if (!ensure_node(m.owner, m.owner_address)) {
      close_session(id, "too many compute nodes", true);
      return;
    }
    const NodeId previous = s.owner;
    s.owner = m.owner;
    if (previous != m.owner) trace(TraceKind::kOwnerRouted, m.entity, static_cast<int64_t>(previous.value), 0, m.owner);
    release_unused_node(previous);
    return;
  }
}

// A compute node none of our clients lives on any more (it died, or they migrated away): stop
// dialling it and forget what it told us.
void Gateway::release_unused_node(NodeId node) {
  for (const auto& [id, s] : sessions_) {
    if (s.owner == node) return;
  }
  auto it = nodes_.find(node);
  if (it == nodes_.end()) return;
  cache_.forget(node);
  nodes_.erase(it);  // the link's destructor closes the connection
}

void Gateway::apply_batch(NodeId source, Tick tick, const DeltaBatch& batch) {
  if (batch.reset) cache_.forget(source);
  for (const EntityState& st : batch.states) {
    if (cache_.put(source, st) == EntityCache::Put::kRefused) ++stats_.cache_refused;
  }
  for (EntityId id : batch.removed) cache_.drop(source, id);
  NodeLink& node = nodes_.at(source);
  const bool new_tick = tick > node.last_tick;
  node.last_tick = std::max(node.last_tick, tick);
  tick_ = std::max(tick_, tick);
  if (new_tick && rt_.clock.now_ns() - last_flush_ns_ >= kFlushIntervalMinNs) flush_clients(tick_);
}

// --- per-client views -----------------------------------------------------------------------

void Gateway::flush_clients(Tick tick) {
  last_flush_ns_ = rt_.clock.now_ns();
  ++stats_.flushes;
  SpatialGrid& grid = grid_;
  grid.clear();
  cache_.for_each([&](uint32_t i) { grid.add(cache_.state(i).id, cache_.state(i).pos, i); });
  grid.finish();
  hood_items_.clear();
  hoods_.clear();
  hood_index_.clear();
  std::vector<SessionId> stalled;
  for (auto& [id, s] : sessions_) {
    if (s.state != SessionState::kActive) continue;
    if (!build_update(s, grid, tick)) {
      s.view.commit();  // nothing to say: what the client knows is unchanged
      continue;
    }
    if (rt_.network.send(s.conn, update_bytes_) != SendStatus::kOk) {
      // Not delivered: the view stays as it was, so the next update is computed against what the
      // client really has.
      ++stats_.updates_refused;
      if (++s.stalled_ticks > cfg_.client_stall_ticks_max) stalled.push_back(id);
      continue;
    }
    s.stalled_ticks = 0;
    ++stats_.updates_sent;
    stats_.update_bytes_sent += update_bytes_.size();
    s.view.commit();
    stats_.view_entities += s.view.known();
  }
  for (SessionId id : stalled) {
    ++stats_.slow_clients_dropped;
    trace(TraceKind::kClientDisconnected, sessions_.at(id).entity, 1);
    close_session(id, "slow consumer", true);
  }
}

// The client's view: its own avatar, then the nearest entities within the radius up to the view
// limit (ties in distance to the lower id); the rest of the radius as counts per cell and team.
// Each candidate's weight (what a change of it owes per tick until sent, client_view.h): 1 at the
// edge of the radius up to 16 at the centre, +4 for an enemy, +16 for one aiming at the client.
bool Gateway::build_update(Session& s, const SpatialGrid& grid, Tick tick) {
  near_.clear();
  candidates_.clear();
  aggregates_.clear();
  const uint32_t self = cache_.find(s.entity);
  bool has_cooldown = false;
  uint32_t cooldown = 0;
  if (self != EntityCache::kNone) {
    const EntityCache::Cached& me = cache_.state(self);
    has_cooldown = true;
    cooldown = me.cooldown_ticks;
    const int64_t r = cfg_.view_radius_mm;
    // With cells as wide as the radius, the radius around a point of cell c is inside c's 3 x 3
    // neighbourhood (exactly the cells a radius query visits, unless the square around the point
    // leaves the int32 range and is clamped), whose list is shared with every client of the cell
    // and already in id order.
    const bool shared = std::abs(int64_t{me.pos.x_mm}) + r <= INT32_MAX && std::abs(int64_t{me.pos.y_mm}) + r <= INT32_MAX;
    bool by_id = shared;
    if (shared) {
      const Hood& hood = hood_of(cell_of(me.pos, grid.cell_mm()));
      for (uint32_t h = hood.begin; h < hood.end; ++h) {
        const HoodItem& item = hood_items_[h];
        const int64_t d2 = distance_sq_mm2(me.pos, item.pos);
        if (d2 <= r * r) near_.push_back(Near{item.id == s.entity ? -1 : d2, item.id, item.index});
      }
    } else {
      grid.for_each_within_payload(me.pos, r, [&](EntityId id, Vec2 pos, uint32_t index) {
        near_.push_back(Near{id == s.entity ? -1 : distance_sq_mm2(me.pos, pos), id, index});
      });
    }
    auto closer = [](const Near& a, const Near& b) { return a.distance_sq != b.distance_sq ? a.distance_sq < b.distance_sq : a.id < b.id; };
    const size_t limit = cfg_.client_view_entities_max;
    if (near_.size() > limit) {
      by_id = false;
      std::nth_element(near_.begin(), near_.begin() + static_cast<std::ptrdiff_t>(limit), near_.end(), closer);
      for (size_t i = limit; i < near_.size(); ++i) {
        const EntityCache::Cached& st = cache_.state(near_[i].index);
        const int32_t cell = cfg_.aggregate_cell_mm;
        aggregates_.push_back(ClientView::Aggregate{floor_div(st.pos.x_mm, cell), floor_div(st.pos.y_mm, cell), st.team, 1});
      }
      near_.resize(limit);
      std::sort(aggregates_.begin(), aggregates_.end(), [](const ClientView::Aggregate& a, const ClientView::Aggregate& b) {
        return std::tie(a.cell_x, a.cell_y, a.team) < std::tie(b.cell_x, b.cell_y, b.team);
      });
      size_t out = 0;  // merge equal (cell, team) runs into counts
      for (size_t i = 0; i < aggregates_.size(); ++i) {
        if (out > 0 && aggregates_[out - 1].cell_x == aggregates_[i].cell_x && aggregates_[out - 1].cell_y == aggregates_[i].cell_y &&
            aggregates_[out - 1].team == aggregates_[i].team) {
          ++aggregates_[out - 1].count;
        } else {
          aggregates_[out++] = aggregates_[i];
        }
      }
      aggregates_.resize(std::min(out, client::kFarCellsMax));
    }
    if (!by_id) std::sort(near_.begin(), near_.end(), [](const Near& a, const Near& b) { return a.id < b.id; });
    const int64_t r2 = r * r;
    for (const Near& n : near_) {
      const client::Seen& seen = cache_.seen(n.index);
      const int64_t d2 = std::max<int64_t>(0, n.distance_sq);
      uint32_t weight = 1 + static_cast<uint32_t>(15 * std::max<int64_t>(0, r2 - d2) / r2);
      if (seen.team != me.team) weight += 4;
      if (seen.target == s.entity) weight += 16;
      candidates_.push_back(ViewCandidate{n.id, &seen, cache_.seen_version(n.index), weight});
    }
  }
  const ViewBuildStats built = s.view.build(tick, s.entity, candidates_, aggregates_, has_cooldown, cooldown, update_bytes_);
  stats_.changes_deferred += built.deferred;
  return !s.view.empty_update();
}

const Gateway::Hood& Gateway::hood_of(CellKey cell) {
  const uint64_t key = (uint64_t{static_cast<uint32_t>(cell.cx)} << 32) | static_cast<uint32_t>(cell.cy);
  if (const uint32_t n = hood_index_.find(key); n != IdIndex::kNone) return hoods_[n];
  const auto begin = static_cast<uint32_t>(hood_items_.size());
  for (int32_t dx = -1; dx <= 1; ++dx) {
    for (int32_t dy = -1; dy <= 1; ++dy) {
      grid_.for_each_in_cell_payload(CellKey{cell.cx + dx, cell.cy + dy},
                                     [&](EntityId id, Vec2 pos, uint32_t index) { hood_items_.push_back(HoodItem{id, pos, index}); });
    }
  }
  std::sort(hood_items_.begin() + begin, hood_items_.end(), [](const HoodItem& a, const HoodItem& b) { return a.id < b.id; });
  hood_index_.insert(key, static_cast<uint32_t>(hoods_.size()));
  hoods_.push_back(Hood{begin, static_cast<uint32_t>(hood_items_.size())});
  return hoods_.back();
}

ServerMessage Gateway::envelope(ServerBody body) const {
  return ServerMessage{cfg_.node, Role::kGateway, epoch_, tick_, std::move(body)};
}

void Gateway::trace(TraceKind kind, EntityId entity, int64_t a, int64_t b, NodeId peer) {
  record_trace(rt_.trace, kind, epoch_, tick_, entity, a, b, peer);
}

}  // namespace aether
