// Targeted debug mode on a compute node (`aether admin debug`): for the entities debugged, or all of
// them on a debugged node, every input drained, every intent generated and every state change is
// traced (kDebugInput, kDebugIntent, kDebugState) and logged at info level with an "debug:" prefix.
// At most kDebugRecordsPerTickMax records per tick; the rest are counted (kDebugSuppressed).

#include <fmt/format.h>

#include "engine/compute/compute_node.h"

namespace aether {

void ComputeNode::set_debug(NodeId from, const DebugTargets& targets) {
  if (!debug_.apply(cfg_.node, targets)) return;
  if (!debug_.active()) debug_versions_.clear();
  for (auto it = debug_versions_.begin(); it != debug_versions_.end();) {  // forget those no longer debugged
    it = debug_.covers(it->first) ? std::next(it) : debug_versions_.erase(it);
  }
  log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "debug: coordinator {} set the debug set: {}", from.value, debug_.describe());
  trace(TraceKind::kDebugTargets, EntityId{}, static_cast<int64_t>(debug_.entities().size()), debug_.whole_node() ? 1 : 0, from);
}

bool ComputeNode::debug_budget() {
  if (debug_records_this_tick_ < kDebugRecordsPerTickMax) {
    ++debug_records_this_tick_;
    return true;
  }
  ++debug_suppressed_this_tick_;
  return false;
}

void ComputeNode::debug_input(EntityId entity, const ClientInput& in) {
  if (!debug_.covers(entity) || !debug_budget()) return;
  log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, entity}, "debug: input seq {} move ({}, {}) permille target {} skill slot {}", in.seq, in.move_x,
         in.move_y, in.target.value, in.skill);
  trace(TraceKind::kDebugInput, entity, in.seq, in.skill);
}

void ComputeNode::debug_intent(const RemoteIntent& intent) {
  if (!(debug_.covers(intent.source) || debug_.covers(intent.target)) || !debug_budget()) return;
  log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, intent.source}, "debug: intent {} -> {} skill {} {} {}{}", intent.source.value, intent.target.value,
         intent.skill, intent_action_name(intent.action), intent_action_value(intent.action),
         world_.find(intent.target) ? "" : " (target owned elsewhere)");
  trace(TraceKind::kDebugIntent, intent.source, static_cast<int64_t>(intent.target.value), intent_action_value(intent.action));
}

// After the tick: every debugged entity we own whose state changed.
void ComputeNode::debug_states() {
  auto record = [this](const gameplay::Entity& e) {
    auto [it, fresh] = debug_versions_.try_emplace(e.id, e.version);
    if (!fresh && it->second == e.version) return;
    it->second = e.version;
    if (!debug_budget()) return;
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, e.id}, "debug: state at ({}, {}) mm hp {} version {}{}", e.pos.x_mm, e.pos.y_mm, e.hp,
           e.version, e.dead ? " dead" : "");
    trace(TraceKind::kDebugState, e.id, e.hp, static_cast<int64_t>(e.version));
  };
  if (debug_.whole_node()) {
    for (const auto& [id, e] : world_.entities()) record(e);
    if (debug_versions_.size() > world_.size()) {  // forget entities that left us
      std::erase_if(debug_versions_, [this](const auto& kv) { return world_.find(kv.first) == nullptr; });
    }
  } else {
    for (EntityId id : debug_.entities()) {
      if (const gameplay::Entity* e = world_.find(id)) record(*e);
    }
  }
  if (debug_suppressed_this_tick_ > 0) {
    log_at(rt_.log, LogLevel::kInfo, {epoch_, tick_, {}}, "debug: {} records left out this tick (at most {} a tick)", debug_suppressed_this_tick_,
           kDebugRecordsPerTickMax);
    trace(TraceKind::kDebugSuppressed, EntityId{}, debug_suppressed_this_tick_);
  }
  debug_records_this_tick_ = 0;
  debug_suppressed_this_tick_ = 0;
}

}  // namespace aether
