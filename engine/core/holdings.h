#pragma once
// What a compute node holds, summarised so that a node and the leader's table can be compared in one
// heartbeat: a count and an order-free digest of every (entity, generation) pair. A holding lost or
// gained, or held under another generation, changes the digest; equal counts with different
// contents no longer look alike (a count alone let a lost revoke and a lost grant cancel out:
// docs/ownership.md, "Holdings audits").

#include <cstdint>

#include "engine/core/ids.h"

namespace aether {

class HoldingsDigest {
 public:
  void add(EntityId entity, uint64_t generation) {
    ++count_;
    sum_ += term(entity, generation);
  }
  void remove(EntityId entity, uint64_t generation) {
    --count_;
    sum_ -= term(entity, generation);
  }
  uint32_t count() const { return count_; }
  uint64_t digest() const { return sum_; }
  friend bool operator==(const HoldingsDigest&, const HoldingsDigest&) = default;

 private:
  // A fixed mixing function (the same value on every compiler), summed modulo 2^64: additions and
  // removals commute, so the digest can be kept up to date one change at a time.
  static uint64_t term(EntityId entity, uint64_t generation) {
    uint64_t z = entity.value ^ (generation * 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint32_t count_ = 0;
  uint64_t sum_ = 0;
};

}  // namespace aether
