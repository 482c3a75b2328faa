// EntityJournal (engine/compute/entity_journal.h): the inspected entities' last inputs and intents,
// within its caps.
#include "engine/compute/entity_journal.h"

#include <gtest/gtest.h>

namespace aether {
namespace {

ClientInput input(uint32_t seq) {
  ClientInput in;
  in.seq = seq;
  return in;
}

RemoteIntent intent(uint64_t source, uint64_t target) {
  RemoteIntent i;
  i.source = EntityId(source);
  i.target = EntityId(target);
  return i;
}

TEST(EntityJournal, KeepsNothingForEntitiesNotAskedAbout) {
  EntityJournal j;
  EXPECT_FALSE(j.active());
  j.note_input(EntityId(7), 1, input(1));
  j.note_intent(1, intent(7, 8));
  EXPECT_EQ(j.size(), 0u);
  EXPECT_EQ(j.find(EntityId(7)), nullptr);
}

TEST(EntityJournal, KeepsTheNewestInputsAndIntentsOfAWatchedEntity) {
  EntityJournal j;
  j.watch(EntityId(7), 10);
  for (uint32_t s = 1; s <= kJournalInputsMax + 3; ++s) j.note_input(EntityId(7), 10 + s, input(s));
  for (uint32_t s = 0; s < kJournalIntentsMax + 2; ++s) j.note_intent(20 + s, s % 2 ? intent(7, 9) : intent(9, 7));  // as source and as target
  j.note_input(EntityId(8), 12, input(99));  // not watched
  const EntityJournal::Record* r = j.find(EntityId(7));
  ASSERT_NE(r, nullptr);
  ASSERT_EQ(r->inputs.size(), kJournalInputsMax);
  EXPECT_EQ(r->inputs.front().input.seq, 4u);  // the three oldest went
  EXPECT_EQ(r->inputs.back().input.seq, kJournalInputsMax + 3);
  EXPECT_EQ(r->inputs.back().tick, 10 + kJournalInputsMax + 3);
  ASSERT_EQ(r->intents.size(), kJournalIntentsMax);
  EXPECT_EQ(r->intents.front().tick, 22u);
  EXPECT_EQ(j.find(EntityId(8)), nullptr);
}

TEST(EntityJournal, WatchesAtMostItsCapEvictingTheOneAskedAboutLeastRecently) {
  EntityJournal j;
  for (uint64_t e = 1; e <= kJournalEntitiesMax; ++e) j.watch(EntityId(e), e);
  j.watch(EntityId(1), 100);  // asked again: now the most recent
  j.watch(EntityId(1000), 101);
  EXPECT_EQ(j.size(), kJournalEntitiesMax);
  EXPECT_NE(j.find(EntityId(1)), nullptr);
  EXPECT_EQ(j.find(EntityId(2)), nullptr);  // asked about least recently
  EXPECT_NE(j.find(EntityId(1000)), nullptr);
}

TEST(EntityJournal, ForgetsAnEntityNotAskedAboutForTheWatchTime) {
  EntityJournal j;
  j.watch(EntityId(7), 10);
  j.watch(EntityId(8), 50);
  j.expire(10 + kJournalWatchTicks - 1);
  EXPECT_EQ(j.size(), 2u);
  j.expire(10 + kJournalWatchTicks);
  EXPECT_EQ(j.find(EntityId(7)), nullptr);
  EXPECT_NE(j.find(EntityId(8)), nullptr);
  j.expire(50 + kJournalWatchTicks);
  EXPECT_FALSE(j.active());
}

}  // namespace
}  // namespace aether
