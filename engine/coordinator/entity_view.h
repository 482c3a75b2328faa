#pragma once
// What an operator's console shows of one entity (GET /api/entity?id=E, the entity inspector):
// the coordinator's record of it (owner, generation, gateway and session, the freshest snapshot),
// the region cell it stands in and that cell's home node, the state of its owner as this
// coordinator sees it, and its newest handovers from the handover log (handover_log.h). Built on
// demand (Coordinator::entity_view), bounded: at most kEntityViewHandoversMax handovers.

#include <cstddef>
#include <cstdint>
#include <vector>

#include "engine/coordinator/handover_log.h"
#include "engine/core/ids.h"

namespace aether {

inline constexpr size_t kEntityViewHandoversMax = 16;

struct EntityView {
  Epoch epoch = 0;
  bool leading = false;
  EntityId id{};
  bool known = false;  // false: not in this coordinator's table (nothing below is set)
  NodeId owner{};      // invalid: orphaned
  uint64_t generation = 0;
  NodeId gateway{};
  uint64_t session = 0;
  bool detached = false;        // its gateway is gone; the avatar waits for a resume
  NodeId migrating_to{};        // invalid: not migrating
  int64_t x_mm = 0, y_mm = 0;   // the snapshot's position
  int32_t hp = 0;
  uint32_t team = 0;
  uint32_t kind = 0;
  uint64_t version = 0;         // the snapshot's lineage version
  uint32_t cell_x = 0, cell_y = 0;  // its region cell (RegionMap), and that cell's home node
  NodeId home{};
  // Its owner as this coordinator sees it: "up", "down", "lost", "draining", or "unknown" (not a member).
  const char* owner_state = "unknown";
  std::vector<Handover> handovers;  // its newest migrations, oldest first, at most kEntityViewHandoversMax
};

}  // namespace aether
