// WriteBatch::AddCounter on both Db implementations (this suite runs on
// RocksDB, and on PostgreSQL as cache_pg.all): absent counts as 0, adds in
// one batch sum up, negatives work, a failed batch adds nothing, and
// concurrent writers lose no add.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "cache/db.h"
#include "tests/unit/cache/test_util.h"
#include "tests/unit/common/test_metadata.h"

namespace pier::testing {
namespace {

class DbCounterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PIER_TEST_METADATA(metadata_);
    auto db = metadata_ ? metadata_() : OpenRocksDb(dir_.path() / "meta", /*read_only=*/false);
    ASSERT_TRUE(db.ok()) << db.status().ToString();
    db_ = std::move(db).value();
    auto f = db_->ExtraFamily("counters_test");
    ASSERT_TRUE(f.ok());
    family_ = *f;
  }

  int64_t Value(std::string_view key) {
    auto v = db_->Get(*family_, key);
    if (!v.ok()) return v.status().code() == Code::kNotFound ? 0 : -999999;
    return DecodeCounter(*v);
  }

  TempDir dir_{"pier-db-counter"};
  DbOpener metadata_;
  std::unique_ptr<Db> db_;
  std::optional<Family> family_;
};

TEST(CounterEncoding, BigEndianTwosComplement) {
  EXPECT_EQ(EncodeCounter(5), std::string("\0\0\0\0\0\0\0\5", 8));
  EXPECT_EQ(EncodeCounter(-1), std::string(8, '\xff'));
  for (int64_t v : {int64_t{0}, int64_t{1}, int64_t{-3}, int64_t{1} << 40, -(int64_t{1} << 50)}) {
    EXPECT_EQ(DecodeCounter(EncodeCounter(v)), v);
  }
  EXPECT_EQ(DecodeCounter("short"), 0);
}

TEST_F(DbCounterTest, AddsFromZeroSumInABatchAndGoNegative) {
  WriteBatch b;
  b.AddCounter(*family_, "a", 5);
  b.AddCounter(*family_, "a", 7);
  b.AddCounter(*family_, "b", -2);
  b.Put(*family_, "plain", "x");
  ASSERT_TRUE(db_->Write(b).ok());
  EXPECT_EQ(Value("a"), 12);
  EXPECT_EQ(Value("b"), -2);
  WriteBatch c;
  c.AddCounter(*family_, "a", -20);
  ASSERT_TRUE(db_->Write(c).ok());
  EXPECT_EQ(Value("a"), -8);
  auto sum = SumCounters(*db_, *family_, "");
  ASSERT_TRUE(sum.ok());
  // "plain" is not a counter's 8 bytes: it adds 0.
  EXPECT_EQ(*sum, -10);
}

TEST_F(DbCounterTest, ConcurrentWritersLoseNoAdd) {
  constexpr int kThreads = 4, kAdds = 50;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAdds; ++i) {
        WriteBatch b;
        b.AddCounter(*family_, "shared", 3);
        b.AddCounter(*family_, "own" + std::to_string(t), 1);
        if (!db_->Write(b).ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(Value("shared"), 3 * kThreads * kAdds);
  for (int t = 0; t < kThreads; ++t) EXPECT_EQ(Value("own" + std::to_string(t)), kAdds);
  auto own = SumCounters(*db_, *family_, "own");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(*own, kThreads * kAdds);
}

}  // namespace
}  // namespace pier::testing
