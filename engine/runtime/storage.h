#pragma once
// Storage: what a component keeps across restarts. One store per component (per process, per host
// in the simulator); several processes may share one PostgreSQL database.
//
// Contract, identical in every backend (tests/storage/storage_contract_test.cc holds all three to it):
//
//  - Asynchronous. get, scan, write and read_ledger return at once and never block: they only
//    queue the request. Its completion runs later on the component's own loop, one at a time like a
//    timer, never from inside the call (not even a completion that is already known). A store never
//    blocks a tick: the database work happens elsewhere (a worker thread per store in the real
//    runtime; virtual time in the simulator).
//  - FIFO. Requests run in the order they were accepted, and complete in that order. A read sees
//    every write accepted before it (whether or not that write's completion has run yet).
//  - Bounded. At most kStorageInFlightMax requests are accepted and not yet completed (a request
//    counts until its completion has run). Past it a call fails fast: it returns kBusy, queues
//    nothing, and its completion never runs. The same for a request larger than its limits below
//    (kTooLarge). A call that returns kOk gets exactly one completion, unless the component's
//    process dies (crash, shutdown) first: then none.
//  - Rows are (key, value, fence): keys and values are bytes. Values are the project's canonical
//    encodings (engine/wire/state_codec.h for entity states); the store never interprets them.
//    Keys compare as unsigned bytes (memcmp, then shorter first); scans run in that order. Key
//    layout: engine/runtime/storage_keys.h, one table prefix per kind of record.
//  - Fenced writes. Every put and erase carries a fence: the ownership generation of the writer. A
//    row keeps the fence of its last write. A write whose fence is lower than the row's is refused
//    with kFenced, and with it the whole batch, atomically in the same transaction that would have
//    written: a stale owner can never overwrite a newer owner's state, even from another process
//    sharing the database. An equal or higher fence is accepted (the owner writes again; a new
//    owner takes over). An erase removes the row and its fence with it: records that must stay
//    fenced after their end are written as tombstones (a put of an empty value), not erased.
//  - Atomic batches. A WriteBatch (puts, erases, ledger appends) applies whole or not at all.
//  - Durability. A write with sync = true completes kOk only once it is on stable storage: it
//    survives a crash of the process and of the machine. With sync = false it completes kOk once
//    applied (every later read sees it) but a machine crash may lose it, and then every unsynced
//    write after it too (never a later one without an earlier one). A synced write makes every
//    write before it durable as well. docs/persistence.md has the argument per backend.
//  - The ledger: one append-only sequence of entries per store (per database when shared). An
//    append in a batch is assigned the next sequence number (1, 2, ...; no gaps among durable
//    entries) when the batch commits; the completion reports it. Entries are never changed or
//    removed. read_ledger returns entries from a sequence number on, in order.
//  - Untrusted bytes. What a store reads back is a file's content (house rule 3): every row and
//    entry carries a checksum, checked on every read; a mismatch or a malformed row completes with
//    kCorrupt naming the key (or sequence), it is counted and logged, never asserted on.
//  - A store that is closed (its process shut down or crashed, or none was opened) refuses every
//    call with kIoError.
//  - Errors are values with a reason for people. A failed write changed nothing, with one
//    exception: a kIoError whose reason says "outcome unknown" (PostgreSQL lost the connection
//    during the commit) may have committed. Retrying its puts and erases is safe under their
//    fences; a retried append may appear twice (the ledger's users carry idempotency keys).

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace aether {

using Bytes = std::vector<uint8_t>;

enum class StorageCode : uint8_t {
  kOk,
  kNotFound,  // get: no such row
  kFenced,    // write: a row's fence is higher than the write's; nothing was written
  kBusy,      // refused at the call: kStorageInFlightMax requests in flight; nothing was queued
  kTooLarge,  // refused at the call: past a size limit below; nothing was queued
  kIoError,   // the store could not do it (connection lost, write failed); nothing was written
  kCorrupt,   // a row or ledger entry read back fails its checksum or is malformed
  kFull,      // write: the disk (or database) is full; nothing was written
};

const char* storage_code_name(StorageCode code);

struct StorageStatus {
  StorageCode code = StorageCode::kOk;
  std::string reason;  // for people; empty when ok
  bool ok() const { return code == StorageCode::kOk; }
};

// Requests accepted and not completed, per store. Past it: kBusy (see the contract above).
inline constexpr size_t kStorageInFlightMax = 64;
inline constexpr size_t kStorageKeyBytesMax = 256;
inline constexpr size_t kStorageValueBytesMax = size_t{1} << 20;  // 1 MiB, like a frame
inline constexpr size_t kStorageBatchOpsMax = 1024;              // puts + erases + appends
inline constexpr size_t kStorageBatchBytesMax = size_t{4} << 20;  // keys + values + entries
// Rows one scan and entries one read_ledger return at most; the caller continues after the last.
inline constexpr size_t kStorageScanRowsMax = 1024;
inline constexpr size_t kStorageLedgerReadMax = 1024;
// Fences are below 2^63: both databases store them as signed 64-bit integers. A larger one: kTooLarge.
inline constexpr uint64_t kStorageFenceMax = (uint64_t{1} << 63) - 1;

struct StorageRow {
  Bytes key;
  Bytes value;
  uint64_t fence = 0;
};

struct LedgerEntry {
  uint64_t seq = 0;
  Bytes entry;
};

struct WriteOp {
  enum class Kind : uint8_t { kPut, kErase, kAppend };
  Kind kind = Kind::kPut;
  Bytes key;        // put, erase
  Bytes value;      // put: the value; append: the entry
  uint64_t fence = 0;  // put, erase
};

struct WriteBatch {
  std::vector<WriteOp> ops;
  bool sync = true;  // see "Durability" above

  void put(Bytes key, Bytes value, uint64_t fence) { ops.push_back({WriteOp::Kind::kPut, std::move(key), std::move(value), fence}); }
  void erase(Bytes key, uint64_t fence) { ops.push_back({WriteOp::Kind::kErase, std::move(key), {}, fence}); }
  void append(Bytes entry) { ops.push_back({WriteOp::Kind::kAppend, {}, std::move(entry), 0}); }
  size_t bytes() const;
};

struct GetResult {
  StorageStatus status;
  StorageRow row;  // when ok
};
struct ScanResult {
  StorageStatus status;
  std::vector<StorageRow> rows;  // in key order
  bool more = false;             // stopped at the limit: continue with start_after = the last key
};
struct WriteResult {
  StorageStatus status;
  std::vector<uint64_t> ledger_seqs;  // when ok: one per append of the batch, in batch order
};
struct LedgerResult {
  StorageStatus status;
  std::vector<LedgerEntry> entries;  // consecutive sequence numbers, from the one asked for
  uint64_t last_seq = 0;             // the highest sequence in the ledger when read (0: empty)
};

// The size limits above, as every backend applies them at the call: kOk or kTooLarge.
StorageCode check_write(const WriteBatch& batch);
StorageCode check_key(const Bytes& key);

class Storage {
 public:
  virtual ~Storage() = default;
  // Each returns kOk when the request was queued (its completion will run), otherwise kBusy,
  // kTooLarge or kIoError (closed), and then the completion never runs.
  virtual StorageCode get(Bytes key, std::function<void(GetResult)> done) = 0;
  // Rows whose key starts with prefix and is greater than start_after (empty: from the first), in
  // key order, at most min(limit, kStorageScanRowsMax) of them.
  virtual StorageCode scan(Bytes prefix, Bytes start_after, size_t limit, std::function<void(ScanResult)> done) = 0;
  virtual StorageCode write(WriteBatch batch, std::function<void(WriteResult)> done) = 0;
  // Entries with seq >= from_seq (from_seq >= 1), at most min(limit, kStorageLedgerReadMax).
  virtual StorageCode read_ledger(uint64_t from_seq, size_t limit, std::function<void(LedgerResult)> done) = 0;
  // Requests accepted and not completed.
  virtual size_t in_flight() const = 0;
};

// The store of a process that opened none (and of unit tests that need none): it refuses every
// request at the call with kIoError, so a component that relies on storage sees it at once.
class NoStorage final : public Storage {
 public:
  StorageCode get(Bytes, std::function<void(GetResult)>) override { return StorageCode::kIoError; }
  StorageCode scan(Bytes, Bytes, size_t, std::function<void(ScanResult)>) override { return StorageCode::kIoError; }
  StorageCode write(WriteBatch, std::function<void(WriteResult)>) override { return StorageCode::kIoError; }
  StorageCode read_ledger(uint64_t, size_t, std::function<void(LedgerResult)>) override { return StorageCode::kIoError; }
  size_t in_flight() const override { return 0; }
};

// Shared by every backend: the checksum a row and a ledger entry are stored with (64 bits of
// engine/core/hash.h over every field, so that a value moved to another key also fails).
uint64_t row_checksum(const Bytes& key, const Bytes& value, uint64_t fence);
uint64_t ledger_checksum(uint64_t seq, const Bytes& entry);

}  // namespace aether
