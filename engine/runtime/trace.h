#pragma once
#include <cstdint>

#include "engine/core/ids.h"
#include "engine/core/time.h"

namespace aether {

// What happened. The numbering is part of the trace format: append, never renumber.
enum class TraceKind : uint16_t {
  kNone = 0,
  // Runtime events (recorded by the runtime, not by components).
  kMessageDelivered = 1,  // a = payload hash, b = payload bytes; peer = sending node
  kConnectionClosed = 2,  // a = CloseReason
  kHostStarted = 3,
  kHostCrashed = 4,
  // Cluster membership and authority.
  kNodeRegistered = 10,   // coordinator: peer joined; a = Role
  kNodeLost = 11,         // coordinator: peer missed its heartbeats
  kEpochChanged = 12,     // a = new epoch
  kStaleEpochDropped = 13,// a = message epoch, b = known epoch
  kLeaderElected = 14,    // a = epoch, b = promises gathered
  kCandidacy = 15,        // a = epoch stood for
  kSteppedDown = 16,      // a = newer epoch seen; peer = who showed it
  kPromised = 17,         // compute: promised epoch a, holding b entities
  kOwnershipGranted = 20, // a = generation; b = 0 spawn, 1 recovery, 2 migration, 3 migration from snapshot
  kOwnershipRevoked = 21, // a = generation
  kMigrationStarted = 22, // coordinator: a = generation; peer = destination
  kMigrationReleased = 23,// old owner: a = generation; peer = destination
  // Entity life on its owner.
  kEntitySpawned = 30,    // a = x_mm, b = y_mm
  kEntityDespawned = 31,
  kEntityDamaged = 32,    // a = amount, b = hp after; peer = node of the attacker's owner
  kEntityDied = 33,
  kEntityRespawned = 34,
  // The tick.
  kTickDone = 40,         // a = entities owned, b = tick duration ns (real runtime only; 0 in sim)
  kQueueRefused = 41,     // a = queue (QueueKind), b = refused total
  kLeaseLapsed = 42,      // a = entities frozen
  kEvicted = 43,          // a = entities dropped
  // Gateway and clients.
  kSessionOpened = 50,    // entity = the client's avatar once known
  kSessionClosed = 51,    // a = reason code
  kClientDisconnected = 52,  // a = reason code (slow consumer, protocol violation)
  kInputForwarded = 53,
  kSessionResumed = 54,
  kAdminCommand = 60,     // a = command, b = epoch it claimed (kEpochAdmin: superseding); peer = node argument   // coordinator: entity's client resumed through gateway `peer`; a = session
};

// One trace record. The runtime stamps time_ns and node; components fill the rest. Fixed-size and
// integer-only, so hashing it is cheap and identical everywhere.
struct TraceEvent {
  TimeNs time_ns = 0;
  NodeId node{};
  Epoch epoch = 0;
  Tick tick = 0;
  EntityId entity{};
  NodeId peer{};
  TraceKind kind = TraceKind::kNone;
  int64_t a = 0;
  int64_t b = 0;
};

class TraceSink {
 public:
  virtual ~TraceSink() = default;
  virtual void record(TraceEvent event) = 0;
};

// The one way components emit a record: the runtime stamps time and node.
inline void record_trace(TraceSink& sink, TraceKind kind, Epoch epoch, Tick tick, EntityId entity, int64_t a = 0, int64_t b = 0,
                         NodeId peer = {}) {
  TraceEvent e;
  e.kind = kind;
  e.epoch = epoch;
  e.tick = tick;
  e.entity = entity;
  e.peer = peer;
  e.a = a;
  e.b = b;
  sink.record(e);
}

}  // namespace aether
