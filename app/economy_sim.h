#pragma once
// `aether economy sim`: vaults (engine/economy/vault.h) on simulated hosts, their players looting,
// crafting, selling and trading across nodes, through host crashes, storage faults and message
// faults drawn from the seed; the conservation checker (economy_checker.h) over the trace.

#include <cstdint>
#include <string>
#include <vector>

#include "app/economy_checker.h"
#include "engine/core/planted.h"

namespace aether::app {

struct EconomySimArgs {
  uint64_t seed = 1;
  uint32_t vaults = 4;
  uint32_t characters_per_vault = 6;
  uint32_t seconds = 60;       // of play with faults; then 30 s quiet for every trade to finish
  uint32_t crashes = 0;        // host crashes during play (0: one per 10 s)
  bool faults = true;          // storage and message faults
  PlantedBug planted = PlantedBug::kNone;
  std::string log_level = "error";
  economy::EconomyRules rules = economy::EconomyRules::builtin();  // or load_economy_rules(CONTENT_DIR)
  // Non-empty: at the end (or at the first violation), each vault is stopped and its disk (its rows
  // and ledger) copied to a real store, for `aether economy audit` and `rollback`: store_template
  // with {node} replaced by the vault's node ("sqlite:PATH" or "postgres:CONNINFO", an empty store),
  // or STORE_DIR/vault-NODE.sqlite.
  std::string store_dir;
  std::string store_template;
};

struct EconomySimResult {
  std::optional<EconomyViolation> violation;
  EconomyFigures figures;
  economy::VaultStats totals;
  uint64_t digest = 0;
  uint64_t crashes = 0;
  uint64_t storage_fault_windows = 0;
  std::vector<std::string> stores;  // the stores written (store_dir: the files' paths)
  std::string store_error;          // why they could not be written
};

EconomySimResult run_economy_sim(const EconomySimArgs& args);
// Prints the figures; exit code 0 when no violation.
int run_economy_sim_command(const EconomySimArgs& args);

}  // namespace aether::app
