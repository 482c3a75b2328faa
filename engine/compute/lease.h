#pragma once
// A compute node's right to write its entities (docs/ownership.md §2): valid until the send time, on
// our clock, of the newest heartbeat a leader acked, plus kLeaseNs, and only while our clock can be
// trusted (§2a): every ack also carries the leader's clock, and a clock found slower than the
// leader's by more than the protocol's bound ends the lease at once, and no heartbeat sent until the
// clock is trusted again can renew it.

#include <cstdint>
#include <map>

#include "engine/core/clock_rate.h"
#include "engine/core/cluster_timing.h"
#include "engine/core/ids.h"

namespace aether {

class Lease {
 public:
  enum class Change : uint8_t { kNone, kClockUntrusted, kClockTrusted };

  // Heartbeat `seq` left at `now`.
  void sent(uint64_t seq, TimeNs now) {
    pending_[seq] = Pending{now, clock_.trusted()};
    while (pending_.size() > kHeartbeatsPendingMax) pending_.erase(pending_.begin());
  }
  // The leader acked heartbeat `seq`; it arrived at `now` (our clock), stamped with the leader's.
  Change acked(uint64_t seq, TimeNs now, TimeNs leader_clock_ns, NodeId leader, Epoch epoch) {
    auto it = pending_.find(seq);
    if (it == pending_.end()) return Change::kNone;  // too old to matter, or not ours
    const Pending p = it->second;
    pending_.erase(pending_.begin(), std::next(it));
    const bool was_trusted = clock_.trusted();
    if (leader != leader_ || epoch != epoch_) {  // another leader: another clock to compare with
      clock_.restart();
      leader_ = leader;
      epoch_ = epoch;
    }
    if (leader_clock_ns > 0) clock_.add(p.sent, now, leader_clock_ns);
    if (was_trusted && !clock_.trusted()) {
      until_ = 0;
      for (auto& [s, q] : pending_) q.renews = false;  // sent while we trusted a clock we no longer do
      return Change::kClockUntrusted;
    }
    if (clock_.trusted() && p.renews) until_ = std::max(until_, p.sent + kLeaseNs);
    return !was_trusted && clock_.trusted() ? Change::kClockTrusted : Change::kNone;
  }
  bool valid(TimeNs now) const { return clock_.trusted() && now < until_; }
  bool clock_trusted() const { return clock_.trusted(); }
  bool ever_granted() const { return until_ != 0; }
  // Evicted: no lease, and no ack of a heartbeat sent before can bring one back.
  void drop() {
    until_ = 0;
    pending_.clear();
  }

 private:
  struct Pending {
    TimeNs sent = 0;
    bool renews = true;  // sent while our clock was trusted
  };
  std::map<uint64_t, Pending> pending_;  // seq -> our send time, at most kHeartbeatsPendingMax
  TimeNs until_ = 0;
  ClockRateCheck clock_{ClockRateCheck::Danger::kOursSlow};
  NodeId leader_{};
  Epoch epoch_ = 0;
};

}  // namespace aether
