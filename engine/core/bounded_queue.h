#pragma once
// A FIFO with a fixed capacity chosen at construction. At the limit, try_push refuses the item and
// counts the refusal: the caller states what a refusal means (drop the input, shed the job, ...).
// Storage is allocated once, up front.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "engine/core/assert.h"

namespace aether {

template <class T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity) : slots_(capacity) { AETHER_ASSERT(capacity > 0); }

  bool try_push(T item) {
    if (size_ == slots_.size()) {
      ++refused_total_;
      return false;
    }
    slots_[(head_ + size_) % slots_.size()] = std::move(item);
    ++size_;
    ++pushed_total_;
    if (size_ > depth_max_) depth_max_ = size_;
    return true;
  }

  std::optional<T> pop() {
    if (size_ == 0) return std::nullopt;
    T item = std::move(slots_[head_]);
    slots_[head_] = T{};
    head_ = (head_ + 1) % slots_.size();
    --size_;
    return item;
  }

  const T& front() const {
    AETHER_ASSERT(size_ > 0);
    return slots_[head_];
  }

  void clear() {
    while (pop()) {
    }
  }

  size_t depth() const { return size_; }
  size_t capacity() const { return slots_.size(); }
  bool empty() const { return size_ == 0; }
  bool full() const { return size_ == slots_.size(); }
  size_t depth_max() const { return depth_max_; }
  uint64_t pushed_total() const { return pushed_total_; }
  uint64_t refused_total() const { return refused_total_; }

 private:
  std::vector<T> slots_;
  size_t head_ = 0;
  size_t size_ = 0;
  size_t depth_max_ = 0;
  uint64_t pushed_total_ = 0;
  uint64_t refused_total_ = 0;
};

}  // namespace aether
