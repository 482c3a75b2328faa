#pragma once
// Known bugs that can be planted on purpose, to show that the simulator's checker catches each one
// (tests/unit/planted_bug_test.cc). Off (kNone) everywhere except in those tests and in scenarios
// that name one (Scenario.planted_bug); a production config has no way to set it.

#include <cstdint>
#include <string_view>

namespace aether {

enum class PlantedBug : uint8_t {
  kNone = 0,
  kWriteAfterLease,      // compute: keeps ticking its entities after its lease lapsed
  kGrantBeforeRelease,   // coordinator: grants the destination first, releases the owner 250 ms later
  kAcceptStaleEpoch,     // compute: applies coordinator orders of an older epoch
  kLoseEntity,           // compute: drops an entity that migrates in, telling no one
  kApplyIntentTwice,     // compute: applies every intent a second time, as a retry without its key would
  kEconomyReleaseOnRestart,  // economy vault: a restarted trade responder releases its escrow without asking the initiator
  kEconomyLootOnHandoffRetry,  // compute: the new owner of a handed-off avatar makes its newest loot again, as a retry without the item's key would
  kEncounterTurnTwice,   // compute: an encounter's turn played does not use up its number, so the next turn repeats it
  kPortalOutsideZone,    // compute: a portal drops its traveller 50 m short of its destination, between zones
  kInstanceTwoParties,   // coordinator: an instance request is given the first slot, whichever party holds it
  kEconomySpawnIgnoresSave,  // compute: a character's avatar spawns with its life but not what its save held (level, items)
  kEconomyLogoutWithoutSave,  // compute: a character's avatar leaves at its log-out without its log-out save
  kEconomySpawnBeforeLogoutSave,  // coordinator: a character's spawn does not wait for its last life's log-out save
};

// "write-after-lease", "grant-before-release", "accept-stale-epoch", "lose-entity",
// "apply-intent-twice", "economy-release-on-restart", "economy-loot-on-handoff-retry",
// "encounter-turn-twice", "portal-outside-zone", "instance-two-parties", "economy-spawn-ignores-save",
// "economy-logout-without-save", "economy-spawn-before-logout-save"; false if unknown.
inline bool parse_planted_bug(std::string_view name, PlantedBug* out) {
  if (name.empty() || name == "none") *out = PlantedBug::kNone;
  else if (name == "write-after-lease") *out = PlantedBug::kWriteAfterLease;
  else if (name == "grant-before-release") *out = PlantedBug::kGrantBeforeRelease;
  else if (name == "accept-stale-epoch") *out = PlantedBug::kAcceptStaleEpoch;
  else if (name == "lose-entity") *out = PlantedBug::kLoseEntity;
  else if (name == "apply-intent-twice") *out = PlantedBug::kApplyIntentTwice;
  else if (name == "economy-release-on-restart") *out = PlantedBug::kEconomyReleaseOnRestart;
  else if (name == "economy-loot-on-handoff-retry") *out = PlantedBug::kEconomyLootOnHandoffRetry;
  else if (name == "encounter-turn-twice") *out = PlantedBug::kEncounterTurnTwice;
  else if (name == "portal-outside-zone") *out = PlantedBug::kPortalOutsideZone;
  else if (name == "instance-two-parties") *out = PlantedBug::kInstanceTwoParties;
  else if (name == "economy-spawn-ignores-save") *out = PlantedBug::kEconomySpawnIgnoresSave;
  else if (name == "economy-logout-without-save") *out = PlantedBug::kEconomyLogoutWithoutSave;
  else if (name == "economy-spawn-before-logout-save") *out = PlantedBug::kEconomySpawnBeforeLogoutSave;
  else return false;
  return true;
}

}  // namespace aether
