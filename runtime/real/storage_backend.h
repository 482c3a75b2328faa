#pragma once
// The real runtime's stores (engine/runtime/storage.h): a blocking database backend (SQLite or
// PostgreSQL) driven by a WorkerStore (worker_store.h) on a thread of its own.
//
// Schema: one place for its version; each backend lists its numbered migration steps, applied at
// open in one transaction each, with schema_version in the same transaction. A database whose
// version is higher than kStorageSchemaVersion is refused: this binary does not know its layout.
// docs/persistence.md describes the tables.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "engine/core/result.h"
#include "engine/runtime/storage.h"

namespace aether::real {

// The schema version this binary writes and understands (the last migration step of each backend).
inline constexpr int kStorageSchemaVersion = 1;
// Every statement of a PostgreSQL store gives up after this long (io_error): a hung server never
// holds a worker, and so a process's shutdown, for longer.
inline constexpr int kPostgresStatementTimeoutMs = 10'000;
// A SQLite store waits this long for another process's write lock before io_error.
inline constexpr int kSqliteBusyTimeoutMs = 5'000;

// Blocking. Used from one thread at a time (the WorkerStore's worker after open). Requests are
// already within the size limits (check_write, check_key).
class StorageBackend {
 public:
  virtual ~StorageBackend() = default;
  // "sqlite:PATH" or "postgres:" and the connection target without secrets, for logs.
  virtual std::string describe() const = 0;
  virtual GetResult get(const Bytes& key) = 0;
  virtual ScanResult scan(const Bytes& prefix, const Bytes& start_after, size_t limit) = 0;
  // Group commit: the batches, in order, in one transaction, each under a savepoint of its own so
  // that each still applies whole or not at all (a fenced batch leaves the others be). One commit,
  // synced if any batch asked for it. One result per batch, in order.
  virtual std::vector<WriteResult> write_group(const std::vector<const WriteBatch*>& batches) = 0;
  virtual LedgerResult read_ledger(uint64_t from_seq, size_t limit) = 0;
};

struct StorageSpec {
  enum class Kind : uint8_t { kSqlite, kPostgres };
  Kind kind = Kind::kSqlite;
  std::string target;  // the file path, or the libpq connection string
};

// "sqlite:PATH" or "postgres:CONNINFO" (libpq's key=value string or a postgresql:// URI).
Result<StorageSpec> parse_storage_spec(std::string_view text);

// Opens, applies the migrations the database lacks, and refuses one newer than this binary. Blocks:
// call it at start-up, before the loop runs. Errors name the store and both versions.
Result<std::unique_ptr<StorageBackend>> open_backend(const StorageSpec& spec);
Result<std::unique_ptr<StorageBackend>> open_sqlite(const std::string& path);
Result<std::unique_ptr<StorageBackend>> open_postgres(const std::string& conninfo);

// Shared by the backends.
// Whether a group's commit is synced: when any of its batches asks.
bool any_sync(const std::vector<const WriteBatch*>& batches);
// The group's results once its commit failed: every batch that had applied fails with the commit.
void fail_group(std::vector<WriteResult>& results, const StorageStatus& commit);
// The smallest key greater than every key starting with prefix; empty when there is none (the
// prefix is empty or all 0xff), and then a scan has no upper bound.
Bytes prefix_end(const Bytes& prefix);
std::string hex(const Bytes& bytes);
StorageStatus storage_status(StorageCode code, std::string reason);
// The schema-too-new refusal, worded once.
std::string newer_schema_message(const std::string& store, int64_t found);

}  // namespace aether::real
