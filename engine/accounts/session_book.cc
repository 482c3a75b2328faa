#include "engine/accounts/session_book.h"

#include "engine/core/assert.h"

namespace aether::accounts {

const char* token_refusal_name(TokenRefusal r) {
  switch (r) {
    case TokenRefusal::kNone: return "none";
    case TokenRefusal::kMissing: return "missing";
    case TokenRefusal::kUnknown: return "unknown";
    case TokenRefusal::kForged: return "forged";
    case TokenRefusal::kExpired: return "expired";
    case TokenRefusal::kReused: return "reused";
  }
  return "?";
}

uint64_t SessionBook::nonzero(Random& entropy) {
  uint64_t v = 0;
  while (v == 0) v = entropy.next_u64();
  return v;
}

SessionBook::Issued SessionBook::issue(uint64_t id, Family& f, TimeNs now, Random& entropy) {
  f.access_secret = nonzero(entropy);
  f.refresh_secret = nonzero(entropy);
  f.access_expires_ns = now + limits_.access_ttl_ns;
  return Issued{Token{id, f.access_secret}, Token{id, f.refresh_secret}, f.access_expires_ns};
}

SessionBook::Issued SessionBook::open(AccountId account, CharacterId character, uint32_t class_id, TimeNs now, Random& entropy) {
  AETHER_ASSERT(account.valid() && limits_.families_max > 0 && limits_.families_per_account_max > 0);
  for (auto mine = by_account_.find(account); mine != by_account_.end() && mine->second.size() >= limits_.families_per_account_max;
       mine = by_account_.find(account)) {
    ++evicted_;
    erase(families_.find(mine->second.begin()->second));
  }
  while (families_.size() >= limits_.families_max) {
    ++evicted_;
    erase(families_.find(by_age_.begin()->second));
  }
  uint64_t id = nonzero(entropy);
  while (families_.count(id)) id = nonzero(entropy);
  Family& f = families_[id];
  f.account = account;
  f.character = character;
  f.class_id = class_id;
  f.opened_ns = now;
  by_age_.emplace(std::pair{now, id}, id);
  by_account_[account].emplace(std::pair{now, id}, id);
  return issue(id, f, now, entropy);
}

SessionBook::Holder SessionBook::check_access(const Token& access, TimeNs now) const {
  if (!access.present()) return {TokenRefusal::kMissing};
  auto it = families_.find(access.id);
  if (it == families_.end()) return {TokenRefusal::kUnknown};
  const Family& f = it->second;
  if (access.secret != f.access_secret) return {TokenRefusal::kForged};
  if (now >= f.access_expires_ns || now - f.opened_ns >= limits_.refresh_ttl_ns) return {TokenRefusal::kExpired};
  return {TokenRefusal::kNone, f.account, f.character, f.class_id};
}

SessionBook::Holder SessionBook::refresh(const Token& refresh, TimeNs now, Random& entropy, Issued& issued) {
  if (!refresh.present()) return {TokenRefusal::kMissing};
  auto it = families_.find(refresh.id);
  if (it == families_.end()) return {TokenRefusal::kUnknown};
  Family& f = it->second;
  if (refresh.secret != f.refresh_secret) {
    for (uint64_t spent : f.spent) {
      if (spent != 0 && spent == refresh.secret) {
        ++revoked_for_reuse_;
        erase(it);
        return {TokenRefusal::kReused};
      }
    }
    return {TokenRefusal::kForged};
  }
  if (now - f.opened_ns >= limits_.refresh_ttl_ns) {
    erase(it);
    return {TokenRefusal::kExpired};
  }
  f.spent[f.spent_next] = f.refresh_secret;
  f.spent_next = (f.spent_next + 1) % kSpentRefreshKept;
  issued = issue(refresh.id, f, now, entropy);
  return {TokenRefusal::kNone, f.account, f.character, f.class_id};
}

bool SessionBook::close(const Token& token) {
  auto it = families_.find(token.id);
  if (it == families_.end() || token.secret == 0) return false;
  if (token.secret != it->second.access_secret && token.secret != it->second.refresh_secret) return false;
  erase(it);
  return true;
}

void SessionBook::sweep(TimeNs now) {
  while (!by_age_.empty() && now - by_age_.begin()->first.first >= limits_.refresh_ttl_ns) erase(families_.find(by_age_.begin()->second));
}

void SessionBook::erase(std::map<uint64_t, Family>::iterator it) {
  AETHER_ASSERT(it != families_.end());
  const std::pair<TimeNs, uint64_t> key{it->second.opened_ns, it->first};
  by_age_.erase(key);
  auto acc = by_account_.find(it->second.account);
  AETHER_ASSERT(acc != by_account_.end());
  acc->second.erase(key);
  if (acc->second.empty()) by_account_.erase(acc);
  families_.erase(it);
}

}  // namespace aether::accounts
