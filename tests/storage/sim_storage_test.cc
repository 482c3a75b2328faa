// What only the simulator's disk can show (runtime/sim/sim_storage.h): a crash keeps every synced
// write and loses only a suffix of the unsynced ones; faults act as they say; and all of it is a
// function of the seed.

#include <gtest/gtest.h>

#include <string>

#include "tests/storage/storage_harness.h"

namespace aether::testing {
namespace {

Bytes key_of(const char* table, int i) {
  const std::string s = fmt::format("{}/{:04}", table, i);
  return Bytes(s.begin(), s.end());
}

// Writes `count` rows with the given sync, each waited for; false if one did not complete ok.
bool write_rows(SimHarness& h, const char* table, int count, bool sync) {
  for (int i = 0; i < count; ++i) {
    WriteBatch w;
    w.sync = sync;
    w.put(key_of(table, i), {static_cast<uint8_t>(i)}, 1);
    w.append({static_cast<uint8_t>(i)});
    std::optional<StorageStatus> s;
    if (h.store().write(std::move(w), [&](WriteResult r) { s = r.status; }) != StorageCode::kOk) return false;
    h.wait([&] { return s.has_value(); });
    if (!s || !s->ok()) return false;
  }
  return true;
}

std::vector<bool> present(SimHarness& h, const char* table, int count) {
  std::vector<bool> out;
  for (int i = 0; i < count; ++i) {
    std::optional<StorageCode> code;
    EXPECT_EQ(h.store().get(key_of(table, i), [&](GetResult r) { code = r.status.code; }), StorageCode::kOk);
    h.wait([&] { return code.has_value(); });
    out.push_back(code == StorageCode::kOk);
  }
  return out;
}

uint64_t ledger_size(SimHarness& h) {
  std::optional<uint64_t> last;
  EXPECT_EQ(h.store().read_ledger(1, 1, [&](LedgerResult r) { last = r.last_seq; }), StorageCode::kOk);
  h.wait([&] { return last.has_value(); });
  return last.value_or(0);
}

void crash_and_restart(SimHarness& h) {
  h.host->crash();
  h.sim.restart_host(h.host->index());
}

TEST(SimStorage, ACrashKeepsEverySyncedWriteAndLosesOnlyASuffixOfTheUnsyncedOnes) {
  constexpr int kRows = 20;
  int seeds_losing = 0, seeds_keeping = 0;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    SimHarness h(seed);
    ASSERT_TRUE(write_rows(h, "synced", kRows, true));
    ASSERT_TRUE(write_rows(h, "unsynced", kRows, false));
    crash_and_restart(h);  // well within kSimWritebackNs of the unsynced writes
    const std::vector<bool> synced = present(h, "synced", kRows);
    for (int i = 0; i < kRows; ++i) EXPECT_TRUE(synced[i]) << "seed " << seed << ": synced row " << i << " lost";
    const std::vector<bool> unsynced = present(h, "unsynced", kRows);
    int kept = 0;
    while (kept < kRows && unsynced[kept]) ++kept;
    for (int i = kept; i < kRows; ++i) EXPECT_FALSE(unsynced[i]) << "seed " << seed << ": row " << i << " kept after a lost one";
    EXPECT_EQ(ledger_size(h), static_cast<uint64_t>(kRows + kept)) << "the ledger lost the same batches as the rows";
    seeds_losing += kept < kRows ? 1 : 0;
    seeds_keeping += kept > 0 ? 1 : 0;
    EXPECT_EQ(h.host->storage().stats().batches_lost, static_cast<uint64_t>(kRows - kept));
  }
  // Both outcomes happen: the test would notice a disk that never loses, or always does.
  EXPECT_GT(seeds_losing, 0);
  EXPECT_GT(seeds_keeping, 0);
}

TEST(SimStorage, WriteBackMakesUnsyncedWritesDurableAfterAWhile) {
  SimHarness h(3);
  ASSERT_TRUE(write_rows(h, "unsynced", 10, false));
  EXPECT_EQ(h.host->storage().unsynced_batches(), 10u);
  h.sim.run_until(h.sim.now() + sim::kSimWritebackNs + kNsPerMs);
  crash_and_restart(h);
  for (const bool p : present(h, "unsynced", 10)) EXPECT_TRUE(p);
}

TEST(SimStorage, ASyncedWriteMakesEveryEarlierWriteDurable) {
  for (uint64_t seed = 1; seed <= 10; ++seed) {
    SimHarness h(seed);
    ASSERT_TRUE(write_rows(h, "unsynced", 10, false));
    ASSERT_TRUE(write_rows(h, "synced", 1, true));
    crash_and_restart(h);
    for (const bool p : present(h, "unsynced", 10)) EXPECT_TRUE(p) << "seed " << seed;
  }
}

TEST(SimStorage, ACrashDropsPendingCompletionsAndTheRestartedHostUsesTheSameDisk) {
  SimHarness h(5);
  ASSERT_TRUE(write_rows(h, "synced", 3, true));
  bool ran = false;
  WriteBatch w;
  w.put(key_of("synced", 9), {9}, 1);
  ASSERT_EQ(h.store().write(std::move(w), [&](WriteResult) { ran = true; }), StorageCode::kOk);
  h.host->crash();
  EXPECT_EQ(h.store().in_flight(), 0u);
  bool dead_ran = false;
  EXPECT_EQ(h.store().get(key_of("synced", 0), [&](GetResult) { dead_ran = true; }), StorageCode::kIoError) << "a dead host's disk refuses";
  h.sim.run_until(h.sim.now() + kNsPerSec);
  EXPECT_FALSE(ran);
  EXPECT_FALSE(dead_ran);
  h.sim.restart_host(h.host->index());
  const std::vector<bool> p = present(h, "synced", 3);
  EXPECT_EQ(p, std::vector<bool>(3, true));
}

TEST(SimStorage, FaultsFailWritesFillTheDiskAndStallSyncs) {
  SimHarness h(7);
  sim::StorageFaults full;
  full.disk_full = true;
  h.sim.set_storage_faults(h.host->index(), full);
  std::optional<WriteResult> r;
  WriteBatch w;
  w.put(key_of("x", 1), {1}, 1);
  ASSERT_EQ(h.store().write(std::move(w), [&](WriteResult x) { r = x; }), StorageCode::kOk);
  h.wait([&] { return r.has_value(); });
  EXPECT_EQ(r->status.code, StorageCode::kFull);
  EXPECT_EQ(present(h, "x", 2), (std::vector<bool>{false, false}));

  sim::StorageFaults failing;
  failing.write_fail_permille = 1000;
  h.sim.set_storage_faults(h.host->index(), failing);
  r.reset();
  WriteBatch w2;
  w2.put(key_of("x", 1), {1}, 1);
  ASSERT_EQ(h.store().write(std::move(w2), [&](WriteResult x) { r = x; }), StorageCode::kOk);
  h.wait([&] { return r.has_value(); });
  EXPECT_EQ(r->status.code, StorageCode::kIoError);
  EXPECT_EQ(present(h, "x", 2), (std::vector<bool>{false, false}));

  sim::StorageFaults stalled;
  stalled.sync_stall_ns = 3 * kNsPerSec;
  h.sim.set_storage_faults(h.host->index(), stalled);
  r.reset();
  WriteBatch w3;
  w3.put(key_of("x", 1), {1}, 1);
  const TimeNs at = h.sim.now();
  ASSERT_EQ(h.store().write(std::move(w3), [&](WriteResult x) { r = x; }), StorageCode::kOk);
  std::optional<TimeNs> read_at;
  ASSERT_EQ(h.store().get(key_of("x", 1), [&](GetResult) { read_at = h.sim.now(); }), StorageCode::kOk);
  h.wait([&] { return read_at.has_value(); });
  EXPECT_TRUE(r.has_value() && r->status.ok());
  EXPECT_GE(*read_at - at, 3 * kNsPerSec) << "a stalled fsync holds up what is behind it";
  h.sim.set_storage_faults(h.host->index(), {});
  EXPECT_EQ(present(h, "x", 2), (std::vector<bool>{false, true}));
}

TEST(SimStorage, TornWritesComeBackCorrupt) {
  int torn_seen = 0;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    SimHarness h(seed);
    sim::StorageFaults torn;
    torn.torn_permille = 1000;
    h.sim.set_storage_faults(h.host->index(), torn);
    ASSERT_TRUE(write_rows(h, "unsynced", 5, false));
    crash_and_restart(h);
    if (h.host->storage().stats().batches_torn == 0) continue;
    ++torn_seen;
    int corrupt = 0;
    for (int i = 0; i < 5; ++i) {
      std::optional<StorageCode> code;
      ASSERT_EQ(h.store().get(key_of("unsynced", i), [&](GetResult r) { code = r.status.code; }), StorageCode::kOk);
      h.wait([&] { return code.has_value(); });
      corrupt += code == StorageCode::kCorrupt ? 1 : 0;
    }
    EXPECT_EQ(corrupt, 1) << "seed " << seed << ": the first lost batch, and only it, comes back torn";
  }
  EXPECT_GT(torn_seen, 0);
}

// A transcript of a faulty workload: every completion's status and instant, and what a crash kept.
std::string transcript(uint64_t seed) {
  SimHarness h(seed);
  sim::StorageFaults f;
  f.write_fail_permille = 300;
  f.latency_ns = 700 * kNsPerUs;
  f.torn_permille = 500;
  h.sim.set_storage_faults(h.host->index(), f);
  std::string out;
  for (int i = 0; i < 40; ++i) {
    WriteBatch w;
    w.sync = i % 3 == 0;
    w.put(key_of("t", i), {static_cast<uint8_t>(i)}, 1);
    std::optional<WriteResult> r;
    EXPECT_EQ(h.store().write(std::move(w), [&](WriteResult x) { r = x; }), StorageCode::kOk);
    h.wait([&] { return r.has_value(); });
    out += fmt::format("{}@{} ", storage_code_name(r->status.code), h.sim.now());
  }
  crash_and_restart(h);
  for (const bool p : present(h, "t", 40)) out += p ? '1' : '0';
  out += fmt::format(" lost {} torn {} digest {:x}", h.host->storage().stats().batches_lost, h.host->storage().stats().batches_torn,
                     h.sim.trace_digest());
  return out;
}

TEST(SimStorage, FaultsAreAFunctionOfTheSeed) {
  EXPECT_EQ(transcript(21), transcript(21));
  EXPECT_NE(transcript(21), transcript(22));
  EXPECT_NE(transcript(21).find("io_error"), std::string::npos) << "the faults did act";
}

}  // namespace
}  // namespace aether::testing
