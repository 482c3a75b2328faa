#pragma once
// The client protocol: what a player's client and its gateway say to each other, in Aether's own
// compact binary (engine/wire/bytes.h), versioned by the hello. Kept apart from the servers'
// protocol: a client never learns a node id, an owner, a generation or a version.
//
// Every message starts with a type byte. Client -> gateway:
//   kHello   varint protocol version, string name (<= kNameBytesMax), varint resume entity, varint resume token,
//            and from version 4: varint access token id, varint access token secret (0 0: none)
//   kRegister string account name (<= kAccountFieldBytesMax), string password (<= kPasswordFieldBytesMax),
//            varint class of the first character
//   kLogin   string account name, string password
//   kRefresh varint refresh token id, varint refresh token secret
//   kLogout  varint token id, varint token secret (either token of the session)
//   kInput   varint seq, zigzag move x, zigzag move y (permille), varint target, u8 skill slot (0: none, <= kInputSkillSlotMax)
// Gateway -> client:
//   kWelcome varint entity, varint tick, varint tick hz, varint view radius mm, varint resume token
//   kUpdate  varint tick, then four sections, each a u16 count and its items:
//            entered: n x (varint slot, varint entity id, kind, class, x cm, y cm, motion, hp, flags, target, team)
//            changed: n x (varint slot, u8 mask, the fields the mask names)
//            left:    n x varint slot
//            far:     n x (zigzag cell x, zigzag cell y, varint team, varint count): when present,
//                     the whole far view, replacing the one before (about once per second); an
//                     empty far view is sent as one item of count 0
//            then u8 1 + varint cooldown ticks of the client's own avatar, or u8 0
//   kGoodbye string reason (<= kReasonBytesMax)
//   kAuthReply u8 code (accounts::AuthCode), string message (<= kReasonBytesMax), varint access id,
//            varint access secret, varint refresh id, varint refresh secret, varint access ttl ms,
//            varint character, varint class: the answer to a register, login, refresh or logout
//            (tokens and character 0 unless the code is ok)
//   kHud     the player's own bag and encounter (AvatarHud, messages.h; never another player's):
//            u8 item count (<= kInventoryItemsMax), varint kind (1..65535) each; then u8 0 (in no
//            encounter) or u8 1, varint round (1..kEncounterRoundsMax), varint turn, varint actor
//            (< seats), varint turn ticks left, u8 seat count (1..kEncounterSeatsMax), and per seat
//            in turn order varint entity (not 0), varint team. Each replaces the one before.
//   kRedirect string address (1..kAddressBytesMax): this gateway does not serve the part of the
//            arena the avatar is in; connect to `address` and resume (the avatar waits there, the
//            token of the last Welcome still valid). The gateway closes the connection after it.
//
// Slots: the gateway names each entity a client knows by a small number (below the view limit),
// given in `entered` and freed by `left`, so a change costs one byte of name instead of an id.
// Positions are in centimetres (kClientUnitMm): absolute in `entered`, a delta from the last one
// sent in `changed`. Fields in `entered` and `changed` are encoded as: kind varint and class varint (entered only),
// position zigzag pair, motion zigzag pair, hp zigzag, flags varint, target varint (an entity id:
// the client looks it up among what it knows), team varint. Ranges, checked when read (a value out
// of range is malformed, never cut to fit): a position within +-kPositionCmMax (a change of one
// within twice that), motion within +-kMovePermilleMax, hp within +-kHealthAbsMax, cells in int32.

#include <cstdint>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "engine/core/ids.h"
#include "engine/core/result.h"
#include "engine/wire/bytes.h"
#include "engine/wire/messages.h"

namespace aether::client {

inline constexpr uint32_t kProtocolVersion = 4;  // 3: skills (input slot, class in entered); 4: accounts (token in hello, 30-34)
inline constexpr size_t kAccountFieldBytesMax = 64;
inline constexpr size_t kPasswordFieldBytesMax = 128;
inline constexpr int32_t kClientUnitMm = 10;  // positions to clients are in centimetres
inline constexpr int32_t kPositionCmMax = kCoordinateMmMax / kClientUnitMm;  // either axis, either sign
inline constexpr uint32_t kSlotsMax = 4096;   // a view never names more entities at once
inline constexpr size_t kFarCellsMax = 4096;  // aggregates in one update

enum class Type : uint8_t {
  kHello = 1, kInput = 2, kWelcome = 10, kUpdate = 11, kGoodbye = 12, kRedirect = 13,
  kRegister = 30, kLogin = 31, kRefresh = 32, kLogout = 33, kAuthReply = 34,  // accounts (30-34)
  kHud = 40,                                                                      // browser (40-44)
};

// A session token (engine/accounts/session_book.h): 0 0 is none.
struct WireToken {
  uint64_t id = 0;
  uint64_t secret = 0;
  friend bool operator==(const WireToken&, const WireToken&) = default;
};

// Client -> gateway. (ClientInput itself lives in messages.h: gateways forward it to owners.)
struct Hello {
  uint32_t protocol_version = kProtocolVersion;
  std::string name;
  EntityId resume_entity{};
  uint64_t resume_token = 0;
  WireToken access = {};  // version 4 on
};
struct Register {
  std::string account;
  std::string password;
  uint32_t class_id = 0;
};
struct Login {
  std::string account;
  std::string password;
};
struct Refresh {
  WireToken token;
};
struct Logout {
  WireToken token;
};
using Message = std::variant<Hello, ClientInput, Register, Login, Refresh, Logout>;

// Gateway -> client.
struct Welcome {
  EntityId entity{};
  Tick tick = 0;
  uint32_t tick_hz = 0;
  uint32_t view_radius_mm = 0;
  uint64_t resume_token = 0;  // present it (with the entity) to any gateway to take the avatar back
};
struct Goodbye {
  std::string reason;
};
struct AuthReply {
  uint8_t code = 0;  // accounts::AuthCode
  std::string message;
  WireToken access;
  WireToken refresh;
  uint64_t access_ttl_ms = 0;
  uint64_t character = 0;
  uint32_t class_id = 0;
  friend bool operator==(const AuthReply&, const AuthReply&) = default;
};
struct Redirect {
  std::string address;
};

// `changed` masks.
enum ChangeBit : uint8_t {
  kChangedPos = 1u << 0,
  kChangedMotion = 1u << 1,
  kChangedHp = 1u << 2,
  kChangedFlags = 1u << 3,
  kChangedTarget = 1u << 4,
  kChangedTeam = 1u << 5,
};
inline constexpr uint8_t kChangedAll = 0x3f;

// What a client is told about an entity: its public projection, positions in centimetres.
struct Seen {
  EntityId id{};
  uint32_t kind = 0;
  uint32_t class_id = 0;  // content class (gameplay::ClassDef): fixed for an entity's life
  int32_t x_cm = 0, y_cm = 0;
  int32_t move_x = 0, move_y = 0;
  int32_t hp = 0;
  uint32_t team = 0;
  uint32_t flags = 0;
  EntityId target{};
  friend bool operator==(const Seen&, const Seen&) = default;
};
Seen seen_of(const EntityState& s);  // the public projection, quantised
// Which fields differ (a changed mask).
uint8_t difference(const Seen& had, const Seen& now);

// --- client -> gateway ---
std::vector<uint8_t> encode_hello(const Hello& h);
std::vector<uint8_t> encode_input(const ClientInput& in);
std::vector<uint8_t> encode_register(const Register& m);
std::vector<uint8_t> encode_login(const Login& m);
std::vector<uint8_t> encode_refresh(const Refresh& m);
std::vector<uint8_t> encode_logout(const Logout& m);
std::vector<uint8_t> encode_client(const Message& m);  // whichever it holds
// Hello or input; anything else (or malformed) is an error naming what was wrong.
Result<Message> decode_client(std::span<const uint8_t> bytes);

// --- gateway -> client ---
std::vector<uint8_t> encode_welcome(const Welcome& w);
std::vector<uint8_t> encode_goodbye(const Goodbye& g);
std::vector<uint8_t> encode_redirect(const Redirect& r);  // address: 1..kAddressBytesMax bytes
std::vector<uint8_t> encode_auth_reply(const AuthReply& r);
std::vector<uint8_t> encode_hud(const AvatarHud& h);  // h as the codec accepts it (entity not sent)

// Exact encoded sizes of update items, so that a gateway can choose what fits a byte budget before
// writing anything.
size_t entered_bytes(uint32_t slot, const Seen& s);
size_t changed_bytes(uint32_t slot, const Seen& had, const Seen& now, uint8_t mask);
size_t left_bytes(uint32_t slot);
size_t far_bytes(int32_t cell_x, int32_t cell_y, uint32_t team, uint32_t count);
inline constexpr size_t kUpdateFixedBytesMax = 1 + 10 + 4 * 2 + 1 + 5;  // type, tick, four counts, self

// Builds one update in a buffer the caller reuses (no allocation once warm). Sections in order:
// begin, entered..., changed..., left..., far..., end.
class UpdateWriter {
 public:
  explicit UpdateWriter(std::vector<uint8_t>& out) : out_(out), w_(out) {}
  void begin(Tick tick);
  void entered(uint32_t slot, const Seen& s);
  void changed(uint32_t slot, const Seen& had, const Seen& now, uint8_t mask);
  void left(uint32_t slot);
  void far(int32_t cell_x, int32_t cell_y, uint32_t team, uint32_t count);
  void end(bool has_cooldown, uint32_t cooldown_ticks);
  size_t size() const { return out_.size(); }

 private:
  void to(int section);  // closes the sections before `section`
  void open();
  void patch();
  std::vector<uint8_t>& out_;
  ByteWriter w_;
  // Counts are not known up front: each section's count is a fixed 2-byte slot patched at its end.
  int section_ = -1;
  size_t count_at_ = 0;
  uint32_t count_ = 0;
};

// Reads one update, calling the handler for each item as it goes (no allocation). The handler has
// entered(slot, Seen), changed(slot, mask, dx_cm, dy_cm, move_x, move_y, hp, flags, target, team),
// left(slot), far(cx, cy, team, count), self(cooldown). Stops at the first malformed byte.
struct ChangedFields {
  uint8_t mask = 0;
  int32_t dx_cm = 0, dy_cm = 0;
  int32_t move_x = 0, move_y = 0;
  int32_t hp = 0;
  uint32_t flags = 0, team = 0;
  EntityId target{};
};
template <class Handler>
bool read_update(ByteReader& r, Handler& h);

// Welcome, update (as a type byte only: read_update reads the rest), goodbye, redirect, auth reply or hud.
struct GatewayHeader {
  Type type{};
  Welcome welcome;
  Goodbye goodbye;
  Redirect redirect;
  AuthReply auth;
  AvatarHud hud;  // entity left invalid: the client's own avatar
};
Result<GatewayHeader> decode_gateway_header(ByteReader& r);

// The whole update as values, for tests and tools (clients use read_update).
struct UpdateValues {
  Tick tick = 0;
  std::vector<std::pair<uint32_t, Seen>> entered;
  std::vector<std::pair<uint32_t, ChangedFields>> changed;
  std::vector<uint32_t> left;
  struct Far {
    int32_t cell_x, cell_y;
    uint32_t team, count;
  };
  std::vector<Far> far;
  bool has_cooldown = false;
  uint32_t cooldown_ticks = 0;
};
Result<UpdateValues> decode_update(std::span<const uint8_t> bytes);

// --- read_update, inline ---

namespace detail {
// A zigzag value that must lie in [lo, hi] (within int32): outside is malformed, never cut.
inline int32_t zigzag_within(ByteReader& r, int64_t lo, int64_t hi, const char* what) {
  const int64_t v = r.zigzag();
  if (v < lo || v > hi) return static_cast<int32_t>(r.fail(what));
  return static_cast<int32_t>(v);
}
// pos_max: an absolute position (entered) or a change of one (changed, twice as far).
inline void read_fields(ByteReader& r, uint8_t mask, ChangedFields& c, int64_t pos_max) {
  c.mask = mask;
  if (mask & kChangedPos) {
    c.dx_cm = zigzag_within(r, -pos_max, pos_max, "position out of range");
    c.dy_cm = zigzag_within(r, -pos_max, pos_max, "position out of range");
  }
  if (mask & kChangedMotion) {
    c.move_x = zigzag_within(r, -kMovePermilleMax, kMovePermilleMax, "motion out of range");
    c.move_y = zigzag_within(r, -kMovePermilleMax, kMovePermilleMax, "motion out of range");
  }
  if (mask & kChangedHp) c.hp = zigzag_within(r, -kHealthAbsMax, kHealthAbsMax, "health out of range");
  if (mask & kChangedFlags) c.flags = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "flags out of range"));
  if (mask & kChangedTarget) c.target = EntityId(r.varint());
  if (mask & kChangedTeam) c.team = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "team out of range"));
}
}  // namespace detail

template <class Handler>
bool read_update(ByteReader& r, Handler& h) {
  auto count = [&r](uint64_t max, const char* what) -> uint64_t {
    const uint64_t n = r.u16();
    if (n > max) r.fail(what);
    return r.ok() ? n : 0;
  };
  const uint64_t entered = count(kSlotsMax, "too many entered");
  for (uint64_t i = 0; i < entered && r.ok(); ++i) {
    const auto slot = static_cast<uint32_t>(r.varint_at_most(kSlotsMax - 1, "slot out of range"));
    Seen s;
    s.id = EntityId(r.varint());
    ChangedFields c;
    s.kind = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "kind out of range"));
    s.class_id = static_cast<uint32_t>(r.varint_at_most(UINT16_MAX, "class out of range"));
    detail::read_fields(r, kChangedAll, c, kPositionCmMax);
    s.x_cm = c.dx_cm;
    s.y_cm = c.dy_cm;
    s.move_x = c.move_x;
    s.move_y = c.move_y;
    s.hp = c.hp;
    s.team = c.team;
    s.flags = c.flags;
    s.target = c.target;
    if (r.ok() && !s.id.valid()) r.fail("entered entity 0");
    if (r.ok()) h.entered(slot, s);
  }
  const uint64_t changed = count(kSlotsMax, "too many changed");
  for (uint64_t i = 0; i < changed && r.ok(); ++i) {
    const auto slot = static_cast<uint32_t>(r.varint_at_most(kSlotsMax - 1, "slot out of range"));
    const auto mask = r.u8();
    if (mask & ~kChangedAll) r.fail("unknown change bits");
    ChangedFields c;
    detail::read_fields(r, mask, c, 2 * int64_t{kPositionCmMax});
    if (r.ok()) h.changed(slot, c);
  }
  const uint64_t left = count(kSlotsMax, "too many left");
  for (uint64_t i = 0; i < left && r.ok(); ++i) {
    const auto slot = static_cast<uint32_t>(r.varint_at_most(kSlotsMax - 1, "slot out of range"));
    if (r.ok()) h.left(slot);
  }
  const uint64_t far = count(kFarCellsMax, "too many aggregates");
  for (uint64_t i = 0; i < far && r.ok(); ++i) {
    const int32_t cx = detail::zigzag_within(r, INT32_MIN, INT32_MAX, "aggregate cell out of range");
    const int32_t cy = detail::zigzag_within(r, INT32_MIN, INT32_MAX, "aggregate cell out of range");
    const auto team = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "team out of range"));
    const auto count = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "count out of range"));
    if (r.ok()) h.far(cx, cy, team, count);
  }
  const uint8_t has_self = r.u8();
  if (has_self > 1) r.fail("bad self marker");
  if (has_self == 1) {
    const auto cooldown = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "cooldown out of range"));
    if (r.ok()) h.self(cooldown);
  }
  if (r.ok() && !r.at_end()) r.fail("bytes after the update");
  return r.ok();
}

}  // namespace aether::client
