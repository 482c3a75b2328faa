#include "engine/wire/state_codec.h"

namespace aether {

void put_state(ByteWriter& w, const EntityState& s, uint32_t fields) {
  if (s.kind != kEntityKindNpc) fields &= ~kFieldNpc;  // only NPCs have the component: others' bytes are as before it
  if (s.inventory.empty()) fields &= ~kFieldInventory;  // an empty bag is no bytes: states without loot are as before it
  if (s.kind != kEntityKindEncounter) fields &= ~kFieldEncounter;  // likewise, only encounters have theirs
  if (s.kind != kEntityKindNpc || s.npc.party == 0) fields &= ~kFieldInstance;  // only instances' NPCs: other NPCs' bytes are as before it
  if (!s.character.valid()) fields &= ~kFieldCharacter;  // only characters' avatars: anonymous states are as before it
  w.varint(s.id.value);
  w.varint(s.generation);
  w.varint(s.version);
  w.varint(fields);
  if (fields & kFieldKind) w.varint(s.kind);
  if (fields & kFieldPos) {
    w.zigzag(s.pos.x_mm);
    w.zigzag(s.pos.y_mm);
  }
  if (fields & kFieldMotion) {
    w.zigzag(s.move_x);
    w.zigzag(s.move_y);
  }
  if (fields & kFieldHealth) w.zigzag(s.hp);
  if (fields & kFieldTeam) w.varint(s.team);
  if (fields & kFieldFlags) w.varint(s.flags);
  if (fields & kFieldTarget) w.varint(s.target.value);
  if (fields & kFieldCooldown) {
    w.varint(s.cooldown_ticks);
    w.varint(s.cooldowns.size());
    for (const SkillCooldown& c : s.cooldowns) {
      w.varint(c.skill);
      w.varint(c.ticks_left);
    }
  }
  if (fields & kFieldInputSeq) w.varint(s.last_input_seq);
  if (fields & kFieldClass) {
    w.varint(s.class_id);
    w.varint(s.level);
  }
  if (fields & kFieldResource) w.zigzag(s.resource);
  if (fields & kFieldCast) {
    w.varint(s.cast.skill);
    if (s.cast.skill != 0) {
      w.varint(s.cast.target.value);
      w.varint(s.cast.ticks_left);
    }
  }
  if (fields & kFieldEffects) {
    w.varint(s.effects.size());
    for (const EffectInstance& e : s.effects) {
      w.varint(e.effect);
      w.varint(e.source.value);
      w.varint(e.ticks_left);
      w.varint(e.stacks);
      w.zigzag(e.magnitude);
    }
  }
  if (fields & kFieldIntentMarks) {
    w.varint(s.intent_marks.size());
    for (const IntentMark& m : s.intent_marks) {
      w.varint(m.origin.value);
      w.varint(m.incarnation);
      w.varint(m.tick);
      w.varint(m.seq);
    }
  }
  if (fields & kFieldExperience) w.varint(static_cast<uint32_t>(s.experience));
  if (fields & kFieldAttackers) {
    w.varint(s.attackers.size());
    for (const Attacker& a : s.attackers) {
      w.varint(a.entity.value);
      w.varint(a.ticks_left);
    }
  }
  if (fields & kFieldNpc) {
    w.varint(s.npc.spawner);
    w.varint(static_cast<uint32_t>(s.npc.ai));
    w.zigzag(s.npc.home.x_mm);
    w.zigzag(s.npc.home.y_mm);
    w.varint(s.npc.respawn_ticks_left);
    w.varint(s.npc.threat.size());
    for (const ThreatEntry& t : s.npc.threat) {
      w.varint(t.entity.value);
      w.varint(static_cast<uint32_t>(t.threat));
    }
  }
  if (fields & kFieldInventory) {
    w.varint(s.inventory.size());
    for (const LootItem& i : s.inventory) put_loot_item(w, i);
  }
  if (fields & kFieldEncounter) {
    const EncounterState& e = s.encounter;
    w.varint(e.round);
    w.varint(e.turn);
    w.varint(e.actor);
    w.varint(e.turn_ticks_left);
    w.varint(e.turn_ticks);
    w.varint(e.rounds_max);
    w.varint(e.ended ? 1 : 0);
    w.varint(e.seats.size());
    for (const EncounterSeat& seat : e.seats) {
      w.varint(seat.entity.value);
      w.varint(seat.team);
      w.varint(seat.initiative);
    }
  }
  if (fields & kFieldInstance) w.varint(s.npc.party);
  if (fields & kFieldCharacter) {
    w.varint(s.character.value);
    w.varint(s.save_life);
  }
}

void put_loot_item(ByteWriter& w, const LootItem& i) {
  w.varint(i.kind);
  w.varint(i.victim.value);
  w.varint(i.key.origin.value);
  w.varint(i.key.incarnation);
  w.varint(i.key.tick);
  w.varint(i.key.seq);
}

LootItem get_loot_item(ByteReader& r) {
  LootItem i;
  i.kind = static_cast<uint16_t>(r.varint_at_most(UINT16_MAX, "item kind out of range"));
  i.victim = EntityId(r.varint());
  i.key.origin = NodeId(static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "item origin out of range")));
  i.key.incarnation = r.varint();
  i.key.tick = r.varint();
  i.key.seq = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "item sequence out of range"));
  if (r.ok() && (i.kind == 0 || !i.victim.valid())) r.fail("item without its kind or victim");
  return i;
}

std::vector<uint8_t> encode_character_save(const CharacterSave& s) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  w.u8(kCharacterSaveFormat);
  w.varint(s.character.value);
  w.varint(s.life);
  w.varint(s.entity.value);
  w.varint(s.loaded ? 1 : 0);
  w.varint(s.class_id);
  w.varint(s.level);
  w.varint(static_cast<uint32_t>(s.experience));
  w.zigzag(s.pos.x_mm);
  w.zigzag(s.pos.y_mm);
  w.varint(s.inventory.size());
  for (const LootItem& i : s.inventory) put_loot_item(w, i);
  return out;
}

bool decode_character_save(std::span<const uint8_t> bytes, CharacterSave& out, const char** error) {
  out = CharacterSave{};
  ByteReader r(bytes);
  if (r.u8() != kCharacterSaveFormat) r.fail("not a character save (format byte)");
  out.character = CharacterId(r.varint());
  out.life = static_cast<uint32_t>(r.varint_at_most(kSaveLifeMax, "save life out of range"));
  out.entity = EntityId(r.varint());
  out.loaded = r.varint_at_most(1, "save loaded flag out of range") != 0;
  out.class_id = static_cast<uint16_t>(r.varint_at_most(UINT16_MAX, "save class out of range"));
  out.level = static_cast<uint16_t>(r.varint_at_most(UINT16_MAX, "save level out of range"));
  out.experience = static_cast<int32_t>(r.varint_at_most(kExperienceStateMax, "save experience out of range"));
  const int64_t x = r.zigzag();
  const int64_t y = r.zigzag();
  if (x < INT32_MIN || x > INT32_MAX || y < INT32_MIN || y > INT32_MAX) r.fail("save position out of range");
  out.pos = Vec2{static_cast<int32_t>(x), static_cast<int32_t>(y)};
  const uint64_t n = r.varint_at_most(kInventoryItemsMax, "save with too many items");
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    const LootItem item = get_loot_item(r);
    for (const LootItem& held : out.inventory) {
      if (r.ok() && held.same_item(item)) r.fail("save holding one item twice");
    }
    out.inventory.push_back(item);
  }
  if (r.ok() && !out.character.valid()) r.fail("save of character 0");
  if (r.ok() && out.level == 0) r.fail("save at level 0");
  if (r.ok() && r.remaining() != 0) r.fail("trailing bytes after a character save");
  if (!r.ok()) {
    if (error) *error = r.error();
    return false;
  }
  return true;
}

namespace {
// get_state into a state that is already default (absent fields stay at their defaults).
bool get_fresh_state(ByteReader& r, EntityState& s, uint32_t* fields_out);
}  // namespace

bool get_state(ByteReader& r, EntityState& s, uint32_t* fields_out) {
  s = EntityState{};
  return get_fresh_state(r, s, fields_out);
}

namespace {
bool get_fresh_state(ByteReader& r, EntityState& s, uint32_t* fields_out) {
  s.id = EntityId(r.varint());
  s.generation = r.varint();
  s.version = r.varint();
  const auto fields = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "state with unknown fields"));
  if ((fields & ~kFieldsAll) != 0) r.fail("state with unknown fields");
  auto coordinate = [&r]() {
    const int64_t v = r.zigzag();
    if (v < -kCoordinateMmMax || v > kCoordinateMmMax) r.fail("state coordinate out of range");
    return static_cast<int32_t>(v);
  };
  auto permille = [&r]() {
    const int64_t v = r.zigzag();
    if (v < -kMovePermilleMax || v > kMovePermilleMax) r.fail("state motion out of range");
    return static_cast<int32_t>(v);
  };
  if (fields & kFieldKind) s.kind = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "state kind out of range"));
  if (fields & kFieldPos) {
    s.pos.x_mm = coordinate();
    s.pos.y_mm = coordinate();
  }
  if (fields & kFieldMotion) {
    s.move_x = permille();
    s.move_y = permille();
  }
  if (fields & kFieldHealth) {
    const int64_t hp = r.zigzag();
    if (hp < -kHealthAbsMax || hp > kHealthAbsMax) r.fail("state health out of range");
    s.hp = static_cast<int32_t>(hp);
  }
  if (fields & kFieldTeam) s.team = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "state team out of range"));
  if (fields & kFieldFlags) s.flags = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "state flags out of range"));
  if (fields & kFieldTarget) s.target = EntityId(r.varint());
  auto ticks = [&r]() { return static_cast<uint32_t>(r.varint_at_most(kDurationTicksMax, "state duration out of range")); };
  auto skill = [&r]() { return static_cast<uint16_t>(r.varint_at_most(kSkillIdMax, "state skill out of range")); };
  if (fields & kFieldCooldown) {
    s.cooldown_ticks = ticks();
    const uint64_t n = r.varint_at_most(kCooldownsPerEntityMax, "state with too many cooldowns");
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      SkillCooldown c;
      c.skill = skill();
      c.ticks_left = ticks();
      s.cooldowns.push_back(c);
    }
  }
  if (fields & kFieldInputSeq) s.last_input_seq = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "state input sequence out of range"));
  if (fields & kFieldClass) {
    s.class_id = static_cast<uint16_t>(r.varint_at_most(UINT16_MAX, "state class out of range"));
    s.level = static_cast<uint16_t>(r.varint_at_most(UINT16_MAX, "state level out of range"));
  }
  if (fields & kFieldResource) {
    const int64_t v = r.zigzag();
    if (v < -kHealthAbsMax || v > kHealthAbsMax) r.fail("state resource out of range");
    s.resource = static_cast<int32_t>(v);
  }
  if (fields & kFieldCast) {
    s.cast.skill = skill();
    if (s.cast.skill != 0) {
      s.cast.target = EntityId(r.varint());
      s.cast.ticks_left = ticks();
    }
  }
  if (fields & kFieldEffects) {
    const uint64_t n = r.varint_at_most(kEffectsPerEntityMax, "state with too many effects");
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      EffectInstance e;
      e.effect = skill();
      e.source = EntityId(r.varint());
      e.ticks_left = ticks();
      e.stacks = static_cast<uint8_t>(r.varint_at_most(UINT8_MAX, "state effect stacks out of range"));
      const int64_t m = r.zigzag();
      if (m < -kIntentAmountMax || m > kIntentAmountMax) r.fail("state effect magnitude out of range");
      e.magnitude = static_cast<int32_t>(m);
      s.effects.push_back(e);
    }
  }
  if (fields & kFieldIntentMarks) {
    const uint64_t n = r.varint_at_most(kIntentMarksMax, "state with too many intent marks");
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      IntentMark m;
      m.origin = NodeId(static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "intent mark origin out of range")));
      m.incarnation = r.varint();
      m.tick = r.varint();
      m.seq = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "intent mark sequence out of range"));
      s.intent_marks.push_back(m);
    }
  }
  if (fields & kFieldExperience) s.experience = static_cast<int32_t>(r.varint_at_most(kExperienceStateMax, "state experience out of range"));
  if (fields & kFieldAttackers) {
    const uint64_t n = r.varint_at_most(kAttackersMax, "state with too many attackers");
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      Attacker a;
      a.entity = EntityId(r.varint());
      a.ticks_left = ticks();
      s.attackers.push_back(a);
    }
  }
  if (fields & kFieldNpc) {
    // Canonical: put_state writes the component for an NPC's state only (with its kind), so bytes
    // that carry it for anything else are no encoding of ours.
    if (s.kind != kEntityKindNpc) r.fail("state with an NPC component but not an NPC's kind");
    s.npc.spawner = static_cast<uint16_t>(r.varint_at_most(UINT16_MAX, "state spawner out of range"));
    s.npc.ai = static_cast<AiState>(r.varint_at_most(kAiStateMax, "state AI state out of range"));
    s.npc.home.x_mm = coordinate();
    s.npc.home.y_mm = coordinate();
    s.npc.respawn_ticks_left = ticks();
    const uint64_t n = r.varint_at_most(kThreatEntriesMax, "state with too many threat entries");
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      ThreatEntry t;
      t.entity = EntityId(r.varint());
      t.threat = static_cast<int32_t>(r.varint_at_most(kThreatMax, "state threat out of range"));
      s.npc.threat.push_back(t);
    }
  }
  if (fields & kFieldInventory) {
    // Canonical: put_state leaves an empty inventory out, and an item is held once.
    const uint64_t n = r.varint_at_most(kInventoryItemsMax, "state with too many items");
    if (r.ok() && n == 0) r.fail("state with an empty inventory component");
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      const LootItem item = get_loot_item(r);
      for (const LootItem& held : s.inventory) {
        if (r.ok() && held.same_item(item)) r.fail("state holding one item twice");
      }
      s.inventory.push_back(item);
    }
  }
  if (fields & kFieldEncounter) {
    // Canonical as the NPC component is: only an encounter's state carries it.
    if (s.kind != kEntityKindEncounter) r.fail("state with an encounter component but not an encounter's kind");
    EncounterState& e = s.encounter;
    e.round = static_cast<uint32_t>(r.varint_at_most(kEncounterRoundsMax + 1, "state encounter round out of range"));
    e.turn = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "state encounter turn out of range"));
    e.actor = static_cast<uint32_t>(r.varint_at_most(kEncounterSeatsMax - 1, "state encounter actor out of range"));
    e.turn_ticks_left = ticks();
    e.turn_ticks = ticks();
    e.rounds_max = static_cast<uint32_t>(r.varint_at_most(kEncounterRoundsMax, "state encounter rounds out of range"));
    e.ended = r.varint_at_most(1, "state encounter ended flag out of range") != 0;
    const uint64_t n = r.varint_at_most(kEncounterSeatsMax, "state with too many encounter seats");
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      EncounterSeat seat;
      seat.entity = EntityId(r.varint());
      seat.team = static_cast<uint32_t>(r.varint_at_most(UINT32_MAX, "state seat team out of range"));
      seat.initiative = static_cast<uint32_t>(r.varint_at_most(kEncounterInitiativeMax, "state seat initiative out of range"));
      e.seats.push_back(seat);
    }
    if (r.ok() && e.turn_ticks == 0) r.fail("state encounter without a turn timer");
  }
  if (fields & kFieldInstance) {
    // Canonical: written for an instance's NPC only (an NPC's kind, a party not 0).
    if (s.kind != kEntityKindNpc) r.fail("state with an instance party but not an NPC's kind");
    s.npc.party = r.varint();
    if (r.ok() && s.npc.party == 0) r.fail("state with an instance party of 0");
  }
  if (fields & kFieldCharacter) {
    // Canonical: written only for a character (id not 0), whose avatar lives 1 or more.
    s.character = CharacterId(r.varint());
    s.save_life = static_cast<uint32_t>(r.varint_at_most(kSaveLifeMax, "state save life out of range"));
    if (r.ok() && (!s.character.valid() || s.save_life == 0)) r.fail("state with a character component but no character or life");
  }
  if (r.ok() && !s.id.valid()) r.fail("state of entity 0");
  if (fields_out) *fields_out = fields;
  return r.ok();
}
}  // namespace

std::vector<uint8_t> pack_states(std::span<const EntityState> states, uint32_t fields) {
  std::vector<uint8_t> out;
  out.reserve(states.size() * 24 + 4);
  ByteWriter w(out);
  w.varint(states.size());
  for (const EntityState& s : states) put_state(w, s, fields);
  return out;
}

bool unpack_states(std::span<const uint8_t> bytes, size_t max, std::vector<EntityState>& out, const char** error) {
  out.clear();
  if (bytes.empty()) return true;
  ByteReader r(bytes);
  const uint64_t n = r.varint_at_most(max, "too many states");
  out.reserve(r.ok() ? n : 0);
  for (uint64_t i = 0; i < n && r.ok(); ++i) {
    // Decoded in place into a new (default) state: a state is large (its components are inline), so
    // it is neither copied nor reset twice.
    if (!get_fresh_state(r, out.emplace_back(), nullptr)) out.pop_back();
  }
  if (r.ok() && !r.at_end()) r.fail("bytes after the last state");
  if (!r.ok()) *error = r.error();
  return r.ok();
}

std::vector<uint8_t> pack_state(const EntityState& s, uint32_t fields) {
  std::vector<uint8_t> out;
  ByteWriter w(out);
  put_state(w, s, fields);
  return out;
}

bool unpack_state(std::span<const uint8_t> bytes, EntityState& out, const char** error) {
  ByteReader r(bytes);
  get_state(r, out);
  if (r.ok() && !r.at_end()) r.fail("bytes after the state");
  if (!r.ok()) *error = r.error();
  return r.ok();
}

}  // namespace aether
