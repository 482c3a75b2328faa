#pragma once
// The coordinator's recent handovers, for operators (the console's timeline, GET /api/timeline):
// migrations done, compute nodes lost (their entities failed over), drains ordered, leadership won
// or given up. A ring of the newest kHandoverLogMax events: at the limit the oldest is forgotten.
// Each event has a sequence number that only grows, so that a reader asks for what came after the
// last one it saw and learns, from the first sequence it gets, whether it missed some.
// Times are the runtime clock's (virtual in the simulator): no wall clock in the engine.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "engine/core/ids.h"
#include "engine/core/time.h"

namespace aether {

inline constexpr size_t kHandoverLogMax = 256;

enum class HandoverKind : uint8_t {
  kMigrated = 0,     // entity moved from -> to (release then grant)
  kNodeLost = 1,     // compute `from` lost: `count` entities orphaned, re-granted elsewhere (a failover)
  kNodeRestarted = 2,  // compute `from` came back as a new incarnation: `count` entities orphaned
  kDrain = 3,        // an operator ordered `from` drained
  kLeader = 4,       // this coordinator took over as leader (`count`: promises it won)
  kSteppedDown = 5,  // this coordinator gave up leadership
};
const char* handover_kind_name(HandoverKind k);

struct Handover {
  uint64_t seq = 0;   // 1, 2, 3... in this coordinator's life
  TimeNs at_ns = 0;
  Epoch epoch = 0;
  HandoverKind kind = HandoverKind::kMigrated;
  EntityId entity{};
  NodeId from{};
  NodeId to{};
  uint64_t count = 0;
};

class HandoverLog {
 public:
  void record(Handover h) {
    h.seq = ++last_seq_;
    if (events_.size() == kHandoverLogMax) events_.pop_front();
    events_.push_back(h);
  }
  // The events after sequence `after`, oldest first, at most `max`: the newest ones when more wait.
  std::vector<Handover> since(uint64_t after, size_t max) const {
    std::vector<Handover> out;
    size_t first = events_.size();
    while (first > 0 && events_[first - 1].seq > after && events_.size() - first < max) --first;
    for (size_t i = first; i < events_.size(); ++i) out.push_back(events_[i]);
    return out;
  }
  // The newest events naming `entity` (a migration of it), oldest first, at most `max`.
  std::vector<Handover> of_entity(EntityId entity, size_t max) const {
    std::vector<Handover> out;
    for (auto it = events_.rbegin(); it != events_.rend() && out.size() < max; ++it) {
      if (it->entity == entity) out.push_back(*it);
    }
    return {out.rbegin(), out.rend()};
  }
  uint64_t last_seq() const { return last_seq_; }
  size_t size() const { return events_.size(); }

 private:
  std::deque<Handover> events_;
  uint64_t last_seq_ = 0;
};

inline const char* handover_kind_name(HandoverKind k) {
  switch (k) {
    case HandoverKind::kMigrated: return "migrated";
    case HandoverKind::kNodeLost: return "node_lost";
    case HandoverKind::kNodeRestarted: return "node_restarted";
    case HandoverKind::kDrain: return "drain";
    case HandoverKind::kLeader: return "leader";
    case HandoverKind::kSteppedDown: return "stepped_down";
  }
  return "?";
}

}  // namespace aether
