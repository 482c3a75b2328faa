// The economy's audit and rollback (engine/economy/audit.h, app/economy_audit.h; docs/persistence.md,
// "Audit and rollback"): the fold's findings on hand-made ledgers, then real SQLite files written by
// `aether economy sim --store-dir`, audited, damaged on purpose (a duplicated item, a deleted entry,
// garbage entries, a forged idempotency key) and audited again, and a player rolled back.

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>

#include "app/economy_audit.h"
#include "app/economy_sim.h"
#include "engine/economy/audit.h"
#include "engine/runtime/storage_keys.h"
#include "runtime/real/storage_backend.h"

namespace aether::economy {
namespace {

constexpr uint32_t kNode = 7;
constexpr CharacterKey kPlayer = 9;

Entry loot(uint64_t serial, CharacterKey c = kPlayer, uint16_t kind = 1) {
  return Entry{{kNode, serial}, {Op{OpKind::kCreate, make_item_id(kNode, serial), kind, c, 0, static_cast<uint8_t>(Source::kLoot)}}};
}

// Folds entries 1..n of a hand-made ledger.
StoreFold fold_of(const std::vector<Entry>& entries, bool keep = true) {
  StoreFold f("test", keep);
  uint64_t seq = 0;
  for (const Entry& e : entries) f.entry(++seq, encode_entry(e));
  f.last_seq(seq);
  f.finish();
  return f;
}

std::string findings(const StoreFold& f) {
  std::string out;
  for (const AuditFinding& x : f.findings()) out += fmt::format("[{}] {}\n", x.seq, x.what);
  return out;
}

TEST(EconomyAudit, AHealthyLedgerHoldsAndARetriedAppendCountsOnce) {
  const Entry sale{{kNode, 3}, {Op{OpKind::kDestroy, make_item_id(kNode, 1), 1, kPlayer, 0, static_cast<uint8_t>(Sink::kVendor)}}};
  const StoreFold f = fold_of({loot(1), loot(2), loot(2), sale});
  EXPECT_EQ(f.findings_total(), 0u) << findings(f);
  EXPECT_EQ(f.retried_appends(), 1u);
  EXPECT_EQ(f.entries_applied(), 3u);
  EXPECT_EQ(f.kinds().at(1).created, 2u);
  EXPECT_EQ(f.kinds().at(1).destroyed, 1u);
  const AuditReport r = audit_economy({&f});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.alive.at(1), 1u);
}

TEST(EconomyAudit, EachViolationIsAFindingNamingItsEntry) {
  Entry reused = loot(1);
  reused.ops[0].item_kind = 2;  // the same idempotency key, other operations
  Entry twice = loot(5);
  twice.ops[0].item = make_item_id(kNode, 1);  // a second creation of item 1
  Entry unnamed = loot(6);
  unnamed.ops[0].why = 0;  // created by no named source
  Entry foreign = loot(7);
  foreign.ops[0].item = make_item_id(8, 7);  // node 7 creating node 8's ids
  const Entry bad_sink{{kNode, 8}, {Op{OpKind::kDestroy, make_item_id(kNode, 1), 1, kPlayer, 0, 9}}};
  const Entry not_held{{kNode, 9}, {Op{OpKind::kDestroy, make_item_id(kNode, 1), 1, 4, 0, static_cast<uint8_t>(Sink::kVendor)}}};
  const Entry fake_restore{{kRollbackNode, 1}, {Op{OpKind::kCreate, make_item_id(kNode, 99), 1, kPlayer, 0, static_cast<uint8_t>(Source::kRollback)}}};
  StoreFold f("test", false);
  f.entry(1, encode_entry(loot(1)));
  f.entry(2, encode_entry(reused));
  f.entry(3, encode_entry(twice));
  f.entry(4, encode_entry(unnamed));
  f.entry(5, encode_entry(foreign));
  f.entry(6, encode_entry(bad_sink));
  f.entry(7, encode_entry(not_held));
  f.entry(8, encode_entry(fake_restore));
  f.entry(9, Bytes{0xde, 0xad, 0xbe, 0xef});
  f.unreadable(10, "ledger entry 10 fails its checksum or is missing");
  f.entry(12, encode_entry(loot(12)));  // 11 never came
  f.last_seq(14);                       // nor did 13 and 14
  f.finish();
  const std::vector<AuditFinding>& x = f.findings();
  ASSERT_EQ(x.size(), 11u) << findings(f);
  const std::vector<std::pair<uint64_t, std::string>> want = {
      {2, "idempotency key 7/1 already used by entry 1"},
      {3, "created again: already held by character 9 (entry 1)"},
      {4, "created by no named source"},
      {5, "carries node 8's id"},
      {6, "destroyed by no named sink"},
      {7, "is not held by character 4"},
      {8, "restored by a rollback but not destroyed here"},
      {9, "malformed"},
      {10, "unreadable"},
      {11, "missing"},
      {13, "missing"},
  };
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(x[i].seq, want[i].first) << i << ": " << x[i].what;
    EXPECT_NE(x[i].what.find(want[i].second), std::string::npos) << i << ": " << x[i].what;
  }
  EXPECT_FALSE(audit_economy({&f}).ok());
}

TEST(EconomyAudit, MoneyComesFromNamedSourcesAndIsNeverSpentTwice) {
  const auto mint = [](uint64_t serial, uint64_t amount, uint8_t why) {
    return Entry{{kNode, serial}, {Op{OpKind::kMint, 0, 0, kPlayer, 0, why, amount}}};
  };
  const auto burn = [](uint64_t serial, uint64_t amount, uint8_t why) {
    return Entry{{kNode, serial}, {Op{OpKind::kBurn, 0, 0, kPlayer, 0, why, amount}}};
  };
  const uint8_t vendor = static_cast<uint8_t>(Source::kVendor), fee = static_cast<uint8_t>(Sink::kFee);
  StoreFold f("test", false);
  f.entry(1, encode_entry(mint(1, 10, vendor)));
  f.entry(2, encode_entry(burn(2, 4, fee)));
  f.entry(3, encode_entry(burn(3, 7, fee)));                                           // 6 left: refused
  f.entry(4, encode_entry(mint(4, 5, 0)));                                             // no named source
  f.entry(5, encode_entry(mint(5, 5, static_cast<uint8_t>(Source::kRollback))));       // a rollback's, outside a rollback
  f.finish();
  ASSERT_EQ(f.findings_total(), 3u) << findings(f);
  EXPECT_NE(f.findings()[0].what.find("spends 7 but has 6: money from nowhere"), std::string::npos) << findings(f);
  EXPECT_NE(f.findings()[1].what.find("by no named source"), std::string::npos) << findings(f);
  EXPECT_NE(f.findings()[2].what.find("outside a rollback entry"), std::string::npos) << findings(f);
  EXPECT_EQ(f.currency().minted, 10u);
  EXPECT_EQ(f.currency().burned, 4u);
  EXPECT_EQ(f.currency().balances, 6u);
  // A currency operation that names an item does not decode.
  Entry odd = mint(6, 5, vendor);
  odd.ops[0].item = 3;
  const char* error = "";
  EXPECT_FALSE(decode_entry(encode_entry(odd), &error));
  EXPECT_EQ(decode_entry(encode_entry(mint(6, 5, vendor)), &error), mint(6, 5, vendor));
}

TEST(EconomyAudit, TradeRowsMustAgreeWithTheFold) {
  const TradeId t = make_trade_id(kNode, 2);
  const ItemId x = make_item_id(kNode, 1);
  const Entry escrow{{kNode, 2}, {Op{OpKind::kEscrow, x, 1, kPlayer, t, 0}}};
  StoreFold f = fold_of({loot(1), escrow}, false);
  // No row for the trade that escrows x: the item is stuck, lost.
  ASSERT_EQ(f.findings_total(), 1u) << findings(f);
  EXPECT_NE(f.findings()[0].what.find("which has no row here: lost"), std::string::npos) << findings(f);
  // With a PREPARED initiator's row, the same ledger holds; with an ABORTED one, it does not.
  TradeRecord rec{TradeState::kPrepared, TradeRole::kInitiator, kPlayer, 2001, kNode, 8, x, 1, 0, 0, 2};
  for (const TradeState s : {TradeState::kPrepared, TradeState::kAborted, TradeState::kCommitted}) {
    StoreFold g("test", false);
    g.entry(1, encode_entry(loot(1)));
    g.entry(2, encode_entry(escrow));
    rec.state = s;
    g.trade_row(trade_key(t), encode_trade(rec));
    g.finish();
    EXPECT_EQ(g.findings_total(), s == TradeState::kPrepared ? 0u : s == TradeState::kAborted ? 2u : 3u) << trade_state_name(s) << "\n" << findings(g);
  }
  StoreFold g("test", false);
  g.trade_row(trade_key(t), Bytes{1, 2, 3});
  g.finish();
  ASSERT_EQ(g.findings_total(), 1u);
  EXPECT_NE(g.findings()[0].what.find("is malformed"), std::string::npos);
}

TEST(EconomyAudit, RollbackUndoesLootCraftAndSalesNewestFirstOnceAndReportsWhatItCannot) {
  const ItemId ore1 = make_item_id(kNode, 1), ore2 = make_item_id(kNode, 2), herb = make_item_id(kNode, 3), sword = make_item_id(kNode, 5);
  const Entry craft{{kNode, 5},
                    {Op{OpKind::kDestroy, ore1, 1, kPlayer, 0, static_cast<uint8_t>(Sink::kCraft)},
                     Op{OpKind::kDestroy, ore2, 1, kPlayer, 0, static_cast<uint8_t>(Sink::kCraft)},
                     Op{OpKind::kCreate, sword, 4, kPlayer, 0, static_cast<uint8_t>(Source::kCraft)}}};
  const Entry sale{{kNode, 6},
                   {Op{OpKind::kDestroy, herb, 2, kPlayer, 0, static_cast<uint8_t>(Sink::kVendor)},
                    Op{OpKind::kMint, 0, 0, kPlayer, 0, static_cast<uint8_t>(Source::kVendor), 5}}};
  // Another character's loot after the point, and one of ours given away: untouched, and reported.
  const Entry other = loot(7, 4);
  const TradeId t = make_trade_id(kNode, 9);
  const ItemId gem = make_item_id(kNode, 8);
  const Entry escrow{{kNode, 9}, {Op{OpKind::kEscrow, gem, 1, kPlayer, t, 0}}};
  const Entry commit{{kNode, 10}, {Op{OpKind::kSend, gem, 1, 2001, t, 0}, Op{OpKind::kReceive, make_item_id(8, 4), 2, kPlayer, t, 0}}};
  std::vector<Entry> ledger = {loot(1), loot(2), loot(3, kPlayer, 2), craft, sale, other, loot(8), escrow, commit};
  StoreFold f = fold_of(ledger);
  ASSERT_EQ(f.findings_total(), 0u) << findings(f);
  // Without its row, the trade's two sides cannot be matched, and so the two kinds' sums fail too.
  EXPECT_EQ(audit_economy({&f}).findings_total, 4u);
  StoreFold g("test", true);
  for (size_t i = 0; i < ledger.size(); ++i) g.entry(i + 1, encode_entry(ledger[i]));
  TradeRecord rec{TradeState::kCommitted, TradeRole::kInitiator, kPlayer, 2001, kNode, 8, gem, 1, make_item_id(8, 4), 2, 2};
  g.trade_row(trade_key(t), encode_trade(rec));
  g.finish();
  ASSERT_EQ(g.findings_total(), 0u) << findings(g);

  // After entry 2: the two ore loots stay; the herb, the craft (its sword) and the sale are undone.
  RollbackPlan plan = plan_rollback(g, kPlayer, 2, 0);
  ASSERT_EQ(plan.entries.size(), 3u);  // the sale, the craft, the herb's loot (newest first)
  EXPECT_EQ(plan.entries[0].key, (EntryKey{kRollbackNode, 5}));
  EXPECT_EQ(plan.entries[1].key, (EntryKey{kRollbackNode, 4}));
  EXPECT_EQ(plan.entries[2].key, (EntryKey{kRollbackNode, 3}));
  EXPECT_EQ(plan.undone.size(), 3u);
  ASSERT_EQ(plan.cannot.size(), 2u);  // the trade (two stores), and the gem's loot: the gem was traded on
  EXPECT_NE(plan.cannot[0].what.find("trade"), std::string::npos) << plan.cannot[0].what;
  EXPECT_EQ(plan.cannot[1].seq, 7u);
  EXPECT_NE(plan.cannot[1].what.find("traded on to character 2001"), std::string::npos) << plan.cannot[1].what;

  uint64_t seq = ledger.size();
  for (const Entry& e : plan.entries) g.entry(++seq, encode_entry(e));
  EXPECT_EQ(g.findings_total(), 0u) << findings(g);
  // The player holds the two ores again (restored by the craft's undo), and not the herb, the sword or
  // the item received in the trade... which stays: a trade is not undone here.
  std::vector<ItemId> held;
  for (const auto& [item, p] : g.items()) {
    if (p.where == ItemPlace::Where::kHeld && p.character == kPlayer) held.push_back(item);
  }
  EXPECT_EQ(held, (std::vector<ItemId>{ore1, ore2, make_item_id(8, 4)}));
  // Run again: nothing left to append; what was done is "already".
  const RollbackPlan again = plan_rollback(g, kPlayer, 2, 0);
  EXPECT_TRUE(again.entries.empty());
  EXPECT_EQ(again.already.size(), 3u);
}

TEST(EconomyAudit, RollbackCannotTakeBackMoneySinceSpent) {
  const uint8_t vendor = static_cast<uint8_t>(Source::kVendor);
  const ItemId a = make_item_id(kNode, 1), b = make_item_id(kNode, 2), c = make_item_id(kNode, 3), d = make_item_id(kNode, 5);
  const TradeId t = make_trade_id(kNode, 6);
  const ItemId e = make_item_id(8, 1);
  const std::vector<Entry> ledger = {
      loot(1), loot(2), loot(3),
      Entry{{kNode, 4}, {Op{OpKind::kDestroy, c, 1, kPlayer, 0, static_cast<uint8_t>(Sink::kVendor)}, Op{OpKind::kMint, 0, 0, kPlayer, 0, vendor, 5}}},
      Entry{{kNode, 5},
            {Op{OpKind::kBurn, 0, 0, kPlayer, 0, static_cast<uint8_t>(Sink::kFee), 3}, Op{OpKind::kDestroy, a, 1, kPlayer, 0, static_cast<uint8_t>(Sink::kCraft)},
             Op{OpKind::kDestroy, b, 1, kPlayer, 0, static_cast<uint8_t>(Sink::kCraft)}, Op{OpKind::kCreate, d, 4, kPlayer, 0, static_cast<uint8_t>(Source::kCraft)}}},
      Entry{{kNode, 6}, {Op{OpKind::kEscrow, d, 4, kPlayer, t, 0}}},
      Entry{{kNode, 7}, {Op{OpKind::kSend, d, 4, 2001, t, 0}, Op{OpKind::kReceive, e, 1, kPlayer, t, 0}}},
  };
  StoreFold f("test", true);
  for (size_t i = 0; i < ledger.size(); ++i) f.entry(i + 1, encode_entry(ledger[i]));
  f.trade_row(trade_key(t), encode_trade(TradeRecord{TradeState::kCommitted, TradeRole::kInitiator, kPlayer, 2001, kNode, 8, d, 4, e, 1, 1}));
  f.finish();
  ASSERT_EQ(f.findings_total(), 0u) << findings(f);
  const RollbackPlan plan = plan_rollback(f, kPlayer, 3, 0);
  EXPECT_TRUE(plan.entries.empty());
  ASSERT_EQ(plan.cannot.size(), 3u);  // the trade, the craft (its output traded on), the sale (its money spent on the craft)
  EXPECT_EQ(plan.cannot[2].seq, 4u);
  EXPECT_NE(plan.cannot[2].what.find("the 5 paid by vendor was since spent (the balance is 2)"), std::string::npos) << plan.cannot[2].what;
}

// A ledger entry carries its writer's time stamp (format 2); entries of format 1 still read, with
// none; a rollback by time undoes, in ledger order, from the first entry stamped after the time.
TEST(EconomyAudit, ARollbackByTimeUndoesFromTheFirstEntryStampedAfterItInLedgerOrder) {
  constexpr uint64_t t0 = 1'796'601'600'000;  // 2026-12-07T00:00:00Z
  const auto stamped = [&](uint64_t serial, uint64_t at) {
    Entry e = loot(serial);
    e.unix_ms = at;
    return e;
  };
  // Entry 1 unstamped (written before stamps); 4 stamped before 3 (a calendar set back).
  const std::vector<Entry> ledger = {loot(1), stamped(2, t0 + 1000), stamped(3, t0 + 2000), stamped(4, t0 + 1500), stamped(5, t0 + 3000)};
  for (const Entry& e : ledger) {
    const Bytes bytes = encode_entry(e);
    EXPECT_EQ(bytes[0], e.unix_ms == 0 ? 1 : 2) << "format version";
    const char* error = nullptr;
    const auto back = decode_entry(bytes, &error);
    ASSERT_TRUE(back) << error;
    EXPECT_EQ(*back, e);
  }
  // Bytes: version, node 7, serial 2 (one byte each), then the stamp's varint.
  Entry early = ledger[1];
  early.unix_ms = 1;
  Bytes no_stamp = encode_entry(early);
  ASSERT_EQ(no_stamp[3], 1);
  no_stamp[3] = 0;
  const char* error = nullptr;
  EXPECT_FALSE(decode_entry(no_stamp, &error)) << "a version 2 entry stamped 0";
  Entry late = ledger[1];
  late.unix_ms = kEntryUnixMsMax;  // a 7-byte varint
  EXPECT_TRUE(decode_entry(encode_entry(late), &error));
  Bytes past = encode_entry(late);
  ASSERT_EQ(past[9] & 0x80, 0) << "the stamp's last byte";
  past[9] |= 0x7f;  // far past year 2286
  EXPECT_FALSE(decode_entry(past, &error));
  EXPECT_EQ(entry_stamp(-5), 1u) << "a clock before 1970 still stamps";
  EXPECT_EQ(entry_stamp(int64_t{t0} * 1'000'000 + 999'999), t0);

  const StoreFold f = fold_of(ledger);
  ASSERT_EQ(f.findings_total(), 0u) << findings(f);
  // At t0 + 1600: entry 3 (t0 + 2000) is the first stamped later; 4, stamped t0 + 1500, follows it.
  RollbackPoint p = rollback_point(f, t0 + 1600);
  EXPECT_EQ(p.first_later_seq, 3u);
  EXPECT_EQ(p.first_later_unix_ms, t0 + 2000);
  EXPECT_EQ(p.after_seq, 2u);
  EXPECT_EQ(p.unstamped, 1u);
  EXPECT_EQ(p.stamped_not_later, 1u);
  const RollbackPlan plan = plan_rollback(f, kPlayer, p.after_seq, t0 + 9000);
  ASSERT_EQ(plan.entries.size(), 3u);  // 5, 4 and 3, newest first: 4 with the rest, in ledger order
  EXPECT_EQ(plan.entries[0].key, (EntryKey{kRollbackNode, 5}));
  EXPECT_EQ(plan.entries[1].key, (EntryKey{kRollbackNode, 4}));
  EXPECT_EQ(plan.entries[2].key, (EntryKey{kRollbackNode, 3}));
  for (const Entry& e : plan.entries) EXPECT_EQ(e.unix_ms, t0 + 9000) << "compensations are stamped when planned";
  // Before every stamp: from entry 2 (the unstamped one stays); after every stamp: nothing.
  p = rollback_point(f, t0);
  EXPECT_EQ(p.first_later_seq, 2u);
  EXPECT_EQ(p.after_seq, 1u);
  p = rollback_point(f, t0 + 3000);
  EXPECT_EQ(p.first_later_seq, 0u);
  EXPECT_EQ(p.after_seq, f.last_seq());
  EXPECT_TRUE(plan_rollback(f, kPlayer, p.after_seq, t0 + 9000).entries.empty());
}

TEST(EconomyAudit, AnOperatorsTimeIsUtcToTheMillisecondAndNothingElse) {
  EXPECT_EQ(app::parse_utc_ms("2026-12-07T00:00:00Z"), 1'796'601'600'000u);
  EXPECT_EQ(app::parse_utc_ms("2026-12-07T21:30:05.250Z"), 1'796'601'600'000u + (21 * 3600 + 30 * 60 + 5) * 1000u + 250);
  EXPECT_EQ(app::parse_utc_ms("2026-12-07 21:30:05"), 1'796'601'600'000u + (21 * 3600 + 30 * 60 + 5) * 1000u);
  EXPECT_EQ(app::parse_utc_ms("1796601600000"), 1'796'601'600'000u);
  EXPECT_EQ(app::format_utc_ms(1'796'601'600'000u + 77'405'250), "2026-12-07T21:30:05.250Z");
  EXPECT_EQ(app::format_utc_ms(0), "unstamped");
  for (const char* bad : {"", "yesterday", "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-12-07T24:00:00Z", "2026-12-07T21:30", "1969-12-31T23:59:59Z",
                          "2026-12-07T21:30:05.25Z", "2026-12-07T21:30:05Z+1", "0", "99999999999999", "2026-12-07T21:30:05+01:00"}) {
    EXPECT_FALSE(app::parse_utc_ms(bad)) << bad;
  }
}

// --- Real files --------------------------------------------------------------------------------

class EconomyAuditFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / fmt::format("aether-econ-audit-{}", ::getpid());
    std::filesystem::remove_all(dir_);
    app::EconomySimArgs a;
    a.seed = 3;
    a.seconds = 40;
    a.crashes = 8;
    a.store_dir = (dir_ / "clean").string();
    const app::EconomySimResult r = app::run_economy_sim(a);
    ASSERT_FALSE(r.violation) << r.violation->what;
    ASSERT_TRUE(r.store_error.empty()) << r.store_error;
    ASSERT_EQ(r.stores.size(), 4u);
    clean_ = r.stores;
    created_ = r.figures.created;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // A copy of the clean stores to damage.
  std::vector<std::string> copy(const std::string& name) {
    std::filesystem::create_directories(dir_ / name);
    std::vector<std::string> out;
    for (const std::string& s : clean_) {
      const std::filesystem::path to = dir_ / name / std::filesystem::path(s).filename();
      std::filesystem::copy_file(s, to);
      out.push_back(to.string());
    }
    return out;
  }
  static void sql(const std::string& path, const std::string& statement) {
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* error = nullptr;
    EXPECT_EQ(sqlite3_exec(db, statement.c_str(), nullptr, nullptr, &error), SQLITE_OK) << (error ? error : "");
    sqlite3_free(error);
    sqlite3_close(db);
  }
  static AuditReport audit(const std::vector<std::string>& stores, std::vector<std::unique_ptr<StoreFold>>* keep = nullptr) {
    std::vector<std::unique_ptr<StoreFold>> folds;
    std::vector<const StoreFold*> view;
    for (const std::string& s : stores) {
      auto f = app::read_economy_store(s, true);
      EXPECT_TRUE(f) << (f ? "" : f.error().message);
      if (!f) return {};
      view.push_back(f->get());
      folds.push_back(std::move(*f));
    }
    AuditReport r = audit_economy(view);
    if (keep) *keep = std::move(folds);
    return r;
  }
  static std::string text(const AuditReport& r) {
    std::string out;
    for (const AuditFinding& f : r.findings) out += fmt::format("{} [{}] {}\n", f.store, f.seq, f.what);
    return out;
  }
  static bool has(const AuditReport& r, const std::string& store, uint64_t seq, const std::string& what) {
    for (const AuditFinding& f : r.findings) {
      if (f.store == "sqlite:" + store && f.seq == seq && f.what.find(what) != std::string::npos) return true;
    }
    return false;
  }
  // Appends raw entries with valid checksums (a forger with write access, or a bug).
  static void append(const std::string& path, const std::vector<Bytes>& entries) {
    auto db = real::open_sqlite(path);
    ASSERT_TRUE(db);
    WriteBatch b;
    for (const Bytes& e : entries) b.append(e);
    const std::vector<WriteResult> r = (*db)->write_group({&b});
    ASSERT_TRUE(r.at(0).status.ok()) << r.at(0).status.reason;
  }

  std::filesystem::path dir_;
  std::vector<std::string> clean_;
  uint64_t created_ = 0;
};

TEST_F(EconomyAuditFiles, TheSimsStoresHoldAndEachDamageIsFoundWithItsReason) {
  std::vector<std::unique_ptr<StoreFold>> folds;
  const AuditReport clean = audit(clean_, &folds);
  ASSERT_TRUE(clean.ok()) << text(clean);
  uint64_t created = 0, applied = 0;
  for (const auto& [k, c] : clean.kinds) created += c.created;
  for (const auto& f : folds) applied += f->entries_applied();
  EXPECT_EQ(created, created_);  // the files hold what the checker followed
  EXPECT_GT(applied, 500u);
  EXPECT_TRUE(clean.in_flight.empty());
  EXPECT_EQ(clean.exported + clean.imported, 0u);
  const StoreFold& first = *folds[0];

  {  // A deleted entry in the middle of a ledger: the gap, then what no longer folds.
    const std::vector<std::string> s = copy("deleted");
    sql(s[1], "DELETE FROM ledger WHERE seq = 100");
    const AuditReport r = audit(s);
    EXPECT_FALSE(r.ok());
    EXPECT_TRUE(has(r, s[1], 100, "unreadable: ledger entry 100 fails its checksum or is missing")) << text(r);
  }
  {  // Garbage: a row whose checksum fails, and one whose checksum is right but whose bytes are no entry.
    const std::vector<std::string> s = copy("garbage");
    const uint64_t last = first.last_seq();
    sql(s[0], fmt::format("INSERT INTO ledger VALUES ({}, x'deadbeef', 12345)", last + 1));
    append(s[2], {Bytes{1, 7, 0xff, 0xff}});
    const AuditReport r = audit(s);
    EXPECT_TRUE(has(r, s[0], last + 1, "fails its checksum")) << text(r);
    bool malformed = false;
    for (const AuditFinding& f : r.findings) malformed |= f.store == "sqlite:" + s[2] && f.what.find("malformed") != std::string::npos;
    EXPECT_TRUE(malformed) << text(r);
    EXPECT_EQ(r.findings_total, 2u) << text(r);
  }
  {  // A duplicated item: the first loot entry again under a new key (a copy, not a retry).
    const std::vector<std::string> s = copy("duplicated");
    Entry dup;
    for (const StoreFold::Applied& a : first.applied()) {
      if (a.entry.ops.size() == 1 && a.entry.ops[0].kind == OpKind::kCreate) {
        dup = a.entry;
        break;
      }
    }
    ASSERT_FALSE(dup.ops.empty());
    dup.key.serial = 1'000'000;
    // With it, an existing entry again, bytes and key: a retried append, which counts once and is no finding.
    append(s[0], {encode_entry(dup), encode_entry(first.applied().back().entry)});
    std::vector<std::unique_ptr<StoreFold>> f;
    const AuditReport r = audit(s, &f);
    ASSERT_EQ(r.findings_total, 1u) << text(r);
    EXPECT_EQ(f[0]->retried_appends(), 1u);
    EXPECT_TRUE(has(r, s[0], first.last_seq() + 1, fmt::format("item {} created again", dup.ops[0].item))) << text(r);
  }
  {  // A forged idempotency key: an existing key with other operations.
    const std::vector<std::string> s = copy("forged");
    Entry forged = first.applied().front().entry;
    forged.ops[0].character += 1;
    append(s[0], {encode_entry(forged)});
    const AuditReport r = audit(s);
    EXPECT_TRUE(has(r, s[0], first.last_seq() + 1, "already used by entry")) << text(r);
  }
  {  // The same item in two stores: a creation copied from one vault's ledger into another's.
    const std::vector<std::string> s = copy("twice");
    const Entry* loot = nullptr;  // one never seen on the second store
    for (const StoreFold::Applied& a : first.applied()) {
      if (a.entry.ops.size() == 1 && a.entry.ops[0].kind == OpKind::kCreate && !folds[1]->items().count(a.entry.ops[0].item)) {
        loot = &a.entry;
        break;
      }
    }
    ASSERT_TRUE(loot);
    append(s[1], {encode_entry(*loot)});
    const AuditReport r = audit(s);
    EXPECT_FALSE(r.ok());
    bool twice = false;
    for (const AuditFinding& f : r.findings) twice |= f.what.find("created here and on") != std::string::npos;
    EXPECT_TRUE(twice) << text(r);
  }
}

TEST_F(EconomyAuditFiles, ARollbackAppendsCompensationsTheAuditStillHoldsAndASecondRunAppendsNothing) {
  const std::vector<std::string> s = copy("rollback");
  std::vector<std::unique_ptr<StoreFold>> folds;
  ASSERT_TRUE(audit(s, &folds).ok());
  // The character of the first store with the most entries in the second half of its ledger.
  const StoreFold& home = *folds[0];
  const uint64_t after = home.last_seq() / 2;
  std::map<CharacterKey, int> touched;
  for (const StoreFold::Applied& a : home.applied()) {
    if (a.seq > after && a.entry.ops[0].kind == OpKind::kCreate) ++touched[a.entry.ops[0].character];
  }
  ASSERT_FALSE(touched.empty());
  const CharacterKey player = std::max_element(touched.begin(), touched.end(), [](auto& x, auto& y) { return x.second < y.second; })->first;

  app::EconomyRollbackArgs dry{s[0], player, after, false, {}};
  EXPECT_EQ(app::run_economy_rollback_command(dry), 0);
  // The vaults stamp every entry from their hosts' calendars (the simulator's start at 2026-01-01,
  // never set back): by the stamp of the last entry kept, the point is that entry or a later one of
  // the same millisecond.
  uint64_t kept_stamp = 0;
  for (const StoreFold::Applied& a : home.applied()) {
    EXPECT_GE(a.entry.unix_ms, 1'767'225'600'000u) << "entry " << a.seq;
    if (a.seq <= after) kept_stamp = a.entry.unix_ms;
  }
  const RollbackPoint point = rollback_point(home, kept_stamp);
  EXPECT_EQ(point.unstamped, 0u);
  EXPECT_EQ(point.stamped_not_later, 0u);
  EXPECT_GE(point.after_seq, after);
  for (const StoreFold::Applied& a : home.applied()) {
    if (a.seq > after && a.seq <= point.after_seq) {
      EXPECT_EQ(a.entry.unix_ms, kept_stamp) << "entry " << a.seq;
    }
    if (a.seq > point.after_seq) {
      EXPECT_GT(a.entry.unix_ms, kept_stamp) << "entry " << a.seq;
    }
  }
  app::EconomyRollbackArgs by_time{s[0], player, 0, false, app::format_utc_ms(kept_stamp)};
  EXPECT_EQ(app::run_economy_rollback_command(by_time), 0);
  by_time.after_time = "not a time";
  EXPECT_EQ(app::run_economy_rollback_command(by_time), 2);
  auto unchanged = app::read_economy_store(s[0], false);
  ASSERT_TRUE(unchanged);
  EXPECT_EQ((*unchanged)->last_seq(), home.last_seq());  // a dry run appends nothing

  const RollbackPlan plan = plan_rollback(home, player, after, 0);
  ASSERT_FALSE(plan.entries.empty());
  EXPECT_FALSE(plan.cannot.empty());  // trades at least: a one-store rollback does not undo them
  app::EconomyRollbackArgs apply{s[0], player, after, true, {}};
  ASSERT_EQ(app::run_economy_rollback_command(apply), 0);
  std::vector<std::unique_ptr<StoreFold>> after_folds;
  const AuditReport r = audit(s, &after_folds);
  EXPECT_TRUE(r.ok()) << text(r);
  EXPECT_EQ(after_folds[0]->last_seq(), home.last_seq() + plan.entries.size());
  EXPECT_EQ(after_folds[0]->compensated().size(), plan.entries.size());
  uint64_t restored = 0;
  for (const auto& [k, c] : r.kinds) restored += c.restored;
  uint64_t expect_restored = 0;
  for (const Entry& e : plan.entries) {
    for (const Op& op : e.ops) expect_restored += op.kind == OpKind::kCreate;
  }
  EXPECT_EQ(restored, expect_restored);
  // History is kept: every entry before the rollback reads back the same.
  for (size_t i = 0; i < home.applied().size(); ++i) EXPECT_EQ(after_folds[0]->applied()[i].entry, home.applied()[i].entry) << i;

  ASSERT_EQ(app::run_economy_rollback_command(apply), 0);
  auto twice = app::read_economy_store(s[0], true);
  ASSERT_TRUE(twice);
  EXPECT_EQ((*twice)->last_seq(), after_folds[0]->last_seq());  // idempotent: nothing appended the second time
  EXPECT_TRUE(plan_rollback(**twice, player, after, 0).entries.empty());
}

// The planted bug economy-release-on-restart (a restarted responder releases its escrow without asking
// the initiator): where the simulator's checker catches it, the audit of the stores alone finds it too.
TEST_F(EconomyAuditFiles, TheAuditFindsThePlantedDuplicationInTheStoresAlone) {
  int caught = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    app::EconomySimArgs a;
    a.seed = seed;
    a.seconds = 120;
    a.crashes = 150;
    a.planted = PlantedBug::kEconomyReleaseOnRestart;
    a.store_dir = (dir_ / fmt::format("planted-{}", seed)).string();
    const app::EconomySimResult r = app::run_economy_sim(a);
    ASSERT_TRUE(r.store_error.empty()) << r.store_error;
    const AuditReport report = audit(r.stores);
    if (!r.violation) continue;
    ++caught;
    bool found = false;
    for (const AuditFinding& f : report.findings) {
      found |= f.what.find("made from nothing") != std::string::npos || f.what.find("places") != std::string::npos;
    }
    EXPECT_TRUE(found) << "seed " << seed << ": the checker saw " << r.violation->what << "\n" << text(report);
  }
  EXPECT_GE(caught, 3);
}

}  // namespace
}  // namespace aether::economy
