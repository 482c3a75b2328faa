#include "engine/compute/interest_feed.h"

#include <algorithm>

#include "engine/core/assert.h"
#include "engine/wire/state_codec.h"

namespace aether {

void InterestCells::refresh(const std::vector<Vec2>& anchors, int32_t cell_mm, Tick tick) {
  for (Vec2 a : anchors) for_each_cell_around(a, cell_mm, [&](CellKey c) { cells_[c] = tick; });
  for (auto it = cells_.begin(); it != cells_.end();) {
    it = (it->second + kInterestTtlTicks < tick) ? cells_.erase(it) : std::next(it);
  }
}

std::vector<CellKey> InterestCells::cells() const {
  std::vector<CellKey> out;
  out.reserve(cells_.size());
  for (const auto& [cell, last] : cells_) out.push_back(cell);
  return out;
}

void InterestFeed::refresh_from_anchors(const std::vector<Vec2>& anchors, int32_t cell_mm, Tick tick) {
  anchored_ = true;
  anchored_cells_.refresh(anchors, cell_mm, tick);
}

void InterestFeed::set_cells(std::vector<CellKey> cells) {
  std::sort(cells.begin(), cells.end());
  cells.erase(std::unique(cells.begin(), cells.end()), cells.end());
  cells_ = std::move(cells);
}

void FeedStates::clear() {
  states_.clear();
  begin_.clear();
  end_.clear();
  bytes_.clear();
}

void FeedStates::add(const EntityState& s) {
  AETHER_ASSERT_MSG(states_.empty() || states_.back()->id < s.id, "feed states must be added in increasing id order");
  states_.push_back(&s);
  begin_.push_back(0);
  end_.push_back(0);
}

std::span<const uint8_t> FeedStates::encoded(uint32_t i) {
  if (begin_[i] == end_[i]) {
    ByteWriter w(bytes_);
    begin_[i] = static_cast<uint32_t>(bytes_.size());
    put_state(w, *states_[i], fields_);
    end_[i] = static_cast<uint32_t>(bytes_.size());
  }
  return std::span<const uint8_t>(bytes_).subspan(begin_[i], end_[i] - begin_[i]);
}

// The relevant entities (those in the interest cells, sorted by id) merged with what was sent: new
// or changed ones are sent (their encoded bytes copied, not re-encoded), the ones no longer relevant
// are removed.
DeltaBatch InterestFeed::build(const SpatialGrid& grid, FeedStates& states) {
  relevant_.clear();
  const std::vector<CellKey> cells = anchored_ ? anchored_cells_.cells() : cells_;
  for (CellKey cell : cells) grid.for_each_in_cell_payload(cell, [&](EntityId, Vec2, uint32_t index) { relevant_.push_back(index); });
  std::sort(relevant_.begin(), relevant_.end());  // indices follow ids: states are sorted by id
  if (relevant_.size() > kFeedEntitiesMax) relevant_.resize(kFeedEntitiesMax);

  DeltaBatch batch;
  last_pushed_new_ = 0;
  if (reset_pending_) {
    batch.reset = true;
    sent_.clear();
    reset_pending_ = false;
  }
  next_sent_.clear();
  to_send_.clear();
  size_t k = 0;
  for (uint32_t index : relevant_) {
    const EntityState& st = states.state(index);
    for (; k < sent_.size() && sent_[k].id < st.id; ++k) batch.removed.push_back(sent_[k].id);
    const bool known = k < sent_.size() && sent_[k].id == st.id;
    if (!known || sent_[k].generation != st.generation || sent_[k].version != st.version) {
      last_pushed_new_ += known ? 0 : 1;
      to_send_.push_back(index);
    }
    if (known) ++k;
    next_sent_.push_back(Sent{st.id, st.generation, st.version});
  }
  for (; k < sent_.size(); ++k) batch.removed.push_back(sent_[k].id);
  sent_.swap(next_sent_);
  if (!to_send_.empty()) {
    ByteWriter w(batch.packed_states);
    w.varint(to_send_.size());
    for (uint32_t index : to_send_) w.raw(states.encoded(index));
  }
  return batch;
}

}  // namespace aether
