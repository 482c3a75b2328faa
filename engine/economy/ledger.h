#pragma once
// The economy's ledger (docs/persistence.md, "The economy"): every creation, move and destruction of
// an item is an operation of one ledger entry, and a store's inventories are the fold of its
// ledger. An entry applies whole or not at all (one WriteBatch), and an entry whose key was already
// folded changes nothing (a retried append after an "outcome unknown" commit appears twice in the
// ledger and counts once).
//
// Where an item can be, as a store's fold sees it:
//   held      in one character's inventory;
//   escrowed  locked by a trade this store takes part in (out of the inventory, not yet anyone's).
// Items enter only through named sources (kCreate: loot, craft, grant; kReceive: the other side of
// a committed trade) and leave only through named sinks (kDestroy: craft, vendor, admin; kSend: our
// side of a committed trade).

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "engine/runtime/storage.h"

namespace aether::economy {

using ItemId = uint64_t;  // globally unique: the creating node in the high 24 bits, its serial below
using CharacterKey = uint64_t;
using TradeId = uint64_t;  // the initiator's node in the high 24 bits, the serial of its prepare entry below

inline constexpr uint32_t kItemKindMax = 65535;
inline constexpr size_t kEntryOpsMax = 16;        // a craft's inputs and output, a trade's two sides
inline constexpr size_t kInventorySlotsMax = 16;  // items one character holds (escrowed ones included)
inline constexpr uint64_t kCurrencyOpMax = 1'000'000;       // one mint or burn moves 1..this
inline constexpr uint64_t kBalanceMax = 1'000'000'000'000;  // a character's balance; a mint past it is refused

inline ItemId make_item_id(uint32_t node, uint64_t serial) { return uint64_t{node} << 40 | (serial & ((uint64_t{1} << 40) - 1)); }
inline TradeId make_trade_id(uint32_t node, uint64_t serial) { return make_item_id(node, serial); }
inline uint32_t id_node(uint64_t id) { return static_cast<uint32_t>(id >> 40); }

enum class OpKind : uint8_t {
  kCreate = 1,   // a source makes the item, held by `character`
  kDestroy = 2,  // a sink ends the item, held by `character`
  kEscrow = 3,   // held by `character` -> escrowed by `trade`
  kRelease = 4,  // escrowed by `trade` -> held by `character` again (the trade aborted)
  kSend = 5,     // escrowed by `trade` -> gone to `character` on the other side (the trade committed)
  kReceive = 6,  // arrives from the other side of committed `trade`, held by `character`
  // Currency: `amount` into or out of `character`'s balance; item, item_kind and trade are 0.
  kMint = 7,  // a named source pays (why: Source)
  kBurn = 8,  // a named sink takes (why: Sink); never more than the balance
};
// kRollback (engine/economy/audit.h): a rollback's compensating entries restore an item destroyed
// after the point (the same id, to the same character) and destroy one created after it.
// Currency: a vendor pays for what it buys (Source::kVendor), a craft costs a fee (Sink::kFee).
enum class Source : uint8_t { kNone = 0, kLoot = 1, kCraft = 2, kGrant = 3, kRollback = 4, kVendor = 5 };
enum class Sink : uint8_t { kNone = 0, kCraft = 1, kVendor = 2, kAdmin = 3, kRollback = 4, kFee = 5 };
const char* source_name(uint8_t why);  // "loot", ...; nullptr for no named source
const char* sink_name(uint8_t why);

struct Op {
  OpKind kind = OpKind::kCreate;
  ItemId item = 0;
  uint16_t item_kind = 0;
  CharacterKey character = 0;
  TradeId trade = 0;  // escrow, release, send, receive
  uint8_t why = 0;    // create, mint: Source; destroy, burn: Sink
  uint64_t amount = 0;  // mint, burn
  friend bool operator==(const Op&, const Op&) = default;
  bool currency() const { return kind == OpKind::kMint || kind == OpKind::kBurn; }
};

// The idempotency key: the node that wrote the entry and that node's serial (one economic write in
// flight at a time per node, serials taken from the fold: a write that failed or was lost leaves
// its serial free, since it never happened).
struct EntryKey {
  uint32_t node = 0;
  uint64_t serial = 0;
  friend auto operator<=>(const EntryKey&, const EntryKey&) = default;
};

struct Entry {
  EntryKey key;
  std::vector<Op> ops;  // 1..kEntryOpsMax, each on a different item
  // When its writer made it, in milliseconds since 1970 UTC (Clock::unix_ns): what an operator's
  // rollback by time names. Not part of the key and never compared by the fold: calendars step
  // back and differ between hosts. 0: not stamped (entries of format version 1).
  uint64_t unix_ms = 0;
  friend bool operator==(const Entry&, const Entry&) = default;
};
// A stamp past this (year 2286) is not a time a writer made: decode refuses it.
inline constexpr uint64_t kEntryUnixMsMax = uint64_t{9'999'999'999'999};
// An entry's stamp from a calendar reading (Clock::unix_ns): in 1..kEntryUnixMsMax whatever the
// clock says (a clock set before 1970 stamps 1 ms, never "not stamped").
inline uint64_t entry_stamp(int64_t unix_ns) {
  const int64_t ms = unix_ns / 1'000'000;
  return ms < 1 ? 1 : static_cast<uint64_t>(ms) > kEntryUnixMsMax ? kEntryUnixMsMax : static_cast<uint64_t>(ms);
}

// Format version 2 (with unix_ms) when stamped, version 1 when not (unix_ms 0); both decode.
Bytes encode_entry(const Entry& e);
// nullopt (with *error set) on bytes that are not an entry of a version we know: they come from a file.
std::optional<Entry> decode_entry(std::span<const uint8_t> bytes, const char** error);

// The fold of one store's ledger.
class ItemBook {
 public:
  struct Held {
    uint16_t kind = 0;
    CharacterKey character = 0;
  };
  struct Escrowed {
    uint16_t kind = 0;
    CharacterKey character = 0;  // whose it was
    TradeId trade = 0;
  };

  // Why `e` cannot apply (empty: it can). An entry already folded can (it changes nothing).
  std::string check(const Entry& e) const;
  // Applies `e` whole; false (and nothing changed) if check() refuses it or it was folded before.
  bool apply(const Entry& e);

  const std::map<ItemId, Held>& held() const { return held_; }
  const std::map<ItemId, Escrowed>& escrowed() const { return escrowed_; }
  const std::map<CharacterKey, uint64_t>& balances() const { return balances_; }  // characters with a balance above 0
  uint64_t balance(CharacterKey c) const;
  // Items a character holds plus those escrowed from it: the slots it uses.
  size_t slots_used(CharacterKey c) const;
  std::vector<ItemId> items_of(CharacterKey c) const;
  uint64_t max_serial() const { return max_serial_; }
  uint64_t entries_folded() const { return keys_.size(); }
  uint64_t duplicates_skipped() const { return duplicates_; }

 private:
  std::map<ItemId, Held> held_;
  std::map<ItemId, Escrowed> escrowed_;
  std::map<CharacterKey, uint64_t> balances_;
  std::set<EntryKey> keys_;  // grows with the ledger: a store's fold is as large as its history
  uint64_t max_serial_ = 0;  // of this book's own node's entries (set_node)
  uint64_t duplicates_ = 0;

 public:
  void set_node(uint32_t node) { node_ = node; }

 private:
  uint32_t node_ = 0;
};

}  // namespace aether::economy
