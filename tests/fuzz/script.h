#pragma once
// The byte format of the stateful harnesses' inputs (fuzz_gateway): a script read from the front,
// each value in a range taking as many bytes as its range needs (little-endian, reduced modulo the
// range), each string a length byte and its bytes. Past the end every read is 0 (and strings are
// empty). ScriptWriter writes what ScriptReader reads, so seeds can be written as scripts
// (make_corpus.cc).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

namespace aether::fuzz {

namespace detail {
inline size_t bytes_for(uint64_t range) {
  size_t n = 0;
  while (range > 0) {
    range >>= 8;
    ++n;
  }
  return n;
}
}  // namespace detail

class ScriptReader {
 public:
  ScriptReader(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  template <class T>
  T in(T lo, T hi) {
    static_assert(std::is_integral_v<T>);
    const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    uint64_t v = 0;
    const size_t n = detail::bytes_for(range);
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(next()) << (8 * i);
    if (range != UINT64_MAX) v %= range + 1;
    return static_cast<T>(static_cast<uint64_t>(lo) + v);
  }
  template <class T>
  T any() {
    return in<T>(std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  }
  bool flag() { return (next() & 1) != 0; }
  std::string text(size_t max) {
    const size_t n = std::min<size_t>(next(), max);
    std::string out;
    for (size_t i = 0; i < n && at_ < size_; ++i) out.push_back(static_cast<char>(next()));
    return out;
  }
  size_t remaining() const { return size_ - at_; }

 private:
  uint8_t next() { return at_ < size_ ? data_[at_++] : 0; }
  const uint8_t* data_;
  size_t size_;
  size_t at_ = 0;
};

class ScriptWriter {
 public:
  template <class T>
  ScriptWriter& in(T v, T lo, T hi) {
    const uint64_t range = static_cast<uint64_t>(hi) - static_cast<uint64_t>(lo);
    const uint64_t x = static_cast<uint64_t>(v) - static_cast<uint64_t>(lo);
    for (size_t i = 0; i < detail::bytes_for(range); ++i) out_.push_back(static_cast<uint8_t>(x >> (8 * i)));
    return *this;
  }
  template <class T>
  ScriptWriter& any(T v) {
    return in<T>(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max());
  }
  ScriptWriter& flag(bool b) {
    out_.push_back(b ? 1 : 0);
    return *this;
  }
  ScriptWriter& text(const std::string& s) {
    out_.push_back(static_cast<uint8_t>(s.size()));
    out_.insert(out_.end(), s.begin(), s.begin() + static_cast<std::ptrdiff_t>(std::min<size_t>(s.size(), 255)));
    return *this;
  }
  const std::vector<uint8_t>& bytes() const { return out_; }

 private:
  std::vector<uint8_t> out_;
};

}  // namespace aether::fuzz
