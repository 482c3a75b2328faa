// Property: however a stream of frames is cut into reads, the decoder yields the same payloads in the
// same order.

#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which does not include it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/runtime/network.h"
#include "engine/wire/framing.h"

namespace aether {
namespace {

constexpr size_t kPayloadBytesMax = 5000;
constexpr size_t kPayloadsMax = 40;

rc::Gen<std::vector<uint8_t>> gen_payload() {
  return rc::gen::mapcat(rc::gen::inRange<size_t>(0, kPayloadBytesMax + 1),
                         [](size_t n) { return rc::gen::container<std::vector<uint8_t>>(n, rc::gen::arbitrary<uint8_t>()); });
}

RC_GTEST_PROP(FramingProperty, AnyChunkingDecodesSamePayloads, ()) {
  const auto count = *rc::gen::inRange<size_t>(0, kPayloadsMax + 1);
  const auto payloads = *rc::gen::container<std::vector<std::vector<uint8_t>>>(count, gen_payload());
  std::vector<uint8_t> stream;
  for (const auto& p : payloads) append_frame(stream, p);

  // Chunk sizes drawn up front; the last chunk takes whatever remains.
  // Small chunks split prefixes; large ones hold several frames.
  const auto cuts = *rc::gen::container<std::vector<size_t>>(
      rc::gen::oneOf(rc::gen::inRange<size_t>(1, 9), rc::gen::inRange<size_t>(1, 3 * kPayloadBytesMax)));
  FrameDecoder decoder(kFrameBytesMax);
  std::vector<std::vector<uint8_t>> decoded;
  size_t at = 0;
  size_t next_cut = 0;
  const std::span<const uint8_t> all(stream);
  while (at < stream.size()) {
    const size_t want = next_cut < cuts.size() ? cuts[next_cut++] : stream.size() - at;
    const size_t n = std::min(want, stream.size() - at);
    RC_ASSERT(decoder.feed(all.subspan(at, n)));
    at += n;
    while (decoder.has_frame()) decoded.push_back(decoder.take());
  }
  RC_ASSERT(decoded == payloads);
  RC_ASSERT(decoder.pending_bytes() == 0u);
  RC_ASSERT(!decoder.failed());
}

}  // namespace
}  // namespace aether
