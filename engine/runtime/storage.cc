#include "engine/runtime/storage.h"

#include "engine/core/hash.h"

namespace aether {

const char* storage_code_name(StorageCode code) {
  switch (code) {
    case StorageCode::kOk: return "ok";
    case StorageCode::kNotFound: return "not_found";
    case StorageCode::kFenced: return "fenced";
    case StorageCode::kBusy: return "busy";
    case StorageCode::kTooLarge: return "too_large";
    case StorageCode::kIoError: return "io_error";
    case StorageCode::kCorrupt: return "corrupt";
    case StorageCode::kFull: return "full";
  }
  return "unknown";
}

size_t WriteBatch::bytes() const {
  size_t n = 0;
  for (const WriteOp& op : ops) n += op.key.size() + op.value.size();
  return n;
}

StorageCode check_key(const Bytes& key) {
  return key.empty() || key.size() > kStorageKeyBytesMax ? StorageCode::kTooLarge : StorageCode::kOk;
}

StorageCode check_write(const WriteBatch& batch) {
  if (batch.ops.empty() || batch.ops.size() > kStorageBatchOpsMax || batch.bytes() > kStorageBatchBytesMax) return StorageCode::kTooLarge;
  for (const WriteOp& op : batch.ops) {
    if (op.kind != WriteOp::Kind::kAppend && check_key(op.key) != StorageCode::kOk) return StorageCode::kTooLarge;
    if (op.value.size() > kStorageValueBytesMax || op.fence > kStorageFenceMax) return StorageCode::kTooLarge;
  }
  return StorageCode::kOk;
}

uint64_t row_checksum(const Bytes& key, const Bytes& value, uint64_t fence) {
  Hasher64 h;
  h.add_u64(0x726f77);  // "row": a row's checksum never equals an entry's
  h.add_bytes(key);
  h.add_bytes(value);
  h.add_u64(fence);
  return h.digest();
}

uint64_t ledger_checksum(uint64_t seq, const Bytes& entry) {
  Hasher64 h;
  h.add_u64(0x6c6564);  // "led"
  h.add_u64(seq);
  h.add_bytes(entry);
  return h.digest();
}

}  // namespace aether
