#include "app/checker.h"

#include <fmt/format.h>

namespace aether::app {

void ClusterChecker::fail(TimeNs now, std::string what) {
  if (!violation_) violation_ = Violation{now, std::move(what)};
}

void ClusterChecker::check_epochs(TimeNs now) {
  std::map<Epoch, NodeId> leaders;
  for (const Coordinator* c : cluster_.coordinators()) {
    if (!c || !c->leading()) continue;
    auto [it, first] = leaders.emplace(c->epoch(), c->node());
    if (!first) fail(now, fmt::format("coordinators {} and {} both lead epoch {}", it->second.value, c->node().value, c->epoch()));
  }
  for (const ComputeNode* n : cluster_.computes()) {
    if (!n) continue;
    Epoch& seen = node_epoch_[n->node()];
    if (n->epoch() < seen) fail(now, fmt::format("compute node {} went back from epoch {} to {}", n->node().value, seen, n->epoch()));
    seen = n->epoch();
  }
}

void ClusterChecker::check(TimeNs now) {
  ++figures_.checks;
  check_epochs(now);
  std::map<EntityId, NodeId> writer;
  for (const ComputeNode* c : cluster_.computes()) {
    if (!c) continue;  // crashed
    for (const auto& [id, e] : c->world().entities()) {
      if (!c->writes(id)) continue;
      auto [it, first] = writer.emplace(id, c->node());
      if (!first) fail(now, fmt::format("entity {} written by compute nodes {} and {} at once", id.value, it->second.value, c->node().value));
    }
  }
  const Coordinator* coordinator = cluster_.coordinator();
  if (!coordinator) return;
  for (const auto& [id, rec] : coordinator->table()) {
    EntityWatch& w = watch_[id];
    auto wr = writer.find(id);
    if (wr != writer.end()) {
      if (w.unwritten_since >= 0 && w.ever_written) {
        figures_.longest_unwritten_ns = std::max(figures_.longest_unwritten_ns, now - w.unwritten_since);
        auto lost = coordinator->nodes().find(w.last_writer);
        if (lost != coordinator->nodes().end() && lost->second.lost_at_ns >= w.unwritten_since) {
          figures_.longest_recovery_ns = std::max(figures_.longest_recovery_ns, now - lost->second.lost_at_ns);
        }
      }
      w.last_writer = wr->second;
      w.unwritten_since = -1;
      w.ever_written = true;
      continue;
    }
    if (w.unwritten_since < 0) w.unwritten_since = now;
    auto lost = coordinator->nodes().find(w.last_writer);
    const bool detected = w.ever_written && lost != coordinator->nodes().end() && lost->second.lost &&
                          lost->second.lost_at_ns >= w.unwritten_since;
    if (detected && now - lost->second.lost_at_ns > kRecoveryTargetNs) {
      fail(now, fmt::format("entity {} not written again {} ms after the loss of compute node {} was detected", id.value,
                            (now - lost->second.lost_at_ns) / kNsPerMs, w.last_writer.value));
    } else if (!detected && now - w.unwritten_since > kUnwrittenMaxNs) {
      fail(now, fmt::format("entity {} unwritten for {} ms with no loss detected (last writer {})", id.value,
                            (now - w.unwritten_since) / kNsPerMs, w.last_writer.value));
    }
  }
}

}  // namespace aether::app
