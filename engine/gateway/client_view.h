#pragma once
// What one client knows, and what it is told next: the per-client interest of a gateway.
//
// Each tick the gateway lists the entities within the client's view radius (its candidates), each
// with a weight: how much the client cares about a change of it this tick (near over far, an enemy
// over an ally, one aiming at the client over one that does not). A change the client has not been
// sent yet owes its weight every tick until it is sent, so a far entity's change waits longer but is
// never starved. The update is then filled in order of what is owed, until the client's byte budget
// for the tick is spent: near entities every tick, far ones less often (level of detail by priority),
// and the client's own avatar always first. Entities in the radius beyond the view limit are sent
// only as counts per cell and team (aggregates), once per second.
//
// The client's state is changed only when the update is delivered (commit): an update the socket
// refused leaves the view as it was, so the next one is computed against what the client really has.
//
// Slots: each known entity has a small number, given in `entered` and freed by `left`. A slot freed
// in an update is reused only from the next one (a client applies entered before left).

#include <cstdint>
#include <vector>

#include "engine/core/ids.h"
#include "engine/wire/client_protocol.h"

namespace aether {

struct ViewCandidate {
  EntityId id{};
  const client::Seen* seen = nullptr;  // valid for the duration of the build
  uint64_t version = 0;                // changes whenever *seen does, unique across entities (> 0)
  uint32_t weight = 1;                 // owed per tick while a change of it waits; >= 1
};

struct ViewLimits {
  size_t entities_max = 256;     // known at once; the nearest are candidates, the rest aggregates
  size_t update_bytes_max = 780; // one update's budget (the own avatar and departures always fit)
  int32_t aggregate_cell_mm = 25'000;
};

struct ViewBuildStats {
  size_t candidates = 0;
  size_t deferred = 0;  // changes or entries that did not fit the budget this tick
};

class ClientView {
 public:
  explicit ClientView(ViewLimits limits);

  // Builds the update for `tick` into `out` from the candidates (sorted by id, at most the view
  // limit) and the aggregates; `self` is the client's own avatar (its change goes first, whatever
  // the budget). Nothing the client knows changes until commit().
  struct Aggregate {
    int32_t cell_x, cell_y;
    uint32_t team, count;
  };
  ViewBuildStats build(Tick tick, EntityId self, const std::vector<ViewCandidate>& candidates, const std::vector<Aggregate>& aggregates,
                       bool has_cooldown, uint32_t cooldown_ticks, std::vector<uint8_t>& out);
  // The update just built was delivered: the client now knows what it said.
  void commit();
  // Nothing to say: no entity entered, changed or left, no aggregates due, and the own avatar's
  // cooldown is where the client's own countdown of the last one it was told puts it.
  bool empty_update() const {
    return plan_.entered.empty() && plan_.changed.empty() && plan_.left.empty() && !plan_.has_aggregates && !plan_.cooldown_news;
  }

  size_t known() const { return known_.size(); }
  // Whether the client has been told of `id` (it entered the view and has not left it).
  bool knows(EntityId id) const;
  const ViewLimits& limits() const { return limits_; }

 private:
  // What the client was told of one entity, kept in id order: a build walks the view and this list
  // side by side, both sequential (a slot-indexed table was a cache miss per entity per client).
  struct Known {
    EntityId id;
    uint32_t slot;
    uint32_t owed;        // priority accumulated by changes not yet sent
    uint64_t version;     // the candidate version it was told (equal: nothing to compare)
    client::Seen sent;    // what it was told
  };
  struct Waiting {  // in view, not yet entered (the budget was spent)
    EntityId id;
    uint32_t owed;
  };
  struct Pending {
    uint64_t score;
    EntityId id;
    uint32_t slot;      // for a change; for an entry, assigned when chosen
    uint8_t mask;       // 0 for an entry
    const client::Seen* now;
    uint64_t version;
    size_t bytes;       // for a change (an entry's depends on the slot it gets)
    size_t at;          // for a change: its place in plan_.next
    const client::Seen* had;  // for a change: what the client was told (in known_)
  };
  struct Told {
    uint32_t slot;
    uint8_t mask;                  // for a change: the fields that differ from what it was told
    const client::Seen* had;       // for a change: what it was told (in known_, unchanged until commit)
    client::Seen seen;
  };
  struct Plan {
    std::vector<Told> entered;
    std::vector<Told> changed;
    std::vector<uint32_t> left;
    std::vector<Known> next;       // known_ after delivery, sorted by id
    bool has_aggregates = false;
    bool aggregates_nonempty = false;
    Tick tick = 0;  // the build's: when its aggregates and cooldown are delivered, if they are
    bool has_cooldown = false;
    uint32_t cooldown_ticks = 0;
    bool cooldown_news = false;  // it differs from the countdown of the last one told
  };
  static constexpr Tick kAggregateEveryTicks = 10;  // aggregates are the far view: once per second

  uint32_t slot_for_entry(size_t nth_entry) const;

  ViewLimits limits_;
  std::vector<Known> known_;       // sorted by id
  std::vector<EntityId> slot_of_;  // by slot: whose it is (none if free)
  std::vector<uint32_t> free_;     // free slot numbers, lowest last
  std::vector<Waiting> waiting_;   // sorted by id
  Tick aggregates_tick_ = 0;       // when aggregates were last delivered
  bool cooldown_told_ = false;     // the own avatar's cooldown was delivered, cooldown_ticks_ at cooldown_tick_
  uint32_t cooldown_ticks_ = 0;
  Tick cooldown_tick_ = 0;
  bool aggregates_sent_ = false;   // and whether the client holds a non-empty set
  bool built_ = false;             // an update was built and not yet committed
  // Scratch, reused every tick.
  Plan plan_;
  std::vector<Pending> pending_;
  std::vector<Waiting> next_waiting_;
};

}  // namespace aether
