// The SQLite backend: one database file in WAL mode, the embedded default (docs/persistence.md).

#include <sqlite3.h>

#include <fmt/format.h>

#include <array>
#include <memory>

#include "engine/core/assert.h"
#include "runtime/real/storage_backend.h"

namespace aether::real {

namespace {

struct MigrationStep {
  int version;
  const char* sql;
};
// Numbered steps, oldest first; each runs in one transaction with its schema_version update.
constexpr std::array<MigrationStep, 1> kSqliteMigrations{{
    {1,
     "CREATE TABLE kv (key BLOB PRIMARY KEY, value BLOB NOT NULL, fence INTEGER NOT NULL, checksum INTEGER NOT NULL) WITHOUT ROWID;"
     "CREATE TABLE ledger (seq INTEGER PRIMARY KEY, entry BLOB NOT NULL, checksum INTEGER NOT NULL);"},
}};
static_assert(kSqliteMigrations.back().version == kStorageSchemaVersion, "the last step is the binary's schema version");

// A non-null pointer for empty blobs: sqlite3_bind_blob binds NULL for a null pointer.
const uint8_t kEmpty = 0;

class Stmt {
 public:
  // A statement that does not prepare (a file whose tables were changed behind our back) is
  // reported by valid(); the store is then refused at open.
  Stmt(sqlite3* db, const char* sql) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt_, nullptr) != SQLITE_OK) {
      error_ = sqlite3_errmsg(db);
      sqlite3_finalize(stmt_);
      stmt_ = nullptr;
    }
  }
  bool valid() const { return stmt_ != nullptr; }
  const std::string& error() const { return error_; }
  ~Stmt() { sqlite3_finalize(stmt_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;
  sqlite3_stmt* get() { return stmt_; }
  Stmt& blob(int i, const Bytes& b) {
    sqlite3_bind_blob(stmt_, i, b.empty() ? &kEmpty : b.data(), static_cast<int>(b.size()), SQLITE_STATIC);
    return *this;
  }
  Stmt& i64(int i, int64_t v) {
    sqlite3_bind_int64(stmt_, i, v);
    return *this;
  }
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
  std::string error_;
};

// Resets a statement however the scope is left.
struct Using {
  explicit Using(Stmt& s) : s(s) {}
  ~Using() { s.reset(); }
  Stmt& s;
};

bool read_blob(sqlite3_stmt* st, int col, Bytes* out) {
  if (sqlite3_column_type(st, col) != SQLITE_BLOB) return false;
  const auto* p = static_cast<const uint8_t*>(sqlite3_column_blob(st, col));
  const int n = sqlite3_column_bytes(st, col);
  out->assign(p, p + n);
  return true;
}

bool read_i64(sqlite3_stmt* st, int col, int64_t* out) {
  if (sqlite3_column_type(st, col) != SQLITE_INTEGER) return false;
  *out = sqlite3_column_int64(st, col);
  return true;
}

class SqliteStore final : public StorageBackend {
 public:
  SqliteStore(sqlite3* db, std::string path)
      : db_(db),
        path_(std::move(path)),
        get_(db, "SELECT value, fence, checksum FROM kv WHERE key = ?1"),
        scan_(db, "SELECT key, value, fence, checksum FROM kv WHERE key >= ?1 AND key > ?2 ORDER BY key LIMIT ?3"),
        scan_to_(db, "SELECT key, value, fence, checksum FROM kv WHERE key >= ?1 AND key > ?2 AND key < ?4 ORDER BY key LIMIT ?3"),
        put_(db,
             "INSERT INTO kv (key, value, fence, checksum) VALUES (?1, ?2, ?3, ?4) ON CONFLICT (key) DO UPDATE SET value = excluded.value, "
             "fence = excluded.fence, checksum = excluded.checksum WHERE kv.fence <= excluded.fence"),
        erase_(db, "DELETE FROM kv WHERE key = ?1 AND fence <= ?2"),
        fence_(db, "SELECT fence FROM kv WHERE key = ?1"),
        last_seq_(db, "SELECT COALESCE(MAX(seq), 0) FROM ledger"),
        append_(db, "INSERT INTO ledger (seq, entry, checksum) VALUES (?1, ?2, ?3)"),
        ledger_(db, "SELECT seq, entry, checksum FROM ledger WHERE seq >= ?1 ORDER BY seq LIMIT ?2") {}
  ~SqliteStore() override { sqlite3_close_v2(db_); }

  std::string describe() const override { return "sqlite:" + path_; }
  // Empty when every statement prepared.
  std::string unusable() const {
    for (const Stmt* s : {&get_, &scan_, &scan_to_, &put_, &erase_, &fence_, &last_seq_, &append_, &ledger_}) {
      if (!s->valid()) return s->error();
    }
    return {};
  }

  GetResult get(const Bytes& key) override {
    GetResult r;
    Using u(get_.blob(1, key));
    const int rc = sqlite3_step(get_.get());
    if (rc == SQLITE_DONE) {
      r.status = storage_status(StorageCode::kNotFound, "no such row");
    } else if (rc != SQLITE_ROW) {
      r.status = failure("get");
    } else {
      r.row.key = key;
      r.status = read_row(get_.get(), 0, &r.row);
      if (!r.status.ok()) r.row = {};  // a row only when it is sound
    }
    return r;
  }

  ScanResult scan(const Bytes& prefix, const Bytes& start_after, size_t limit) override {
    ScanResult r;
    const Bytes end = prefix_end(prefix);
    Stmt& s = end.empty() ? scan_ : scan_to_;
    Using u(s.blob(1, prefix).blob(2, start_after).i64(3, static_cast<int64_t>(limit) + 1));
    if (!end.empty()) s.blob(4, end);
    int rc;
    while ((rc = sqlite3_step(s.get())) == SQLITE_ROW) {
      if (r.rows.size() == limit) {
        r.more = true;
        break;
      }
      StorageRow row;
      if (!read_blob(s.get(), 0, &row.key)) {
        r.status = storage_status(StorageCode::kCorrupt, "a row's key is not a blob");
      } else {
        r.status = read_row(s.get(), 1, &row);
      }
      if (!r.status.ok()) {
        r.rows.clear();
        return r;
      }
      r.rows.push_back(std::move(row));
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
      r.rows.clear();
      r.status = failure("scan");
    }
    return r;
  }

  std::vector<WriteResult> write_group(const std::vector<const WriteBatch*>& batches) override {
    std::vector<WriteResult> results(batches.size());
    if (!set_sync(any_sync(batches)) || !exec("BEGIN IMMEDIATE")) {
      fail_group(results, failure("begin"));
      return results;
    }
    for (size_t i = 0; i < batches.size(); ++i) {
      WriteResult& r = results[i];
      if (sqlite3_get_autocommit(db_)) {
        // An error (a full disk, an I/O error) made SQLite roll the whole transaction back: the
        // rest must not run outside it, one autocommit at a time.
        r.status = storage_status(StorageCode::kIoError, fmt::format("{}: the group's transaction was rolled back", path_));
        continue;
      }
      if (!exec("SAVEPOINT batch")) {
        r.status = failure("savepoint");
        continue;
      }
      r.status = apply(*batches[i], &r.ledger_seqs);
      if (!r.status.ok()) {
        r.ledger_seqs.clear();
        exec("ROLLBACK TO batch");
      }
      exec("RELEASE batch");
    }
    if (!exec("COMMIT")) {
      fail_group(results, failure("commit"));
      exec("ROLLBACK");
    }
    return results;
  }

  LedgerResult read_ledger(uint64_t from_seq, size_t limit) override {
    LedgerResult r;
    {
      Using u(last_seq_);
      int64_t last = 0;
      if (sqlite3_step(last_seq_.get()) != SQLITE_ROW || !read_i64(last_seq_.get(), 0, &last) || last < 0) {
        r.status = failure("ledger");
        return r;
      }
      r.last_seq = static_cast<uint64_t>(last);
    }
    Using u(ledger_.i64(1, static_cast<int64_t>(from_seq)).i64(2, static_cast<int64_t>(limit)));
    int rc;
    uint64_t want = from_seq;
    while ((rc = sqlite3_step(ledger_.get())) == SQLITE_ROW) {
      LedgerEntry e;
      int64_t seq = 0, sum = 0;
      if (!read_i64(ledger_.get(), 0, &seq) || !read_blob(ledger_.get(), 1, &e.entry) || !read_i64(ledger_.get(), 2, &sum) ||
          static_cast<uint64_t>(seq) != want || ledger_checksum(want, e.entry) != static_cast<uint64_t>(sum)) {
        r.entries.clear();
        r.status = storage_status(StorageCode::kCorrupt, fmt::format("ledger entry {} fails its checksum or is missing", want));
        return r;
      }
      e.seq = want++;
      r.entries.push_back(std::move(e));
    }
    if (rc != SQLITE_DONE) {
      r.entries.clear();
      r.status = failure("ledger");
    }
    return r;
  }

 private:
  StorageStatus read_row(sqlite3_stmt* st, int col, StorageRow* row) {
    int64_t fence = 0, sum = 0;
    if (!read_blob(st, col, &row->value) || !read_i64(st, col + 1, &fence) || !read_i64(st, col + 2, &sum) || fence < 0 ||
        row_checksum(row->key, row->value, static_cast<uint64_t>(fence)) != static_cast<uint64_t>(sum)) {
      return storage_status(StorageCode::kCorrupt, fmt::format("row {} fails its checksum or is malformed", hex(row->key)));
    }
    row->fence = static_cast<uint64_t>(fence);
    return {};
  }

  StorageStatus apply(const WriteBatch& batch, std::vector<uint64_t>* seqs) {
    uint64_t next_seq = 0;
    for (const WriteOp& op : batch.ops) {
      const auto fence = static_cast<int64_t>(op.fence);
      if (op.kind == WriteOp::Kind::kAppend) {
        if (next_seq == 0) {
          Using u(last_seq_);
          int64_t last = 0;
          if (sqlite3_step(last_seq_.get()) != SQLITE_ROW || !read_i64(last_seq_.get(), 0, &last) || last < 0) return failure("append");
          next_seq = static_cast<uint64_t>(last) + 1;
        }
        const uint64_t seq = next_seq++;
        Using u(append_.i64(1, static_cast<int64_t>(seq)).blob(2, op.value).i64(3, static_cast<int64_t>(ledger_checksum(seq, op.value))));
        if (sqlite3_step(append_.get()) != SQLITE_DONE) return failure("append");
        seqs->push_back(seq);
        continue;
      }
      Stmt& s = op.kind == WriteOp::Kind::kPut ? put_ : erase_;
      {
        Using u(s.blob(1, op.key));
        if (op.kind == WriteOp::Kind::kPut) {
          s.blob(2, op.value).i64(3, fence).i64(4, static_cast<int64_t>(row_checksum(op.key, op.value, op.fence)));
        } else {
          s.i64(2, fence);
        }
        if (sqlite3_step(s.get()) != SQLITE_DONE) return failure("write");
      }
      if (sqlite3_changes(db_) == 0) {
        // Nothing changed: the row is fenced above us, or (an erase) there was no row.
        Using u(fence_.blob(1, op.key));
        const int rc = sqlite3_step(fence_.get());
        if (rc == SQLITE_ROW) {
          return storage_status(StorageCode::kFenced, fmt::format("row {} is fenced at {}, the write at {}", hex(op.key),
                                                                  sqlite3_column_int64(fence_.get(), 0), op.fence));
        }
        if (rc != SQLITE_DONE || op.kind == WriteOp::Kind::kPut) return failure("write");
      }
    }
    return {};
  }

  // synchronous=FULL syncs the WAL at every commit; NORMAL only at checkpoints (docs/persistence.md).
  bool set_sync(bool sync) {
    if (synced_ == sync) return true;
    if (!exec(sync ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL")) return false;
    synced_ = sync;
    return true;
  }

  bool exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) == SQLITE_OK; }

  StorageStatus failure(const char* what) {
    const int code = sqlite3_extended_errcode(db_);
    const StorageCode c = (code & 0xff) == SQLITE_FULL ? StorageCode::kFull : StorageCode::kIoError;
    return storage_status(c, fmt::format("{}: {}: {}", path_, what, sqlite3_errmsg(db_)));
  }

  sqlite3* db_;
  std::string path_;
  bool synced_ = true;
  Stmt get_, scan_, scan_to_, put_, erase_, fence_, last_seq_, append_, ledger_;
};

// Brings the file to kStorageSchemaVersion, or refuses it.
Status migrate(sqlite3* db, const std::string& path) {
  auto error = [&](const std::string& what) {
    return Status(make_error(Error::Code::kIo, fmt::format("sqlite:{}: {}: {}", path, what, sqlite3_errmsg(db))));
  };
  auto exec = [&](const char* sql) { return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK; };
  if (!exec("CREATE TABLE IF NOT EXISTS schema_version (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL)")) {
    return error("schema_version");
  }
  for (;;) {
    if (!exec("BEGIN IMMEDIATE")) return error("begin");
    int64_t version = 0;
    {
      Stmt s(db, "SELECT version FROM schema_version WHERE id = 1");
      const int rc = sqlite3_step(s.get());
      if (rc == SQLITE_ROW && !read_i64(s.get(), 0, &version)) version = -1;
      if (rc != SQLITE_ROW && rc != SQLITE_DONE) version = -1;
    }
    if (version < 0) {
      exec("ROLLBACK");
      return make_error(Error::Code::kIo, fmt::format("sqlite:{}: schema_version is unreadable", path));
    }
    if (version > kStorageSchemaVersion) {
      exec("ROLLBACK");
      return make_error(Error::Code::kState, newer_schema_message("sqlite:" + path, version));
    }
    if (version == kStorageSchemaVersion) return exec("COMMIT") ? ok_status() : error("commit");
    const MigrationStep& step = kSqliteMigrations[static_cast<size_t>(version)];
    AETHER_ASSERT(step.version == version + 1);
    const std::string set = fmt::format("INSERT INTO schema_version (id, version) VALUES (1, {0}) ON CONFLICT (id) DO UPDATE SET version = {0}", step.version);
    if (!exec(step.sql) || !exec(set.c_str()) || !exec("COMMIT")) {
      const Status e = error(fmt::format("migration to version {}", step.version));
      exec("ROLLBACK");
      return e;
    }
  }
}

}  // namespace

Result<std::unique_ptr<StorageBackend>> open_sqlite(const std::string& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = fmt::format("sqlite:{}: cannot open: {}", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return make_error(Error::Code::kIo, std::move(message));
  }
  sqlite3_extended_result_codes(db, 1);
  sqlite3_busy_timeout(db, kSqliteBusyTimeoutMs);
  // WAL: readers never block the writer, a commit appends to one file (docs/persistence.md).
  std::string mode;
  sqlite3_exec(
      db, "PRAGMA journal_mode = WAL",
      [](void* out, int n, char** values, char**) {
        if (n > 0 && values[0]) *static_cast<std::string*>(out) = values[0];
        return 0;
      },
      &mode, nullptr);
  if (mode != "wal" || sqlite3_exec(db, "PRAGMA synchronous = FULL", nullptr, nullptr, nullptr) != SQLITE_OK) {
    std::string message = fmt::format("sqlite:{}: cannot switch to WAL mode with full sync: {}", path, sqlite3_errmsg(db));
    sqlite3_close_v2(db);
    return make_error(Error::Code::kIo, std::move(message));
  }
  if (Status s = migrate(db, path); !s) {
    sqlite3_close_v2(db);
    return s.error();
  }
  auto store = std::make_unique<SqliteStore>(db, path);
  if (const std::string why = store->unusable(); !why.empty()) {
    return make_error(Error::Code::kIo, fmt::format("sqlite:{}: the tables of schema version {} are not as expected: {}", path,
                                                    kStorageSchemaVersion, why));
  }
  return std::unique_ptr<StorageBackend>(std::move(store));
}

}  // namespace aether::real
