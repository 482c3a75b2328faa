#include "engine/gateway/entity_cache.h"

#include <algorithm>

#include "engine/core/assert.h"

namespace aether {

EntityCache::Put EntityCache::put(NodeId source, const EntityState& st) {
  auto found = index_.find(st.id.value);
  if (found == index_.end()) {
    if (index_.size() >= max_) return Put::kRefused;
    uint32_t i;
    if (!free_.empty()) {
      i = free_.back();
      free_.pop_back();
    } else {
      i = static_cast<uint32_t>(states_.size());
      states_.emplace_back();
      seen_.emplace_back();
      seen_versions_.push_back(0);
      sources_.emplace_back();
      live_.push_back(0);
    }
    AETHER_ASSERT(!live_[i]);
    states_[i] = st;
    seen_[i] = client::seen_of(st);
    seen_versions_[i] = next_seen_version_++;
    sources_[i].assign(1, source);
    live_[i] = 1;
    index_.emplace(st.id.value, i);
    return Put::kAdded;
  }
  const uint32_t i = found->second;
  auto& sources = sources_[i];
  auto pos = std::lower_bound(sources.begin(), sources.end(), source);
  if (pos == sources.end() || *pos != source) sources.insert(pos, source);
  if (newer_than(st, states_[i])) {
    states_[i] = st;
    const client::Seen seen = client::seen_of(st);
    if (!(seen == seen_[i])) {
      seen_[i] = seen;
      seen_versions_[i] = next_seen_version_++;
    }
  }
  return Put::kKept;
}

void EntityCache::drop(NodeId source, EntityId id) {
  auto found = index_.find(id.value);
  if (found == index_.end()) return;
  const uint32_t i = found->second;
  auto& sources = sources_[i];
  auto pos = std::lower_bound(sources.begin(), sources.end(), source);
  if (pos != sources.end() && *pos == source) sources.erase(pos);
  if (sources.empty()) remove(i);
}

void EntityCache::forget(NodeId source) {
  for (uint32_t i = 0; i < live_.size(); ++i) {
    if (!live_[i]) continue;
    auto& sources = sources_[i];
    auto pos = std::lower_bound(sources.begin(), sources.end(), source);
    if (pos == sources.end() || *pos != source) continue;
    sources.erase(pos);
    if (sources.empty()) remove(i);
  }
}

uint32_t EntityCache::find(EntityId id) const {
  auto found = index_.find(id.value);
  return found == index_.end() ? kNone : found->second;
}

void EntityCache::remove(uint32_t i) {
  AETHER_ASSERT(live_[i]);
  const size_t erased = index_.erase(states_[i].id.value);
  AETHER_ASSERT(erased == 1);
  live_[i] = 0;
  sources_[i].clear();
  free_.push_back(i);
}

}  // namespace aether
