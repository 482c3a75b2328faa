#include "engine/wire/messages.h"

#include "engine/core/hash.h"

namespace aether {

int64_t intent_key_hash(const IntentKey& k) {
  Hasher64 h;
  h.add_u64(k.origin.value);
  h.add_u64(k.incarnation);
  h.add_u64(k.tick);
  h.add_u64(k.seq);
  return static_cast<int64_t>(h.digest() >> 1);
}

const char* intent_action_name(const IntentAction& a) {
  static constexpr const char* kNames[] = {"damage", "heal", "apply_effect", "interrupt", "dispel", "experience", "loot", "encounter_turn"};
  static_assert(std::variant_size_v<IntentAction> == std::size(kNames));
  return kNames[a.index()];
}

int64_t intent_action_value(const IntentAction& a) {
  return std::visit(
      [](const auto& x) -> int64_t {
        using A = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<A, intent::Damage> || std::is_same_v<A, intent::Heal> || std::is_same_v<A, intent::Experience>) return x.amount;
        else if constexpr (std::is_same_v<A, intent::ApplyEffect>) return x.effect;
        else if constexpr (std::is_same_v<A, intent::Dispel>) return x.count;
        else if constexpr (std::is_same_v<A, intent::Loot>) return x.item;
        else if constexpr (std::is_same_v<A, intent::EncounterTurn>) return x.turn;
        else return 0;
      },
      a);
}

}  // namespace aether
