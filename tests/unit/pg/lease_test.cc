// Leases and the claim queue on the database clock.
#include "cache/pg/lease.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "tests/unit/common/wait.h"
#include "tests/unit/pg/pg_fixture.h"

namespace pier::pg {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class PgLeaseTest : public PgTest {};

TEST_F(PgLeaseTest, LiveLeaseIsNotStolenAndTheHolderExtendsIt) {
  auto a = TryAcquireLease(*pool_, "gc", "A", seconds(30));
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(a->has_value());
  EXPECT_EQ((*a)->holder, "A");
  EXPECT_TRUE((*a)->live);
  const int64_t token = (*a)->token;

  auto b = TryAcquireLease(*pool_, "gc", "B", seconds(30));
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());
  EXPECT_EQ(RenewLease(*pool_, "gc", "B", seconds(30)).status().code(), Code::kFailedPrecondition);

  auto again = TryAcquireLease(*pool_, "gc", "A", seconds(60));
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_EQ((*again)->token, token);  // same tenure
  EXPECT_GT((*again)->expires_unix_ms, (*a)->expires_unix_ms);
  auto renewed = RenewLease(*pool_, "gc", "A", seconds(90));
  ASSERT_TRUE(renewed.ok()) << renewed.status().ToString();
  EXPECT_EQ(renewed->token, token);

  // Others' leases are independent.
  auto other = TryAcquireLease(*pool_, "scheduler", "B", seconds(30));
  ASSERT_TRUE(other.ok() && other->has_value());
  auto list = ListLeases(*pool_);
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "gc");
  EXPECT_EQ((*list)[0].holder, "A");
  EXPECT_TRUE((*list)[0].live);
  EXPECT_EQ((*list)[1].name, "scheduler");
  EXPECT_EQ((*list)[1].holder, "B");
}

TEST_F(PgLeaseTest, ExpiredLeaseOfADeadHolderIsTakenOver) {
  auto a = TryAcquireLease(*pool_, "sched", "A", milliseconds(300));
  ASSERT_TRUE(a.ok() && a->has_value());
  // B polls as a standby would; A never renews (it died). B gets it once
  // the database clock passes A's expiry, not before.
  auto t0 = std::chrono::steady_clock::now();
  std::optional<LeaseInfo> got;
  ASSERT_TRUE(pier::testing::WaitUntil(
      [&] {
        auto b = TryAcquireLease(*pool_, "sched", "B", seconds(30));
        EXPECT_TRUE(b.ok());
        if (b.ok() && b->has_value()) got = **b;
        return got.has_value();
      },
      seconds(20)));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, milliseconds(250));
  EXPECT_EQ(got->holder, "B");
  EXPECT_GT(got->token, (*a)->token);  // a new tenure
  // A wakes up: it cannot renew, nor take it back while B's is live.
  EXPECT_EQ(RenewLease(*pool_, "sched", "A", seconds(30)).status().code(), Code::kFailedPrecondition);
  auto back = TryAcquireLease(*pool_, "sched", "A", seconds(30));
  ASSERT_TRUE(back.ok());
  EXPECT_FALSE(back->has_value());
}

TEST_F(PgLeaseTest, ExpiredLeaseIsNotRenewedAndReleaseFreesAtOnce) {
  auto a = TryAcquireLease(*pool_, "n", "A", milliseconds(200));
  ASSERT_TRUE(a.ok() && a->has_value());
  ASSERT_TRUE(pier::testing::WaitUntil(
      [&] {
        auto l = ListLeases(*pool_);
        return l.ok() && l->size() == 1 && !(*l)[0].live;
      },
      seconds(20)));
  EXPECT_EQ(RenewLease(*pool_, "n", "A", seconds(30)).status().code(), Code::kFailedPrecondition);
  // Acquire again: a new tenure even for the same holder.
  auto a2 = TryAcquireLease(*pool_, "n", "A", seconds(30));
  ASSERT_TRUE(a2.ok() && a2->has_value());
  EXPECT_GT((*a2)->token, (*a)->token);
  // Release by someone else: no effect. By the holder: B gets it at once.
  ASSERT_TRUE(ReleaseLease(*pool_, "n", "B").ok());
  auto b = TryAcquireLease(*pool_, "n", "B", seconds(30));
  ASSERT_TRUE(b.ok());
  EXPECT_FALSE(b->has_value());
  ASSERT_TRUE(ReleaseLease(*pool_, "n", "A").ok());
  b = TryAcquireLease(*pool_, "n", "B", seconds(30));
  ASSERT_TRUE(b.ok() && b->has_value());
  EXPECT_GT((*b)->token, (*a2)->token);
}

TEST_F(PgLeaseTest, RacingAcquirersOneWins) {
  auto pool = MakePool(8);
  for (int round = 0; round < 10; ++round) {
    std::string name = "race" + std::to_string(round);
    std::atomic<int> wins{0}, errors{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> ts;
    for (int t = 0; t < 6; ++t) {
      ts.emplace_back([&, t] {
        while (!go.load()) std::this_thread::yield();
        auto r = TryAcquireLease(*pool, name, "h" + std::to_string(t), seconds(30));
        if (!r.ok()) {
          ++errors;
        } else if (r->has_value()) {
          ++wins;
        }
      });
    }
    go = true;
    for (auto& t : ts) t.join();
    EXPECT_EQ(wins.load(), 1) << round;
    EXPECT_EQ(errors.load(), 0);
  }
}

TEST_F(PgLeaseTest, ClaimNextHandsEachItemToOneClaimer) {
  auto pool = MakePool(8);
  constexpr int kItems = 40;
  for (int i = 0; i < kItems; ++i) {
    char k[8];
    std::snprintf(k, sizeof k, "i%03d", i);
    ASSERT_TRUE(Enqueue(*pool, "q", k, std::string("p\0", 2) + k).ok());
  }
  std::mutex mu;
  std::map<std::string, int> claimed;
  std::atomic<int> errors{0};
  std::vector<std::thread> ts;
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      std::string me = "w" + std::to_string(t);
      for (;;) {
        auto item = ClaimNext(*pool, "q", me, seconds(30));
        if (!item.ok()) {
          ++errors;
          return;
        }
        if (!item->has_value()) return;
        {
          std::lock_guard<std::mutex> lock(mu);
          ++claimed[(*item)->key];
          EXPECT_EQ((*item)->payload, std::string("p\0", 2) + (*item)->key);
        }
        if (!CompleteClaim(*pool, "q", (*item)->key, me).ok()) ++errors;
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(claimed.size(), static_cast<size_t>(kItems));
  for (const auto& [k, n] : claimed) EXPECT_EQ(n, 1) << k;
  auto none = ClaimNext(*pool, "q", "w0", seconds(30));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_F(PgLeaseTest, ExpiredClaimIsClaimableAgain) {
  ASSERT_TRUE(Enqueue(*pool_, "q", "only", "x").ok());
  auto first = ClaimNext(*pool_, "q", "dead", milliseconds(200));
  ASSERT_TRUE(first.ok() && first->has_value());
  auto none = ClaimNext(*pool_, "q", "live", seconds(30));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());  // claimed and live: not handed out
  std::optional<QueueItem> again;
  ASSERT_TRUE(pier::testing::WaitUntil(
      [&] {
        auto r = ClaimNext(*pool_, "q", "live", seconds(30));
        if (r.ok() && r->has_value()) again = **r;
        return again.has_value();
      },
      seconds(20)));
  EXPECT_EQ(again->key, "only");
  // The dead claimer's completion is refused; the live one's works.
  EXPECT_EQ(CompleteClaim(*pool_, "q", "only", "dead").code(), Code::kFailedPrecondition);
  EXPECT_TRUE(CompleteClaim(*pool_, "q", "only", "live").ok());
}

}  // namespace
}  // namespace pier::pg
