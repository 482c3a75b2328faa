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
  return static_cast<uint32_t>(slot_of_.size() + (nth_entry - free_.size()));
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
  plan_.next.clear();
  plan_.has_aggregates = false;
  plan_.tick = tick;
  // A client counts its cooldown down by itself (one per tick); a cooldown that did not follow that
  // countdown (a skill used, a cooldown changed) is news even if nothing in view changed.
  const Tick elapsed = tick > cooldown_tick_ ? tick - cooldown_tick_ : 0;
  const uint32_t counted = cooldown_ticks_ > elapsed ? static_cast<uint32_t>(cooldown_ticks_ - elapsed) : 0;
  plan_.has_cooldown = has_cooldown;
  plan_.cooldown_ticks = cooldown_ticks;
  plan_.cooldown_news = has_cooldown && (!cooldown_told_ || cooldown_ticks != counted);
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
      Known& kn = known_[k++];
      plan_.next.push_back(kn);
      if (kn.version == c.version) continue;  // nothing changed since it was told
      const uint8_t mask = client::difference(kn.sent, *c.seen);
      if (mask == 0) continue;
      // Owed even if this update is not delivered: kept in known_ as well as in the plan.
      kn.owed += c.weight;
      plan_.next.back().owed = kn.owed;
      pending_.push_back(Pending{c.id == self ? kSelfScore : kn.owed, c.id, kn.slot, mask, c.seen, c.version,
                                 client::changed_bytes(kn.slot, kn.sent, *c.seen, mask), plan_.next.size() - 1, &kn.sent});
      continue;
    }
    uint32_t owed = kEntryWeightFactor * c.weight;
    if (w < waiting_.size() && waiting_[w].id == c.id) owed += waiting_[w].owed;
    next_waiting_.push_back(Waiting{c.id, owed});
    // An entry's size depends on its slot; its largest (a two-byte slot) bounds it.
    pending_.push_back(Pending{c.id == self ? kSelfScore : owed, c.id, kNoSlot, 0, c.seen, c.version,
                               client::entered_bytes(client::kSlotsMax - 1, *c.seen), 0, nullptr});
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
  const size_t kept = plan_.next.size();  // entries are appended after these, then merged in
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
      plan_.entered.push_back(Told{slot, 0, nullptr, *p.now});
      plan_.next.push_back(Known{p.id, slot, 0, p.version, *p.now});
    } else {
      plan_.changed.push_back(Told{slot, p.mask, p.had, *p.now});
      Known& kn = plan_.next[p.at];
      kn.sent = *p.now;
      kn.version = p.version;
      kn.owed = 0;
    }
  }
  if (plan_.next.size() > kept) {
    auto by_id = [](const Known& a, const Known& b) { return a.id < b.id; };
    const auto mid = plan_.next.begin() + static_cast<std::ptrdiff_t>(kept);
    std::sort(mid, plan_.next.end(), by_id);
    std::inplace_merge(plan_.next.begin(), mid, plan_.next.end(), by_id);
  }

  client::UpdateWriter writer(out);
  writer.begin(tick);
  for (const Told& t : plan_.entered) writer.entered(t.slot, t.seen);
  for (const Told& t : plan_.changed) writer.changed(t.slot, *t.had, t.seen, t.mask);
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
    if (t.slot >= slot_of_.size()) slot_of_.resize(t.slot + 1);
    AETHER_ASSERT_MSG(!slot_of_[t.slot].valid(), "an entry took a slot in use");
    AETHER_ASSERT(t.seen.id.valid());
    slot_of_[t.slot] = t.seen.id;
  }
  for (uint32_t slot : plan_.left) {
    AETHER_ASSERT(slot_of_[slot].valid());
    slot_of_[slot] = EntityId{};
    free_.push_back(slot);
  }
  known_.swap(plan_.next);
  if (plan_.has_cooldown) {  // every update says the cooldown when it knows it
    cooldown_told_ = true;
    cooldown_ticks_ = plan_.cooldown_ticks;
    cooldown_tick_ = plan_.tick;
  }
  if (plan_.has_aggregates) {
    aggregates_tick_ = plan_.tick;
    aggregates_sent_ = plan_.aggregates_nonempty;
  }
  AETHER_ASSERT(known_.size() <= limits_.entities_max);
}

}  // namespace aether
