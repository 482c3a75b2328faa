#include "engine/compute/promise_record.h"

#include "engine/runtime/storage_keys.h"
#include "engine/wire/bytes.h"

namespace aether {

namespace {
constexpr uint8_t kPromiseRecordVersion = 1;
}  // namespace

Bytes promise_key(NodeId node) { return StorageKey("promise").u64(node.value).take(); }

Bytes encode_promise(const PromiseRecord& r) {
  Bytes out;
  ByteWriter w(out);
  w.u8(kPromiseRecordVersion);
  w.varint(r.epoch);
  w.varint(r.to.value);
  w.varint(r.incarnation);
  return out;
}

std::optional<PromiseRecord> decode_promise(std::span<const uint8_t> bytes) {
  ByteReader rd(bytes);
  if (rd.u8() != kPromiseRecordVersion) return std::nullopt;
  PromiseRecord r;
  r.epoch = rd.varint();
  const uint64_t to = rd.varint();
  r.incarnation = rd.varint();
  if (!rd.ok() || !rd.at_end() || to > UINT32_MAX || r.epoch == 0) return std::nullopt;
  r.to = NodeId(static_cast<uint32_t>(to));
  return r;
}

}  // namespace aether
