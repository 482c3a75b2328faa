#pragma once
// A vector with its capacity inside the object: entity components (effects, cooldowns) live in
// EntityState, which the hot paths copy by the thousand per tick, so they must not allocate.
// Capacity is a hard bound: push_back past it is a bug in the caller (the callers check full()).

#include <array>
#include <cstddef>
#include <cstdint>

#include "engine/core/assert.h"

namespace aether {

template <class T, size_t N>
class InlineVec {
 public:
  static constexpr size_t kCapacity = N;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == N; }
  void clear() {  // resets what it held: equality compares the whole array (below)
    for (size_t k = 0; k < size_; ++k) items_[k] = T{};
    size_ = 0;
  }
  void push_back(const T& v) {
    AETHER_ASSERT(size_ < N);
    items_[size_++] = v;
  }
  // Removes element i, keeping the order of the rest (order reaches the canonical encoding).
  void erase_at(size_t i) {
    AETHER_ASSERT(i < size_);
    for (size_t k = i + 1; k < size_; ++k) items_[k - 1] = items_[k];
    --size_;
    items_[size_] = T{};
  }
  template <class Pred>
  void erase_if(Pred pred) {
    size_t out = 0;
    for (size_t k = 0; k < size_; ++k) {
      if (!pred(items_[k])) items_[out++] = items_[k];
    }
    for (size_t k = out; k < size_; ++k) items_[k] = T{};
    size_ = static_cast<uint8_t>(out);
  }
  T& operator[](size_t i) {
    AETHER_ASSERT(i < size_);
    return items_[i];
  }
  const T& operator[](size_t i) const {
    AETHER_ASSERT(i < size_);
    return items_[i];
  }
  T* begin() { return items_.data(); }
  T* end() { return items_.data() + size_; }
  const T* begin() const { return items_.data(); }
  const T* end() const { return items_.data() + size_; }

  // Slots past size() are always T{} (erase resets them), so equality may compare the whole array.
  friend bool operator==(const InlineVec& a, const InlineVec& b) { return a.size_ == b.size_ && a.items_ == b.items_; }

 private:
  static_assert(N <= 255);
  std::array<T, N> items_{};
  uint8_t size_ = 0;
};

}  // namespace aether
