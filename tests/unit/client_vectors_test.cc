// The browser client's codec (web/src/app/codec.ts) is checked against bytes from this encoder:
// web/test/vectors.json holds, for each message, the bytes the C++ encoder writes and the values the
// C++ decoder reads back from them (and a few malformed messages the C++ decoder refuses). This
// test fails when the encoder or decoder no longer agrees with the committed file, so the file
// cannot drift from the C++ side; web/test/codec.test.ts (run by scripts/web.sh test) holds the
// TypeScript side to the same file. AETHER_WRITE_VECTORS=1 rewrites the file after a deliberate
// protocol change.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "engine/wire/client_protocol.h"

namespace aether::client {
namespace {

std::string hex(const std::vector<uint8_t>& bytes) {
  std::string out;
  for (uint8_t b : bytes) out += fmt::format("{:02x}", b);
  return out;
}

std::string seen_json(const Seen& s) {
  return fmt::format(R"({{"id":"{}","kind":{},"classId":{},"xCm":{},"yCm":{},"moveX":{},"moveY":{},"hp":{},"flags":{},"target":"{}","team":{}}})",
                     s.id.value, s.kind, s.class_id, s.x_cm, s.y_cm, s.move_x, s.move_y, s.hp, s.flags, s.target.value, s.team);
}
std::string changed_json(const ChangedFields& c) {
  return fmt::format(R"({{"mask":{},"dxCm":{},"dyCm":{},"moveX":{},"moveY":{},"hp":{},"flags":{},"target":"{}","team":{}}})", c.mask, c.dx_cm,
                     c.dy_cm, c.move_x, c.move_y, c.hp, c.flags, c.target.value, c.team);
}

// The values the C++ decoder reads from an update, as JSON.
std::string update_json(const std::vector<uint8_t>& bytes) {
  auto v = decode_update(bytes);
  EXPECT_TRUE(v.ok());
  if (!v.ok()) return "null";
  std::string entered, changed, left, far;
  for (const auto& [slot, s] : v->entered) entered += fmt::format("{}[{},{}]", entered.empty() ? "" : ",", slot, seen_json(s));
  for (const auto& [slot, c] : v->changed) changed += fmt::format("{}[{},{}]", changed.empty() ? "" : ",", slot, changed_json(c));
  for (uint32_t slot : v->left) left += fmt::format("{}{}", left.empty() ? "" : ",", slot);
  for (const auto& f : v->far) {
    far += fmt::format(R"({}{{"cellX":{},"cellY":{},"team":{},"count":{}}})", far.empty() ? "" : ",", f.cell_x, f.cell_y, f.team, f.count);
  }
  return fmt::format(R"({{"type":"update","update":{{"tick":{},"entered":[{}],"changed":[{}],"left":[{}],"far":[{}],"cooldownTicks":{}}}}})", v->tick,
                     entered, changed, left, far, v->has_cooldown ? std::to_string(v->cooldown_ticks) : "null");
}

std::string header_json(const std::vector<uint8_t>& bytes) {
  ByteReader r(bytes);
  auto h = decode_gateway_header(r);
  EXPECT_TRUE(h.ok());
  if (!h.ok()) return "null";
  switch (h->type) {
    case Type::kWelcome:
      return fmt::format(R"({{"type":"welcome","entity":"{}","tick":{},"tickHz":{},"viewRadiusMm":{},"resumeToken":"{}"}})", h->welcome.entity.value,
                         h->welcome.tick, h->welcome.tick_hz, h->welcome.view_radius_mm, h->welcome.resume_token);
    case Type::kGoodbye: return fmt::format(R"({{"type":"goodbye","reason":"{}"}})", h->goodbye.reason);
    case Type::kRedirect: return fmt::format(R"({{"type":"redirect","address":"{}"}})", h->redirect.address);
    case Type::kAuthReply: {
      const AuthReply& a = h->auth;
      return fmt::format(
          R"({{"type":"auth","reply":{{"code":{},"message":"{}","accessId":"{}","accessSecret":"{}","refreshId":"{}","refreshSecret":"{}","accessTtlMs":{},"character":"{}","classId":{}}}}})",
          a.code, a.message, a.access.id, a.access.secret, a.refresh.id, a.refresh.secret, a.access_ttl_ms, a.character, a.class_id);
    }
    case Type::kHud: {
      const AvatarHud& hud = h->hud;
      std::string items, seats;
      for (size_t i = 0; i < hud.items.size(); ++i) items += fmt::format("{}{}", i ? "," : "", hud.items[i]);
      for (size_t i = 0; i < hud.seats.size(); ++i) {
        seats += fmt::format(R"({}{{"entity":"{}","team":{}}})", i ? "," : "", hud.seats[i].entity.value, hud.seats[i].team);
      }
      const std::string encounter =
          hud.encounter.valid()
              ? fmt::format(R"({{"round":{},"turn":{},"actor":{},"turnTicksLeft":{},"seats":[{}]}})", hud.round, hud.turn, hud.actor, hud.turn_ticks_left, seats)
              : "null";
      return fmt::format(R"({{"type":"hud","items":[{}],"encounter":{}}})", items, encounter);
    }
    default: return update_json(bytes);
  }
}

std::string vectors() {
  std::vector<std::string> items;
  const auto gateway = [&](const char* name, const std::vector<uint8_t>& bytes) {
    items.push_back(fmt::format(R"(  {{"name":"{}","direction":"gateway","hex":"{}","expect":{}}})", name, hex(bytes), header_json(bytes)));
  };
  const Hello hello{kProtocolVersion, "Ann", EntityId(77), 0xfedcba9876543210ull, WireToken{5, 0x1122334455667788ull}};
  items.push_back(fmt::format(R"(  {{"name":"hello","direction":"client","hex":"{}","expect":{{"name":"Ann","resumeEntity":"77","resumeToken":"{}","accessId":"{}","accessSecret":"{}"}}}})",
                              hex(encode_hello(hello)), hello.resume_token, hello.access.id, hello.access.secret));
  const ClientInput input{300, -1000, 250, EntityId(123456789012), 3};
  items.push_back(fmt::format(R"(  {{"name":"input","direction":"client","hex":"{}","expect":{{"seq":300,"moveX":-1000,"moveY":250,"target":"123456789012","skill":3}}}})",
                              hex(encode_input(input))));
  // Accounts (30-34): register with a class, log in, refresh and log out with a token.
  items.push_back(fmt::format(R"(  {{"name":"register","direction":"client","hex":"{}","expect":{{"account":"ann_1","password":"correct horse","classId":2}}}})",
                              hex(encode_register(Register{"ann_1", "correct horse", 2}))));
  items.push_back(fmt::format(R"(  {{"name":"login","direction":"client","hex":"{}","expect":{{"account":"ann_1","password":"pässwörd"}}}})",
                              hex(encode_login(Login{"ann_1", "p\xc3\xa4ssw\xc3\xb6rd"}))));
  const WireToken token{0x8000000000000001ull, 0x0123456789abcdefull};
  items.push_back(fmt::format(R"(  {{"name":"refresh","direction":"client","hex":"{}","expect":{{"id":"{}","secret":"{}"}}}})",
                              hex(encode_refresh(Refresh{token})), token.id, token.secret));
  items.push_back(fmt::format(R"(  {{"name":"logout","direction":"client","hex":"{}","expect":{{"id":"{}","secret":"{}"}}}})",
                              hex(encode_logout(Logout{token})), token.id, token.secret));
  AuthReply ok_reply;
  ok_reply.code = 0;
  ok_reply.message = "ok";
  ok_reply.access = {7, 0xfedcba9876543210ull};
  ok_reply.refresh = token;
  ok_reply.access_ttl_ms = 900'000;
  ok_reply.character = 0x1234567890ull;
  ok_reply.class_id = 4;
  gateway("auth reply", encode_auth_reply(ok_reply));
  AuthReply refused;
  refused.code = 1;
  refused.message = "invalid name or password";
  gateway("auth reply refused", encode_auth_reply(refused));
  gateway("welcome", encode_welcome(Welcome{EntityId(42), 1000, 10, 50'000, (1ull << 63) + 5}));
  gateway("goodbye", encode_goodbye(Goodbye{"gateway full"}));
  gateway("redirect", encode_redirect(Redirect{"127.0.0.1:7001"}));
  // Browser (40-44): the player's bag and the encounter it sits in.
  AvatarHud hud;
  hud.entity = EntityId(42);
  hud.items.push_back(1);
  hud.items.push_back(300);
  hud.items.push_back(65535);
  hud.encounter = EntityId(1ull << 41);
  hud.round = 3;
  hud.turn = 9;
  hud.actor = 1;
  hud.turn_ticks_left = 27;
  hud.seats.push_back(EncounterSeat{EntityId(42), 1, 0});
  hud.seats.push_back(EncounterSeat{EntityId(1ull << 40), 2, 0});
  gateway("hud", encode_hud(hud));
  AvatarHud bag_only;
  bag_only.entity = EntityId(42);
  bag_only.items.push_back(2);
  gateway("hud bag only", encode_hud(bag_only));
  gateway("hud empty", encode_hud(AvatarHud{EntityId(42)}));

  std::vector<uint8_t> update;
  UpdateWriter w(update);
  w.begin(12345);
  Seen a;
  a.id = EntityId(42);
  a.kind = 1;
  a.class_id = 2;
  a.x_cm = -1500;
  a.y_cm = 2500;
  a.move_x = 1000;
  a.move_y = -1000;
  a.hp = 100;
  a.team = 1;
  Seen b = a;
  b.id = EntityId(1ull << 40);
  b.flags = 1;
  b.target = EntityId(42);
  b.team = 2;
  b.hp = -3;
  w.entered(0, a);
  w.entered(7, b);
  Seen moved = a;
  moved.x_cm += 130;
  moved.y_cm -= 70;
  moved.hp = 64;
  w.changed(0, a, moved, difference(a, moved));
  Seen turned = b;
  turned.move_x = 0;
  turned.target = EntityId{};
  turned.team = 3;
  turned.flags = 0;
  w.changed(7, b, turned, difference(b, turned));
  w.left(9);
  w.far(-3, 4, 2, 17);
  w.far(100000, -100000, 1, 0);
  w.end(true, 7);
  gateway("update", update);
  std::vector<uint8_t> empty;
  UpdateWriter e(empty);
  e.begin(1);
  e.end(false, 0);
  gateway("empty update", empty);

  // Malformed: each refused by the C++ decoder (checked below) and by the TypeScript one.
  std::vector<std::string> bad;
  auto truncated = update;
  truncated.pop_back();
  bad.push_back(hex(truncated));
  bad.push_back("0aaa00e8070ad0860305");  // a whole welcome but for its entity varint, padded (not its shortest form)
  bad.push_back("63");           // an unknown type
  bad.push_back("0d00");         // a redirect to no address
  bad.push_back("0b01" "0000" "0100" "0040" "0000" "0000" "00");  // a changed item with an unknown change bit
  bad.push_back("2207" "00" "00000000" "000000");  // an auth reply with an unknown code
  bad.push_back("2200" "00" "00000000" "00000000");  // an auth reply with a byte after it
  bad.push_back("2809" "0101010101010101" "01" "00");  // a hud of 9 items
  bad.push_back("2801" "00" "00");                     // a hud item of kind 0
  bad.push_back("2800" "01" "01" "01" "01" "05" "01" "0501");  // a hud whose actor is past its seats
  bad.push_back("2800" "01" "01" "01" "00" "05" "00");  // a hud encounter of no seats
  bad.push_back("2800" "01" "00" "01" "00" "05" "01" "0501");  // a hud encounter in round 0
  bad.push_back("2800" "02");                          // a bad encounter marker
  bad.push_back("2800" "00" "00");                     // a hud with a byte after it
  for (const std::string& h : bad) {
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i + 1 < h.size(); i += 2) bytes.push_back(static_cast<uint8_t>(std::stoi(h.substr(i, 2), nullptr, 16)));
    ByteReader r(bytes);
    auto header = decode_gateway_header(r);
    const bool refused = !header.ok() || (header->type == Type::kUpdate && !decode_update(bytes).ok());
    EXPECT_TRUE(refused) << h;
    items.push_back(fmt::format(R"(  {{"name":"malformed {}","direction":"gateway","hex":"{}","expect":null}})", h.substr(0, 8), h));
  }
  std::string out = "[\n";
  for (size_t i = 0; i < items.size(); ++i) out += items[i] + (i + 1 < items.size() ? ",\n" : "\n");
  return out + "]\n";
}

TEST(ClientVectors, TheBrowserCodecsVectorsAreWhatTheCppCodecWritesAndReads) {
  const std::string path = std::string(AETHER_SOURCE_DIR) + "/web/test/vectors.json";
  const std::string now = vectors();
  if (std::getenv("AETHER_WRITE_VECTORS") != nullptr) std::ofstream(path) << now;
  std::ifstream in(path);
  std::stringstream committed;
  committed << in.rdbuf();
  EXPECT_EQ(committed.str(), now) << "web/test/vectors.json differs from the C++ codec (AETHER_WRITE_VECTORS=1 rewrites it)";
}

}  // namespace
}  // namespace aether::client
