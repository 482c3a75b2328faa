// FrameDecoder: the one parser between a TCP socket and the engine. It must reassemble frames however
// the stream is cut, and refuse (not crash on) anything oversize.

#include "engine/wire/framing.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <span>
#include <vector>

namespace aether {
namespace {

constexpr size_t kLimit = 1000;

std::vector<uint8_t> bytes_of(size_t n, uint8_t seed) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) out[i] = static_cast<uint8_t>(seed + i * 7);
  return out;
}

std::vector<uint8_t> encode(const std::vector<std::vector<uint8_t>>& payloads) {
  std::vector<uint8_t> out;
  for (const auto& p : payloads) append_frame(out, p);
  return out;
}

std::vector<std::vector<uint8_t>> drain(FrameDecoder& d) {
  std::vector<std::vector<uint8_t>> out;
  while (d.has_frame()) out.push_back(d.take());
  return out;
}

TEST(Framing, PrefixIsBigEndianLength) {
  std::vector<uint8_t> out;
  append_frame(out, bytes_of(0x0102, 0));
  ASSERT_EQ(out.size(), kFramePrefixBytes + 0x0102);
  EXPECT_EQ(out[0], 0);
  EXPECT_EQ(out[1], 0);
  EXPECT_EQ(out[2], 1);
  EXPECT_EQ(out[3], 2);
}

TEST(Framing, ByteByByte) {
  const std::vector<std::vector<uint8_t>> payloads = {bytes_of(5, 1), bytes_of(300, 2), bytes_of(1, 3)};
  const std::vector<uint8_t> stream = encode(payloads);
  FrameDecoder d(kLimit);
  for (uint8_t b : stream) ASSERT_TRUE(d.feed(std::span<const uint8_t>(&b, 1)));
  EXPECT_EQ(drain(d), payloads);
  EXPECT_EQ(d.pending_bytes(), 0u);
}

TEST(Framing, SplitAtEveryBoundary) {
  const std::vector<std::vector<uint8_t>> payloads = {bytes_of(7, 1), bytes_of(0, 0), bytes_of(20, 2)};
  const std::vector<uint8_t> stream = encode(payloads);
  for (size_t cut = 0; cut <= stream.size(); ++cut) {
    FrameDecoder d(kLimit);
    const std::span<const uint8_t> all(stream);
    ASSERT_TRUE(d.feed(all.first(cut)));
    ASSERT_TRUE(d.feed(all.subspan(cut)));
    EXPECT_EQ(drain(d), payloads) << "cut at " << cut;
  }
}

TEST(Framing, BackToBackFramesInOneBuffer) {
  std::vector<std::vector<uint8_t>> payloads;
  for (uint8_t i = 0; i < 50; ++i) payloads.push_back(bytes_of(i * 3, i));
  FrameDecoder d(kLimit);
  ASSERT_TRUE(d.feed(encode(payloads)));
  EXPECT_EQ(drain(d), payloads);
}

TEST(Framing, ZeroLengthFrame) {
  FrameDecoder d(kLimit);
  ASSERT_TRUE(d.feed(encode({{}})));
  ASSERT_TRUE(d.has_frame());
  EXPECT_TRUE(d.take().empty());
  EXPECT_FALSE(d.has_frame());
}

TEST(Framing, ExactlyAtLimitAccepted) {
  const std::vector<uint8_t> payload = bytes_of(kLimit, 9);
  FrameDecoder d(kLimit);
  ASSERT_TRUE(d.feed(encode({payload})));
  ASSERT_TRUE(d.has_frame());
  EXPECT_EQ(d.take(), payload);
  EXPECT_FALSE(d.failed());
}

TEST(Framing, LimitPlusOneRejectedWithMessage) {
  FrameDecoder d(kLimit);
  // Only the prefix is needed to refuse: the decoder must not wait for (or buffer) the body.
  std::vector<uint8_t> stream;
  append_frame(stream, bytes_of(kLimit + 1, 0));
  EXPECT_FALSE(d.feed(std::span<const uint8_t>(stream).first(kFramePrefixBytes)));
  EXPECT_TRUE(d.failed());
  EXPECT_NE(d.error().find("1001"), std::string::npos) << d.error();
  EXPECT_FALSE(d.has_frame());
}

TEST(Framing, HugeAnnouncedLengthRejected) {
  FrameDecoder d(kLimit);
  const std::vector<uint8_t> prefix = {0xff, 0xff, 0xff, 0xff};
  EXPECT_FALSE(d.feed(prefix));
  EXPECT_TRUE(d.failed());
  EXPECT_EQ(d.pending_bytes(), 0u);
}

TEST(Framing, FeedAfterFailureReturnsFalse) {
  FrameDecoder d(kLimit);
  const std::vector<uint8_t> prefix = {0, 0, 0x10, 0};  // 4096 > kLimit
  ASSERT_FALSE(d.feed(prefix));
  EXPECT_FALSE(d.feed(encode({bytes_of(3, 1)})));
  EXPECT_FALSE(d.has_frame());
  EXPECT_TRUE(d.failed());
}

TEST(Framing, FramesBeforeViolationAreKept) {
  std::vector<uint8_t> stream = encode({bytes_of(4, 1)});
  const std::vector<uint8_t> bad = {0xff, 0, 0, 0};
  stream.insert(stream.end(), bad.begin(), bad.end());
  FrameDecoder d(kLimit);
  EXPECT_FALSE(d.feed(stream));
  EXPECT_EQ(drain(d), (std::vector<std::vector<uint8_t>>{bytes_of(4, 1)}));
}

TEST(Framing, PendingBytesOfTruncatedFrame) {
  const std::vector<uint8_t> stream = encode({bytes_of(100, 4)});
  FrameDecoder d(kLimit);
  ASSERT_TRUE(d.feed(std::span<const uint8_t>(stream).first(2)));
  EXPECT_EQ(d.pending_bytes(), 2u);  // half a prefix counts too
  ASSERT_TRUE(d.feed(std::span<const uint8_t>(stream).subspan(2, 40)));
  EXPECT_EQ(d.pending_bytes(), 42u);
  EXPECT_FALSE(d.has_frame());
}

// An announced length reserves nothing: a peer that announces a frame at the limit and sends a few
// bytes holds a few bytes of ours, not the limit. A buffer grown for a large frame is released once
// the frame is whole.
TEST(Framing, MemoryFollowsTheBytesThatArrivedAndIsReleasedAfterALargeFrame) {
  FrameDecoder d(1 << 20);
  const uint8_t announce_1mib[] = {0x00, 0x10, 0x00, 0x00, 1, 2, 3};
  ASSERT_TRUE(d.feed(announce_1mib));
  EXPECT_EQ(d.pending_bytes(), 7u);
  EXPECT_LT(d.buffered_bytes(), 4096u) << "an announced length reserved memory before any byte of it came";
  const std::vector<uint8_t> rest((1 << 20) - 3, 0x5a);
  ASSERT_TRUE(d.feed(rest));
  ASSERT_TRUE(d.has_frame());
  EXPECT_EQ(d.take().size(), size_t{1} << 20);
  EXPECT_LE(d.buffered_bytes(), kFrameBufferRetainedBytesMax) << "the large frame's buffer was kept after it was whole";
  // Small frames keep their (small) buffer: no allocation per frame.
  const uint8_t small[] = {0, 0, 0, 2, 7, 8};
  ASSERT_TRUE(d.feed(small));
  EXPECT_EQ(d.take(), (std::vector<uint8_t>{7, 8}));
}

}  // namespace
}  // namespace aether
