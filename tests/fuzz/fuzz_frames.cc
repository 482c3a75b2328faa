// The length-prefixed frame reader (engine/wire/framing.h), as the real runtime's TCP feeds it.
//
// Input: byte 0 picks the frame limit, byte 1 how the stream is cut into reads, the rest is the
// stream. Checked against a whole-stream reference parse: the same frames in the same order, failure
// exactly when an announced length passes the limit, the incomplete tail counted in pending_bytes(),
// the buffer never holding more than the bytes that came (an announced length reserves nothing), and
// every frame re-framed by append_frame giving back the bytes it was read from.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/runtime/network.h"
#include "engine/wire/framing.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using aether::FrameDecoder;
using aether::kFramePrefixBytes;

constexpr size_t kLimits[] = {0, 1, 3, 16, 255, 4096, 70'000, aether::kFrameBytesMax};

struct Reference {
  std::vector<std::vector<uint8_t>> frames;
  size_t consumed = 0;  // bytes of whole frames
  bool failed = false;
};

Reference parse_whole(std::span<const uint8_t> stream, size_t limit) {
  Reference out;
  size_t at = 0;
  while (stream.size() - at >= kFramePrefixBytes) {
    const uint32_t len = (uint32_t{stream[at]} << 24) | (uint32_t{stream[at + 1]} << 16) | (uint32_t{stream[at + 2]} << 8) | stream[at + 3];
    if (len > limit) {
      out.failed = true;
      return out;
    }
    if (stream.size() - at - kFramePrefixBytes < len) break;
    out.frames.emplace_back(stream.begin() + static_cast<std::ptrdiff_t>(at + kFramePrefixBytes),
                            stream.begin() + static_cast<std::ptrdiff_t>(at + kFramePrefixBytes + len));
    at += kFramePrefixBytes + len;
  }
  out.consumed = at;
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const size_t limit = kLimits[data[0] % std::size(kLimits)];
  uint32_t cut = data[1];
  const std::span<const uint8_t> stream(data + 2, size - 2);

  const Reference want = parse_whole(stream, limit);
  FrameDecoder decoder(limit);
  std::vector<std::vector<uint8_t>> got;
  bool ok = true;
  size_t at = 0;
  while (at < stream.size() && ok) {
    // Reads of 1 to 32 bytes, in a pattern drawn from byte 1 (a little LCG): prefixes and bodies
    // split anywhere, several frames in one read.
    cut = cut * 1103515245u + 12345u;
    const size_t n = std::min<size_t>(stream.size() - at, 1 + (cut >> 16) % 32);
    ok = decoder.feed(stream.subspan(at, n));
    at += n;
    while (decoder.has_frame()) got.push_back(decoder.take());
    FUZZ_CHECK(decoder.pending_bytes() <= kFramePrefixBytes + limit, "pending %zu past the limit %zu", decoder.pending_bytes(), limit);
    // libstdc++ at most doubles a vector that grows: what is held is bounded by what came.
    FUZZ_CHECK(decoder.buffered_bytes() <= std::max(aether::kFrameBufferRetainedBytesMax, 2 * decoder.pending_bytes()),
               "%zu bytes held for %zu pending", decoder.buffered_bytes(), decoder.pending_bytes());
  }
  FUZZ_CHECK(ok == !want.failed, "decoder %s, reference %s", ok ? "accepted" : "failed", want.failed ? "failed" : "accepted");
  FUZZ_CHECK(decoder.failed() == want.failed, "failed() disagrees with feed()");
  FUZZ_CHECK(!decoder.failed() || !decoder.error().empty(), "a failure without a reason");
  FUZZ_CHECK(!decoder.feed(std::span<const uint8_t>()) == want.failed, "a failed decoder must stay failed");
  // Frames before a bad prefix are whole and delivered, failed or not.
  FUZZ_CHECK(got == want.frames, "%zu frames decoded, %zu expected (or different bytes)", got.size(), want.frames.size());
  if (want.failed) return 0;
  FUZZ_CHECK(decoder.pending_bytes() == stream.size() - want.consumed, "pending %zu, expected %zu", decoder.pending_bytes(),
             stream.size() - want.consumed);

  // Round trip: the frames, framed again, are the bytes they came from.
  std::vector<uint8_t> again;
  for (const auto& f : got) aether::append_frame(again, f);
  FUZZ_CHECK(again.size() == want.consumed && std::equal(again.begin(), again.end(), stream.begin()), "re-framing differs");
  return 0;
}
