#pragma once
// A map from 64-bit ids to small numbers (indexes into a caller's flat arrays), for hot paths that
// look ids up by the thousand per tick: one probe into one contiguous array instead of a node per
// entry. Open addressing with linear probing and backward-shift deletion (no tombstones), a power
// of two of buckets kept at most half full.
//
// It has no iteration on purpose: its order depends on hashing, so it must never reach output
// (house rule 2). Callers keep their own ordered arrays and use this only to find things.
// Growth allocates (doubling); the caller bounds the number of entries.
//
// The value is a small number (IdIndex) or a pointer to a node-stable element (IdPointerIndex<T>,
// for containers whose elements never move: std::map nodes); `kEmpty` marks an empty bucket and is
// never stored.

#include <algorithm>
#include <cstdint>
#include <vector>

#include "engine/core/assert.h"

namespace aether {

template <class Value, Value kEmpty>
class BasicIdIndex {
 public:
  static constexpr Value kNone = kEmpty;

  size_t size() const { return size_; }
  // Forgets everything, keeping the buckets (no allocation when refilled to the same size).
  void clear() {
    if (size_ == 0) return;
    std::fill(buckets_.begin(), buckets_.end(), Bucket{});
    size_ = 0;
  }

  // The value kept for `id`, or kNone.
  Value find(uint64_t id) const {
    if (size_ == 0) return kNone;
    for (size_t b = bucket_of(id);; b = (b + 1) & mask_) {
      const Bucket& k = buckets_[b];
      if (k.value == kNone) return kNone;
      if (k.id == id) return k.value;
    }
  }

  // Keeps `value` for `id`, which must not be present.
  void insert(uint64_t id, Value value) {
    AETHER_ASSERT(value != kNone);
    if (2 * (size_ + 1) > buckets_.size()) grow();
    size_t b = bucket_of(id);
    for (; buckets_[b].value != kNone; b = (b + 1) & mask_) AETHER_ASSERT_MSG(buckets_[b].id != id, "IdIndex::insert of a present id");
    buckets_[b] = Bucket{id, value};
    ++size_;
  }

  // Forgets `id`; false if it was absent.
  bool erase(uint64_t id) {
    if (size_ == 0) return false;
    size_t b = bucket_of(id);
    for (;; b = (b + 1) & mask_) {
      if (buckets_[b].value == kNone) return false;
      if (buckets_[b].id == id) break;
    }
    // Backward shift: move later entries of the probe run into the hole when their home allows it.
    size_t hole = b;
    for (size_t next = (hole + 1) & mask_; buckets_[next].value != kNone; next = (next + 1) & mask_) {
      const size_t home = bucket_of(buckets_[next].id);
      // `next` may move to `hole` unless its home lies cyclically in (hole, next].
      const bool home_after_hole = hole <= next ? (home > hole && home <= next) : (home > hole || home <= next);
      if (home_after_hole) continue;
      buckets_[hole] = buckets_[next];
      hole = next;
    }
    buckets_[hole] = Bucket{};
    --size_;
    return true;
  }

 private:
  struct Bucket {
    uint64_t id = 0;
    Value value = kNone;  // kNone: empty
  };

  size_t bucket_of(uint64_t id) const {
    // A fixed 64-bit mix (the same on every platform), so that sequential ids spread.
    uint64_t x = id + 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return static_cast<size_t>(x) & mask_;
  }

  void grow() {
    std::vector<Bucket> old;
    old.swap(buckets_);
    buckets_.assign(old.empty() ? 64 : 2 * old.size(), Bucket{});
    mask_ = buckets_.size() - 1;
    size_ = 0;
    for (const Bucket& k : old) {
      if (k.value != kNone) insert(k.id, k.value);
    }
  }

  std::vector<Bucket> buckets_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

using IdIndex = BasicIdIndex<uint32_t, UINT32_MAX>;
template <class T>
using IdPointerIndex = BasicIdIndex<T*, nullptr>;

}  // namespace aether
