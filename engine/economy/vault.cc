#include "engine/economy/vault.h"

#include <algorithm>

#include "engine/core/assert.h"
#include "engine/core/random.h"
#include "engine/runtime/storage_keys.h"
#include "engine/wire/bytes.h"

namespace aether::economy {

namespace {
constexpr uint8_t kTradeRecordVersion = 1;
constexpr uint8_t kVaultMessageVersion = 1;

Bytes econ_key(CharacterKey c) { return StorageKey("econ").u64(c).take(); }
}  // namespace

EconomyRules EconomyRules::builtin() {
  EconomyRules r;
  r.items = {{1, "ore"}, {2, "herb"}, {3, "potion"}, {4, "sword"}};
  r.nothing_weight = 2;
  r.drops = {{1, 4}, {2, 4}};
  r.recipes = {{3, {1, 2}}, {4, {1, 1}}};
  return r;
}

Bytes trade_key(TradeId t) { return StorageKey("trade").u64(t).take(); }

Bytes encode_trade(const TradeRecord& r) {
  Bytes out;
  ByteWriter w(out);
  w.u8(kTradeRecordVersion);
  w.u8(static_cast<uint8_t>(r.state));
  w.u8(static_cast<uint8_t>(r.role));
  w.varint(r.a);
  w.varint(r.b);
  w.varint(r.a_node);
  w.varint(r.b_node);
  w.varint(r.item_a);
  w.varint(r.kind_a);
  w.varint(r.item_b);
  w.varint(r.kind_b);
  w.varint(r.want_kind);
  return out;
}

std::optional<TradeRecord> decode_trade(std::span<const uint8_t> bytes) {
  ByteReader rd(bytes);
  TradeRecord r;
  if (rd.u8() != kTradeRecordVersion) return std::nullopt;
  const uint8_t state = rd.u8();
  const uint8_t role = rd.u8();
  if (state < 1 || state > 4 || role < 1 || role > 2) return std::nullopt;
  r.state = static_cast<TradeState>(state);
  r.role = static_cast<TradeRole>(role);
  r.a = rd.varint();
  r.b = rd.varint();
  r.a_node = static_cast<uint32_t>(rd.varint_at_most(UINT32_MAX, "node"));
  r.b_node = static_cast<uint32_t>(rd.varint_at_most(UINT32_MAX, "node"));
  r.item_a = rd.varint();
  r.kind_a = static_cast<uint16_t>(rd.varint_at_most(kItemKindMax, "kind"));
  r.item_b = rd.varint();
  r.kind_b = static_cast<uint16_t>(rd.varint_at_most(kItemKindMax, "kind"));
  r.want_kind = static_cast<uint16_t>(rd.varint_at_most(kItemKindMax, "kind"));
  if (!rd.ok() || !rd.at_end()) return std::nullopt;
  return r;
}

Bytes encode_vault_message(const VaultMessage& m) {
  Bytes out;
  ByteWriter w(out);
  w.u8(kVaultMessageVersion);
  w.u8(static_cast<uint8_t>(m.type));
  w.varint(m.from);
  w.varint(m.trade);
  w.varint(m.a);
  w.varint(m.b);
  w.varint(m.item);
  w.varint(m.item_kind);
  w.varint(m.want_kind);
  return out;
}

std::optional<VaultMessage> decode_vault_message(std::span<const uint8_t> bytes) {
  ByteReader rd(bytes);
  VaultMessage m;
  if (rd.u8() != kVaultMessageVersion) return std::nullopt;
  const uint8_t type = rd.u8();
  if (type < 1 || type > 7) return std::nullopt;
  m.type = static_cast<VaultMsgType>(type);
  m.from = static_cast<uint32_t>(rd.varint_at_most(UINT32_MAX, "node"));
  m.trade = rd.varint();
  m.a = rd.varint();
  m.b = rd.varint();
  m.item = rd.varint();
  m.item_kind = static_cast<uint16_t>(rd.varint_at_most(kItemKindMax, "kind"));
  m.want_kind = static_cast<uint16_t>(rd.varint_at_most(kItemKindMax, "kind"));
  if (!rd.ok() || !rd.at_end() || m.trade == 0 || m.from == 0) return std::nullopt;
  return m;
}

Vault::Vault(Runtime& rt, VaultConfig cfg) : rt_(rt), cfg_(std::move(cfg)) { book_.set_node(cfg_.node.value); }

Vault::~Vault() { rt_.network.set_handler(nullptr); }

void Vault::start() {
  rt_.network.set_handler(this);
  const auto listened = rt_.network.listen(cfg_.listen_address);
  if (!listened) log_at(rt_.log, LogLevel::kError, {}, "vault {}: cannot listen on {}", cfg_.node.value, cfg_.listen_address);
  load_ledger(1);
}

// --- Recovery: the fold of the ledger, then the trade rows ---------------------------------------

void Vault::load_ledger(uint64_t from_seq) {
  std::weak_ptr<char> life = life_;
  const StorageCode code = rt_.storage.read_ledger(from_seq, kStorageLedgerReadMax, [this, life, from_seq](LedgerResult r) {
    if (life.expired()) return;
    if (!r.status.ok()) {
      log_at(rt_.log, r.status.code == StorageCode::kCorrupt ? LogLevel::kError : LogLevel::kWarn, {},
             "vault {}: ledger unreadable ({}); this vault serves nothing until it is read", cfg_.node.value, r.status.reason);
      if (r.status.code != StorageCode::kCorrupt) rt_.timers.schedule(kVaultLoadRetryNs, [this, life, from_seq] {
          if (!life.expired()) load_ledger(from_seq);
        });
      return;
    }
    for (const LedgerEntry& le : r.entries) {
      const char* error = "";
      const std::optional<Entry> e = decode_entry(le.entry, &error);
      const std::string why = e ? book_.check(*e) : std::string(error);
      if (!e || !why.empty()) {
        // A ledger we cannot fold is a history we cannot vouch for: stop, an operator audits it.
        log_at(rt_.log, LogLevel::kError, {}, "vault {}: ledger entry {} refused ({}): this vault serves nothing", cfg_.node.value, le.seq, why);
        return;
      }
      book_.apply(*e);
    }
    const uint64_t next = from_seq + r.entries.size();
    if (!r.entries.empty() && next <= r.last_seq) return load_ledger(next);
    load_trades({});
  });
  if (code != StorageCode::kOk) {
    rt_.timers.schedule(kVaultLoadRetryNs, [this, life, from_seq] {
      if (!life.expired()) load_ledger(from_seq);
    });
  }
}

void Vault::load_trades(Bytes start_after) {
  std::weak_ptr<char> life = life_;
  const Bytes prefix = StorageKey("trade").take();
  const StorageCode code = rt_.storage.scan(prefix, start_after, kStorageScanRowsMax, [this, life, start_after, prefix](ScanResult r) {
    if (life.expired()) return;
    if (!r.status.ok()) {
      log_at(rt_.log, LogLevel::kWarn, {}, "vault {}: trades unreadable ({})", cfg_.node.value, r.status.reason);
      if (r.status.code != StorageCode::kCorrupt) rt_.timers.schedule(kVaultLoadRetryNs, [this, life, start_after] {
          if (!life.expired()) load_trades(start_after);
        });
      return;
    }
    for (const StorageRow& row : r.rows) {
      const std::optional<TradeRecord> rec = decode_trade(row.value);
      ByteReader kr(std::span<const uint8_t>(row.key).subspan(prefix.size()));
      uint64_t t = 0;
      for (int i = 0; i < 8; ++i) t = t << 8 | kr.u8();
      if (!rec || !kr.ok()) {
        log_at(rt_.log, LogLevel::kError, {}, "vault {}: a trade row is malformed: this vault serves nothing", cfg_.node.value);
        return;
      }
      trades_[t] = *rec;
    }
    if (r.more && !r.rows.empty()) return load_trades(r.rows.back().key);
    loaded();
  });
  if (code != StorageCode::kOk) {
    rt_.timers.schedule(kVaultLoadRetryNs, [this, life, start_after] {
      if (!life.expired()) load_trades(start_after);
    });
  }
}

void Vault::loaded() {
  ready_ = true;
  issued_serial_ = book_.max_serial();
  record_trace(rt_.trace, TraceKind::kEconRecovered, 0, 0, EntityId{}, static_cast<int64_t>(book_.max_serial()),
               static_cast<int64_t>(trades_open()));
  for (auto& [t, rec] : trades_) {
    rec.last_sent_ns = 0;
    rec.attempts = 0;
    // Presumed abort: a trade we initiated and did not commit was never decided; we decide it now.
    if (rec.role == TradeRole::kInitiator && rec.state == TradeState::kPrepared) abort_trade(t);
    // The planted bug: a responder deciding alone, as if the initiator could not have committed.
    if (rec.role == TradeRole::kResponder && rec.state == TradeState::kPrepared && cfg_.planted == PlantedBug::kEconomyReleaseOnRestart) {
      release_as_responder(t);
    }
  }
  next_action_ns_ = rt_.clock.now_ns() + cfg_.action_interval_ns;
  std::weak_ptr<char> life = life_;
  rt_.timers.schedule(kVaultTickNs, [this, life] {
    if (!life.expired()) tick();
  });
}

size_t Vault::trades_open() const {
  size_t n = 0;
  for (const auto& [t, rec] : trades_) {
    n += rec.role == TradeRole::kInitiator ? (rec.state == TradeState::kPrepared || rec.state == TradeState::kCommitted)
                                           : rec.state == TradeState::kPrepared;
  }
  return n;
}

// --- The write path: one economic write at a time ------------------------------------------------

bool Vault::enqueue(Job job) {
  if (jobs_.size() >= kVaultJobsMax) {
    ++stats_.jobs_refused;
    return false;
  }
  jobs_.push_back(std::move(job));
  run_jobs();
  return true;
}

void Vault::run_jobs() {
  while (!writing_ && !jobs_.empty()) {
    Job job = std::move(jobs_.front());
    jobs_.pop_front();
    std::optional<Write> w = job();
    if (!w) continue;
    Entry entry;
    WriteBatch batch;
    batch.sync = true;
    if (!w->ops.empty()) {
      entry.key = EntryKey{cfg_.node.value, ++issued_serial_};
      entry.ops = w->ops;
      entry.unix_ms = entry_stamp(rt_.clock.unix_ns());
      // Jobs build entries from the fold, but their item ids may come from a peer (house rule 3): an
      // entry the fold refuses is dropped, logged and counted, never written.
      if (const std::string why = book_.check(entry); !why.empty()) {
        ++stats_.entries_refused;
        log_at(rt_.log, LogLevel::kError, {}, "vault {}: an entry the fold refuses ({}): not written", cfg_.node.value, why);
        continue;
      }
      batch.append(encode_entry(entry));
      for (const Op& op : entry.ops) {
        if (ours(op.character) && (op.kind != OpKind::kSend)) batch.put(econ_key(op.character), {}, cfg_.generation);
      }
    }
    if (w->row) batch.put(trade_key(w->row->first), encode_trade(w->row->second), cfg_.generation);
    std::weak_ptr<char> life = life_;
    auto shared = std::make_shared<Write>(std::move(*w));
    const StorageCode code = rt_.storage.write(std::move(batch), [this, life, shared, entry](WriteResult r) {
      if (life.expired()) return;
      written(std::move(*shared), entry, r);
    });
    if (code != StorageCode::kOk) {
      ++stats_.writes_failed;
      continue;  // the step did not happen; its peer retries, or the player acts again
    }
    if (!entry.ops.empty()) {
      uint32_t peer = 0;
      if (shared->row) peer = shared->row->second.role == TradeRole::kInitiator ? shared->row->second.b_node : shared->row->second.a_node;
      trace_ops(entry, peer);
    }
    writing_ = true;
  }
}

void Vault::written(Write w, const Entry& entry, const WriteResult& r) {
  writing_ = false;
  if (!r.status.ok()) {
    ++stats_.writes_failed;
    if (!entry.ops.empty()) record_trace(rt_.trace, TraceKind::kEconFailed, 0, entry.key.serial, EntityId{});
    log_at(rt_.log, LogLevel::kInfo, {}, "vault {}: economic write failed ({}); nothing happened", cfg_.node.value, r.status.reason);
    run_jobs();
    return;
  }
  if (!entry.ops.empty()) {
    const bool applied = book_.apply(entry);
    AETHER_ASSERT_MSG(applied, "the entry was checked against this fold when written");
  }
  if (w.row) {
    TradeRecord& rec = trades_[w.row->first];
    const TradeRecord keep = rec;
    rec = w.row->second;
    rec.last_sent_ns = keep.last_sent_ns;
    rec.attempts = keep.attempts;
  }
  if (!entry.ops.empty()) record_trace(rt_.trace, TraceKind::kEconApplied, 0, entry.key.serial, EntityId{}, 0, static_cast<int64_t>(entry.ops.size()));
  if (w.on_ok) w.on_ok();
  run_jobs();
}

void Vault::trace_ops(const Entry& entry, uint32_t peer_node) {
  const Tick serial = entry.key.serial;
  for (const Op& op : entry.ops) {
    const EntityId who(op.character);
    const auto item = static_cast<int64_t>(op.item);
    switch (op.kind) {
      case OpKind::kCreate: record_trace(rt_.trace, TraceKind::kEconCreated, 0, serial, who, item, op.item_kind | op.why << 16); break;
      case OpKind::kDestroy: record_trace(rt_.trace, TraceKind::kEconDestroyed, 0, serial, who, item, op.item_kind | op.why << 16); break;
      case OpKind::kEscrow: record_trace(rt_.trace, TraceKind::kEconEscrowed, 0, serial, who, item, static_cast<int64_t>(op.trade)); break;
      case OpKind::kRelease: record_trace(rt_.trace, TraceKind::kEconReleased, 0, serial, who, item, static_cast<int64_t>(op.trade)); break;
      // The commit point (initiator) moves both items at once: ours leaves for the peer's character,
      // the peer's escrowed one becomes ours. On the responder the same ops only catch up.
      case OpKind::kSend:
        record_trace(rt_.trace, TraceKind::kEconSent, 0, serial, who, item, static_cast<int64_t>(op.trade), NodeId(peer_node));
        break;
      case OpKind::kReceive:
        record_trace(rt_.trace, TraceKind::kEconReceived, 0, serial, who, item, static_cast<int64_t>(op.trade), NodeId(peer_node));
        break;
      case OpKind::kMint:
      case OpKind::kBurn: {
        const auto amount = static_cast<int64_t>(op.amount);
        record_trace(rt_.trace, TraceKind::kEconCurrency, 0, serial, who, op.kind == OpKind::kMint ? amount : -amount, op.why);
        break;
      }
    }
  }
}

// --- The players: loot, craft, sell, trade -----------------------------------------------------

bool Vault::ours(CharacterKey c) const { return std::find(cfg_.characters.begin(), cfg_.characters.end(), c) != cfg_.characters.end(); }

bool Vault::busy(CharacterKey c) const {
  for (const auto& [t, rec] : trades_) {
    const bool open = rec.role == TradeRole::kInitiator ? (rec.state == TradeState::kPrepared || rec.state == TradeState::kCommitted)
                                                        : rec.state == TradeState::kPrepared;
    if (open && (rec.a == c || rec.b == c)) return true;
  }
  return false;
}

void Vault::tick() {
  const TimeNs now = rt_.clock.now_ns();
  if (cfg_.act && now >= next_action_ns_ && !cfg_.characters.empty()) {
    next_action_ns_ = now + cfg_.action_interval_ns;
    act();
  }
  std::vector<TradeId> to_abort;
  for (auto& [t, rec] : trades_) {
    if (rec.role == TradeRole::kInitiator && rec.state == TradeState::kPrepared && now - rec.last_sent_ns >= kProposeRetryNs) {
      if (rec.attempts >= kProposeAttemptsMax) {
        to_abort.push_back(t);
        continue;
      }
      ++rec.attempts;
      rec.last_sent_ns = now;
      send(rec.b_node, VaultMessage{VaultMsgType::kPropose, cfg_.node.value, t, rec.a, rec.b, rec.item_a, rec.kind_a, rec.want_kind});
    } else if (rec.role == TradeRole::kInitiator && rec.state == TradeState::kCommitted && now - rec.last_sent_ns >= kCommitRetryNs) {
      rec.last_sent_ns = now;
      send(rec.b_node, VaultMessage{VaultMsgType::kCommit, cfg_.node.value, t, rec.a, rec.b, rec.item_a, rec.kind_a, 0});
    } else if (rec.role == TradeRole::kResponder && rec.state == TradeState::kPrepared && now - rec.last_sent_ns >= kResolveRetryNs) {
      rec.last_sent_ns = now;
      send(rec.a_node, VaultMessage{VaultMsgType::kResolve, cfg_.node.value, t, rec.a, rec.b, 0, 0, 0});
    }
  }
  for (const TradeId t : to_abort) {
    trades_[t].attempts = 0;  // abort_trade's job runs once; a failed write lets the next round try again
    trades_[t].last_sent_ns = now;
    abort_trade(t);
  }
  std::weak_ptr<char> life = life_;
  rt_.timers.schedule(kVaultTickNs, [this, life] {
    if (!life.expired()) tick();
  });
}

void Vault::act() {
  const CharacterKey c = cfg_.characters[uniform_below(rt_.random, cfg_.characters.size())];
  const uint64_t roll = uniform_below(rt_.random, 100);
  if (roll < 45) return start_loot(c);
  if (roll < 65) return start_craft(c);
  if (roll < 72) return start_sale(c);
  if (cfg_.partners.empty()) return;
  const auto& [b, b_node] = cfg_.partners[uniform_below(rt_.random, cfg_.partners.size())];
  start_trade(c, b, b_node);
}

void Vault::start_loot(CharacterKey c) {
  const EconomyRules& rules = cfg_.rules;
  uint64_t total = rules.nothing_weight;
  for (const DropEntry& d : rules.drops) total += d.weight;
  uint64_t roll = uniform_below(rt_.random, std::max<uint64_t>(total, 1));
  uint16_t kind = 0;
  for (const DropEntry& d : rules.drops) {
    if (roll < d.weight) {
      kind = d.item;
      break;
    }
    roll -= d.weight;
  }
  if (kind == 0) return;
  enqueue([this, c, kind]() -> std::optional<Write> {
    if (book_.slots_used(c) >= kInventorySlotsMax) return std::nullopt;  // a full bag leaves the drop on the ground
    const ItemId item = make_item_id(cfg_.node.value, issued_serial_ + 1);
    return Write{{Op{OpKind::kCreate, item, kind, c, 0, static_cast<uint8_t>(Source::kLoot)}}, std::nullopt, [this] { ++stats_.loots; }};
  });
}

uint64_t vendor_price(const EconomyRules& rules, uint16_t kind) {
  for (const Recipe& r : rules.recipes) {
    if (r.output == kind) return kVendorPriceBase * (1 + r.inputs.size());
  }
  return kVendorPriceBase;
}

void Vault::start_craft(CharacterKey c) {
  const Recipe& recipe = cfg_.rules.recipes[uniform_below(rt_.random, cfg_.rules.recipes.size())];
  enqueue([this, c, recipe]() -> std::optional<Write> {
    if (busy(c) || book_.balance(c) < kCraftFee) return std::nullopt;
    std::vector<Op> ops{Op{OpKind::kBurn, 0, 0, c, 0, static_cast<uint8_t>(Sink::kFee), kCraftFee}};
    std::vector<ItemId> used;
    for (const uint16_t input : recipe.inputs) {
      bool found = false;
      for (const auto& [id, h] : book_.held()) {
        if (h.character == c && h.kind == input && std::find(used.begin(), used.end(), id) == used.end()) {
          used.push_back(id);
          ops.push_back(Op{OpKind::kDestroy, id, input, c, 0, static_cast<uint8_t>(Sink::kCraft)});
          found = true;
          break;
        }
      }
      if (!found) return std::nullopt;
    }
    ops.push_back(Op{OpKind::kCreate, make_item_id(cfg_.node.value, issued_serial_ + 1), recipe.output, c, 0, static_cast<uint8_t>(Source::kCraft)});
    return Write{std::move(ops), std::nullopt, [this] { ++stats_.crafts; }};
  });
}

void Vault::start_sale(CharacterKey c) {
  enqueue([this, c]() -> std::optional<Write> {
    for (const auto& [id, h] : book_.held()) {
      if (h.character == c) {
        // The vendor pays for the item, as long as the balance stays within its limit.
        std::vector<Op> ops{Op{OpKind::kDestroy, id, h.kind, c, 0, static_cast<uint8_t>(Sink::kVendor)}};
        const uint64_t price = vendor_price(cfg_.rules, h.kind);
        if (book_.balance(c) + price <= kBalanceMax) ops.push_back(Op{OpKind::kMint, 0, 0, c, 0, static_cast<uint8_t>(Source::kVendor), price});
        return Write{std::move(ops), std::nullopt, [this] { ++stats_.vendor_sales; }};
      }
    }
    return std::nullopt;
  });
}

void Vault::start_trade(CharacterKey a, CharacterKey b, uint32_t b_node) {
  const uint16_t want = cfg_.rules.items[uniform_below(rt_.random, cfg_.rules.items.size())].id;
  enqueue([this, a, b, b_node, want]() -> std::optional<Write> {
    if (busy(a)) return std::nullopt;
    const std::vector<ItemId> items = book_.items_of(a);
    if (items.empty()) return std::nullopt;
    const ItemId give = items.front();
    const TradeId t = make_trade_id(cfg_.node.value, issued_serial_ + 1);
    TradeRecord rec{TradeState::kPrepared, TradeRole::kInitiator, a, b, cfg_.node.value, b_node, give, book_.held().at(give).kind, 0, 0, want};
    std::vector<Op> ops{Op{OpKind::kEscrow, give, rec.kind_a, a, t, 0}};
    return Write{std::move(ops), std::make_pair(t, rec), [this, t] {
                   ++stats_.trades_started;
                   TradeRecord& r = trades_[t];
                   r.attempts = 1;
                   r.last_sent_ns = rt_.clock.now_ns();
                   send(r.b_node, VaultMessage{VaultMsgType::kPropose, cfg_.node.value, t, r.a, r.b, r.item_a, r.kind_a, r.want_kind});
                 }};
  });
}

// Initiator: decide abort (only while undecided), release a's item, tell B.
void Vault::abort_trade(TradeId t) {
  enqueue([this, t]() -> std::optional<Write> {
    const auto it = trades_.find(t);
    if (it == trades_.end() || it->second.role != TradeRole::kInitiator || it->second.state != TradeState::kPrepared) return std::nullopt;
    TradeRecord rec = it->second;
    rec.state = TradeState::kAborted;
    std::vector<Op> ops{Op{OpKind::kRelease, rec.item_a, rec.kind_a, rec.a, t, 0}};
    return Write{std::move(ops), std::make_pair(t, rec), [this, t, rec] {
                   ++stats_.trades_aborted;
                   send(rec.b_node, VaultMessage{VaultMsgType::kAbort, cfg_.node.value, t, rec.a, rec.b, 0, 0, 0});
                 }};
  });
}

void Vault::release_as_responder(TradeId t) {
  enqueue([this, t]() -> std::optional<Write> {
    const auto it = trades_.find(t);
    if (it == trades_.end() || it->second.role != TradeRole::kResponder || it->second.state != TradeState::kPrepared) return std::nullopt;
    TradeRecord rec = it->second;
    rec.state = TradeState::kAborted;
    return Write{{Op{OpKind::kRelease, rec.item_b, rec.kind_b, rec.b, t, 0}}, std::make_pair(t, rec), nullptr};
  });
}

// --- Messages ------------------------------------------------------------------------------------

void Vault::send(uint32_t to, VaultMessage m) {
  auto it = out_.find(to);
  if (it == out_.end()) {
    const auto addr = cfg_.peers.find(to);
    if (addr == cfg_.peers.end()) return;
    const ConnId conn = rt_.network.connect(addr->second);
    out_[to] = conn;
    connected_[conn] = false;
    return;  // the retry timers resend once connected
  }
  if (!connected_[it->second]) return;
  rt_.network.send(it->second, encode_vault_message(m));
}

void Vault::on_connected(ConnId conn) { connected_[conn] = true; }

void Vault::on_closed(ConnId conn, CloseReason) {
  connected_.erase(conn);
  std::erase_if(out_, [&](const auto& kv) { return kv.second == conn; });
}

void Vault::on_message(ConnId, std::span<const uint8_t> payload) {
  const std::optional<VaultMessage> m = decode_vault_message(payload);
  if (!m || !cfg_.peers.count(m->from)) {
    ++stats_.messages_rejected;
    log_at(rt_.log, LogLevel::kWarn, {}, "vault {}: a malformed vault message, or one from an unknown node: dropped", cfg_.node.value);
    return;
  }
  if (!ready_) return;  // the sender retries
  handle(*m);
}

void Vault::handle(const VaultMessage& m) {
  const auto it = trades_.find(m.trade);
  TradeRecord* rec = it == trades_.end() ? nullptr : &it->second;
  switch (m.type) {
    case VaultMsgType::kPropose: {
      if (rec) {
        // A retry: answer from what we decided (a trade we refused left no row).
        if (rec->role == TradeRole::kResponder && rec->state == TradeState::kPrepared) {
          send(m.from, VaultMessage{VaultMsgType::kPrepared, cfg_.node.value, m.trade, rec->a, rec->b, rec->item_b, rec->kind_b, 0});
        }
        return;
      }
      if (!ours(m.b) || m.item == 0 || m.item_kind == 0 || id_node(m.trade) != m.from) {
        ++stats_.messages_rejected;
        return;
      }
      enqueue([this, m]() -> std::optional<Write> {
        if (trades_.count(m.trade)) return std::nullopt;  // a duplicate proposal prepared meanwhile
        std::optional<ItemId> give;
        if (!busy(m.b)) {
          for (const auto& [id, h] : book_.held()) {
            if (h.character == m.b && h.kind == m.want_kind) {
              give = id;
              break;
            }
          }
        }
        // An item we already know cannot arrive from elsewhere: a peer's mistake, refused here.
        if (!give || book_.held().count(m.item) || book_.escrowed().count(m.item)) {
          send(m.from, VaultMessage{VaultMsgType::kRefused, cfg_.node.value, m.trade, m.a, m.b, 0, 0, 0});
          return std::nullopt;
        }
        TradeRecord rec{TradeState::kPrepared, TradeRole::kResponder, m.a, m.b, m.from, cfg_.node.value, m.item, m.item_kind, *give, m.want_kind, m.want_kind};
        rec.last_sent_ns = rt_.clock.now_ns();
        std::vector<Op> ops{Op{OpKind::kEscrow, *give, rec.kind_b, m.b, m.trade, 0}};
        return Write{std::move(ops), std::make_pair(m.trade, rec), [this, m, rec] {
                       send(m.from, VaultMessage{VaultMsgType::kPrepared, cfg_.node.value, m.trade, rec.a, rec.b, rec.item_b, rec.kind_b, 0});
                     }};
      });
      return;
    }
    case VaultMsgType::kPrepared: {
      if (!rec || rec->role != TradeRole::kInitiator || m.from != rec->b_node) return;
      if (rec->state == TradeState::kAborted) {
        send(m.from, VaultMessage{VaultMsgType::kAbort, cfg_.node.value, m.trade, rec->a, rec->b, 0, 0, 0});
        return;
      }
      if (rec->state != TradeState::kPrepared || m.item == 0 || m.item_kind != rec->want_kind) return;
      const TradeId t = m.trade;
      const ItemId item_b = m.item;
      enqueue([this, t, item_b]() -> std::optional<Write> {
        const auto i = trades_.find(t);
        if (i == trades_.end() || i->second.state != TradeState::kPrepared) return std::nullopt;
        TradeRecord rec = i->second;
        rec.state = TradeState::kCommitted;
        rec.item_b = item_b;
        rec.kind_b = rec.want_kind;
        // The commit point: a's item leaves for b, b's escrowed item is a's.
        std::vector<Op> ops{Op{OpKind::kSend, rec.item_a, rec.kind_a, rec.b, t, 0}, Op{OpKind::kReceive, rec.item_b, rec.kind_b, rec.a, t, 0}};
        return Write{std::move(ops), std::make_pair(t, rec), [this, t] {
                       ++stats_.trades_committed;
                       TradeRecord& r = trades_[t];
                       r.last_sent_ns = rt_.clock.now_ns();
                       send(r.b_node, VaultMessage{VaultMsgType::kCommit, cfg_.node.value, t, r.a, r.b, r.item_a, r.kind_a, 0});
                     }};
      });
      return;
    }
    case VaultMsgType::kRefused:
      if (rec && rec->role == TradeRole::kInitiator && m.from == rec->b_node) abort_trade(m.trade);
      return;
    case VaultMsgType::kResolve:
      if (!rec || rec->role != TradeRole::kInitiator || m.from != rec->b_node) return;
      if (rec->state == TradeState::kCommitted || rec->state == TradeState::kDone) {
        send(m.from, VaultMessage{VaultMsgType::kCommit, cfg_.node.value, m.trade, rec->a, rec->b, rec->item_a, rec->kind_a, 0});
      } else if (rec->state == TradeState::kAborted) {
        send(m.from, VaultMessage{VaultMsgType::kAbort, cfg_.node.value, m.trade, rec->a, rec->b, 0, 0, 0});
      }
      return;  // undecided: the Prepared our proposals bring decides it
    case VaultMsgType::kCommit: {
      if (!rec || rec->role != TradeRole::kResponder || m.from != rec->a_node) return;
      if (rec->state == TradeState::kDone) {
        send(m.from, VaultMessage{VaultMsgType::kDone, cfg_.node.value, m.trade, rec->a, rec->b, 0, 0, 0});
        return;
      }
      if (rec->state != TradeState::kPrepared) return;  // never: B decides nothing alone (but the planted bug)
      const TradeId t = m.trade;
      enqueue([this, t]() -> std::optional<Write> {
        const auto i = trades_.find(t);
        if (i == trades_.end() || i->second.state != TradeState::kPrepared) return std::nullopt;
        TradeRecord rec = i->second;
        rec.state = TradeState::kDone;
        std::vector<Op> ops{Op{OpKind::kSend, rec.item_b, rec.kind_b, rec.a, t, 0}, Op{OpKind::kReceive, rec.item_a, rec.kind_a, rec.b, t, 0}};
        return Write{std::move(ops), std::make_pair(t, rec), [this, t, rec] {
                       ++stats_.trades_done;
                       send(rec.a_node, VaultMessage{VaultMsgType::kDone, cfg_.node.value, t, rec.a, rec.b, 0, 0, 0});
                     }};
      });
      return;
    }
    case VaultMsgType::kAbort: {
      if (!rec || rec->role != TradeRole::kResponder || m.from != rec->a_node || rec->state != TradeState::kPrepared) return;
      const TradeId t = m.trade;
      enqueue([this, t]() -> std::optional<Write> {
        const auto i = trades_.find(t);
        if (i == trades_.end() || i->second.state != TradeState::kPrepared) return std::nullopt;
        TradeRecord rec = i->second;
        rec.state = TradeState::kAborted;
        return Write{{Op{OpKind::kRelease, rec.item_b, rec.kind_b, rec.b, t, 0}}, std::make_pair(t, rec), nullptr};
      });
      return;
    }
    case VaultMsgType::kDone: {
      if (!rec || rec->role != TradeRole::kInitiator || m.from != rec->b_node || rec->state != TradeState::kCommitted) return;
      const TradeId t = m.trade;
      enqueue([this, t]() -> std::optional<Write> {
        const auto i = trades_.find(t);
        if (i == trades_.end() || i->second.state != TradeState::kCommitted) return std::nullopt;
        TradeRecord rec = i->second;
        rec.state = TradeState::kDone;
        return Write{{}, std::make_pair(t, rec), nullptr};
      });
      return;
    }
  }
}

}  // namespace aether::economy
