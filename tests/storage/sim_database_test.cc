// The simulator's shared database (runtime/sim/sim_database.h): several hosts whose Runtime::storage
// is one database host's disk, as role processes share one PostgreSQL database. What one client
// writes another reads, fences hold across clients, a client's crash loses its answers but not what
// it wrote, a crash of the database fails every request in flight ("outcome unknown") and keeps what
// was synced, and the database host's faults reach its clients. (The storage contract itself runs
// through it in storage_contract_test.cc, backend sim_database.)

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "tests/storage/storage_harness.h"

namespace aether::testing {
namespace {

Bytes b(std::string_view s) { return Bytes(s.begin(), s.end()); }

struct Shared {
  Shared() : sim(SimHarness::options(7)) {
    compute = &sim.add_host("compute-1", NodeId(101));
    gateway = &sim.add_host("gateway-1", NodeId(201));
    database = &sim.add_host("database", NodeId{});
    compute->use_database(*database);
    gateway->use_database(*database);
  }
  void run(TimeNs ns) { sim.run_until(sim.now() + ns); }
  std::optional<StorageStatus> put(sim::Host& h, Bytes key, Bytes value, uint64_t fence, bool sync = true) {
    WriteBatch w;
    w.sync = sync;
    w.put(std::move(key), std::move(value), fence);
    std::optional<StorageStatus> out;
    EXPECT_EQ(h.runtime().storage.write(std::move(w), [&](WriteResult r) { out = r.status; }), StorageCode::kOk);
    run(50 * kNsPerMs);
    return out;
  }
  std::optional<GetResult> get(sim::Host& h, Bytes key) {
    std::optional<GetResult> out;
    EXPECT_EQ(h.runtime().storage.get(std::move(key), [&](GetResult r) { out = std::move(r); }), StorageCode::kOk);
    run(50 * kNsPerMs);
    return out;
  }

  sim::Simulation sim;
  sim::Host* compute;
  sim::Host* gateway;
  sim::Host* database;
};

TEST(SimDatabase, WhatOneClientWritesAnotherReadsAndFencesHoldAcrossClients) {
  Shared s;
  ASSERT_TRUE(s.put(*s.compute, b("charsave/1"), b("level 3"), 5).value().ok());
  const auto read = s.get(*s.gateway, b("charsave/1"));
  ASSERT_TRUE(read.has_value());
  ASSERT_TRUE(read->status.ok()) << read->status.reason;
  EXPECT_EQ(read->row.value, b("level 3"));
  // A stale owner on another host is refused by the newer owner's fence.
  const auto stale = s.put(*s.gateway, b("charsave/1"), b("level 1"), 4);
  ASSERT_TRUE(stale.has_value());
  EXPECT_EQ(stale->code, StorageCode::kFenced);
  EXPECT_EQ(s.get(*s.compute, b("charsave/1"))->row.value, b("level 3"));
  // Nothing went to the clients' own disks.
  EXPECT_EQ(s.compute->storage().rows(), 0u);
  EXPECT_EQ(s.gateway->storage().rows(), 0u);
  EXPECT_EQ(s.database->storage().rows(), 1u);
}

TEST(SimDatabase, AClientsCrashLosesItsAnswersButNotWhatItWrote) {
  Shared s;
  WriteBatch w;
  w.sync = true;
  w.put(b("k"), b("v"), 1);
  bool answered = false;
  ASSERT_EQ(s.compute->runtime().storage.write(std::move(w), [&](WriteResult) { answered = true; }), StorageCode::kOk);
  EXPECT_EQ(s.compute->runtime().storage.in_flight(), 1u);
  s.compute->crash();  // before the answer came back
  EXPECT_EQ(s.compute->runtime().storage.write(WriteBatch{}, [](WriteResult) {}), StorageCode::kIoError) << "a dead host's calls are refused";
  s.sim.restart_host(s.compute->index());
  EXPECT_EQ(s.compute->runtime().storage.in_flight(), 0u);
  s.run(50 * kNsPerMs);
  EXPECT_FALSE(answered) << "an answer for the dead incarnation reached the new one";
  EXPECT_EQ(s.get(*s.compute, b("k"))->row.value, b("v")) << "the database committed it";
}

TEST(SimDatabase, ADatabaseCrashFailsRequestsInFlightAndKeepsWhatWasSynced) {
  Shared s;
  ASSERT_TRUE(s.put(*s.compute, b("synced"), b("1"), 1, true).value().ok());
  s.database->storage().set_faults(sim::StorageFaults{.sync_stall_ns = 10 * kNsPerSec});  // the next synced write waits
  WriteBatch w;
  w.sync = true;
  w.put(b("stalled"), b("2"), 1);
  std::optional<StorageStatus> status;
  ASSERT_EQ(s.compute->runtime().storage.write(std::move(w), [&](WriteResult r) { status = r.status; }), StorageCode::kOk);
  s.run(10 * kNsPerMs);
  EXPECT_FALSE(status.has_value());
  s.database->crash();
  // While the database is down, every call is refused at once.
  EXPECT_EQ(s.gateway->runtime().storage.get(b("synced"), [](GetResult) {}), StorageCode::kIoError);
  s.run(10 * kNsPerMs);
  ASSERT_TRUE(status.has_value()) << "a request in flight at the database's crash must complete";
  EXPECT_EQ(status->code, StorageCode::kIoError);
  EXPECT_NE(status->reason.find("outcome unknown"), std::string::npos) << status->reason;
  EXPECT_EQ(s.compute->runtime().storage.in_flight(), 0u);
  s.sim.restart_host(s.database->index());
  s.database->storage().set_faults({});
  const auto kept = s.get(*s.gateway, b("synced"));
  ASSERT_TRUE(kept.has_value());
  EXPECT_TRUE(kept->status.ok()) << "a synced write survives the database's crash";
}

TEST(SimDatabase, TheDatabaseHostsFaultsReachEveryClient) {
  Shared s;
  s.database->storage().set_faults(sim::StorageFaults{.write_fail_permille = 1000});
  EXPECT_EQ(s.put(*s.compute, b("a"), b("1"), 1).value().code, StorageCode::kIoError);
  EXPECT_EQ(s.put(*s.gateway, b("b"), b("1"), 1).value().code, StorageCode::kIoError);
  s.database->storage().set_faults(sim::StorageFaults{.latency_ns = 30 * kNsPerMs});
  std::optional<GetResult> late;
  ASSERT_EQ(s.gateway->runtime().storage.get(b("a"), [&](GetResult r) { late = std::move(r); }), StorageCode::kOk);
  s.run(20 * kNsPerMs);
  EXPECT_FALSE(late.has_value()) << "the database's latency is the client's";
  s.run(20 * kNsPerMs);
  ASSERT_TRUE(late.has_value());
  EXPECT_EQ(late->status.code, StorageCode::kNotFound);
  // A client's own disk keeps its own faults: they do not touch what goes to the database.
  s.database->storage().set_faults({});
  s.compute->storage().set_faults(sim::StorageFaults{.disk_full = true});
  EXPECT_TRUE(s.put(*s.compute, b("c"), b("1"), 1).value().ok());
}

}  // namespace
}  // namespace aether::testing
