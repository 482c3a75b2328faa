#include "app/economy_checker.h"

#include <fmt/format.h>

namespace aether::app {

using economy::id_node;

void EconomyChecker::fail(TimeNs now, std::string what) {
  if (!violation_) violation_ = EconomyViolation{now, std::move(what)};
}

std::string EconomyChecker::describe(uint64_t item) const {
  const auto it = items_.find(item);
  if (it == items_.end()) return ever_.count(item) ? "destroyed" : "never created";
  const Place& p = it->second;
  switch (p.where) {
    case Where::kHeld: return fmt::format("held by character {} on node {}", p.character, p.node);
    case Where::kEscrowed: return fmt::format("escrowed by trade {:#x} on node {}", p.trade, p.node);
    case Where::kInFlight: return fmt::format("in flight to character {} on node {} by trade {:#x}", p.character, p.node, p.trade);
  }
  return "?";
}

void EconomyChecker::on_record(const TraceEvent& r) {
  if (r.kind < TraceKind::kEconCreated || r.kind > TraceKind::kEconCurrency) return;
  ++figures_.records;
  std::vector<TraceEvent>& pending = pending_[r.node.value];
  switch (r.kind) {
    case TraceKind::kEconFailed: pending.clear(); return;
    case TraceKind::kEconApplied:
    case TraceKind::kEconRecovered: {
      // Applied: the entry is durable. Recovered after a crash: it is iff the store kept it (the
      // vault's highest own serial reached it); one write is in flight per vault, so at most one entry waits.
      const bool durable = r.kind == TraceKind::kEconApplied ? (!pending.empty() && pending.front().tick == r.tick)
                                                             : (!pending.empty() && static_cast<int64_t>(pending.front().tick) <= r.a);
      if (r.kind == TraceKind::kEconApplied && !durable) fail(r.time_ns, fmt::format("node {} applied entry {} it never wrote", r.node.value, r.tick));
      std::vector<TraceEvent> ops;
      ops.swap(pending);
      if (durable) {
        for (TraceEvent op : ops) {
          op.time_ns = r.time_ns;
          apply(op);
        }
      }
      check_vault(r.time_ns, r.node.value);
      return;
    }
    default:
      if (!pending.empty() && pending.front().tick != r.tick) {
        fail(r.time_ns, fmt::format("node {} wrote entry {} while entry {} was in flight", r.node.value, r.tick, pending.front().tick));
      }
      pending.push_back(r);
      return;
  }
}

void EconomyChecker::apply(const TraceEvent& r) {
  const TimeNs now = r.time_ns;
  const uint32_t node = r.node.value;
  const uint64_t item = static_cast<uint64_t>(r.a);
  const uint64_t who = r.entity.value;
  const uint64_t trade = static_cast<uint64_t>(r.b);
  const auto it = items_.find(item);
  Place* p = it == items_.end() ? nullptr : &it->second;
  const auto held_here = [&] { return p && p->where == Where::kHeld && p->character == who && p->node == node; };
  const auto escrowed_at = [&](uint32_t n) { return p && p->where == Where::kEscrowed && p->trade == trade && p->node == n; };
  const auto refuse = [&](const char* action) {
    fail(now, fmt::format("node {} {} item {:#x} for character {} (trade {:#x}) but the item is {}: {}", node, action, item, who, trade,
                          describe(item), p || ever_.count(item) ? "an item in two places (duplicated)" : "an item from nowhere"));
  };
  switch (r.kind) {
    case TraceKind::kEconCreated: {
      if (ever_.count(item)) return refuse("created again");
      const auto kind = static_cast<uint16_t>(r.b & 0xffff);
      ever_.insert(item);
      items_[item] = Place{Where::kHeld, kind, who, node, 0};
      ++created_by_kind_[kind];
      ++figures_.created;
      break;
    }
    case TraceKind::kEconDestroyed:
      if (!held_here()) return refuse("destroyed");
      ++destroyed_by_kind_[p->kind];
      items_.erase(it);
      ++figures_.destroyed;
      break;
    case TraceKind::kEconEscrowed:
      if (!held_here()) return refuse("escrowed");
      *p = Place{Where::kEscrowed, p->kind, who, node, trade};
      ++figures_.escrowed;
      break;
    case TraceKind::kEconReleased:
      if (!escrowed_at(node) || p->character != who || committed_.count(trade)) return refuse("released");
      p->where = Where::kHeld;
      p->trade = 0;
      ++figures_.released;
      break;
    case TraceKind::kEconSent:
      if (id_node(trade) == node) {  // the initiator's commit point: our escrowed item leaves for `who` on the peer
        if (!escrowed_at(node)) return refuse("sent");
        *p = Place{Where::kInFlight, p->kind, who, r.peer.value, trade};
        committed_.insert(trade);
        ++figures_.committed;
      } else if (!committed_.count(trade)) {  // the responder catching up: only after the commit point
        return refuse("sent before its trade committed");
      }
      break;
    case TraceKind::kEconReceived:
      if (id_node(trade) == node) {  // the commit point: the responder's escrowed item is ours
        if (!escrowed_at(r.peer.value)) return refuse("received at commit");
        *p = Place{Where::kHeld, p->kind, who, node, 0};
        committed_.insert(trade);
      } else {  // the responder: the initiator's item lands
        if (!p || p->where != Where::kInFlight || p->trade != trade || p->character != who || p->node != node) return refuse("landed");
        *p = Place{Where::kHeld, p->kind, who, node, 0};
        ++figures_.landed;
      }
      break;
    case TraceKind::kEconCurrency: {
      uint64_t& balance = balances_[{node, who}];
      const uint64_t amount = r.a > 0 ? static_cast<uint64_t>(r.a) : static_cast<uint64_t>(-r.a);
      if (r.a > 0) {
        balance += amount;
        figures_.minted += amount;
      } else if (balance < amount) {
        return fail(now, fmt::format("node {}: character {} spends {} but has {}: money from nowhere", node, who, amount, balance));
      } else {
        balance -= amount;
        figures_.burned += amount;
      }
      if (balance == 0) balances_.erase({node, who});
      break;
    }
    default: break;
  }
}

// The vault's fold against the model: held items exactly where the model holds them; escrowed
// ones escrowed by the model too, or by a trade past its commit point (the responder not caught up).
void EconomyChecker::check_vault(TimeNs now, uint32_t node) {
  const economy::Vault* v = vault_(node);
  if (!v || !v->ready() || violation_) return;
  ++figures_.vault_checks;
  const economy::ItemBook& book = v->book();
  for (const auto& [item, h] : book.held()) {
    const auto it = items_.find(item);
    if (it == items_.end() || it->second.where != Where::kHeld || it->second.node != node || it->second.character != h.character) {
      return fail(now, fmt::format("node {} holds item {:#x} for character {}, but the item is {}: duplicated", node, item, h.character, describe(item)));
    }
  }
  for (const auto& [item, x] : book.escrowed()) {
    const auto it = items_.find(item);
    const bool model = it != items_.end() && it->second.where == Where::kEscrowed && it->second.node == node && it->second.trade == x.trade;
    if (!model && !committed_.count(x.trade)) {
      return fail(now, fmt::format("node {} escrows item {:#x} by trade {:#x}, but the item is {}", node, item, x.trade, describe(item)));
    }
  }
  for (const auto& [c, balance] : book.balances()) {
    const auto it = balances_.find({node, c});
    const uint64_t model = it == balances_.end() ? 0 : it->second;
    if (model != balance) return fail(now, fmt::format("node {}: character {} has {} in its fold, {} by the ledger's records", node, c, balance, model));
  }
  for (auto it = balances_.lower_bound({node, 0}); it != balances_.end() && it->first.first == node; ++it) {
    if (book.balance(it->first.second) != it->second) {
      return fail(now, fmt::format("node {}: character {} has {} by the ledger's records, {} in its fold", node, it->first.second, it->second,
                                   book.balance(it->first.second)));
    }
  }
  for (const auto& [item, p] : items_) {
    if (p.where == Where::kHeld && p.node == node) {
      const auto h = book.held().find(item);
      if (h == book.held().end() || h->second.character != p.character) {
        return fail(now, fmt::format("item {:#x} is held by character {} on node {}, but that node's fold lacks it: lost", item, p.character, node));
      }
    }
  }
}

void EconomyChecker::finish(TimeNs now, const std::vector<uint32_t>& nodes) {
  for (const uint32_t n : nodes) {
    const economy::Vault* v = vault_(n);
    if (!v || !v->ready()) return fail(now, fmt::format("at the end, vault {} is not up", n));
    if (v->trades_open() != 0) return fail(now, fmt::format("at the end, vault {} still has {} trades open", n, v->trades_open()));
    if (!v->book().escrowed().empty()) return fail(now, fmt::format("at the end, vault {} still escrows {} items", n, v->book().escrowed().size()));
    check_vault(now, n);
  }
  std::map<uint16_t, int64_t> alive;
  for (const auto& [item, p] : items_) {
    if (p.where != Where::kHeld) return fail(now, fmt::format("at the end, item {:#x} is {}", item, describe(item)));
    ++alive[p.kind];
  }
  std::map<uint16_t, int64_t> in_vaults;
  for (const uint32_t n : nodes) {
    for (const auto& [item, h] : vault_(n)->book().held()) ++in_vaults[h.kind];
  }
  for (const auto& [kind, created] : created_by_kind_) {
    const int64_t expect = created - destroyed_by_kind_[kind];
    if (in_vaults[kind] != expect || alive[kind] != expect) {
      return fail(now, fmt::format("item kind {}: {} created - {} destroyed = {}, but the vaults hold {}", kind, created, destroyed_by_kind_[kind], expect,
                                   in_vaults[kind]));
    }
  }
  uint64_t total = 0;
  for (const auto& [key, balance] : balances_) total += balance;
  if (total != figures_.minted - figures_.burned) {
    return fail(now, fmt::format("currency: {} paid - {} taken = {}, but the balances add up to {}", figures_.minted, figures_.burned,
                                 figures_.minted - figures_.burned, total));
  }
  figures_.items_alive = items_.size();
}

}  // namespace aether::app
