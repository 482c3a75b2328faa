#pragma once
// Engine-side message types: plain structs that gameplay and components work on. codec.h translates
// them to and from the wire schema (proto/wire.proto) at the edge, validating everything it decodes.

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/core/geometry.h"
#include "engine/core/ids.h"
#include "engine/core/inline_vec.h"
#include "engine/core/time.h"

namespace aether {

// Limits on decoded messages. A message past any of them is rejected as malformed.
inline constexpr size_t kNameBytesMax = 64;
inline constexpr size_t kAddressBytesMax = 256;
inline constexpr size_t kReasonBytesMax = 256;
inline constexpr size_t kBatchEntitiesMax = 16384;  // states or removals in one DeltaBatch
inline constexpr size_t kMembershipPeersMax = 1024;
inline constexpr size_t kGatewayRoutesMax = 1024;  // gateways in one GatewayRoutes
inline constexpr size_t kSubscribeCellsMax = 65536;
inline constexpr size_t kHandoffInputsMax = 64;
inline constexpr size_t kAdminReplyLinesMax = 4096;
inline constexpr int32_t kMovePermilleMax = 1000;
// An input's skill slot: 1 .. kClassSkillsMax name the class bar's skills; kChallengeSlot (the last)
// is the challenge action, which opens a turn-based encounter with the input's target
// (docs/gameplay.md, "Encounters").
inline constexpr uint32_t kInputSkillSlotMax = 9;
inline constexpr uint8_t kChallengeSlot = 9;
inline constexpr uint32_t kLoadLevelMax = 2;  // Heartbeat.load_level: LoadLevel::kShedSoft
inline constexpr int32_t kCoordinateMmMax = 1'000'000'000;  // +-1000 km: beyond any arena
inline constexpr int32_t kHealthAbsMax = 1'000'000'000;     // hit points, either sign

inline constexpr uint32_t kEntityFlagDead = 1u << 0;
inline constexpr uint32_t kEntityKindAvatar = 1;
inline constexpr uint32_t kEntityKindNpc = 2;  // a monster: no session, its owner's AI drives it (docs/gameplay.md, "NPCs")
// The team every NPC is on (players' teams are 0 .. teams-1, a handful): clients see NPCs as
// entities of this team, and NPCs never fight each other.
inline constexpr uint32_t kNpcTeam = 1000;
// A turn-based encounter (docs/gameplay.md, "Encounters"): an entity that is no body. It holds the
// turn order; it has no health and is flagged dead, so no rule of bodies (targeting, areas, aggro,
// respawn) ever touches it, and it is on a team of its own. Gateways are not fed encounters.
inline constexpr uint32_t kEntityKindEncounter = 3;
inline constexpr uint32_t kEncounterTeam = 1001;

// The components of an entity's state, one bit each: what a delta carries, and who may see it
// (audience projections). Public components go to every client that sees the entity and to the
// servers' ghosts; owner components also to the client that controls it; server components to
// servers only (handoffs, snapshots, replication, storage). Keep in step with state_codec.cc.
enum EntityField : uint32_t {
  kFieldKind = 1u << 0,      // public: what it is
  kFieldPos = 1u << 1,       // public
  kFieldMotion = 1u << 2,    // public: the direction it moves in, so clients can extrapolate
  kFieldHealth = 1u << 3,    // public
  kFieldTeam = 1u << 4,      // public
  kFieldFlags = 1u << 5,     // public: dead
  kFieldTarget = 1u << 6,    // public: who it aims at
  kFieldCooldown = 1u << 7,  // owner: the global cooldown and each skill's, in ticks left
  kFieldInputSeq = 1u << 8,  // server: the last client input applied (inputs replayed or reordered are stale)
  kFieldClass = 1u << 9,     // public: class and level
  kFieldResource = 1u << 10, // owner: mana, energy or rage
  kFieldCast = 1u << 11,     // public: the skill being cast, at whom, ticks left
  kFieldEffects = 1u << 12,  // public: status effects, so clients show them and servers' ghosts modify by them
  kFieldIntentMarks = 1u << 13,  // server: which intents were applied (at most once: IntentMark)
  kFieldExperience = 1u << 14,   // owner: experience gathered (the level is public, in kFieldClass)
  kFieldAttackers = 1u << 15,    // server: who damaged it lately (their kill or assist if it dies)
  kFieldNpc = 1u << 16,          // server: an NPC's spawner, home, AI state, threat table and respawn (NPCs only)
  kFieldInventory = 1u << 20,    // server: the loot an avatar holds (docs/persistence.md §9c); written only when not empty
  kFieldEncounter = 1u << 24,    // server: an encounter's turn order, round, turn and timer (encounters only)
  kFieldInstance = 1u << 25,     // server: the party an instance's NPC was placed for (instance NPCs only: docs/gameplay.md, "Instances")
  kFieldCharacter = 1u << 28,    // server: the account character an avatar is, and its save life (docs/persistence.md §9d); characters only
};
inline constexpr uint32_t kFieldsPublic = kFieldKind | kFieldPos | kFieldMotion | kFieldHealth | kFieldTeam | kFieldFlags | kFieldTarget |
                                          kFieldClass | kFieldCast | kFieldEffects;
inline constexpr uint32_t kFieldsOwner = kFieldsPublic | kFieldCooldown | kFieldResource | kFieldExperience;
// What compute nodes send gateways: what a gateway keeps of a state (EntityCache::Cached and the
// client's projection, client::Seen) comes from the public fields and the global cooldown.
inline constexpr uint32_t kFieldsGateway = kFieldsPublic | kFieldCooldown;
inline constexpr uint32_t kFieldsAll = kFieldsOwner | kFieldInputSeq | kFieldIntentMarks | kFieldAttackers | kFieldNpc | kFieldInventory | kFieldEncounter | kFieldInstance |
                                       kFieldCharacter;

// --- Game components (docs/gameplay.md). Bounded and inline: EntityState is copied by the thousand
// per tick and must not allocate. Durations are in ticks left, counted from the state's tick.
inline constexpr size_t kEffectsPerEntityMax = 8;    // a ninth effect is refused (ApplyEffect result kFull)
inline constexpr size_t kCooldownsPerEntityMax = 8;  // one per skill of the class bar (kClassSkillsMax)
inline constexpr size_t kIntentMarksMax = 8;         // origins remembered per entity; the least recent is forgotten
inline constexpr uint32_t kSkillIdMax = 65535;
inline constexpr uint32_t kDurationTicksMax = 36'000;  // an hour at 10 Hz: any duration or cooldown
inline constexpr size_t kAttackersMax = 4;           // recent attackers remembered; the oldest is forgotten first
inline constexpr int32_t kExperienceStateMax = 100'000'000;  // gameplay::kExperienceMax

struct EffectInstance {
  uint16_t effect = 0;       // content id
  EntityId source{};         // who applied it (unique-per-source stacking, credit for periodic damage)
  uint32_t ticks_left = 0;
  uint8_t stacks = 0;
  int32_t magnitude = 0;     // a shield's absorption left; otherwise the per-stack amount when applied
  friend bool operator==(const EffectInstance&, const EffectInstance&) = default;
};
struct SkillCooldown {
  uint16_t skill = 0;
  uint32_t ticks_left = 0;
  friend bool operator==(const SkillCooldown&, const SkillCooldown&) = default;
};
struct CastState {
  uint16_t skill = 0;  // 0: not casting
  EntityId target{};
  uint32_t ticks_left = 0;
  friend bool operator==(const CastState&, const CastState&) = default;
};
// The idempotency key of an intent: the node process that made it, its tick there and a sequence
// within that tick. Keys from one origin process grow, so one mark per origin (the highest key
// applied) tells a retry from new work.
struct IntentKey {
  NodeId origin{};
  uint64_t incarnation = 0;
  Tick tick = 0;
  uint32_t seq = 0;
  friend auto operator<=>(const IntentKey&, const IntentKey&) = default;
};
using IntentMark = IntentKey;
// One who damaged an entity lately: credited with the kill or an assist if it dies in time.
struct Attacker {
  EntityId entity{};
  uint32_t ticks_left = 0;  // of its assist window
  friend bool operator==(const Attacker&, const Attacker&) = default;
};
// An NPC's AI (engine/gameplay/npc.h): idle at home, chasing the top of its threat table, or
// returning home (leashed, or no one left to fight), where it heals to full.
enum class AiState : uint8_t { kIdle = 0, kChasing = 1, kReturning = 2 };
inline constexpr uint32_t kAiStateMax = 2;
// Who an NPC fights: damage dealt to it (and coming within its aggro radius) earns threat; the
// highest threat is its target. Bounded: kThreatEntriesMax entries (ThreatTable says what happens
// at the limit).
inline constexpr size_t kThreatEntriesMax = 8;
inline constexpr int32_t kThreatMax = 1'000'000'000;  // an entry's threat saturates here
struct ThreatEntry {
  EntityId entity{};
  int32_t threat = 0;
  friend bool operator==(const ThreatEntry&, const ThreatEntry&) = default;
};
struct NpcState {
  uint16_t spawner = 0;  // content id of the spawner that made it; 0: not an NPC
  AiState ai = AiState::kIdle;
  Vec2 home{};           // where it spawns, returns to and measures its leash from
  uint32_t respawn_ticks_left = 0;  // dead: ticks until it respawns at home
  InlineVec<ThreatEntry, kThreatEntriesMax> threat{};
  uint64_t party = 0;    // an instance's NPC: the party its slot was given to (kFieldInstance); 0: none
  friend bool operator==(const NpcState&, const NpcState&) = default;
};

// A turn-based encounter's component (engine/gameplay/encounter.h). Participants (seats) are in turn
// order once it has started: initiative, highest first, ties by entity id. `turn` counts the turns
// begun since the start (1 is the first) and never repeats; `actor` is the seat whose turn it is.
// Bounded: kEncounterSeatsMax seats, kEncounterRoundsMax rounds.
inline constexpr size_t kEncounterSeatsMax = 4;
inline constexpr uint32_t kEncounterRoundsMax = 100;
inline constexpr uint32_t kEncounterInitiativeMax = 1000;  // initiative is drawn in [1, this]
struct EncounterSeat {
  EntityId entity{};
  uint32_t team = 0;
  uint32_t initiative = 0;  // 0 until the owner draws it at the start
  friend bool operator==(const EncounterSeat&, const EncounterSeat&) = default;
};
struct EncounterState {
  uint32_t round = 0;            // 0: opened, not started (its owner draws initiative and starts round 1)
  uint32_t turn = 0;             // turns begun since the start; the action for turn T carries T
  uint32_t actor = 0;            // the seat whose turn it is
  uint32_t turn_ticks_left = 0;  // then the turn passes
  uint32_t turn_ticks = 0;       // each turn's timer (content); > 0 for every encounter
  uint32_t rounds_max = 0;       // after this many rounds it ends (content)
  bool ended = false;            // one side left or rounds over: waiting for the leader to remove it
  InlineVec<EncounterSeat, kEncounterSeatsMax> seats{};
  friend bool operator==(const EncounterState&, const EncounterState&) = default;
};

// A key in one number, for trace records (kIntentApplied): the checker's at-most-once invariant.
int64_t intent_key_hash(const IntentKey& k);

// Loot held by an avatar (docs/persistence.md §9c). An item is made by one kill, once: its id is
// the idempotency key of the Loot intent that made it (the victim's owner process and incarnation,
// the tick of the death, a sequence) with the victim, so a retried intent names the same item and
// an inventory holds an id at most once. A loot into a full inventory makes no item (counted).
inline constexpr size_t kInventoryItemsMax = 8;
struct LootItem {
  uint16_t kind = 0;  // content item id (content/items.textpb), 1..65535
  EntityId victim{};  // whose death made it
  IntentKey key{};    // the Loot intent's key: (origin, incarnation ~ epoch, tick, sequence)
  friend bool operator==(const LootItem&, const LootItem&) = default;
  bool same_item(const LootItem& o) const { return key == o.key && victim == o.victim; }
};

// An entity's whole state: one canonical encoding (engine/wire/state_codec.h) for feeds, snapshots,
// handoffs, replication, promises and storage, projected per audience by field mask.
struct EntityState {
  EntityId id{};
  Vec2 pos{};
  int32_t hp = 0;
  uint32_t team = 0;
  uint32_t flags = 0;
  EntityId target{};
  uint64_t version = 0;      // lineage (servers only): grows with every change on the owner
  uint32_t kind = kEntityKindAvatar;
  uint64_t generation = 0;   // lineage (servers only): the ownership grant it was written under
  int32_t move_x = 0;        // permille
  int32_t move_y = 0;
  uint32_t cooldown_ticks = 0;  // the global cooldown: ticks until it may use any skill
  uint32_t last_input_seq = 0;
  uint16_t class_id = 0;
  uint16_t level = 1;
  int32_t resource = 0;
  CastState cast{};
  InlineVec<EffectInstance, kEffectsPerEntityMax> effects{};
  InlineVec<SkillCooldown, kCooldownsPerEntityMax> cooldowns{};  // skills still cooling down, in bar order
  InlineVec<IntentMark, kIntentMarksMax> intent_marks{};
  int32_t experience = 0;
  InlineVec<Attacker, kAttackersMax> attackers{};  // most recent last
  NpcState npc{};  // kind kEntityKindNpc only
  InlineVec<LootItem, kInventoryItemsMax> inventory{};  // oldest first
  EncounterState encounter{};  // kind kEntityKindEncounter only
  CharacterId character{};     // an account's character's avatar (docs/persistence.md §9d); none: anonymous, NPC
  uint32_t save_life = 0;      // which avatar of the character this is (1, 2, ...): its saves' row
  friend bool operator==(const EntityState&, const EntityState&) = default;
};

// Whether `a` is a later state of the same entity than `b`.
inline bool newer_than(const EntityState& a, const EntityState& b) {
  return a.generation != b.generation ? a.generation > b.generation : a.version > b.version;
}

// --- Client <-> gateway: engine/wire/client_protocol.h. Only the input is here, as gateways
// forward it to owners and handoffs carry it.

struct ClientInput {
  uint32_t seq = 0;
  int32_t move_x = 0;  // permille, [-1000, 1000]
  int32_t move_y = 0;
  EntityId target{};
  uint8_t skill = 0;  // 0: none; else the slot (1-based, <= kInputSkillSlotMax) of the avatar's class skill bar, at `target`
  friend bool operator==(const ClientInput&, const ClientInput&) = default;
};

// --- Between servers ------------------------------------------------------------------------

struct Hello {
  Role role = Role::kNone;
  std::string data_address;
  uint32_t capacity_entities = 0;
  uint64_t incarnation = 0;
  uint64_t content_hash = 0;  // compute: the game it runs (gameplay::Content::hash)
  friend bool operator==(const Hello&, const Hello&) = default;
};

struct Heartbeat {
  uint64_t seq = 0;
  uint32_t entities = 0;
  uint64_t tick_ns_p99 = 0;
  uint32_t load_permille = 0;
  uint32_t input_queue_depth = 0;
  uint32_t hard_permille = 0;
  uint32_t soft_permille = 0;
  uint32_t opportunistic_permille = 0;
  uint64_t table_version_seen = 0;  // the newest HeartbeatAck.version heard
  // What the node holds (its entities and the migration grants waiting for their handoff): the
  // leader compares it with what its table gives the node, and audits the node when they differ.
  uint32_t holdings_digest_count = 0;
  uint64_t holdings_digest = 0;
  uint64_t fence_applied = 0;  // the newest fencing order (revoke, eviction) the node has applied
  // The node's clock runs slower than the leader's beyond the protocol's bound (§2a): it writes
  // nothing, and the leader gives its entities to others.
  bool clock_untrusted = false;
  uint8_t load_level = 0;  // LoadLevel (engine/compute/load_governor.h): what the node sheds
  bool draining = false;   // stopping: place nothing here, move everything off
  friend bool operator==(const Heartbeat&, const Heartbeat&) = default;
};

// seq 0 acks nothing: a probe, answered by a heartbeat at once (it echoes `version` sooner).
struct HeartbeatAck {
  uint64_t seq = 0;
  uint64_t version = 0;  // the leader's table version: epoch << 32 | orphanings decided in that epoch
  TimeNs leader_clock_ns = 0;  // the leader's clock at sending: nodes compare clock rates (clock_rate.h)
  friend bool operator==(const HeartbeatAck&, const HeartbeatAck&) = default;
};

struct Snapshot {
  std::vector<EntityState> states;
  friend bool operator==(const Snapshot&, const Snapshot&) = default;
};

// Every fencing order (a revoke, an eviction) is numbered: epoch << 32 | n. The node reports the newest
// it applied in its heartbeats; the leader renews its lease only once every fencing order it sent is
// either confirmed that way or precedes the renewal on the same connection (docs/ownership.md §2).
struct Evicted {
  uint64_t fence = 0;
  friend bool operator==(const Evicted&, const Evicted&) = default;
};

struct Leadership {
  bool leader = false;
  friend bool operator==(const Leadership&, const Leadership&) = default;
};

// A question about a node's holdings. A candidate asks for a vote (leader = false: at most one per
// epoch); a leader asks a node it must reconcile or audit (leader = true: answered even after the
// node's vote of this epoch went to another candidate, since the epoch already has its leader).
struct Prepare {
  uint64_t question = 0;  // echoed by the Promise: an answer is judged only against its own question
  bool leader = false;
  uint64_t incarnation = 0;  // the asking coordinator's process (a restart draws a new one)
  friend bool operator==(const Prepare&, const Prepare&) = default;
};

struct Holding {
  EntityId entity{};
  uint64_t generation = 0;
  NodeId gateway{};     // its client's session, as the holder knows it (invalid: none)
  SessionId session{};
  friend bool operator==(const Holding&, const Holding&) = default;
};

// Compute -> coordinators: the log-out save of `character`'s avatar of life `life` landed (or will
// never land: a newer owner's fence refused it, or it was dropped past kLogoutSavesMax). The leader
// holds the character's next spawn until then (docs/persistence.md §9d, engine/coordinator/logout_waits.h).
struct LogoutSaved {
  CharacterId character{};
  uint32_t life = 0;  // in [1, kSaveLifeMax)
  friend bool operator==(const LogoutSaved&, const LogoutSaved&) = default;
};

inline constexpr size_t kPromiseLogoutSavesMax = 2048;  // log-out saves owed, in one Promise

struct Promise {
  uint64_t answers = 0;  // the Prepare.question this answers
  std::vector<Holding> holdings;
  Epoch previous_epoch = 0;  // the epoch the node followed before the one it promises
  uint64_t table_version_seen = 0;  // the newest table version it heard (0: none since it started)
  // The log-out saves the node owes (taken, not landed): the coordinator that takes this promise
  // holds those characters' next spawns until each settles (coordinator/logout_waits.h).
  std::vector<LogoutSaved> logout_saves_owed;
  friend bool operator==(const Promise&, const Promise&) = default;
};

struct ReplicaEntry {
  EntityId entity{};
  NodeId owner{};
  uint64_t generation = 0;
  NodeId gateway{};
  SessionId session{};
  EntityState snapshot;
  uint64_t resume_token = 0;
  bool detached = false;
  friend bool operator==(const ReplicaEntry&, const ReplicaEntry&) = default;
};

struct ReplicaNode {
  NodeId node{};
  Role role = Role::kNone;
  std::string data_address;
  uint32_t capacity = 0;
  bool lost = false;
  bool drained_by_operator = false;  // an operator's drain outlives the leader that took the order
  friend bool operator==(const ReplicaNode&, const ReplicaNode&) = default;
};

struct Replicate {
  bool full = false;
  bool more = false;
  std::vector<ReplicaEntry> entries;
  std::vector<EntityId> erased;
  std::vector<ReplicaNode> nodes;
  uint64_t version = 0;  // the table version these entries bring the vice to (last message of a batch)
  TimeNs leader_clock_ns = 0;  // the leader's clock at sending: the vice compares clock rates
  uint64_t batch = 0;  // the batch this message closes (vice_witness.h); 0: none (a whole copy, or not the last)
  friend bool operator==(const Replicate&, const Replicate&) = default;
};

struct OwnerChanged {
  EntityId entity{};
  NodeId owner{};
  std::string owner_address;
  friend bool operator==(const OwnerChanged&, const OwnerChanged&) = default;
};

// A character's save (docs/persistence.md §9d): what of an avatar outlives it. The owning compute
// node writes it to charsave/CHARACTER/LIFE (engine/compute/character_saves.h); a gateway reads the
// newest life at log-in and sends it with the spawn, so the next avatar (life + 1) starts from it.
inline constexpr uint32_t kSaveLifeMax = 1u << 30;
struct CharacterSave {
  CharacterId character{};
  uint32_t life = 0;         // the avatar's life this save is of (a spawn: the new avatar's)
  EntityId entity{};         // a saved row: the avatar it was saved from (a spawn: none)
  bool loaded = false;       // a spawn: level, experience, position and inventory come from a save
  uint16_t class_id = 0;
  uint16_t level = 1;
  int32_t experience = 0;
  Vec2 pos{};
  InlineVec<LootItem, kInventoryItemsMax> inventory{};
  friend bool operator==(const CharacterSave&, const CharacterSave&) = default;
};

struct SpawnRequest {
  SessionId session{};
  EntityId resume_entity{};
  uint64_t resume_token = 0;
  CharacterId character{};  // the account's character this avatar is (none: an anonymous client)
  uint32_t class_id = 0;    // the character's class (0: the coordinator picks)
  bool resume_only = false; // admitted on the resume token alone: a refused resume spawns nothing
  CharacterSave save{};     // a character's spawn: its new life and, if loaded, what it had (character: as above)
  friend bool operator==(const SpawnRequest&, const SpawnRequest&) = default;
};

struct SpawnReply {
  SessionId session{};
  EntityId entity{};  // invalid = refused
  NodeId owner{};
  std::string owner_address;
  std::string refusal;
  uint64_t resume_token = 0;
  bool retry_later = false;  // refused for now only: the gateway holds the client and asks again
  // With retry_later: the leader holds the character until its log-out save lands, so the save the
  // gateway read may be older than the one on its way; it reads the save again before asking.
  bool save_pending = false;
  friend bool operator==(const SpawnReply&, const SpawnReply&) = default;
};

struct SessionMoved {
  EntityId entity{};
  NodeId gateway{};
  SessionId session{};
  friend bool operator==(const SessionMoved&, const SessionMoved&) = default;
};

struct OwnershipGrant {
  EntityId entity{};
  uint64_t generation = 0;
  NodeId gateway{};
  SessionId session{};
  Vec2 spawn_pos{};
  uint32_t team = 0;
  std::optional<EntityState> recover;  // recovery after the owner was lost: start from this state
  bool migrate = false;                // a migration: wait for the old owner's Handoff (recover = fallback)
  uint64_t released_generation = 0;    // migrate: the generation the old owner released; only its Handoff will do
  uint16_t class_id = 0;               // a spawn: the entity's class (gameplay::ClassDef); 0: the first
  uint16_t npc_spawner = 0;            // a spawn of an NPC: its spawner (content id); spawn_pos is its home
  bool encounter_open = false;         // `recover` is a new encounter's first state, not a recovery
  uint64_t npc_party = 0;              // a spawn of an instance's NPC: the party its slot was given to
  CharacterSave save{};                // a spawn of a character's avatar (save.character valid): its life and what it had
  friend bool operator==(const OwnershipGrant&, const OwnershipGrant&) = default;
};

struct Release {
  EntityId entity{};
  uint64_t generation = 0;
  NodeId to{};
  friend bool operator==(const Release&, const Release&) = default;
};

struct Released {
  EntityId entity{};
  uint64_t generation = 0;
  EntityState state;  // as released: the table's copy is then never older than the last owner's
  friend bool operator==(const Released&, const Released&) = default;
};

struct OwnershipRevoke {
  EntityId entity{};
  uint64_t generation = 0;
  uint64_t fence = 0;  // see Evicted
  friend bool operator==(const OwnershipRevoke&, const OwnershipRevoke&) = default;
};

struct SessionClosed {
  SessionId session{};
  EntityId entity{};
  bool detached = false;  // sent to another gateway: the avatar stays, resumable there (GatewayRoutes)
  friend bool operator==(const SessionClosed&, const SessionClosed&) = default;
};

struct InputForward {
  EntityId entity{};
  ClientInput input;
  friend bool operator==(const InputForward&, const InputForward&) = default;
};

struct DeltaBatch {
  std::vector<EntityState> states;
  std::vector<EntityId> removed;
  bool reset = false;  // the receiver forgets everything this sender sent before, then applies
  // Sender side only, instead of `states`: the states already in their canonical list encoding
  // (state_codec.h), so that a state is encoded once per tick however many feeds carry it.
  std::vector<uint8_t> packed_states;
  friend bool operator==(const DeltaBatch&, const DeltaBatch&) = default;
};

struct PeerInfo {
  NodeId node{};
  std::string address;
  friend bool operator==(const PeerInfo&, const PeerInfo&) = default;
};

struct RegionRange {
  NodeId node{};
  uint32_t begin = 0, end = 0;  // cells [begin, end) along the curve (engine/core/region_map.h)
  friend bool operator==(const RegionRange&, const RegionRange&) = default;
};
struct Membership {
  std::vector<PeerInfo> peers;
  std::vector<RegionRange> regions;  // the leader's cut among compute nodes; empty before its first
  friend bool operator==(const Membership&, const Membership&) = default;
};

struct GatewayRoute {
  NodeId gateway{};
  std::string address;
  uint32_t begin = 0, end = 0;
  friend bool operator==(const GatewayRoute&, const GatewayRoute&) = default;
};
struct GatewayRoutes {
  uint64_t version = 0;
  int32_t arena_mm = 0;
  std::vector<GatewayRoute> routes;
  friend bool operator==(const GatewayRoutes&, const GatewayRoutes&) = default;
};

struct Subscribe {
  std::vector<CellKey> cells;
  friend bool operator==(const Subscribe&, const Subscribe&) = default;
};

// What one entity does to another, applied by the target's owner only (one writer per entity).
// Typed actions; the skill names the rule that produced it, so that the owner checks the action
// against the content (range, cooldown, amount) as it checks its own.
namespace intent {
struct Damage { int32_t amount = 0; friend bool operator==(const Damage&, const Damage&) = default; };
struct Heal { int32_t amount = 0; friend bool operator==(const Heal&, const Heal&) = default; };
struct ApplyEffect { uint16_t effect = 0; friend bool operator==(const ApplyEffect&, const ApplyEffect&) = default; };
struct Interrupt { friend bool operator==(const Interrupt&, const Interrupt&) = default; };
struct Dispel { uint32_t count = 0; friend bool operator==(const Dispel&, const Dispel&) = default; };  // harmful effects removed
// Experience for a kill or an assist; its source is the entity that died, its skill 0.
struct Experience { int32_t amount = 0; friend bool operator==(const Experience&, const Experience&) = default; };
// Loot for a kill (docs/persistence.md §9c): one item of content kind `item` for the killer; its
// source is the entity that died, its skill 0, its key the item's id.
struct Loot { uint16_t item = 0; friend bool operator==(const Loot&, const Loot&) = default; };
// A participant played its turn (its source used `skill` on it): for the encounter (the target) to
// end turn `turn` of round `round`, refused if that is not the turn now (stale).
struct EncounterTurn {
  uint32_t round = 0;
  uint32_t turn = 0;
  friend bool operator==(const EncounterTurn&, const EncounterTurn&) = default;
};
}  // namespace intent
using IntentAction = std::variant<intent::Damage, intent::Heal, intent::ApplyEffect, intent::Interrupt, intent::Dispel, intent::Experience,
                                  intent::Loot, intent::EncounterTurn>;
inline constexpr int32_t kIntentAmountMax = 1'000'000;
inline constexpr uint32_t kDispelMax = 16;
const char* intent_action_name(const IntentAction& a);
// The action's number: damage or healing amount, effect id, dispel count; 0 for an interrupt.
int64_t intent_action_value(const IntentAction& a);

struct RemoteIntent {
  IntentKey key;
  EntityId source{};
  EntityId target{};
  uint16_t skill = 0;
  IntentAction action;
  friend bool operator==(const RemoteIntent&, const RemoteIntent&) = default;
};

struct Handoff {
  EntityState state;  // whole: movement, cooldown and the last input applied included
  std::vector<InputForward> inputs;
  friend bool operator==(const Handoff&, const Handoff&) = default;
};

// Targeted debug mode (aether admin debug): entities and whole nodes traced and logged verbosely.
// At most this many of each are debugged at once; the coordinator refuses more with a reason, and
// a decoded message carrying more is malformed.
inline constexpr size_t kDebugEntitiesMax = 64;
inline constexpr size_t kDebugNodesMax = 16;

struct DebugTargets {
  std::vector<EntityId> entities;
  std::vector<NodeId> nodes;
  bool off = false;        // operator: turn these off instead of on
  bool whole_set = false;  // coordinator -> nodes: this is the complete set, replacing the last one
  friend bool operator==(const DebugTargets&, const DebugTargets&) = default;
};

struct AdminRequest {
  enum class Command : uint8_t { kListNodes, kShowEntity, kMove, kDrain, kFailover, kGhostQuery, kDebug };
  Command command = Command::kListNodes;
  EntityId entity{};  // show, move, ghost query
  NodeId node{};      // move (destination), drain
  DebugTargets debug{};  // debug
  friend bool operator==(const AdminRequest&, const AdminRequest&) = default;
};

struct AdminReply {
  bool ok = false;
  std::vector<std::string> lines;
  friend bool operator==(const AdminReply&, const AdminReply&) = default;
};

// Vice -> leader and back: a round trip for comparing clock rates (the vice's failover grace relies
// on its clock). answer_clock_ns = 0: the question.
struct ClockProbe {
  TimeNs sent_ns = 0;
  TimeNs answer_clock_ns = 0;
  friend bool operator==(const ClockProbe&, const ClockProbe&) = default;
};

// Vice -> leader after a Replicate carrying a version or a batch: the vice's fresher states went
// just before, and it holds every entry of that batch.
struct ReplicaAck {
  uint64_t version = 0;
  uint64_t batch = 0;
  friend bool operator==(const ReplicaAck&, const ReplicaAck&) = default;
};

// Leader -> compute after orphanings: states of these, please (ghosts, states taken from you), then
// echo `version` at once (0: more of the batch follows).
struct OrphanQuery {
  uint64_t version = 0;
  std::vector<EntityId> entities;  // at most kBatchEntitiesMax
  friend bool operator==(const OrphanQuery&, const OrphanQuery&) = default;
};

// Owner -> the gateway holding an entity's session: its player was refused more actions than an
// honest client ever is (engine/compute/refusal_meter.h); end the session. Obeyed only from the
// entity's owner.
struct SessionKick {
  EntityId entity{};
  std::string reason;  // at most kKickReasonBytesMax
  friend bool operator==(const SessionKick&, const SessionKick&) = default;
};
inline constexpr size_t kKickReasonBytesMax = 128;

// Owner -> the gateway holding an avatar's session: what that player's HUD shows of server-only
// fields (docs/browser.md, "The bag and the turn order"): the kinds of the items in its inventory
// and the encounter it sits in, as the owner reads it (its own or a ghost). Sent on change, at most
// once a tick, and again every kAvatarHudRefreshTicks while not empty (a lost one, or a client
// that resumed, is brought up to date); an empty one is sent once when the last thing goes.
// Obeyed only from the avatar's owner; the gateway sends it to that avatar's client alone.
inline constexpr uint32_t kAvatarHudRefreshTicks = 100;
struct AvatarHud {
  EntityId entity{};
  InlineVec<uint16_t, kInventoryItemsMax> items{};  // item kinds (content/items.textpb), oldest first
  EntityId encounter{};  // none: invalid, and every field below is 0 or empty
  uint32_t round = 0;
  uint32_t turn = 0;
  uint32_t actor = 0;            // the seat whose turn it is (< seats.size() when in an encounter)
  uint32_t turn_ticks_left = 0;  // as the owner read it (not compared: it changes every tick)
  InlineVec<EncounterSeat, kEncounterSeatsMax> seats{};  // in turn order (initiative unused: 0)
  friend bool operator==(const AvatarHud&, const AvatarHud&) = default;
  bool empty() const { return items.empty() && !encounter.valid(); }
  // What a change is: everything but the timer.
  bool same_view(const AvatarHud& o) const {
    AvatarHud a = *this, b = o;
    a.turn_ticks_left = b.turn_ticks_left = 0;
    return a == b;
  }
};

// Compute -> leader, about turn-based encounters (docs/gameplay.md, "Encounters"). Open: our
// `challenger` challenged `target` at `pos`; the leader creates the encounter entity and grants it to
// us. Close: our encounter `ended` is over; the leader erases it and revokes it from us.
struct EncounterRequest {
  EntityId challenger{};
  EntityId target{};
  Vec2 pos{};
  EntityId ended{};  // valid: a close, and the other fields are unused
  friend bool operator==(const EncounterRequest&, const EncounterRequest&) = default;
};

// Instances (docs/gameplay.md, "Instances"). Owner -> leader: our living player `entity` stands in
// `portal`, which leads into an instance template: which slot of it is its party's? The leader
// trusts only the entity's owner, and reads the party from the entity itself (never from the asker).
inline constexpr uint32_t kInstanceSlotsMax = 16;  // slots of one template
struct InstanceRequest {
  EntityId entity{};
  uint16_t portal = 0;
  friend bool operator==(const InstanceRequest&, const InstanceRequest&) = default;
};
// Leader -> the asker: `slot` of the template `portal` leads to is the entity's party's (it may enter
// it now), or the request is refused (every slot is another party's, or the asker is not the owner).
struct InstanceAnswer {
  EntityId entity{};
  uint16_t portal = 0;
  uint32_t slot = 0;      // < kInstanceSlotsMax; 0 when refused
  bool refused = false;
  friend bool operator==(const InstanceAnswer&, const InstanceAnswer&) = default;
};

using ServerBody = std::variant<Hello, Heartbeat, SpawnRequest, SpawnReply, OwnershipGrant, OwnershipRevoke,
                                SessionClosed, InputForward, DeltaBatch, Membership, Subscribe, RemoteIntent,
                                HeartbeatAck, Snapshot, OwnerChanged, Evicted, Leadership, Prepare, Promise, Replicate, SessionMoved, Release, Released,
                                Handoff, AdminRequest, AdminReply, ClockProbe, ReplicaAck, OrphanQuery, GatewayRoutes, SessionKick,
                                EncounterRequest, AvatarHud, InstanceRequest, InstanceAnswer, LogoutSaved>;

struct ServerMessage {
  NodeId sender{};
  Role sender_role = Role::kNone;
  Epoch epoch = 0;
  Tick tick = 0;
  ServerBody body;
  friend bool operator==(const ServerMessage&, const ServerMessage&) = default;
};

}  // namespace aether
