#pragma once
// WorkerPool: a fixed number of threads running jobs in priority order
// (smallest key first, then submission order). The engine keeps one per
// destination, so its concurrency is bounded per destination, and keys
// jobs by the remaining bytes of their image so the image closest to done
// finishes first.
// Thread-safe. The destructor stops taking jobs, runs none of those still
// queued (their owners hold stop tokens and account for them) and joins.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <queue>
#include <thread>
#include <vector>

namespace pier::replication {

class WorkerPool {
 public:
  explicit WorkerPool(size_t threads);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void Submit(uint64_t key, std::function<void()> job);
  size_t queued() const;

 private:
  struct Item {
    uint64_t key;
    uint64_t seq;
    std::function<void()> job;
    bool operator<(const Item& o) const {  // priority_queue pops the largest
      return key != o.key ? key > o.key : seq > o.seq;
    }
  };
  void Run();

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::priority_queue<Item> queue_;
  uint64_t seq_ = 0;
  bool closing_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace pier::replication
