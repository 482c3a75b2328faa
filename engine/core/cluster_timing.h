#pragma once
// The timing constants of the ownership protocol (docs/ownership.md), in one place because the safety
// argument relates them: a lost node's leases must have expired, on every clock, before the
// coordinator re-grants its entities.

#include "engine/core/time.h"

namespace aether {

// --- The clock bound (docs/ownership.md §2a) ------------------------------------------------------
// The one assumption the protocol makes about clocks: each runs within this much of real time in rate
// (1%; quartz is within 0.01%, and NTP slews by at most 0.05%). Forward jumps are survived by other
// means (watch-timer counts on coordinators; on a compute node a jump only ends its lease early).
inline constexpr int64_t kClockRateErrorPpmMax = 10'000;
// So two clocks' rates differ by at most (1 + B) / (1 - B) - 1, rounded up: 2.0203%. A compute node
// whose clock is provably slower than the leader's by more (engine/core/clock_rate.h), or a vice's
// provably faster, knows that some clock is beyond the bound and stops trusting its own: the node
// writes nothing and gives its entities up, the vice never stands for election.
inline constexpr int64_t kClockRelativeRatePpmMax =
    ((1'000'000 + kClockRateErrorPpmMax) * 1'000'000 + (1'000'000 - kClockRateErrorPpmMax) - 1) / (1'000'000 - kClockRateErrorPpmMax) -
    1'000'000;
static_assert(kClockRelativeRatePpmMax == 20'203);
// A span measured on one clock lasts at most this long on another that runs within the bound.
constexpr TimeNs on_slowest_clock(TimeNs span_ns) {
  return span_ns * 1'000'000 / (1'000'000 - kClockRelativeRatePpmMax) + 1;
}

// --- Leases -----------------------------------------------------------------------------------------
// A compute node heartbeats the coordinator this often, outside its tick.
inline constexpr TimeNs kHeartbeatIntervalNs = 200 * kNsPerMs;
// An acked heartbeat sent at t (node's clock) lets the node write its entities until t + kLeaseNs.
inline constexpr TimeNs kLeaseNs = 1000 * kNsPerMs;
// Extra wait for message delays and timer granularity.
inline constexpr TimeNs kLeaseMarginNs = 100 * kNsPerMs;
// The coordinator declares a compute node lost when it has not heard from it for this long (its
// clock): by then every lease the node holds has expired on the node's clock, however the two rates
// differ within the bound (1.12 s), so its entities can be re-granted at once.
inline constexpr TimeNs kNodeLossAfterNs = on_slowest_clock(kLeaseNs) + kLeaseMarginNs;
// Compute nodes send snapshots of their entities this often, outside the tick.
inline constexpr TimeNs kSnapshotIntervalNs = 1000 * kNsPerMs;
// Heartbeats awaiting an ack that a compute node remembers (older ones can no longer renew much).
inline constexpr size_t kHeartbeatsPendingMax = 16;

static_assert(kHeartbeatIntervalNs * 3 <= kLeaseNs, "a lease must survive two lost heartbeats");
static_assert(kNodeLossAfterNs - on_slowest_clock(kLeaseNs) >= kLeaseMarginNs, "loss is declared only after every lease has expired");

}  // namespace aether
