#pragma once
// Accounts: register, log in, characters, and the sessions (token families) a login opens. A
// component (the gateway: docs/security.md, "Accounts and sessions") owns one AccountService; it
// runs on that component's loop and never blocks it: rows go through Runtime::storage, passwords
// through Runtime::passwords (Argon2id on a worker thread), every answer comes back later as a
// completion.
//
// Rows (engine/runtime/storage_keys.h), all written with fence 1 (accounts have no owner
// generation), synced:
//   meta/accounts                 the accounts layout version (kAccountsLayoutVersion), 8 bytes BE
//   accountname/NAME              the account id of a name, 8 bytes BE
//   account/ACCOUNT               varint layout, string name, string password hash, varint characters
//   character/ACCOUNT/CHARACTER   varint layout, varint class, string name
// A store whose meta/accounts is newer than this binary's is refused (every request answers
// kUnavailable, logged once): as with the schema, an older binary never misreads newer rows.
//
// What a client learns: a login that fails for any reason (no such name, wrong password, a rate
// limit) answers the same kRefused "invalid name or password", after the same password work (an
// unknown name is verified against a dummy hash), so that answers and their timing do not tell
// which names exist. Registering a taken name must say so (kNameTaken); registrations are limited
// per address. The reason for people (logs, counters) is kept apart (AuthOutcome::why).

#include <cstdint>
#include <functional>
#include <set>
#include <string>

#include "engine/accounts/login_limiter.h"
#include "engine/accounts/session_book.h"
#include "engine/runtime/runtime.h"

namespace aether::accounts {

inline constexpr uint64_t kAccountsLayoutVersion = 1;
inline constexpr size_t kAccountNameBytesMin = 3;
inline constexpr size_t kAccountNameBytesMax = 32;
inline constexpr size_t kAccountOpsMax = 256;  // registrations and logins in flight; past it: kBusy

enum class AuthCode : uint8_t {
  kOk = 0,
  kRefused = 1,      // login: invalid name or password (also: rate-limited; never says which)
  kNameTaken = 2,    // register
  kInvalid = 3,      // register: the name or password does not meet the rules
  kBusy = 4,         // too many requests in flight: try again later
  kUnavailable = 5,  // storage failed or refused
  kTokenRefused = 6, // refresh/logout: the token is not (or no longer) good
};
inline constexpr uint8_t kAuthCodeMax = 6;
const char* auth_code_name(AuthCode c);
const char* auth_code_message(AuthCode c);  // what the client is told

// Why a request was refused, for counters (aether_gateway_auth_refused_total{reason}).
enum class AuthRefusal : uint8_t {
  kNone = 0, kUnknownName, kWrongPassword, kAccountRate, kAddressRate, kLimiterFull, kNameTaken, kInvalid,
  kBusy, kStorage, kTokenMissing, kTokenUnknown, kTokenForged, kTokenExpired, kTokenReused,
};
inline constexpr size_t kAuthRefusalKinds = 15;
const char* auth_refusal_name(AuthRefusal r);
AuthRefusal refusal_of(TokenRefusal r);

struct AuthOutcome {
  AuthCode code = AuthCode::kOk;
  AuthRefusal why = AuthRefusal::kNone;
  AccountId account{};
  CharacterId character{};
  uint32_t class_id = 0;
  SessionBook::Issued tokens = {};
};
using AuthDone = std::function<void(const AuthOutcome&)>;

// Names: 3 to 32 bytes of [a-z0-9_-]; passwords: kPasswordBytesMin..kPasswordBytesMax bytes.
bool valid_account_name(std::string_view name);
bool valid_password(std::string_view password);

struct AccountRecord {
  std::string name;
  std::string password_hash;
  uint64_t characters = 0;
};
struct CharacterRecord {
  uint32_t class_id = 0;
  std::string name;
};
Bytes encode_account(const AccountRecord& a);
bool decode_account(const Bytes& b, AccountRecord& a);
Bytes encode_character(const CharacterRecord& c);
bool decode_character(const Bytes& b, CharacterRecord& c);

struct AccountStats {
  uint64_t registered = 0;
  uint64_t logins = 0;
  uint64_t refreshes = 0;
  uint64_t logouts = 0;
  std::array<uint64_t, kAuthRefusalKinds> refused{};
};

// Completions capture the service: like any component's, they must not outlive it (a runtime drops
// them with the component: a host crash, a process shutdown).
class AccountService {
 public:
  AccountService(Runtime& rt, LoginLimits login = {}, SessionLimits sessions = {});
  // Checks the layout version (writes it on a new store) and prepares the dummy hash.
  void start();

  // A new account with its first character (class_id), and a session for it.
  void register_account(std::string name, std::string password, uint32_t class_id, const std::string& address, AuthDone done);
  void login(std::string name, std::string password, const std::string& address, AuthDone done);
  // Synchronous (sessions live in memory): rotation, logout, the access check.
  AuthOutcome refresh(const Token& refresh);
  bool logout(const Token& token);
  SessionBook::Holder check_access(const Token& access) const { return sessions_.check_access(access, rt_.clock.now_ns()); }
  void sweep() { sessions_.sweep(rt_.clock.now_ns()); }

  const AccountStats& stats() const { return stats_; }
  const SessionBook& sessions() const { return sessions_; }
  size_t in_flight() const { return in_flight_; }
  // The layout was checked and the dummy hash is made: every answer from now on takes the same work.
  bool ready() const { return layout_ok_ && !dummy_hash_.empty(); }

 private:
  void finish(const AuthDone& done, AuthOutcome out);
  void refuse(const AuthDone& done, AuthCode code, AuthRefusal why);
  void login_found(std::string name, std::string password, std::string address, AccountId account, AuthDone done);
  void login_verified(const std::string& name, AccountId account, AuthDone done);

  Runtime& rt_;
  LoginLimiter limiter_;
  SessionBook sessions_;
  AccountStats stats_;
  std::set<std::string> registering_;  // names with a registration in flight (one at a time per name)
  std::string dummy_hash_;             // verified against for unknown names (same work, same answer)
  size_t in_flight_ = 0;
  bool layout_ok_ = false;
  bool layout_refused_ = false;
};

}  // namespace aether::accounts
