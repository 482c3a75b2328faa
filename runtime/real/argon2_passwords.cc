#include "runtime/real/argon2_passwords.h"

#include <sodium.h>

#include <boost/asio/post.hpp>

namespace aether::real {

namespace {
bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}
std::pair<unsigned long long, size_t> limits(PasswordCost cost) {
  switch (cost) {
    case PasswordCost::kModerate: return {crypto_pwhash_OPSLIMIT_MODERATE, crypto_pwhash_MEMLIMIT_MODERATE};
    case PasswordCost::kMinimum: return {crypto_pwhash_OPSLIMIT_MIN, crypto_pwhash_MEMLIMIT_MIN};
    case PasswordCost::kInteractive: break;
  }
  return {crypto_pwhash_OPSLIMIT_INTERACTIVE, crypto_pwhash_MEMLIMIT_INTERACTIVE};
}
}  // namespace

Argon2Passwords::Argon2Passwords(boost::asio::io_context& io, PasswordCost cost) : io_(io), cost_(cost) { sodium_ready(); }

Argon2Passwords::~Argon2Passwords() {
  shutdown();
  worker_.join();
}

void Argon2Passwords::shutdown() {
  shut_down_ = true;
  alive_->value = false;
  worker_.stop();  // queued hashes are dropped; the one running finishes (its post finds alive false)
}

bool Argon2Passwords::hash(std::string password, std::function<void(std::optional<std::string>)> done) {
  if (shut_down_ || in_flight_ >= kPasswordJobsMax || !sodium_ready()) return false;
  ++in_flight_;
  const auto limit = limits(cost_);  // not a structured binding: Clang 14 cannot capture one
  const auto ops = limit.first;
  const auto mem = limit.second;
  boost::asio::post(worker_, [this, alive = alive_, password = std::move(password), done = std::move(done), ops, mem]() mutable {
    std::optional<std::string> stored;
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(out, password.data(), password.size(), ops, mem) == 0) stored = std::string(out);
    sodium_memzero(password.data(), password.size());
    boost::asio::post(io_, [this, alive, stored = std::move(stored), done = std::move(done)] {
      if (!alive->value) return;  // shut down meanwhile: `this` may be gone
      --in_flight_;
      done(stored);
    });
  });
  return true;
}

bool Argon2Passwords::verify(std::string password, std::string stored, std::function<void(bool)> done) {
  if (shut_down_ || in_flight_ >= kPasswordJobsMax || !sodium_ready()) return false;
  ++in_flight_;
  boost::asio::post(worker_, [this, alive = alive_, password = std::move(password), stored = std::move(stored), done = std::move(done)]() mutable {
    // A stored form that is not Argon2id (or not NUL-free, or too long) never matches.
    const bool readable = stored.rfind("$argon2id$", 0) == 0 && stored.size() < crypto_pwhash_STRBYTES && stored.find('\0') == std::string::npos;
    const bool match = readable && crypto_pwhash_str_verify(stored.c_str(), password.data(), password.size()) == 0;
    sodium_memzero(password.data(), password.size());
    boost::asio::post(io_, [this, alive, match, done = std::move(done)] {
      if (!alive->value) return;
      --in_flight_;
      done(match);
    });
  });
  return true;
}

}  // namespace aether::real
