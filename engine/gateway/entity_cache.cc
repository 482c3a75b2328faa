#include "engine/gateway/entity_cache.h"

#include "engine/core/assert.h"

namespace aether {

namespace {
EntityCache::Cached cached_of(const EntityState& st) {
  return EntityCache::Cached{st.id, st.pos, st.team, st.cooldown_ticks, st.generation, st.version};
}
// newer_than (messages.h) on what the cache keeps.
bool newer(const EntityState& a, const EntityCache::Cached& b) {
  return a.generation != b.generation ? a.generation > b.generation : a.version > b.version;
}
}  // namespace

uint32_t EntityCache::source_number(NodeId source) const {
  if (last_source_ != kNoSource && source_ids_[last_source_] == source) return last_source_;
  for (uint32_t n = 0; n < source_ids_.size(); ++n) {
    if (source_ids_[n] == source) return n;
  }
  return kNoSource;
}

uint32_t EntityCache::source_number_or_new(NodeId source) {
  AETHER_ASSERT(source.valid());
  uint32_t n = source_number(source);
  if (n == kNoSource) {
    for (n = 0; n < source_ids_.size() && source_ids_[n].valid(); ++n) {
    }
    if (n == kSourcesMax) return kNoSource;
    if (n == source_ids_.size()) source_ids_.emplace_back();
    source_ids_[n] = source;
    ++sources_in_use_;
  }
  last_source_ = n;
  return n;
}

EntityCache::Put EntityCache::put(NodeId source, const EntityState& st) {
  const uint32_t from = source_number_or_new(source);
  if (from == kNoSource) return Put::kRefused;
  const uint32_t found = index_.find(st.id.value);
  if (found == IdIndex::kNone) {
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
    states_[i] = cached_of(st);
    seen_[i] = client::seen_of(st);
    seen_versions_[i] = next_seen_version_++;
    sources_[i].reset();
    sources_[i].set(from);
    live_[i] = 1;
    index_.insert(st.id.value, i);
    return Put::kAdded;
  }
  const uint32_t i = found;
  sources_[i].set(from);
  if (newer(st, states_[i])) {
    states_[i] = cached_of(st);
    const client::Seen seen = client::seen_of(st);
    if (!(seen == seen_[i])) {
      seen_[i] = seen;
      seen_versions_[i] = next_seen_version_++;
    }
  }
  return Put::kKept;
}

void EntityCache::drop(NodeId source, EntityId id) {
  const uint32_t i = index_.find(id.value);
  if (i == IdIndex::kNone) return;
  const uint32_t from = source_number(source);
  if (from == kNoSource) return;
  sources_[i].reset(from);
  if (sources_[i].none()) remove(i);
}

void EntityCache::forget(NodeId source) {
  const uint32_t from = source_number(source);
  if (from == kNoSource) return;
  for (uint32_t i = 0; i < live_.size(); ++i) {
    if (!live_[i] || !sources_[i].test(from)) continue;
    sources_[i].reset(from);
    if (sources_[i].none()) remove(i);
  }
  source_ids_[from] = NodeId{};
  --sources_in_use_;
  if (last_source_ == from) last_source_ = kNoSource;
}

uint32_t EntityCache::find(EntityId id) const {
  const uint32_t i = index_.find(id.value);
  return i == IdIndex::kNone ? kNone : i;
}

bool EntityCache::has_source(uint32_t i, NodeId source) const {
  const uint32_t from = source_number(source);
  return live_[i] && from != kNoSource && sources_[i].test(from);
}

void EntityCache::remove(uint32_t i) {
  AETHER_ASSERT(live_[i]);
  const bool erased = index_.erase(states_[i].id.value);
  AETHER_ASSERT(erased);
  live_[i] = 0;
  sources_[i].reset();
  free_.push_back(i);
}

}  // namespace aether
