#pragma once
// A streaming 64-bit hash with a fixed definition (it must give the same value on every compiler and
// platform, since the simulator's trace digest is built from it). Not cryptographic.

#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace aether {

class Hasher64 {
 public:
  void add_u64(uint64_t v) {
    state_ = mix(state_ ^ v);
    ++words_;
  }
  void add_i64(int64_t v) { add_u64(static_cast<uint64_t>(v)); }
  void add_bytes(std::span<const uint8_t> bytes) {
    size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) add_u64(load_le64(bytes.data() + i));
    uint64_t tail = 0;
    for (size_t k = 0; i < bytes.size(); ++i, ++k) tail |= static_cast<uint64_t>(bytes[i]) << (8 * k);
    add_u64(tail ^ (static_cast<uint64_t>(bytes.size()) << 56));
  }
  void add_string(std::string_view s) {
    add_bytes({reinterpret_cast<const uint8_t*>(s.data()), s.size()});
  }
  uint64_t digest() const { return mix(state_ ^ words_); }

  static uint64_t of(std::span<const uint8_t> bytes) {
    Hasher64 h;
    h.add_bytes(bytes);
    return h.digest();
  }

 private:
  static uint64_t load_le64(const uint8_t* p) {
    uint64_t v = 0;
    for (int k = 7; k >= 0; --k) v = (v << 8) | p[k];
    return v;
  }
  static uint64_t mix(uint64_t z) {
    z = (z ^ (z >> 32)) * 0xd6e8feb86659fd93ULL;
    z = (z ^ (z >> 32)) * 0xd6e8feb86659fd93ULL;
    return z ^ (z >> 32);
  }

  uint64_t state_ = 0x243f6a8885a308d3ULL;
  uint64_t words_ = 0;
};

}  // namespace aether
