#include "engine/client/bot_client.h"

#include <cstdlib>

#include "engine/accounts/account_service.h"


namespace aether {

namespace {
constexpr uint32_t kWaypointTicksMax = 80;  // pick a new roaming point at least every 8 s

// A direction (dx, dy) as permille per axis, the larger axis at full scale.
std::pair<int32_t, int32_t> direction(int64_t dx, int64_t dy) {
  const int64_t m = std::max(std::llabs(dx), std::llabs(dy));
  if (m == 0) return {0, 0};
  return {static_cast<int32_t>(dx * 1000 / m), static_cast<int32_t>(dy * 1000 / m)};
}
}  // namespace

namespace {
std::shared_ptr<const gameplay::Content> content_of(const BotConfig& cfg) {
  gameplay::Rules rules;
  rules.fire_range_mm = cfg.fire_range_mm;
  rules.content = cfg.content;
  return gameplay::content_of(rules);
}
}  // namespace

BotClient::BotClient(Runtime& rt, BotConfig config) : rt_(rt), cfg_(std::move(config)), link_(rt, ""), content_(content_of(cfg_)) {
  AETHER_ASSERT(!cfg_.gateway_addresses.empty());
  link_.retarget(cfg_.gateway_addresses[0]);
  rt_.network.set_handler(this);
}

BotClient::~BotClient() {
  if (think_timer_ != 0) rt_.timers.cancel(think_timer_);
  if (start_timer_ != 0) rt_.timers.cancel(start_timer_);
}

void BotClient::start() {
  start_timer_ = rt_.timers.schedule(cfg_.start_delay_ns, [this] {
    start_timer_ = 0;
    link_.start();
    // Thinking runs at the tick rate, at a random phase so that bots do not all speak at once.
    const auto phase = static_cast<TimeNs>(uniform_below(rt_.random, static_cast<uint64_t>(kTickNs)));
    think_timer_ = rt_.timers.schedule(phase, [this] { think(); });
  });
}

void BotClient::leave() {
  left_ = true;
  resume_entity_ = EntityId{};
  link_.stop();
  me_ = EntityId{};
  view_.clear();
  view_count_ = 0;
  me_slot_ = UINT32_MAX;
}

void BotClient::on_connected(ConnId conn) {
  if (!link_.handle_connected(conn)) return;
  auth_attempts_ = 0;
  // Accounts: without a session token or an avatar to resume, log in (or register) first.
  if (cfg_.account.enabled && access_.id == 0 && !(resume_entity_.valid() && resume_token_ != 0)) {
    ++auth_attempts_;
    rt_.network.send(conn, registered_ ? client::encode_login(client::Login{cfg_.name, cfg_.account.password})
                                       : client::encode_register(client::Register{cfg_.name, cfg_.account.password, cfg_.account.class_id}));
    return;
  }
  send_hello(conn);
}

// A log-out (relog_every_ns): the gateway ends our session and our avatar with it; the next
// connection logs in and spawns our character's next life.
void BotClient::log_out() {
  logging_out_ = true;
  rt_.network.send(link_.conn(), client::encode_logout(client::Logout{access_}));
}

void BotClient::send_hello(ConnId conn) {
  const client::Hello hello{client::kProtocolVersion, cfg_.name, resume_entity_, resume_token_, access_};
  rt_.network.send(conn, client::encode_hello(hello));
}

// At most kBotAuthAttemptsMax requests a connection; then the bot reconnects (the link's backoff).
void BotClient::on_auth_reply(ConnId conn, const client::AuthReply& reply) {
  constexpr uint32_t kBotAuthAttemptsMax = 4;
  const auto code = static_cast<accounts::AuthCode>(reply.code);
  if (logging_out_) {
    logging_out_ = false;
    welcomed_at_ns_ = rt_.clock.now_ns();
    if (code != accounts::AuthCode::kOk) {
      ++stats_.relogs_refused;  // a token of another gateway (we resumed here on our avatar's token): play on
      access_ = {};
      return;
    }
    // The gateway closes the session: the next connection logs in and spawns a new life.
    ++stats_.relogs;
    logged_out_at_ns_ = rt_.clock.now_ns();
    access_ = {};
    refresh_ = {};
    resume_entity_ = EntityId{};
    resume_token_ = 0;
    return;
  }
  if (code == accounts::AuthCode::kOk) {
    ++stats_.logins;
    registered_ = true;
    access_ = reply.access;
    refresh_ = reply.refresh;
    send_hello(conn);
    return;
  }
  ++stats_.auth_refused;
  log_at(rt_.log, LogLevel::kDebug, {}, "{}: account request refused: {}", cfg_.name, reply.message);
  if (auth_attempts_ < kBotAuthAttemptsMax && (code == accounts::AuthCode::kNameTaken || code == accounts::AuthCode::kRefused)) {
    registered_ = code == accounts::AuthCode::kNameTaken;  // taken: log in; refused: no account here, register
    ++auth_attempts_;
    rt_.network.send(conn, registered_ ? client::encode_login(client::Login{cfg_.name, cfg_.account.password})
                                       : client::encode_register(client::Register{cfg_.name, cfg_.account.password, cfg_.account.class_id}));
    return;
  }
  rt_.network.close(conn);
  lost_connection();
  link_.handle_closed(conn);
}

void BotClient::on_closed(ConnId conn, CloseReason reason) {
  if (!link_.is(conn)) return;
  lost_connection();
  link_.handle_closed(conn);
}

void BotClient::forget_view() {
  me_ = EntityId{};
  view_.clear();
  view_count_ = 0;
  me_slot_ = UINT32_MAX;
}

void BotClient::lost_connection() {
  ++stats_.disconnects;
  logging_out_ = false;
  forget_view();
  // Try the next gateway: a lost gateway means reconnecting elsewhere (seed section 13).
  gateway_index_ = (gateway_index_ + 1) % cfg_.gateway_addresses.size();
  link_.retarget(cfg_.gateway_addresses[gateway_index_]);
}

void BotClient::on_message(ConnId conn, std::span<const uint8_t> payload) {
  if (!link_.is(conn)) return;
  stats_.bytes_received += payload.size();
  ByteReader r(payload);
  auto header = client::decode_gateway_header(r);
  const char* error = nullptr;
  if (!header) {
    error = "malformed header";
  } else if (header->type == client::Type::kWelcome) {
    const client::Welcome& w = header->welcome;
    if (resume_entity_.valid() && w.entity == resume_entity_) ++stats_.resumes;
    me_ = w.entity;
    redirected_at_ns_ = 0;
    kicked_at_ns_ = 0;
    resume_entity_ = w.entity;
    resume_token_ = w.resume_token;
    welcomed_at_ns_ = rt_.clock.now_ns();
    logged_out_at_ns_ = 0;
    ++stats_.welcomes;
  } else if (header->type == client::Type::kUpdate) {
    ++stats_.updates_received;
    if (!apply_update(r)) error = r.ok() ? "inconsistent update" : r.error();
  } else if (header->type == client::Type::kRedirect) {
    // Our avatar's region has another gateway: go there and resume (the avatar waits for us).
    ++stats_.redirects;
    redirected_at_ns_ = rt_.clock.now_ns();
    rt_.network.close(conn);
    forget_view();
    link_.handle_closed(conn);
    link_.retarget(header->redirect.address);
    return;
  } else if (header->type == client::Type::kAuthReply) {
    on_auth_reply(conn, header->auth);
    return;
  } else if (header->type == client::Type::kHud) {
    ++stats_.huds_received;
    return;
  } else {
    ++stats_.goodbyes;
    if (header->goodbye.reason == "too many refused actions") {
      ++stats_.kicked;
      kicked_at_ns_ = rt_.clock.now_ns();
    }
    log_at(rt_.log, LogLevel::kInfo, {}, "{}: gateway said goodbye: {}", cfg_.name, header->goodbye.reason);
    // Our token was refused, or our avatar is gone: the next connection logs in, or spawns anew.
    if (header->goodbye.reason.rfind("not logged in", 0) == 0) {
      ++stats_.auth_refused;
      access_ = {};
    }
    if (header->goodbye.reason == "resume refused") {
      resume_entity_ = EntityId{};
      resume_token_ = 0;
    }
  }
  if (error) {
    ++stats_.protocol_errors;
    log_at(rt_.log, LogLevel::kWarn, {}, "{}: gateway sent a bad message ({}); reconnecting", cfg_.name,
           header ? error : header.error().message.c_str());
    rt_.network.close(conn);
    lost_connection();
    link_.handle_closed(conn);
  }
}

// Applies an update to the slots as it is read. A change or departure of a free slot, or an entry
// into a taken one, means the gateway and we disagree on what we know: the update is refused and
// the connection dropped (a resume gives a fresh view).
bool BotClient::apply_update(ByteReader& r) {
  struct Apply {
    BotClient& bot;
    bool consistent = true;
    void entered(uint32_t slot, const client::Seen& s) {
      if (slot >= bot.view_.size()) bot.view_.resize(slot + 1);
      if (bot.view_[slot].id.valid()) consistent = false;
      bot.view_[slot] = s;
      ++bot.view_count_;
      if (s.id == bot.me_) bot.me_slot_ = slot;
    }
    void changed(uint32_t slot, const client::ChangedFields& c) {
      if (slot >= bot.view_.size() || !bot.view_[slot].id.valid()) {
        consistent = false;
        return;
      }
      client::Seen& s = bot.view_[slot];
      if (c.mask & client::kChangedPos) {
        s.x_cm += c.dx_cm;
        s.y_cm += c.dy_cm;
      }
      if (c.mask & client::kChangedMotion) {
        s.move_x = c.move_x;
        s.move_y = c.move_y;
      }
      if (c.mask & client::kChangedHp) s.hp = c.hp;
      if (c.mask & client::kChangedFlags) s.flags = c.flags;
      if (c.mask & client::kChangedTarget) s.target = c.target;
      if (c.mask & client::kChangedTeam) s.team = c.team;
    }
    void left(uint32_t slot) {
      if (slot >= bot.view_.size() || !bot.view_[slot].id.valid()) {
        consistent = false;
        return;
      }
      if (slot == bot.me_slot_) bot.me_slot_ = UINT32_MAX;
      bot.view_[slot] = client::Seen{};
      --bot.view_count_;
    }
    void far(int32_t, int32_t, uint32_t, uint32_t) {}
    void self(uint32_t) {}
  } apply{*this};
  r.varint();  // tick
  return client::read_update(r, apply) && apply.consistent;
}

void BotClient::think() {
  think_timer_ = rt_.timers.schedule(kTickNs, [this] { think(); });
  if (left_ || !link_.connected() || !me_.valid()) return;
  if (cfg_.relog_every_ns > 0 && cfg_.account.enabled && !logging_out_ && access_.id != 0 && welcomed_at_ns_ != 0 &&
      rt_.clock.now_ns() - welcomed_at_ns_ >= cfg_.relog_every_ns) {
    log_out();
    return;
  }
  const ClientInput input = decide();
  const std::vector<uint8_t> bytes = client::encode_input(input);
  if (rt_.network.send(link_.conn(), bytes) == SendStatus::kOk) ++stats_.inputs_sent;
}

ClientInput BotClient::decide() {
  ClientInput in;
  in.seq = ++seq_;
  if (me_slot_ >= view_.size() || (view_[me_slot_].flags & kEntityFlagDead)) return in;
  const client::Seen& me = view_[me_slot_];
  const Vec2 my_pos{me.x_cm * client::kClientUnitMm, me.y_cm * client::kClientUnitMm};
  const client::Seen* enemy = nullptr;
  int64_t best = INT64_MAX;
  for (const client::Seen& st : view_) {  // by slot: a flat walk, no map
    if (!st.id.valid() || st.team == me.team || (st.flags & kEntityFlagDead)) continue;
    const int64_t dx = int64_t{st.x_cm} - me.x_cm, dy = int64_t{st.y_cm} - me.y_cm;
    const int64_t d = dx * dx + dy * dy;
    if (d < best || (d == best && st.id < enemy->id)) {
      best = d;
      enemy = &st;
    }
  }
  if (cfg_.cheat) {
    in.skill = 0;
    cheat(me, enemy, in);
    if (enemy) std::tie(in.move_x, in.move_y) = direction(int64_t{enemy->x_cm} - me.x_cm, int64_t{enemy->y_cm} - me.y_cm);
    return in;
  }
  const std::optional<gameplay::Place> place = content_->place_of(my_pos);
  const gameplay::ZoneDef* zone = place ? place->zone : nullptr;
  // In an instance's slot, the template's portals and middle band stand at the slot's shift (0 elsewhere).
  const int32_t shift_mm = zone ? zone->slot_shift(place->slot).x_mm : 0;
  if (cfg_.travel && zone && seq_ >= next_travel_) {
    // Travel: the nearest portal of our zone (ties: the lower id); once through, fight again. At a
    // portal into an instance, it waits there until its party's slot is given.
    const gameplay::PortalDef* portal = nullptr;
    auto at = [&](const gameplay::PortalDef& p) { return Vec2{p.pos.x_mm + shift_mm, p.pos.y_mm}; };
    for (const gameplay::PortalDef& p : content_->portals) {
      if (p.zone == zone->id && (!portal || distance_sq_mm2(my_pos, at(p)) < distance_sq_mm2(my_pos, at(*portal)))) portal = &p;
    }
    if (portal) {
      if (travel_from_ != zone->id) travel_from_ = zone->id;
      std::tie(in.move_x, in.move_y) = direction(int64_t{at(*portal).x_mm} - my_pos.x_mm, int64_t{portal->pos.y_mm} - my_pos.y_mm);
      return in;
    }
  }
  if (cfg_.travel && zone && travel_from_ != 0 && travel_from_ != zone->id) {
    travel_from_ = 0;  // through: fight here for a while
    next_travel_ = seq_ + kTravelEveryTicks;
    waypoint_ticks_ = 0;
  }
  in.skill = choose_skill(me, enemy, best);
  if (cfg_.challenge && enemy && enemy->team != kNpcTeam && seq_ >= next_challenge_ && seq_ >= casting_until_) {
    // A duel: close in, then challenge once within range (a little inside it: both keep moving).
    const int64_t reach_cm = content_->encounters.challenge_range_mm * 8 / 10 / client::kClientUnitMm;
    in.target = enemy->id;
    if (best <= reach_cm * reach_cm) {
      in.skill = kChallengeSlot;
      next_challenge_ = seq_ + kChallengeEveryTicks;
    } else {
      std::tie(in.move_x, in.move_y) = direction(int64_t{enemy->x_cm} - me.x_cm, int64_t{enemy->y_cm} - me.y_cm);
    }
    return in;
  }
  if (seq_ < casting_until_) {
    if (enemy) in.target = enemy->id;
    return in;  // casting: standing still, or the cast is lost
  }
  if (enemy) {
    in.target = enemy->id;
    const int64_t range_cm = reach_mm(me) / client::kClientUnitMm;
    // Close in until well inside range, then circle the target.
    const int64_t dx = int64_t{enemy->x_cm} - me.x_cm;
    const int64_t dy = int64_t{enemy->y_cm} - me.y_cm;
    std::tie(in.move_x, in.move_y) = best > (range_cm * range_cm) / 2 ? direction(dx, dy) : direction(-dy, dx);
    return in;
  }
  if (waypoint_ticks_ == 0 || within_mm(my_pos, waypoint_, 2'000)) {
    // Roam toward the middle band of the arena, where the teams meet.
    // With zones: the middle band of the zone it is in.
    const int64_t a = cfg_.arena_mm;
    if (zone) {
      waypoint_ = Vec2{static_cast<int32_t>(zone->min.x_mm + shift_mm + uniform_range(rt_.random, zone->width_mm / 4, 3 * int64_t{zone->width_mm} / 4)),
                       static_cast<int32_t>(zone->min.y_mm + uniform_range(rt_.random, zone->height_mm / 8, 7 * int64_t{zone->height_mm} / 8))};
    } else {
      waypoint_ = Vec2{static_cast<int32_t>(uniform_range(rt_.random, a / 4, 3 * a / 4)),
                       static_cast<int32_t>(uniform_range(rt_.random, a / 8, 7 * a / 8))};
    }
    waypoint_ticks_ = kWaypointTicksMax;
  }
  --waypoint_ticks_;
  std::tie(in.move_x, in.move_y) = direction(int64_t{waypoint_.x_mm} - my_pos.x_mm, int64_t{waypoint_.y_mm} - my_pos.y_mm);
  return in;
}

void BotClient::cheat(const client::Seen& me, const client::Seen* nearest, ClientInput& in) {
  const gameplay::ClassDef* cls = content_->find_class(static_cast<uint16_t>(me.class_id));
  if (!cls) return;
  // The bar's first enemy skill with a cooldown (or any enemy skill), its range, and the enemy
  // farthest from us and the nearest ally in view. (The bar ends with its filler: an enemy skill.)
  uint8_t enemy_slot = 0;
  int32_t range_mm = 0;
  for (uint32_t slot = 1; slot <= cls->skills.size(); ++slot) {
    const gameplay::SkillDef* s = content_->skill_in_slot(*cls, slot);
    if (s && s->aim == gameplay::Aim::kEnemy && (enemy_slot == 0 || s->cooldown_ticks > 0)) {
      enemy_slot = static_cast<uint8_t>(slot);
      range_mm = s->range_mm;
      if (s->cooldown_ticks > 0) break;
    }
  }
  const client::Seen* far = nullptr;
  const client::Seen* ally = nullptr;
  int64_t far_d = -1, ally_d = INT64_MAX;
  for (const client::Seen& st : view_) {
    if (!st.id.valid() || st.id == me.id || (st.flags & kEntityFlagDead)) continue;
    const int64_t dx = int64_t{st.x_cm} - me.x_cm, dy = int64_t{st.y_cm} - me.y_cm;
    const int64_t d = dx * dx + dy * dy;
    if (st.team != me.team && d > far_d) far_d = d, far = &st;
    if (st.team == me.team && d < ally_d) ally_d = d, ally = &st;
  }
  const int64_t range_cm = range_mm / client::kClientUnitMm;
  switch (cheats_++ % 4) {
    case 0:  // the filler at the nearest enemy, again and again: on the global cooldown but the first time
      if (nearest) in.target = nearest->id;
      in.skill = static_cast<uint8_t>(cls->skills.size());
      break;
    case 1:  // an enemy out of range
      if (far && far_d > range_cm * range_cm) {
        in.target = far->id;
        in.skill = enemy_slot;
      }
      break;
    case 2:  // an ally, with an enemy skill
      if (ally) {
        in.target = ally->id;
        in.skill = enemy_slot;
      }
      break;
    default:  // a slot past the class's bar
      in.skill = static_cast<uint8_t>(std::min<size_t>(cls->skills.size() + 1, gameplay::kClassSkillsMax));
      if (far) in.target = far->id;
      break;
  }
}

// How close the bot fights: the longest reach of its class's enemy skills.
int32_t BotClient::reach_mm(const client::Seen& me) const {
  const gameplay::ClassDef* cls = content_->find_class(static_cast<uint16_t>(me.class_id));
  int32_t reach = 0;
  if (cls) {
    for (uint16_t id : cls->skills) {
      const gameplay::SkillDef* s = content_->find_skill(id);
      if (s && s->aim == gameplay::Aim::kEnemy) reach = std::max(reach, s->range_mm);
    }
  }
  return reach > 0 ? reach : cfg_.fire_range_mm;
}

uint8_t BotClient::choose_skill(const client::Seen& me, const client::Seen* enemy, int64_t d2_cm) {
  const gameplay::ClassDef* cls = content_->find_class(static_cast<uint16_t>(me.class_id));
  if (!cls || seq_ < global_ready_) return 0;
  const bool hurt = me.hp * 2 < cls->hp_max;
  for (uint32_t slot = 1; slot <= cls->skills.size(); ++slot) {
    const gameplay::SkillDef* skill = content_->skill_in_slot(*cls, slot);
    if (!skill || seq_ < slot_ready_[slot]) continue;
    bool use = false;
    if (skill->aim == gameplay::Aim::kEnemy) {
      const int64_t range_cm = skill->range_mm / client::kClientUnitMm;
      use = enemy && d2_cm <= range_cm * range_cm;
    } else {
      use = hurt || (skill->heal == 0 && enemy);  // a buff or a ward: whenever it is ready in a fight
    }
    if (!use) continue;
    slot_ready_[slot] = seq_ + skill->cast_ticks + std::max<uint32_t>(skill->cooldown_ticks, 1);
    if (skill->on_global_cooldown) global_ready_ = seq_ + std::max<uint32_t>(content_->global_cooldown_ticks, 1);
    if (skill->cast_ticks > 0) casting_until_ = seq_ + skill->cast_ticks + 1;
    return static_cast<uint8_t>(slot);
  }
  return 0;
}

}  // namespace aether
