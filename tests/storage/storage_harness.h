#pragma once
// One harness per Storage backend, for the contract suite (storage_contract_test.cc): open a store,
// wait for completions on its loop, reopen it, and reach behind it (damage a row, set the schema
// version) the way a disk fault or an operator would.

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>
#include <spdlog/sinks/null_sink.h>

#include "engine/runtime/storage.h"
#include "runtime/real/storage_backend.h"
#include "runtime/real/worker_store.h"
#include "runtime/sim/simulation.h"

namespace aether::testing {

class QuietLog final : public Logger {
 public:
  bool enabled(LogLevel) const override { return false; }
  void write(LogLevel, const LogIds&, std::string_view) override {}
};

// Runs a loop until pred() holds; fails the test after a while (a completion that never comes).
inline constexpr int kWaitStepsMax = 200'000;

struct SimHarness {
  static constexpr const char* kName = "sim";
  explicit SimHarness(uint64_t seed = 11) : sim(options(seed)), host(&sim.add_host("db-host", NodeId(101))) {}
  static sim::SimOptions options(uint64_t seed) {
    sim::SimOptions o;
    o.seed = seed;
    o.log_sink = spdlog::null_logger_mt(fmt::format("storage-sim-{}-{}", seed, counter()++));
    return o;
  }
  static uint64_t& counter() {
    static uint64_t n = 0;
    return n;
  }
  Storage& store() { return host->storage(); }
  void wait(const std::function<bool()>& pred) {
    for (int i = 0; i < kWaitStepsMax && !pred(); ++i) sim.run_until(sim.now() + 100 * kNsPerUs);
    ASSERT_TRUE(pred()) << "no completion";
  }
  void damage(const Bytes& key) { ASSERT_TRUE(host->storage().damage(key)); }
  uint64_t corrupt_count() const { return host->storage().stats().corrupt_reads; }

  sim::Simulation sim;
  sim::Host* host;
};

// The simulator's shared database (runtime/sim/sim_database.h): a client host whose Runtime::storage
// is a database host's disk, reached over its connection. The contract holds through it.
struct SimDatabaseHarness {
  static constexpr const char* kName = "sim_database";
  explicit SimDatabaseHarness(uint64_t seed = 11)
      : sim(SimHarness::options(seed)), client(&sim.add_host("compute-1", NodeId(101))), database(&sim.add_host("database", NodeId{})) {
    client->use_database(*database);
  }
  Storage& store() { return client->runtime().storage; }
  void wait(const std::function<bool()>& pred) {
    for (int i = 0; i < kWaitStepsMax && !pred(); ++i) sim.run_until(sim.now() + 100 * kNsPerUs);
    ASSERT_TRUE(pred()) << "no completion";
  }
  void damage(const Bytes& key) { ASSERT_TRUE(database->storage().damage(key)); }
  uint64_t corrupt_count() const { return database->storage().stats().corrupt_reads; }

  sim::Simulation sim;
  sim::Host* client;
  sim::Host* database;
};

class RealHarnessBase {
 public:
  Storage& store() { return *store_; }
  void wait(const std::function<bool()>& pred) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io_.restart();
      io_.run_one_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(pred()) << "no completion within 20 s";
  }
  uint64_t corrupt_count() const { return store_->stats().corrupt; }
  // Opens (or reopens) the store; the error, if it was refused.
  std::optional<std::string> reopen() {
    store_.reset();
    auto backend = open_backend();
    if (!backend) return backend.error().message;
    store_ = std::make_unique<real::WorkerStore>(io_, log_);
    store_->open(std::move(*backend));
    return std::nullopt;
  }
  void close() { store_.reset(); }
  // Another store on the same database, on the same loop: another process sharing it.
  std::unique_ptr<real::WorkerStore> another() {
    auto backend = open_backend();
    if (!backend) {
      ADD_FAILURE() << backend.error().message;
      return nullptr;
    }
    auto store = std::make_unique<real::WorkerStore>(io_, log_);
    store->open(std::move(*backend));
    return store;
  }
  void run_for(std::chrono::milliseconds d) {
    io_.restart();
    io_.run_for(d);
  }
  boost::asio::io_context& io() { return io_; }
  // A backend on the harness's database (another store, opened by the caller: a RealRuntime's).
  virtual Result<std::unique_ptr<real::StorageBackend>> open_backend() = 0;

 protected:
  virtual ~RealHarnessBase() = default;
  boost::asio::io_context io_;
  QuietLog log_;
  std::unique_ptr<real::WorkerStore> store_;
};

struct SqliteHarness final : RealHarnessBase {
  static constexpr const char* kName = "sqlite";
  SqliteHarness() {
    dir = std::filesystem::temp_directory_path() / fmt::format("aether-storage-test-{}-{}", getpid(), counter()++);
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    path = (dir / "store.sqlite").string();
    if (auto e = reopen()) ADD_FAILURE() << *e;
  }
  ~SqliteHarness() override {
    close();
    std::filesystem::remove_all(dir);
  }
  static uint64_t& counter() {
    static uint64_t n = 0;
    return n;
  }
  Result<std::unique_ptr<real::StorageBackend>> open_backend() override { return real::open_sqlite(path); }
  // Behind the store's back, on its file (as a disk fault or an operator could).
  void sql(const std::string& statement, const Bytes& key = {}) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(db, statement.c_str(), -1, &st, nullptr), SQLITE_OK) << sqlite3_errmsg(db);
    if (!key.empty()) sqlite3_bind_blob(st, 1, key.data(), static_cast<int>(key.size()), SQLITE_TRANSIENT);
    EXPECT_EQ(sqlite3_step(st), SQLITE_DONE) << sqlite3_errmsg(db);
    sqlite3_finalize(st);
    sqlite3_close(db);
  }
  void damage(const Bytes& key) { sql("UPDATE kv SET value = CAST(value || x'00' AS BLOB) WHERE key = ?1", key); }
  void damage_ledger(uint64_t seq) { sql(fmt::format("UPDATE ledger SET entry = CAST(entry || x'00' AS BLOB) WHERE seq = {}", seq)); }
  void set_schema_version(int v) { sql(fmt::format("UPDATE schema_version SET version = {}", v)); }
  int64_t schema_version() {
    sqlite3* db = nullptr;
    sqlite3_open(path.c_str(), &db);
    sqlite3_stmt* st = nullptr;
    sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &st, nullptr);
    const int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
  }

  std::filesystem::path dir;
  std::string path;
};

// Each test gets a schema of its own in the fixture's database (tests/CMakeLists.txt starts the
// server through scripts/postgres.sh and passes AETHER_PG_CONNINFO). Without it the test fails: the
// PostgreSQL variant never skips silently.
struct PostgresHarness final : RealHarnessBase {
  static constexpr const char* kName = "postgres";
  PostgresHarness() {
    const char* base = std::getenv("AETHER_PG_CONNINFO");
    if (base == nullptr || *base == '\0') {
      ADD_FAILURE() << "AETHER_PG_CONNINFO is unset: start a server with scripts/postgres.sh start and export what it prints "
                       "(ctest does both through the postgres fixture)";
      return;
    }
    admin_conninfo = base;
    schema = fmt::format("aether_test_{}_{}", getpid(), counter()++);
    conninfo = admin_conninfo + fmt::format(" options='-csearch_path={}'", schema);
    sql(fmt::format("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}", schema));
    if (auto e = reopen()) ADD_FAILURE() << *e;
  }
  ~PostgresHarness() override {
    close();
    if (!schema.empty()) sql(fmt::format("DROP SCHEMA IF EXISTS {} CASCADE", schema));
  }
  static uint64_t& counter() {
    static uint64_t n = 0;
    return n;
  }
  Result<std::unique_ptr<real::StorageBackend>> open_backend() override {
    if (conninfo.empty()) return make_error(Error::Code::kIo, "no server");
    return real::open_postgres(conninfo);
  }
  void sql(const std::string& statement, const Bytes& key = {}) {
    PGconn* c = PQconnectdb(admin_conninfo.c_str());
    ASSERT_EQ(PQstatus(c), CONNECTION_OK) << PQerrorMessage(c);
    PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
    PGresult* r = nullptr;
    if (key.empty()) {
      r = PQexec(c, statement.c_str());
    } else {
      const char* v = reinterpret_cast<const char*>(key.data());
      const int len = static_cast<int>(key.size());
      const int fmt1 = 1;
      r = PQexecParams(c, statement.c_str(), 1, nullptr, &v, &len, &fmt1, 0);
    }
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(c);
  }
  void damage(const Bytes& key) { sql(fmt::format("UPDATE {}.kv SET value = value || '\\x00'::bytea WHERE key = $1", schema), key); }
  void damage_ledger(uint64_t seq) { sql(fmt::format("UPDATE {}.ledger SET entry = entry || '\\x00'::bytea WHERE seq = {}", schema, seq)); }
  void set_schema_version(int v) { sql(fmt::format("UPDATE {}.schema_version SET version = {}", schema, v)); }
  int64_t schema_version() {
    PGconn* c = PQconnectdb(admin_conninfo.c_str());
    PGresult* r = PQexec(c, fmt::format("SELECT version FROM {}.schema_version", schema).c_str());
    const int64_t v = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 ? std::atoll(PQgetvalue(r, 0, 0)) : -1;
    PQclear(r);
    PQfinish(c);
    return v;
  }

  std::string admin_conninfo, conninfo, schema;
};

}  // namespace aether::testing
