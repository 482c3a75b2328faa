#pragma once
// A log-linear histogram of non-negative integer samples (nanoseconds, bytes): fixed memory, about 3%
// relative precision, exact min/max/count. Used for tick durations and other figures we print.

#include <array>
#include <cstdint>

namespace aether {

class Histogram {
 public:
  void record(int64_t value) {
    if (value < 0) value = 0;
    const auto v = static_cast<uint64_t>(value);
    ++counts_[bucket_of(v)];
    ++count_;
    sum_ += v;
    if (count_ == 1 || v < min_) min_ = v;
    if (v > max_) max_ = v;
  }

  uint64_t count() const { return count_; }
  uint64_t min() const { return count_ ? min_ : 0; }
  uint64_t max() const { return max_; }
  uint64_t mean() const { return count_ ? sum_ / count_ : 0; }

  // The smallest bucket upper bound at or below which `permille` thousandths of samples fall.
  uint64_t percentile(uint32_t permille) const {
    if (count_ == 0) return 0;
    const uint64_t rank = (count_ * permille + 999) / 1000;
    uint64_t seen = 0;
    for (size_t b = 0; b < counts_.size(); ++b) {
      seen += counts_[b];
      if (seen >= rank && counts_[b] != 0) {
        const uint64_t hi = upper_bound_of(b);
        return hi > max_ ? max_ : hi;
      }
    }
    return max_;
  }

  void merge(const Histogram& other) {
    for (size_t b = 0; b < counts_.size(); ++b) counts_[b] += other.counts_[b];
    if (other.count_ && (count_ == 0 || other.min_ < min_)) min_ = other.min_;
    if (other.max_ > max_) max_ = other.max_;
    count_ += other.count_;
    sum_ += other.sum_;
  }

 private:
  static constexpr int kSubBits = 5;  // 32 sub-buckets per power of two
  static constexpr size_t kBuckets = (64 - kSubBits + 1) << kSubBits;

  static size_t bucket_of(uint64_t v) {
    if (v < (uint64_t{1} << kSubBits)) return static_cast<size_t>(v);
    const int msb = 63 - __builtin_clzll(v);
    const int shift = msb - kSubBits;
    const uint64_t sub = (v >> shift) & ((uint64_t{1} << kSubBits) - 1);
    return static_cast<size_t>(((shift + 1) << kSubBits) + sub);
  }
  static uint64_t upper_bound_of(size_t b) {
    if (b < (size_t{1} << kSubBits)) return b;
    const int shift = static_cast<int>(b >> kSubBits) - 1;
    const uint64_t sub = b & ((size_t{1} << kSubBits) - 1);
    const uint64_t base = (uint64_t{1} << kSubBits) | sub;
    return ((base + 1) << shift) - 1;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0;
  uint64_t sum_ = 0;
  uint64_t min_ = 0;
  uint64_t max_ = 0;
};

}  // namespace aether
