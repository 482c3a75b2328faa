// The economy (engine/economy, docs/persistence.md "The economy"): the ledger's encoding and fold,
// and the vaults in the simulator through crashes, storage faults and message faults, held to the
// conservation checker (app/economy_checker.h), which must catch the planted duplication.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "app/economy_content.h"
#include "app/economy_sim.h"
#include "runtime/sim/simulation.h"
#include "engine/economy/ledger.h"
#include "engine/economy/vault.h"

namespace aether::economy {
namespace {

Entry loot(uint64_t serial, ItemId item, CharacterKey c) { return Entry{{7, serial}, {Op{OpKind::kCreate, item, 1, c, 0, 1}}}; }

TEST(EconomyLedger, EntriesRoundTripAndMalformedBytesAreRefused) {
  const Entry e{{7, 42}, {Op{OpKind::kDestroy, 5, 1, 9, 0, 1}, Op{OpKind::kDestroy, 6, 2, 9, 0, 1}, Op{OpKind::kCreate, 8, 3, 9, 0, 2}}};
  const Bytes bytes = encode_entry(e);
  const char* error = "";
  EXPECT_EQ(decode_entry(bytes, &error), e);
  Bytes trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(decode_entry(trailing, &error));
  EXPECT_STREQ(error, "trailing bytes after the entry");
  for (size_t cut = 0; cut < bytes.size(); ++cut) {
    EXPECT_FALSE(decode_entry(std::span<const uint8_t>(bytes).first(cut), &error)) << cut;
  }
  Bytes bad_op = bytes;
  bad_op[4] = 9;  // the first operation's kind
  EXPECT_FALSE(decode_entry(bad_op, &error));
}

TEST(EconomyLedger, TheFoldAppliesAnEntryOnceAndWholeOrNotAtAll) {
  ItemBook book;
  book.set_node(7);
  ASSERT_TRUE(book.apply(loot(1, 100, 9)));
  EXPECT_FALSE(book.apply(loot(1, 100, 9)));  // the same key again: a retried append counts once
  EXPECT_EQ(book.duplicates_skipped(), 1u);
  EXPECT_FALSE(book.check(loot(2, 100, 9)).empty());  // the same item created twice
  // A craft whose second input is missing changes nothing, not even its first input.
  ASSERT_TRUE(book.apply(loot(3, 101, 9)));
  const Entry craft{{7, 4}, {Op{OpKind::kDestroy, 100, 1, 9, 0, 1}, Op{OpKind::kDestroy, 102, 1, 9, 0, 1}, Op{OpKind::kCreate, 103, 3, 9, 0, 2}}};
  EXPECT_FALSE(book.apply(craft));
  EXPECT_EQ(book.held().size(), 2u);
  // Escrow, then release only to its holder, by its trade.
  ASSERT_TRUE(book.apply(Entry{{7, 5}, {Op{OpKind::kEscrow, 100, 1, 9, 77, 0}}}));
  EXPECT_EQ(book.slots_used(9), 2u);
  EXPECT_FALSE(book.check(Entry{{7, 6}, {Op{OpKind::kRelease, 100, 1, 8, 77, 0}}}).empty());
  EXPECT_FALSE(book.check(Entry{{7, 6}, {Op{OpKind::kRelease, 100, 1, 9, 78, 0}}}).empty());
  EXPECT_FALSE(book.check(Entry{{7, 6}, {Op{OpKind::kDestroy, 100, 1, 9, 0, 1}}}).empty());  // escrowed: not held
  ASSERT_TRUE(book.apply(Entry{{7, 6}, {Op{OpKind::kSend, 100, 1, 4, 77, 0}}}));
  EXPECT_EQ(book.items_of(9), std::vector<ItemId>{101});
  EXPECT_EQ(book.max_serial(), 6u);
}

TEST(EconomyLedger, TradeRecordsAndVaultMessagesRoundTripAndRefuseGarbage) {
  const TradeRecord rec{TradeState::kCommitted, TradeRole::kInitiator, 1001, 2002, 301, 302, 5, 1, 6, 2, 2};
  EXPECT_EQ(decode_trade(encode_trade(rec)), rec);
  const VaultMessage m{VaultMsgType::kPrepared, 302, make_trade_id(301, 4), 1001, 2002, 6, 2, 0};
  EXPECT_EQ(decode_vault_message(encode_vault_message(m)), m);
  Bytes bad = encode_vault_message(m);
  bad[1] = 99;
  EXPECT_FALSE(decode_vault_message(bad));
  EXPECT_FALSE(decode_vault_message(Bytes{}));
}

TEST(EconomyContent, TheShippedItemsAreTheBuiltInOnesAndMistakesNameTheirLine) {
  auto rules = app::load_economy_rules(AETHER_SOURCE_DIR "/content");
  ASSERT_TRUE(rules) << rules.error().message;
  const EconomyRules builtin = EconomyRules::builtin();
  ASSERT_EQ(rules.value().items.size(), builtin.items.size());
  for (size_t i = 0; i < builtin.items.size(); ++i) {
    EXPECT_EQ(rules.value().items[i].id, builtin.items[i].id);
    EXPECT_EQ(rules.value().items[i].name, builtin.items[i].name);
  }
  EXPECT_EQ(rules.value().nothing_weight, builtin.nothing_weight);
  ASSERT_EQ(rules.value().drops.size(), builtin.drops.size());
  ASSERT_EQ(rules.value().recipes.size(), builtin.recipes.size());
  for (size_t i = 0; i < builtin.recipes.size(); ++i) {
    EXPECT_EQ(rules.value().recipes[i].output, builtin.recipes[i].output);
    EXPECT_EQ(rules.value().recipes[i].inputs, builtin.recipes[i].inputs);
  }

  const std::filesystem::path dir = std::filesystem::temp_directory_path() / fmt::format("aether-econ-content-{}", ::getpid());
  std::filesystem::create_directories(dir);
  const auto expect_error = [&](const std::string& text, const std::string& error) {
    std::ofstream(dir / "items.textpb") << text;
    auto r = app::load_economy_rules(dir.string());
    ASSERT_FALSE(r) << text;
    EXPECT_NE(r.error().message.find(error), std::string::npos) << r.error().message;
  };
  const std::string ok_rest = "drop_tables { name: \"kill\" drops { item: \"ore\" weight: 1 } }\nrecipes { name: \"r\" output: \"ore\" inputs: \"ore\" }\n";
  expect_error("items { id: 1 name: \"ore\" }\nitems { id: 1 name: \"gem\" }\n" + ok_rest, "items.textpb:2: field id: item id 1 is also ore's");
  expect_error("items { id: 1 name: \"ore\" }\n" + ok_rest + "recipes { name: \"x\" output: \"gem\" inputs: \"ore\" }\n", "items.textpb:4: field output: no item named gem");
  expect_error("items { id: 70000 name: \"ore\" }\n", "items.textpb:1: field id");
  expect_error("items { id: 1 name: \"ore\" }\nitems { id: 2 nmae: \"gem\" }\n", "items.textpb:2");
  std::filesystem::remove_all(dir);
}

// A vault restarted under an older generation than the one its characters' rows were last written
// with (a stale owner) is refused by its store: every economic write fails kFenced, nothing applies.
TEST(EconomyVault, AStaleOwnersWritesAreFencedAndChangeNothing) {
  sim::SimOptions o;
  o.seed = 5;
  o.log_level = LogLevel::kError;
  sim::Simulation sim(o);
  sim::Host& host = sim.add_host("vault-1", NodeId(301));
  VaultConfig cfg;
  cfg.node = NodeId(301);
  cfg.listen_address = "vault-1:7300";
  cfg.characters = {1001, 1002};
  cfg.generation = 2;
  host.attach(std::make_unique<Vault>(host.runtime(), cfg));
  sim.run_until(10 * kNsPerSec);
  const auto* v = dynamic_cast<const Vault*>(host.component());
  ASSERT_TRUE(v && v->ready());
  ASSERT_GT(v->stats().loots, 0u);
  const size_t items = v->book().held().size();
  ASSERT_GT(items, 0u);

  host.crash();
  sim.restart_host(host.index());
  cfg.generation = 1;  // the stale owner
  host.attach(std::make_unique<Vault>(host.runtime(), cfg));
  sim.run_until(20 * kNsPerSec);
  v = dynamic_cast<const Vault*>(host.component());
  ASSERT_TRUE(v && v->ready());
  EXPECT_EQ(v->book().held().size(), items);  // it reads what the owner wrote, and changes none of it
  EXPECT_EQ(v->stats().loots + v->stats().crafts + v->stats().vendor_sales, 0u);
  EXPECT_GT(v->stats().writes_failed, 0u);
  EXPECT_GT(host.storage().stats().writes_fenced, 0u);
}

app::EconomySimArgs sim_args(uint64_t seed) {
  app::EconomySimArgs a;
  a.seed = seed;
  a.seconds = 40;
  a.crashes = 8;
  return a;
}

TEST(EconomySim, ConservationHoldsThroughCrashesStorageFaultsAndMessageFaults) {
  for (uint64_t seed = 1; seed <= 4; ++seed) {
    const app::EconomySimResult r = app::run_economy_sim(sim_args(seed));
    ASSERT_FALSE(r.violation) << "seed " << seed << ": " << r.violation->what;
    // The run did what it is for: crashes, faults, items made and destroyed, trades both ways.
    EXPECT_GT(r.crashes, 0u) << seed;
    EXPECT_GT(r.storage_fault_windows, 0u) << seed;
    EXPECT_GT(r.figures.created, 100u) << seed;
    EXPECT_GT(r.figures.destroyed, 20u) << seed;
    EXPECT_GT(r.figures.committed, 10u) << seed;
    EXPECT_EQ(r.figures.landed, r.figures.committed) << seed;  // every committed trade landed on its responder
    EXPECT_GT(r.figures.released, 0u) << seed;
  }
}

TEST(EconomySim, ASeedReplaysByteForByte) {
  const app::EconomySimResult a = app::run_economy_sim(sim_args(3));
  const app::EconomySimResult b = app::run_economy_sim(sim_args(3));
  EXPECT_EQ(a.digest, b.digest);
  EXPECT_NE(a.digest, app::run_economy_sim(sim_args(4)).digest);
}

// The planted bug: a responder that restarts with a prepared trade releases its escrow without
// asking the initiator. When the initiator had committed, the item is now in two inventories.
// A responder's prepared window is a few milliseconds, so the runs crash often (150 crashes in
// 120 s) for restarts to land in it; the same runs without the bug hold (the test above runs lighter
// ones, the one below these).
app::EconomySimArgs crash_heavy(uint64_t seed) {
  app::EconomySimArgs a = sim_args(seed);
  a.seconds = 120;
  a.crashes = 150;
  return a;
}

TEST(EconomySim, TheCheckerCatchesAResponderReleasingOnRestart) {
  int caught = 0;
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    app::EconomySimArgs a = crash_heavy(seed);
    a.planted = PlantedBug::kEconomyReleaseOnRestart;
    const app::EconomySimResult r = app::run_economy_sim(a);
    if (r.violation) {
      ++caught;
      // Released while the initiator's commit gave it to a (or committed after the release).
      EXPECT_NE(r.violation->what.find("duplicated"), std::string::npos) << r.violation->what;
    }
  }
  EXPECT_GE(caught, 3);
}

TEST(EconomySim, CrashHeavyRunsWithoutTheBugHold) {
  for (uint64_t seed = 1; seed <= 6; ++seed) {
    const app::EconomySimResult r = app::run_economy_sim(crash_heavy(seed));
    ASSERT_FALSE(r.violation) << "seed " << seed << ": " << r.violation->what;
    EXPECT_GE(r.crashes, 80u) << seed;  // a crash drawn for a host already down is skipped
  }
}

}  // namespace
}  // namespace aether::economy
