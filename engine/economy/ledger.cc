#include "engine/economy/ledger.h"

#include <fmt/format.h>

#include "engine/wire/bytes.h"

namespace aether::economy {

namespace {
// 1: key and operations; 2: and the writer's time stamp (unix_ms) after the key.
constexpr uint8_t kEntryVersion = 2;
constexpr uint8_t kEntryVersionUnstamped = 1;
}  // namespace

const char* source_name(uint8_t why) {
  switch (static_cast<Source>(why)) {
    case Source::kLoot: return "loot";
    case Source::kCraft: return "craft";
    case Source::kGrant: return "grant";
    case Source::kRollback: return "rollback";
    case Source::kVendor: return "vendor";
    case Source::kNone: break;
  }
  return nullptr;
}

const char* sink_name(uint8_t why) {
  switch (static_cast<Sink>(why)) {
    case Sink::kCraft: return "craft";
    case Sink::kVendor: return "vendor";
    case Sink::kAdmin: return "admin";
    case Sink::kRollback: return "rollback";
    case Sink::kFee: return "fee";
    case Sink::kNone: break;
  }
  return nullptr;
}

Bytes encode_entry(const Entry& e) {
  Bytes out;
  ByteWriter w(out);
  w.u8(e.unix_ms != 0 ? kEntryVersion : kEntryVersionUnstamped);
  w.varint(e.key.node);
  w.varint(e.key.serial);
  if (e.unix_ms != 0) w.varint(e.unix_ms);
  w.varint(e.ops.size());
  for (const Op& op : e.ops) {
    w.u8(static_cast<uint8_t>(op.kind));
    w.varint(op.item);
    w.varint(op.item_kind);
    w.varint(op.character);
    w.varint(op.trade);
    w.u8(op.why);
    if (op.currency()) w.varint(op.amount);
  }
  return out;
}

std::optional<Entry> decode_entry(std::span<const uint8_t> bytes, const char** error) {
  ByteReader rd(bytes);
  Entry e;
  const uint8_t version = rd.u8();
  if (version != kEntryVersion && version != kEntryVersionUnstamped) rd.fail("not a version 1 or 2 ledger entry");
  e.key.node = static_cast<uint32_t>(rd.varint_at_most(UINT32_MAX, "entry node past 32 bits"));
  e.key.serial = rd.varint();
  if (version == kEntryVersion) {
    e.unix_ms = rd.varint_at_most(kEntryUnixMsMax, "entry time stamp past year 2286");
    if (rd.ok() && e.unix_ms == 0) rd.fail("a version 2 entry without its time stamp");
  }
  const uint64_t n = rd.varint_at_most(kEntryOpsMax, "entry has too many operations");
  if (rd.ok() && n == 0) rd.fail("entry has no operation");
  for (uint64_t i = 0; rd.ok() && i < n; ++i) {
    Op op;
    const uint8_t kind = rd.u8();
    if (kind < static_cast<uint8_t>(OpKind::kCreate) || kind > static_cast<uint8_t>(OpKind::kBurn)) rd.fail("unknown operation");
    op.kind = static_cast<OpKind>(kind);
    op.item = rd.varint();
    op.item_kind = static_cast<uint16_t>(rd.varint_at_most(kItemKindMax, "item kind past its range"));
    op.character = rd.varint();
    op.trade = rd.varint();
    op.why = rd.u8();
    if (op.currency()) {
      op.amount = rd.varint_at_most(kCurrencyOpMax, "currency amount past its range");
      if (rd.ok() && (op.amount == 0 || op.item != 0 || op.item_kind != 0 || op.trade != 0)) rd.fail("a currency operation names an item or moves nothing");
    }
    e.ops.push_back(op);
  }
  if (rd.ok() && !rd.at_end()) rd.fail("trailing bytes after the entry");
  if (!rd.ok()) {
    if (error) *error = rd.error();
    return std::nullopt;
  }
  return e;
}

std::string ItemBook::check(const Entry& e) const {
  if (keys_.count(e.key)) return {};
  if (e.ops.empty() || e.ops.size() > kEntryOpsMax) return "an entry has 1 to 16 operations";
  std::set<ItemId> seen;
  std::map<CharacterKey, uint64_t> balance_after;
  for (const Op& op : e.ops) {
    if (op.currency()) {
      if (op.character == 0 || op.amount == 0 || op.amount > kCurrencyOpMax) return "a currency operation for no character, or of no or too much money";
      const auto at = balance_after.try_emplace(op.character, balance(op.character)).first;
      if (op.kind == OpKind::kMint && at->second + op.amount > kBalanceMax) return fmt::format("character {}'s balance would pass its limit", op.character);
      if (op.kind == OpKind::kBurn && at->second < op.amount) {
        return fmt::format("character {} spends {} but has {}", op.character, op.amount, at->second);
      }
      at->second = op.kind == OpKind::kMint ? at->second + op.amount : at->second - op.amount;
      continue;
    }
    if (op.item == 0 || op.character == 0 || op.item_kind == 0) return fmt::format("item {}: a zero item, kind or character", op.item);
    if (!seen.insert(op.item).second) return fmt::format("item {} appears twice in one entry", op.item);
    const auto h = held_.find(op.item);
    const auto x = escrowed_.find(op.item);
    const bool exists = h != held_.end() || x != escrowed_.end();
    switch (op.kind) {
      case OpKind::kCreate:
      case OpKind::kReceive:
        if (exists) return fmt::format("item {} arrives but is already here", op.item);
        if (op.kind == OpKind::kReceive && op.trade == 0) return fmt::format("item {} received from no trade", op.item);
        break;
      case OpKind::kDestroy:
      case OpKind::kEscrow:
        if (h == held_.end() || h->second.character != op.character || h->second.kind != op.item_kind) {
          return fmt::format("item {} is not held by character {}", op.item, op.character);
        }
        if (op.kind == OpKind::kEscrow && op.trade == 0) return fmt::format("item {} escrowed for no trade", op.item);
        break;
      case OpKind::kRelease:
      case OpKind::kSend:
        if (x == escrowed_.end() || x->second.trade != op.trade || x->second.kind != op.item_kind) {
          return fmt::format("item {} is not escrowed by trade {}", op.item, op.trade);
        }
        if (op.kind == OpKind::kRelease && x->second.character != op.character) {
          return fmt::format("item {} released to {}, not to its holder {}", op.item, op.character, x->second.character);
        }
        break;
      case OpKind::kMint:
      case OpKind::kBurn: break;
    }
  }
  return {};
}

uint64_t ItemBook::balance(CharacterKey c) const {
  const auto it = balances_.find(c);
  return it == balances_.end() ? 0 : it->second;
}

bool ItemBook::apply(const Entry& e) {
  if (keys_.count(e.key)) {
    ++duplicates_;
    return false;
  }
  if (!check(e).empty()) return false;
  for (const Op& op : e.ops) {
    switch (op.kind) {
      case OpKind::kCreate:
      case OpKind::kReceive: held_[op.item] = Held{op.item_kind, op.character}; break;
      case OpKind::kDestroy: held_.erase(op.item); break;
      case OpKind::kEscrow:
        held_.erase(op.item);
        escrowed_[op.item] = Escrowed{op.item_kind, op.character, op.trade};
        break;
      case OpKind::kRelease:
        escrowed_.erase(op.item);
        held_[op.item] = Held{op.item_kind, op.character};
        break;
      case OpKind::kSend: escrowed_.erase(op.item); break;
      case OpKind::kMint: balances_[op.character] += op.amount; break;
      case OpKind::kBurn:
        if ((balances_[op.character] -= op.amount) == 0) balances_.erase(op.character);
        break;
    }
  }
  keys_.insert(e.key);
  if (e.key.node == node_) max_serial_ = std::max(max_serial_, e.key.serial);
  return true;
}

size_t ItemBook::slots_used(CharacterKey c) const {
  size_t n = 0;
  for (const auto& [id, h] : held_) n += h.character == c;
  for (const auto& [id, x] : escrowed_) n += x.character == c;
  return n;
}

std::vector<ItemId> ItemBook::items_of(CharacterKey c) const {
  std::vector<ItemId> out;
  for (const auto& [id, h] : held_) {
    if (h.character == c) out.push_back(id);
  }
  return out;
}

}  // namespace aether::economy
