#pragma once
// The real runtime's PasswordHasher (engine/runtime/passwords.h): Argon2id through libsodium
// (crypto_pwhash_str / crypto_pwhash_str_verify, salt from the OS inside libsodium), run on one
// worker thread of its own, like the admin listener's token verifier; each answer is posted back to
// the component's io_context. The loop never waits on a hash.
//
// Lifetime: shutdown() (or the destructor) stops taking requests, drops completions not yet run and
// waits for the hash the worker is computing. Call it on the loop's thread or once the loop stopped.

#include <cstdint>
#include <memory>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "engine/runtime/passwords.h"

namespace aether::real {

// Argon2id's cost: libsodium's "interactive" limits (2 passes over 64 MiB, about 50-100 ms here) by
// default; `aether local`'s bots, which register hundreds of accounts at once, use kMinimum.
enum class PasswordCost : uint8_t { kInteractive, kModerate, kMinimum };

class Argon2Passwords final : public PasswordHasher {
 public:
  Argon2Passwords(boost::asio::io_context& io, PasswordCost cost = PasswordCost::kInteractive);
  ~Argon2Passwords() override;
  Argon2Passwords(const Argon2Passwords&) = delete;
  Argon2Passwords& operator=(const Argon2Passwords&) = delete;

  void set_cost(PasswordCost cost) { cost_ = cost; }
  bool hash(std::string password, std::function<void(std::optional<std::string>)> done) override;
  bool verify(std::string password, std::string stored, std::function<void(bool)> done) override;
  size_t in_flight() const override { return in_flight_; }
  void shutdown();

 private:
  struct Alive {
    bool value = true;  // touched on the loop thread only
  };
  boost::asio::io_context& io_;
  PasswordCost cost_;
  boost::asio::thread_pool worker_{1};
  std::shared_ptr<Alive> alive_ = std::make_shared<Alive>();
  size_t in_flight_ = 0;
  bool shut_down_ = false;
};

}  // namespace aether::real
