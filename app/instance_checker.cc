#include "app/instance_checker.h"

#include <fmt/format.h>

namespace aether::app {

void InstanceChecker::on_opened(const TraceEvent& r, const std::string& event, const Fail& fail) {
  ++figures_.opened;
  Slot& s = slots_[key_of(r.a)];
  const uint64_t party = static_cast<uint64_t>(r.b);
  // A leader gives a slot only when no record stands in it; the party's own slot is answered, never
  // allocated again. A slot given while another party holds it is two parties in one slot.
  if (s.party != 0 && s.party != party) {
    return fail(r.time_ns, fmt::format("instance slot {} of zone {} given to party {} while party {} holds it", key_of(r.a).second, key_of(r.a).first,
                                       party, s.party),
                event);
  }
  // A party's slot is answered while it holds one: a second slot for it splits the party.
  for (const auto& [key, other] : slots_) {
    if (key != key_of(r.a) && other.party == party) {
      return fail(r.time_ns, fmt::format("party {} given slot {} of zone {} while it holds slot {}", party, key_of(r.a).second, key_of(r.a).first, key.second),
                  event);
    }
  }
  s.party = party;
}

void InstanceChecker::on_closed(const TraceEvent& r) {
  ++figures_.closed;
  Slot& s = slots_[key_of(r.a)];
  s.last_party = s.party;
  s.party = 0;
  s.closed_ns = r.time_ns;
}

void InstanceChecker::on_entered(const TraceEvent& r, const gameplay::Content& content, const gameplay::Entity* e, const std::string& event,
                                 const Fail& fail) {
  ++figures_.entered;
  const std::optional<gameplay::Place> place = e ? content.place_of(e->pos) : std::nullopt;
  if (!place || !place->zone->is_template() || key_of(r.a) != Key{place->zone->id, place->slot}) {
    return fail(r.time_ns, fmt::format("entity {} entered instance slot {} of zone {} but stands elsewhere", r.entity.value, key_of(r.a).second,
                                       key_of(r.a).first),
                event);
  }
  auto it = slots_.find(key_of(r.a));
  const uint64_t party = place->zone->party_of(r.entity);
  if (it == slots_.end() || it->second.party != party) {
    return fail(r.time_ns, fmt::format("entity {} of party {} entered instance slot {} of zone {}, which party {} holds", r.entity.value, party,
                                       place->slot, place->zone->name, it == slots_.end() ? 0 : it->second.party),
                event);
  }
}

std::string InstanceChecker::on_write(TimeNs now, const gameplay::Content& content, const gameplay::Entity& e) {
  const std::optional<gameplay::Place> place = content.place_of(e.pos);
  if (!place || !place->zone->is_template() || e.is_encounter()) return {};
  ++figures_.writes_checked;
  const gameplay::ZoneDef& zone = *place->zone;
  auto bad = [&](std::string what) { return fmt::format("in slot {} of instance {}: {}", place->slot, zone.name, what); };
  uint64_t party = zone.party_of(e.id);
  if (e.is_npc()) {
    const std::optional<gameplay::Place> home = content.place_of(e.npc.home);
    if (!home || home->zone != place->zone || home->slot != place->slot) return bad("an instance's NPC out of its home's slot");
    if (e.npc.party == 0) return bad("an NPC of no party");
    party = e.npc.party;
  }
  auto it = slots_.find({zone.id, place->slot});
  if (it == slots_.end()) return bad("the slot was never given to a party");
  const Slot& s = it->second;
  if (s.party == party) return {};
  const bool torn_down_lately = s.closed_ns >= 0 && s.last_party == party && (!strict_ || now <= s.closed_ns + kTeardownSlackNs);
  if (torn_down_lately) return {};  // its revoke is on its way
  if (s.party == 0) return bad(fmt::format("written {} ms after the slot was torn down: a slot torn down has no records left", (now - s.closed_ns) / 1'000'000));
  return bad(fmt::format("of party {}, in the slot of party {}: two parties in one slot", party, s.party));
}

}  // namespace aether::app
