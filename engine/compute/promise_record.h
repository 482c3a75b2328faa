#pragma once
// What a compute node promised, kept in its store (docs/ownership.md, "Durable promises"). One
// promise per epoch is a vote: a node that restarted and forgot it could promise a second candidate
// the same epoch, and two coordinators could lead it. With the record on stable storage before the
// Promise leaves, a restarted node answers as the process before it would have.

#include <cstdint>
#include <optional>
#include <span>

#include "engine/core/ids.h"
#include "engine/runtime/storage.h"

namespace aether {

struct PromiseRecord {
  Epoch epoch = 0;           // the epoch promised (also the row's fence: epochs only grow)
  NodeId to{};               // the coordinator it was promised to
  uint64_t incarnation = 0;  // that coordinator's process (Prepare.incarnation)
  bool operator==(const PromiseRecord&) const = default;
};

// promise/NODE (engine/runtime/storage_keys.h).
Bytes promise_key(NodeId node);
Bytes encode_promise(const PromiseRecord& r);
// nullopt when the bytes are not a record of this version (read from a file: never asserted on).
std::optional<PromiseRecord> decode_promise(std::span<const uint8_t> bytes);

}  // namespace aether
