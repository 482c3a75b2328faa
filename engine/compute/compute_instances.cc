// Instances, the owner's side (docs/gameplay.md, "Instances"). A player of ours standing in a portal
// into an instance template does not go through at once, as through an ordinary portal: its slot is
// its party's, and only the leader knows which that is (its table holds the allocations). We ask
// (InstanceRequest, to every coordinator; only the leader answers), and when the answer gives a slot
// the player, if it still stands in that portal, is moved into the slot in phase 3 as an ordinary
// move of ours. A refusal (every slot another party's) or no answer: asked again after
// kInstanceAskTicks while it stands there.

#include "engine/compute/compute_node.h"

namespace aether {

void ComputeNode::enter_instance(gameplay::Entity& e) {
  const gameplay::PortalDef* portal = world_.portal_under(e);
  if (!portal) return;
  const gameplay::ZoneDef* to = world_.content().find_zone(portal->to_zone);
  if (!to || !to->is_template()) return;
  auto ask = instance_asks_.find(e.id);
  if (ask != instance_asks_.end() && ask->second.portal == portal->id && ask->second.slot) {
    const uint32_t slot = *ask->second.slot;
    instance_asks_.erase(ask);
    world_.enter_slot(e, *portal, slot);
    ++stats_.instances_entered;
    trace(TraceKind::kInstanceEntered, e.id, (int64_t{to->id} << 32) | slot, static_cast<int64_t>(to->party_of(e.id)));
    return;
  }
  if (ask != instance_asks_.end() && ask->second.asked + kInstanceAskTicks > tick_) return;  // waiting for the answer
  if (ask == instance_asks_.end() && instance_asks_.size() >= kInstanceAsksMax) return;     // full: asks when there is room
  const InstanceRequest request{e.id, portal->id};
  for_each_coordinator([&](ConnId conn, CoordinatorLink&) { send_server(rt_.network, conn, envelope(request)); });
  instance_asks_[e.id] = InstanceAsk{portal->id, tick_, std::nullopt};
  ++stats_.instance_requests_sent;
}

void ComputeNode::forget_instance_asks() {
  std::erase_if(instance_asks_, [&](const auto& a) { return a.second.asked + kInstanceAskTicks <= tick_ || !world_.find(a.first); });
}

void ComputeNode::handle_instance_answer(const InstanceAnswer& a) {
  auto ask = instance_asks_.find(a.entity);
  const gameplay::PortalDef* portal =
      a.portal >= 1 && a.portal <= world_.content().portals.size() ? &world_.content().portals[a.portal - 1] : nullptr;
  const gameplay::ZoneDef* to = portal ? world_.content().find_zone(portal->to_zone) : nullptr;
  if (ask == instance_asks_.end() || ask->second.portal != a.portal || !to || !to->is_template() || a.slot >= to->instance_slots) {
    ++stats_.instance_answers_dropped;  // asked long ago, or not by us, or a slot the content lacks
    return;
  }
  if (a.refused) {
    ++stats_.instance_refusals;  // the ask stays until kInstanceAskTicks: then asked again
    return;
  }
  ask->second.slot = a.slot;
}

}  // namespace aether
