// The storage contract (engine/runtime/storage.h), one suite run against every backend: the
// simulator's in-memory disk, SQLite and PostgreSQL. Then what only durable backends can show
// (reopen, schema versions), and what only the simulator can (crashes, faults per seed).

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>

#include "engine/runtime/storage_keys.h"
#include "tests/storage/storage_harness.h"

namespace aether::testing {
namespace {

Bytes b(std::string_view s) { return Bytes(s.begin(), s.end()); }

// Submits, insists the call was accepted, waits for the completion on the store's loop.
template <class H>
class Client {
 public:
  explicit Client(H& h) : h_(h) {}
  GetResult get(Bytes key) {
    std::optional<GetResult> out;
    EXPECT_EQ(h_.store().get(std::move(key), [&](GetResult r) { out = std::move(r); }), StorageCode::kOk);
    h_.wait([&] { return out.has_value(); });
    return out.value_or(GetResult{});
  }
  ScanResult scan(Bytes prefix, Bytes after = {}, size_t limit = kStorageScanRowsMax) {
    std::optional<ScanResult> out;
    EXPECT_EQ(h_.store().scan(std::move(prefix), std::move(after), limit, [&](ScanResult r) { out = std::move(r); }), StorageCode::kOk);
    h_.wait([&] { return out.has_value(); });
    return out.value_or(ScanResult{});
  }
  WriteResult write(WriteBatch batch) {
    std::optional<WriteResult> out;
    EXPECT_EQ(h_.store().write(std::move(batch), [&](WriteResult r) { out = std::move(r); }), StorageCode::kOk);
    h_.wait([&] { return out.has_value(); });
    return out.value_or(WriteResult{StorageStatus{StorageCode::kIoError, "no completion"}, {}});
  }
  StorageCode put(Bytes key, Bytes value, uint64_t fence, bool sync = true) {
    WriteBatch w;
    w.sync = sync;
    w.put(std::move(key), std::move(value), fence);
    return write(std::move(w)).status.code;
  }
  StorageCode erase(Bytes key, uint64_t fence) {
    WriteBatch w;
    w.erase(std::move(key), fence);
    return write(std::move(w)).status.code;
  }
  LedgerResult ledger(uint64_t from, size_t limit = kStorageLedgerReadMax) {
    std::optional<LedgerResult> out;
    EXPECT_EQ(h_.store().read_ledger(from, limit, [&](LedgerResult r) { out = std::move(r); }), StorageCode::kOk);
    h_.wait([&] { return out.has_value(); });
    return out.value_or(LedgerResult{});
  }

 private:
  H& h_;
};

template <class H>
class StorageContract : public ::testing::Test {
 protected:
  H h;
  Client<H> c{h};
};

using AllBackends = ::testing::Types<SimHarness, SimDatabaseHarness, SqliteHarness, PostgresHarness>;
struct BackendNames {
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};
TYPED_TEST_SUITE(StorageContract, AllBackends, BackendNames);

TYPED_TEST(StorageContract, RoundTrips) {
  auto& c = this->c;
  EXPECT_EQ(c.get(b("character/1")).status.code, StorageCode::kNotFound);
  EXPECT_EQ(c.put(b("character/1"), b("hello"), 3), StorageCode::kOk);
  EXPECT_EQ(c.put(b("character/2"), {}, 0), StorageCode::kOk);  // an empty value is a value
  const GetResult one = c.get(b("character/1"));
  ASSERT_EQ(one.status.code, StorageCode::kOk) << one.status.reason;
  EXPECT_EQ(one.row.value, b("hello"));
  EXPECT_EQ(one.row.fence, 3u);
  EXPECT_EQ(one.row.key, b("character/1"));
  const GetResult two = c.get(b("character/2"));
  ASSERT_EQ(two.status.code, StorageCode::kOk) << two.status.reason;
  EXPECT_TRUE(two.row.value.empty());
  Bytes binary(300, 0);
  for (size_t i = 0; i < binary.size(); ++i) binary[i] = static_cast<uint8_t>(i * 7);
  EXPECT_EQ(c.put(b("character/1"), binary, 3), StorageCode::kOk);
  EXPECT_EQ(c.get(b("character/1")).row.value, binary);
  EXPECT_EQ(c.erase(b("character/1"), 3), StorageCode::kOk);
  EXPECT_EQ(c.get(b("character/1")).status.code, StorageCode::kNotFound);
  EXPECT_EQ(c.erase(b("character/1"), 3), StorageCode::kOk) << "erasing what is not there changes nothing";
}

TYPED_TEST(StorageContract, AWriteWithALowerFenceIsRefusedAndChangesNothing) {
  auto& c = this->c;
  const Bytes key = StorageKey("promise").u64(101).take();
  ASSERT_EQ(c.put(key, b("gen 5"), 5), StorageCode::kOk);
  WriteBatch stale;
  stale.put(key, b("gen 4"), 4);
  const WriteResult r = c.write(std::move(stale));
  EXPECT_EQ(r.status.code, StorageCode::kFenced);
  EXPECT_NE(r.status.reason.find("fenced at 5"), std::string::npos) << r.status.reason;
  EXPECT_EQ(c.get(key).row.value, b("gen 5"));
  EXPECT_EQ(c.erase(key, 4), StorageCode::kFenced);
  EXPECT_EQ(c.get(key).row.value, b("gen 5"));
  EXPECT_EQ(c.put(key, b("gen 5 again"), 5), StorageCode::kOk) << "the owner writes again at its own fence";
  EXPECT_EQ(c.put(key, b("gen 6"), 6), StorageCode::kOk) << "a newer owner takes over";
  EXPECT_EQ(c.put(key, b("gen 5 late"), 5), StorageCode::kFenced);
  const GetResult g = c.get(key);
  EXPECT_EQ(g.row.value, b("gen 6"));
  EXPECT_EQ(g.row.fence, 6u);
}

TYPED_TEST(StorageContract, ABatchAppliesWholeOrNotAtAll) {
  auto& c = this->c;
  ASSERT_EQ(c.put(b("item/a"), b("a1"), 1), StorageCode::kOk);
  ASSERT_EQ(c.put(b("item/b"), b("b9"), 9), StorageCode::kOk);
  WriteBatch w;
  w.put(b("item/a"), b("a2"), 2);
  w.append(b("moved a"));
  w.put(b("item/c"), b("c2"), 2);
  w.put(b("item/b"), b("b2"), 2);  // fenced: the whole batch goes
  EXPECT_EQ(c.write(std::move(w)).status.code, StorageCode::kFenced);
  EXPECT_EQ(c.get(b("item/a")).row.value, b("a1"));
  EXPECT_EQ(c.get(b("item/c")).status.code, StorageCode::kNotFound);
  EXPECT_EQ(c.ledger(1).last_seq, 0u);
  // Within one batch, a later op sees an earlier one's fence.
  WriteBatch inner;
  inner.put(b("item/d"), b("d7"), 7);
  inner.put(b("item/d"), b("d3"), 3);
  EXPECT_EQ(c.write(std::move(inner)).status.code, StorageCode::kFenced);
  EXPECT_EQ(c.get(b("item/d")).status.code, StorageCode::kNotFound);
  WriteBatch good;
  good.put(b("item/a"), b("a2"), 2);
  good.erase(b("item/b"), 9);
  good.append(b("a moved, b gone"));
  const WriteResult ok = c.write(std::move(good));
  ASSERT_EQ(ok.status.code, StorageCode::kOk) << ok.status.reason;
  EXPECT_EQ(ok.ledger_seqs, std::vector<uint64_t>{1});
  EXPECT_EQ(c.get(b("item/a")).row.value, b("a2"));
  EXPECT_EQ(c.get(b("item/b")).status.code, StorageCode::kNotFound);
}

// Many batches in flight at once (which the real stores commit as groups): each still applies whole
// or not at all, in order, and a refused one leaves its neighbours be.
TYPED_TEST(StorageContract, BatchesInFlightTogetherEachApplyWholeOrNotAtAll) {
  auto& h = this->h;
  std::vector<WriteResult> results(kStorageInFlightMax);
  size_t done = 0;
  for (size_t i = 0; i < kStorageInFlightMax; ++i) {
    WriteBatch w;
    w.sync = i % 3 != 0;
    // Odd batches come with a lower fence than the even one before them wrote: refused.
    const uint64_t fence = i % 2 == 0 ? 10 + i : 10 + i - 2;
    w.put(b("item/shared"), b(std::to_string(i)), fence);
    w.put(b(fmt::format("item/own-{:03}", i)), b("x"), 0);
    w.append(b(std::to_string(i)));
    ASSERT_EQ(h.store().write(std::move(w), [&results, &done, i](WriteResult r) {
      results[i] = std::move(r);
      ++done;
    }),
              StorageCode::kOk);
  }
  h.wait([&] { return done == kStorageInFlightMax; });
  uint64_t next_seq = 1;
  for (size_t i = 0; i < kStorageInFlightMax; ++i) {
    if (i % 2 == 0) {
      ASSERT_EQ(results[i].status.code, StorageCode::kOk) << i << ": " << results[i].status.reason;
      EXPECT_EQ(results[i].ledger_seqs, std::vector<uint64_t>{next_seq++});
    } else {
      EXPECT_EQ(results[i].status.code, StorageCode::kFenced) << i;
      EXPECT_TRUE(results[i].ledger_seqs.empty());
    }
  }
  EXPECT_EQ(this->c.get(b("item/shared")).row.value, b(std::to_string(kStorageInFlightMax - 2)));
  EXPECT_EQ(this->c.scan(b("item/own-")).rows.size(), kStorageInFlightMax / 2);
  EXPECT_EQ(this->c.ledger(1).last_seq, kStorageInFlightMax / 2);
}

TYPED_TEST(StorageContract, ScansWalkOnePrefixInByteOrder) {
  auto& c = this->c;
  WriteBatch w;
  for (const uint64_t id : {300u, 2u, 70000u, 1u}) w.put(StorageKey("character").u64(7).u64(id).take(), b(std::to_string(id)), 1);
  w.put(StorageKey("character").u64(8).u64(1).take(), b("other account"), 1);
  w.put(StorageKey("charactex").take(), b("not a character"), 1);
  w.put(Bytes{0xff, 0xff, 0x01}, b("high"), 1);
  w.put(Bytes{0xff, 0xff}, b("higher prefix"), 1);
  ASSERT_EQ(c.write(std::move(w)).status.code, StorageCode::kOk);
  const Bytes prefix = StorageKey("character").u64(7).take();
  const ScanResult all = c.scan(prefix);
  ASSERT_EQ(all.status.code, StorageCode::kOk) << all.status.reason;
  ASSERT_EQ(all.rows.size(), 4u);
  EXPECT_FALSE(all.more);
  const std::vector<std::string> want{"1", "2", "300", "70000"};
  for (size_t i = 0; i < want.size(); ++i) EXPECT_EQ(all.rows[i].value, b(want[i]));
  // Page by page: limit, more, and continuing after the last key.
  const ScanResult first = c.scan(prefix, {}, 3);
  ASSERT_EQ(first.rows.size(), 3u);
  EXPECT_TRUE(first.more);
  const ScanResult rest = c.scan(prefix, first.rows.back().key, 3);
  ASSERT_EQ(rest.rows.size(), 1u);
  EXPECT_FALSE(rest.more);
  EXPECT_EQ(rest.rows[0].value, b("70000"));
  // A prefix of 0xff bytes has no upper bound key; the scan still stops at its end.
  const ScanResult high = c.scan(Bytes{0xff, 0xff});
  ASSERT_EQ(high.rows.size(), 2u);
  EXPECT_EQ(high.rows[0].value, b("higher prefix"));
  EXPECT_EQ(high.rows[1].value, b("high"));
  EXPECT_EQ(c.scan(b("character/")).rows.size(), 5u);
  EXPECT_EQ(c.scan(b("nothing/")).rows.size(), 0u);
}

TYPED_TEST(StorageContract, TheLedgerNumbersEntriesInOrderAndReadsFromASequence) {
  auto& c = this->c;
  WriteBatch w;
  for (const char* e : {"loot 1", "craft 2", "trade 3"}) w.append(b(e));
  const WriteResult first = c.write(std::move(w));
  ASSERT_EQ(first.status.code, StorageCode::kOk) << first.status.reason;
  EXPECT_EQ(first.ledger_seqs, (std::vector<uint64_t>{1, 2, 3}));
  WriteBatch w2;
  w2.append(b("sink 4"));
  w2.sync = false;
  EXPECT_EQ(c.write(std::move(w2)).ledger_seqs, std::vector<uint64_t>{4});
  const LedgerResult from2 = c.ledger(2);
  ASSERT_EQ(from2.status.code, StorageCode::kOk) << from2.status.reason;
  EXPECT_EQ(from2.last_seq, 4u);
  ASSERT_EQ(from2.entries.size(), 3u);
  EXPECT_EQ(from2.entries[0].seq, 2u);
  EXPECT_EQ(from2.entries[0].entry, b("craft 2"));
  EXPECT_EQ(from2.entries[2].entry, b("sink 4"));
  EXPECT_EQ(c.ledger(2, 1).entries.size(), 1u);
  EXPECT_TRUE(c.ledger(5).entries.empty());
}

TYPED_TEST(StorageContract, CompletionsComeLaterInOrderAndReadsSeeEarlierWrites) {
  auto& h = this->h;
  std::vector<int> order;
  WriteBatch w;
  w.put(b("meta/x"), b("1"), 0);
  ASSERT_EQ(h.store().write(std::move(w), [&](WriteResult r) { order.push_back(r.status.ok() ? 1 : -1); }), StorageCode::kOk);
  std::optional<GetResult> read;
  ASSERT_EQ(h.store().get(b("meta/x"), [&](GetResult r) { read = r; order.push_back(2); }), StorageCode::kOk);
  EXPECT_TRUE(order.empty()) << "a completion ran inside the call";
  EXPECT_EQ(h.store().in_flight(), 2u);
  h.wait([&] { return order.size() == 2; });
  EXPECT_EQ(order, (std::vector<int>{1, 2}));
  ASSERT_TRUE(read.has_value());
  EXPECT_EQ(read->row.value, b("1")) << "the read was accepted after the write";
  EXPECT_EQ(h.store().in_flight(), 0u);
}

TYPED_TEST(StorageContract, PastTheInFlightLimitACallFailsFastWithBusy) {
  auto& h = this->h;
  size_t done = 0;
  for (size_t i = 0; i < kStorageInFlightMax; ++i) ASSERT_EQ(h.store().get(b("meta/x"), [&](GetResult) { ++done; }), StorageCode::kOk);
  bool ran = false;
  EXPECT_EQ(h.store().get(b("meta/x"), [&](GetResult) { ran = true; }), StorageCode::kBusy);
  WriteBatch w;
  w.put(b("meta/x"), b("1"), 0);
  EXPECT_EQ(h.store().write(std::move(w), [&](WriteResult) { ran = true; }), StorageCode::kBusy);
  h.wait([&] { return done == kStorageInFlightMax; });
  EXPECT_FALSE(ran) << "a refused call's completion ran";
  EXPECT_EQ(this->c.get(b("meta/x")).status.code, StorageCode::kNotFound) << "the refused write was not queued";
}

TYPED_TEST(StorageContract, RequestsPastTheSizeLimitsAreRefusedAtTheCall) {
  auto& s = this->h.store();
  auto never = [](auto) { ADD_FAILURE() << "completion of a refused call"; };
  EXPECT_EQ(s.get(Bytes(kStorageKeyBytesMax + 1, 'k'), never), StorageCode::kTooLarge);
  EXPECT_EQ(s.get(Bytes{}, never), StorageCode::kTooLarge);
  WriteBatch big;
  big.put(b("k"), Bytes(kStorageValueBytesMax + 1, 0), 0);
  EXPECT_EQ(s.write(std::move(big), never), StorageCode::kTooLarge);
  WriteBatch fence;
  fence.put(b("k"), b("v"), kStorageFenceMax + 1);
  EXPECT_EQ(s.write(std::move(fence), never), StorageCode::kTooLarge);
  EXPECT_EQ(s.write(WriteBatch{}, never), StorageCode::kTooLarge);
  EXPECT_EQ(s.in_flight(), 0u);
}

TYPED_TEST(StorageContract, ADamagedRowIsReportedCorruptNeverReturned) {
  auto& c = this->c;
  const Bytes key = StorageKey("item").u64(42).take();
  ASSERT_EQ(c.put(key, b("sword"), 1), StorageCode::kOk);
  ASSERT_EQ(c.put(StorageKey("item").u64(43).take(), b("shield"), 1), StorageCode::kOk);
  this->h.damage(key);
  const uint64_t before = this->h.corrupt_count();
  const GetResult g = c.get(key);
  EXPECT_EQ(g.status.code, StorageCode::kCorrupt);
  EXPECT_NE(g.status.reason.find("6974656d2f000000000000002a"), std::string::npos) << "names the key: " << g.status.reason;
  EXPECT_TRUE(g.row.value.empty());
  const ScanResult s = c.scan(b("item/"));
  EXPECT_EQ(s.status.code, StorageCode::kCorrupt);
  EXPECT_TRUE(s.rows.empty());
  EXPECT_EQ(this->h.corrupt_count(), before + 2);
  EXPECT_EQ(c.get(StorageKey("item").u64(43).take()).row.value, b("shield")) << "one bad row spoils only itself";
}

// Durable backends: what a restart keeps, and the schema's versions.
template <class H>
class DurableStore : public StorageContract<H> {};
using DurableBackends = ::testing::Types<SqliteHarness, PostgresHarness>;
TYPED_TEST_SUITE(DurableStore, DurableBackends, BackendNames);

TYPED_TEST(DurableStore, AReopenedStoreKeepsRowsFencesAndTheLedger) {
  auto& c = this->c;
  ASSERT_EQ(c.put(b("promise/1"), b("epoch 4"), 4), StorageCode::kOk);
  ASSERT_EQ(c.put(b("promise/2"), b("unsynced"), 1, /*sync=*/false), StorageCode::kOk);
  WriteBatch w;
  w.append(b("e1"));
  w.append(b("e2"));
  ASSERT_TRUE(c.write(std::move(w)).status.ok());
  ASSERT_FALSE(this->h.reopen().has_value());
  EXPECT_EQ(c.get(b("promise/1")).row.value, b("epoch 4"));
  EXPECT_EQ(c.get(b("promise/2")).row.value, b("unsynced")) << "a clean close keeps unsynced writes too";
  EXPECT_EQ(c.put(b("promise/1"), b("stale"), 3), StorageCode::kFenced) << "the fence survived";
  WriteBatch more;
  more.append(b("e3"));
  EXPECT_EQ(c.write(std::move(more)).ledger_seqs, std::vector<uint64_t>{3});
  EXPECT_EQ(c.ledger(1).entries.size(), 3u);
  EXPECT_EQ(this->h.schema_version(), real::kStorageSchemaVersion);
}

TYPED_TEST(DurableStore, ADatabaseNewerThanTheBinaryIsRefusedNamingBothVersions) {
  this->h.close();
  this->h.set_schema_version(real::kStorageSchemaVersion + 98);
  const std::optional<std::string> error = this->h.reopen();
  ASSERT_TRUE(error.has_value());
  EXPECT_NE(error->find(fmt::format("schema version {} is newer than this binary's {}", real::kStorageSchemaVersion + 98,
                                    real::kStorageSchemaVersion)),
            std::string::npos)
      << *error;
  this->h.set_schema_version(real::kStorageSchemaVersion);
  EXPECT_FALSE(this->h.reopen().has_value());
}

// Two processes on one database: the fence holds between them, and their appends share one
// numbering with no gaps and no repeats.
TYPED_TEST(DurableStore, StoresSharingADatabaseShareFencesAndOneLedger) {
  auto& h = this->h;
  std::unique_ptr<real::WorkerStore> other = h.another();
  ASSERT_NE(other, nullptr);
  ASSERT_EQ(this->c.put(b("promise/101"), b("new owner"), 8), StorageCode::kOk);
  std::optional<WriteResult> stale;
  WriteBatch w;
  w.put(b("promise/101"), b("old owner"), 7);
  ASSERT_EQ(other->write(std::move(w), [&](WriteResult r) { stale = r; }), StorageCode::kOk);
  h.wait([&] { return stale.has_value(); });
  EXPECT_EQ(stale->status.code, StorageCode::kFenced);
  std::vector<uint64_t> seqs;
  size_t done = 0;
  for (int i = 0; i < 20; ++i) {
    Storage& s = i % 2 == 0 ? h.store() : *other;
    WriteBatch a;
    a.append(b(fmt::format("entry {}", i)));
    a.append(b(fmt::format("entry {}'", i)));
    ASSERT_EQ(s.write(std::move(a), [&](WriteResult r) {
      EXPECT_TRUE(r.status.ok()) << r.status.reason;
      seqs.insert(seqs.end(), r.ledger_seqs.begin(), r.ledger_seqs.end());
      ++done;
    }),
              StorageCode::kOk);
  }
  h.wait([&] { return done == 20; });
  std::sort(seqs.begin(), seqs.end());
  std::vector<uint64_t> want(40);
  std::iota(want.begin(), want.end(), 1);
  EXPECT_EQ(seqs, want);
  EXPECT_EQ(this->c.ledger(1).entries.size(), 40u);
}

TYPED_TEST(DurableStore, AClosedStoreRefusesAndItsPendingCompletionsNeverRun) {
  bool ran = false;
  for (int i = 0; i < 8; ++i) ASSERT_EQ(this->h.store().get(b("meta/x"), [&](GetResult) { ran = true; }), StorageCode::kOk);
  auto& store = static_cast<real::WorkerStore&>(this->h.store());
  store.shutdown();
  EXPECT_EQ(store.get(b("meta/x"), [&](GetResult) { ran = true; }), StorageCode::kIoError);
  this->h.run_for(std::chrono::milliseconds(200));
  EXPECT_FALSE(ran);
}

TYPED_TEST(DurableStore, ADamagedLedgerEntryIsReportedCorrupt) {
  auto& c = this->c;
  WriteBatch w;
  w.append(b("e1"));
  w.append(b("e2"));
  ASSERT_TRUE(c.write(std::move(w)).status.ok());
  this->h.close();
  this->h.damage_ledger(2);
  ASSERT_FALSE(this->h.reopen().has_value());
  EXPECT_EQ(c.ledger(1).status.code, StorageCode::kCorrupt);
  EXPECT_EQ(c.ledger(1, 1).entries.size(), 1u) << "entries before it still read";
}

}  // namespace
}  // namespace aether::testing
