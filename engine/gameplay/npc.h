#pragma once
// NPCs (docs/gameplay.md, "NPCs"): monsters owned like any entity, driven by their owner's AI on the
// tick instead of a client's inputs.
//
// The threat table decides whom an NPC fights. Damage dealt to it adds that much threat to its
// source, and an enemy coming within its aggro radius while it is idle adds 1; the entry with the
// highest threat is its target (ties: the lowest entity id). The table holds at most
// kThreatEntriesMax entries: at the limit a newcomer replaces the entry with the lowest threat (ties:
// the highest entity id) only if it brings more threat than that entry has, else it is not kept.
// Every rule reads the table in its stored order and breaks ties by id, so two owners replaying the
// same damage keep the same table.

#include "engine/core/ids.h"
#include "engine/core/inline_vec.h"
#include "engine/core/time.h"
#include "engine/wire/messages.h"

namespace aether::gameplay {

using ThreatTable = InlineVec<ThreatEntry, kThreatEntriesMax>;

// Adds `amount` (> 0) threat to `who` (saturating at kThreatMax), under the rule above.
void add_threat(ThreatTable& table, EntityId who, int32_t amount);
// The entity with the highest threat, or an invalid id if the table is empty.
EntityId top_threat(const ThreatTable& table);
void drop_threat(ThreatTable& table, EntityId who);

// How often an idle NPC looks around for enemies within its aggro radius: every kAggroScanTicks
// ticks, staggered by entity id, so a node scans a fraction of its NPCs per tick.
inline constexpr Tick kAggroScanTicks = 3;
// Entities an aggro scan considers, nearest first; farther ones are not seen.
inline constexpr size_t kAggroCandidatesMax = 32;

// A direction toward (dx, dy) in permille per axis, the longer axis at full scale (0, 0 if none).
Vec2 direction_permille(int64_t dx, int64_t dy);

}  // namespace aether::gameplay
