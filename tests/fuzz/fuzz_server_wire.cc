// Messages between servers (engine/wire/codec.h): decode_server over every message kind, as each
// internal port (coordinator, compute, gateway) decodes what a peer sent.
//
// Whatever decodes must survive a round trip: encoded again it decodes, to the same value, and
// encoding that gives the same bytes. (Protobuf bytes themselves are not canonical: unknown fields,
// field order and default values may differ, so the comparison is on values.)

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/wire/codec.h"
#include "tests/fuzz/fuzz_check.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  aether::fuzz::quiet_protobuf();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace aether;
  auto decoded = decode_server(std::span<const uint8_t>(data, size));
  if (!decoded) {
    FUZZ_CHECK(!decoded.error().message.empty(), "a rejection without a reason");
    return 0;
  }
  const ServerMessage& m = decoded.value();
  const std::vector<uint8_t> bytes = encode(m);
  auto again = decode_server(bytes);
  FUZZ_CHECK(again.ok(), "body %zu decodes, but its re-encoding does not: %s", m.body.index(), again.error().message.c_str());
  FUZZ_CHECK(again.value() == m, "body %zu changes through a round trip", m.body.index());
  FUZZ_CHECK(encode(again.value()) == bytes, "body %zu encodes to different bytes twice", m.body.index());
  return 0;
}
