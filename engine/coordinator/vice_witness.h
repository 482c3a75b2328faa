#pragma once
// Answers the leader may give only once its vice holds what they promise.
//
// The rule: an answer that promises a change of the table (an instance slot given to a party) leaves
// only when every follower has applied a replication batch carrying that change. Else the leader
// could crash with the change still on its way (a link holding it, a send refused under
// backpressure), and the vice, taking over without it, give the same slot to another party while
// the first walks in.
//
// Batches: the leader numbers the message that closes each batch of replication (the one that
// empties the backlog, replication_backlog.h); the vice acknowledges each such message once it has
// applied it, and FIFO delivery means it applied every message before it. A change made now rides
// the batch that closes next, unless the backlog emptied while sending it, in which case it rode
// the batch just closed. The numbering restarts with each leadership (an acknowledgment of another
// leadership carries another epoch and is dropped before it gets here); a follower that joins gets a
// whole copy first and counts from the first batch it acknowledges.
//
// Held answers are bounded (kHeldMax): past it the caller refuses, and its asker asks again.

#include <cstddef>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

#include "engine/core/assert.h"

namespace aether {

template <class Answer>
class ViceWitness {
 public:
  static constexpr size_t kHeldMax = 64;

  // The next batch closes now: its number (never 0).
  uint64_t close_batch() { return ++closed_; }
  // The batch whose acknowledgment witnesses a change made now.
  uint64_t batch_for_change(bool backlog_empty) const { return backlog_empty ? closed_ : closed_ + 1; }

  // Holds `answer` until batch `needed` is acknowledged; false when kHeldMax are held already.
  bool hold(uint64_t needed, Answer answer) {
    AETHER_ASSERT(needed >= 1 && needed <= closed_ + 1);
    if (held_.size() >= kHeldMax) return false;
    AETHER_ASSERT(held_.empty() || held_.back().first <= needed);  // in batch order: changes only move forward
    held_.emplace_back(needed, std::move(answer));
    return true;
  }

  // Every follower has applied batch `acked` (the least of their acknowledgments): the answers it
  // witnesses, in the order they were held.
  std::vector<Answer> acknowledged(uint64_t acked) {
    AETHER_ASSERT(acked <= closed_);
    std::vector<Answer> out;
    while (!held_.empty() && held_.front().first <= acked) {
      out.push_back(std::move(held_.front().second));
      held_.pop_front();
    }
    return out;
  }

  // No follower is left to wait for (a vice that comes back gets a whole copy): everything held.
  std::vector<Answer> release_all() {
    std::vector<Answer> out;
    for (auto& [needed, answer] : held_) out.push_back(std::move(answer));
    held_.clear();
    return out;
  }

  // Leadership won or lost: the numbering restarts; what was held is dropped (its askers ask again).
  void reset() {
    closed_ = 0;
    held_.clear();
  }

  size_t held() const { return held_.size(); }
  uint64_t closed() const { return closed_; }

 private:
  uint64_t closed_ = 0;
  std::deque<std::pair<uint64_t, Answer>> held_;
};

}  // namespace aether
