#pragma once
// The key space of a store (engine/runtime/storage.h): one place that says how every kind of record
// is keyed, so that kinds added later (accounts, characters, inventories) never collide with each
// other and a kind's rows are one prefix scan.
//
// A key is a table prefix (a short lowercase name and '/') followed by fields: integers as 8 bytes
// big-endian (so that byte order is numeric order and a scan walks them in order), strings as
// their bytes and a 0x00 terminator (they must not contain 0x00). Names are never reused for
// another layout: a changed layout is a new name and a migration.
//
// Tables (reserved names; a later kind adds its line here):
//   meta/NAME                          store-wide settings of the engine (not the schema version:
//                                      that is the backend's own, docs/persistence.md)
//   promise/NODE                       a compute node's promises to candidates (engine/compute)
//   inventory/ENTITY                   an avatar's loot as its owner last logged it (engine/compute/loot_log.h)
//   charsave/CHARACTER/LIFE            a character's save, one row per avatar life (engine/compute/character_saves.h)
//   account/ACCOUNT                    accounts (engine/accounts/account_service.h)
//   accountname/NAME                   an account's name -> its id (the name index)
//   character/ACCOUNT/CHARACTER        characters
//   item/ITEM                          items, each with its one holder
//   econ/CHARACTER                     the economy's fence row of a character: every economic batch
//                                      puts it with the character's generation (engine/economy/vault.h)
//   trade/TRADE                        one trade's state on one side (engine/economy/vault.h)
//   ledger entries are not rows: Storage's ledger holds them, numbered by the store.

#include <cstdint>
#include <string_view>

#include "engine/core/assert.h"
#include "engine/runtime/storage.h"

namespace aether {

class StorageKey {
 public:
  explicit StorageKey(std::string_view table) {
    AETHER_ASSERT_MSG(!table.empty() && table.find('/') == std::string_view::npos, "a table name is one word");
    text(table);
    key_.push_back('/');
  }
  StorageKey& u64(uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) key_.push_back(static_cast<uint8_t>(v >> shift));
    return *this;
  }
  StorageKey& str(std::string_view s) {
    AETHER_ASSERT_MSG(s.find('\0') == std::string_view::npos, "key strings hold no 0x00 (validate names first)");
    text(s);
    key_.push_back(0);
    return *this;
  }
  const Bytes& bytes() const { return key_; }
  Bytes take() { return std::move(key_); }

 private:
  void text(std::string_view s) { key_.insert(key_.end(), s.begin(), s.end()); }
  Bytes key_;
};

}  // namespace aether
