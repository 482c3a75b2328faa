// Property: an NPC's threat table (engine/gameplay/npc.h), under any sequence of threat added and
// entries dropped, stays within kThreatEntriesMax entries, holds each entity once, names as its top
// the entry a small reference model says (the highest threat, ties to the lowest id), keeps exactly
// the entries the model keeps (at the limit a newcomer replaces the lowest entry, ties to the
// highest id, only if it brings more threat), and is the same table, byte for byte, when the same
// sequence is replayed or the table travels through the canonical encoding.

#include <gtest/gtest.h>  // before rapidcheck/gtest.h, which does not include it
#include <rapidcheck.h>
#include <rapidcheck/gtest.h>

#include <algorithm>
#include <map>
#include <vector>

#include "engine/gameplay/npc.h"
#include "engine/wire/state_codec.h"

namespace aether::gameplay {
namespace {

struct Step {
  Step() = default;
  Step(uint64_t e, int32_t a) : entity(e), amount(a) {}
  uint64_t entity = 0;  // 1..20
  int32_t amount = 0;   // > 0: add that much threat; 0: drop the entity
};

// The rules, over an ordered map (entity -> threat).
struct Model {
  std::map<uint64_t, int64_t> threat;
  void apply(const Step& s) {
    if (s.amount == 0) {
      threat.erase(s.entity);
      return;
    }
    if (auto it = threat.find(s.entity); it != threat.end()) {
      it->second = std::min<int64_t>(it->second + s.amount, kThreatMax);
      return;
    }
    if (threat.size() < kThreatEntriesMax) {
      threat[s.entity] = s.amount;
      return;
    }
    auto lowest = threat.begin();
    for (auto it = threat.begin(); it != threat.end(); ++it) {
      if (it->second < lowest->second || (it->second == lowest->second && it->first > lowest->first)) lowest = it;
    }
    if (lowest->second >= s.amount) return;
    threat.erase(lowest);
    threat[s.entity] = s.amount;
  }
  uint64_t top() const {
    uint64_t best = 0;
    int64_t best_threat = -1;
    for (const auto& [e, t] : threat) {  // ascending ids: a tie keeps the lower
      if (t > best_threat) best = e, best_threat = t;
    }
    return best;
  }
};

ThreatTable run(const std::vector<Step>& steps, Model* model) {
  ThreatTable table;
  for (const Step& s : steps) {
    if (s.amount == 0) drop_threat(table, EntityId(s.entity));
    else add_threat(table, EntityId(s.entity), s.amount);
    if (model) {
      model->apply(s);
      RC_ASSERT(table.size() <= kThreatEntriesMax);
      RC_ASSERT(table.size() == model->threat.size());
      for (const ThreatEntry& t : table) {
        auto it = model->threat.find(t.entity.value);
        RC_ASSERT(it != model->threat.end());
        RC_ASSERT(int64_t{t.threat} == it->second);
      }
      RC_ASSERT(top_threat(table).value == model->top());
    }
  }
  return table;
}

RC_GTEST_PROP(ThreatProperty, BoundedOrderedAndDeterministic, ()) {
  const auto steps = *rc::gen::container<std::vector<Step>>(rc::gen::construct<Step>(
      rc::gen::inRange<uint64_t>(1, 21),
      rc::gen::oneOf(rc::gen::just(0), rc::gen::inRange(1, 50), rc::gen::just(kThreatMax / 2))));
  Model model;
  const ThreatTable table = run(steps, &model);
  const ThreatTable again = run(steps, nullptr);
  RC_ASSERT(again == table);
  EntityState st;
  st.id = EntityId(1);
  st.kind = kEntityKindNpc;
  st.npc.spawner = 1;
  st.npc.ai = AiState::kChasing;
  st.npc.threat = table;
  EntityState decoded;
  const char* error = nullptr;
  RC_ASSERT(unpack_state(pack_state(st), decoded, &error));
  RC_ASSERT(decoded.npc.threat == table);
  RC_ASSERT(pack_state(decoded) == pack_state(st));
}

}  // namespace
}  // namespace aether::gameplay
