#include "engine/compute/loot_log.h"

#include "engine/compute/character_saves.h"
#include "engine/core/hash.h"
#include "engine/runtime/storage_keys.h"
#include "engine/wire/bytes.h"
#include "engine/wire/state_codec.h"

namespace aether {

namespace {
constexpr uint8_t kLootEntryFormat = 0x4C;  // 'L', format 1; its item as state_codec.h writes one
}  // namespace

Bytes encode_loot_entry(const LootEntry& e) {
  Bytes out;
  ByteWriter w(out);
  w.u8(kLootEntryFormat);
  w.varint(e.holder.value);
  w.varint(e.generation);
  put_loot_item(w, e.item);
  return out;
}

std::optional<LootEntry> decode_loot_entry(std::span<const uint8_t> bytes, const char** error) {
  ByteReader r(bytes);
  LootEntry e;
  if (r.u8() != kLootEntryFormat && r.ok()) r.fail("not a loot entry (format byte)");
  e.holder = EntityId(r.varint());
  e.generation = r.varint();
  e.item = get_loot_item(r);
  if (r.ok() && !e.holder.valid()) r.fail("loot entry without its holder");
  if (r.ok() && !r.at_end()) r.fail("bytes after the loot entry");
  if (!r.ok()) {
    *error = r.error();
    return std::nullopt;
  }
  return e;
}

Bytes encode_inventory(std::span<const LootItem> items) {
  Bytes out;
  ByteWriter w(out);
  w.varint(items.size());
  for (const LootItem& i : items) put_loot_item(w, i);
  return out;
}

bool decode_inventory(std::span<const uint8_t> bytes, InlineVec<LootItem, kInventoryItemsMax>& out, const char** error) {
  out.clear();
  ByteReader r(bytes);
  const uint64_t n = r.varint_at_most(kInventoryItemsMax, "inventory with too many items");
  for (uint64_t k = 0; k < n && r.ok(); ++k) {
    const LootItem i = get_loot_item(r);
    for (const LootItem& held : out) {
      if (r.ok() && held.same_item(i)) r.fail("inventory holding one item twice");
    }
    if (r.ok()) out.push_back(i);
  }
  if (r.ok() && !r.at_end()) r.fail("bytes after the inventory");
  if (!r.ok()) *error = r.error();
  return r.ok();
}

Bytes inventory_key(EntityId holder) { return StorageKey("inventory").u64(holder.value).take(); }

int64_t loot_item_hash(const LootItem& item) {
  Hasher64 h;
  h.add_u64(item.victim.value);
  h.add_u64(item.key.origin.value);
  h.add_u64(item.key.incarnation);
  h.add_u64(item.key.tick);
  h.add_u64(item.key.seq);
  return static_cast<int64_t>(h.digest() >> 1);
}

void LootLog::add(const LootEntry& entry, std::span<const LootItem> inventory, const CharacterSave* save) {
  ++figures_.created;
  if (pending_.size() >= kLootPendingMax) {
    ++figures_.unlogged;
    return;
  }
  if (save) {
    pending_.push_back(Pending{entry, {}, *save});
  } else {
    pending_.push_back(Pending{entry, encode_inventory(inventory), std::nullopt});
  }
}

void LootLog::flush(Storage& storage, std::weak_ptr<char> life, std::function<void(const WriteResult&, size_t)> done) {
  if (writing_ || pending_.empty()) return;
  std::deque<Pending> batch_entries;
  WriteBatch batch;
  batch.sync = true;
  while (!pending_.empty() && batch_entries.size() < kLootBatchEntriesMax) {
    Pending& p = pending_.front();
    batch.append(encode_loot_entry(p.entry));
    if (p.save) {
      put_character_save(batch, *p.save, p.entry.generation);
    } else {
      batch.put(inventory_key(p.entry.holder), p.inventory, p.entry.generation);
    }
    batch_entries.push_back(std::move(p));
    pending_.pop_front();
  }
  const size_t n = batch_entries.size();
  auto entries = std::make_shared<std::deque<Pending>>(std::move(batch_entries));
  const StorageCode code = storage.write(std::move(batch), [this, life, entries, n, done](WriteResult r) {
    if (life.expired()) return;
    completed(r, std::move(*entries));
    done(r, n);
  });
  if (code != StorageCode::kOk) {
    WriteResult refused;
    refused.status.code = code;
    completed(refused, std::move(*entries));
    return;
  }
  writing_ = true;
}

void LootLog::completed(const WriteResult& r, std::deque<Pending> batch) {
  writing_ = false;
  if (r.status.ok()) {
    figures_.logged += batch.size();
    return;
  }
  if (r.status.code == StorageCode::kFenced) {
    figures_.fenced += batch.size();
    return;
  }
  ++figures_.write_failures;
  // Again with the next batch, first, as far as room allows: the newest beyond it go unlogged.
  while (!batch.empty()) {
    if (pending_.size() >= kLootPendingMax) {
      figures_.unlogged += batch.size();
      return;
    }
    pending_.push_front(std::move(batch.back()));
    batch.pop_back();
  }
}

}  // namespace aether
