#pragma once
// Whether our clock runs at a rate the ownership protocol can trust, judged against another process's
// clock from round trips (docs/ownership.md §2a, "The clock bound").
//
// A round trip: we send at s (our clock), the other side stamps c (its clock) while answering, we
// receive at r (ours). So c happened, on our clock, within [s, r]. Between two round trips i and j the
// other clock advanced c_j - c_i while ours advanced between s_j - r_i and r_j - s_i. A window is
// "beyond" when even the end of that interval most favourable to us is past the bound in the
// dangerous direction, "within" when even the least favourable end is inside it, and unknown
// otherwise (round trips too slow to tell: a clogged link proves nothing either way).
//
// One window beyond is not enough: a clock that leaps forward once (a fault the protocol survives by
// other means) looks like a fast rate over the window holding the leap. Two windows in a row beyond
// make the clock untrusted; two in a row within make it trusted again.

#include <cstdint>

#include "engine/core/assert.h"
#include "engine/core/cluster_timing.h"

namespace aether {

class ClockRateCheck {
 public:
  // Which way our clock may not stray: a compute node's lease is unsafe if its clock is slow against
  // the leader's; a vice's failover grace is unsafe if its clock is fast against the leader's.
  enum class Danger : uint8_t { kOursSlow, kOursFast };
  // Windows shorter than this are not judged: a round trip's uncertainty would dominate them.
  static constexpr TimeNs kWindowNs = 1000 * kNsPerMs;
  // Windows longer than this are not judged either (samples that far apart say little), only restarted.
  static constexpr TimeNs kWindowMaxNs = 60 * kNsPerSec;
  static constexpr uint32_t kWindowsToDecide = 2;

  explicit ClockRateCheck(Danger danger) : danger_(danger) {}

  // One round trip; returns whether the clock is trusted after it.
  bool add(TimeNs sent, TimeNs received, TimeNs remote) {
    AETHER_ASSERT(received >= sent);
    if (!have_base_ || remote < base_.remote) {  // the first sample, or another remote clock
      base_ = Sample{sent, received, remote};
      have_base_ = true;
      return trusted_;
    }
    const TimeNs remote_elapsed = remote - base_.remote;
    if (remote_elapsed < kWindowNs) return trusted_;
    if (remote_elapsed <= kWindowMaxNs) judge(remote_elapsed, sent - base_.received, received - base_.sent);
    base_ = Sample{sent, received, remote};
    return trusted_;
  }
  bool trusted() const { return trusted_; }
  // Another process to compare with (a new leader): its samples mean nothing against the old ones.
  void restart() { have_base_ = false; }

 private:
  struct Sample {
    TimeNs sent = 0, received = 0, remote = 0;
  };
  enum class Window : uint8_t { kWithin, kBeyond, kUnknown };

  // ours_min..ours_max: how much our clock advanced while the other advanced remote_elapsed.
  void judge(TimeNs remote_elapsed, TimeNs ours_min, TimeNs ours_max) {
    using Wide = __int128;
    const Wide slow_limit = static_cast<Wide>(remote_elapsed) * (1'000'000 - kClockRelativeRatePpmMax);
    const Wide fast_limit = static_cast<Wide>(remote_elapsed) * (1'000'000 + kClockRelativeRatePpmMax);
    Window w = Window::kUnknown;
    if (danger_ == Danger::kOursSlow) {
      if (static_cast<Wide>(ours_max) * 1'000'000 < slow_limit) w = Window::kBeyond;
      else if (static_cast<Wide>(ours_min) * 1'000'000 >= slow_limit) w = Window::kWithin;
    } else {
      if (static_cast<Wide>(ours_min) * 1'000'000 > fast_limit) w = Window::kBeyond;
      else if (static_cast<Wide>(ours_max) * 1'000'000 <= fast_limit) w = Window::kWithin;
    }
    if (w == Window::kUnknown) return;
    const bool beyond = w == Window::kBeyond;
    streak_ = (beyond == last_beyond_) ? streak_ + 1 : 1;
    last_beyond_ = beyond;
    if (streak_ >= kWindowsToDecide) trusted_ = !beyond;
  }

  Danger danger_;
  bool have_base_ = false;
  Sample base_;
  bool trusted_ = true;
  bool last_beyond_ = false;
  uint32_t streak_ = 0;
};

}  // namespace aether
