// The economy's audit (engine/economy/audit.h, app/economy_audit.h): ledger entries folded per
// second in memory, and read from a SQLite store and folded (what `aether economy audit` does per
// store). The ledger is loot and vendor sales of 24 characters, each entry one operation, as the
// vaults write most of them.
//
//   build/bin/aether_bench_economy

#include <benchmark/benchmark.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "app/economy_audit.h"
#include "engine/economy/audit.h"

namespace aether {
namespace {

constexpr uint32_t kNode = 301;
constexpr size_t kEntries = 100'000;

// Loot for 24 characters; every fourth entry sells the item looted three entries before.
const std::vector<LedgerEntry>& ledger() {
  static const std::vector<LedgerEntry> entries = [] {
    std::vector<LedgerEntry> out;
    for (uint64_t seq = 1; seq <= kEntries; ++seq) {
      economy::Entry e{{kNode, seq}, {}};
      if (seq % 4 == 0) {
        const uint64_t looted = seq - 3;
        e.ops.push_back(economy::Op{economy::OpKind::kDestroy, economy::make_item_id(kNode, looted), 1, 1000 + looted % 24, 0,
                                    static_cast<uint8_t>(economy::Sink::kVendor)});
      } else {
        e.ops.push_back(economy::Op{economy::OpKind::kCreate, economy::make_item_id(kNode, seq), 1, 1000 + seq % 24, 0,
                                    static_cast<uint8_t>(economy::Source::kLoot)});
      }
      out.push_back(LedgerEntry{seq, economy::encode_entry(e)});
    }
    return out;
  }();
  return entries;
}

void BM_EconomyFoldInMemory(benchmark::State& state) {
  const std::vector<LedgerEntry>& entries = ledger();
  for (auto _ : state) {
    economy::StoreFold fold("bench", false);
    for (const LedgerEntry& e : entries) fold.entry(e.seq, e.entry);
    fold.finish();
    if (fold.findings_total() != 0) state.SkipWithError("the bench's ledger has findings");
    benchmark::DoNotOptimize(fold.items().size());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * entries.size()));
}
BENCHMARK(BM_EconomyFoldInMemory)->Unit(benchmark::kMillisecond);

void BM_EconomyAuditSqliteStore(benchmark::State& state) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / fmt::format("aether-bench-economy-{}", getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "vault-301.sqlite").string();
  if (Status s = app::write_store_copy("sqlite:" + path, {}, ledger()); !s) {
    state.SkipWithError(s.error().message.c_str());
    return;
  }
  for (auto _ : state) {
    auto fold = app::read_economy_store(path, false);
    if (!fold || (*fold)->findings_total() != 0 || (*fold)->entries_applied() != kEntries) {
      state.SkipWithError("the store did not read back whole");
      break;
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * kEntries));
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_EconomyAuditSqliteStore)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace aether

BENCHMARK_MAIN();
