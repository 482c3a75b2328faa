#pragma once
// A character's next spawn waits for the log-out save of its last life (docs/persistence.md §9d).
//
// The rule: when the leader revokes a character's avatar (a log-out, an abandoned detached session,
// a fence at a takeover or an audit: Coordinator::revoke), the holder takes the avatar's log-out
// save and writes it, later. A log-in meanwhile would
// read the save before it (the last periodic one) and the next life would start without what the
// last moments earned. So the leader remembers, per character, the life that left and its owner,
// and answers that character's spawns "retry later" (the gateway reads the save again before it
// asks again) until the owner reports the save settled (LogoutSaved: landed, fenced by a newer
// owner, or dropped: nothing more will come), the owner is lost (its saves never land: the last
// that did stands), or kWaitNs passed (a database that does not answer must not lock a player out;
// counted). Only a report from the owner the avatar left, for that life, settles it.
//
// Across a failover: a compute node's Promise lists the log-out saves it owes, and the coordinator
// that takes it (a candidate, or a leader reconciling or auditing the node) waits for those as if
// it had revoked the avatars itself (heard_owed). Every node must promise to a new leader before it
// is renewed, so a new leader learns every owed save of the live nodes; a spawn between its takeover
// and a node's late Promise is the window left open.
//
// Bounded: at most kMax characters wait; past it the oldest wait is given up (counted).

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "engine/core/assert.h"
#include "engine/core/ids.h"
#include "engine/core/time.h"

namespace aether {

struct LogoutWaitFigures {
  uint64_t waits = 0;            // log-outs whose save a spawn would wait for
  uint64_t heard = 0;            // ... of them heard from a node's Promise (a new leader's, mostly)
  uint64_t settled = 0;          // ... settled by their owner's report
  uint64_t spawns_held = 0;      // spawn requests answered "retry later" for one
  uint64_t given_up_timeout = 0; // waits given up after kWaitNs
  uint64_t given_up_lost = 0;    // ... because the owner was lost or restarted
  uint64_t given_up_full = 0;    // ... the oldest, past kMax
};

// Why a wait ended without its save (the trace's b, TraceKind::kLogoutWaitGivenUp).
enum class LogoutWaitEnd : uint8_t { kTimeout = 1, kOwnerGone = 2, kFull = 3 };

class LogoutWaits {
 public:
  static constexpr size_t kMax = 4096;
  static constexpr TimeNs kWaitNs = 5 * kNsPerSec;

  // The leader revoked `character`'s avatar of life `life`, held by `owner`. Full: the oldest wait
  // is given up, and its character returned.
  std::optional<CharacterId> left(CharacterId character, uint32_t life, NodeId owner, TimeNs now) {
    AETHER_ASSERT(character.valid() && owner.valid());
    std::optional<CharacterId> evicted;
    if (!waits_.contains(character) && waits_.size() >= kMax) {
      auto oldest = waits_.begin();
      for (auto it = waits_.begin(); it != waits_.end(); ++it) {
        if (it->second.since < oldest->second.since) oldest = it;
      }
      evicted = oldest->first;
      waits_.erase(oldest);
      ++figures_.given_up_full;
    }
    waits_[character] = Wait{life, owner, now};
    ++figures_.waits;
    AETHER_ASSERT(waits_.size() <= kMax);
    return evicted;
  }

  // `owner`'s Promise says it still owes the log-out save of `character`'s life `life`. A wait we
  // hold for the character already stands (ours is as new: we revoked that avatar, or heard it);
  // else as left(). Full: the oldest wait is given up, and its character returned.
  std::optional<CharacterId> heard_owed(CharacterId character, uint32_t life, NodeId owner, TimeNs now) {
    if (waits_.contains(character)) return std::nullopt;
    ++figures_.heard;
    return left(character, life, owner, now);
  }

  // `owner` reports the log-out save of `character`'s life `life` settled.
  void settled(CharacterId character, uint32_t life, NodeId owner) {
    auto it = waits_.find(character);
    if (it == waits_.end() || it->second.owner != owner || it->second.life != life) return;  // not the one we wait for
    waits_.erase(it);
    ++figures_.settled;
  }

  // The owner is gone (lost, or restarted as a new process): its saves will never land. The
  // characters whose waits are given up, in id order.
  std::vector<CharacterId> owner_gone(NodeId owner) {
    std::vector<CharacterId> out;
    for (auto it = waits_.begin(); it != waits_.end();) {
      if (it->second.owner != owner) {
        ++it;
        continue;
      }
      out.push_back(it->first);
      it = waits_.erase(it);
    }
    figures_.given_up_lost += out.size();
    return out;
  }

  enum class Verdict : uint8_t { kGo, kHold, kGivenUp };
  // Whether a spawn of `character` must wait now (counted as held); a wait past kWaitNs is given up.
  Verdict holds(CharacterId character, TimeNs now) {
    auto it = waits_.find(character);
    if (it == waits_.end()) return Verdict::kGo;
    if (now - it->second.since >= kWaitNs) {
      waits_.erase(it);
      ++figures_.given_up_timeout;
      return Verdict::kGivenUp;
    }
    ++figures_.spawns_held;
    return Verdict::kHold;
  }

  // Leadership won or lost: what we waited for is not ours to hold any more.
  void clear() { waits_.clear(); }

  size_t size() const { return waits_.size(); }
  const LogoutWaitFigures& figures() const { return figures_; }

 private:
  struct Wait {
    uint32_t life = 0;
    NodeId owner{};
    TimeNs since = 0;
  };
  std::map<CharacterId, Wait> waits_;
  LogoutWaitFigures figures_;
};

}  // namespace aether
