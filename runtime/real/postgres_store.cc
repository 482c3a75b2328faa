// The PostgreSQL backend, through libpq: production's store, shared by every process of a cluster
// (docs/persistence.md). Binary parameters and results throughout; every value read back is checked.

#include <libpq-fe.h>

#include <fmt/format.h>

#include <array>
#include <cstring>
#include <deque>
#include <memory>

#include "engine/core/assert.h"
#include "runtime/real/storage_backend.h"

namespace aether::real {

namespace {

constexpr unsigned kOidBytea = 17;
constexpr unsigned kOidInt8 = 20;
// Held while a process migrates, so that processes starting together migrate one at a time.
constexpr int64_t kMigrationLockKey = 0x6165746865720001;

struct MigrationStep {
  int version;
  const char* sql;
};
// Numbered steps, oldest first; each runs in one transaction with its schema_version update.
constexpr std::array<MigrationStep, 1> kPostgresMigrations{{
    {1,
     "CREATE TABLE kv (key bytea PRIMARY KEY, value bytea NOT NULL, fence bigint NOT NULL, checksum bigint NOT NULL);"
     "CREATE TABLE ledger (seq bigint PRIMARY KEY, entry bytea NOT NULL, checksum bigint NOT NULL);"
     "CREATE TABLE ledger_head (id int PRIMARY KEY CHECK (id = 1), last_seq bigint NOT NULL);"
     "INSERT INTO ledger_head (id, last_seq) VALUES (1, 0);"},
}};
static_assert(kPostgresMigrations.back().version == kStorageSchemaVersion, "the last step is the binary's schema version");

struct Statement {
  const char* name;
  const char* sql;
  int params;
  std::array<unsigned, 4> types;
};
constexpr std::array<Statement, 8> kStatements{{
    {"get", "SELECT value, fence, checksum FROM kv WHERE key = $1", 1, {kOidBytea}},
    {"scan", "SELECT key, value, fence, checksum FROM kv WHERE key >= $1 AND key > $2 ORDER BY key LIMIT $3", 3, {kOidBytea, kOidBytea, kOidInt8}},
    {"scan_to", "SELECT key, value, fence, checksum FROM kv WHERE key >= $1 AND key > $2 AND key < $4 ORDER BY key LIMIT $3", 4,
     {kOidBytea, kOidBytea, kOidInt8, kOidBytea}},
    {"put",
     "INSERT INTO kv (key, value, fence, checksum) VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, "
     "fence = EXCLUDED.fence, checksum = EXCLUDED.checksum WHERE kv.fence <= EXCLUDED.fence",
     4, {kOidBytea, kOidBytea, kOidInt8, kOidInt8}},
    {"erase", "DELETE FROM kv WHERE key = $1 AND fence <= $2", 2, {kOidBytea, kOidInt8}},
    {"fence", "SELECT fence FROM kv WHERE key = $1", 1, {kOidBytea}},
    // Locks the head row to the end of the transaction: appends from every process take their
    // numbers in commit order, with no gaps (a rolled-back batch gives its numbers back).
    {"reserve", "UPDATE ledger_head SET last_seq = last_seq + $1 WHERE id = 1 RETURNING last_seq", 1, {kOidInt8}},
    {"append", "INSERT INTO ledger (seq, entry, checksum) VALUES ($1, $2, $3)", 3, {kOidInt8, kOidBytea, kOidInt8}},
}};
// One snapshot for the head and the entries.
constexpr const char* kLedgerSql =
    "SELECT h.last_seq, l.seq, l.entry, l.checksum FROM ledger_head h LEFT JOIN LATERAL "
    "(SELECT seq, entry, checksum FROM ledger WHERE seq >= $1 ORDER BY seq LIMIT $2) l ON true WHERE h.id = 1 ORDER BY l.seq";

using ResultPtr = std::unique_ptr<PGresult, decltype(&PQclear)>;

// Binary parameters; the buffers stay put while the Params lives.
class Params {
 public:
  Params& bytes(const Bytes& b) {
    static const char kEmpty = 0;
    values_.push_back(b.empty() ? &kEmpty : reinterpret_cast<const char*>(b.data()));
    lengths_.push_back(static_cast<int>(b.size()));
    return *this;
  }
  Params& i64(int64_t v) {
    std::array<char, 8>& buf = ints_.emplace_back();
    for (int i = 0; i < 8; ++i) buf[i] = static_cast<char>(static_cast<uint64_t>(v) >> (56 - 8 * i));
    values_.push_back(buf.data());
    lengths_.push_back(8);
    return *this;
  }
  int count() const { return static_cast<int>(values_.size()); }
  const char* const* values() const { return values_.data(); }
  const int* lengths() const { return lengths_.data(); }
  const int* formats() const {
    formats_.assign(values_.size(), 1);
    return formats_.data();
  }

 private:
  std::vector<const char*> values_;
  std::vector<int> lengths_;
  mutable std::vector<int> formats_;
  std::deque<std::array<char, 8>> ints_;
};

// Reads of binary results, checked: a row is a file's content (house rule 3).
bool field_bytes(const PGresult* r, int row, int col, Bytes* out) {
  if (PQgetisnull(r, row, col)) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(PQgetvalue(r, row, col));
  out->assign(p, p + PQgetlength(r, row, col));
  return true;
}
bool field_i64(const PGresult* r, int row, int col, int64_t* out) {
  if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8) return false;
  const auto* p = reinterpret_cast<const uint8_t*>(PQgetvalue(r, row, col));
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  *out = static_cast<int64_t>(v);
  return true;
}

class PostgresStore final : public StorageBackend {
 public:
  explicit PostgresStore(PGconn* conn) : conn_(conn) {}
  ~PostgresStore() override { PQfinish(conn_); }

  std::string describe() const override { return fmt::format("postgres:dbname={} host={} port={}", PQdb(conn_), PQhost(conn_), PQport(conn_)); }

  // The session's settings and statements, after a connect or a reconnect. Empty when ready.
  std::string prepare() {
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
    const std::string set = fmt::format("SET statement_timeout = {}", kPostgresStatementTimeoutMs);
    if (!command(set.c_str())) return PQerrorMessage(conn_);
    for (const Statement& s : kStatements) {
      ResultPtr r(PQprepare(conn_, s.name, s.sql, s.params, s.types.data()), &PQclear);
      if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return fmt::format("{}: {}", s.name, PQresultErrorMessage(r.get()));
    }
    const std::array<unsigned, 2> ledger_types{kOidInt8, kOidInt8};
    ResultPtr r(PQprepare(conn_, "ledger", kLedgerSql, 2, ledger_types.data()), &PQclear);
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) return fmt::format("ledger: {}", PQresultErrorMessage(r.get()));
    return {};
  }

  GetResult get(const Bytes& key) override {
    GetResult r;
    if (!connected(&r.status)) return r;
    Params p;
    ResultPtr res = run("get", p.bytes(key));
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
      r.status = failure(res.get(), "get");
    } else if (PQntuples(res.get()) == 0) {
      r.status = storage_status(StorageCode::kNotFound, "no such row");
    } else {
      r.row.key = key;
      r.status = read_row(res.get(), 0, 0, &r.row);
      if (!r.status.ok()) r.row = {};  // a row only when it is sound
    }
    return r;
  }

  ScanResult scan(const Bytes& prefix, const Bytes& start_after, size_t limit) override {
    ScanResult r;
    if (!connected(&r.status)) return r;
    const Bytes end = prefix_end(prefix);
    Params p;
    p.bytes(prefix).bytes(start_after).i64(static_cast<int64_t>(limit) + 1);
    if (!end.empty()) p.bytes(end);
    ResultPtr res = run(end.empty() ? "scan" : "scan_to", p);
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
      r.status = failure(res.get(), "scan");
      return r;
    }
    const int n = PQntuples(res.get());
    for (int i = 0; i < n; ++i) {
      if (r.rows.size() == limit) {
        r.more = true;
        break;
      }
      StorageRow row;
      r.status = field_bytes(res.get(), i, 0, &row.key) ? read_row(res.get(), i, 1, &row)
                                                         : storage_status(StorageCode::kCorrupt, "a row's key is null");
      if (!r.status.ok()) {
        r.rows.clear();
        r.more = false;
        return r;
      }
      r.rows.push_back(std::move(row));
    }
    return r;
  }

  std::vector<WriteResult> write_group(const std::vector<const WriteBatch*>& batches) override {
    std::vector<WriteResult> results(batches.size());
    StorageStatus down;
    if (!connected(&down)) {
      fail_group(results, down);
      return results;
    }
    if (!command("BEGIN") || (!any_sync(batches) && !command("SET LOCAL synchronous_commit TO off"))) {
      fail_group(results, storage_status(StorageCode::kIoError, fmt::format("{}: begin: {}", describe(), PQerrorMessage(conn_))));
      command("ROLLBACK");
      return results;
    }
    for (size_t i = 0; i < batches.size(); ++i) {
      WriteResult& r = results[i];
      if (PQtransactionStatus(conn_) != PQTRANS_INTRANS) {
        r.status = storage_status(StorageCode::kIoError, fmt::format("{}: the group's transaction is gone: {}", describe(), PQerrorMessage(conn_)));
        continue;
      }
      if (!command("SAVEPOINT batch")) {
        r.status = storage_status(StorageCode::kIoError, fmt::format("{}: savepoint: {}", describe(), PQerrorMessage(conn_)));
        continue;
      }
      r.status = apply(*batches[i], &r.ledger_seqs);
      if (!r.status.ok()) {
        r.ledger_seqs.clear();
        command("ROLLBACK TO SAVEPOINT batch");
      }
      command("RELEASE SAVEPOINT batch");
    }
    ResultPtr res(PQexec(conn_, "COMMIT"), &PQclear);
    // COMMIT of a failed transaction answers ROLLBACK, with a command status of ok.
    if (PQresultStatus(res.get()) != PGRES_COMMAND_OK || std::strcmp(PQcmdStatus(res.get()), "COMMIT") != 0) {
      StorageStatus commit = failure(res.get(), "commit");
      // The connection broke during the commit: it may have happened. Say so; fences make a retry safe.
      if (PQstatus(conn_) != CONNECTION_OK) commit.reason += " (outcome unknown: the connection broke during the commit)";
      fail_group(results, commit);
      command("ROLLBACK");
    }
    return results;
  }

  LedgerResult read_ledger(uint64_t from_seq, size_t limit) override {
    LedgerResult r;
    if (!connected(&r.status)) return r;
    Params p;
    ResultPtr res = run("ledger", p.i64(static_cast<int64_t>(from_seq)).i64(static_cast<int64_t>(limit)));
    if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) {
      r.status = failure(res.get(), "ledger");
      return r;
    }
    int64_t last = 0;
    if (PQntuples(res.get()) == 0 || !field_i64(res.get(), 0, 0, &last) || last < 0) {
      r.status = storage_status(StorageCode::kCorrupt, "the ledger's head row is missing or malformed");
      return r;
    }
    r.last_seq = static_cast<uint64_t>(last);
    uint64_t want = from_seq;
    for (int i = 0; i < PQntuples(res.get()); ++i) {
      if (PQgetisnull(res.get(), i, 1)) break;  // no entries from from_seq on
      LedgerEntry e;
      int64_t seq = 0, sum = 0;
      if (!field_i64(res.get(), i, 1, &seq) || !field_bytes(res.get(), i, 2, &e.entry) || !field_i64(res.get(), i, 3, &sum) ||
          static_cast<uint64_t>(seq) != want || ledger_checksum(want, e.entry) != static_cast<uint64_t>(sum)) {
        r.entries.clear();
        r.status = storage_status(StorageCode::kCorrupt, fmt::format("ledger entry {} fails its checksum or is missing", want));
        return r;
      }
      e.seq = want++;
      r.entries.push_back(std::move(e));
    }
    return r;
  }

 private:
  ResultPtr run(const char* name, const Params& p) {
    return ResultPtr(PQexecPrepared(conn_, name, p.count(), p.values(), p.lengths(), p.formats(), 1), &PQclear);
  }
  bool command(const char* sql) {
    ResultPtr r(PQexec(conn_, sql), &PQclear);
    return PQresultStatus(r.get()) == PGRES_COMMAND_OK;
  }

  // A lost connection is reopened before the next request (that one reports io_error if it fails).
  bool connected(StorageStatus* s) {
    if (PQstatus(conn_) == CONNECTION_OK) return true;
    PQreset(conn_);
    std::string why = PQstatus(conn_) == CONNECTION_OK ? prepare() : std::string(PQerrorMessage(conn_));
    if (why.empty()) return true;
    *s = storage_status(StorageCode::kIoError, fmt::format("{}: reconnect failed: {}", describe(), why));
    return false;
  }

  StorageStatus read_row(const PGresult* res, int row, int col, StorageRow* out) {
    int64_t fence = 0, sum = 0;
    if (!field_bytes(res, row, col, &out->value) || !field_i64(res, row, col + 1, &fence) || !field_i64(res, row, col + 2, &sum) ||
        fence < 0 || row_checksum(out->key, out->value, static_cast<uint64_t>(fence)) != static_cast<uint64_t>(sum)) {
      return storage_status(StorageCode::kCorrupt, fmt::format("row {} fails its checksum or is malformed", hex(out->key)));
    }
    out->fence = static_cast<uint64_t>(fence);
    return {};
  }

  StorageStatus apply(const WriteBatch& batch, std::vector<uint64_t>* seqs) {
    uint64_t appends = 0;
    for (const WriteOp& op : batch.ops) appends += op.kind == WriteOp::Kind::kAppend ? 1 : 0;
    uint64_t next_seq = 0;
    if (appends > 0) {
      Params p;
      ResultPtr res = run("reserve", p.i64(static_cast<int64_t>(appends)));
      int64_t last = 0;
      if (PQresultStatus(res.get()) != PGRES_TUPLES_OK) return failure(res.get(), "append");
      if (PQntuples(res.get()) != 1 || !field_i64(res.get(), 0, 0, &last) || last < static_cast<int64_t>(appends)) {
        return storage_status(StorageCode::kCorrupt, "the ledger's head row is missing or malformed");
      }
      next_seq = static_cast<uint64_t>(last) - appends + 1;
    }
    for (const WriteOp& op : batch.ops) {
      Params p;
      if (op.kind == WriteOp::Kind::kAppend) {
        const uint64_t seq = next_seq++;
        ResultPtr res = run("append", p.i64(static_cast<int64_t>(seq)).bytes(op.value).i64(static_cast<int64_t>(ledger_checksum(seq, op.value))));
        if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return failure(res.get(), "append");
        seqs->push_back(seq);
        continue;
      }
      const bool put = op.kind == WriteOp::Kind::kPut;
      p.bytes(op.key);
      if (put) {
        p.bytes(op.value).i64(static_cast<int64_t>(op.fence)).i64(static_cast<int64_t>(row_checksum(op.key, op.value, op.fence)));
      } else {
        p.i64(static_cast<int64_t>(op.fence));
      }
      ResultPtr res = run(put ? "put" : "erase", p);
      if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return failure(res.get(), "write");
      if (std::strcmp(PQcmdTuples(res.get()), "0") != 0) continue;
      // Nothing changed: the row is fenced above us, or (an erase) there was no row.
      Params q;
      ResultPtr held = run("fence", q.bytes(op.key));
      if (PQresultStatus(held.get()) != PGRES_TUPLES_OK) return failure(held.get(), "write");
      int64_t fence = 0;
      if (PQntuples(held.get()) == 1 && field_i64(held.get(), 0, 0, &fence)) {
        return storage_status(StorageCode::kFenced, fmt::format("row {} is fenced at {}, the write at {}", hex(op.key), fence, op.fence));
      }
      if (put) return storage_status(StorageCode::kIoError, fmt::format("row {}: the put changed nothing", hex(op.key)));
    }
    return {};
  }

  StorageStatus failure(const PGresult* res, const char* what) {
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    // Class 53, disk_full (53100): the database has no room.
    const StorageCode code = state && std::strcmp(state, "53100") == 0 ? StorageCode::kFull : StorageCode::kIoError;
    const char* message = res ? PQresultErrorMessage(res) : "";
    return storage_status(code, fmt::format("{}: {}: {}", describe(), what, *message ? message : PQerrorMessage(conn_)));
  }

  PGconn* conn_;
};

// Brings the database to kStorageSchemaVersion, or refuses it.
Status migrate(PGconn* conn, const std::string& store) {
  auto exec = [&](const std::string& sql, ExecStatusType want, ResultPtr* out = nullptr) {
    ResultPtr r(PQexec(conn, sql.c_str()), &PQclear);
    const bool ok = PQresultStatus(r.get()) == want;
    if (out) *out = std::move(r);
    return ok;
  };
  auto error = [&](const std::string& what) {
    const std::string message = fmt::format("{}: {}: {}", store, what, PQerrorMessage(conn));
    exec("ROLLBACK", PGRES_COMMAND_OK);
    return Status(make_error(Error::Code::kIo, message));
  };
  for (;;) {
    if (!exec("BEGIN", PGRES_COMMAND_OK)) return error("begin");
    if (!exec(fmt::format("SELECT pg_advisory_xact_lock({})", kMigrationLockKey), PGRES_TUPLES_OK)) return error("migration lock");
    if (!exec("CREATE TABLE IF NOT EXISTS schema_version (id int PRIMARY KEY CHECK (id = 1), version int NOT NULL)", PGRES_COMMAND_OK)) {
      return error("schema_version");
    }
    ResultPtr v(nullptr, &PQclear);
    if (!exec("SELECT version FROM schema_version WHERE id = 1", PGRES_TUPLES_OK, &v)) return error("schema_version");
    int64_t version = 0;
    if (PQntuples(v.get()) == 1) {
      char* end = nullptr;
      version = std::strtoll(PQgetvalue(v.get(), 0, 0), &end, 10);
      if (end == nullptr || *end != '\0' || version < 0) return error("schema_version is unreadable");
    }
    if (version > kStorageSchemaVersion) {
      exec("ROLLBACK", PGRES_COMMAND_OK);
      return make_error(Error::Code::kState, newer_schema_message(store, version));
    }
    if (version == kStorageSchemaVersion) return exec("COMMIT", PGRES_COMMAND_OK) ? ok_status() : error("commit");
    const MigrationStep& step = kPostgresMigrations[static_cast<size_t>(version)];
    AETHER_ASSERT(step.version == version + 1);
    if (!exec(step.sql, PGRES_COMMAND_OK)) return error(fmt::format("migration to version {}", step.version));
    if (!exec(fmt::format("INSERT INTO schema_version (id, version) VALUES (1, {0}) ON CONFLICT (id) DO UPDATE SET version = {0}", step.version),
              PGRES_COMMAND_OK) ||
        !exec("COMMIT", PGRES_COMMAND_OK)) {
      return error(fmt::format("migration to version {}", step.version));
    }
  }
}

}  // namespace

Result<std::unique_ptr<StorageBackend>> open_postgres(const std::string& conninfo) {
  // connect_timeout first: the string's own settings, expanded from dbname, override it.
  const std::array<const char*, 3> keys{"connect_timeout", "dbname", nullptr};
  const std::array<const char*, 3> values{"10", conninfo.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys.data(), values.data(), 1);
  if (conn == nullptr) return make_error(Error::Code::kIo, "postgres: out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = fmt::format("postgres: cannot connect: {}", PQerrorMessage(conn));
    PQfinish(conn);
    return make_error(Error::Code::kIo, std::move(message));
  }
  auto store = std::make_unique<PostgresStore>(conn);
  PQsetNoticeProcessor(conn, [](void*, const char*) {}, nullptr);
  if (Status s = migrate(conn, store->describe()); !s) return s.error();
  if (std::string why = store->prepare(); !why.empty()) {
    return make_error(Error::Code::kIo, fmt::format("{}: the tables of schema version {} are not as expected: {}", store->describe(),
                                                    kStorageSchemaVersion, why));
  }
  return std::unique_ptr<StorageBackend>(std::move(store));
}

}  // namespace aether::real
