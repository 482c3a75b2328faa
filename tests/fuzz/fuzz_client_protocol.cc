// The client protocol (engine/wire/client_protocol.h), both ways: what a gateway decodes from a
// player (decode_client: Hello, Input) and what a client decodes from its gateway (Welcome, Update,
// Goodbye, Redirect).
//
// Input: byte 0's low bit picks the direction, the rest is one message. The encoding is Aether's
// own and canonical: whatever decodes, encoded again by the real encoders (UpdateWriter for an
// update), must give back the input byte for byte. For updates, the size must also be what
// entered_bytes / changed_bytes / left_bytes / far_bytes and kUpdateFixedBytesMax say: the gateway
// fits updates to a byte budget with them.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/wire/client_protocol.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace aether;
using namespace aether::client;

bool same(const std::vector<uint8_t>& a, std::span<const uint8_t> b) { return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin()); }

void from_client(std::span<const uint8_t> bytes) {
  auto m = decode_client(bytes);
  if (!m) {
    FUZZ_CHECK(!m.error().message.empty(), "a rejection without a reason");
    return;
  }
  if (const auto* hello = std::get_if<client::Hello>(&m.value())) {
    FUZZ_CHECK(hello->name.size() <= kNameBytesMax, "a name of %zu bytes", hello->name.size());
    FUZZ_CHECK(same(encode_hello(*hello), bytes), "a hello re-encodes to other bytes: not canonical");
  } else if (!std::holds_alternative<ClientInput>(m.value())) {
    FUZZ_CHECK(same(encode_client(m.value()), bytes), "an accounts message re-encodes to other bytes: not canonical");
  } else {
    const ClientInput& in = std::get<ClientInput>(m.value());
    FUZZ_CHECK(in.move_x >= -kMovePermilleMax && in.move_x <= kMovePermilleMax && in.move_y >= -kMovePermilleMax &&
                   in.move_y <= kMovePermilleMax,
               "movement out of range accepted");
    FUZZ_CHECK(same(encode_input(in), bytes), "an input re-encodes to other bytes: not canonical");
  }
}

size_t varint_size(uint64_t v) {
  size_t n = 1;
  for (; v >= 0x80; v >>= 7) ++n;
  return n;
}

// Re-encodes an update from its values. Its size must be the fixed part plus what the size
// functions say of each item.
std::vector<uint8_t> reencode(const UpdateValues& v) {
  std::vector<uint8_t> out;
  UpdateWriter w(out);
  size_t items = 0;
  w.begin(v.tick);
  for (const auto& [slot, s] : v.entered) {
    w.entered(slot, s);
    items += entered_bytes(slot, s);
  }
  for (const auto& [slot, c] : v.changed) {
    Seen now;
    now.x_cm = c.dx_cm;
    now.y_cm = c.dy_cm;
    now.move_x = c.move_x;
    now.move_y = c.move_y;
    now.hp = c.hp;
    now.flags = c.flags;
    now.team = c.team;
    now.target = c.target;
    w.changed(slot, Seen{}, now, c.mask);
    items += changed_bytes(slot, Seen{}, now, c.mask);
  }
  for (uint32_t slot : v.left) {
    w.left(slot);
    items += left_bytes(slot);
  }
  for (const auto& f : v.far) {
    w.far(f.cell_x, f.cell_y, f.team, f.count);
    items += far_bytes(f.cell_x, f.cell_y, f.team, f.count);
  }
  w.end(v.has_cooldown, v.cooldown_ticks);
  const size_t fixed = 1 + varint_size(v.tick) + 4 * 2 + 1 + (v.has_cooldown ? varint_size(v.cooldown_ticks) : 0);
  FUZZ_CHECK(fixed <= kUpdateFixedBytesMax, "the fixed part of an update is %zu bytes, kUpdateFixedBytesMax %zu", fixed, kUpdateFixedBytesMax);
  FUZZ_CHECK(out.size() == fixed + items, "the size functions say %zu bytes, the update has %zu", fixed + items, out.size());
  return out;
}

void from_gateway(std::span<const uint8_t> bytes) {
  ByteReader r(bytes);
  auto header = decode_gateway_header(r);
  if (!header) {
    FUZZ_CHECK(!header.error().message.empty(), "a rejection without a reason");
    return;
  }
  switch (header->type) {
    case Type::kWelcome:
      FUZZ_CHECK(same(encode_welcome(header->welcome), bytes), "a welcome re-encodes to other bytes: not canonical");
      return;
    case Type::kGoodbye:
      FUZZ_CHECK(same(encode_goodbye(header->goodbye), bytes), "a goodbye re-encodes to other bytes: not canonical");
      return;
    case Type::kRedirect:
      FUZZ_CHECK(!header->redirect.address.empty() && header->redirect.address.size() <= kAddressBytesMax, "a redirect address of %zu bytes",
                 header->redirect.address.size());
      FUZZ_CHECK(same(encode_redirect(header->redirect), bytes), "a redirect re-encodes to other bytes: not canonical");
      return;
    case Type::kAuthReply:
      FUZZ_CHECK(same(encode_auth_reply(header->auth), bytes), "an auth reply re-encodes to other bytes: not canonical");
      return;
    case Type::kHud:
      FUZZ_CHECK(same(encode_hud(header->hud), bytes), "a hud re-encodes to other bytes: not canonical");
      return;
    case Type::kUpdate: break;
    default: FUZZ_CHECK(false, "decode_gateway_header accepted type %d", static_cast<int>(header->type));
  }
  auto update = decode_update(bytes);
  if (!update) {
    FUZZ_CHECK(!update.error().message.empty(), "a rejection without a reason");
    return;
  }
  FUZZ_CHECK(same(reencode(update.value()), bytes), "an update re-encodes to other bytes: not canonical");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::span<const uint8_t> bytes(data + 1, size - 1);
  if (data[0] & 1) {
    from_gateway(bytes);
  } else {
    from_client(bytes);
  }
  return 0;
}
