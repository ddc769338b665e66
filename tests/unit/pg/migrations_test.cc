// Migrations: once each under concurrent starters, idempotent, refusing a
// newer or a diverging database.
#include "cache/pg/migrations.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "tests/unit/pg/pg_fixture.h"

namespace pier::pg {
namespace {

class PgMigrationsTest : public PgTest {
 protected:
  bool migrate() const override { return false; }

  // The library's schema plus a step that counts how often it ran: a
  // migration applied twice shows as a count of 2 (or as an error, since
  // the CREATE TABLEs are not IF NOT EXISTS).
  std::vector<Migration> Counted() {
    std::vector<Migration> list = PierMigrations();
    int v = list.back().version;
    list.push_back({v + 1, "runs", "CREATE TABLE runs (n int NOT NULL); INSERT INTO runs VALUES (1)"});
    list.push_back({v + 2, "runs again", "INSERT INTO runs VALUES (2)"});
    return list;
  }
};

TEST_F(PgMigrationsTest, FreshDatabaseIsVersionZero) {
  auto v = SchemaVersion(*pool_);
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, 0);
}

TEST_F(PgMigrationsTest, FourConcurrentStartersApplyEachOnce) {
  const auto list = Counted();
  std::vector<std::unique_ptr<Pool>> pools;
  for (int i = 0; i < 4; ++i) pools.push_back(MakePool(2));
  std::vector<Result<int>> results(4, Status::Internal("not run"));
  std::atomic<bool> go{false};
  std::vector<std::thread> ts;
  for (int i = 0; i < 4; ++i) {
    ts.emplace_back([&, i] {
      while (!go.load()) std::this_thread::yield();
      results[i] = Migrate(*pools[i], list);
    });
  }
  go = true;
  for (auto& t : ts) t.join();
  for (int i = 0; i < 4; ++i) {
    ASSERT_TRUE(results[i].ok()) << i << ": " << results[i].status().ToString();
    EXPECT_EQ(*results[i], list.back().version);
  }
  auto h = pool_->Acquire();
  ASSERT_TRUE(h.ok());
  auto runs = (*h)->Exec("SELECT count(*)::int8, sum(n)::int8 FROM runs");
  ASSERT_TRUE(runs.ok()) << runs.status().ToString();
  EXPECT_EQ(runs->Int(0, 0), 2);
  EXPECT_EQ(runs->Int(0, 1), 3);
  auto recorded = (*h)->Exec("SELECT version::int8, name, applied_at IS NOT NULL FROM pier_schema_migrations ORDER BY 1");
  ASSERT_TRUE(recorded.ok());
  ASSERT_EQ(recorded->rows(), static_cast<int>(list.size()));
  for (int i = 0; i < recorded->rows(); ++i) {
    EXPECT_EQ(recorded->Int(i, 0), list[i].version);
    EXPECT_EQ(recorded->Value(i, 1), list[i].name);
    EXPECT_EQ(recorded->Int(i, 2), 1);
  }

  // Idempotent: again, nothing runs.
  auto again = Migrate(*pool_, list);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  auto runs2 = (*h)->Exec("SELECT count(*)::int8 FROM runs");
  ASSERT_TRUE(runs2.ok());
  EXPECT_EQ(runs2->Int(0, 0), 2);
}

TEST_F(PgMigrationsTest, OlderBinaryAppliesTheRestLater) {
  auto list = Counted();
  std::vector<Migration> first(list.begin(), list.end() - 1);
  auto v1 = Migrate(*pool_, first);
  ASSERT_TRUE(v1.ok()) << v1.status().ToString();
  EXPECT_EQ(*v1, first.back().version);
  auto v2 = Migrate(*pool_, list);
  ASSERT_TRUE(v2.ok()) << v2.status().ToString();
  EXPECT_EQ(*v2, list.back().version);
}

TEST_F(PgMigrationsTest, RefusesADatabaseNewerThanTheBinary) {
  auto list = Counted();
  ASSERT_TRUE(Migrate(*pool_, list).ok());
  // This binary knows only the library's migrations: the database is ahead.
  auto older = Migrate(*pool_, PierMigrations());
  ASSERT_FALSE(older.ok());
  EXPECT_EQ(older.status().code(), Code::kFailedPrecondition);
  const std::string m = older.status().message();
  EXPECT_NE(m.find("version " + std::to_string(list.back().version)), std::string::npos) << m;
  EXPECT_NE(m.find("up to " + std::to_string(PierMigrations().back().version)), std::string::npos) << m;
}

TEST_F(PgMigrationsTest, RefusesADivergingHistoryAndBadLists) {
  ASSERT_TRUE(Migrate(*pool_, PierMigrations()).ok());
  auto list = PierMigrations();
  list[0].name = "something else";
  auto r = Migrate(*pool_, list);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kFailedPrecondition);
  EXPECT_NE(r.status().message().find("something else"), std::string::npos);

  std::vector<Migration> unordered = {{2, "b", "SELECT 1"}, {1, "a", "SELECT 1"}};
  EXPECT_EQ(Migrate(*pool_, unordered).status().code(), Code::kInvalidArgument);
}

TEST_F(PgMigrationsTest, AFailingMigrationLeavesItsVersionUnapplied) {
  auto list = PierMigrations();
  int v = list.back().version;
  list.push_back({v + 1, "half", "CREATE TABLE half (n int); INSERT INTO half VALUES ('not a number')"});
  auto r = Migrate(*pool_, list);
  ASSERT_FALSE(r.ok());
  auto now = SchemaVersion(*pool_);
  ASSERT_TRUE(now.ok());
  EXPECT_EQ(*now, v);  // the steps before it stay
  auto h = pool_->Acquire();
  ASSERT_TRUE(h.ok());
  auto t = (*h)->Exec("SELECT to_regclass('half') IS NULL");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->Int(0, 0), 1);  // its CREATE TABLE went with it
}

}  // namespace
}  // namespace pier::pg
