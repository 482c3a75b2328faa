#pragma once
// The targeted debug set a compute node or gateway follows (`aether admin debug`): the entities,
// and whether this whole node, to trace and log verbosely. The coordinator sends the whole set each
// time it changes; at most kDebugEntitiesMax entities (the coordinator refuses more).

#include <set>
#include <string>

#include <fmt/format.h>

#include "engine/wire/messages.h"

namespace aether {

class DebugSet {
 public:
  // Takes a coordinator's whole set, as seen by node `self`. Returns whether anything changed.
  bool apply(NodeId self, const DebugTargets& targets) {
    std::set<EntityId> entities(targets.entities.begin(), targets.entities.end());
    bool node = false;
    for (NodeId n : targets.nodes) node = node || n == self;
    const bool changed = entities != entities_ || node != whole_node_;
    entities_ = std::move(entities);
    whole_node_ = node;
    return changed;
  }
  bool active() const { return whole_node_ || !entities_.empty(); }
  bool covers(EntityId id) const { return whole_node_ || entities_.contains(id); }
  bool whole_node() const { return whole_node_; }
  const std::set<EntityId>& entities() const { return entities_; }
  std::string describe() const {
    std::string ids;
    for (EntityId e : entities_) ids += fmt::format("{}{}", ids.empty() ? "" : ", ", e.value);
    return fmt::format("{} entities [{}]{}", entities_.size(), ids, whole_node_ ? " and this whole node" : "");
  }

 private:
  std::set<EntityId> entities_;
  bool whole_node_ = false;
};

}  // namespace aether
