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
  kNodeLost = 11,         // coordinator: peer missed its heartbeats (b = 0), or came back as a new incarnation (b = 1)
  kEpochChanged = 12,     // a = new epoch
  kStaleEpochDropped = 13,// a = message epoch, b = known epoch
  kLeaderElected = 14,    // a = epoch, b = promises gathered
  kCandidacy = 15,        // a = epoch stood for
  kSteppedDown = 16,      // a = newer epoch seen; peer = who showed it
  kPromised = 17,         // compute: promised epoch a, holding b entities
  kOwnershipGranted = 20, // a = generation; b = 0 spawn, 1 recovery, 2 migration, 3 migration from snapshot
  kOwnershipRevoked = 21, // a = generation; b = 0 session closed, 1 a migration grant still waiting for its handoff, 2 avatar abandoned, 3 fenced (a new leader's table may miss a decision)
  kMigrationStarted = 22, // coordinator: a = generation; peer = destination
  kMigrationReleased = 23,// old owner: a = generation; peer = destination
  // Entity life on its owner.
  kEntitySpawned = 30,    // a = x_mm, b = y_mm
  kEntityDespawned = 31,
  kEntityDamaged = 32,    // a = amount, b = hp after; peer = node of the attacker's owner
  kEntityDied = 33,
  kEntityRespawned = 34,
  kSkillUsed = 35,        // a skill fired (instant, or its cast completed); a = skill id, b = intents made
  kIntentApplied = 36,    // phase 4 applied an intent to its target (entity); a = its key's hash (intent_key_hash), b = action index
  // The tick.
  kTickDone = 40,         // a = entities owned, b = tick duration ns (real runtime only; 0 in sim)
  kQueueRefused = 41,     // a = queue (QueueKind), b = refused total
  kLeaseLapsed = 42,      // a = entities frozen
  kEvicted = 43,          // a = entities dropped
  kClockUntrusted = 44,   // compute: a = 1 our clock is slower than the leader's beyond the bound (no writes), 0 trusted again; peer = leader
  kClockFenced = 45,      // coordinator: a node's clock is untrusted, its entities are given up; a = entities; peer = node
  // Gateway and clients.
  kSessionOpened = 50,    // entity = the client's avatar once known
  kSessionClosed = 51,    // a = reason code
  kClientDisconnected = 52,  // a = reason code (slow consumer, protocol violation)
  kInputForwarded = 53,   // gateway: a client's input went to its owner; a = input seq; peer = owner
  kSessionResumed = 54,
  kClientRedirected = 55,  // gateway: the client was sent to its region's gateway; a = session; peer = that gateway
  kAdminCommand = 60,     // a = command, b = epoch it claimed (kEpochAdmin: superseding); peer = node argument   // coordinator: entity's client resumed through gateway `peer`; a = session
  kAdminRefused = 61,     // coordinator: an operator's command refused by the rule (admin_rule.h); a = command, b = AdminVerdict; peer = node argument
  kAdminEpochUsed = 62,   // coordinator: an admin's command under the admin epoch (an alert); a = command; peer = node argument
  // Migration, seen from the new owner and the old (70..71).
  kHandoffReceived = 70,  // new owner: the old owner's state arrived; a = its generation, b = 1 if the grant was here first; peer = old owner
  kHandoffLost = 71,      // old owner: the handoff could not be sent (the new owner starts from the snapshot); a = generation; peer = destination
  // Subscriptions between compute nodes and to gateways (72..77).
  kSubscribeSent = 72,    // subscriber: sent its interest to a publisher; a = cells; peer = publisher
  kSubscriberJoined = 73, // publisher: a feed starts; a = the subscriber's Role; peer = subscriber
  kSubscriberLeft = 74,   // publisher: the subscriber's connection closed; peer = subscriber
  kGhostAdded = 75,       // subscriber: first copy of an entity owned elsewhere; a = generation, b = version; peer = owner
  kGhostDropped = 76,     // subscriber: a = GhostDropReason; peer = the owner it came from
  kFeedPushed = 77,       // publisher, per tick per subscriber when nonzero: a = entities pushed new (initial pushes), b = removed; peer = subscriber
  // Liveness and load (78..82).
  kHeartbeatMissed = 78,  // coordinator: a compute node is silent; a = ns since last heard, b = heartbeat intervals missed; peer = node
  kQueueDepths = 79,      // compute, once per tick: a = input << 32 | intent, b = simulation << 32 | output (high-water in the tick, each saturated to 2^31-1)
  kIntentSent = 80,       // compute: an intent on a ghost left for its owner; entity = target, a = source entity; peer = target's owner
  kOwnerRouted = 81,      // gateway: a client's entity has a new owner; a = previous owner node; peer = new owner
  kLoadLevel = 82,        // compute: its load level changed (load_governor.h); a = LoadLevel, b = load in permille of plan
  // Fencing (90..).
  kControlApplied = 90,   // compute: a coordinator order passed the epoch fence and is applied; epoch = the node's epoch
                          // after it, a = the order's epoch, b = the message type (ServerMessage body index); peer = sender
  // Targeted debug mode (100..109): `aether admin debug`; only for the entities and nodes debugged.
  kDebugTargets = 100,    // compute, gateway: the debug set changed; a = entities debugged, b = 1 if this whole node is; peer = coordinator
  kDebugInput = 101,      // compute: an input applied in phase 1, gateway: an input forwarded; a = input seq, b = 1 if it fires; peer = owner (gateway)
  kDebugIntent = 102,     // compute: an intent generated (phase 2) or applied (phase 4); entity = source, a = target, b = damage
  kDebugState = 103,      // compute: a debugged entity changed this tick; a = hp, b = version
  kDebugSuppressed = 104, // compute: debug records left out this tick past kDebugRecordsPerTickMax; a = how many
  // The game (120..139).
  kLevelUp = 120,         // compute: experience took an entity we own to a new level; a = the level, b = its experience
  // Turn-based encounters (engine/gameplay/encounter.h); entity = the encounter unless said.
  kEncounterStarted = 121,    // its owner drew initiative: a = seats, b = the first actor
  kEncounterTurnEnded = 122,  // a = the turn's number, b = round << 2 | how (gameplay::TurnEnd: acted, passed, actor left)
  kEncounterEnded = 123,      // one side left or rounds over: a = rounds played, b = seats left
  kEncounterTurnRefused = 124,  // an action for a turn refused: a = gameplay::TurnVerdict, b = its source
  kChallengeSent = 125,       // entity = the challenger, a = the challenged; the leader is asked to open an encounter
  kPortalTaken = 126,         // compute: an entity we own stood in a portal and is now at its destination; a = the portal, b = the zone it is in now
  // Instances (docs/gameplay.md, "Instances"); a = zone << 32 | slot, b = the party.
  kInstanceOpened = 127,      // leader: a slot allocated to a party (its NPCs written in the table); entity = the player who asked
  kInstanceClosed = 128,      // leader: a slot empty of players torn down (its records erased); entity = none
  kInstanceEntered = 129,     // compute: a player we own went through a portal into its party's slot (entity = the player)
  // The economy (160..169, engine/economy/vault.h). The operations of one ledger entry are recorded
  // when its write is accepted (tick = the entry's serial), then kEconApplied or kEconFailed when it
  // completes; a crash in between leaves the outcome to kEconRecovered. entity = the character, a = item id.
  // Accounts (140-149).
  kLogoutWaitGivenUp = 140,  // leader: a character's spawn stopped waiting for its last life's log-out save without it; a = the character, b = LogoutWaitEnd
  kEconCreated = 160,     // b = item kind | source << 16
  kEconDestroyed = 161,   // b = item kind | sink << 16
  kEconEscrowed = 162,    // held by entity -> escrowed by trade b
  kEconReleased = 163,    // escrowed by trade b -> held by entity again (abort)
  kEconSent = 164,        // escrowed by trade b -> to entity on node peer (initiator: the commit point; responder: catching up)
  kEconReceived = 165,    // held by entity by trade b (initiator: the commit point; responder: the item lands); peer = the other side
  kEconRecovered = 166,   // a vault rebuilt its fold from its store; a = the highest serial of its own entries there, b = trades open
  kEconApplied = 167,     // the entry written (tick = its serial) is durable and applied whole; b = operations
  kEconFailed = 168,      // the entry written (tick = its serial) failed: nothing happened
  kEconCurrency = 169,    // an operation of an entry, like 160-165: a = the amount into (mint, > 0) or out of (burn, < 0) entity's balance, b = source or sink
};

// kGhostDropped's a.
enum class GhostDropReason : uint8_t { kLeftInterest = 0, kFeedReset = 1, kOwnerGone = 2, kNowOurs = 3 };

// kQueueDepths packs two depths per field.
inline constexpr int64_t kQueueDepthFieldMax = 0x7fffffff;
inline int64_t pack_queue_depths(uint64_t hi, uint64_t lo) {
  const auto clamp = [](uint64_t d) { return static_cast<int64_t>(d < kQueueDepthFieldMax ? d : kQueueDepthFieldMax); };
  return clamp(hi) << 32 | clamp(lo);
}

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
  friend bool operator==(const TraceEvent&, const TraceEvent&) = default;
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
