// The client protocol (engine/wire/client_protocol.h) and the gateway's per-client view
// (engine/gateway/client_view.h): exact sizes, round trips, hostile bytes, and a mirror client that
// must end up knowing exactly what the gateway believes it knows, under any byte budget.

#include <gtest/gtest.h>

#include <map>

#include "engine/core/random.h"
#include "engine/gateway/client_view.h"
#include "engine/wire/client_protocol.h"

namespace aether {
namespace {

client::Seen random_seen(Xoshiro256& rng, uint64_t id) {
  client::Seen s;
  s.id = EntityId(id);
  s.kind = static_cast<uint32_t>(uniform_below(rng, 3));
  s.x_cm = static_cast<int32_t>(uniform_range(rng, -100'000, 100'000));
  s.y_cm = static_cast<int32_t>(uniform_range(rng, -100'000, 100'000));
  s.move_x = static_cast<int32_t>(uniform_range(rng, -1000, 1000));
  s.move_y = static_cast<int32_t>(uniform_range(rng, -1000, 1000));
  s.hp = static_cast<int32_t>(uniform_range(rng, -5, 100));
  s.team = static_cast<uint32_t>(uniform_below(rng, 4));
  s.flags = static_cast<uint32_t>(uniform_below(rng, 2));
  s.target = EntityId(uniform_below(rng, 1000));
  return s;
}

// A client that applies updates to its slots as the protocol says, and fails on any inconsistency.
struct Mirror {
  std::vector<client::Seen> slots;
  std::vector<client::UpdateValues::Far> far;
  bool consistent = true;

  void apply(const std::vector<uint8_t>& bytes) {
    auto v = client::decode_update(bytes);
    ASSERT_TRUE(v.ok()) << v.error().message;
    for (const auto& [slot, s] : v->entered) {
      if (slot >= slots.size()) slots.resize(slot + 1);
      consistent = consistent && !slots[slot].id.valid();
      slots[slot] = s;
    }
    for (const auto& [slot, c] : v->changed) {
      ASSERT_LT(slot, slots.size());
      ASSERT_TRUE(slots[slot].id.valid()) << "change of a free slot " << slot;
      client::Seen& s = slots[slot];
      if (c.mask & client::kChangedPos) s.x_cm += c.dx_cm, s.y_cm += c.dy_cm;
      if (c.mask & client::kChangedMotion) s.move_x = c.move_x, s.move_y = c.move_y;
      if (c.mask & client::kChangedHp) s.hp = c.hp;
      if (c.mask & client::kChangedFlags) s.flags = c.flags;
      if (c.mask & client::kChangedTarget) s.target = c.target;
      if (c.mask & client::kChangedTeam) s.team = c.team;
    }
    for (uint32_t slot : v->left) {
      ASSERT_LT(slot, slots.size());
      ASSERT_TRUE(slots[slot].id.valid()) << "departure of a free slot " << slot;
      slots[slot] = client::Seen{};
    }
    if (!v->far.empty()) far = v->far;
  }
  std::map<uint64_t, client::Seen> known() const {
    std::map<uint64_t, client::Seen> out;
    for (const auto& s : slots) {
      if (s.id.valid()) out[s.id.value] = s;
    }
    return out;
  }
};

TEST(ClientProtocol, HelloAndInputRoundTrip) {
  auto hello = client::decode_client(client::encode_hello(client::Hello{client::kProtocolVersion, "ana", EntityId(42), 0xfeedULL}));
  ASSERT_TRUE(hello.ok()) << hello.error().message;
  const auto& h = std::get<client::Hello>(hello.value());
  EXPECT_EQ(h.name, "ana");
  EXPECT_EQ(h.resume_entity, EntityId(42));
  EXPECT_EQ(h.resume_token, 0xfeedULL);
  auto input = client::decode_client(client::encode_input(ClientInput{7, -1000, 1000, EntityId(9), true}));
  ASSERT_TRUE(input.ok()) << input.error().message;
  const auto& in = std::get<ClientInput>(input.value());
  EXPECT_EQ(in.seq, 7u);
  EXPECT_EQ(in.move_x, -1000);
  EXPECT_EQ(in.move_y, 1000);
  EXPECT_EQ(in.target, EntityId(9));
  EXPECT_EQ(in.skill, 1);
}

TEST(ClientProtocol, RejectsWhatIsMalformedAndSaysWhy) {
  auto bytes = client::encode_input(ClientInput{1, 5000, 0, EntityId(1), false});
  auto out_of_range = client::decode_client(bytes);
  ASSERT_FALSE(out_of_range.ok());
  EXPECT_NE(out_of_range.error().message.find("movement out of range"), std::string::npos) << out_of_range.error().message;

  bytes = client::encode_input(ClientInput{1, 0, 0, EntityId(1), false});
  bytes.push_back(0);
  auto trailing = client::decode_client(bytes);
  ASSERT_FALSE(trailing.ok());
  EXPECT_NE(trailing.error().message.find("bytes after"), std::string::npos) << trailing.error().message;

  const std::vector<uint8_t> unknown{99};
  EXPECT_FALSE(client::decode_client(unknown).ok());
  const std::vector<uint8_t> long_name = client::encode_hello(client::Hello{client::kProtocolVersion, std::string(kNameBytesMax + 1, 'x'), {}, 0});
  EXPECT_FALSE(client::decode_client(long_name).ok());
  // Every truncation of a valid message is rejected, never read past its end.
  bytes = client::encode_hello(client::Hello{client::kProtocolVersion, "bob", EntityId(300), 1ULL << 60});
  for (size_t n = 0; n < bytes.size(); ++n) EXPECT_FALSE(client::decode_client(std::span(bytes).first(n)).ok()) << n;
}

// A redirect names where to go; no address, a too long one or trailing bytes are refused.
TEST(ClientProtocol, RedirectRoundTripsAndMalformedOnesAreRefused) {
  const std::vector<uint8_t> bytes = client::encode_redirect(client::Redirect{"gateway-2:8000"});
  ByteReader r(bytes);
  auto header = client::decode_gateway_header(r);
  ASSERT_TRUE(header.ok()) << header.error().message;
  EXPECT_EQ(header->type, client::Type::kRedirect);
  EXPECT_EQ(header->redirect.address, "gateway-2:8000");
  for (size_t n = 0; n < bytes.size(); ++n) {
    ByteReader cut(std::span<const uint8_t>(bytes).first(n));
    EXPECT_FALSE(client::decode_gateway_header(cut).ok()) << n;
  }
  std::vector<uint8_t> trailing = bytes;
  trailing.push_back(0);
  ByteReader t(trailing);
  EXPECT_FALSE(client::decode_gateway_header(t).ok());
  const std::vector<uint8_t> empty{static_cast<uint8_t>(client::Type::kRedirect), 0};
  ByteReader e(empty);
  auto nowhere = client::decode_gateway_header(e);
  ASSERT_FALSE(nowhere.ok());
  EXPECT_NE(nowhere.error().message.find("no address"), std::string::npos) << nowhere.error().message;
  std::vector<uint8_t> long_address{static_cast<uint8_t>(client::Type::kRedirect)};
  ByteWriter w(long_address);
  w.string(std::string(kAddressBytesMax + 1, 'x'));
  ByteReader l(long_address);
  EXPECT_FALSE(client::decode_gateway_header(l).ok());
}

// An update has one encoding: one whose tick is padded (0xb2 0x00 for 50) is malformed (found by
// tests/fuzz: it used to decode, and re-encode to other bytes).
TEST(ClientProtocol, AnUpdateWithAPaddedVarintIsRejected) {
  std::vector<uint8_t> bytes;
  client::UpdateWriter w(bytes);
  w.begin(50);
  w.end(false, 0);
  ASSERT_TRUE(client::decode_update(bytes).ok());
  ASSERT_EQ(bytes[1], 50);
  bytes[1] = 50 | 0x80;
  bytes.insert(bytes.begin() + 2, 0x00);
  auto padded = client::decode_update(bytes);
  ASSERT_FALSE(padded.ok());
  EXPECT_NE(padded.error().message.find("shortest"), std::string::npos) << padded.error().message;
}

// An update whose position, health or aggregate cell does not fit its range is malformed. They used
// to be cut to 32 bits: 2^40 cm read as 0, 2^32 + 5 hit points as 5 (found by tests/fuzz: such an
// update re-encoded to other bytes).
TEST(ClientProtocol, AnUpdateValueOutOfRangeIsRejectedNotCut) {
  struct Case {
    int64_t x_cm, hp, cell_x;
    const char* error;
  };
  const Case cases[] = {{int64_t{1} << 40, 0, 0, "position out of range"},
                        {client::kPositionCmMax + 1, 0, 0, "position out of range"},
                        {0, (int64_t{1} << 32) + 5, 0, "health out of range"},
                        {0, -int64_t{kHealthAbsMax} - 1, 0, "health out of range"},
                        {0, 0, int64_t{1} << 32, "aggregate cell out of range"},
                        {-client::kPositionCmMax, -kHealthAbsMax, INT32_MIN, nullptr}};  // the limits themselves are fine
  for (const Case& c : cases) {
    std::vector<uint8_t> bytes;
    ByteWriter w(bytes);
    w.u8(static_cast<uint8_t>(client::Type::kUpdate));
    w.varint(9);  // tick
    w.u16(1);     // entered: slot 0, entity 7, kind 1, class 0, then the fields
    w.varint(0);
    w.varint(7);
    w.varint(1);
    w.varint(0);
    w.zigzag(c.x_cm);
    w.zigzag(0);
    w.zigzag(0);
    w.zigzag(0);
    w.zigzag(c.hp);
    w.varint(0);
    w.varint(0);
    w.varint(0);
    w.u16(0);  // changed
    w.u16(0);  // left
    w.u16(1);  // far: one cell
    w.zigzag(c.cell_x);
    w.zigzag(0);
    w.varint(1);
    w.varint(3);
    w.u8(0);
    auto update = client::decode_update(bytes);
    if (c.error == nullptr) {
      ASSERT_TRUE(update.ok()) << update.error().message;
      EXPECT_EQ(update->entered.at(0).second.x_cm, c.x_cm);
      EXPECT_EQ(update->entered.at(0).second.hp, c.hp);
      EXPECT_EQ(update->far.at(0).cell_x, c.cell_x);
      continue;
    }
    ASSERT_FALSE(update.ok()) << "x " << c.x_cm << " hp " << c.hp << " cell " << c.cell_x << " accepted";
    EXPECT_NE(update.error().message.find(c.error), std::string::npos) << update.error().message;
  }
}

TEST(ClientProtocol, UpdateRoundTripsAndSizesAreExact) {
  Xoshiro256 rng(5);
  for (int round = 0; round < 200; ++round) {
    std::vector<uint8_t> out;
    client::UpdateWriter w(out);
    w.begin(1000 + round);
    size_t expected = out.size();  // the type, the tick and the entered count so far
    std::vector<std::pair<uint32_t, client::Seen>> entered;
    for (int i = 0; i < 5; ++i) {
      const auto slot = static_cast<uint32_t>(uniform_below(rng, client::kSlotsMax));
      const client::Seen s = random_seen(rng, 1 + uniform_below(rng, 1ULL << 40));
      expected += client::entered_bytes(slot, s);
      w.entered(slot, s);
      entered.emplace_back(slot, s);
      EXPECT_EQ(out.size(), expected);
    }
    expected += 2;
    const client::Seen had = random_seen(rng, 3), now = random_seen(rng, 3);
    const uint8_t mask = client::difference(had, now);
    expected += client::changed_bytes(17, had, now, mask);
    w.changed(17, had, now, mask);
    EXPECT_EQ(out.size(), expected);
    w.left(300);
    w.far(-3, 4, 1, 250);
    w.end(true, 6);
    auto v = client::decode_update(out);
    ASSERT_TRUE(v.ok()) << v.error().message;
    EXPECT_EQ(v->tick, 1000u + round);
    EXPECT_EQ(v->entered, entered);
    ASSERT_EQ(v->changed.size(), 1u);
    EXPECT_EQ(v->changed[0].second.mask, mask);
    if (mask & client::kChangedPos) {
      EXPECT_EQ(v->changed[0].second.dx_cm, now.x_cm - had.x_cm);
    }
    EXPECT_EQ(v->left, std::vector<uint32_t>{300});
    ASSERT_EQ(v->far.size(), 1u);
    EXPECT_EQ(v->far[0].cell_x, -3);
    EXPECT_EQ(v->far[0].count, 250u);
    EXPECT_TRUE(v->has_cooldown);
    EXPECT_EQ(v->cooldown_ticks, 6u);
    for (size_t n = 0; n < out.size(); ++n) EXPECT_FALSE(client::decode_update(std::span(out).first(n)).ok());
  }
}

// A small world of entities moving about a client: each tick the view builds an update and (unless
// told the socket refused it) commits it; the mirror applies what was delivered.
struct ViewWorld {
  explicit ViewWorld(size_t entities, ViewLimits limits, uint64_t seed) : view(limits), rng(seed) {
    for (size_t i = 0; i < entities; ++i) {
      seen.push_back(random_seen(rng, 10 + i));
      versions.push_back(next_version++);
    }
  }
  std::vector<ViewCandidate> candidates() {
    std::vector<ViewCandidate> out;
    for (size_t i = 0; i < seen.size() && out.size() < view.limits().entities_max; ++i) {
      if (present[seen[i].id.value]) out.push_back(ViewCandidate{seen[i].id, &seen[i], versions[i], static_cast<uint32_t>(1 + i % 16)});
    }
    return out;
  }
  void move_all() {
    for (size_t i = 0; i < seen.size(); ++i) {
      client::Seen& s = seen[i];
      const client::Seen before = s;
      s.x_cm += static_cast<int32_t>(uniform_range(rng, -60, 60));
      s.y_cm += static_cast<int32_t>(uniform_range(rng, -60, 60));
      if (uniform_below(rng, 10) == 0) s.hp -= 1;
      if (!(before == s)) versions[i] = next_version++;
    }
  }
  size_t step(Tick tick, bool delivered) {
    const auto c = candidates();
    bytes.clear();
    view.build(tick, seen[0].id, c, {}, false, 0, bytes);
    if (delivered) {
      view.commit();
      mirror.apply(bytes);
    }
    return bytes.size();
  }
  std::map<uint64_t, client::Seen> truth() {
    std::map<uint64_t, client::Seen> out;
    for (const auto& c : candidates()) out[c.id.value] = *c.seen;
    return out;
  }
  ClientView view;
  Xoshiro256 rng;
  std::vector<client::Seen> seen;
  std::vector<uint64_t> versions;  // a new one whenever an entity's seen changes, as the gateway does
  uint64_t next_version = 1;
  std::map<uint64_t, bool> present;
  Mirror mirror;
  std::vector<uint8_t> bytes;
};

TEST(ClientView, TheClientKnowsExactlyWhatTheGatewayThinksOnceChangesStop) {
  ViewWorld w(150, ViewLimits{120, 780, 25'000}, 7);
  Tick tick = 1;
  for (int t = 0; t < 100; ++t, ++tick) {
    for (auto& s : w.seen) w.present[s.id.value] = uniform_below(w.rng, 10) != 0;  // some come and go
    w.move_all();
    const size_t bytes = w.step(tick, uniform_below(w.rng, 8) != 0);  // some updates are refused
    EXPECT_LE(bytes, 780u + client::changed_bytes(0, client::Seen{}, w.seen[0], client::kChangedAll)) << "tick " << tick;
    ASSERT_TRUE(w.mirror.consistent);
  }
  // Changes stop: within a bounded number of updates every change has been delivered, however far.
  for (int t = 0; t < 60; ++t, ++tick) w.step(tick, true);
  EXPECT_EQ(w.mirror.known(), w.truth());
  ASSERT_TRUE(w.mirror.consistent);
}

TEST(ClientView, TheOwnAvatarAndTheHeaviestChangesGoFirst) {
  // 200 entities all moving: far more than 780 bytes of changes per tick.
  ViewWorld w(200, ViewLimits{200, 780, 25'000}, 11);
  for (auto& s : w.seen) w.present[s.id.value] = true;
  for (Tick tick = 1; tick <= 30; ++tick) w.step(tick, true);  // everyone has entered
  size_t own_sent = 0, heavy_sent = 0, light_sent = 0;
  for (Tick tick = 31; tick <= 130; ++tick) {
    w.move_all();
    w.step(tick, true);
    const auto known = w.mirror.known();
    own_sent += known.at(w.seen[0].id.value) == w.seen[0];
    heavy_sent += known.at(w.seen[15].id.value) == w.seen[15];  // weight 16
    light_sent += known.at(w.seen[16].id.value) == w.seen[16];  // weight 1
    EXPECT_LE(w.bytes.size(), 780u + 64);
  }
  EXPECT_EQ(own_sent, 100u);
  EXPECT_GT(heavy_sent, light_sent);
  EXPECT_GT(light_sent, 0u);  // never starved
}

// A player alone in view still learns of a skill's cooldown: a cooldown that does not follow the
// client's own countdown of the last one told is news; one that does is not.
TEST(ClientView, ACooldownIsNewsUnlessTheClientsCountdownHasIt) {
  ClientView view(ViewLimits{16, 780, 25'000});
  client::Seen me{};
  me.id = EntityId(1);
  const std::vector<ViewCandidate> alone{ViewCandidate{me.id, &me, 1, 16}};
  std::vector<uint8_t> out;
  view.build(1, me.id, alone, {}, true, 0, out);
  EXPECT_FALSE(view.empty_update()) << "the avatar enters";
  view.commit();
  view.build(2, me.id, alone, {}, true, 0, out);
  EXPECT_TRUE(view.empty_update()) << "nothing new";
  view.commit();
  view.build(3, me.id, alone, {}, true, 10, out);
  EXPECT_FALSE(view.empty_update()) << "a skill was used: its cooldown is news";
  // Not delivered: still news on the next tick.
  view.build(4, me.id, alone, {}, true, 9, out);
  EXPECT_FALSE(view.empty_update());
  view.commit();
  for (Tick t = 5; t <= 14; ++t) {
    const uint32_t left = t - 4 >= 9 ? 0 : 9 - static_cast<uint32_t>(t - 4);  // down to 0, and stays there
    view.build(t, me.id, alone, {}, true, left, out);
    EXPECT_TRUE(view.empty_update()) << "tick " << t << ": the client counts it down itself";
    view.commit();
  }
  view.build(15, me.id, alone, {}, true, 30, out);
  EXPECT_FALSE(view.empty_update()) << "a new cooldown";
}

TEST(ClientView, SlotsFreedInAnUpdateAreReusedOnlyInALaterOne) {
  ViewWorld w(40, ViewLimits{20, 100'000, 25'000}, 3);
  Tick tick = 1;
  for (int t = 0; t < 200; ++t, ++tick) {
    for (auto& s : w.seen) w.present[s.id.value] = uniform_below(w.rng, 2) == 0;  // heavy churn
    w.step(tick, true);
    auto v = client::decode_update(w.bytes);
    ASSERT_TRUE(v.ok());
    for (const auto& [slot, s] : v->entered) {
      for (uint32_t gone : v->left) EXPECT_NE(slot, gone) << "tick " << tick;
      EXPECT_LT(slot, 2 * 20u);
    }
    ASSERT_TRUE(w.mirror.consistent) << "tick " << tick;
    EXPECT_EQ(w.mirror.known(), w.truth()) << "tick " << tick;  // the budget is ample: exact each tick
  }
}

TEST(ClientView, AggregatesOncePerSecondAndAnEmptySetIsSaid) {
  ClientView view(ViewLimits{8, 780, 25'000});
  Mirror mirror;
  std::vector<uint8_t> bytes;
  std::vector<ClientView::Aggregate> far{{1, 2, 1, 30}, {1, 3, 2, 12}};
  int with_far = 0;
  for (Tick tick = 1; tick <= 40; ++tick) {
    view.build(tick, EntityId(1), {}, tick <= 20 ? far : std::vector<ClientView::Aggregate>{}, true, 0, bytes);
    view.commit();
    auto v = client::decode_update(bytes);
    ASSERT_TRUE(v.ok());
    with_far += !v->far.empty();
    mirror.apply(bytes);
  }
  EXPECT_EQ(with_far, 3);  // ticks 10, 20 (the set), 30 (now empty, said once), none after
  ASSERT_EQ(mirror.far.size(), 1u);
  EXPECT_EQ(mirror.far[0].count, 0u);
}

}  // namespace
}  // namespace aether
