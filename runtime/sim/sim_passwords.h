#pragma once
// The simulator's PasswordHasher (engine/runtime/passwords.h): a deterministic stand-in, NOT a
// password hash. It stores "sim$SALT$DIGEST" (engine/core/hash.h over the salt and the password,
// the salt from the host's entropy stream) and answers after kSimPasswordHashNs of virtual time on
// the host's timers, so that accounts, logins and their rate limits run in the simulator, replay
// byte for byte, and cost a simulated run nothing. Real processes use Argon2id
// (runtime/real/argon2_passwords.h); neither can read the other's stored form (verify says no).

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>

#include "engine/core/hash.h"
#include "engine/core/random.h"
#include "engine/runtime/passwords.h"
#include "engine/runtime/timers.h"

namespace aether::sim {

// What one hash or verification costs in virtual time (Argon2id's interactive cost is about this).
inline constexpr TimeNs kSimPasswordHashNs = 50 * kNsPerMs;

class SimPasswordHasher final : public PasswordHasher {
 public:
  SimPasswordHasher(Timers& timers, Random& entropy) : timers_(timers), entropy_(entropy) {}

  bool hash(std::string password, std::function<void(std::optional<std::string>)> done) override {
    if (in_flight_ >= kPasswordJobsMax) return false;
    const uint64_t salt = entropy_.next_u64();
    std::string stored = form(salt, password);
    ++in_flight_;
    timers_.schedule(kSimPasswordHashNs, [this, stored = std::move(stored), done = std::move(done)] {
      --in_flight_;
      done(stored);
    });
    return true;
  }
  bool verify(std::string password, std::string stored, std::function<void(bool)> done) override {
    if (in_flight_ >= kPasswordJobsMax) return false;
    bool match = false;
    unsigned long long salt = 0;
    if (stored.size() == 4 + 16 + 1 + 16 && stored.rfind("sim$", 0) == 0 && stored[20] == '$') {
      match = std::sscanf(stored.c_str() + 4, "%16llx", &salt) == 1 && form(salt, password) == stored;
    }
    ++in_flight_;
    timers_.schedule(kSimPasswordHashNs, [this, match, done = std::move(done)] {
      --in_flight_;
      done(match);
    });
    return true;
  }
  size_t in_flight() const override { return in_flight_; }
  // The host crashed: its timers, and with them every pending completion, are gone.
  void forget() { in_flight_ = 0; }

 private:
  static std::string form(uint64_t salt, const std::string& password) {
    Hasher64 h;
    h.add_u64(salt);
    h.add_string(password);
    char out[64];
    std::snprintf(out, sizeof out, "sim$%016llx$%016llx", static_cast<unsigned long long>(salt), static_cast<unsigned long long>(h.digest()));
    return out;
  }
  Timers& timers_;
  Random& entropy_;
  size_t in_flight_ = 0;
};

}  // namespace aether::sim
