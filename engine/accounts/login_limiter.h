#pragma once
// Login rate limits: how many failed logins one account name, and one remote address, may have in a
// window, and how many registrations one address may make. Past a limit the attempt is refused
// before any password is hashed (an attacker cannot make the service burn CPU), with the same
// generic answer as a wrong password, counted by reason. A success clears its account's failures
// (not its address's: one address may hold many accounts).
//
// Fixed windows (window_ns), counted per key. Bounded: at most tracked_max keys; expired windows
// are swept first; if the table is still full, an attempt from an untracked key is refused
// (fail closed: under a flood of distinct names, logins wait for windows to expire rather than an
// attacker resetting someone's count by evicting it).

#include <cstdint>
#include <map>
#include <string>

#include "engine/core/time.h"

namespace aether::accounts {

struct LoginLimits {
  uint32_t failures_per_account_max = 5;
  uint32_t failures_per_address_max = 30;
  uint32_t registrations_per_address_max = 10;
  TimeNs window_ns = 60 * kNsPerSec;
  size_t tracked_max = 100'000;
};

enum class LimitVerdict : uint8_t { kAllowed, kAccountLimited, kAddressLimited, kTableFull };
const char* limit_verdict_name(LimitVerdict v);

class LoginLimiter {
 public:
  explicit LoginLimiter(LoginLimits limits = {}) : limits_(limits) {}

  LimitVerdict may_login(const std::string& account, const std::string& address, TimeNs now);
  LimitVerdict may_register(const std::string& address, TimeNs now);  // counts the registration if allowed
  void failed(const std::string& account, const std::string& address, TimeNs now);
  void succeeded(const std::string& account);
  size_t tracked() const { return counts_.size(); }
  const LoginLimits& limits() const { return limits_; }

 private:
  struct Window {
    TimeNs start_ns = 0;
    uint32_t count = 0;
  };
  // Keys: "a:" + account name, "f:" + address (failures), "r:" + address (registrations).
  uint32_t count(const std::string& key, TimeNs now) const;
  bool add(const std::string& key, TimeNs now);  // false: the table is full
  bool room(const std::string& key, TimeNs now);
  void sweep(TimeNs now);

  LoginLimits limits_;
  std::map<std::string, Window> counts_;
};

}  // namespace aether::accounts
