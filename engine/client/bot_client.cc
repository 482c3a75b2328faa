#include "engine/client/bot_client.h"

#include <cstdlib>

#include "engine/wire/codec.h"

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

BotClient::BotClient(Runtime& rt, BotConfig config) : rt_(rt), cfg_(std::move(config)), link_(rt, "") {
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
}

void BotClient::on_connected(ConnId conn) {
  if (!link_.handle_connected(conn)) return;
  const std::vector<uint8_t> hello = encode(ClientMessage{ClientHello{kProtocolVersion, cfg_.name, resume_entity_, resume_token_}});
  rt_.network.send(conn, hello);
}

void BotClient::on_closed(ConnId conn, CloseReason reason) {
  if (!link_.is(conn)) return;
  lost_connection();
  link_.handle_closed(conn);
}

void BotClient::lost_connection() {
  ++stats_.disconnects;
  me_ = EntityId{};
  view_.clear();
  // Try the next gateway: a lost gateway means reconnecting elsewhere (seed section 13).
  gateway_index_ = (gateway_index_ + 1) % cfg_.gateway_addresses.size();
  link_.retarget(cfg_.gateway_addresses[gateway_index_]);
}

void BotClient::on_message(ConnId conn, std::span<const uint8_t> payload) {
  if (!link_.is(conn)) return;
  stats_.bytes_received += payload.size();
  auto decoded = decode_gateway(payload);
  if (!decoded) {
    ++stats_.protocol_errors;
    log_at(rt_.log, LogLevel::kWarn, {}, "{}: gateway sent a bad message ({}); reconnecting", cfg_.name, decoded.error().message);
    rt_.network.close(conn);
    lost_connection();
    link_.handle_closed(conn);
    return;
  }
  if (const auto* w = std::get_if<Welcome>(&decoded.value())) {
    if (resume_entity_.valid() && w->entity == resume_entity_) ++stats_.resumes;
    me_ = w->entity;
    resume_entity_ = w->entity;
    resume_token_ = w->resume_token;
    ++stats_.welcomes;
  } else if (const auto* u = std::get_if<ClientUpdate>(&decoded.value())) {
    ++stats_.updates_received;
    apply(*u);
  } else {
    ++stats_.goodbyes;
    log_at(rt_.log, LogLevel::kInfo, {}, "{}: gateway said goodbye: {}", cfg_.name, std::get<Goodbye>(decoded.value()).reason);
  }
}

void BotClient::apply(const ClientUpdate& u) {
  for (const EntityState& st : u.entered) {
    if (view_.size() >= cfg_.view_entities_max && !view_.count(st.id)) {
      ++stats_.view_overflow;
      continue;
    }
    view_[st.id] = st;
  }
  for (const EntityChange& ch : u.changed) {
    auto it = view_.find(ch.id);
    if (it == view_.end()) continue;
    if (ch.pos) it->second.pos = *ch.pos;
    if (ch.hp) it->second.hp = *ch.hp;
    if (ch.flags) it->second.flags = *ch.flags;
    if (ch.target) it->second.target = *ch.target;
  }
  for (EntityId id : u.left) view_.erase(id);
}

void BotClient::think() {
  think_timer_ = rt_.timers.schedule(kTickNs, [this] { think(); });
  if (left_ || !link_.connected() || !me_.valid()) return;
  const ClientInput input = decide();
  const std::vector<uint8_t> bytes = encode(ClientMessage{input});
  if (rt_.network.send(link_.conn(), bytes) == SendStatus::kOk) ++stats_.inputs_sent;
}

ClientInput BotClient::decide() {
  ClientInput in;
  in.seq = ++seq_;
  auto self = view_.find(me_);
  if (self == view_.end() || (self->second.flags & kEntityFlagDead)) return in;
  const EntityState& me = self->second;
  const EntityState* enemy = nullptr;
  int64_t best = INT64_MAX;
  for (const auto& [id, st] : view_) {
    if (st.team == me.team || (st.flags & kEntityFlagDead)) continue;
    const int64_t d = distance_sq_mm2(me.pos, st.pos);
    if (d < best) {
      best = d;
      enemy = &st;
    }
  }
  if (enemy) {
    in.target = enemy->id;
    const int64_t range = cfg_.fire_range_mm;
    in.fire = best <= range * range;
    // Close in until well inside range, then circle the target.
    const int64_t dx = int64_t{enemy->pos.x_mm} - me.pos.x_mm;
    const int64_t dy = int64_t{enemy->pos.y_mm} - me.pos.y_mm;
    std::tie(in.move_x, in.move_y) = best > (range * range) / 2 ? direction(dx, dy) : direction(-dy, dx);
    return in;
  }
  if (waypoint_ticks_ == 0 || within_mm(me.pos, waypoint_, 2'000)) {
    // Roam toward the middle band of the arena, where the teams meet.
    const int64_t a = cfg_.arena_mm;
    waypoint_ = Vec2{static_cast<int32_t>(uniform_range(rt_.random, a / 4, 3 * a / 4)),
                     static_cast<int32_t>(uniform_range(rt_.random, a / 8, 7 * a / 8))};
    waypoint_ticks_ = kWaypointTicksMax;
  }
  --waypoint_ticks_;
  std::tie(in.move_x, in.move_y) = direction(int64_t{waypoint_.x_mm} - me.pos.x_mm, int64_t{waypoint_.y_mm} - me.pos.y_mm);
  return in;
}

}  // namespace aether
