// The canonical entity-state encoding (engine/wire/state_codec.h): one state (unpack_state) or a
// list (unpack_states), as feeds, snapshots, handoffs and replication carry them.
//
// Input: byte 0 picks one state or a list (and the list's limit), the rest is the encoding.
// Whatever decodes must be the one encoding of its value: re-encoded with the fields it had, it gives
// back the input byte for byte; and re-encoded whole (kFieldsAll), it decodes to the same value.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "engine/wire/state_codec.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using namespace aether;

void check_one(std::span<const uint8_t> bytes) {
  EntityState s;
  const char* error = nullptr;
  const bool ok = unpack_state(bytes, s, &error);
  // The same bytes through the reader, to learn which fields they carried.
  ByteReader r(bytes);
  EntityState again;
  uint32_t fields = 0;
  const bool ok_again = get_state(r, again, &fields) && r.at_end();
  FUZZ_CHECK(ok == ok_again, "unpack_state and get_state disagree");
  if (!ok) {
    FUZZ_CHECK(error != nullptr && *error != '\0', "a rejection without a reason");
    return;
  }
  FUZZ_CHECK(s == again, "two decodes of one state differ");
  const std::vector<uint8_t> same = pack_state(s, fields);
  FUZZ_CHECK(std::span<const uint8_t>(same).size() == bytes.size() && std::equal(same.begin(), same.end(), bytes.begin()),
             "the state re-encodes to other bytes (%zu, was %zu): not canonical", same.size(), bytes.size());
  // Packed whole, a state decoded from part of its fields carries the defaults of the others. An
  // encounter's default component (no turn timer) is no encounter, and no sender packs one: the
  // whole round trip holds for an encounter's state only when the bytes carried its component.
  if (s.kind == kEntityKindEncounter && (fields & kFieldEncounter) == 0) return;
  EntityState whole;
  FUZZ_CHECK(unpack_state(pack_state(s), whole, &error), "a decoded state does not re-decode: %s", error);
  FUZZ_CHECK(whole == s, "a decoded state changes through a round trip");
}

void check_list(std::span<const uint8_t> bytes, size_t max) {
  std::vector<EntityState> states;
  const char* error = nullptr;
  const bool ok = unpack_states(bytes, max, states, &error);
  if (!ok) {
    FUZZ_CHECK(error != nullptr && *error != '\0', "a rejection without a reason");
    return;
  }
  FUZZ_CHECK(states.size() <= max, "%zu states past the limit %zu", states.size(), max);
  if (bytes.empty()) {
    FUZZ_CHECK(states.empty(), "states from no bytes");
    return;
  }
  // Canonical: the count, then each state with the fields it carried, is the input.
  ByteReader r(bytes);
  std::vector<uint8_t> same;
  ByteWriter w(same);
  const uint64_t n = r.varint();
  w.varint(n);
  FUZZ_CHECK(n == states.size(), "count %llu, %zu states", static_cast<unsigned long long>(n), states.size());
  bool partial_encounter = false;  // see check_one: then no whole round trip
  for (const EntityState& s : states) {
    EntityState again;
    uint32_t fields = 0;
    FUZZ_CHECK(get_state(r, again, &fields), "a state of an accepted list does not decode alone");
    FUZZ_CHECK(again == s, "two decodes of one state differ");
    put_state(w, s, fields);
    partial_encounter = partial_encounter || (s.kind == kEntityKindEncounter && (fields & kFieldEncounter) == 0);
  }
  FUZZ_CHECK(same.size() == bytes.size() && std::equal(same.begin(), same.end(), bytes.begin()),
             "the list re-encodes to other bytes (%zu, was %zu): not canonical", same.size(), bytes.size());
  if (partial_encounter) return;
  std::vector<EntityState> whole;
  FUZZ_CHECK(unpack_states(pack_states(states), max, whole, &error), "a decoded list does not re-decode: %s", error);
  FUZZ_CHECK(whole == states, "a decoded list changes through a round trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const std::span<const uint8_t> bytes(data + 1, size - 1);
  if (data[0] & 1) {
    check_list(bytes, data[0] >> 1 == 127 ? kBatchEntitiesMax : data[0] >> 1);
  } else {
    check_one(bytes);
  }
  return 0;
}
