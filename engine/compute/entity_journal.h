#pragma once
// The last inputs and intents of the entities an operator is inspecting (the console's entity
// inspector, through the coordinator's ghost query). A compute node cannot keep every entity's
// history, so it keeps one only for the entities it was asked about lately: an entity is watched
// from the ghost query that found it here for kJournalWatchTicks, and each question renews that.
// The first answer has nothing yet; the inspector reads again every second and sees what came since.
//
// Bounded: at most kJournalEntitiesMax watched at once (one more evicts the one asked about least
// recently), and per entity the newest kJournalInputsMax inputs and kJournalIntentsMax intents (the
// oldest goes). Ordered maps and ticks only: what it holds is the same for one seed.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>

#include "engine/wire/messages.h"

namespace aether {

inline constexpr size_t kJournalEntitiesMax = 16;
inline constexpr size_t kJournalInputsMax = 8;
inline constexpr size_t kJournalIntentsMax = 8;
inline constexpr uint64_t kJournalWatchTicks = 600;  // 60 s at 10 Hz (kTickHz)

class EntityJournal {
 public:
  struct Input {
    uint64_t tick = 0;
    ClientInput input;
  };
  struct Intent {
    uint64_t tick = 0;
    RemoteIntent intent;
  };
  struct Record {
    uint64_t watched_until = 0;  // tick
    uint64_t asked_at = 0;       // tick of the last question, for eviction
    std::deque<Input> inputs;    // oldest first
    std::deque<Intent> intents;  // oldest first
  };

  // An operator asked about `id` at `tick`: watch it (again) from now.
  void watch(EntityId id, uint64_t tick) {
    auto [it, fresh] = records_.try_emplace(id);
    it->second.watched_until = tick + kJournalWatchTicks;
    it->second.asked_at = tick;
    if (!fresh || records_.size() <= kJournalEntitiesMax) return;
    auto oldest = records_.end();
    for (auto r = records_.begin(); r != records_.end(); ++r) {
      if (r->first != id && (oldest == records_.end() || r->second.asked_at < oldest->second.asked_at)) oldest = r;
    }
    records_.erase(oldest);
  }
  bool active() const { return !records_.empty(); }

  void note_input(EntityId id, uint64_t tick, const ClientInput& in) {
    auto it = records_.find(id);
    if (it == records_.end()) return;
    it->second.inputs.push_back(Input{tick, in});
    if (it->second.inputs.size() > kJournalInputsMax) it->second.inputs.pop_front();
  }
  // An intent is noted for its source and its target, if either is watched.
  void note_intent(uint64_t tick, const RemoteIntent& intent) {
    note_intent_for(intent.source, tick, intent);
    if (intent.target != intent.source) note_intent_for(intent.target, tick, intent);
  }
  // Once a tick: entities watched for long enough without a question are forgotten.
  void expire(uint64_t tick) {
    std::erase_if(records_, [tick](const auto& kv) { return kv.second.watched_until <= tick; });
  }

  const Record* find(EntityId id) const {
    auto it = records_.find(id);
    return it == records_.end() ? nullptr : &it->second;
  }
  size_t size() const { return records_.size(); }

 private:
  void note_intent_for(EntityId id, uint64_t tick, const RemoteIntent& intent) {
    auto it = records_.find(id);
    if (it == records_.end()) return;
    it->second.intents.push_back(Intent{tick, intent});
    if (it->second.intents.size() > kJournalIntentsMax) it->second.intents.pop_front();
  }

  std::map<EntityId, Record> records_;
};

}  // namespace aether
