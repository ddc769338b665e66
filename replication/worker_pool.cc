#include "replication/worker_pool.h"

namespace pier::replication {

WorkerPool::WorkerPool(size_t threads) {
  if (threads == 0) threads = 1;
  for (size_t i = 0; i < threads; ++i) threads_.emplace_back([this] { Run(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::Submit(uint64_t key, std::function<void()> job) {
  {
    std::lock_guard lock(mu_);
    if (closing_) return;
    queue_.push(Item{key, seq_++, std::move(job)});
  }
  cv_.notify_one();
}

size_t WorkerPool::queued() const {
  std::lock_guard lock(mu_);
  return queue_.size();
}

void WorkerPool::Run() {
  for (;;) {
    std::function<void()> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
      if (closing_) return;
      job = std::move(const_cast<Item&>(queue_.top()).job);
      queue_.pop();
    }
    job();
  }
}

}  // namespace pier::replication
