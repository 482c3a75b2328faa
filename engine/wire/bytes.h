#pragma once
// Little binary primitives for Aether's own encodings (entity states, cell feeds, the client
// protocol): unsigned LEB128 varints, zigzag signed varints, fixed-width little-endian integers and
// length-prefixed byte strings. The writer appends to a caller-owned buffer (reused across ticks, so
// the hot path allocates nothing once warm); the reader never reads past its span and reports the
// first malformed field instead: bytes from a socket or a file are untrusted (house rule 3).
// A varint has one encoding, its shortest: the reader rejects a padded one (a last byte of 0 after
// a continuation byte), so that a message the readers accept has exactly one encoding.

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace aether {

class ByteWriter {
 public:
  explicit ByteWriter(std::vector<uint8_t>& out) : out_(out) {}

  void u8(uint8_t v) { out_.push_back(v); }
  void u16(uint16_t v) {
    out_.push_back(static_cast<uint8_t>(v));
    out_.push_back(static_cast<uint8_t>(v >> 8));
  }
  void varint(uint64_t v) {
    while (v >= 0x80) {
      out_.push_back(static_cast<uint8_t>(v | 0x80));
      v >>= 7;
    }
    out_.push_back(static_cast<uint8_t>(v));
  }
  void zigzag(int64_t v) { varint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63)); }
  void bytes(std::span<const uint8_t> b) {
    varint(b.size());
    out_.insert(out_.end(), b.begin(), b.end());
  }
  void string(std::string_view s) { bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()}); }
  void raw(std::span<const uint8_t> b) { out_.insert(out_.end(), b.begin(), b.end()); }
  size_t size() const { return out_.size(); }
  std::vector<uint8_t>& buffer() { return out_; }

 private:
  std::vector<uint8_t>& out_;
};

// Reads until the first error; every later read then returns 0 and ok() stays false. `error()` says
// what was malformed (a static string: no allocation on the hot path).
class ByteReader {
 public:
  explicit ByteReader(std::span<const uint8_t> in) : in_(in) {}

  uint8_t u8() {
    if (!need(1)) return 0;
    return in_[pos_++];
  }
  uint16_t u16() {
    if (!need(2)) return 0;
    const uint16_t v = static_cast<uint16_t>(in_[pos_] | (in_[pos_ + 1] << 8));
    pos_ += 2;
    return v;
  }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (!need(1)) return 0;
      const uint8_t b = in_[pos_++];
      if (shift == 63 && b > 1) return fail("varint overflows 64 bits");
      if (b == 0 && shift > 0) return fail("varint not in its shortest form");
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    return fail("varint longer than 10 bytes");
  }
  int64_t zigzag() {
    const uint64_t v = varint();
    return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
  }
  // A varint that must fit a bound (a count, an enum): larger is malformed.
  uint64_t varint_at_most(uint64_t max, const char* what) {
    const uint64_t v = varint();
    if (v > max) return fail(what);
    return v;
  }
  std::span<const uint8_t> bytes(size_t max) {
    const uint64_t n = varint_at_most(max, "byte string too long");
    if (!ok() || !need(n)) return {};
    const auto out = in_.subspan(pos_, n);
    pos_ += n;
    return out;
  }
  std::string_view string(size_t max) {
    const auto b = bytes(max);
    return {reinterpret_cast<const char*>(b.data()), b.size()};
  }

  bool ok() const { return error_ == nullptr; }
  bool at_end() const { return pos_ == in_.size(); }
  size_t remaining() const { return in_.size() - pos_; }
  const char* error() const { return error_ ? error_ : ""; }
  uint64_t fail(const char* what) {
    if (!error_) error_ = what;
    pos_ = in_.size();
    return 0;
  }

 private:
  bool need(size_t n) {
    if (error_) return false;
    if (in_.size() - pos_ < n) {
      fail("truncated");
      return false;
    }
    return true;
  }

  std::span<const uint8_t> in_;
  size_t pos_ = 0;
  const char* error_ = nullptr;
};

}  // namespace aether
