// Writes and ledger appends per second through the real runtime's stores (runtime/real/worker_store.h),
// as a component issues them: up to kStorageInFlightMax requests in flight, completions on its loop.
// SQLite in a temporary file; PostgreSQL at AETHER_PG_CONNINFO (what `scripts/postgres.sh start`
// prints), in a schema of its own; without it the PostgreSQL benchmarks say so and skip.
//
//   build/bin/aether_bench_storage
//   AETHER_PG_CONNINFO="$(scripts/postgres.sh start)" build/bin/aether_bench_storage

#include <benchmark/benchmark.h>
#include <libpq-fe.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>

#include "runtime/real/storage_backend.h"
#include "runtime/real/worker_store.h"

namespace aether {
namespace {

class QuietLog final : public Logger {
 public:
  bool enabled(LogLevel) const override { return false; }
  void write(LogLevel, const LogIds&, std::string_view) override {}
};

constexpr size_t kValueBytes = 200;  // about a character's state

struct Target {
  std::string error;  // non-empty: skip with it
  std::function<Result<std::unique_ptr<real::StorageBackend>>()> open;
};

Target sqlite_target() {
  static const std::filesystem::path dir = [] {
    auto d = std::filesystem::temp_directory_path() / fmt::format("aether-bench-storage-{}", getpid());
    std::filesystem::remove_all(d);
    std::filesystem::create_directories(d);
    return d;
  }();
  static int n = 0;
  const std::string path = (dir / fmt::format("bench-{}.sqlite", n++)).string();
  return Target{{}, [path] { return real::open_sqlite(path); }};
}

Target postgres_target() {
  const char* base = std::getenv("AETHER_PG_CONNINFO");
  if (base == nullptr || *base == '\0') return Target{"AETHER_PG_CONNINFO unset: run scripts/postgres.sh start and export what it prints", {}};
  static int n = 0;
  const std::string schema = fmt::format("aether_bench_{}_{}", getpid(), n++);
  PGconn* c = PQconnectdb(base);
  if (PQstatus(c) != CONNECTION_OK) {
    std::string e = PQerrorMessage(c);
    PQfinish(c);
    return Target{e, {}};
  }
  PQsetNoticeProcessor(c, [](void*, const char*) {}, nullptr);
  PQclear(PQexec(c, fmt::format("DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0}", schema).c_str()));
  PQfinish(c);
  const std::string conninfo = std::string(base) + fmt::format(" options='-csearch_path={}'", schema);
  return Target{{}, [conninfo] { return real::open_postgres(conninfo); }};
}

// Runs one batch per iteration, keeping the store's in-flight window full.
void pipelined(benchmark::State& state, Target target, const std::function<WriteBatch(uint64_t)>& batch_of) {
  if (!target.error.empty()) {
    state.SkipWithError(target.error.c_str());
    for (auto _ : state) {
    }
    return;
  }
  auto backend = target.open();
  if (!backend) {
    state.SkipWithError(backend.error().message.c_str());
    for (auto _ : state) {
    }
    return;
  }
  boost::asio::io_context io;
  QuietLog log;
  real::WorkerStore store(io, log);
  store.open(std::move(*backend));
  uint64_t i = 0, done = 0, failed = 0;
  for (auto _ : state) {
    for (;;) {
      const StorageCode c = store.write(batch_of(i), [&](WriteResult r) {
        ++done;
        failed += r.status.ok() ? 0 : 1;
      });
      if (c == StorageCode::kOk) break;
      io.restart();
      io.run_one();  // busy: wait for one completion
    }
    ++i;
  }
  while (done < i) {
    io.restart();
    io.run_one();
  }
  if (failed > 0) state.SkipWithError("some writes failed");
  state.SetItemsProcessed(static_cast<int64_t>(i));
}

WriteBatch put_batch(uint64_t i, bool sync) {
  WriteBatch w;
  w.sync = sync;
  Bytes key{'c', 'h', 'a', 'r', '/'};
  for (int s = 56; s >= 0; s -= 8) key.push_back(static_cast<uint8_t>(i % 10'000 >> s));
  w.put(std::move(key), Bytes(kValueBytes, static_cast<uint8_t>(i)), 1);
  return w;
}

WriteBatch append_batch(uint64_t i) {
  WriteBatch w;
  w.append(Bytes(64, static_cast<uint8_t>(i)));
  return w;
}

void BM_SqliteWriteSynced(benchmark::State& s) { pipelined(s, sqlite_target(), [](uint64_t i) { return put_batch(i, true); }); }
void BM_SqliteWriteUnsynced(benchmark::State& s) { pipelined(s, sqlite_target(), [](uint64_t i) { return put_batch(i, false); }); }
void BM_SqliteLedgerAppend(benchmark::State& s) { pipelined(s, sqlite_target(), append_batch); }
void BM_PostgresWriteSynced(benchmark::State& s) { pipelined(s, postgres_target(), [](uint64_t i) { return put_batch(i, true); }); }
void BM_PostgresWriteUnsynced(benchmark::State& s) { pipelined(s, postgres_target(), [](uint64_t i) { return put_batch(i, false); }); }
void BM_PostgresLedgerAppend(benchmark::State& s) { pipelined(s, postgres_target(), append_batch); }

BENCHMARK(BM_SqliteWriteSynced)->UseRealTime()->MinTime(2);
BENCHMARK(BM_SqliteWriteUnsynced)->UseRealTime()->MinTime(2);
BENCHMARK(BM_SqliteLedgerAppend)->UseRealTime()->MinTime(2);
BENCHMARK(BM_PostgresWriteSynced)->UseRealTime()->MinTime(2);
BENCHMARK(BM_PostgresWriteUnsynced)->UseRealTime()->MinTime(2);
BENCHMARK(BM_PostgresLedgerAppend)->UseRealTime()->MinTime(2);

}  // namespace
}  // namespace aether

BENCHMARK_MAIN();
