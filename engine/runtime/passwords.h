#pragma once
// Password hashing, off the component's loop. Hashing a password the right way is slow on purpose
// (Argon2id: tens of milliseconds and tens of MiB), so a component never does it inline: it asks,
// and the answer comes later on its own loop, one at a time like a timer, never from inside the
// call. The real runtime runs Argon2id (libsodium's crypto_pwhash_str) on a worker thread of its
// own; the simulator answers with a cheap deterministic stand-in after a fixed virtual cost
// (runtime/sim/sim_passwords.h), which is NOT a password hash and says so in what it stores.
//
// Bounded: at most kPasswordJobsMax requests are in flight; past it a call returns false, queues
// nothing and its completion never runs (the caller refuses the login as busy).

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

namespace aether {

inline constexpr size_t kPasswordJobsMax = 256;
inline constexpr size_t kPasswordBytesMin = 8;
inline constexpr size_t kPasswordBytesMax = 128;
// The stored form (self-describing: algorithm, parameters, salt and hash) is at most this long.
inline constexpr size_t kPasswordHashBytesMax = 128;

class PasswordHasher {
 public:
  virtual ~PasswordHasher() = default;
  // A new stored form for password, with a fresh salt; nullopt if hashing failed (out of memory).
  virtual bool hash(std::string password, std::function<void(std::optional<std::string>)> done) = 0;
  // Whether password matches the stored form (false for a form this hasher cannot read).
  virtual bool verify(std::string password, std::string stored, std::function<void(bool)> done) = 0;
  virtual size_t in_flight() const = 0;
};

// For processes that hash nothing (and unit tests that need none): refuses every request.
class NoPasswordHasher final : public PasswordHasher {
 public:
  bool hash(std::string, std::function<void(std::optional<std::string>)>) override { return false; }
  bool verify(std::string, std::string, std::function<void(bool)>) override { return false; }
  size_t in_flight() const override { return 0; }
};

}  // namespace aether
