#pragma once
// Sessions: who may play, for how long. Logging in opens a token family: a short-lived access token
// (what a gateway asks for in Hello) and a refresh token that buys a new pair. Rules, each enforced
// here and nowhere else:
//
//  - Tokens are 128 bits drawn from Runtime::entropy (a 64-bit family id and a 64-bit secret), never
//    from the seeded generator that decides gameplay. A token is only ever compared whole.
//  - An access token is good until access_ttl_ns after it was issued, and only while its family
//    lives. Each refresh replaces it: one access token per family at a time.
//  - A refresh token serves once (rotation): presenting it issues a new access token and a new
//    refresh token and spends the old one. Presenting a spent one again means the token was copied:
//    the whole family is revoked at once (the thief's and the owner's tokens alike); the owner logs
//    in again with the password. A family remembers its last kSpentRefreshKept spent secrets for this.
//  - A family ends at refresh_ttl_ns after login (refreshing does not extend it), at logout, or at
//    revocation. Its tokens are then unknown.
//  - Bounded: at most families_max families (past it, the oldest is closed to make room: an open
//    family is worth less than a new login) and families_per_account_max per account (past it, that
//    account's oldest is closed).
//
// Families live in the memory of the account service that opened them (docs/security.md says why;
// a restart logs everyone out). Deterministic: ordered maps only, time from the caller.

#include <array>
#include <cstdint>
#include <map>

#include "engine/core/ids.h"
#include "engine/core/random.h"
#include "engine/core/time.h"

namespace aether::accounts {

struct Token {
  uint64_t id = 0;      // the family
  uint64_t secret = 0;  // never 0 for an issued token
  bool present() const { return id != 0 || secret != 0; }
  friend bool operator==(const Token&, const Token&) = default;
};

struct SessionLimits {
  TimeNs access_ttl_ns = 15 * 60 * kNsPerSec;
  TimeNs refresh_ttl_ns = 24 * 3600 * kNsPerSec;
  size_t families_max = 100'000;
  size_t families_per_account_max = 8;
};

// Why a token was refused; each is a counter (aether_gateway_auth_refused_total{reason}).
enum class TokenRefusal : uint8_t {
  kNone = 0,
  kMissing,   // no token at all
  kUnknown,   // no such family: never issued, logged out, revoked, expired and swept, or evicted
  kForged,    // a family that exists, a secret it never issued
  kExpired,   // an access token past its ttl (or a family past its refresh ttl)
  kReused,    // a spent refresh token: the family is now revoked
};
inline constexpr size_t kTokenRefusalKinds = 6;
const char* token_refusal_name(TokenRefusal r);

inline constexpr size_t kSpentRefreshKept = 8;

class SessionBook {
 public:
  explicit SessionBook(SessionLimits limits = {}) : limits_(limits) {}

  struct Issued {
    Token access;
    Token refresh;
    TimeNs access_expires_ns = 0;
  };
  struct Holder {
    TokenRefusal refusal = TokenRefusal::kNone;
    AccountId account{};
    CharacterId character{};
    uint32_t class_id = 0;
  };

  Issued open(AccountId account, CharacterId character, uint32_t class_id, TimeNs now, Random& entropy);
  Holder check_access(const Token& access, TimeNs now) const;
  // Rotation (the rules above). On kNone, `issued` holds the new pair.
  Holder refresh(const Token& refresh, TimeNs now, Random& entropy, Issued& issued);
  // Logout: ends the family of either of its current tokens. False if none matched.
  bool close(const Token& token);
  // Families past their refresh ttl go; call it now and then (the gateway: every second).
  void sweep(TimeNs now);

  size_t families() const { return families_.size(); }
  uint64_t revoked_for_reuse() const { return revoked_for_reuse_; }
  uint64_t evicted() const { return evicted_; }

 private:
  struct Family {
    AccountId account{};
    CharacterId character{};
    uint32_t class_id = 0;
    TimeNs opened_ns = 0;
    uint64_t access_secret = 0;
    TimeNs access_expires_ns = 0;
    uint64_t refresh_secret = 0;
    std::array<uint64_t, kSpentRefreshKept> spent{};  // ring of spent refresh secrets
    uint32_t spent_next = 0;
  };
  Issued issue(uint64_t id, Family& f, TimeNs now, Random& entropy);
  void erase(std::map<uint64_t, Family>::iterator it);
  static uint64_t nonzero(Random& entropy);

  SessionLimits limits_;
  std::map<uint64_t, Family> families_;                      // by family id
  std::map<std::pair<TimeNs, uint64_t>, uint64_t> by_age_;   // (opened, id) -> id: oldest first
  std::map<AccountId, std::map<std::pair<TimeNs, uint64_t>, uint64_t>> by_account_;
  uint64_t revoked_for_reuse_ = 0;
  uint64_t evicted_ = 0;
};

}  // namespace aether::accounts
