#pragma once
// Reproducible randomness. <random>'s distributions give different sequences under libstdc++ and
// libc++, so Aether has its own generator (xoshiro256**, seeded through splitmix64) and its own
// distributions, written here with integer arithmetic only.

#include <cstdint>

#include "engine/core/assert.h"

namespace aether {

// The runtime seam's source of random bits. The simulator hands every host a stream derived from the
// run's one seed; the real runtime seeds from the operating system.
class Random {
 public:
  virtual ~Random() = default;
  virtual uint64_t next_u64() = 0;
};

inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

class Xoshiro256 final : public Random {
 public:
  explicit Xoshiro256(uint64_t seed) {
    uint64_t sm = seed;
    for (auto& word : s_) word = splitmix64(sm);
  }

  uint64_t next_u64() override {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
  }

 private:
  static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
};

// Derives an independent seed for a named sub-stream (a host, a link, a fault schedule) from a parent
// seed, so adding a host does not shift the random choices of the others.
inline uint64_t derive_seed(uint64_t parent, uint64_t stream) {
  uint64_t state = parent ^ (stream * 0xd1342543de82ef95ULL);
  splitmix64(state);
  return splitmix64(state);
}

// Uniform integer in [0, bound), bound > 0, without modulo bias (Lemire's multiply-and-reject).
inline uint64_t uniform_below(Random& rng, uint64_t bound) {
  AETHER_ASSERT(bound > 0);
  uint64_t x = rng.next_u64();
  __uint128_t m = static_cast<__uint128_t>(x) * bound;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < bound) {
    const uint64_t threshold = (0 - bound) % bound;
    while (low < threshold) {
      x = rng.next_u64();
      m = static_cast<__uint128_t>(x) * bound;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

// Uniform integer in [lo, hi], lo <= hi.
inline int64_t uniform_range(Random& rng, int64_t lo, int64_t hi) {
  AETHER_ASSERT(lo <= hi);
  const uint64_t span = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo) + 1;
  if (span == 0) return static_cast<int64_t>(rng.next_u64());  // the full 64-bit range
  return lo + static_cast<int64_t>(uniform_below(rng, span));
}

// True with probability numerator / denominator.
inline bool chance(Random& rng, uint64_t numerator, uint64_t denominator) {
  AETHER_ASSERT(denominator > 0 && numerator <= denominator);
  return uniform_below(rng, denominator) < numerator;
}

}  // namespace aether
