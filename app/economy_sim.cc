#include "app/economy_sim.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <vector>

#include <fmt/format.h>

#include "app/economy_audit.h"
#include "engine/core/random.h"
#include "runtime/sim/simulation.h"

namespace aether::app {

namespace {

constexpr uint32_t kVaultNodeBase = 301;
constexpr TimeNs kQuietNs = 30 * kNsPerSec;
constexpr TimeNs kCheckerStartNs = 5 * kNsPerSec;  // crashes and faults begin after this

std::string vault_address(uint32_t i) { return fmt::format("vault-{}:7300", i + 1); }

// One host's disk read through its Storage, as the vault reads it: every row, then the ledger.
struct DiskCopy {
  std::vector<StorageRow> rows;
  std::vector<LedgerEntry> ledger;
  bool done = false;
  std::string error;
};

void copy_rows(Storage& storage, DiskCopy& copy, Bytes after) {
  const StorageCode code = storage.scan({}, after, kStorageScanRowsMax, [&storage, &copy](ScanResult r) {
    if (!r.status.ok()) {
      copy.error = r.status.reason;
      return;
    }
    copy.rows.insert(copy.rows.end(), r.rows.begin(), r.rows.end());
    if (r.more && !r.rows.empty()) return copy_rows(storage, copy, copy.rows.back().key);
    copy.done = true;
  });
  if (code != StorageCode::kOk) copy.error = storage_code_name(code);
}

void copy_ledger(Storage& storage, DiskCopy& copy, uint64_t from) {
  const StorageCode code = storage.read_ledger(from, kStorageLedgerReadMax, [&storage, &copy, from](LedgerResult r) {
    if (!r.status.ok()) {
      copy.error = r.status.reason;
      return;
    }
    copy.ledger.insert(copy.ledger.end(), r.entries.begin(), r.entries.end());
    const uint64_t next = from + r.entries.size();
    if (!r.entries.empty() && next <= r.last_seq) return copy_ledger(storage, copy, next);
    copy_rows(storage, copy, {});
  });
  if (code != StorageCode::kOk) copy.error = storage_code_name(code);
}

}  // namespace

EconomySimResult run_economy_sim(const EconomySimArgs& args) {
  EconomySimResult result;
  sim::SimOptions options;
  options.seed = args.seed;
  options.log_level = args.log_level == "warn" ? LogLevel::kWarn : args.log_level == "info" ? LogLevel::kInfo : LogLevel::kError;
  sim::Simulation sim(options);

  std::vector<economy::VaultConfig> configs(args.vaults);
  std::vector<std::pair<economy::CharacterKey, uint32_t>> everyone;
  for (uint32_t i = 0; i < args.vaults; ++i) {
    for (uint32_t c = 0; c < args.characters_per_vault; ++c) everyone.emplace_back(uint64_t{1000} * (i + 1) + c + 1, kVaultNodeBase + i);
  }
  for (uint32_t i = 0; i < args.vaults; ++i) {
    economy::VaultConfig& cfg = configs[i];
    cfg.node = NodeId(kVaultNodeBase + i);
    cfg.listen_address = vault_address(i);
    cfg.planted = args.planted;
    cfg.rules = args.rules;
    for (uint32_t j = 0; j < args.vaults; ++j) {
      if (j != i) cfg.peers[kVaultNodeBase + j] = vault_address(j);
    }
    for (const auto& [c, node] : everyone) {
      if (node == cfg.node.value) cfg.characters.push_back(c);
      else cfg.partners.emplace_back(c, node);
    }
    sim.add_host(fmt::format("vault-{}", i + 1), cfg.node);
  }
  const auto vault_of = [&](uint32_t node) -> economy::Vault* {
    if (node < kVaultNodeBase || node >= kVaultNodeBase + args.vaults) return nullptr;
    sim::Host* h = sim.host(node - kVaultNodeBase);
    if (!h || !h->alive()) return nullptr;
    return dynamic_cast<economy::Vault*>(h->component());
  };
  EconomyChecker checker([&](uint32_t node) -> const economy::Vault* { return vault_of(node); });
  sim.set_trace_observer([&](const TraceEvent& e) { checker.on_record(e); });
  const auto boot = [&](uint32_t i) { sim.host(i)->attach(std::make_unique<economy::Vault>(sim.host(i)->runtime(), configs[i])); };
  for (uint32_t i = 0; i < args.vaults; ++i) boot(i);

  // The fault schedule, from the seed (a stream of its own: the hosts' streams stay as they are).
  Xoshiro256 draw(args.seed * 0x9e3779b97f4a7c15ULL + 0xeC0);
  const TimeNs play_end = static_cast<TimeNs>(args.seconds) * kNsPerSec;
  const uint32_t crashes = args.crashes ? args.crashes : std::max<uint32_t>(1, args.seconds / 10);
  for (uint32_t k = 0; k < crashes; ++k) {
    const TimeNs at = uniform_range(draw, kCheckerStartNs, play_end - 2 * kNsPerSec);
    const auto host = static_cast<uint32_t>(uniform_below(draw, args.vaults));
    const TimeNs down = uniform_range(draw, 200 * kNsPerMs, 3 * kNsPerSec);
    sim.kernel().schedule_at(at, [&, host, down] {
      if (!sim.host(host)->alive()) return;
      sim.host(host)->crash();
      ++result.crashes;
      sim.kernel().schedule_at(sim.now() + down, [&, host] {
        if (sim.host(host)->alive()) return;
        sim.restart_host(host);
        boot(host);
      });
    });
  }
  if (args.faults) {
    const uint32_t windows = std::max<uint32_t>(1, args.seconds / 8);
    for (uint32_t k = 0; k < windows; ++k) {
      const TimeNs at = uniform_range(draw, kCheckerStartNs, play_end - 2 * kNsPerSec);
      const auto host = static_cast<uint32_t>(uniform_below(draw, args.vaults));
      const TimeNs duration = uniform_range(draw, 1 * kNsPerSec, 6 * kNsPerSec);
      sim::StorageFaults f;
      switch (uniform_below(draw, 4)) {
        case 0: f.write_fail_permille = static_cast<uint32_t>(uniform_range(draw, 50, 400)); break;
        case 1: f.sync_stall_ns = uniform_range(draw, 20 * kNsPerMs, 800 * kNsPerMs); break;
        case 2: f.latency_ns = uniform_range(draw, 1 * kNsPerMs, 50 * kNsPerMs); break;
        default: f.disk_full = true; break;
      }
      sim.kernel().schedule_at(at, [&, host, f, duration] {
        sim.set_storage_faults(host, f);
        ++result.storage_fault_windows;
        sim.kernel().schedule_at(sim.now() + duration, [&, host] { sim.set_storage_faults(host, sim::StorageFaults{}); });
      });
    }
    // Lossy, duplicating, reordering links between two vaults for a while.
    for (uint32_t k = 0; k < windows; ++k) {
      const TimeNs at = uniform_range(draw, kCheckerStartNs, play_end - 2 * kNsPerSec);
      const auto from = static_cast<size_t>(uniform_below(draw, args.vaults));
      const auto to = static_cast<size_t>(uniform_below(draw, args.vaults));
      const TimeNs duration = uniform_range(draw, 1 * kNsPerSec, 5 * kNsPerSec);
      if (from == to) continue;
      sim::LinkFaults lf;
      lf.loss_permille = static_cast<uint32_t>(uniform_range(draw, 0, 300));
      lf.duplicate_permille = static_cast<uint32_t>(uniform_range(draw, 0, 200));
      lf.reorder_permille = static_cast<uint32_t>(uniform_range(draw, 0, 200));
      sim.kernel().schedule_at(at, [&, from, to, lf, duration] {
        sim.set_link_faults(from, to, lf);
        sim.kernel().schedule_at(sim.now() + duration, [&, from, to] { sim.set_link_faults(from, to, sim::LinkFaults{}); });
      });
    }
  }
  // The quiet end: faults over, every host up, players stop starting things; trades finish.
  sim.kernel().schedule_at(play_end, [&] {
    for (uint32_t i = 0; i < args.vaults; ++i) {
      sim.set_storage_faults(i, sim::StorageFaults{});
      if (!sim.host(i)->alive()) {
        sim.restart_host(i);
        configs[i].act = false;
        boot(i);
      }
      configs[i].act = false;
      if (economy::Vault* v = vault_of(kVaultNodeBase + i)) v->set_act(false);
    }
  });
  for (TimeNs t = kNsPerSec; t <= play_end + kQuietNs && !checker.violation(); t += kNsPerSec) sim.run_until(t);
  std::vector<uint32_t> nodes;
  for (uint32_t i = 0; i < args.vaults; ++i) nodes.push_back(kVaultNodeBase + i);
  if (!checker.violation()) checker.finish(sim.now(), nodes);
  result.violation = checker.violation();
  result.figures = checker.figures();
  for (uint32_t i = 0; i < args.vaults; ++i) {
    if (const economy::Vault* v = vault_of(kVaultNodeBase + i)) {
      const economy::VaultStats& s = v->stats();
      result.totals.loots += s.loots;
      result.totals.crafts += s.crafts;
      result.totals.vendor_sales += s.vendor_sales;
      result.totals.trades_started += s.trades_started;
      result.totals.trades_committed += s.trades_committed;
      result.totals.trades_aborted += s.trades_aborted;
      result.totals.trades_done += s.trades_done;
      result.totals.writes_failed += s.writes_failed;
    }
  }
  result.digest = sim.trace_digest();
  if (!args.store_dir.empty() || !args.store_template.empty()) {
    // Each vault stops first (its host crashes: every economic write is synced, so the disk keeps
    // all of them, as a SQLite file keeps them through a SIGKILL) and its host comes back empty, so
    // that the ledger and the rows are read from one unchanging disk.
    std::vector<DiskCopy> copies(args.vaults);
    for (uint32_t i = 0; i < args.vaults; ++i) {
      if (sim.host(i)->alive()) sim.host(i)->crash();
      sim.restart_host(i);
      copy_ledger(sim.host(i)->storage(), copies[i], 1);
    }
    const auto pending = [&] {
      return std::any_of(copies.begin(), copies.end(), [](const DiskCopy& c) { return !c.done && c.error.empty(); });
    };
    for (int k = 0; k < 600 && pending(); ++k) sim.run_until(sim.now() + kNsPerSec / 10);
    std::error_code ec;
    if (!args.store_dir.empty()) std::filesystem::create_directories(args.store_dir, ec);
    for (uint32_t i = 0; i < args.vaults && result.store_error.empty(); ++i) {
      const std::string node = std::to_string(kVaultNodeBase + i);
      const std::string path = fmt::format("{}/vault-{}.sqlite", args.store_dir, node);
      std::string store = args.store_template;
      for (size_t at; (at = store.find("{node}")) != std::string::npos;) store.replace(at, 6, node);
      if (store.empty()) store = "sqlite:" + path;
      if (!args.store_dir.empty() && std::filesystem::exists(path)) {
        result.store_error = fmt::format("{} exists: remove it or choose another directory", path);
      } else if (!copies[i].done) {
        result.store_error = fmt::format("vault {}: its disk could not be read: {}", node, copies[i].error.empty() ? "timed out" : copies[i].error);
      } else if (Status s = write_store_copy(store, copies[i].rows, copies[i].ledger); !s) {
        result.store_error = s.error().message;
      } else {
        result.stores.push_back(args.store_template.empty() ? path : fmt::format("vault {}", node));
      }
    }
  }
  sim.finish();
  return result;
}

int run_economy_sim_command(const EconomySimArgs& args) {
  const EconomySimResult r = run_economy_sim(args);
  const EconomyFigures& f = r.figures;
  std::printf("economy sim: seed %llu, %u vaults x %u characters, %u s of play + %lld s quiet\n", static_cast<unsigned long long>(args.seed), args.vaults,
              args.characters_per_vault, args.seconds, static_cast<long long>(kQuietNs / kNsPerSec));
  std::printf("  faults: %llu host crashes, %llu storage fault windows\n", static_cast<unsigned long long>(r.crashes),
              static_cast<unsigned long long>(r.storage_fault_windows));
  std::printf("  items: %llu created, %llu destroyed, %llu alive at the end\n", static_cast<unsigned long long>(f.created),
              static_cast<unsigned long long>(f.destroyed), static_cast<unsigned long long>(f.items_alive));
  std::printf("  trades: %llu escrows, %llu committed, %llu landed, %llu released (aborted sides)\n", static_cast<unsigned long long>(f.escrowed),
              static_cast<unsigned long long>(f.committed), static_cast<unsigned long long>(f.landed), static_cast<unsigned long long>(f.released));
  std::printf("  currency: %llu paid by vendors, %llu taken by craft fees, %llu held at the end\n", static_cast<unsigned long long>(f.minted),
              static_cast<unsigned long long>(f.burned), static_cast<unsigned long long>(f.minted - f.burned));
  std::printf("  checker: %llu records, %llu vault checks\n", static_cast<unsigned long long>(f.records), static_cast<unsigned long long>(f.vault_checks));
  std::printf("  trace digest %016llx\n", static_cast<unsigned long long>(r.digest));
  for (const std::string& path : r.stores) std::printf("  store written: %s\n", path.c_str());
  if (!r.store_error.empty()) {
    std::printf("stores not written: %s\n", r.store_error.c_str());
    return 2;
  }
  if (r.violation) {
    std::printf("VIOLATION at %.6f s: %s\n", static_cast<double>(r.violation->time_ns) / kNsPerSec, r.violation->what.c_str());
    return 1;
  }
  std::printf("conservation holds\n");
  return 0;
}

}  // namespace aether::app
