#include "engine/economy/audit.h"

#include <algorithm>

#include <fmt/format.h>

#include "engine/core/hash.h"

namespace aether::economy {

namespace {

std::string describe(const ItemPlace& p) {
  switch (p.where) {
    case ItemPlace::Where::kHeld: return fmt::format("held by character {} (entry {})", p.character, p.seq);
    case ItemPlace::Where::kEscrowed: return fmt::format("escrowed from character {} by trade {} (entry {})", p.character, p.trade, p.seq);
    case ItemPlace::Where::kSent: return fmt::format("traded on to character {} in trade {} (entry {})", p.character, p.trade, p.seq);
    case ItemPlace::Where::kDestroyed: {
      const char* sink = sink_name(p.why);
      return fmt::format("destroyed ({}) at entry {}", sink ? sink : "?", p.seq);
    }
  }
  return "?";
}

bool present(const ItemPlace* p) { return p && (p->where == ItemPlace::Where::kHeld || p->where == ItemPlace::Where::kEscrowed); }

}  // namespace

const char* trade_state_name(TradeState s) {
  switch (s) {
    case TradeState::kPrepared: return "PREPARED";
    case TradeState::kCommitted: return "COMMITTED";
    case TradeState::kAborted: return "ABORTED";
    case TradeState::kDone: return "DONE";
  }
  return "?";
}

std::string describe_entry(const Entry& e) {
  std::string out;
  for (const Op& op : e.ops) {
    if (!out.empty()) out += ", ";
    const char* source = source_name(op.why);
    const char* sink = sink_name(op.why);
    switch (op.kind) {
      case OpKind::kCreate: out += fmt::format("create item {} (kind {}) for {} ({})", op.item, op.item_kind, op.character, source ? source : "?"); break;
      case OpKind::kDestroy: out += fmt::format("destroy item {} (kind {}) of {} ({})", op.item, op.item_kind, op.character, sink ? sink : "?"); break;
      case OpKind::kEscrow: out += fmt::format("escrow item {} of {} for trade {}", op.item, op.character, op.trade); break;
      case OpKind::kRelease: out += fmt::format("release item {} to {} (trade {} aborted)", op.item, op.character, op.trade); break;
      case OpKind::kSend: out += fmt::format("send item {} to {} (trade {})", op.item, op.character, op.trade); break;
      case OpKind::kReceive: out += fmt::format("receive item {} (kind {}) for {} (trade {})", op.item, op.item_kind, op.character, op.trade); break;
  case OpKind::kMint: out += fmt::format("pay {} to {} ({})", op.amount, op.character, source ? source : "?"); break;
      case OpKind::kBurn: out += fmt::format("take {} from {} ({})", op.amount, op.character, sink ? sink : "?"); break;
    }
  }
  return out;
}

bool touches(const Entry& e, CharacterKey c) {
  for (const Op& op : e.ops) {
    if (op.kind != OpKind::kSend && op.character == c) return true;
  }
  return false;
}

StoreFold::StoreFold(std::string name, bool keep_entries) : name_(std::move(name)), keep_entries_(keep_entries) {}

void StoreFold::find(uint64_t seq, std::string what) {
  ++findings_total_;
  if (findings_.size() < kAuditFindingsMax) findings_.push_back(AuditFinding{name_, seq, std::move(what)});
}

void StoreFold::expect(uint64_t seq) {
  if (seq > next_seq_) {
    find(next_seq_, seq == next_seq_ + 1 ? "missing: the sequence jumps over it" : fmt::format("missing, and the {} entries after it", seq - next_seq_ - 1));
  } else if (seq < next_seq_) {
    find(seq, "read twice or out of order");
  }
  next_seq_ = std::max(next_seq_, seq + 1);
}

void StoreFold::last_seq(uint64_t seq) {
  last_seq_ = std::max(last_seq_, seq);
  if (next_seq_ <= seq) {
    find(next_seq_, fmt::format("missing: the store's last entry is {} but entries stop before", seq));
    next_seq_ = seq + 1;
  }
}

void StoreFold::unreadable(uint64_t seq, const std::string& reason) {
  expect(seq);
  find(seq, fmt::format("unreadable: {}", reason));
}

void StoreFold::entry(uint64_t seq, std::span<const uint8_t> bytes) {
  expect(seq);
  ++entries_read_;
  const char* error = "";
  const std::optional<Entry> e = decode_entry(bytes, &error);
  if (!e) return find(seq, fmt::format("malformed: {}", error));
  const uint64_t digest = Hasher64::of(bytes);
  if (const auto k = keys_.find(e->key); k != keys_.end()) {
    if (k->second.second == digest) {
      ++retried_;  // a retried append (an "outcome unknown" commit): counts once
      return;
    }
    return find(seq, fmt::format("idempotency key {}/{} already used by entry {} with other operations", e->key.node, e->key.serial, k->second.first));
  }
  if (const std::string why = check(*e); !why.empty()) return find(seq, fmt::format("refused (key {}/{}): {}", e->key.node, e->key.serial, why));
  keys_[e->key] = {seq, digest};
  apply(seq, *e);
}

std::string StoreFold::check(const Entry& e) const {
  if (e.ops.empty() || e.ops.size() > kEntryOpsMax) return "an entry has 1 to 16 operations";
  std::set<ItemId> seen;
  std::map<CharacterKey, uint64_t> balance_after;
  for (const Op& op : e.ops) {
    if (op.currency()) {
      const bool mint = op.kind == OpKind::kMint;
      if (op.character == 0 || op.amount == 0 || op.amount > kCurrencyOpMax) return "a currency operation for no character, or of no or too much money";
      if (mint ? !source_name(op.why) : !sink_name(op.why)) return fmt::format("{} {} by no named {} ({})", mint ? "money paid to" : "money taken from", op.character, mint ? "source" : "sink", op.why);
      const uint8_t rollback = mint ? static_cast<uint8_t>(Source::kRollback) : static_cast<uint8_t>(Sink::kRollback);
      if (op.why == rollback && e.key.node != kRollbackNode) {
        return fmt::format("character {}: a rollback's money outside a rollback entry", op.character);
      }
      const auto b = balances_.find(op.character);
      const auto at = balance_after.try_emplace(op.character, b == balances_.end() ? 0 : b->second).first;
      if (mint && at->second + op.amount > kBalanceMax) return fmt::format("character {}'s balance would pass its limit", op.character);
      if (!mint && at->second < op.amount) return fmt::format("character {} spends {} but has {}: money from nowhere", op.character, op.amount, at->second);
      at->second = mint ? at->second + op.amount : at->second - op.amount;
      continue;
    }
    if (op.item == 0 || op.character == 0 || op.item_kind == 0) return fmt::format("item {}: a zero item, kind or character", op.item);
    if (!seen.insert(op.item).second) return fmt::format("item {} appears twice in one entry", op.item);
    const auto it = items_.find(op.item);
    const ItemPlace* p = it == items_.end() ? nullptr : &it->second;
    switch (op.kind) {
      case OpKind::kCreate:
        if (op.why == static_cast<uint8_t>(Source::kRollback)) {
          if (e.key.node != kRollbackNode) return fmt::format("item {}: a rollback source outside a rollback entry", op.item);
          if (!p || p->where != ItemPlace::Where::kDestroyed) {
            return fmt::format("item {} restored by a rollback but not destroyed here ({})", op.item, p ? describe(*p) : "never seen");
          }
          if (p->kind != op.item_kind) return fmt::format("item {} restored as kind {}, was kind {}", op.item, op.item_kind, p->kind);
          break;
        }
        if (!source_name(op.why)) return fmt::format("item {} created by no named source ({})", op.item, op.why);
        if (p) return fmt::format("item {} created again: already {}", op.item, describe(*p));
        if (id_node(op.item) != e.key.node) return fmt::format("item {} created by node {} carries node {}'s id", op.item, e.key.node, id_node(op.item));
        break;
      case OpKind::kReceive:
        if (present(p)) return fmt::format("item {} arrives but is already here, {}", op.item, describe(*p));
        if (op.trade == 0) return fmt::format("item {} received from no trade", op.item);
        break;
      case OpKind::kDestroy:
      case OpKind::kEscrow:
        if (op.kind == OpKind::kDestroy && !sink_name(op.why)) return fmt::format("item {} destroyed by no named sink ({})", op.item, op.why);
        if (op.kind == OpKind::kDestroy && op.why == static_cast<uint8_t>(Sink::kRollback) && e.key.node != kRollbackNode) {
          return fmt::format("item {}: a rollback sink outside a rollback entry", op.item);
        }
        if (!p || p->where != ItemPlace::Where::kHeld || p->character != op.character || p->kind != op.item_kind) {
          return fmt::format("item {} is not held by character {}: {}", op.item, op.character, p ? describe(*p) : "never seen here");
        }
        if (op.kind == OpKind::kEscrow && op.trade == 0) return fmt::format("item {} escrowed for no trade", op.item);
        break;
      case OpKind::kRelease:
      case OpKind::kSend:
        if (!p || p->where != ItemPlace::Where::kEscrowed || p->trade != op.trade || p->kind != op.item_kind) {
          return fmt::format("item {} is not escrowed by trade {}: {}", op.item, op.trade, p ? describe(*p) : "never seen here");
        }
        if (op.kind == OpKind::kRelease && p->character != op.character) {
          return fmt::format("item {} released to {}, not to its holder {}", op.item, op.character, p->character);
        }
        break;
  case OpKind::kMint:
      case OpKind::kBurn: break;
    }
  }
  return {};
}

void StoreFold::apply(uint64_t seq, const Entry& e) {
  ++entries_applied_;
  ++writers_[e.key.node];
  if (e.key.node == kRollbackNode) compensated_.insert(e.key.serial);
  for (const Op& op : e.ops) {
    if (op.kind == OpKind::kMint) {
      balances_[op.character] += op.amount;
      minted_ += op.amount;
      continue;
    }
    if (op.kind == OpKind::kBurn) {
      if ((balances_[op.character] -= op.amount) == 0) balances_.erase(op.character);
      burned_ += op.amount;
      continue;
    }
    ItemPlace& p = items_[op.item];
    switch (op.kind) {
      case OpKind::kCreate:
        p = ItemPlace{ItemPlace::Where::kHeld, op.item_kind, op.character, 0, 0, seq};
        if (op.why == static_cast<uint8_t>(Source::kRollback)) {
          ++kinds_[op.item_kind].restored;
        } else {
          ++kinds_[op.item_kind].created;
          creations_[op.item] = seq;
        }
        break;
      case OpKind::kReceive:
        p = ItemPlace{ItemPlace::Where::kHeld, op.item_kind, op.character, op.trade, 0, seq};
        received_[{op.trade, op.item}] = seq;
        break;
      case OpKind::kDestroy:
        p = ItemPlace{ItemPlace::Where::kDestroyed, op.item_kind, op.character, 0, op.why, seq};
        ++kinds_[op.item_kind].destroyed;
        break;
      case OpKind::kEscrow: p = ItemPlace{ItemPlace::Where::kEscrowed, op.item_kind, op.character, op.trade, 0, seq}; break;
      case OpKind::kRelease: p = ItemPlace{ItemPlace::Where::kHeld, op.item_kind, op.character, 0, 0, seq}; break;
      case OpKind::kSend:
        p = ItemPlace{ItemPlace::Where::kSent, op.item_kind, op.character, op.trade, 0, seq};
        sent_[{op.trade, op.item}] = seq;
        break;
  case OpKind::kMint:
      case OpKind::kBurn: break;
    }
  }
  if (keep_entries_) applied_.push_back(Applied{seq, e});
}

void StoreFold::trade_row(std::span<const uint8_t> key, std::span<const uint8_t> value) {
  constexpr size_t kPrefix = 6;  // "trade/"
  const std::optional<TradeRecord> rec = decode_trade(value);
  if (key.size() != kPrefix + 8 || !rec) {
    rows_readable_ = false;
    std::string hex;
    for (const uint8_t b : key) hex += fmt::format("{:02x}", b);
    return find(0, fmt::format("trade row {} is malformed", hex));
  }
  TradeId t = 0;
  for (size_t i = kPrefix; i < key.size(); ++i) t = t << 8 | key[i];
  trades_[t] = *rec;
}

void StoreFold::rows_unreadable(const std::string& reason) {
  rows_readable_ = false;
  find(0, fmt::format("trade rows unreadable: {}", reason));
}

void StoreFold::finish() {
  if (!rows_readable_) return;  // the rows cannot vouch for the fold; already a finding
  const auto escrowed_by = [&](ItemId item, TradeId t) {
    const auto it = items_.find(item);
    return it != items_.end() && it->second.where == ItemPlace::Where::kEscrowed && it->second.trade == t;
  };
  for (const auto& [t, rec] : trades_) {
    const bool initiator = rec.role == TradeRole::kInitiator;
    const ItemId ours = initiator ? rec.item_a : rec.item_b;
    const ItemId theirs = initiator ? rec.item_b : rec.item_a;
    const char* state = trade_state_name(rec.state);
    switch (rec.state) {
      case TradeState::kPrepared:
        if (!escrowed_by(ours, t)) find(0, fmt::format("trade {} is PREPARED here but item {} is not escrowed by it", t, ours));
        break;
      case TradeState::kAborted:
        if (escrowed_by(ours, t)) find(0, fmt::format("trade {} is ABORTED here but item {} is still escrowed by it: lost", t, ours));
        break;
      case TradeState::kCommitted:
      case TradeState::kDone:
        if (!initiator && rec.state == TradeState::kCommitted) {
          find(0, fmt::format("trade {}: a responder's row is COMMITTED (a responder never decides)", t));
          break;
        }
        if (!sent_.count({t, ours})) find(0, fmt::format("trade {} is {} here but its ledger never sent item {}", t, state, ours));
        if (!received_.count({t, theirs})) find(0, fmt::format("trade {} is {} here but its ledger never received item {}", t, state, theirs));
        break;
    }
  }
  for (const auto& [item, p] : items_) {
    if (p.where != ItemPlace::Where::kEscrowed) continue;
    const auto row = trades_.find(p.trade);
    if (row == trades_.end()) {
      find(p.seq, fmt::format("item {} is escrowed by trade {}, which has no row here: lost", item, p.trade));
    } else if (row->second.state != TradeState::kPrepared) {
      find(p.seq, fmt::format("item {} is escrowed by trade {}, which is {} here: lost", item, p.trade, trade_state_name(row->second.state)));
    }
  }
}

CurrencyCounts StoreFold::currency() const {
  CurrencyCounts c{minted_, burned_, 0};
  for (const auto& [who, balance] : balances_) c.balances += balance;
  return c;
}

uint32_t StoreFold::node() const {
  uint32_t best = 0;
  uint64_t most = 0;
  for (const auto& [node, n] : writers_) {
    if (node != kRollbackNode && n > most) best = node, most = n;
  }
  return best;
}

AuditReport audit_economy(const std::vector<const StoreFold*>& stores) {
  AuditReport report;
  const auto find = [&](const std::string& store, uint64_t seq, std::string what) {
    ++report.findings_total;
    if (report.findings.size() < kAuditFindingsMax) report.findings.push_back(AuditFinding{store, seq, std::move(what)});
  };
  std::map<uint32_t, const StoreFold*> by_node;
  for (const StoreFold* s : stores) {
    report.findings_total += s->findings_total();
    for (const AuditFinding& f : s->findings()) {
      if (report.findings.size() < kAuditFindingsMax) report.findings.push_back(f);
    }
    const CurrencyCounts money = s->currency();
    report.currency.minted += money.minted;
    report.currency.burned += money.burned;
    report.currency.balances += money.balances;
    if (money.balances != money.minted - money.burned) {
      find(s->name(), 0, fmt::format("currency: paid {} - taken {} = {}, but the balances add up to {}", money.minted, money.burned, money.minted - money.burned,
                                     money.balances));
    }
    for (const auto& [kind, c] : s->kinds()) {
      KindCounts& k = report.kinds[kind];
      k.created += c.created;
      k.restored += c.restored;
      k.destroyed += c.destroyed;
    }
    if (const uint32_t node = s->node(); node != 0) {
      if (const auto [it, fresh] = by_node.emplace(node, s); !fresh) {
        find(s->name(), 0, fmt::format("holds node {}'s ledger, as {} does: one store per vault", node, it->second->name()));
      }
    }
  }
  // Created on one store only.
  std::map<ItemId, const StoreFold*> creator;
  for (const StoreFold* s : stores) {
    for (const auto& [item, seq] : s->creations()) {
      if (const auto [it, fresh] = creator.emplace(item, s); !fresh) {
        find(s->name(), seq, fmt::format("item {} created here and on {} too: duplicated", item, it->second->name()));
      }
    }
  }
  // The other side of a trade, as this store's row names it (nullptr: not given, or no row).
  const auto peer_of = [&](const StoreFold* s, TradeId t) -> const StoreFold* {
    const auto row = s->trades().find(t);
    if (row == s->trades().end()) return nullptr;
    const uint32_t peer = row->second.role == TradeRole::kInitiator ? row->second.b_node : row->second.a_node;
    const auto it = by_node.find(peer);
    return it == by_node.end() ? nullptr : it->second;
  };
  const auto prepared_there = [](const StoreFold* s, TradeId t) {
    const auto row = s->trades().find(t);
    return row != s->trades().end() && row->second.state == TradeState::kPrepared;
  };
  const auto escrowed_there = [](const StoreFold* s, TradeId t, ItemId item) {
    const auto it = s->items().find(item);
    return it != s->items().end() && it->second.where == ItemPlace::Where::kEscrowed && it->second.trade == t;
  };
  std::map<ItemId, uint16_t> kind_of;  // alive items: held, escrowed or in flight
  for (const StoreFold* s : stores) {
    for (const auto& [key, seq] : s->sent()) {
      const auto& [t, item] = key;
      uint32_t arrivals = 0;
      for (const StoreFold* o : stores) arrivals += o != s && o->received().count(key);
      if (arrivals > 1) find(s->name(), seq, fmt::format("item {} sent in trade {} arrived {} times: duplicated", item, t, arrivals));
      if (arrivals >= 1) continue;
      const StoreFold* peer = peer_of(s, t);
      const auto place = s->items().find(item);
      const uint16_t kind = place == s->items().end() ? 0 : place->second.kind;
      if (!peer) {
        if (s->rows_readable() && s->trades().count(t)) {
          ++report.exported;  // to a store not given
        } else {
          find(s->name(), seq, fmt::format("item {} sent in trade {}, which has no readable row here", item, t));
        }
      } else if (prepared_there(peer, t)) {
        kind_of[item] = kind;
        report.in_flight.push_back(fmt::format("trade {}: item {} sent by {} (entry {}), not yet received by {} (PREPARED)", t, item, s->name(), seq, peer->name()));
      } else {
        find(s->name(), seq, fmt::format("item {} sent in trade {} never arrived at {}: lost", item, t, peer->name()));
      }
    }
    for (const auto& [key, seq] : s->received()) {
      const auto& [t, item] = key;
      bool sent = false;
      for (const StoreFold* o : stores) sent |= o != s && o->sent().count(key);
      if (sent) continue;
      const StoreFold* peer = peer_of(s, t);
      if (!peer) {
        if (s->rows_readable() && s->trades().count(t)) {
          ++report.imported;
        } else {
          find(s->name(), seq, fmt::format("item {} received in trade {}, which has no readable row here", item, t));
        }
      } else if (escrowed_there(peer, t, item) && prepared_there(peer, t)) {
        report.in_flight.push_back(fmt::format("trade {}: item {} received by {} (entry {}), still escrowed by {} (PREPARED)", t, item, s->name(), seq, peer->name()));
      } else {
        find(s->name(), seq, fmt::format("item {} received in trade {} was never sent by {}: made from nothing", item, t, peer->name()));
      }
    }
  }
  // No item in two places; what is alive, per kind.
  std::map<ItemId, std::vector<std::pair<const StoreFold*, const ItemPlace*>>> places;
  for (const StoreFold* s : stores) {
    for (const auto& [item, p] : s->items()) {
      if (present(&p)) places[item].emplace_back(s, &p);
    }
  }
  // The one legitimate pair: received at the initiator's commit point, still escrowed by the PREPARED responder.
  const auto in_flight_pair = [&](ItemId item, const auto& where) {
    if (where.size() != 2) return false;
    for (int i = 0; i < 2; ++i) {
      const auto& [hs, held] = where[i];
      const auto& [es, esc] = where[1 - i];
      if (held->where == ItemPlace::Where::kHeld && esc->where == ItemPlace::Where::kEscrowed && held->trade == esc->trade && held->trade != 0 &&
          hs->received().count({held->trade, item}) && prepared_there(es, esc->trade)) {
        return true;
      }
    }
    return false;
  };
  for (const auto& [item, where] : places) {
    kind_of[item] = where.front().second->kind;
    if (where.size() == 1 || in_flight_pair(item, where)) continue;
    std::string list;
    for (const auto& [s, p] : where) list += fmt::format("{}{}: {}", list.empty() ? "" : "; ", s->name(), describe(*p));
    find(where.front().first->name(), where.front().second->seq, fmt::format("item {} is in {} places: {}", item, where.size(), list));
  }
  for (const auto& [item, kind] : kind_of) ++report.alive[kind];
  // Per kind: sources - sinks (+ imported - exported, which are not per kind) = alive.
  if (report.imported == 0 && report.exported == 0) {
    std::set<uint16_t> kinds;
    for (const auto& [k, c] : report.kinds) kinds.insert(k);
    for (const auto& [k, n] : report.alive) kinds.insert(k);
    for (const uint16_t k : kinds) {
      const KindCounts c = report.kinds.count(k) ? report.kinds.at(k) : KindCounts{};
      const int64_t expect = static_cast<int64_t>(c.created + c.restored) - static_cast<int64_t>(c.destroyed);
      const int64_t alive = report.alive.count(k) ? static_cast<int64_t>(report.alive.at(k)) : 0;
      if (expect != alive) {
        find("(all stores)", 0, fmt::format("item kind {}: created {} + restored {} - destroyed {} = {}, but {} are held, escrowed or in flight", k, c.created,
                                             c.restored, c.destroyed, expect, alive));
      }
    }
  }
  return report;
}

// --- Rollback --------------------------------------------------------------------------------------

RollbackPoint rollback_point(const StoreFold& store, uint64_t after_unix_ms) {
  RollbackPoint p;
  p.after_seq = store.last_seq();
  for (const StoreFold::Applied& a : store.applied()) {
    if (a.entry.unix_ms == 0) {
      ++p.unstamped;
    } else if (p.first_later_seq == 0 && a.entry.unix_ms > after_unix_ms) {
      p.first_later_seq = a.seq;
      p.first_later_unix_ms = a.entry.unix_ms;
      p.after_seq = a.seq - 1;
    } else if (p.first_later_seq != 0 && a.entry.unix_ms <= after_unix_ms) {
      ++p.stamped_not_later;
    }
  }
  return p;
}

RollbackPlan plan_rollback(const StoreFold& store, CharacterKey player, uint64_t after_seq, uint64_t stamp_unix_ms) {
  RollbackPlan plan;
  std::map<ItemId, ItemPlace> now = store.items();  // the fold as the plan changes it, newest first
  std::map<CharacterKey, uint64_t> money = store.balances();
  const auto held_by_player = [&](ItemId item) {
    const auto it = now.find(item);
    return it != now.end() && it->second.where == ItemPlace::Where::kHeld && it->second.character == player;
  };
  const auto where = [&](ItemId item) {
    const auto it = now.find(item);
    return it == now.end() ? std::string("never seen here") : describe(it->second);
  };
  const std::vector<StoreFold::Applied>& entries = store.applied();
  for (auto it = entries.rbegin(); it != entries.rend() && it->seq > after_seq; ++it) {
    const uint64_t seq = it->seq;
    const Entry& e = it->entry;
    if (e.key.node == kRollbackNode) continue;
    bool trade = false;
    std::vector<const Op*> creates, destroys;
    for (const Op& op : e.ops) {
      trade |= op.kind == OpKind::kEscrow || op.kind == OpKind::kRelease || op.kind == OpKind::kSend || op.kind == OpKind::kReceive;
      if (op.kind == OpKind::kCreate) creates.push_back(&op);
      if (op.kind == OpKind::kDestroy) destroys.push_back(&op);
    }
    if (!touches(e, player)) continue;
    if (store.compensated().count(seq)) {
      plan.already.push_back({seq, "compensated by an earlier rollback"});
      continue;
    }
    if (trade) {
      const Op& first = e.ops.front();
      const TradeId t = first.trade;
      const auto row = store.trades().find(t);
      const std::string state = row == store.trades().end() ? "no row" : trade_state_name(row->second.state);
      if (e.ops.size() == 1 && first.kind == OpKind::kRelease) continue;  // an abort: with its escrow, nothing moved
      if (e.ops.size() == 1 && first.kind == OpKind::kEscrow) {
        const auto p = now.find(first.item);
        if (p != now.end() && p->second.where == ItemPlace::Where::kEscrowed && p->second.trade == t) {
          plan.cannot.push_back({seq, fmt::format("trade {} is still open ({}): item {} stays escrowed until it finishes", t, state, first.item)});
        }
        continue;  // released later (aborted: nothing moved) or sent (the commit entry reports it)
      }
      std::string gave, got;
      for (const Op& op : e.ops) {
        if (op.kind == OpKind::kSend) gave += fmt::format("{}item {} to character {}", gave.empty() ? "" : ", ", op.item, op.character);
        if (op.kind == OpKind::kReceive) got += fmt::format("{}item {}", got.empty() ? "" : ", ", op.item);
      }
      const uint32_t peer = row == store.trades().end() ? 0 : (row->second.role == TradeRole::kInitiator ? row->second.b_node : row->second.a_node);
      plan.cannot.push_back({seq, fmt::format("trade {} (committed): gave {}, received {}; a trade moved items on two stores (node {} too) and is not "
                                              "undone by a one-store rollback",
                                              t, gave.empty() ? "nothing" : gave, got.empty() ? "nothing" : got, peer)});
      continue;
    }
    // Loot, grant, craft, vendor, admin: one character's items, undone whole or not at all.
    Entry comp{EntryKey{kRollbackNode, seq}, {}, stamp_unix_ms};
    std::string blocked;
    for (const Op* c : creates) {
      if (!held_by_player(c->item)) {
        blocked += fmt::format("{}item {} ({}) is now {}", blocked.empty() ? "" : "; ", c->item, source_name(c->why) ? source_name(c->why) : "?", where(c->item));
      }
      comp.ops.push_back(Op{OpKind::kDestroy, c->item, c->item_kind, player, 0, static_cast<uint8_t>(Sink::kRollback)});
    }
    for (const Op* d : destroys) {
      const auto p = now.find(d->item);
      if (p == now.end() || p->second.where != ItemPlace::Where::kDestroyed) {
        blocked += fmt::format("{}item {} to restore is now {}", blocked.empty() ? "" : "; ", d->item, where(d->item));
      }
      comp.ops.push_back(Op{OpKind::kCreate, d->item, d->item_kind, player, 0, static_cast<uint8_t>(Source::kRollback)});
    }
    // Money: what a source paid is taken back, if the player still has it; what a sink took is paid back.
    uint64_t balance = money.count(player) ? money.at(player) : 0;
    for (const Op& op : e.ops) {
      if (!op.currency() || op.character != player) continue;
      if (op.kind == OpKind::kMint) {
        if (balance < op.amount) {
          blocked += fmt::format("{}the {} paid by {} was since spent (the balance is {})", blocked.empty() ? "" : "; ", op.amount,
                                 source_name(op.why) ? source_name(op.why) : "?", balance);
        } else {
          balance -= op.amount;
        }
        comp.ops.push_back(Op{OpKind::kBurn, 0, 0, player, 0, static_cast<uint8_t>(Sink::kRollback), op.amount});
      } else {
        balance += op.amount;
        comp.ops.push_back(Op{OpKind::kMint, 0, 0, player, 0, static_cast<uint8_t>(Source::kRollback), op.amount});
      }
    }
    if (!blocked.empty()) {
      plan.cannot.push_back({seq, blocked});
      continue;
    }
    if (balance == 0) money.erase(player);
    else money[player] = balance;
    std::string what;
    for (const Op* c : creates) what += fmt::format("{}remove item {} (kind {}, {})", what.empty() ? "" : ", ", c->item, c->item_kind, source_name(c->why));
    for (const Op* d : destroys) {
      what += fmt::format("{}restore item {} (kind {}, {})", what.empty() ? "" : ", ", d->item, d->item_kind, sink_name(d->why) ? sink_name(d->why) : "?");
    }
    for (const Op& op : comp.ops) {
      if (op.currency()) {
        what += fmt::format("{}{} {}", what.empty() ? "" : ", ", op.kind == OpKind::kBurn ? "take back" : "pay back", op.amount);
        continue;
      }
      ItemPlace& p = now[op.item];
      p = op.kind == OpKind::kDestroy ? ItemPlace{ItemPlace::Where::kDestroyed, op.item_kind, player, 0, op.why, 0}
                                      : ItemPlace{ItemPlace::Where::kHeld, op.item_kind, player, 0, 0, 0};
    }
    plan.undone.push_back({seq, what});
    plan.entries.push_back(std::move(comp));
  }
  return plan;
}

}  // namespace aether::economy
