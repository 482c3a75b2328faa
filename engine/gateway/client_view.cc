#include "engine/gateway/client_view.h"

#include <algorithm>
#include <limits>

#include "engine/core/assert.h"

namespace aether {

namespace {
constexpr uint64_t kSelfScore = std::numeric_limits<uint64_t>::max();
constexpr uint32_t kNoSlot = std::numeric_limits<uint32_t>::max();
// An entity entering the view owes twice its weight: something new matters more than a step.
constexpr uint32_t kEntryWeightFactor = 2;

size_t aggregate_bytes(const ClientView::Aggregate& a) { return client::far_bytes(a.cell_x, a.cell_y, a.team, a.count); }
}  // namespace

ClientView::ClientView(ViewLimits limits) : limits_(limits) {
  // Slots in use during one build: what the client knew plus what enters, each at most the limit.
  AETHER_ASSERT(limits_.entities_max > 0 && 2 * limits_.entities_max <= client::kSlotsMax);
  AETHER_ASSERT(limits_.update_bytes_max >= client::kUpdateFixedBytesMax);
  AETHER_ASSERT(limits_.aggregate_cell_mm > 0);
}

// The n-th entry chosen in this build (0-based) takes the n-th free slot from the back of the free
// list, then slots past the end.
uint32_t ClientView::slot_for_entry(size_t nth_entry) const {
  if (nth_entry < free_.size()) return free_[free_.size() - 1 - nth_entry];
  return static_cast<uint32_t>(slots_.size() + (nth_entry - free_.size()));
}

ViewBuildStats ClientView::build(Tick tick, EntityId self, const std::vector<ViewCandidate>& candidates,
                                 const std::vector<Aggregate>& aggregates, bool has_cooldown, uint32_t cooldown_ticks,
                                 std::vector<uint8_t>& out) {
  AETHER_ASSERT(candidates.size() <= limits_.entities_max);
  ViewBuildStats stats;
  stats.candidates = candidates.size();
  plan_.entered.clear();
  plan_.changed.clear();
  plan_.left.clear();
  plan_.known.clear();
  plan_.has_aggregates = false;
  plan_.aggregates_tick = tick;
  pending_.clear();
  next_waiting_.clear();

  // Merge what the client knows with what is in view now (both sorted by id).
  size_t k = 0, w = 0;
  EntityId previous{};
  for (const ViewCandidate& c : candidates) {
    AETHER_ASSERT_MSG(!previous.valid() || previous < c.id, "view candidates must be sorted by id, once each");
    AETHER_ASSERT(c.weight >= 1);
    previous = c.id;
    for (; k < known_.size() && known_[k].id < c.id; ++k) plan_.left.push_back(known_[k].slot);
    for (; w < waiting_.size() && waiting_[w].id < c.id; ++w) {
    }
    if (k < known_.size() && known_[k].id == c.id) {
      const uint32_t slot = known_[k++].slot;
      plan_.known.push_back(Known{c.id, slot});
      Slot& s = slots_[slot];
      if (s.version == c.version) continue;  // nothing changed since it was told
      const uint8_t mask = client::difference(s.sent, *c.seen);
      if (mask == 0) continue;
      const uint32_t owed = owed_[slot] += c.weight;
      pending_.push_back(Pending{c.id == self ? kSelfScore : owed, c.id, slot, mask, c.seen, c.version,
                                 client::changed_bytes(slot, s.sent, *c.seen, mask)});
      continue;
    }
    uint32_t owed = kEntryWeightFactor * c.weight;
    if (w < waiting_.size() && waiting_[w].id == c.id) owed += waiting_[w].owed;
    next_waiting_.push_back(Waiting{c.id, owed});
    // An entry's size depends on its slot; its largest (a two-byte slot) bounds it.
    pending_.push_back(Pending{c.id == self ? kSelfScore : owed, c.id, kNoSlot, 0, c.seen, c.version,
                               client::entered_bytes(client::kSlotsMax - 1, *c.seen)});
  }
  for (; k < known_.size(); ++k) plan_.left.push_back(known_[k].slot);
  waiting_.swap(next_waiting_);

  // The budget: what is always sent first, then the most owed changes and entries that fit.
  size_t fixed = client::kUpdateFixedBytesMax;
  for (uint32_t slot : plan_.left) fixed += client::left_bytes(slot);
  const bool aggregates_due = tick >= aggregates_tick_ + kAggregateEveryTicks && (!aggregates.empty() || aggregates_sent_);
  if (aggregates_due) {
    plan_.has_aggregates = true;
    for (const Aggregate& a : aggregates) fixed += aggregate_bytes(a);
  }
  size_t budget = limits_.update_bytes_max > fixed ? limits_.update_bytes_max - fixed : 0;
  size_t wanted = 0;
  for (const Pending& p : pending_) wanted += p.bytes;
  // Order only matters when not everything fits (most ticks of a quiet view: no sort).
  if (wanted > budget) {
    std::sort(pending_.begin(), pending_.end(), [](const Pending& a, const Pending& b) { return a.score != b.score ? a.score > b.score : a.id < b.id; });
  }
  for (const Pending& p : pending_) {
    const bool entry = p.slot == kNoSlot;
    const uint32_t slot = entry ? slot_for_entry(plan_.entered.size()) : p.slot;
    const size_t bytes = entry ? client::entered_bytes(slot, *p.now) : p.bytes;
    if (p.score != kSelfScore && bytes > budget) {
      ++stats.deferred;
      continue;
    }
    budget -= std::min(budget, bytes);
    if (entry) {
      AETHER_ASSERT(slot < client::kSlotsMax);
      plan_.entered.push_back(Told{slot, 0, *p.now, p.version});
      plan_.known.push_back(Known{p.id, slot});
    } else {
      plan_.changed.push_back(Told{slot, p.mask, *p.now, p.version});
    }
  }
  std::sort(plan_.known.begin(), plan_.known.end(), [](const Known& a, const Known& b) { return a.id < b.id; });

  client::UpdateWriter writer(out);
  writer.begin(tick);
  for (const Told& t : plan_.entered) writer.entered(t.slot, t.seen);
  for (const Told& t : plan_.changed) writer.changed(t.slot, slots_[t.slot].sent, t.seen, t.mask);
  for (uint32_t slot : plan_.left) writer.left(slot);
  if (plan_.has_aggregates) {
    for (const Aggregate& a : aggregates) writer.far(a.cell_x, a.cell_y, a.team, a.count);
    // An empty set is said as one empty cell, so that the client drops what it had.
    if (aggregates.empty()) writer.far(0, 0, 0, 0);
    plan_.aggregates_nonempty = !aggregates.empty();
  }
  writer.end(has_cooldown, cooldown_ticks);
  built_ = true;
  return stats;
}

bool ClientView::knows(EntityId id) const {
  auto it = std::lower_bound(known_.begin(), known_.end(), id, [](const Known& k, EntityId v) { return k.id < v; });
  return it != known_.end() && it->id == id;
}

void ClientView::commit() {
  AETHER_ASSERT_MSG(built_, "commit without a build");
  built_ = false;
  // Entries took slots from the back of the free list first (slot_for_entry), then past the end.
  const size_t from_free = std::min(plan_.entered.size(), free_.size());
  free_.resize(free_.size() - from_free);
  for (const Told& t : plan_.entered) {
    if (t.slot >= slots_.size()) {
      slots_.resize(t.slot + 1);
      owed_.resize(t.slot + 1);
    }
    AETHER_ASSERT_MSG(!slots_[t.slot].sent.id.valid(), "an entry took a slot in use");
    AETHER_ASSERT(t.seen.id.valid());
    slots_[t.slot] = Slot{t.seen, t.version};
    owed_[t.slot] = 0;
  }
  for (const Told& t : plan_.changed) {
    slots_[t.slot].sent = t.seen;
    slots_[t.slot].version = t.version;
    owed_[t.slot] = 0;
  }
  for (uint32_t slot : plan_.left) {
    AETHER_ASSERT(slots_[slot].sent.id.valid());
    slots_[slot] = Slot{};
    owed_[slot] = 0;
    free_.push_back(slot);
  }
  known_.swap(plan_.known);
  if (plan_.has_aggregates) {
    aggregates_tick_ = plan_.aggregates_tick;
    aggregates_sent_ = plan_.aggregates_nonempty;
  }
  AETHER_ASSERT(known_.size() <= limits_.entities_max);
}

}  // namespace aether
