#pragma once
// Audit and rollback of the economy's stored ledgers (docs/persistence.md, "Audit and rollback").
// Pure: these fold what was read from the vaults' stores; the reading and writing are the app's
// (app/economy_audit.cc). What they fold is a file's content (house rule 3): an entry that does not
// decode or does not fold, a gap in the sequence, a malformed trade row are findings naming the
// store and the sequence, never assertions.
//
// What the audit holds a set of stores to (each store is one vault's; several are one economy):
//   per store   the ledger's sequence has no gap and every entry reads back; every entry folds whole
//               (ledger.h's rules: an item leaves only the place the fold has it in); an item is
//               created only by a named source and never twice, destroyed only by a named sink; a
//               rollback restores only an item destroyed here; an idempotency key is used by one
//               entry only (the same bytes again are a retried append and count once); every trade
//               row agrees with the fold (PREPARED: its item escrowed; COMMITTED, DONE: sent and
//               received; ABORTED: released) and every escrowed item belongs to an open trade;
//   across      an item is created on one store only; every item sent in a trade arrived once on
//               the other side and every item received there was sent, unless the trade is in flight
//               (the initiator committed, the responder is still PREPARED); no item is in two places;
//               per item kind, sources - sinks = items held, escrowed or in flight.
// Currency (never crosses stores: trades swap items only): a mint only by a named source, a burn
// only by a named sink and never past the balance; paid - taken = the balances, per store and in all.
// A store whose peer's store was not given is checked alone: what crosses to that peer is counted
// as exported or imported, not matched.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "engine/economy/ledger.h"
#include "engine/economy/vault.h"

namespace aether::economy {

// The writer of a rollback's compensating entries: no vault has this node. A compensating entry's
// key is (kRollbackNode, the sequence of the entry it compensates), so an entry is compensated at
// most once and a rollback run twice appends nothing the second time.
inline constexpr uint32_t kRollbackNode = 0xFFFFFF;
// Findings one report keeps; past it they are counted, not kept (a garbage file must not exhaust
// the auditor's memory with its complaints).
inline constexpr size_t kAuditFindingsMax = 1000;

struct AuditFinding {
  std::string store;
  uint64_t seq = 0;  // the ledger entry it is about; 0: a row or the store as a whole
  std::string what;
};

struct KindCounts {
  uint64_t created = 0, restored = 0, destroyed = 0;
};
// Currency: paid by sources (vendor, grant; rollback), taken by sinks (fee, admin; rollback).
struct CurrencyCounts {
  uint64_t minted = 0, burned = 0, balances = 0;  // balances: the sum of every character's
};

// Where an item is in one store's fold, and the entry that put it there.
struct ItemPlace {
  enum class Where : uint8_t { kHeld, kEscrowed, kSent, kDestroyed };
  Where where = Where::kHeld;
  uint16_t kind = 0;
  CharacterKey character = 0;  // held: the holder; escrowed: whose it was; sent: the receiver; destroyed: the last holder
  TradeId trade = 0;           // escrowed, sent
  uint8_t why = 0;             // destroyed: the sink
  uint64_t seq = 0;
};

// One store's ledger and trade rows, folded as the audit reads them.
class StoreFold {
 public:
  struct Applied {
    uint64_t seq = 0;
    Entry entry;
  };
  // keep_entries: keep every applied entry (a rollback plans from them); memory grows with the ledger.
  StoreFold(std::string name, bool keep_entries);

  // In sequence order, each sequence once, either read or unreadable (the store's reason).
  void entry(uint64_t seq, std::span<const uint8_t> bytes);
  void unreadable(uint64_t seq, const std::string& reason);
  // The highest sequence the store reported: entries up to it that were never given are a gap.
  void last_seq(uint64_t seq);
  void trade_row(std::span<const uint8_t> key, std::span<const uint8_t> value);
  void rows_unreadable(const std::string& reason);
  // After everything was read: the trade rows against the fold.
  void finish();

  const std::string& name() const { return name_; }
  // The vault node whose entries these are (the most frequent writer; 0: none).
  uint32_t node() const;
  const std::map<ItemId, ItemPlace>& items() const { return items_; }
  const std::map<TradeId, TradeRecord>& trades() const { return trades_; }
  bool rows_readable() const { return rows_readable_; }
  const std::vector<Applied>& applied() const { return applied_; }
  // Entries of this store compensated by a rollback entry: their sequences.
  const std::set<uint64_t>& compensated() const { return compensated_; }
  // (trade, item) -> the entry that sent / received it.
  const std::map<std::pair<TradeId, ItemId>, uint64_t>& sent() const { return sent_; }
  const std::map<std::pair<TradeId, ItemId>, uint64_t>& received() const { return received_; }
  const std::map<ItemId, uint64_t>& creations() const { return creations_; }  // by a source other than rollback
  const std::map<uint16_t, KindCounts>& kinds() const { return kinds_; }
  const std::map<CharacterKey, uint64_t>& balances() const { return balances_; }  // above 0 only
  CurrencyCounts currency() const;
  const std::vector<AuditFinding>& findings() const { return findings_; }
  uint64_t findings_total() const { return findings_total_; }
  uint64_t entries_read() const { return entries_read_; }
  uint64_t entries_applied() const { return entries_applied_; }
  uint64_t retried_appends() const { return retried_; }
  uint64_t last_seq() const { return last_seq_; }

  // Why e cannot fold here (empty: it can). Public for the rollback's own check of its plan.
  std::string check(const Entry& e) const;

 private:
  void find(uint64_t seq, std::string what);
  void apply(uint64_t seq, const Entry& e);
  void expect(uint64_t seq);

  std::string name_;
  bool keep_entries_;
  std::map<ItemId, ItemPlace> items_;
  std::map<TradeId, TradeRecord> trades_;
  std::map<EntryKey, std::pair<uint64_t, uint64_t>> keys_;  // key -> (sequence, digest of its bytes)
  std::map<uint32_t, uint64_t> writers_;                    // entry key node -> entries
  std::vector<Applied> applied_;
  std::set<uint64_t> compensated_;
  std::map<std::pair<TradeId, ItemId>, uint64_t> sent_, received_;
  std::map<ItemId, uint64_t> creations_;
  std::map<uint16_t, KindCounts> kinds_;
  std::map<CharacterKey, uint64_t> balances_;
  uint64_t minted_ = 0, burned_ = 0;
  std::vector<AuditFinding> findings_;
  uint64_t findings_total_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t last_seq_ = 0;
  uint64_t entries_read_ = 0, entries_applied_ = 0, retried_ = 0;
  bool rows_readable_ = true;
};

struct AuditReport {
  std::vector<AuditFinding> findings;  // at most kAuditFindingsMax
  uint64_t findings_total = 0;
  std::vector<std::string> in_flight;  // trades between a committed initiator and a PREPARED responder
  uint64_t exported = 0, imported = 0;  // crossings to or from stores not given
  std::map<uint16_t, KindCounts> kinds;
  CurrencyCounts currency;
  std::map<uint16_t, uint64_t> alive;  // per kind: held, escrowed or in flight
  bool ok() const { return findings_total == 0; }
};

// The stores' own findings and the checks across them (the header's list).
AuditReport audit_economy(const std::vector<const StoreFold*>& stores);

// One player's rollback on their home store: every entry after `after_seq` that touched the player,
// undone newest first by compensating entries (kRollbackNode keys), as far as it can be undone:
//   loot, grant   the item destroyed (sink rollback), if the player still holds it;
//   craft         the output destroyed and the inputs restored (the same ids), if the player still
//                 holds the output;
//   vendor, admin the item restored to the player, and what a vendor paid for it taken back, if the
//                 player still has it ("currency since spent" otherwise);
//   craft fees    paid back with the craft's undo;
//   a trade       not undone here: a committed trade moved items on two stores (reported); an
//                 aborted one moved nothing; an open one is left to finish.
// What cannot be undone is reported with where the item went (traded on, destroyed, escrowed).
struct RollbackStep {
  uint64_t seq = 0;  // the entry undone, or not
  std::string what;
};
struct RollbackPlan {
  std::vector<Entry> entries;  // to append, in this order
  std::vector<RollbackStep> undone, cannot, already;
};
// The compensating entries are stamped `stamp_unix_ms` (the operator's clock; 0: unstamped).
RollbackPlan plan_rollback(const StoreFold& store, CharacterKey player, uint64_t after_seq, uint64_t stamp_unix_ms);

// A rollback by time names its point by the calendar: it undoes what follows, in ledger order, the
// first entry stamped after `after_unix_ms`. Ledger order, not stamps, decides what is undone: a
// calendar may step back, and undoing anything but a suffix of the history could leave an entry
// whose cause was undone. Entries of format version 1 carry no stamp; they were all written before
// the first stamped one (a store is appended by one binary at a time, never downgraded past its
// schema), so they lie before any time named.
struct RollbackPoint {
  uint64_t after_seq = 0;        // plan_rollback's point: the sequence before the first entry stamped later
  uint64_t first_later_seq = 0;  // that entry (0: none, nothing to undo)
  uint64_t first_later_unix_ms = 0;
  uint64_t unstamped = 0;        // entries without a stamp (version 1), taken as before the time
  uint64_t stamped_not_later = 0;  // entries after the point stamped at or before the time: a calendar set back; undone with the rest
};
RollbackPoint rollback_point(const StoreFold& store, uint64_t after_unix_ms);

const char* trade_state_name(TradeState s);
// One entry for people: "create item X (kind K) for C (loot), ...".
std::string describe_entry(const Entry& e);
// Whether e touches character c's own items (a send names the receiver, so it does not count).
bool touches(const Entry& e, CharacterKey c);

}  // namespace aether::economy
