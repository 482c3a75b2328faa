#pragma once
// The economy's conservation checker (docs/persistence.md, "The economy"): it follows every item
// from the trace records of the vaults and compares what it follows with what every live vault
// holds. A vault records an entry's operations when its write is accepted; they count from the
// moment the entry is durable: kEconApplied (the write completed ok), or kEconRecovered after a
// crash showing the store kept it. kEconFailed, or a recovery without it, drops them.
//
// Where an item is, in the checker's model: held by one character on one node; escrowed by one
// trade on one node; or in flight (its trade committed at the initiator, the responder has not
// caught up). At every record:
//   creation     an item is created once: it was never seen before (every history starts with it);
//   movement     an item leaves only where the model has it (held by that character, escrowed by
//                that trade): a record that moves an item the model places elsewhere is an item
//                in two places, a duplication;
//   the vault    the vault that made the record holds in its fold exactly the items the model
//                places there (held, by the same character): none missing (lost), none extra
//                (duplicated);
// and at finish(), once the run is quiet: no trade open, nothing in flight or escrowed, every
// vault's fold equal to the model, and totals per kind equal creations minus destructions.
// Currency the same way: a character spends only what it has, every vault's balances equal the
// model's, and the balances add up to what sources paid minus what sinks took.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/economy/vault.h"
#include "engine/runtime/trace.h"

namespace aether::app {

struct EconomyViolation {
  TimeNs time_ns = 0;
  std::string what;
};

struct EconomyFigures {
  uint64_t records = 0;
  uint64_t created = 0, destroyed = 0, escrowed = 0, released = 0, committed = 0, landed = 0;
  uint64_t vault_checks = 0;
  uint64_t items_alive = 0;
  uint64_t minted = 0, burned = 0;  // currency: paid by sources, taken by sinks
};

class EconomyChecker {
 public:
  // vault(node) gives the live, recovered vault of a node, or null.
  explicit EconomyChecker(std::function<const economy::Vault*(uint32_t)> vault) : vault_(std::move(vault)) {}
  void on_record(const TraceEvent& r);
  // The quiet end: every trade finished, every vault agrees with the model.
  void finish(TimeNs now, const std::vector<uint32_t>& nodes);
  const std::optional<EconomyViolation>& violation() const { return violation_; }
  const EconomyFigures& figures() const { return figures_; }

 private:
  enum class Where : uint8_t { kHeld, kEscrowed, kInFlight };
  struct Place {
    Where where = Where::kHeld;
    uint16_t kind = 0;
    uint64_t character = 0;
    uint32_t node = 0;
    uint64_t trade = 0;
  };
  void fail(TimeNs now, std::string what);
  void apply(const TraceEvent& r);  // one operation of a durable entry
  void check_vault(TimeNs now, uint32_t node);
  std::string describe(uint64_t item) const;

  std::function<const economy::Vault*(uint32_t)> vault_;
  std::map<uint64_t, Place> items_;
  std::set<uint64_t> ever_;       // every item id ever created
  std::set<uint64_t> committed_;  // trades past their commit point
  std::map<uint32_t, std::vector<TraceEvent>> pending_;  // per node: the operations of its entry in flight
  std::map<uint16_t, int64_t> created_by_kind_, destroyed_by_kind_;
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> balances_;  // (node, character) -> currency, above 0
  std::optional<EconomyViolation> violation_;
  EconomyFigures figures_;
};

}  // namespace aether::app
