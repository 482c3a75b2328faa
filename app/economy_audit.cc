#include "app/economy_audit.h"

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "engine/compute/character_audit.h"
#include "engine/runtime/storage_keys.h"
#include "runtime/real/storage_backend.h"

namespace aether::app {

namespace {

using economy::StoreFold;

Result<real::StorageSpec> store_spec(const std::string& store) {
  if (store.starts_with("sqlite:") || store.starts_with("postgres:")) {
    auto spec = real::parse_storage_spec(store);
    if (!spec) return spec.error();
    if (spec->kind == real::StorageSpec::Kind::kSqlite && !std::filesystem::exists(spec->target)) {
      return make_error(Error::Code::kInvalidArgument, fmt::format("{}: no such file", store));
    }
    return spec;
  }
  if (!std::filesystem::exists(store)) return make_error(Error::Code::kInvalidArgument, fmt::format("{}: no such file", store));
  return real::StorageSpec{real::StorageSpec::Kind::kSqlite, store};
}

// For reports: a connection string without its password.
std::string store_name(const real::StorageSpec& spec) {
  if (spec.kind == real::StorageSpec::Kind::kSqlite) return "sqlite:" + spec.target;
  std::string out;
  size_t start = 0;
  while (start <= spec.target.size()) {
    size_t end = spec.target.find(' ', start);
    if (end == std::string::npos) end = spec.target.size();
    std::string word = spec.target.substr(start, end - start);
    if (word.starts_with("password=")) word = "password=...";
    if (const auto at = word.find('@'), scheme = word.find("://"); at != std::string::npos && scheme != std::string::npos && at > scheme) {
      if (const auto colon = word.find(':', scheme + 3); colon != std::string::npos && colon < at) word = word.substr(0, colon) + ":..." + word.substr(at);
    }
    if (!word.empty()) out += (out.empty() ? "" : " ") + word;
    start = end + 1;
  }
  return "postgres:" + out;
}

// Writes batches of at most the store's limits, one synced commit each.
Status write_batches(real::StorageBackend& backend, std::vector<WriteOp> ops, std::vector<uint64_t>* seqs) {
  WriteBatch batch;
  size_t bytes = 0;
  const auto flush = [&]() -> Status {
    if (batch.ops.empty()) return ok_status();
    batch.sync = true;
    const std::vector<WriteResult> r = backend.write_group({&batch});
    if (r.size() != 1 || !r[0].status.ok()) {
      return make_error(Error::Code::kIo, fmt::format("{}: write failed: {}", backend.describe(), r.empty() ? "no result" : r[0].status.reason));
    }
    if (seqs) seqs->insert(seqs->end(), r[0].ledger_seqs.begin(), r[0].ledger_seqs.end());
    batch.ops.clear();
    bytes = 0;
    return ok_status();
  };
  for (WriteOp& op : ops) {
    const size_t size = op.key.size() + op.value.size();
    if (batch.ops.size() + 1 > kStorageBatchOpsMax || bytes + size > kStorageBatchBytesMax) {
      if (Status s = flush(); !s) return s;
    }
    bytes += size;
    batch.ops.push_back(std::move(op));
  }
  return flush();
}

void print_findings(const std::vector<economy::AuditFinding>& findings, uint64_t total) {
  std::printf("FINDINGS: %llu\n", static_cast<unsigned long long>(total));
  for (const economy::AuditFinding& f : findings) {
    if (f.seq) std::printf("  %s: entry %llu: %s\n", f.store.c_str(), static_cast<unsigned long long>(f.seq), f.what.c_str());
    else std::printf("  %s: %s\n", f.store.c_str(), f.what.c_str());
  }
  if (total > findings.size()) std::printf("  ... and %llu more\n", static_cast<unsigned long long>(total - findings.size()));
}

// The whole ledger, in pages; past a page that fails to read back (a bad checksum, a missing or
// malformed row) its entries are read one by one, so that each bad sequence is reported (on_unreadable)
// and the rest read. Sets `last` to the highest sequence seen; returns the status of a read that
// failed otherwise (ok when the ledger was read to its end).
template <class OnEntry, class OnUnreadable>
StorageStatus read_ledger_pages(real::StorageBackend& db, uint64_t& last, OnEntry on_entry, OnUnreadable on_unreadable) {
  uint64_t from = 1, singles_until = 0;
  last = 0;
  for (;;) {
    const size_t limit = from < singles_until ? 1 : kStorageLedgerReadMax;
    LedgerResult r = db.read_ledger(from, limit);
    last = std::max(last, r.last_seq);
    if (r.status.code == StorageCode::kCorrupt) {
      if (limit > 1) {
        singles_until = from + kStorageLedgerReadMax;
        continue;
      }
      on_unreadable(from, r.status.reason);
      if (++from > last) break;
      continue;
    }
    if (!r.status.ok()) return r.status;
    for (const LedgerEntry& e : r.entries) on_entry(e);
    if (r.entries.empty()) break;
    from += r.entries.size();
    if (from > last) break;
  }
  return StorageStatus{};
}

// Every row under `prefix`, in key order. A page that does not read back ends the scan
// (on_unreadable: the rows after it are not read); returns the status of a read that failed otherwise.
template <class OnRow, class OnUnreadable>
StorageStatus scan_prefix(real::StorageBackend& db, const Bytes& prefix, OnRow on_row, OnUnreadable on_unreadable) {
  Bytes after;
  for (;;) {
    ScanResult r = db.scan(prefix, after, kStorageScanRowsMax);
    if (r.status.code == StorageCode::kCorrupt) {
      on_unreadable(r.status.reason);
      break;
    }
    if (!r.status.ok()) return r.status;
    for (const StorageRow& row : r.rows) on_row(row);
    if (!r.more || r.rows.empty()) break;
    after = r.rows.back().key;
  }
  return StorageStatus{};
}

}  // namespace

Result<std::unique_ptr<StoreFold>> read_economy_store(const std::string& store, bool keep_entries) {
  auto spec = store_spec(store);
  if (!spec) return spec.error();
  auto backend = real::open_backend(*spec);
  if (!backend) return backend.error();
  real::StorageBackend& db = **backend;
  auto fold = std::make_unique<StoreFold>(store_name(*spec), keep_entries);
  uint64_t last = 0;
  const StorageStatus ledger = read_ledger_pages(
      db, last, [&](const LedgerEntry& e) { fold->entry(e.seq, e.entry); },
      [&](uint64_t seq, const std::string& reason) { fold->unreadable(seq, reason); });
  if (!ledger.ok()) return make_error(Error::Code::kIo, fmt::format("{}: cannot read the ledger: {}", fold->name(), ledger.reason));
  fold->last_seq(last);
  const StorageStatus trades = scan_prefix(
      db, StorageKey("trade").take(), [&](const StorageRow& row) { fold->trade_row(row.key, row.value); },
      [&](const std::string& reason) { fold->rows_unreadable(reason); });
  if (!trades.ok()) return make_error(Error::Code::kIo, fmt::format("{}: cannot read the trade rows: {}", fold->name(), trades.reason));
  fold->finish();
  return fold;
}

Status append_economy_entries(const std::string& store, const std::vector<economy::Entry>& entries) {
  auto spec = store_spec(store);
  if (!spec) return spec.error();
  auto backend = real::open_backend(*spec);
  if (!backend) return backend.error();
  std::vector<WriteOp> ops;
  for (const economy::Entry& e : entries) ops.push_back(WriteOp{WriteOp::Kind::kAppend, {}, economy::encode_entry(e), 0});
  return write_batches(**backend, std::move(ops), nullptr);
}

Status write_store_copy(const std::string& store, const std::vector<StorageRow>& rows, const std::vector<LedgerEntry>& ledger) {
  auto spec = real::parse_storage_spec(store);
  if (!spec) return spec.error();
  auto backend = real::open_backend(*spec);
  if (!backend) return backend.error();
  real::StorageBackend& db = **backend;
  const LedgerResult l = db.read_ledger(1, 1);
  const ScanResult r = db.scan({}, {}, 1);
  if (!l.status.ok() || !r.status.ok() || l.last_seq > 0 || !r.rows.empty()) {
    return make_error(Error::Code::kInvalidArgument, fmt::format("{}: not an empty store: choose another", store_name(*spec)));
  }
  std::vector<WriteOp> ops;
  for (const StorageRow& row : rows) ops.push_back(WriteOp{WriteOp::Kind::kPut, row.key, row.value, row.fence});
  for (const LedgerEntry& e : ledger) ops.push_back(WriteOp{WriteOp::Kind::kAppend, {}, e.entry, 0});
  std::vector<uint64_t> seqs;
  if (Status s = write_batches(db, std::move(ops), &seqs); !s) return s;
  for (size_t i = 0; i < ledger.size(); ++i) {
    if (i >= seqs.size() || seqs[i] != ledger[i].seq) {
      return make_error(Error::Code::kState, fmt::format("{}: entry {} was stored as {}", store_name(*spec), ledger[i].seq, i < seqs.size() ? seqs[i] : 0));
    }
  }
  return ok_status();
}

int run_economy_audit_command(const EconomyAuditArgs& args) {
  std::vector<std::unique_ptr<StoreFold>> folds;
  for (const std::string& store : args.stores) {
    auto fold = read_economy_store(store, args.player != 0);
    if (!fold) {
      std::fprintf(stderr, "aether economy audit: %s\n", fold.error().message.c_str());
      return 2;
    }
    folds.push_back(std::move(*fold));
  }
  std::vector<const StoreFold*> view;
  for (const auto& f : folds) view.push_back(f.get());
  const economy::AuditReport report = economy::audit_economy(view);
  std::printf("economy audit: %zu store(s)\n", folds.size());
  for (const auto& f : folds) {
    std::printf("  %s: node %u, ledger 1..%llu: %llu entries read, %llu applied, %llu retried appends counted once, %zu trade rows\n", f->name().c_str(),
                f->node(), static_cast<unsigned long long>(f->last_seq()), static_cast<unsigned long long>(f->entries_read()),
                static_cast<unsigned long long>(f->entries_applied()), static_cast<unsigned long long>(f->retried_appends()), f->trades().size());
  }
  for (const auto& [kind, c] : report.kinds) {
    const uint64_t alive = report.alive.count(kind) ? report.alive.at(kind) : 0;
    std::printf("  item kind %u: created %llu, restored %llu, destroyed %llu, alive %llu\n", kind, static_cast<unsigned long long>(c.created),
                static_cast<unsigned long long>(c.restored), static_cast<unsigned long long>(c.destroyed), static_cast<unsigned long long>(alive));
  }
  std::printf("  trades in flight: %zu; crossings to stores not given: %llu out, %llu in (not matched)\n", report.in_flight.size(),
              static_cast<unsigned long long>(report.exported), static_cast<unsigned long long>(report.imported));
  if (args.verbose) {
    for (const std::string& t : report.in_flight) std::printf("    %s\n", t.c_str());
  }
  std::printf("  currency: paid %llu - taken %llu = %llu, held %llu\n", static_cast<unsigned long long>(report.currency.minted),
              static_cast<unsigned long long>(report.currency.burned), static_cast<unsigned long long>(report.currency.minted - report.currency.burned),
              static_cast<unsigned long long>(report.currency.balances));
  if (args.player != 0) {
    std::printf("  entries of character %llu:\n", static_cast<unsigned long long>(args.player));
    for (const auto& f : folds) {
      for (const StoreFold::Applied& a : f->applied()) {
        if (economy::touches(a.entry, args.player)) {
          std::printf("    %s: entry %llu (key %u/%llu): %s\n", f->name().c_str(), static_cast<unsigned long long>(a.seq), a.entry.key.node,
                      static_cast<unsigned long long>(a.entry.key.serial), economy::describe_entry(a.entry).c_str());
        }
      }
    }
  }
  if (!report.ok()) {
    print_findings(report.findings, report.findings_total);
    std::printf("audit: VIOLATION\n");
    return 1;
  }
  std::printf("audit: conservation holds\n");
  return 0;
}

int run_economy_rollback_command(const EconomyRollbackArgs& args) {
  auto fold = read_economy_store(args.store, true);
  if (!fold) {
    std::fprintf(stderr, "aether economy rollback: %s\n", fold.error().message.c_str());
    return 2;
  }
  const StoreFold& store = **fold;
  const economy::AuditReport before = economy::audit_economy({&store});
  if (!before.ok()) {
    print_findings(before.findings, before.findings_total);
    std::printf("rollback refused: %s fails its audit; investigate or restore a backup first (docs/persistence.md)\n", store.name().c_str());
    return 1;
  }
  const economy::RollbackPlan plan = economy::plan_rollback(store, args.player, args.after_seq);
  std::printf("rollback of character %llu after entry %llu on %s (ledger 1..%llu)\n", static_cast<unsigned long long>(args.player),
              static_cast<unsigned long long>(args.after_seq), store.name().c_str(), static_cast<unsigned long long>(store.last_seq()));
  for (const auto& s : plan.undone) std::printf("  undo  entry %llu: %s\n", static_cast<unsigned long long>(s.seq), s.what.c_str());
  for (const auto& s : plan.cannot) std::printf("  CANNOT undo entry %llu: %s\n", static_cast<unsigned long long>(s.seq), s.what.c_str());
  for (const auto& s : plan.already) std::printf("  already undone: entry %llu (%s)\n", static_cast<unsigned long long>(s.seq), s.what.c_str());
  // The plan must fold on the store as it is (it was made from this fold; a refusal here is a bug).
  StoreFold check = store;
  uint64_t seq = store.last_seq();
  for (const economy::Entry& e : plan.entries) check.entry(++seq, economy::encode_entry(e));
  if (check.findings_total() != store.findings_total()) {
    print_findings(check.findings(), check.findings_total());
    std::printf("rollback refused: its compensating entries do not fold; nothing appended\n");
    return 1;
  }
  if (plan.undone.empty() && plan.cannot.empty() && plan.already.empty()) {
    std::printf("  no entry of character %llu after entry %llu here (is this the character's home vault's store?)\n",
                static_cast<unsigned long long>(args.player), static_cast<unsigned long long>(args.after_seq));
  }
  std::printf("%zu compensating entries, %zu entries that cannot be undone, %zu already undone\n", plan.entries.size(), plan.cannot.size(), plan.already.size());
  if (!args.apply) {
    std::printf("dry run: nothing appended (--apply appends the compensating entries)\n");
    return 0;
  }
  if (plan.entries.empty()) {
    std::printf("nothing to append\n");
    return 0;
  }
  if (Status s = append_economy_entries(args.store, plan.entries); !s) {
    std::fprintf(stderr, "aether economy rollback: %s\n", s.error().message.c_str());
    return 2;
  }
  auto after = read_economy_store(args.store, false);
  if (!after) {
    std::fprintf(stderr, "aether economy rollback: appended, but cannot read the store again: %s\n", after.error().message.c_str());
    return 2;
  }
  const economy::AuditReport report = economy::audit_economy({after->get()});
  if (!report.ok()) {
    print_findings(report.findings, report.findings_total);
    std::printf("rollback appended %zu entries, but the store now fails its audit\n", plan.entries.size());
    return 1;
  }
  std::printf("appended %zu compensating entries (ledger now 1..%llu); the store's audit holds\n", plan.entries.size(),
              static_cast<unsigned long long>((*after)->last_seq()));
  return 0;
}

int run_character_audit_command(const CharacterAuditArgs& args) {
  if (args.stores.empty()) {
    std::fprintf(stderr, "aether economy characters: give the cluster's store (--store FILE, --postgres CONNINFO)\n");
    return 2;
  }
  CharacterAudit audit;
  std::vector<std::string> unreadable;
  for (const std::string& store : args.stores) {
    auto spec = store_spec(store);
    if (!spec) {
      std::fprintf(stderr, "aether economy characters: %s\n", spec.error().message.c_str());
      return 2;
    }
    auto backend = real::open_backend(*spec);
    if (!backend) {
      std::fprintf(stderr, "aether economy characters: %s\n", backend.error().message.c_str());
      return 2;
    }
    real::StorageBackend& db = **backend;
    const std::string name = store_name(*spec);
    // An entry or a save page that does not read back is a finding; the rest is read around it.
    uint64_t last = 0;
    const StorageStatus ledger = read_ledger_pages(
        db, last, [&](const LedgerEntry& e) { audit.entry(e.seq, e.entry); },
        [&](uint64_t seq, const std::string& reason) { unreadable.push_back(fmt::format("{}: entry {}: unreadable: {}", name, seq, reason)); });
    if (!ledger.ok()) {
      std::fprintf(stderr, "aether economy characters: %s: cannot read the ledger: %s\n", name.c_str(), ledger.reason.c_str());
      return 2;
    }
    const StorageStatus saves = scan_prefix(
        db, StorageKey("charsave").take(), [&](const StorageRow& row) { audit.row(row.key, row.value); },
        [&](const std::string& reason) { unreadable.push_back(fmt::format("{}: a save row is unreadable: {}", name, reason)); });
    if (!saves.ok()) {
      std::fprintf(stderr, "aether economy characters: %s: cannot read the saves: %s\n", name.c_str(), saves.reason.c_str());
      return 2;
    }
  }
  audit.finish();
  const CharacterAuditReport& a = audit.report();
  std::printf("ledger: %llu entries, %llu loot entries (%llu retried appends), %llu items created\n", static_cast<unsigned long long>(a.entries),
              static_cast<unsigned long long>(a.loot_entries), static_cast<unsigned long long>(a.retried), static_cast<unsigned long long>(a.items_created));
  std::printf("saves: %llu rows, %llu characters, %llu items held (%llu made for an earlier avatar, %llu without a ledger entry)\n",
              static_cast<unsigned long long>(a.saves), static_cast<unsigned long long>(a.characters), static_cast<unsigned long long>(a.items_held),
              static_cast<unsigned long long>(a.held_earlier), static_cast<unsigned long long>(a.held_without_entry));
  std::printf("created, held by no current save: %llu made for no character's current avatar, %llu only in a superseded save\n",
              static_cast<unsigned long long>(a.not_current_avatar), static_cast<unsigned long long>(a.held_superseded));
  if (args.list) {
    for (const auto& [character, save] : audit.current()) {
      std::string items;
      for (const LootItem& i : save.inventory) items += (items.empty() ? "" : " ") + loot_item_name(i);
      std::printf("character %llu life %u entity %llu class %u level %u experience %d items [%s]\n", static_cast<unsigned long long>(character.value),
                  save.life, static_cast<unsigned long long>(save.entity.value), save.class_id, save.level, save.experience, items.c_str());
    }
  }
  const uint64_t total = a.findings_total + unreadable.size();
  std::printf("FINDINGS: %llu\n", static_cast<unsigned long long>(total));
  for (const std::string& u : unreadable) std::printf("  %s\n", u.c_str());
  for (const std::string& f : a.findings) std::printf("  %s\n", f.c_str());
  if (a.findings_total > a.findings.size()) std::printf("  ... and %llu more\n", static_cast<unsigned long long>(a.findings_total - a.findings.size()));
  return total == 0 ? 0 : 1;
}

}  // namespace aether::app
