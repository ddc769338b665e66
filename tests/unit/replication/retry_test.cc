// The retry policy: the backoff schedule as a pure function (no sleeping),
// the attempt budget, and that a stop ends a wait.
#include "replication/retry.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

namespace pier::replication {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

TEST(BackoffDelay, DoublesFromInitialUpToMaxWithEqualJitter) {
  RetryOptions o;
  o.initial = 500ms;
  o.max = 60'000ms;
  // unit 0 is the bottom of the jitter range (cap/2), unit 1 the top (cap).
  EXPECT_EQ(BackoffDelay(o, 1, std::nullopt, 0.0), 250ms);
  EXPECT_EQ(BackoffDelay(o, 1, std::nullopt, 1.0), 500ms);
  EXPECT_EQ(BackoffDelay(o, 1, std::nullopt, 0.5), 375ms);
  EXPECT_EQ(BackoffDelay(o, 2, std::nullopt, 1.0), 1000ms);
  EXPECT_EQ(BackoffDelay(o, 3, std::nullopt, 1.0), 2000ms);
  EXPECT_EQ(BackoffDelay(o, 3, std::nullopt, 0.0), 1000ms);
  // 500 ms · 2^7 = 64 s: capped at max from the 8th attempt on.
  EXPECT_EQ(BackoffDelay(o, 7, std::nullopt, 1.0), 32'000ms);
  EXPECT_EQ(BackoffDelay(o, 8, std::nullopt, 1.0), 60'000ms);
  EXPECT_EQ(BackoffDelay(o, 8, std::nullopt, 0.0), 30'000ms);
  // Many attempts neither overflow nor exceed max.
  EXPECT_EQ(BackoffDelay(o, 1000, std::nullopt, 1.0), 60'000ms);
  // Out-of-range inputs are clamped, not trusted.
  EXPECT_EQ(BackoffDelay(o, 0, std::nullopt, 2.0), 500ms);
  EXPECT_EQ(BackoffDelay(o, 1, std::nullopt, -1.0), 250ms);
}

TEST(BackoffDelay, RetryAfterIsAFloorNotACap) {
  RetryOptions o;
  o.initial = 500ms;
  o.max = 60'000ms;
  EXPECT_EQ(BackoffDelay(o, 1, 30u, 1.0), 30'000ms);  // the registry asks for longer
  EXPECT_EQ(BackoffDelay(o, 8, 1u, 1.0), 60'000ms);   // the backoff is longer already
  EXPECT_EQ(BackoffDelay(o, 1, 0u, 0.0), 250ms);
  EXPECT_EQ(BackoffDelay(o, 1, 600u, 0.0), 600'000ms);  // beyond max too
}

TEST(Backoff, TransientOnlyWithinTheBudgetAndProgressResetsIt) {
  RetryOptions o;
  o.max_attempts_without_progress = 3;
  o.initial = 1ms;
  o.max = 2ms;
  Backoff b(o);
  client::ClientError net;
  net.kind = client::ErrorKind::kNetwork;
  client::ClientError denied;
  denied.kind = client::ErrorKind::kAuth;
  std::stop_source stop;
  EXPECT_FALSE(b.ShouldRetry(denied));
  EXPECT_TRUE(b.ShouldRetry(denied, /*also=*/true));
  EXPECT_TRUE(b.ShouldRetry(net));
  ASSERT_TRUE(b.Wait(net, stop.get_token()));
  ASSERT_TRUE(b.Wait(net, stop.get_token()));
  EXPECT_EQ(b.attempts(), 2);
  EXPECT_FALSE(b.ShouldRetry(net));  // 3 attempts without progress
  b.Progress();
  EXPECT_TRUE(b.ShouldRetry(net));
}

TEST(Backoff, StopEndsAWait) {
  RetryOptions o;
  o.initial = 1ms;
  Backoff b(o);
  client::ClientError slow;
  slow.kind = client::ErrorKind::kThrottled;
  slow.retry_after_seconds = 600;  // ten minutes: only the stop can end it
  {
    std::stop_source stop;
    stop.request_stop();
    EXPECT_FALSE(b.Wait(slow, stop.get_token()));  // already stopped
  }
  std::stop_source stop;
  std::thread stopper([&] { stop.request_stop(); });
  EXPECT_FALSE(b.Wait(slow, stop.get_token()));  // stopped before or while waiting
  stopper.join();
}

}  // namespace
}  // namespace pier::replication
