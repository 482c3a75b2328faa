// Accounts and sessions (engine/accounts): the token rules, the login limits, the service on a
// store, and the gateway's admission (docs/security.md, "Accounts and sessions").

#include <gtest/gtest.h>

#include "engine/accounts/account_service.h"
#include "engine/accounts/login_limiter.h"
#include "engine/accounts/session_book.h"
#include "engine/compute/character_saves.h"
#include "engine/gateway/gateway.h"
#include "engine/runtime/storage_keys.h"
#include "engine/wire/client_protocol.h"
#include "engine/wire/state_codec.h"
#include "tests/unit/fake_runtime.h"

namespace aether {
namespace {

using accounts::AuthCode;
using accounts::AuthOutcome;
using accounts::AuthRefusal;
using accounts::LimitVerdict;
using accounts::LoginLimiter;
using accounts::LoginLimits;
using accounts::SessionBook;
using accounts::SessionLimits;
using accounts::Token;
using accounts::TokenRefusal;
using testing::FakeRuntime;

constexpr AccountId kAna{7};
constexpr CharacterId kHero{70};

// --- the token rules ---------------------------------------------------------------------------

class Tokens : public ::testing::Test {
 protected:
  SessionLimits limits() {
    SessionLimits l;
    l.access_ttl_ns = 60 * kNsPerSec;
    l.refresh_ttl_ns = 3600 * kNsPerSec;
    l.families_max = 4;
    l.families_per_account_max = 2;
    return l;
  }
  Xoshiro256 entropy_{99};
  SessionBook book_{limits()};
};

TEST_F(Tokens, AnAccessTokenIsGoodUntilItsTtlAndNamesItsCharacter) {
  const auto issued = book_.open(kAna, kHero, 3, 0, entropy_);
  auto held = book_.check_access(issued.access, 59 * kNsPerSec);
  EXPECT_EQ(held.refusal, TokenRefusal::kNone);
  EXPECT_EQ(held.account, kAna);
  EXPECT_EQ(held.character, kHero);
  EXPECT_EQ(held.class_id, 3u);
  EXPECT_EQ(book_.check_access(issued.access, 60 * kNsPerSec).refusal, TokenRefusal::kExpired);
  EXPECT_EQ(book_.check_access(Token{}, 0).refusal, TokenRefusal::kMissing);
  EXPECT_EQ(book_.check_access(Token{issued.access.id, issued.access.secret ^ 1}, 0).refusal, TokenRefusal::kForged);
  EXPECT_EQ(book_.check_access(Token{issued.access.id ^ 1, issued.access.secret}, 0).refusal, TokenRefusal::kUnknown);
  // The refresh token is no access token, and the other way round.
  EXPECT_EQ(book_.check_access(issued.refresh, 0).refusal, TokenRefusal::kForged);
  SessionBook::Issued next;
  EXPECT_EQ(book_.refresh(issued.access, 0, entropy_, next).refusal, TokenRefusal::kForged);
}

TEST_F(Tokens, ARefreshRotatesBothTokensAndTheOldAccessTokenDies) {
  const auto first = book_.open(kAna, kHero, 1, 0, entropy_);
  SessionBook::Issued second;
  ASSERT_EQ(book_.refresh(first.refresh, 50 * kNsPerSec, entropy_, second).refusal, TokenRefusal::kNone);
  EXPECT_NE(second.refresh, first.refresh);
  EXPECT_NE(second.access, first.access);
  EXPECT_EQ(second.access_expires_ns, 110 * kNsPerSec);
  EXPECT_EQ(book_.check_access(first.access, 51 * kNsPerSec).refusal, TokenRefusal::kForged);
  EXPECT_EQ(book_.check_access(second.access, 100 * kNsPerSec).refusal, TokenRefusal::kNone);
}

TEST_F(Tokens, ASpentRefreshTokenPresentedAgainRevokesTheWholeFamily) {
  const auto first = book_.open(kAna, kHero, 1, 0, entropy_);
  SessionBook::Issued second, third;
  ASSERT_EQ(book_.refresh(first.refresh, 1, entropy_, second).refusal, TokenRefusal::kNone);
  ASSERT_EQ(book_.refresh(second.refresh, 2, entropy_, third).refusal, TokenRefusal::kNone);
  // A thief replays the first refresh token: the family goes, the owner's current tokens with it.
  SessionBook::Issued stolen;
  EXPECT_EQ(book_.refresh(first.refresh, 3, entropy_, stolen).refusal, TokenRefusal::kReused);
  EXPECT_EQ(book_.revoked_for_reuse(), 1u);
  EXPECT_EQ(book_.check_access(third.access, 4).refusal, TokenRefusal::kUnknown);
  EXPECT_EQ(book_.refresh(third.refresh, 4, entropy_, stolen).refusal, TokenRefusal::kUnknown);
  EXPECT_EQ(book_.families(), 0u);
}

TEST_F(Tokens, AForgedRefreshTokenIsRefusedWithoutRevokingTheFamily) {
  const auto first = book_.open(kAna, kHero, 1, 0, entropy_);
  SessionBook::Issued next;
  EXPECT_EQ(book_.refresh(Token{first.refresh.id, 12345}, 1, entropy_, next).refusal, TokenRefusal::kForged);
  EXPECT_EQ(book_.refresh(first.refresh, 2, entropy_, next).refusal, TokenRefusal::kNone);
}

TEST_F(Tokens, LogoutEndsTheFamilyByEitherToken) {
  const auto a = book_.open(kAna, kHero, 1, 0, entropy_);
  const auto b = book_.open(AccountId(8), CharacterId(80), 1, 0, entropy_);
  EXPECT_FALSE(book_.close(Token{a.access.id, 1}));
  EXPECT_TRUE(book_.close(a.access));
  EXPECT_EQ(book_.check_access(a.access, 1).refusal, TokenRefusal::kUnknown);
  SessionBook::Issued next;
  EXPECT_EQ(book_.refresh(a.refresh, 1, entropy_, next).refusal, TokenRefusal::kUnknown);
  EXPECT_TRUE(book_.close(b.refresh));
  EXPECT_EQ(book_.check_access(b.access, 1).refusal, TokenRefusal::kUnknown);
}

TEST_F(Tokens, AFamilyEndsAtItsRefreshTtlHoweverOftenItRefreshes) {
  auto tokens = book_.open(kAna, kHero, 1, 0, entropy_);
  TimeNs now = 0;
  while (now + 50 * kNsPerSec < 3600 * kNsPerSec) {
    now += 50 * kNsPerSec;
    SessionBook::Issued next;
    ASSERT_EQ(book_.refresh(tokens.refresh, now, entropy_, next).refusal, TokenRefusal::kNone);
    tokens = next;
  }
  SessionBook::Issued next;
  EXPECT_EQ(book_.refresh(tokens.refresh, 3600 * kNsPerSec, entropy_, next).refusal, TokenRefusal::kExpired);
  const auto other = book_.open(AccountId(8), CharacterId(80), 1, 3000 * kNsPerSec, entropy_);
  book_.sweep(6599 * kNsPerSec);
  EXPECT_EQ(book_.families(), 1u);
  EXPECT_EQ(book_.check_access(other.access, 3001 * kNsPerSec).refusal, TokenRefusal::kNone);
  book_.sweep(6600 * kNsPerSec);
  EXPECT_EQ(book_.families(), 0u);
}

TEST_F(Tokens, FamiliesAreBoundedPerAccountAndInAllOldestFirst) {
  const auto a1 = book_.open(kAna, kHero, 1, 1, entropy_);
  const auto a2 = book_.open(kAna, kHero, 1, 2, entropy_);
  const auto a3 = book_.open(kAna, kHero, 1, 3, entropy_);  // past 2 for ana: a1 goes
  EXPECT_EQ(book_.check_access(a1.access, 4).refusal, TokenRefusal::kUnknown);
  EXPECT_EQ(book_.check_access(a2.access, 4).refusal, TokenRefusal::kNone);
  const auto b = book_.open(AccountId(8), CharacterId(80), 1, 4, entropy_);
  const auto c = book_.open(AccountId(9), CharacterId(90), 1, 5, entropy_);  // 4 families: full
  const auto d = book_.open(AccountId(10), CharacterId(100), 1, 6, entropy_);  // a2, the oldest, goes
  EXPECT_EQ(book_.families(), 4u);
  EXPECT_EQ(book_.check_access(a2.access, 7).refusal, TokenRefusal::kUnknown);
  for (const auto* t : {&a3, &b, &c, &d}) EXPECT_EQ(book_.check_access(t->access, 7).refusal, TokenRefusal::kNone);
  EXPECT_EQ(book_.evicted(), 2u);
}

// --- login limits ------------------------------------------------------------------------------

TEST(LoginLimits, FailuresPerAccountLockItForTheWindowAndASuccessClearsThem) {
  LoginLimits l;
  l.failures_per_account_max = 3;
  l.failures_per_address_max = 100;
  l.window_ns = 60 * kNsPerSec;
  LoginLimiter limiter(l);
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(limiter.may_login("ana", "10.0.0.1", 0), LimitVerdict::kAllowed);
    limiter.failed("ana", "10.0.0.1", 0);
  }
  EXPECT_EQ(limiter.may_login("ana", "10.0.0.2", kNsPerSec), LimitVerdict::kAccountLimited) << "from any address";
  EXPECT_EQ(limiter.may_login("bob", "10.0.0.1", kNsPerSec), LimitVerdict::kAllowed);
  EXPECT_EQ(limiter.may_login("ana", "10.0.0.1", 60 * kNsPerSec), LimitVerdict::kAllowed) << "the next window";
  limiter.failed("ana", "10.0.0.1", 60 * kNsPerSec);
  limiter.succeeded("ana");
  for (int i = 0; i < 2; ++i) limiter.failed("ana", "10.0.0.1", 61 * kNsPerSec);
  EXPECT_EQ(limiter.may_login("ana", "10.0.0.1", 61 * kNsPerSec), LimitVerdict::kAllowed);
}

TEST(LoginLimits, FailuresPerAddressLockItAcrossAccounts) {
  LoginLimits l;
  l.failures_per_account_max = 100;
  l.failures_per_address_max = 5;
  LoginLimiter limiter(l);
  for (int i = 0; i < 5; ++i) limiter.failed(fmt::format("user{}", i), "10.0.0.9", 0);
  EXPECT_EQ(limiter.may_login("fresh", "10.0.0.9", 1), LimitVerdict::kAddressLimited);
  EXPECT_EQ(limiter.may_login("fresh", "10.0.0.8", 1), LimitVerdict::kAllowed);
  limiter.succeeded("user1");  // a success elsewhere does not clear the address
  EXPECT_EQ(limiter.may_login("fresh", "10.0.0.9", 1), LimitVerdict::kAddressLimited);
}

TEST(LoginLimits, RegistrationsPerAddressAndTheTableBound) {
  LoginLimits l;
  l.registrations_per_address_max = 2;
  l.tracked_max = 3;
  LoginLimiter limiter(l);
  EXPECT_EQ(limiter.may_register("a", 0), LimitVerdict::kAllowed);
  EXPECT_EQ(limiter.may_register("a", 0), LimitVerdict::kAllowed);
  EXPECT_EQ(limiter.may_register("a", 0), LimitVerdict::kAddressLimited);
  EXPECT_EQ(limiter.may_register("b", 0), LimitVerdict::kAllowed);
  EXPECT_EQ(limiter.may_register("c", 0), LimitVerdict::kAllowed);
  EXPECT_EQ(limiter.may_register("d", 0), LimitVerdict::kTableFull) << "full: fail closed";
  EXPECT_EQ(limiter.tracked(), 3u);
  EXPECT_EQ(limiter.may_register("d", l.window_ns), LimitVerdict::kAllowed) << "expired windows are swept for room";
}

// --- the service on a store --------------------------------------------------------------------

class Service : public ::testing::Test {
 protected:
  Service() {
    service_.start();
    rt_.advance(kNsPerSec);
  }
  AuthOutcome wait(const std::function<void(accounts::AuthDone)>& call) {
    std::optional<AuthOutcome> got;
    call([&got](const AuthOutcome& o) { got = o; });
    for (int i = 0; i < 100 && !got; ++i) rt_.advance(10 * kNsPerMs);
    EXPECT_TRUE(got.has_value()) << "no answer";
    return got.value_or(AuthOutcome{AuthCode::kUnavailable});
  }
  AuthOutcome reg(const std::string& name, const std::string& password, const std::string& address = "10.0.0.1") {
    return wait([&](accounts::AuthDone d) { service_.register_account(name, password, 2, address, d); });
  }
  AuthOutcome login(const std::string& name, const std::string& password, const std::string& address = "10.0.0.1") {
    return wait([&](accounts::AuthDone d) { service_.login(name, password, address, d); });
  }
  FakeRuntime rt_{NodeId(201)};
  accounts::AccountService service_{rt_.runtime};
};

TEST_F(Service, RegisterThenLogInGivesTheSameCharacterAndWorkingTokens) {
  const AuthOutcome r = reg("ana", "correct horse");
  ASSERT_EQ(r.code, AuthCode::kOk) << accounts::auth_refusal_name(r.why);
  EXPECT_TRUE(r.character.valid());
  EXPECT_EQ(r.class_id, 2u);
  const AuthOutcome l = login("ana", "correct horse");
  ASSERT_EQ(l.code, AuthCode::kOk) << accounts::auth_refusal_name(l.why);
  EXPECT_EQ(l.account, r.account);
  EXPECT_EQ(l.character, r.character);
  EXPECT_EQ(l.class_id, 2u);
  EXPECT_EQ(service_.check_access(l.tokens.access).character, r.character);
  EXPECT_EQ(reg("ana", "another password").code, AuthCode::kNameTaken);
  EXPECT_EQ(reg("An a", "correct horse").code, AuthCode::kInvalid);
  EXPECT_EQ(reg("bob", "short").code, AuthCode::kInvalid);
}

TEST_F(Service, AWrongPasswordAndAnUnknownNameGetTheSameAnswerAfterTheSameWork) {
  ASSERT_EQ(reg("ana", "correct horse").code, AuthCode::kOk);
  const TimeNs t0 = rt_.now_ns();
  const AuthOutcome wrong = login("ana", "wrong horse!");
  const TimeNs wrong_ns = rt_.now_ns() - t0;
  const TimeNs t1 = rt_.now_ns();
  const AuthOutcome unknown = login("nobody", "wrong horse!");
  const TimeNs unknown_ns = rt_.now_ns() - t1;
  EXPECT_EQ(wrong.code, AuthCode::kRefused);
  EXPECT_EQ(unknown.code, AuthCode::kRefused);
  EXPECT_STREQ(accounts::auth_code_message(wrong.code), accounts::auth_code_message(unknown.code));
  EXPECT_EQ(wrong.why, AuthRefusal::kWrongPassword);  // for counters and logs only
  EXPECT_EQ(unknown.why, AuthRefusal::kUnknownName);
  EXPECT_GE(unknown_ns, sim::kSimPasswordHashNs) << "an unknown name must cost a verification too";
  EXPECT_GE(wrong_ns, sim::kSimPasswordHashNs);
  EXPECT_FALSE(wrong.tokens.access.present());
}

TEST_F(Service, RepeatedFailuresLockTheAccountWithTheSameGenericAnswer) {
  ASSERT_EQ(reg("ana", "correct horse").code, AuthCode::kOk);
  for (uint32_t i = 0; i < LoginLimits{}.failures_per_account_max; ++i) ASSERT_EQ(login("ana", "guess number " + std::to_string(i)).code, AuthCode::kRefused);
  const AuthOutcome locked = login("ana", "correct horse", "10.0.0.2");
  EXPECT_EQ(locked.code, AuthCode::kRefused) << "locked: even the right password waits for the window";
  EXPECT_EQ(locked.why, AuthRefusal::kAccountRate);
  EXPECT_GE(service_.stats().refused[static_cast<size_t>(AuthRefusal::kAccountRate)], 1u);
  rt_.advance(LoginLimits{}.window_ns);
  EXPECT_EQ(login("ana", "correct horse").code, AuthCode::kOk);
}

TEST_F(Service, RefreshAndLogoutThroughTheService) {
  const AuthOutcome r = reg("ana", "correct horse");
  ASSERT_EQ(r.code, AuthCode::kOk);
  const AuthOutcome refreshed = service_.refresh(r.tokens.refresh);
  ASSERT_EQ(refreshed.code, AuthCode::kOk);
  EXPECT_EQ(refreshed.character, r.character);
  EXPECT_EQ(service_.refresh(r.tokens.refresh).why, AuthRefusal::kTokenReused);
  EXPECT_EQ(service_.check_access(refreshed.tokens.access).refusal, TokenRefusal::kUnknown) << "the family was revoked";
  const AuthOutcome again = login("ana", "correct horse");
  ASSERT_EQ(again.code, AuthCode::kOk);
  EXPECT_TRUE(service_.logout(again.tokens.access));
  EXPECT_EQ(service_.check_access(again.tokens.access).refusal, TokenRefusal::kUnknown);
  EXPECT_EQ(service_.stats().logouts, 1u);
}

TEST_F(Service, WithoutAStoreEveryRequestIsRefusedAsUnavailable) {
  FakeRuntime rt(NodeId(202));
  rt.storage.refuse = true;
  accounts::AccountService service(rt.runtime);
  service.start();
  std::optional<AuthOutcome> got;
  service.register_account("ana", "correct horse", 1, "x", [&](const AuthOutcome& o) { got = o; });
  rt.advance(kNsPerSec);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->code, AuthCode::kUnavailable);
}

TEST_F(Service, AStoreWithANewerAccountsLayoutIsRefused) {
  FakeRuntime rt(NodeId(202));
  WriteBatch b;
  b.put(StorageKey("meta").str("accounts").take(), Bytes{0, 0, 0, 0, 0, 0, 0, 9}, 1);
  rt.storage.write(std::move(b), [](WriteResult) {});
  rt.advance(kNsPerMs);
  accounts::AccountService service(rt.runtime);
  service.start();
  rt.advance(kNsPerSec);
  EXPECT_FALSE(service.ready());  // the dummy hash is made, the layout refused
  EXPECT_TRUE(rt.log.contains("newer than this binary"));
  std::optional<AuthOutcome> got;
  service.login("ana", "correct horse", "x", [&](const AuthOutcome& o) { got = o; });
  rt.advance(kNsPerSec);
  ASSERT_TRUE(got.has_value());
  EXPECT_EQ(got->code, AuthCode::kUnavailable);
}

// --- the gateway's admission -------------------------------------------------------------------

constexpr NodeId kSelf{201};
constexpr NodeId kLeader{1};
constexpr const char* kListen = "gateway-201:8000";
constexpr const char* kLeaderAddress = "coordinator-1:7000";

class Admission : public ::testing::Test {
 protected:
  Admission() : rt_(kSelf) {
    GatewayConfig cfg;
    cfg.node = kSelf;
    cfg.listen_address = kListen;
    cfg.coordinator_addresses = {kLeaderAddress};
    cfg.accounts.enabled = true;
    cfg.accounts.sessions.access_ttl_ns = 60 * kNsPerSec;
    gateway_ = std::make_unique<Gateway>(rt_.runtime, cfg);
    gateway_->start();
    leader_ = rt_.network.outbound_to(kLeaderAddress);
    rt_.network.complete_connect(leader_);
    rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, 1, 0, Leadership{true}});
    rt_.advance(kNsPerSec);
  }
  // What the gateway last sent on conn, decoded.
  std::optional<client::GatewayHeader> last_to(ConnId conn) {
    for (auto it = rt_.network.sent().rbegin(); it != rt_.network.sent().rend(); ++it) {
      if (it->conn != conn) continue;
      ByteReader r(it->bytes);
      auto h = client::decode_gateway_header(r);
      if (h) return *h;
    }
    return std::nullopt;
  }
  client::AuthReply register_on(ConnId conn, const std::string& name) {
    rt_.network.deliver_bytes(conn, client::encode_register(client::Register{name, "correct horse", 1}));
    rt_.advance(kNsPerSec);
    auto h = last_to(conn);
    EXPECT_TRUE(h && h->type == client::Type::kAuthReply);
    return h ? h->auth : client::AuthReply{};
  }
  void hello(ConnId conn, client::WireToken access, EntityId resume = {}, uint64_t resume_token = 0) {
    rt_.network.deliver_bytes(conn, client::encode_hello(client::Hello{client::kProtocolVersion, "ana", resume, resume_token, access}));
    rt_.advance(10 * kNsPerMs);  // a character's spawn waits for its save to be read
  }
  void put_row(Bytes key, Bytes value) {
    WriteBatch b;
    b.put(std::move(key), std::move(value), 1);
    ASSERT_EQ(rt_.runtime.storage.write(std::move(b), [](WriteResult r) { ASSERT_TRUE(r.status.ok()); }), StorageCode::kOk);
    rt_.advance(10 * kNsPerMs);
  }
  uint64_t refused(AuthRefusal why) const { return gateway_->stats().hellos_refused[static_cast<size_t>(why)]; }

  FakeRuntime rt_;
  std::unique_ptr<Gateway> gateway_;
  ConnId leader_ = 0;
};

TEST_F(Admission, AValidAccessTokenSpawnsItsCharacterWithItsClass) {
  const ConnId conn = rt_.network.accept(kListen);
  const client::AuthReply reply = register_on(conn, "ana");
  ASSERT_EQ(reply.code, 0u) << reply.message;
  hello(conn, reply.access);
  const auto request = rt_.network.last_of<SpawnRequest>(leader_);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->character.value, reply.character);
  EXPECT_EQ(request->class_id, 1u);
  EXPECT_FALSE(request->resume_only);
  // A new character has no save: its first life, nothing loaded.
  EXPECT_EQ(request->save.character.value, reply.character);
  EXPECT_EQ(request->save.life, 1u);
  EXPECT_FALSE(request->save.loaded);
  EXPECT_TRUE(rt_.network.open(conn));
  EXPECT_EQ(gateway_->stats().saves_absent, 1u);  // aether_gateway_character_loads_total{outcome="absent"}
  EXPECT_EQ(gateway_->stats().saves_loaded, 0u);
}

// docs/persistence.md §9d: the newest life's save comes with the spawn, as the next life.
TEST_F(Admission, ACharacterSpawnsFromItsNewestSaveAsItsNextLife) {
  const ConnId conn = rt_.network.accept(kListen);
  const client::AuthReply reply = register_on(conn, "ana");
  ASSERT_EQ(reply.code, 0u) << reply.message;
  const CharacterId character(reply.character);
  CharacterSave old_life;
  old_life.character = character;
  old_life.life = 3;
  old_life.entity = EntityId(1ULL << 40 | 3);
  old_life.level = 2;
  CharacterSave newest = old_life;
  newest.life = 4;
  newest.entity = EntityId(1ULL << 40 | 4);
  newest.level = 5;
  newest.experience = 400;
  newest.pos = Vec2{1000, 2000};
  LootItem item;
  item.kind = 2;
  item.victim = EntityId(77);
  item.key.origin = NodeId(101);
  item.key.tick = 9;
  newest.inventory.push_back(item);
  put_row(character_save_key(character, 3), encode_character_save(old_life));
  put_row(character_save_key(character, 4), encode_character_save(newest));
  hello(conn, reply.access);
  const auto request = rt_.network.last_of<SpawnRequest>(leader_);
  ASSERT_TRUE(request.has_value());
  EXPECT_EQ(request->save.life, 5u);
  EXPECT_TRUE(request->save.loaded);
  EXPECT_EQ(request->save.level, 5u);
  EXPECT_EQ(request->save.experience, 400);
  EXPECT_EQ(request->save.pos, (Vec2{1000, 2000}));
  ASSERT_EQ(request->save.inventory.size(), 1u);
  EXPECT_EQ(request->save.inventory[0], item);
  EXPECT_EQ(gateway_->stats().saves_loaded, 1u);
  EXPECT_EQ(gateway_->stats().saves_absent, 0u);
}

// A spawn the leader holds for the character's log-out save (coordinator/logout_waits.h) is asked
// again with the save read again, since the one read may predate it; a spawn held for any other
// reason (no compute node yet, no quorum) is asked again with the save already read.
TEST_F(Admission, AHeldSpawnReadsTheSaveAgainOnlyWhileTheLogoutSaveIsPending) {
  const ConnId conn = rt_.network.accept(kListen);
  const client::AuthReply reply = register_on(conn, "ana");
  ASSERT_EQ(reply.code, 0u) << reply.message;
  const CharacterId character(reply.character);
  hello(conn, reply.access);
  auto asks = rt_.network.sent_of<SpawnRequest>(leader_);
  ASSERT_EQ(asks.size(), 1u);
  EXPECT_FALSE(asks[0].save.loaded);
  const SessionId session = asks[0].session;

  SpawnReply no_node;
  no_node.session = session;
  no_node.refusal = "no compute node available";
  no_node.retry_later = true;
  rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, 1, 0, no_node});
  // The save lands after the gateway read it: only a save-pending hold makes the gateway see it.
  CharacterSave landed;
  landed.character = character;
  landed.life = 1;
  landed.entity = EntityId(1ULL << 40 | 9);
  landed.level = 3;
  put_row(character_save_key(character, 1), encode_character_save(landed));
  rt_.advance(kNsPerSec);
  asks = rt_.network.sent_of<SpawnRequest>(leader_);
  ASSERT_EQ(asks.size(), 2u) << "asked again";
  EXPECT_FALSE(asks[1].save.loaded) << "not read again for a hold that is not the save's";
  EXPECT_EQ(gateway_->stats().saves_absent, 1u);
  EXPECT_EQ(gateway_->stats().saves_reread, 0u);

  SpawnReply save_pending = no_node;
  save_pending.refusal = "the character's log-out save has not landed yet";
  save_pending.save_pending = true;
  rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, 1, 0, save_pending});
  rt_.advance(kNsPerSec);
  asks = rt_.network.sent_of<SpawnRequest>(leader_);
  ASSERT_EQ(asks.size(), 3u) << "asked again";
  EXPECT_TRUE(asks[2].save.loaded) << "read again: the landed save";
  EXPECT_EQ(asks[2].save.life, 2u);
  EXPECT_EQ(asks[2].save.level, 3u);
  EXPECT_EQ(gateway_->stats().saves_reread, 1u);  // aether_gateway_character_saves_reread_total
  EXPECT_EQ(gateway_->stats().saves_loaded, 1u);
}

TEST_F(Admission, ACharacterWhoseSaveIsUnreadableIsRefusedNotPlayedAnew) {
  const ConnId conn = rt_.network.accept(kListen);
  const client::AuthReply reply = register_on(conn, "ana");
  ASSERT_EQ(reply.code, 0u) << reply.message;
  put_row(character_save_key(CharacterId(reply.character), 2), Bytes{0x43, 0x01});
  hello(conn, reply.access);
  EXPECT_FALSE(rt_.network.last_of<SpawnRequest>(leader_).has_value());
  EXPECT_FALSE(rt_.network.open(conn));
  EXPECT_EQ(gateway_->stats().saves_unreadable, 1u);
  EXPECT_EQ(gateway_->stats().saves_absent + gateway_->stats().saves_loaded, 0u);
  EXPECT_TRUE(rt_.log.contains("save is unreadable"));
}

TEST_F(Admission, NoTokenAForgedOneAndAnExpiredOneAreRefusedWithAReasonAndACounter) {
  const ConnId none = rt_.network.accept(kListen);
  hello(none, {});
  EXPECT_FALSE(rt_.network.open(none));
  ASSERT_TRUE(last_to(none).has_value());
  EXPECT_EQ(last_to(none)->goodbye.reason, "not logged in: token_missing");
  EXPECT_EQ(refused(AuthRefusal::kTokenMissing), 1u);

  const ConnId owner = rt_.network.accept(kListen);
  const client::AuthReply reply = register_on(owner, "ana");
  ASSERT_EQ(reply.code, 0u);
  const ConnId forger = rt_.network.accept(kListen);
  hello(forger, client::WireToken{reply.access.id, reply.access.secret + 1});
  EXPECT_FALSE(rt_.network.open(forger));
  EXPECT_EQ(last_to(forger)->goodbye.reason, "not logged in: token_forged");
  EXPECT_EQ(refused(AuthRefusal::kTokenForged), 1u);
  const ConnId guesser = rt_.network.accept(kListen);
  hello(guesser, client::WireToken{12345, 678});
  EXPECT_EQ(refused(AuthRefusal::kTokenUnknown), 1u);

  rt_.advance(61 * kNsPerSec);
  const ConnId late = rt_.network.accept(kListen);
  hello(late, reply.access);
  EXPECT_FALSE(rt_.network.open(late));
  EXPECT_EQ(last_to(late)->goodbye.reason, "not logged in: token_expired");
  EXPECT_EQ(refused(AuthRefusal::kTokenExpired), 1u);
  EXPECT_TRUE(rt_.log.contains("refused at hello: token_missing"));
  EXPECT_FALSE(rt_.network.last_of<SpawnRequest>(leader_).has_value()) << "no refused client reached the coordinator";
}

TEST_F(Admission, AResumeTokenAloneAdmitsOnlyAResume) {
  const ConnId conn = rt_.network.accept(kListen);
  hello(conn, {}, EntityId(1ULL << 40 | 5), 42);
  const auto request = rt_.network.last_of<SpawnRequest>(leader_);
  ASSERT_TRUE(request.has_value());
  EXPECT_TRUE(request->resume_only);
  EXPECT_FALSE(request->character.valid());
  EXPECT_EQ(gateway_->stats().resume_only_admitted, 1u);
  rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, 1, 0, SpawnReply{request->session, {}, {}, "", "resume refused", 0, false}});
  EXPECT_FALSE(rt_.network.open(conn));
  EXPECT_EQ(last_to(conn)->goodbye.reason, "resume refused");
}

TEST_F(Admission, LoggingInAgainResumesTheCharactersAvatarAndOneCharacterPlaysOnce) {
  const ConnId first = rt_.network.accept(kListen);
  const client::AuthReply reply = register_on(first, "ana");
  hello(first, reply.access);
  const auto request = rt_.network.last_of<SpawnRequest>(leader_);
  ASSERT_TRUE(request.has_value());
  const EntityId avatar(1ULL << 40 | 9);
  rt_.network.deliver(leader_, ServerMessage{kLeader, Role::kCoordinator, 1, 0, SpawnReply{request->session, avatar, NodeId(101), "compute-101:9000", "", 77}});
  // The same character again while it plays: refused.
  const ConnId twin = rt_.network.accept(kListen);
  hello(twin, reply.access);
  EXPECT_FALSE(rt_.network.open(twin));
  EXPECT_EQ(gateway_->stats().hellos_character_busy, 1u);
  // The client drops, logs in anew (no resume token of its own): it asks for its avatar back.
  rt_.network.reset(first);
  const ConnId back = rt_.network.accept(kListen);
  rt_.network.deliver_bytes(back, client::encode_login(client::Login{"ana", "correct horse"}));
  rt_.advance(kNsPerSec);
  auto h = last_to(back);
  ASSERT_TRUE(h && h->type == client::Type::kAuthReply && h->auth.code == 0);
  hello(back, h->auth.access);
  const auto again = rt_.network.last_of<SpawnRequest>(leader_);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->resume_entity, avatar);
  EXPECT_EQ(again->resume_token, 77u);
}

TEST_F(Admission, AccountRequestsPerConnectionAreBounded) {
  const ConnId conn = rt_.network.accept(kListen);
  for (uint32_t i = 0; i <= GatewayAccounts{}.requests_per_connection_max; ++i) {
    rt_.network.deliver_bytes(conn, client::encode_refresh(client::Refresh{client::WireToken{1, 2}}));
  }
  EXPECT_FALSE(rt_.network.open(conn));
  EXPECT_EQ(gateway_->stats().account_requests_closed, 1u);
}

}  // namespace
}  // namespace aether
