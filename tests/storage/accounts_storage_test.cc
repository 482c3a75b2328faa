// The account tables (engine/accounts/account_service.h) on every backend: the simulator's disk,
// SQLite and a real PostgreSQL (the ctest fixture), with the runtime's own password hasher (the
// simulator's stand-in; Argon2id through libsodium in the real runtime, at its minimum cost here).

#include <gtest/gtest.h>

#include <spdlog/sinks/null_sink.h>

#include "engine/accounts/account_service.h"
#include "engine/runtime/storage_keys.h"
#include "runtime/real/real_runtime.h"
#include "tests/storage/storage_harness.h"

namespace aether::testing {
namespace {

using accounts::AccountService;
using accounts::AuthCode;
using accounts::AuthOutcome;

// A component's runtime on the harness's store: the host's in the simulator, a RealRuntime on the
// harness's loop and database otherwise.
template <class H>
struct Env {
  explicit Env(H& h) : h(h) {
    real::RealOptions o;
    o.log_sink = spdlog::null_logger_mt(fmt::format("accounts-{}-{}", H::kName, counter()++));
    o.password_cost = real::PasswordCost::kMinimum;
    rt = std::make_unique<real::RealRuntime>(h.io(), "gateway-201", NodeId(201), o);
    auto backend = h.open_backend();
    if (!backend) {
      ADD_FAILURE() << backend.error().message;
      return;
    }
    rt->open_storage(std::move(*backend));
  }
  static uint64_t& counter() {
    static uint64_t n = 0;
    return n;
  }
  Runtime& runtime() { return rt->runtime(); }
  static constexpr const char* kHashPrefix = "$argon2id$";
  H& h;
  std::unique_ptr<real::RealRuntime> rt;
};
template <>
struct Env<SimHarness> {
  explicit Env(SimHarness& h) : h(h) {}
  Runtime& runtime() { return h.host->runtime(); }
  static constexpr const char* kHashPrefix = "sim$";
  SimHarness& h;
};

template <class H>
class AccountTables : public ::testing::Test {
 protected:
  AuthOutcome wait(AccountService& s, const std::function<void(AccountService&, accounts::AuthDone)>& call) {
    std::optional<AuthOutcome> got;
    call(s, [&got](const AuthOutcome& o) { got = o; });
    h.wait([&] { return got.has_value(); });
    return got.value_or(AuthOutcome{AuthCode::kUnavailable});
  }
  AuthOutcome reg(AccountService& s, const std::string& name, const std::string& password, uint32_t class_id) {
    return wait(s, [&](AccountService& a, accounts::AuthDone d) { a.register_account(name, password, class_id, "10.0.0.1", d); });
  }
  AuthOutcome login(AccountService& s, const std::string& name, const std::string& password) {
    return wait(s, [&](AccountService& a, accounts::AuthDone d) { a.login(name, password, "10.0.0.1", d); });
  }
  std::optional<StorageRow> row(const Bytes& key) {
    std::optional<GetResult> got;
    EXPECT_EQ(h.store().get(key, [&](GetResult r) { got = std::move(r); }), StorageCode::kOk);
    h.wait([&] { return got.has_value(); });
    if (!got || !got->status.ok()) return std::nullopt;
    return got->row;
  }
  std::vector<StorageRow> scan(const Bytes& prefix) {
    std::optional<ScanResult> got;
    EXPECT_EQ(h.store().scan(prefix, {}, 100, [&](ScanResult r) { got = std::move(r); }), StorageCode::kOk);
    h.wait([&] { return got.has_value(); });
    return got ? got->rows : std::vector<StorageRow>{};
  }
  H h;
  Env<H> env{h};
};

using AllBackends = ::testing::Types<SimHarness, SqliteHarness, PostgresHarness>;
struct BackendNames {
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};
TYPED_TEST_SUITE(AccountTables, AllBackends, BackendNames);

TYPED_TEST(AccountTables, AnAccountItsNameItsCharacterAndTheLayoutVersionAreRows) {
  AccountService service(this->env.runtime());
  service.start();
  const AuthOutcome r = this->reg(service, "ana", "correct horse", 3);
  ASSERT_EQ(r.code, AuthCode::kOk) << accounts::auth_refusal_name(r.why);
  // meta/accounts holds the layout version.
  const auto meta = this->row(StorageKey("meta").str("accounts").take());
  ASSERT_TRUE(meta.has_value());
  EXPECT_EQ(meta->value, (Bytes{0, 0, 0, 0, 0, 0, 0, accounts::kAccountsLayoutVersion}));
  // accountname/ana -> the account; account/ID -> name and the runtime's password hash, never the password.
  const auto name = this->row(StorageKey("accountname").str("ana").take());
  ASSERT_TRUE(name.has_value());
  ASSERT_EQ(name->value.size(), 8u);
  const auto account = this->row(StorageKey("account").u64(r.account.value).take());
  ASSERT_TRUE(account.has_value());
  accounts::AccountRecord rec;
  ASSERT_TRUE(accounts::decode_account(account->value, rec));
  EXPECT_EQ(rec.name, "ana");
  EXPECT_EQ(rec.password_hash.rfind(Env<TypeParam>::kHashPrefix, 0), 0u) << rec.password_hash;
  EXPECT_EQ(rec.password_hash.find("correct horse"), std::string::npos);
  // character/ACCOUNT/CHARACTER, one row for the first character, with its class.
  const auto characters = this->scan(StorageKey("character").u64(r.account.value).take());
  ASSERT_EQ(characters.size(), 1u);
  EXPECT_EQ(characters[0].key, StorageKey("character").u64(r.account.value).u64(r.character.value).take());
  accounts::CharacterRecord c;
  ASSERT_TRUE(accounts::decode_character(characters[0].value, c));
  EXPECT_EQ(c.class_id, 3u);
}

TYPED_TEST(AccountTables, NamesAreUniqueAndALoginFindsTheCharacter) {
  AccountService service(this->env.runtime());
  service.start();
  const AuthOutcome r = this->reg(service, "ana", "correct horse", 2);
  ASSERT_EQ(r.code, AuthCode::kOk);
  EXPECT_EQ(this->reg(service, "ana", "other password", 1).code, AuthCode::kNameTaken);
  EXPECT_EQ(this->reg(service, "bob", "other password", 1).code, AuthCode::kOk);
  const AuthOutcome l = this->login(service, "ana", "correct horse");
  ASSERT_EQ(l.code, AuthCode::kOk) << accounts::auth_refusal_name(l.why);
  EXPECT_EQ(l.account, r.account);
  EXPECT_EQ(l.character, r.character);
  EXPECT_EQ(l.class_id, 2u);
  EXPECT_EQ(this->login(service, "ana", "wrong password").code, AuthCode::kRefused);
  EXPECT_EQ(this->login(service, "carol", "correct horse").code, AuthCode::kRefused);
}

// What a restart keeps: a new service on the same database logs the account in (sessions do not
// survive: they live in memory, docs/security.md).
TYPED_TEST(AccountTables, AnotherServiceOnTheSameDatabaseLogsTheAccountIn) {
  AuthOutcome r;
  {
    AccountService first(this->env.runtime());
    first.start();
    r = this->reg(first, "ana", "correct horse", 4);
    ASSERT_EQ(r.code, AuthCode::kOk);
    this->h.wait([&] { return first.ready() && first.in_flight() == 0; });
  }
  AccountService second(this->env.runtime());
  second.start();
  EXPECT_EQ(second.check_access(r.tokens.access).refusal, accounts::TokenRefusal::kUnknown);
  const AuthOutcome l = this->login(second, "ana", "correct horse");
  ASSERT_EQ(l.code, AuthCode::kOk);
  EXPECT_EQ(l.character, r.character);
  EXPECT_EQ(l.class_id, 4u);
}

}  // namespace
}  // namespace aether::testing
