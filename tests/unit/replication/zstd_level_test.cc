// The zstd level Pier picks for a link: the highest whose output keeps
// three times ahead of it, from measurements when there are some.
#include "replication/zstd_level.h"

#include <gtest/gtest.h>

#include "replication/progress_store.h"
#include "tests/unit/cache/test_util.h"

namespace pier::replication {
namespace {

TEST(ZstdLevel, TheHighestLevelThreeTimesAheadOfTheLink) {
  auto none = [](int) { return std::optional<double>(); };
  EXPECT_EQ(ChooseZstdLevel(std::nullopt, none), kDefaultZstdLevel) << "no history: the fast default";
  EXPECT_EQ(ChooseZstdLevel(1e6, none), 12) << "1 MB/s: 12 makes 7.5 MB/s";
  EXPECT_EQ(ChooseZstdLevel(0.5e6, none), 15) << "0.5 MB/s: 15 makes 2.2 MB/s";
  EXPECT_EQ(ChooseZstdLevel(0.3e6, none), 17);
  EXPECT_EQ(ChooseZstdLevel(0.1e6, none), 19);
  EXPECT_EQ(ChooseZstdLevel(100e6, none), 1) << "a LAN: the fastest";
  EXPECT_EQ(ChooseZstdLevel(0, none), kDefaultZstdLevel);
}

TEST(ZstdLevel, MeasuredRatesOverrideTheTable) {
  // This machine's level 12 turned out slower than the table says.
  auto slow12 = [](int l) { return l == 12 ? std::optional<double>(2e6) : std::nullopt; };
  EXPECT_EQ(ChooseZstdLevel(1e6, slow12), 9);
  auto fast15 = [](int l) { return l == 15 ? std::optional<double>(4e6) : std::nullopt; };
  EXPECT_EQ(ChooseZstdLevel(1e6, fast15), 15);
}

class LinkRateTest : public pier::testing::StoreTest {};

TEST_F(LinkRateTest, HistoryAveragesAndIsForgottenWithTheDestination) {
  auto p = ProgressStore::Open(*store_);
  ASSERT_TRUE(p.ok());
  EXPECT_FALSE((*p)->LinkRate(7).has_value());
  ASSERT_TRUE((*p)->NoteLinkRate(7, 1e6).ok());
  EXPECT_DOUBLE_EQ((*p)->LinkRate(7).value_or(0), 1e6);
  ASSERT_TRUE((*p)->NoteLinkRate(7, 3e6).ok());
  EXPECT_DOUBLE_EQ((*p)->LinkRate(7).value_or(0), 2e6);
  EXPECT_FALSE((*p)->LinkRate(8).has_value());
  ASSERT_TRUE((*p)->NoteLinkRate(7, 0).ok());  // nothing to learn
  EXPECT_DOUBLE_EQ((*p)->LinkRate(7).value_or(0), 2e6);
  ASSERT_TRUE((*p)->ForgetDestination(7).ok());
  EXPECT_FALSE((*p)->LinkRate(7).has_value());
}

}  // namespace
}  // namespace pier::replication
