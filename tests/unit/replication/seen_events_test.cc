#include "replication/seen_events.h"

#include <gtest/gtest.h>

#include "tests/unit/common/mem_kv.h"

namespace pier::replication {
namespace {

using namespace std::chrono_literals;

class SeenEventsTest : public ::testing::Test {
 protected:
  std::unique_ptr<SeenEvents> Open(SeenEventsOptions o = {}) {
    auto events = SeenEvents::Open(kv_, clock_, o);
    EXPECT_TRUE(events.ok()) << events.status().ToString();
    return events.ok() ? std::move(*events) : nullptr;
  }
  bool New(SeenEvents& events, const std::string& id) {
    auto fresh = events.RecordIfNew("harbor/" + id, "PUSH_ARTIFACT library/app v1");
    EXPECT_TRUE(fresh.ok()) << fresh.status().ToString();
    return fresh.ok() && *fresh;
  }
  size_t Keys(std::string_view prefix) {
    size_t n = 0;
    EXPECT_TRUE(kv_->Scan(prefix, [&](std::string_view, std::string_view) { return ++n, true; }).ok());
    return n;
  }

  FakeClock clock_;
  std::shared_ptr<testing::MemKv> kv_ = std::make_shared<testing::MemKv>();
};

TEST_F(SeenEventsTest, AnEventIsNewOnce) {
  auto events = Open();
  EXPECT_TRUE(New(*events, "e1"));
  EXPECT_FALSE(New(*events, "e1"));
  EXPECT_TRUE(New(*events, "e2"));
  // Remembered across a restart.
  events = Open();
  EXPECT_FALSE(New(*events, "e1"));
  EXPECT_EQ(Keys("harbor/"), 2u);
  EXPECT_EQ(Keys("t/"), 2u);
}

TEST_F(SeenEventsTest, EventsOlderThanMaxAgeAreForgotten) {
  SeenEventsOptions o;
  o.max_age = 24h;
  auto events = Open(o);
  EXPECT_TRUE(New(*events, "old"));
  clock_.Advance(23h);
  EXPECT_TRUE(New(*events, "young"));
  auto pruned = events->Prune();
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 0u);
  clock_.Advance(2h);  // "old" is 25 h old, "young" 2 h
  pruned = events->Prune();
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 1u);
  EXPECT_EQ(Keys("harbor/"), 1u);
  EXPECT_EQ(Keys("t/"), 1u);
  EXPECT_FALSE(New(*events, "young"));
  EXPECT_TRUE(New(*events, "old"));  // forgotten, so new again
}

TEST_F(SeenEventsTest, AtMostMaxEntriesTheOldestGoFirst) {
  SeenEventsOptions o;
  o.max_entries = 3;
  o.prune_every = 1000;
  auto events = Open(o);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(New(*events, "e" + std::to_string(i)));
    clock_.Advance(1s);
  }
  auto pruned = events->Prune();
  ASSERT_TRUE(pruned.ok());
  EXPECT_EQ(*pruned, 2u);
  EXPECT_EQ(Keys("harbor/"), 3u);
  EXPECT_FALSE(New(*events, "e4"));
  EXPECT_FALSE(New(*events, "e2"));
  EXPECT_TRUE(New(*events, "e0"));
}

TEST_F(SeenEventsTest, PrunedOnWriteEveryPruneEvery) {
  SeenEventsOptions o;
  o.max_entries = 2;
  o.prune_every = 4;
  auto events = Open(o);
  for (int i = 0; i < 4; ++i) {
    EXPECT_TRUE(New(*events, "e" + std::to_string(i)));
    clock_.Advance(1s);
  }
  EXPECT_EQ(Keys("harbor/"), 2u);  // the fourth write pruned
  for (int i = 4; i < 7; ++i) EXPECT_TRUE(New(*events, "e" + std::to_string(i)));
  EXPECT_EQ(Keys("harbor/"), 5u);  // not yet
}

TEST_F(SeenEventsTest, EventsFromAnOlderPierAreAdoptedAndAgeOut) {
  // What the intake wrote before the time index: key and a note, no time.
  ASSERT_TRUE(kv_->Write({{"harbor/legacy", "PUSH_ARTIFACT library/app v1"}}).ok());
  SeenEventsOptions o;
  o.max_age = 24h;
  auto events = Open(o);
  EXPECT_EQ(Keys("t/"), 1u);
  EXPECT_FALSE(New(*events, "legacy"));  // still deduplicated after the upgrade
  clock_.Advance(25h);
  ASSERT_TRUE(events->Prune().ok());
  EXPECT_EQ(Keys("harbor/"), 0u);
  EXPECT_EQ(Keys("t/"), 0u);
}

}  // namespace
}  // namespace pier::replication
