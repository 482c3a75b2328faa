#include "engine/accounts/login_limiter.h"

namespace aether::accounts {

const char* limit_verdict_name(LimitVerdict v) {
  switch (v) {
    case LimitVerdict::kAllowed: return "allowed";
    case LimitVerdict::kAccountLimited: return "account_rate";
    case LimitVerdict::kAddressLimited: return "address_rate";
    case LimitVerdict::kTableFull: return "limiter_full";
  }
  return "?";
}

uint32_t LoginLimiter::count(const std::string& key, TimeNs now) const {
  auto it = counts_.find(key);
  if (it == counts_.end() || now - it->second.start_ns >= limits_.window_ns) return 0;
  return it->second.count;
}

void LoginLimiter::sweep(TimeNs now) {
  std::erase_if(counts_, [&](const auto& entry) { return now - entry.second.start_ns >= limits_.window_ns; });
}

bool LoginLimiter::room(const std::string& key, TimeNs now) {
  if (counts_.size() < limits_.tracked_max || counts_.count(key)) return true;
  sweep(now);
  return counts_.size() < limits_.tracked_max;
}

bool LoginLimiter::add(const std::string& key, TimeNs now) {
  if (!room(key, now)) return false;
  Window& w = counts_[key];
  if (w.count == 0 || now - w.start_ns >= limits_.window_ns) w = Window{now, 0};
  ++w.count;
  return true;
}

LimitVerdict LoginLimiter::may_login(const std::string& account, const std::string& address, TimeNs now) {
  if (count("f:" + address, now) >= limits_.failures_per_address_max) return LimitVerdict::kAddressLimited;
  if (count("a:" + account, now) >= limits_.failures_per_account_max) return LimitVerdict::kAccountLimited;
  if (!room("a:" + account, now) || !room("f:" + address, now)) return LimitVerdict::kTableFull;
  return LimitVerdict::kAllowed;
}

LimitVerdict LoginLimiter::may_register(const std::string& address, TimeNs now) {
  const std::string key = "r:" + address;
  if (count(key, now) >= limits_.registrations_per_address_max) return LimitVerdict::kAddressLimited;
  return add(key, now) ? LimitVerdict::kAllowed : LimitVerdict::kTableFull;
}

void LoginLimiter::failed(const std::string& account, const std::string& address, TimeNs now) {
  add("a:" + account, now);
  add("f:" + address, now);
}

void LoginLimiter::succeeded(const std::string& account) { counts_.erase("a:" + account); }

}  // namespace aether::accounts
