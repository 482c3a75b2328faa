#include "engine/compute/character_saves.h"

#include "engine/runtime/storage_keys.h"
#include "engine/wire/state_codec.h"

namespace aether {

Bytes character_save_key(CharacterId character, uint32_t life) { return StorageKey("charsave").u64(character.value).u64(life).take(); }
Bytes character_save_prefix(CharacterId character) { return StorageKey("charsave").u64(character.value).take(); }

void put_character_save(WriteBatch& b, const CharacterSave& s, uint64_t generation) {
  AETHER_ASSERT(s.character.valid() && s.life != 0 && generation < kSaveEraseFence);
  b.put(character_save_key(s.character, s.life), encode_character_save(s), generation);
  if (s.life > 1) b.erase(character_save_key(s.character, s.life - 1), kSaveEraseFence);
}

void CharacterSaves::logout(const CharacterSave& save, uint64_t generation) {
  if (logouts_.size() >= kLogoutSavesMax) {
    ++figures_.dropped;
    settled_.push_back(LogoutSaved{save.character, save.life});  // never lands: the last save that did stands
    return;
  }
  owe(save);
  logouts_.push_back(Save{save, generation});
}

void CharacterSaves::flush(Storage& storage, std::weak_ptr<char> life, const std::function<std::optional<Save>(EntityId)>& take,
                           std::function<void(const WriteResult&, size_t)> done) {
  if (writing_ || (due_.empty() && logouts_.empty())) return;
  WriteBatch batch;
  batch.sync = !logouts_.empty();  // a log-out is what a player expects back; periodic saves can be redone
  std::deque<Save> logouts;
  std::vector<EntityId> periodic;
  size_t saves = 0;
  while (!logouts_.empty() && saves < kCharacterSaveBatchMax) {
    put_character_save(batch, logouts_.front().save, logouts_.front().generation);
    logouts.push_back(std::move(logouts_.front()));
    logouts_.pop_front();
    ++saves;
  }
  while (!due_.empty() && saves < kCharacterSaveBatchMax) {
    const EntityId id = *due_.begin();
    due_.erase(due_.begin());
    if (std::optional<Save> s = take(id)) {
      put_character_save(batch, s->save, s->generation);
      periodic.push_back(id);
      ++saves;
    }
  }
  if (saves == 0) return;
  auto held = std::make_shared<std::pair<std::deque<Save>, std::vector<EntityId>>>(std::move(logouts), std::move(periodic));
  const bool synced = batch.sync;
  const StorageCode code = storage.write(std::move(batch), [this, life, held, saves, synced, done](WriteResult r) {
    if (life.expired()) return;
    completed(r, synced, std::move(held->first), std::move(held->second));
    done(r, saves);
  });
  if (code != StorageCode::kOk) {
    WriteResult refused;
    refused.status.code = code;
    completed(refused, synced, std::move(held->first), std::move(held->second));
    return;
  }
  writing_ = true;
}

void CharacterSaves::completed(const WriteResult& r, bool synced, std::deque<Save> logouts, std::vector<EntityId> periodic) {
  writing_ = false;
  const size_t n = logouts.size() + periodic.size();
  if (r.status.ok() || r.status.code == StorageCode::kFenced) {
    for (const Save& s : logouts) settle(s.save);
  }
  if (r.status.ok()) {
    figures_.written += n;
    if (synced) figures_.synced += n;
    return;
  }
  if (r.status.code == StorageCode::kFenced) {
    figures_.fenced += n;
    return;
  }
  ++figures_.failed;
  for (EntityId id : periodic) due_.insert(id);  // taken again, as they are then
  while (!logouts.empty()) {
    if (logouts_.size() >= kLogoutSavesMax) {
      figures_.dropped += logouts.size();
      for (const Save& s : logouts) settle(s.save);
      return;
    }
    logouts_.push_front(std::move(logouts.back()));
    logouts.pop_back();
  }
}

}  // namespace aether
