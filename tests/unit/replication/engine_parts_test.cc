// The engine's small parts: the shared bandwidth budget and the worker
// pool's ordering (the retry policy is in retry_test.cc).
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "replication/bandwidth.h"
#include "replication/worker_pool.h"
#include "tests/unit/common/wait.h"

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
  std::atomic<bool> asking{false};
  std::thread t([&] {
    asking = true;
    result = b.Acquire(1'000'000, stop.get_token()) && b.Acquire(1000, stop.get_token());
  });
  ASSERT_TRUE(pier::testing::WaitUntil([&] { return asking.load(); }));
  auto t0 = Clock::now();
  stop.request_stop();
  t.join();
  EXPECT_FALSE(result.load());
  // A hang guard against the 17 minutes, not a speed bar (ctest -j, ASan).
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(60));
}

TEST(Bandwidth, ZeroMeansUnlimited) {
  Bandwidth b(0);
  std::stop_source stop;
  auto t0 = Clock::now();
  for (int i = 0; i < 1000; ++i) ASSERT_TRUE(b.Acquire(1 << 20, stop.get_token()));
  // A budget of 0 B/s taken literally would never finish: a hang guard, not a speed bar.
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(60));
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
  ASSERT_TRUE(pier::testing::WaitUntil([&] { return done.load() == 5; }));
  EXPECT_EQ(order, (std::vector<int>{2, 4, 3, 1}));
}

}  // namespace
}  // namespace pier::replication
