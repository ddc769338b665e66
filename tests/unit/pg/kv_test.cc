// PgKv against a real PostgreSQL, checked against std::map (what RocksDB's
// bytewise order and Db::Scan's prefix/after rules amount to).
#include "cache/pg/kv.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <random>
#include <thread>
#include <vector>

#include "tests/unit/pg/pg_fixture.h"

namespace pier::pg {
namespace {

using Model = std::map<std::string, std::string>;

// What Db::Scan promises, on the model.
std::vector<std::pair<std::string, std::string>> ModelScan(const Model& m, const std::string& prefix,
                                                           const std::string& after) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [k, v] : m) {
    if (!k.starts_with(prefix)) continue;
    if (!after.empty() && k <= after) continue;
    out.emplace_back(k, v);
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> KvScan(const PgKv& kv, const std::string& family,
                                                        const std::string& prefix, const std::string& after) {
  std::vector<std::pair<std::string, std::string>> out;
  Status s = kv.Scan(family, prefix, after, [&](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k), std::string(v));
    return true;
  });
  EXPECT_TRUE(s.ok()) << s.ToString();
  return out;
}

class PgKvTest : public PgTest {};

TEST_F(PgKvTest, GetPutDelete) {
  PgKv kv(pool_.get());
  auto missing = kv.Get("f", "k");
  EXPECT_EQ(missing.status().code(), Code::kNotFound);
  ASSERT_TRUE(kv.Write({{"f", "k", "v1"}}).ok());
  EXPECT_EQ(*kv.Get("f", "k"), "v1");
  EXPECT_EQ(kv.Get("g", "k").status().code(), Code::kNotFound);  // families are apart
  ASSERT_TRUE(kv.Write({{"f", "k", "v2"}}).ok());
  EXPECT_EQ(*kv.Get("f", "k"), "v2");
  ASSERT_TRUE(kv.Write({{"f", "k", std::nullopt}}).ok());
  EXPECT_FALSE(*kv.Has("f", "k"));
  ASSERT_TRUE(kv.Write({{"f", "k", std::nullopt}}).ok());  // deleting nothing is fine
  // Empty key and empty value are values like any other.
  ASSERT_TRUE(kv.Write({{"f", "", ""}}).ok());
  EXPECT_EQ(*kv.Get("f", ""), "");
}

TEST_F(PgKvTest, LastOpOnAKeyInABatchWins) {
  PgKv kv(pool_.get());
  ASSERT_TRUE(kv.Write({{"f", "a", "1"}, {"f", "a", "2"}, {"f", "b", "x"}, {"f", "b", std::nullopt}}).ok());
  EXPECT_EQ(*kv.Get("f", "a"), "2");
  EXPECT_FALSE(*kv.Has("f", "b"));
  ASSERT_TRUE(kv.Write({{"f", "a", std::nullopt}, {"f", "a", "3"}}).ok());
  EXPECT_EQ(*kv.Get("f", "a"), "3");
}

TEST_F(PgKvTest, OrderIsBytewiseWithZeroAndFfBytes) {
  PgKv kv(pool_.get());
  const std::vector<std::string> sorted = {
      std::string(""),         std::string("\x00", 1),       std::string("\x00\x00", 2), std::string("\x00\xff", 2),
      std::string("\x01"),     std::string("A"),             std::string("a"),           std::string("a\x00", 2),
      std::string("a\x00b", 3), std::string("a\x7f"),        std::string("a\x80"),       std::string("a\xff"),
      std::string("a\xff\x00", 3), std::string("a\xff\xff"), std::string("b"),           std::string("\xfe"),
      std::string("\xff"),     std::string("\xff\x00", 2),   std::string("\xff\xff"),    std::string("\xff\xff\xff")};
  std::vector<KvOp> batch;
  for (size_t i = sorted.size(); i-- > 0;) batch.push_back({"o", sorted[i], std::to_string(i)});
  ASSERT_TRUE(kv.Write(batch).ok());
  auto got = KvScan(kv, "o", "", "");
  ASSERT_EQ(got.size(), sorted.size());
  for (size_t i = 0; i < sorted.size(); ++i) {
    EXPECT_EQ(got[i].first, sorted[i]) << i;
    EXPECT_EQ(got[i].second, std::to_string(i));
  }
  // The same order std::string (and so RocksDB's bytewise comparator) gives.
  EXPECT_TRUE(std::is_sorted(sorted.begin(), sorted.end()));
}

TEST(PgPrefixEndTest, Successor) {
  EXPECT_EQ(PrefixEnd(""), std::nullopt);
  EXPECT_EQ(PrefixEnd("\xff\xff"), std::nullopt);
  EXPECT_EQ(PrefixEnd("a"), "b");
  EXPECT_EQ(PrefixEnd("a\xff"), "b");
  EXPECT_EQ(PrefixEnd(std::string("a\x00", 2)), "a\x01");
  EXPECT_EQ(PrefixEnd("\x7f"), "\x80");
}

// Random writes (puts, deletes, multi-op batches) on keys drawn from a small
// alphabet rich in 0x00 and 0xff, then scans with random prefixes and
// `after`s, compared with the model after every round. A page size of 7
// makes every scan cross pages.
TEST_F(PgKvTest, RandomizedMatchesMapModel) {
  PgKv kv(pool_.get(), /*page_size=*/7);
  std::mt19937 rng(20240611);
  const std::string alphabet("\x00\x01\x7f\x80\xfe\xff" "ab", 8);
  auto key = [&](size_t max_len) {
    std::string k;
    size_t len = rng() % (max_len + 1);
    for (size_t i = 0; i < len; ++i) k += alphabet[rng() % alphabet.size()];
    return k;
  };
  Model model;
  for (int round = 0; round < 40; ++round) {
    std::vector<KvOp> batch;
    int n = 1 + static_cast<int>(rng() % 8);
    for (int i = 0; i < n; ++i) {
      std::string k = key(4);
      if (rng() % 4 == 0) {
        batch.push_back({"r", k, std::nullopt});
        model.erase(k);
      } else {
        std::string v = key(6) + std::to_string(round);
        batch.push_back({"r", k, v});
        model[k] = v;
      }
    }
    ASSERT_TRUE(kv.Write(batch).ok());
    // A key in another family never shows.
    ASSERT_TRUE(kv.Write({{"r2", key(3), "other"}}).ok());
    for (int q = 0; q < 6; ++q) {
      std::string prefix = q == 0 ? "" : q == 1 ? std::string("\xff") : key(2);
      std::string after = rng() % 2 == 0 ? "" : key(4);
      ASSERT_EQ(KvScan(kv, "r", prefix, after), ModelScan(model, prefix, after))
          << "round " << round << " prefix size " << prefix.size() << " after size " << after.size();
    }
    std::string probe = key(4);
    auto g = kv.Get("r", probe);
    if (model.count(probe)) {
      ASSERT_TRUE(g.ok());
      EXPECT_EQ(*g, model[probe]);
    } else {
      EXPECT_EQ(g.status().code(), Code::kNotFound);
    }
  }
  EXPECT_EQ(KvScan(kv, "r", "", "").size(), model.size());
}

TEST_F(PgKvTest, ScanPrefixAndAfterEdges) {
  PgKv kv(pool_.get(), /*page_size=*/2);
  Model m;
  for (std::string k : {std::string("a"), std::string("a\xff"), std::string("a\xff\xff"), std::string("a\xff\xff\x00", 4),
                        std::string("b"), std::string("\xff"), std::string("\xff\xff"), std::string("\xff\xff\x01")}) {
    m[k] = "v" + std::to_string(m.size());
  }
  std::vector<KvOp> batch;
  for (const auto& [k, v] : m) batch.push_back({"e", k, v});
  ASSERT_TRUE(kv.Write(batch).ok());
  for (std::string prefix : {std::string(""), std::string("a"), std::string("a\xff"), std::string("a\xff\xff"),
                             std::string("\xff"), std::string("\xff\xff"), std::string("c")}) {
    for (std::string after : {std::string(""), std::string("a"), std::string("a\xff"), std::string("\x00", 1),
                              std::string("\xff"), std::string("\xff\xff\xff"), std::string("zz")}) {
      EXPECT_EQ(KvScan(kv, "e", prefix, after), ModelScan(m, prefix, after))
          << "prefix " << prefix.size() << " after " << after.size();
    }
  }
  // fn returning false stops the scan.
  int seen = 0;
  ASSERT_TRUE(kv.Scan("e", "", "", [&](std::string_view, std::string_view) { return ++seen < 3; }).ok());
  EXPECT_EQ(seen, 3);
}

TEST_F(PgKvTest, ScanPagesThroughALargeFamily) {
  PgKv kv(pool_.get());  // the default page of 1000 rows
  std::vector<KvOp> batch;
  for (int i = 0; i < 2500; ++i) {
    char k[16];
    std::snprintf(k, sizeof k, "k%06d", i);
    batch.push_back({"big", k, std::string(1, static_cast<char>(i))});
  }
  ASSERT_TRUE(kv.Write(batch).ok());
  int n = 0;
  std::string last;
  ASSERT_TRUE(kv.Scan("big", "k", "", [&](std::string_view k, std::string_view) {
                  EXPECT_LT(last, k);
                  last = k;
                  ++n;
                  return true;
                }).ok());
  EXPECT_EQ(n, 2500);
}

TEST_F(PgKvTest, FailingBatchLeavesNothing) {
  PgKv kv(pool_.get());
  ASSERT_TRUE(kv.Write({{"f", "keep", "old"}}).ok());
  // The last op's family is not valid UTF-8: its statement fails after the
  // others ran; none of them may stay.
  Status s = kv.Write({{"f", "keep", "new"}, {"f", "x", "1"}, {"g", "y", "2"}, {std::string("\xff\xfe"), "z", "3"}});
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(*kv.Get("f", "keep"), "old");
  EXPECT_FALSE(*kv.Has("f", "x"));
  EXPECT_FALSE(*kv.Has("g", "y"));
}

TEST_F(PgKvTest, ConditionalWrite) {
  PgKv kv(pool_.get());
  // Expected absence holds: written.
  ASSERT_TRUE(kv.Write({{"c", "k", "1"}}, {{"c", "k", std::nullopt}}).ok());
  // Expected absence fails now: nothing of the batch is written.
  Status s = kv.Write({{"c", "k", "2"}, {"c", "other", "x"}}, {{"c", "k", std::nullopt}});
  EXPECT_EQ(s.code(), Code::kFailedPrecondition) << s.ToString();
  EXPECT_FALSE(IsRetryable(s));
  EXPECT_EQ(*kv.Get("c", "k"), "1");
  EXPECT_FALSE(*kv.Has("c", "other"));
  // Wrong expected value: refused. Right one: swapped.
  EXPECT_EQ(kv.Write({{"c", "k", "3"}}, {{"c", "k", "2"}}).code(), Code::kFailedPrecondition);
  ASSERT_TRUE(kv.Write({{"c", "k", "3"}}, {{"c", "k", "1"}}).ok());
  EXPECT_EQ(*kv.Get("c", "k"), "3");
  // A condition on one key guarding a write to others (a lock record).
  ASSERT_TRUE(kv.Write({{"c", "data", "d"}}, {{"c", "k", "3"}, {"c", "absent", std::nullopt}}).ok());
  EXPECT_EQ(*kv.Get("c", "data"), "d");
  // All conditions must hold.
  EXPECT_EQ(kv.Write({{"c", "data", "e"}}, {{"c", "k", "3"}, {"c", "data", std::nullopt}}).code(),
            Code::kFailedPrecondition);
  EXPECT_EQ(*kv.Get("c", "data"), "d");
  // A delete under a condition.
  ASSERT_TRUE(kv.Write({{"c", "k", std::nullopt}}, {{"c", "k", "3"}}).ok());
  EXPECT_FALSE(*kv.Has("c", "k"));
}

// Threads race a create-if-absent on one key, many rounds: exactly one wins
// each round. Then threads increment a counter by CAS loops: no increment
// is lost.
TEST_F(PgKvTest, RacingCasExactlyOneWins) {
  auto pool = MakePool(16);
  PgKv kv(pool.get());
  constexpr int kThreads = 6;
  for (int round = 0; round < 10; ++round) {
    std::string key = "lock" + std::to_string(round);
    std::atomic<int> wins{0}, losses{0}, errors{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int t = 0; t < kThreads; ++t) {
      ts.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        Status s = kv.Write({{"cas", key, "owner" + std::to_string(t)}}, {{"cas", key, std::nullopt}});
        if (s.ok()) {
          ++wins;
        } else if (s.code() == Code::kFailedPrecondition) {
          ++losses;
        } else {
          ++errors;
        }
      });
    }
    go = true;
    for (auto& t : ts) t.join();
    EXPECT_EQ(wins.load(), 1) << "round " << round;
    EXPECT_EQ(losses.load(), kThreads - 1);
    EXPECT_EQ(errors.load(), 0);
  }

  ASSERT_TRUE(kv.Write({{"cas", "counter", "0"}}).ok());
  constexpr int kIncrements = 25;
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&] {
      for (int i = 0; i < kIncrements; ++i) {
        for (;;) {
          auto cur = kv.Get("cas", "counter");
          if (!cur.ok()) {
            ++errors;
            return;
          }
          std::string next = std::to_string(std::stoi(*cur) + 1);
          Status s = kv.Write({{"cas", "counter", next}}, {{"cas", "counter", *cur}});
          if (s.ok()) break;
          if (s.code() != Code::kFailedPrecondition) {
            ++errors;
            return;
          }
        }
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(*kv.Get("cas", "counter"), std::to_string(4 * kIncrements));
}

}  // namespace
}  // namespace pier::pg
