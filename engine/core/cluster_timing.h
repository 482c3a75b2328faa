#pragma once
// The timing constants of the ownership protocol (docs/ownership.md), in one place because the safety
// argument relates them: a lost node's leases must have expired, on every clock, before the
// coordinator re-grants its entities.

#include "engine/core/time.h"

namespace aether {

// A compute node heartbeats the coordinator this often, outside its tick.
inline constexpr TimeNs kHeartbeatIntervalNs = 200 * kNsPerMs;
// An acked heartbeat sent at t (node's clock) lets the node write its entities until t + kLeaseNs.
inline constexpr TimeNs kLeaseNs = 1000 * kNsPerMs;
// Clocks may run this much apart in rate (permille); the coordinator waits the lease out on the slow side.
inline constexpr int64_t kClockDriftPermilleMax = 10;
// Extra wait for message delays and timer granularity.
inline constexpr TimeNs kLeaseMarginNs = 100 * kNsPerMs;
// The coordinator declares a compute node lost when it has not heard from it for this long: by then
// every lease the node holds has expired, so its entities can be re-granted at once.
inline constexpr TimeNs kNodeLossAfterNs = kLeaseNs * (1000 + kClockDriftPermilleMax) / 1000 + kLeaseMarginNs;
// Compute nodes send snapshots of their entities this often, outside the tick.
inline constexpr TimeNs kSnapshotIntervalNs = 1000 * kNsPerMs;
// Heartbeats awaiting an ack that a compute node remembers (older ones can no longer renew much).
inline constexpr size_t kHeartbeatsPendingMax = 16;

static_assert(kHeartbeatIntervalNs * 3 <= kLeaseNs, "a lease must survive two lost heartbeats");
static_assert(kNodeLossAfterNs > kLeaseNs, "loss is declared only after every lease has expired");

}  // namespace aether
