#pragma once
// A vault: one node's share of the economy (docs/persistence.md, "The economy"). It homes some
// characters, keeps their items on its store's ledger (ledger.h) and trades with other vaults by a
// two-phase exchange whose commit point is one synced record on the initiator's store.
//
// Rules (each one place):
//  - Nothing economic happens in memory first: an entry is checked against the fold, written
//    (synced, fenced by the characters' generation), and applied to the fold, traced and acted on
//    (a message sent) only once its write completed ok. One economic write is in flight at a time,
//    so every entry is checked against the fold it will apply to.
//  - A restart rebuilds everything from the store: the fold of the ledger and the trade rows.
//  - Trades (initiator A for character a, responder B for character b, one item each way):
//      A  writes PREPARED + escrow of a's item, then sends Propose;
//      B  writes PREPARED + escrow of b's item, then answers Prepared (or Refused, writing nothing);
//      A  writes COMMITTED + send a's item + receive b's item: the commit point; then sends Commit
//         until B answers Done, and writes DONE;
//      B  writes DONE + send b's item + receive a's item, then answers Done.
//    A aborts (writes ABORTED + release) on Refused, after kProposeAttemptsMax unanswered proposals,
//    and at its restart for every trade not yet committed (presumed abort). B never decides: a
//    PREPARED B asks A (Resolve) until told Commit or Abort.

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/planted.h"
#include "engine/economy/ledger.h"
#include "engine/runtime/component.h"
#include "engine/runtime/runtime.h"

namespace aether::economy {

// Item definitions, the drop table and recipes (content: content/items.textpb when loaded).
struct ItemDef {
  uint16_t id = 0;
  std::string name;
};
struct DropEntry {
  uint16_t item = 0;
  uint32_t weight = 0;
};
struct Recipe {
  uint16_t output = 0;
  std::vector<uint16_t> inputs;  // consumed, one item of each entry
};
struct EconomyRules {
  std::vector<ItemDef> items;
  uint32_t nothing_weight = 0;  // a kill that drops nothing
  std::vector<DropEntry> drops;
  std::vector<Recipe> recipes;
  // ore, herb, potion (ore + herb), sword (ore + ore); drops ore 4, herb 4, nothing 2.
  static EconomyRules builtin();
};

enum class TradeState : uint8_t { kPrepared = 1, kCommitted = 2, kAborted = 3, kDone = 4 };
enum class TradeRole : uint8_t { kInitiator = 1, kResponder = 2 };

// trade/TRADE (storage_keys.h): one row per trade on each side, its last state (kept after the end
// so that late messages are answered from it).
struct TradeRecord {
  TradeState state = TradeState::kPrepared;
  TradeRole role = TradeRole::kInitiator;
  CharacterKey a = 0;  // the initiator's character
  CharacterKey b = 0;  // the responder's
  uint32_t a_node = 0;
  uint32_t b_node = 0;
  ItemId item_a = 0;   // a gives
  uint16_t kind_a = 0;
  ItemId item_b = 0;   // b gives (0 until B prepared, on A's side)
  uint16_t kind_b = 0;
  uint16_t want_kind = 0;  // what a asked for
  TimeNs last_sent_ns = 0;  // memory only
  uint32_t attempts = 0;    // memory only
  bool operator==(const TradeRecord& o) const {
    return state == o.state && role == o.role && a == o.a && b == o.b && a_node == o.a_node && b_node == o.b_node && item_a == o.item_a &&
           kind_a == o.kind_a && item_b == o.item_b && kind_b == o.kind_b && want_kind == o.want_kind;
  }
};
Bytes trade_key(TradeId t);
Bytes encode_trade(const TradeRecord& r);
std::optional<TradeRecord> decode_trade(std::span<const uint8_t> bytes);

// Between vaults. Untrusted bytes: decode validates every field.
enum class VaultMsgType : uint8_t { kPropose = 1, kPrepared = 2, kRefused = 3, kCommit = 4, kAbort = 5, kDone = 6, kResolve = 7 };
struct VaultMessage {
  VaultMsgType type = VaultMsgType::kPropose;
  uint32_t from = 0;
  TradeId trade = 0;
  CharacterKey a = 0, b = 0;
  ItemId item = 0;  // propose: a's item; prepared: b's
  uint16_t item_kind = 0;
  uint16_t want_kind = 0;
  bool operator==(const VaultMessage&) const = default;
};
Bytes encode_vault_message(const VaultMessage& m);
std::optional<VaultMessage> decode_vault_message(std::span<const uint8_t> bytes);

inline constexpr size_t kVaultJobsMax = 256;          // economic writes waiting; past it new actions are refused
inline constexpr TimeNs kVaultTickNs = 100 * kNsPerMs;  // retries and the players' actions
inline constexpr TimeNs kProposeRetryNs = 500 * kNsPerMs;
inline constexpr uint32_t kProposeAttemptsMax = 6;    // then the initiator aborts
inline constexpr TimeNs kCommitRetryNs = 500 * kNsPerMs;
inline constexpr TimeNs kResolveRetryNs = 1 * kNsPerSec;
inline constexpr TimeNs kVaultLoadRetryNs = 1 * kNsPerSec;
// Currency: a vendor pays this for a raw item, and this times (1 + inputs) for a crafted one; a
// craft costs a fee (not crafted without it).
inline constexpr uint64_t kVendorPriceBase = 5;
inline constexpr uint64_t kCraftFee = 2;
uint64_t vendor_price(const EconomyRules& rules, uint16_t kind);

struct VaultConfig {
  NodeId node{};
  std::string listen_address;
  std::map<uint32_t, std::string> peers;              // other vaults: node -> address
  std::vector<CharacterKey> characters;               // homed here
  std::vector<std::pair<CharacterKey, uint32_t>> partners;  // characters homed elsewhere, and where
  EconomyRules rules = EconomyRules::builtin();
  uint64_t generation = 1;  // the fence of every write (the characters' ownership generation)
  TimeNs action_interval_ns = 200 * kNsPerMs;  // one simulated player action this often
  bool act = true;  // false: answer trades, start nothing
  PlantedBug planted = PlantedBug::kNone;
};

struct VaultStats {
  uint64_t loots = 0, crafts = 0, vendor_sales = 0;
  uint64_t trades_started = 0, trades_committed = 0, trades_aborted = 0, trades_done = 0;
  uint64_t writes_failed = 0, jobs_refused = 0, messages_rejected = 0, entries_refused = 0;
};

class Vault final : public Component, private NetworkHandler {
 public:
  Vault(Runtime& rt, VaultConfig cfg);
  ~Vault() override;
  void start() override;

  bool ready() const { return ready_; }
  const ItemBook& book() const { return book_; }
  const std::map<TradeId, TradeRecord>& trades() const { return trades_; }
  const VaultStats& stats() const { return stats_; }
  NodeId node() const { return cfg_.node; }
  // Trades not finished on this side (initiator: not DONE or ABORTED; responder: PREPARED).
  size_t trades_open() const;
  void set_act(bool act) { cfg_.act = act; }

 private:
  // One economic write: an entry (may be empty), an optional trade row, then what to do.
  struct Write {
    std::vector<Op> ops;
    std::optional<std::pair<TradeId, TradeRecord>> row;
    std::function<void()> on_ok;
  };
  using Job = std::function<std::optional<Write>()>;  // built when its turn comes, from the fold then

  void on_accepted(ConnId, std::string_view) override {}
  void on_connected(ConnId conn) override;
  void on_message(ConnId conn, std::span<const uint8_t> payload) override;
  void on_closed(ConnId conn, CloseReason reason) override;

  void load_ledger(uint64_t from_seq);
  void load_trades(Bytes start_after);
  void loaded();
  void tick();
  void act();
  bool enqueue(Job job);
  void run_jobs();
  void written(Write w, const Entry& entry, const WriteResult& r);
  void trace_ops(const Entry& entry, uint32_t peer_node);

  void start_loot(CharacterKey c);
  void start_craft(CharacterKey c);
  void start_sale(CharacterKey c);
  void start_trade(CharacterKey a, CharacterKey b, uint32_t b_node);
  void abort_trade(TradeId t);
  void release_as_responder(TradeId t);  // only the planted bug calls it: B deciding alone
  void handle(const VaultMessage& m);
  void send(uint32_t to, VaultMessage m);
  bool busy(CharacterKey c) const;
  bool ours(CharacterKey c) const;

  Runtime& rt_;
  VaultConfig cfg_;
  ItemBook book_;
  std::map<TradeId, TradeRecord> trades_;
  std::deque<Job> jobs_;
  bool writing_ = false;
  bool ready_ = false;
  uint64_t issued_serial_ = 0;
  TimeNs next_action_ns_ = 0;
  std::map<uint32_t, ConnId> out_;       // peer node -> connection
  std::map<uint64_t, bool> connected_;   // connection value -> connected
  VaultStats stats_;
  std::shared_ptr<char> life_ = std::make_shared<char>();
};

}  // namespace aether::economy
