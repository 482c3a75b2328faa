#pragma once
// `aether economy audit` and `aether economy rollback` (docs/persistence.md, "Audit and rollback"):
// they read vaults' stores (SQLite files, PostgreSQL databases) through the blocking backends of
// runtime/real, fold them (engine/economy/audit.h), print what they found and, for an applied
// rollback, append the compensating entries. Run them on stores no vault has open: a vault folds
// its ledger at start and does not see entries appended behind its back until it restarts.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/core/result.h"
#include "engine/economy/audit.h"
#include "engine/runtime/storage.h"

namespace aether::app {

// "sqlite:PATH", "postgres:CONNINFO", or a plain path (SQLite). A SQLite file must exist: an audit
// never creates one.
Result<std::unique_ptr<economy::StoreFold>> read_economy_store(const std::string& store, bool keep_entries);
// Appends the entries to the store's ledger, in order, synced, in as few batches as the limits allow.
Status append_economy_entries(const std::string& store, const std::vector<economy::Entry>& entries);
// Writes these rows and ledger entries to a store that holds nothing yet (the entries keep their
// sequence numbers): "sqlite:PATH" (created) or "postgres:CONNINFO" (its schema migrated). Refuses a
// store that holds a row or an entry.
Status write_store_copy(const std::string& store, const std::vector<StorageRow>& rows, const std::vector<LedgerEntry>& ledger);

struct EconomyAuditArgs {
  std::vector<std::string> stores;  // one per vault; together they are one economy
  bool verbose = false;             // list the trades in flight
  uint64_t player = 0;              // non-zero: also list this character's entries (to choose a rollback's point)
};
// Exit 0: every check holds; 1: findings (each printed with its store and entry); 2: a store could
// not be opened or read.
int run_economy_audit_command(const EconomyAuditArgs& args);

struct EconomyRollbackArgs {
  std::string store;  // the player's home vault's store
  uint64_t player = 0;
  // The point, one of the two: a ledger sequence (undo the player's entries with a higher one), or
  // a time (parse_utc_ms: undo from the first entry stamped after it, economy::rollback_point).
  uint64_t after_seq = 0;
  bool apply = false;      // false: print the plan only
  std::string after_time;  // non-empty: the point is this time, after_seq is not used
};
// "2026-12-07T21:30:00Z", "2026-12-07T21:30:00.250Z", "2026-12-07 21:30:00" (UTC) or milliseconds
// since 1970 ("1796678400000"); nullopt for anything else, or a time before 1970 or past 2286.
std::optional<uint64_t> parse_utc_ms(const std::string& text);
// "2026-12-07T21:30:00.250Z"; "unstamped" for 0.
std::string format_utc_ms(uint64_t unix_ms);
// Exit 0: planned (and appended with apply; the store audited again and holding); 1: the store
// fails its audit (nothing planned) or still fails after; 2: unreadable or the append failed.
int run_economy_rollback_command(const EconomyRollbackArgs& args);

struct CharacterAuditArgs {
  std::vector<std::string> stores;  // the cluster's stores (one shared database: one store)
  bool list = false;                // list every character's current save
};
// `aether economy characters` (docs/persistence.md §9d): the compute nodes' loot ledger against the
// characters' saves (engine/compute/character_audit.h). Exit 0: every check holds; 1: findings; 2: a
// store could not be opened or read.
int run_character_audit_command(const CharacterAuditArgs& args);

}  // namespace aether::app
