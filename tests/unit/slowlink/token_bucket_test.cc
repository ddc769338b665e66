#include "bench/slowlink/token_bucket.h"

#include <gtest/gtest.h>

#include "bench/slowlink/throttle.h"

namespace pier::slowlink {
namespace {

using Clock = TokenBucket::Clock;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;
using std::chrono::seconds;

const Clock::time_point t0{};

TEST(SlowlinkTokenBucketTest, StartsFullAndSpends) {
  TokenBucket b(1000, 100, t0);
  EXPECT_EQ(b.Available(t0), 100u);
  b.Consume(60);
  EXPECT_EQ(b.Available(t0), 40u);
  b.Consume(40);
  EXPECT_EQ(b.Available(t0), 0u);
}

TEST(SlowlinkTokenBucketTest, RefillsExactlyAtRate) {
  TokenBucket b(1000, 100, t0);  // one token per millisecond
  b.Consume(100);
  EXPECT_EQ(b.Available(t0 + nanoseconds(999'999)), 0u);
  EXPECT_EQ(b.Available(t0 + milliseconds(1)), 1u);
  EXPECT_EQ(b.Available(t0 + milliseconds(37)), 37u);
  b.Consume(37);
  EXPECT_EQ(b.Available(t0 + milliseconds(50)), 13u);
}

TEST(SlowlinkTokenBucketTest, FractionalTokensAreKept) {
  TokenBucket b(3, 10, t0);  // a token every 333.3 ms
  b.Consume(10);
  EXPECT_EQ(b.Available(t0 + milliseconds(300)), 0u);
  EXPECT_EQ(b.Available(t0 + milliseconds(600)), 1u);  // 1.8 tokens
  b.Consume(1);                                        // 0.8 left
  EXPECT_EQ(b.Available(t0 + milliseconds(667)), 1u);  // 0.8 + 0.201
  EXPECT_EQ(b.Available(t0 + seconds(1)), 2u);         // 3 - 1 spent
}

TEST(SlowlinkTokenBucketTest, NeverExceedsBurst) {
  TokenBucket b(1'000'000, 50'000, t0);
  b.Consume(50'000);
  EXPECT_EQ(b.Available(t0 + seconds(10)), 50'000u);
  EXPECT_EQ(b.Available(t0 + std::chrono::hours(24 * 365)), 50'000u);  // no overflow
}

TEST(SlowlinkTokenBucketTest, TimeGoingBackwardsAddsNothing) {
  TokenBucket b(1000, 100, t0 + seconds(1));
  b.Consume(100);
  EXPECT_EQ(b.Available(t0), 0u);
  EXPECT_EQ(b.Available(t0 + seconds(1) + milliseconds(5)), 5u);
}

TEST(SlowlinkTokenBucketTest, TimeUntilIsExactAndRoundsUp) {
  TokenBucket b(1000, 100, t0);
  EXPECT_EQ(b.TimeUntil(100, t0), Clock::duration::zero());
  b.Consume(100);
  EXPECT_EQ(b.TimeUntil(10, t0), milliseconds(10));
  EXPECT_EQ(b.TimeUntil(1000, t0), milliseconds(100));  // clamped to burst
  TokenBucket odd(3, 10, t0);
  odd.Consume(10);
  EXPECT_EQ(odd.TimeUntil(1, t0), nanoseconds(333'333'334));
  EXPECT_EQ(odd.Available(t0 + nanoseconds(333'333'334)), 1u);
}

TEST(SlowlinkTokenBucketTest, LongRunAverageMatchesRate) {
  // Spend greedily in 1 ms steps for 10 s: total = burst + rate * 10 s.
  TokenBucket b(500'000, TokenBucket::BurstFor(500'000), t0);
  uint64_t sent = 0;
  for (int ms = 0; ms <= 10'000; ++ms) {
    const uint64_t n = b.Available(t0 + milliseconds(ms));
    b.Consume(n);
    sent += n;
  }
  EXPECT_EQ(sent, 25'000u + 5'000'000u);
}

TEST(SlowlinkTokenBucketTest, BurstIsFiftyMillisecondsWithinBounds) {
  EXPECT_EQ(TokenBucket::BurstFor(1'000'000), 50'000u);
  EXPECT_EQ(TokenBucket::BurstFor(500'000), 25'000u);
  EXPECT_EQ(TokenBucket::BurstFor(100'000'000), 64u * 1024);
  EXPECT_EQ(TokenBucket::BurstFor(10), 1u);
}

TEST(SlowlinkThrottleTest, UnlimitedGrantsEverything) {
  Throttle t;
  EXPECT_TRUE(t.unlimited());
  EXPECT_EQ(t.Take(123'456, t0), 123'456u);
  EXPECT_EQ(t.Delay(123'456, t0), Clock::duration::zero());
}

TEST(SlowlinkThrottleTest, SlowestBucketDecidesAndAllPay) {
  TokenBucket total(1000, 400, t0), own(1000, 100, t0);
  Throttle t;
  t.Add(&total);
  t.Add(&own);
  t.Add(nullptr);
  EXPECT_EQ(t.Take(1000, t0), 100u);
  EXPECT_EQ(total.Available(t0), 300u);
  EXPECT_EQ(own.Available(t0), 0u);
}

TEST(SlowlinkThrottleTest, WaitsForAQuantumInsteadOfTrickling) {
  TokenBucket b(1000, 100, t0);  // quantum = 25 bytes
  Throttle t;
  t.Add(&b);
  EXPECT_EQ(t.Take(100, t0), 100u);
  EXPECT_EQ(t.Take(100, t0 + milliseconds(10)), 0u);  // 10 available < 25
  EXPECT_EQ(t.Delay(100, t0 + milliseconds(10)), milliseconds(15));
  EXPECT_EQ(t.Take(100, t0 + milliseconds(25)), 25u);
  // A small request only needs its own size.
  EXPECT_EQ(t.Take(3, t0 + milliseconds(28)), 3u);
}

TEST(SlowlinkThrottleTest, DelayIsTheLongestBucketWait) {
  TokenBucket fast(10'000, 400, t0), slow(1000, 400, t0);
  Throttle t;
  t.Add(&fast);
  t.Add(&slow);
  EXPECT_EQ(t.Take(400, t0), 400u);
  EXPECT_EQ(t.Delay(400, t0), milliseconds(100));  // slow needs 100 ms for a 100-byte quantum
}

}  // namespace
}  // namespace pier::slowlink
