// Read-only views for operators (the console): ownership by cell, and the handover log.

#include <map>
#include <tuple>
#include <utility>

#include "engine/coordinator/coordinator.h"

namespace aether {

OwnershipView Coordinator::ownership_view() const {
  OwnershipView v;
  v.epoch = epoch_;
  v.leading = leading();
  v.arena_mm = cfg_.rules.arena_mm;
  v.side = RegionMap::kSide;
  v.homes.resize(size_t{RegionMap::kSide} * RegionMap::kSide);
  for (uint32_t y = 0; y < RegionMap::kSide; ++y) {
    for (uint32_t x = 0; x < RegionMap::kSide; ++x) v.homes[size_t{y} * RegionMap::kSide + x] = regions_.home_of_cell(RegionMap::to_curve(x, y));
  }
  // (row-major cell, owner) -> entities: ordered maps, so the answer's order is the same every time.
  std::map<std::pair<uint32_t, NodeId>, uint32_t> cells;
  std::map<NodeId, uint32_t> per_node;
  for (const auto& [id, rec] : table_) {
    const auto [x, y] = RegionMap::from_curve(regions_.cell_of(rec.snapshot.pos));
    ++cells[{y * RegionMap::kSide + x, rec.owner}];
    if (rec.owner.valid()) {
      ++per_node[rec.owner];
    } else {
      ++v.orphans;
    }
  }
  for (const auto& [key, n] : cells) {
    if (v.cells.size() == kOwnershipCellsMax) {
      ++v.cells_dropped;
      continue;
    }
    v.cells.push_back(OwnershipView::Cell{key.first % RegionMap::kSide, key.first / RegionMap::kSide, key.second, n});
  }
  for (const auto& [node, n] : per_node) v.nodes.push_back(OwnershipView::NodeCount{node, n});
  return v;
}

EntityView Coordinator::entity_view(EntityId id) const {
  EntityView v;
  v.epoch = epoch_;
  v.leading = leading();
  v.id = id;
  auto it = table_.find(id);
  if (it == table_.end()) return v;
  const OwnerRecord& rec = it->second;
  v.known = true;
  v.owner = rec.owner;
  v.generation = rec.generation;
  v.gateway = rec.gateway;
  v.session = rec.session.value;
  v.detached = rec.detached_since_ns != 0;
  if (auto mig = migrations_.find(id); mig != migrations_.end()) v.migrating_to = mig->second.to;
  v.x_mm = rec.snapshot.pos.x_mm;
  v.y_mm = rec.snapshot.pos.y_mm;
  v.hp = rec.snapshot.hp;
  v.team = rec.snapshot.team;
  v.kind = rec.snapshot.kind;
  v.version = rec.snapshot.version;
  const uint32_t cell = regions_.cell_of(rec.snapshot.pos);
  std::tie(v.cell_x, v.cell_y) = RegionMap::from_curve(cell);
  v.home = regions_.home_of_cell(cell);
  if (auto node = nodes_.find(rec.owner); rec.owner.valid() && node != nodes_.end()) {
    const NodeRecord& n = node->second;
    v.owner_state = n.lost ? "lost" : !n.conn ? "down" : n.draining() ? "draining" : "up";
  }
  v.handovers = handovers_.of_entity(id, kEntityViewHandoversMax);
  return v;
}

void Coordinator::note_handover(HandoverKind kind, EntityId entity, NodeId from, NodeId to, uint64_t count) {
  handovers_.record(Handover{0, rt_.clock.now_ns(), epoch_, kind, entity, from, to, count});
}

}  // namespace aether
