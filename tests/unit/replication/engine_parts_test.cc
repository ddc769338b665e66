// The engine's small parts: the shared bandwidth budget, the worker pool's
// ordering, the retry policy.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "replication/bandwidth.h"
#include "replication/retry.h"
#include "replication/worker_pool.h"

namespace pier::replication {
namespace {

using Clock = std::chrono::steady_clock;

TEST(Bandwidth, SharedByEveryWorker) {
  // 8 workers × 64 KiB × 8 = 4 MiB at 16 MiB/s: never faster than 0.25 s
  // minus the 100 ms burst allowance, whatever the number of workers.
  Bandwidth b(16 << 20);
  std::stop_source stop;
  auto t0 = Clock::now();
  std::vector<std::thread> ws;
  for (int w = 0; w < 8; ++w) {
    ws.emplace_back([&] {
      for (int i = 0; i < 8; ++i) ASSERT_TRUE(b.Acquire(64 << 10, stop.get_token()));
    });
  }
  for (auto& t : ws) t.join();
  double s = std::chrono::duration<double>(Clock::now() - t0).count();
  EXPECT_GE(s, 0.14);
}

TEST(Bandwidth, StopWakesAWaiterAtOnce) {
  Bandwidth b(1000);  // 1 kB/s: 1 MB would take ~17 minutes
  std::stop_source stop;
  ASSERT_TRUE(b.Acquire(1000, stop.get_token()));
  std::atomic<bool> result{true};
  std::thread t([&] { result = b.Acquire(1'000'000, stop.get_token()) && b.Acquire(1000, stop.get_token()); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto t0 = Clock::now();
  stop.request_stop();
  t.join();
  EXPECT_FALSE(result.load());
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(2));
}

TEST(Bandwidth, ZeroMeansUnlimited) {
  Bandwidth b(0);
  std::stop_source stop;
  auto t0 = Clock::now();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(b.Acquire(1 << 20, stop.get_token()));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(1));
}

TEST(WorkerPool, SmallestKeyFirstThenSubmissionOrder) {
  WorkerPool pool(1);
  std::mutex mu;
  std::vector<int> order;
  std::atomic<bool> release{false};
  std::atomic<int> done{0};
  // Block the single worker so the rest queue up.
  pool.Submit(0, [&] {
    while (!release) std::this_thread::yield();
    ++done;
  });
  auto add = [&](uint64_t key, int id) {
    pool.Submit(key, [&, id] {
      std::lock_guard lock(mu);
      order.push_back(id);
      ++done;
    });
  };
  add(300, 1);
  add(100, 2);
  add(200, 3);
  add(100, 4);
  release = true;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (done < 5 && Clock::now() < deadline) std::this_thread::yield();
  ASSERT_EQ(done.load(), 5);
  EXPECT_EQ(order, (std::vector<int>{2, 4, 3, 1}));
}

TEST(Backoff, TransientOnlyWithinTheBudgetAndProgressResetsIt) {
  RetryOptions o;
  o.max_attempts_without_progress = 3;
  o.initial = std::chrono::milliseconds(1);
  o.max = std::chrono::milliseconds(2);
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
  EXPECT_FALSE(b.ShouldRetry(net));  // 3 attempts without progress
  b.Progress();
  EXPECT_TRUE(b.ShouldRetry(net));
}

TEST(Backoff, HonoursRetryAfterAndStop) {
  RetryOptions o;
  o.initial = std::chrono::milliseconds(1);
  Backoff b(o);
  client::ClientError slow;
  slow.kind = client::ErrorKind::kThrottled;
  slow.retry_after_seconds = 30;
  std::stop_source stop;
  std::thread t([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    stop.request_stop();
  });
  auto t0 = Clock::now();
  EXPECT_FALSE(b.Wait(slow, stop.get_token()));  // would sleep 30 s; the stop ends it
  auto waited = Clock::now() - t0;
  t.join();
  EXPECT_GE(waited, std::chrono::milliseconds(90));
  EXPECT_LT(waited, std::chrono::seconds(5));
}

}  // namespace
}  // namespace pier::replication
