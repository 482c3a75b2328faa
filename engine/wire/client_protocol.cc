#include "engine/wire/client_protocol.h"

#include <fmt/format.h>

#include "engine/core/assert.h"

namespace aether::client {

namespace {

Error malformed(std::string what) { return make_error(Error::Code::kMalformed, std::move(what)); }

// Rounds to the nearest centimetre, halves away from zero: the same on every compiler.
int32_t to_cm(int32_t mm) { return mm >= 0 ? (mm + kClientUnitMm / 2) / kClientUnitMm : -((-mm + kClientUnitMm / 2) / kClientUnitMm); }

void put_fields(ByteWriter& w, const Seen& had, const Seen& now, uint8_t mask) {
  if (mask & kChangedPos) {
    w.zigzag(int64_t{now.x_cm} - had.x_cm);
    w.zigzag(int64_t{now.y_cm} - had.y_cm);
  }
  if (mask & kChangedMotion) {
    w.zigzag(now.move_x);
    w.zigzag(now.move_y);
  }
  if (mask & kChangedHp) w.zigzag(now.hp);
  if (mask & kChangedFlags) w.varint(now.flags);
  if (mask & kChangedTarget) w.varint(now.target.value);
  if (mask & kChangedTeam) w.varint(now.team);
}

}  // namespace

Seen seen_of(const EntityState& s) {
  return Seen{s.id, s.kind, s.class_id, to_cm(s.pos.x_mm), to_cm(s.pos.y_mm), s.move_x, s.move_y, s.hp, s.team, s.flags, s.target};
}

uint8_t difference(const Seen& had, const Seen& now) {
  uint8_t mask = 0;
  if (had.x_cm != now.x_cm || had.y_cm != now.y_cm) mask |= kChangedPos;
  if (had.move_x != now.move_x || had.move_y != now.move_y) mask |= kChangedMotion;
  if (had.hp != now.hp) mask |= kChangedHp;
  if (had.flags != now.flags) mask |= kChangedFlags;
  if (had.target != now.target) mask |= kChangedTarget;
  if (had.team != now.team) mask |= kChangedTeam;
  return mask;
}

namespace {
size_t varint_bytes(uint64_t v) {
  size_t n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}
size_t zigzag_bytes(int64_t v) { return varint_bytes((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }

size_t fields_bytes(const Seen& had, const Seen& now, uint8_t mask) {
  size_t n = 0;
  if (mask & kChangedPos) n += zigzag_bytes(int64_t{now.x_cm} - had.x_cm) + zigzag_bytes(int64_t{now.y_cm} - had.y_cm);
  if (mask & kChangedMotion) n += zigzag_bytes(now.move_x) + zigzag_bytes(now.move_y);
  if (mask & kChangedHp) n += zigzag_bytes(now.hp);
  if (mask & kChangedFlags) n += varint_bytes(now.flags);
  if (mask & kChangedTarget) n += varint_bytes(now.target.value);
  if (mask & kChangedTeam) n += varint_bytes(now.team);
  return n;
}
}  // namespace

size_t entered_bytes(uint32_t slot, const Seen& s) {
  return varint_bytes(slot) + varint_bytes(s.id.value) + varint_bytes(s.kind) + varint_bytes(s.class_id) + fields_bytes(Seen{}, s, kChangedAll);
}
size_t changed_bytes(uint32_t slot, const Seen& had, const Seen& now, uint8_t mask) {
  return varint_bytes(slot) + 1 + fields_bytes(had, now, mask);
}
size_t left_bytes(uint32_t slot) { return varint_bytes(slot); }
size_t far_bytes(int32_t cell_x, int32_t cell_y, uint32_t team, uint32_t count) {
  return zigzag_bytes(cell_x) + zigzag_bytes(cell_y) + varint_bytes(team) + varint_bytes(count);
}

std::vector<uint8_t> encode_hello(const Hello& h) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(Type::kHello));
  w.varint(h.protocol_version);
  w.string(h.name);
  w.varint(h.resume_entity.value);
  w.varint(h.resume_token);
  if (h.protocol_version >= 4) {
    w.varint(h.access.id);
    w.varint(h.access.secret);
  }
  return out;
}

std::vector<uint8_t> encode_register(const Register& m) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(Type::kRegister));
  w.string(m.account);
  w.string(m.password);
  w.varint(m.class_id);
  return out;
}

std::vector<uint8_t> encode_login(const Login& m) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(Type::kLogin));
  w.string(m.account);
  w.string(m.password);
  return out;
}

namespace {
std::vector<uint8_t> encode_token_message(Type type, const WireToken& t) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(type));
  w.varint(t.id);
  w.varint(t.secret);
  return out;
}
WireToken read_token(ByteReader& r) {
  WireToken t;
  t.id = r.varint();
  t.secret = r.varint();
  return t;
}
}  // namespace

std::vector<uint8_t> encode_refresh(const Refresh& m) { return encode_token_message(Type::kRefresh, m.token); }
std::vector<uint8_t> encode_logout(const Logout& m) { return encode_token_message(Type::kLogout, m.token); }

std::vector<uint8_t> encode_client(const Message& m) {
  struct Encode {
    std::vector<uint8_t> operator()(const Hello& x) const { return encode_hello(x); }
    std::vector<uint8_t> operator()(const ClientInput& x) const { return encode_input(x); }
    std::vector<uint8_t> operator()(const Register& x) const { return encode_register(x); }
    std::vector<uint8_t> operator()(const Login& x) const { return encode_login(x); }
    std::vector<uint8_t> operator()(const Refresh& x) const { return encode_refresh(x); }
    std::vector<uint8_t> operator()(const Logout& x) const { return encode_logout(x); }
  };
  return std::visit(Encode{}, m);
}

std::vector<uint8_t> encode_auth_reply(const AuthReply& m) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(Type::kAuthReply));
  w.u8(m.code);
  w.string(m.message.size() > kReasonBytesMax ? std::string_view(m.message).substr(0, kReasonBytesMax) : std::string_view(m.message));
  w.varint(m.access.id);
  w.varint(m.access.secret);
  w.varint(m.refresh.id);
  w.varint(m.refresh.secret);
  w.varint(m.access_ttl_ms);
  w.varint(m.character);
  w.varint(m.class_id);
  return out;
}

std::vector<uint8_t> encode_input(const ClientInput& in) {
  std::vector<uint8_t> out;
  out.reserve(16);
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(Type::kInput));
  w.varint(in.seq);
  w.zigzag(in.move_x);
  w.zigzag(in.move_y);
  w.varint(in.target.value);
  w.u8(in.skill);
  return out;
}

Result<Message> decode_client(std::span<const uint8_t> bytes) {
  ByteReader r(bytes);
  const auto type = static_cast<Type>(r.u8());
  Message out;
  if (type == Type::kHello) {
    Hello h;
    h.protocol_version = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "protocol version out of range"));
    h.name = std::string(r.string(kNameBytesMax));
    h.resume_entity = EntityId(r.varint());
    h.resume_token = r.varint();
    if (h.protocol_version >= 4) h.access = read_token(r);
    out = h;
  } else if (type == Type::kRegister) {
    Register m;
    m.account = std::string(r.string(kAccountFieldBytesMax));
    m.password = std::string(r.string(kPasswordFieldBytesMax));
    m.class_id = static_cast<uint32_t>(r.varint_at_most(UINT16_MAX, "class out of range"));
    out = m;
  } else if (type == Type::kLogin) {
    Login m;
    m.account = std::string(r.string(kAccountFieldBytesMax));
    m.password = std::string(r.string(kPasswordFieldBytesMax));
    out = m;
  } else if (type == Type::kRefresh) {
    out = Refresh{read_token(r)};
  } else if (type == Type::kLogout) {
    out = Logout{read_token(r)};
  } else if (type == Type::kInput) {
    ClientInput in;
    in.seq = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "input sequence out of range"));
    const int64_t mx = r.zigzag(), my = r.zigzag();
    if (mx < -kMovePermilleMax || mx > kMovePermilleMax || my < -kMovePermilleMax || my > kMovePermilleMax) r.fail("movement out of range");
    in.move_x = static_cast<int32_t>(mx);
    in.move_y = static_cast<int32_t>(my);
    in.target = EntityId(r.varint());
    in.skill = r.u8();
    if (in.skill > kInputSkillSlotMax) r.fail("skill slot out of range");
    out = in;
  } else if (r.ok()) {
    return malformed(fmt::format("unknown client message type {}", static_cast<int>(type)));
  }
  if (r.ok() && !r.at_end()) r.fail("bytes after the message");
  if (!r.ok()) return malformed(fmt::format("client message: {}", r.error()));
  return out;
}

std::vector<uint8_t> encode_welcome(const Welcome& m) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(Type::kWelcome));
  w.varint(m.entity.value);
  w.varint(m.tick);
  w.varint(m.tick_hz);
  w.varint(m.view_radius_mm);
  w.varint(m.resume_token);
  return out;
}

std::vector<uint8_t> encode_goodbye(const Goodbye& g) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(Type::kGoodbye));
  w.string(g.reason.size() > kReasonBytesMax ? std::string_view(g.reason).substr(0, kReasonBytesMax) : std::string_view(g.reason));
  return out;
}

std::vector<uint8_t> encode_redirect(const Redirect& r) {
  AETHER_ASSERT(!r.address.empty() && r.address.size() <= kAddressBytesMax);
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(Type::kRedirect));
  w.string(r.address);
  return out;
}

std::vector<uint8_t> encode_hud(const AvatarHud& h) {
  AETHER_ASSERT(h.encounter.valid() ? !h.seats.empty() && h.actor < h.seats.size() && h.round >= 1 && h.round <= kEncounterRoundsMax
                                    : h.seats.empty());
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.u8(static_cast<uint8_t>(Type::kHud));
  w.u8(static_cast<uint8_t>(h.items.size()));
  for (size_t i = 0; i < h.items.size(); ++i) w.varint(h.items[i]);
  w.u8(h.encounter.valid() ? 1 : 0);
  if (h.encounter.valid()) {
    w.varint(h.round);
    w.varint(h.turn);
    w.varint(h.actor);
    w.varint(h.turn_ticks_left);
    w.u8(static_cast<uint8_t>(h.seats.size()));
    for (size_t i = 0; i < h.seats.size(); ++i) {
      w.varint(h.seats[i].entity.value);
      w.varint(h.seats[i].team);
    }
  }
  return out;
}

void UpdateWriter::begin(Tick tick) {
  out_.clear();
  w_.u8(static_cast<uint8_t>(Type::kUpdate));
  w_.varint(tick);
  section_ = 0;
  open();
}

void UpdateWriter::open() {
  count_at_ = out_.size();
  w_.u16(0);
  count_ = 0;
}

void UpdateWriter::patch() {
  AETHER_ASSERT(count_ <= UINT16_MAX);
  out_[count_at_] = static_cast<uint8_t>(count_);
  out_[count_at_ + 1] = static_cast<uint8_t>(count_ >> 8);
}

void UpdateWriter::to(int section) {
  AETHER_ASSERT_MSG(section >= section_ && section_ >= 0, "update sections out of order");
  while (section_ < section) {
    patch();
    ++section_;
    open();
  }
}

void UpdateWriter::entered(uint32_t slot, const Seen& s) {
  to(0);
  ++count_;
  w_.varint(slot);
  w_.varint(s.id.value);
  w_.varint(s.kind);
  w_.varint(s.class_id);
  put_fields(w_, Seen{}, s, kChangedAll);
}

void UpdateWriter::changed(uint32_t slot, const Seen& had, const Seen& now, uint8_t mask) {
  to(1);
  ++count_;
  w_.varint(slot);
  w_.u8(mask);
  put_fields(w_, had, now, mask);
}

void UpdateWriter::left(uint32_t slot) {
  to(2);
  ++count_;
  w_.varint(slot);
}

void UpdateWriter::far(int32_t cell_x, int32_t cell_y, uint32_t team, uint32_t count) {
  to(3);
  ++count_;
  w_.zigzag(cell_x);
  w_.zigzag(cell_y);
  w_.varint(team);
  w_.varint(count);
}

void UpdateWriter::end(bool has_cooldown, uint32_t cooldown_ticks) {
  to(3);
  patch();
  section_ = -1;
  w_.u8(has_cooldown ? 1 : 0);
  if (has_cooldown) w_.varint(cooldown_ticks);
}

Result<GatewayHeader> decode_gateway_header(ByteReader& r) {
  GatewayHeader h;
  h.type = static_cast<Type>(r.u8());
  switch (h.type) {
    case Type::kWelcome:
      h.welcome.entity = EntityId(r.varint());
      h.welcome.tick = r.varint();
      h.welcome.tick_hz = static_cast<uint32_t>(r.varint_at_most(1000, "tick rate out of range"));
      h.welcome.view_radius_mm = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "view radius out of range"));
      h.welcome.resume_token = r.varint();
      if (r.ok() && !r.at_end()) r.fail("bytes after the welcome");
      break;
    case Type::kGoodbye:
      h.goodbye.reason = std::string(r.string(kReasonBytesMax));
      if (r.ok() && !r.at_end()) r.fail("bytes after the goodbye");
      break;
    case Type::kRedirect:
      h.redirect.address = std::string(r.string(kAddressBytesMax));
      if (r.ok() && h.redirect.address.empty()) r.fail("redirect to no address");
      if (r.ok() && !r.at_end()) r.fail("bytes after the redirect");
      break;
    case Type::kAuthReply:
      h.auth.code = r.u8();
      if (r.ok() && h.auth.code > 6) r.fail("unknown auth code");
      h.auth.message = std::string(r.string(kReasonBytesMax));
      h.auth.access = read_token(r);
      h.auth.refresh = read_token(r);
      h.auth.access_ttl_ms = r.varint();
      h.auth.character = r.varint();
      h.auth.class_id = static_cast<uint32_t>(r.varint_at_most(UINT16_MAX, "class out of range"));
      if (r.ok() && !r.at_end()) r.fail("bytes after the auth reply");
      break;
    case Type::kHud: {
      const uint8_t items = r.u8();
      if (items > kInventoryItemsMax) r.fail("too many hud items");
      for (uint8_t i = 0; i < items && r.ok(); ++i) {
        const auto kind = static_cast<uint16_t>(r.varint_at_most(UINT16_MAX, "hud item kind out of range"));
        if (r.ok() && kind == 0) r.fail("hud item kind 0");
        if (r.ok()) h.hud.items.push_back(kind);
      }
      const uint8_t in_encounter = r.u8();
      if (in_encounter > 1) r.fail("bad hud encounter marker");
      if (in_encounter == 1 && r.ok()) {
        // The client never learns the encounter's id: any valid id says "in one".
        h.hud.encounter = EntityId(1);
        h.hud.round = static_cast<uint32_t>(r.varint_at_most(kEncounterRoundsMax, "hud round out of range"));
        if (r.ok() && h.hud.round == 0) r.fail("hud round 0");
        h.hud.turn = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "hud turn out of range"));
        h.hud.actor = static_cast<uint32_t>(r.varint_at_most(kEncounterSeatsMax - 1, "hud actor out of range"));
        h.hud.turn_ticks_left = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "hud timer out of range"));
        const uint8_t seats = r.u8();
        if (r.ok() && (seats == 0 || seats > kEncounterSeatsMax)) r.fail("hud seat count out of range");
        for (uint8_t i = 0; i < seats && r.ok(); ++i) {
          const EntityId who(r.varint());
          const auto team = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "hud team out of range"));
          if (r.ok() && !who.valid()) r.fail("hud seat of entity 0");
          if (r.ok()) h.hud.seats.push_back(EncounterSeat{who, team, 0});
        }
        if (r.ok() && h.hud.actor >= h.hud.seats.size()) r.fail("hud actor past the seats");
      }
      if (r.ok() && !r.at_end()) r.fail("bytes after the hud");
      break;
    }
    case Type::kUpdate: break;  // the caller reads the rest with read_update
    default:
      if (r.ok()) r.fail("unknown gateway message type");
  }
  if (!r.ok()) return malformed(fmt::format("gateway message: {}", r.error()));
  return h;
}

Result<UpdateValues> decode_update(std::span<const uint8_t> bytes) {
  ByteReader r(bytes);
  auto header = decode_gateway_header(r);
  if (!header) return header.error();
  if (header->type != Type::kUpdate) return malformed("not an update");
  UpdateValues v;
  v.tick = r.varint();
  struct Collect {
    UpdateValues& v;
    void entered(uint32_t slot, const Seen& s) { v.entered.emplace_back(slot, s); }
    void changed(uint32_t slot, const ChangedFields& c) { v.changed.emplace_back(slot, c); }
    void left(uint32_t slot) { v.left.push_back(slot); }
    void far(int32_t cx, int32_t cy, uint32_t team, uint32_t count) { v.far.push_back(UpdateValues::Far{cx, cy, team, count}); }
    void self(uint32_t cooldown) {
      v.has_cooldown = true;
      v.cooldown_ticks = cooldown;
    }
  } collect{v};
  if (!read_update(r, collect)) return malformed(fmt::format("update: {}", r.error()));
  return v;
}

}  // namespace aether::client
