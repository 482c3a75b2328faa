#include "app/economy_audit.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>

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
          std::printf("    %s: entry %llu (key %u/%llu, %s): %s\n", f->name().c_str(), static_cast<unsigned long long>(a.seq), a.entry.key.node,
                      static_cast<unsigned long long>(a.entry.key.serial), format_utc_ms(a.entry.unix_ms).c_str(), economy::describe_entry(a.entry).c_str());
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

std::optional<uint64_t> parse_utc_ms(const std::string& text) {
  if (!text.empty() && text.size() <= 13 && text.find_first_not_of("0123456789") == std::string::npos) {
    const uint64_t ms = std::stoull(text);
    if (ms == 0 || ms > economy::kEntryUnixMsMax) return std::nullopt;
    return ms;
  }
  // YYYY-MM-DD[T ]HH:MM:SS[.mmm][Z]: each field read by position, all digits, in range.
  const auto digits = [&](size_t at, size_t n, int lo, int hi) -> std::optional<int> {
    if (at + n > text.size()) return std::nullopt;
    int v = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      v = v * 10 + (text[i] - '0');
    }
    if (v < lo || v > hi) return std::nullopt;
    return v;
  };
  if (text.size() < 19 || text[4] != '-' || text[7] != '-' || (text[10] != 'T' && text[10] != ' ') || text[13] != ':' || text[16] != ':') {
    return std::nullopt;
  }
  const auto year = digits(0, 4, 1970, 2285), month = digits(5, 2, 1, 12), day = digits(8, 2, 1, 31);
  const auto hour = digits(11, 2, 0, 23), minute = digits(14, 2, 0, 59), second = digits(17, 2, 0, 60);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  size_t at = 19;
  int millis = 0;
  if (at < text.size() && text[at] == '.') {
    const auto m = digits(at + 1, 3, 0, 999);
    if (!m) return std::nullopt;
    millis = *m;
    at += 4;
  }
  if (at < text.size() && text[at] == 'Z') ++at;
  if (at != text.size()) return std::nullopt;
  std::tm tm{};
  tm.tm_year = *year - 1900;
  tm.tm_mon = *month - 1;
  tm.tm_mday = *day;
  tm.tm_hour = *hour;
  tm.tm_min = *minute;
  tm.tm_sec = *second;
  const std::tm asked = tm;
  const time_t seconds = timegm(&tm);
  // timegm normalises (February 30th becomes March 2nd): a date it had to move did not exist.
  if (seconds < 0 || tm.tm_mday != asked.tm_mday || tm.tm_mon != asked.tm_mon) return std::nullopt;
  const uint64_t ms = static_cast<uint64_t>(seconds) * 1000 + static_cast<uint64_t>(millis);
  if (ms == 0 || ms > economy::kEntryUnixMsMax) return std::nullopt;
  return ms;
}

std::string format_utc_ms(uint64_t unix_ms) {
  if (unix_ms == 0) return "unstamped";
  const auto seconds = static_cast<time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                     unix_ms % 1000);
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
  uint64_t after_seq = args.after_seq;
  if (!args.after_time.empty()) {
    const std::optional<uint64_t> t = parse_utc_ms(args.after_time);
    if (!t) {
      std::fprintf(stderr, "aether economy rollback: --after-time %s: want 2026-12-07T21:30:00Z (UTC, optional .mmm) or milliseconds since 1970\n",
                   args.after_time.c_str());
      return 2;
    }
    const economy::RollbackPoint point = economy::rollback_point(store, *t);
    after_seq = point.after_seq;
    if (point.first_later_seq == 0) {
      std::printf("no entry on %s is stamped after %s: nothing to undo\n", store.name().c_str(), format_utc_ms(*t).c_str());
    } else {
      std::printf("the first entry stamped after %s is entry %llu (%s)\n", format_utc_ms(*t).c_str(),
                  static_cast<unsigned long long>(point.first_later_seq), format_utc_ms(point.first_later_unix_ms).c_str());
    }
    if (point.unstamped > 0) {
      std::printf("  %llu entries carry no time stamp (written before stamps, format 1): taken as before it\n",
                  static_cast<unsigned long long>(point.unstamped));
    }
    if (point.stamped_not_later > 0) {
      std::printf("  %llu entries after it are stamped at or before that time (a clock set back): undone with the rest, in ledger order\n",
                  static_cast<unsigned long long>(point.stamped_not_later));
    }
  }
  const auto now_ms = economy::entry_stamp(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  const economy::RollbackPlan plan = economy::plan_rollback(store, args.player, after_seq, now_ms);
  std::map<uint64_t, uint64_t> stamps;  // sequence -> the entry's stamp, for the plan's lines
  for (const StoreFold::Applied& a : store.applied()) stamps[a.seq] = a.entry.unix_ms;
  const auto stamp = [&](uint64_t seq) { return format_utc_ms(stamps.count(seq) ? stamps.at(seq) : 0); };
  std::printf("rollback of character %llu after entry %llu on %s (ledger 1..%llu)\n", static_cast<unsigned long long>(args.player),
              static_cast<unsigned long long>(after_seq), store.name().c_str(), static_cast<unsigned long long>(store.last_seq()));
  for (const auto& s : plan.undone) std::printf("  undo  entry %llu (%s): %s\n", static_cast<unsigned long long>(s.seq), stamp(s.seq).c_str(), s.what.c_str());
  for (const auto& s : plan.cannot) {
    std::printf("  CANNOT undo entry %llu (%s): %s\n", static_cast<unsigned long long>(s.seq), stamp(s.seq).c_str(), s.what.c_str());
  }
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
                static_cast<unsigned long long>(args.player), static_cast<unsigned long long>(after_seq));
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
