// The byte primitives of Aether's own encodings (engine/wire/bytes.h).

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "engine/wire/bytes.h"

namespace aether {
namespace {

// A varint has one encoding. The readers used to accept padded ones (0x80 0x00 for 0), so one value
// had many encodings (found by tests/fuzz: a state and an update re-encoded to other bytes).
TEST(ByteReader, AVarintHasOneEncodingAndAPaddedOneIsRejected) {
  for (uint64_t v : {uint64_t{0}, uint64_t{1}, uint64_t{127}, uint64_t{128}, uint64_t{300}, uint64_t{1} << 35, UINT64_MAX}) {
    std::vector<uint8_t> bytes;
    ByteWriter(bytes).varint(v);
    ByteReader r(bytes);
    EXPECT_EQ(r.varint(), v);
    EXPECT_TRUE(r.ok() && r.at_end()) << v;
  }
  const std::vector<std::vector<uint8_t>> padded = {{0x80, 0x00}, {0x81, 0x00}, {0xff, 0x80, 0x00}, {0x80, 0x80, 0x80, 0x00}};
  for (const auto& bytes : padded) {
    ByteReader r(bytes);
    r.varint();
    EXPECT_FALSE(r.ok()) << bytes.size() << "-byte padded varint accepted";
    EXPECT_NE(std::string(r.error()).find("shortest"), std::string::npos) << r.error();
  }
  // zigzag and length prefixes are varints too.
  const std::vector<uint8_t> zero_zigzag = {0x80, 0x00};
  ByteReader z(zero_zigzag);
  z.zigzag();
  EXPECT_FALSE(z.ok());
  const std::vector<uint8_t> padded_length = {0x81, 0x00, 'x'};
  ByteReader s(padded_length);
  s.string(16);
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace aether
