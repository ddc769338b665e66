#include "cache/warmer.h"

#include <fcntl.h>

namespace pier {

Warmer::~Warmer() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Warmer::Warm(const std::filesystem::path& path, uint64_t size) {
  if (size == 0 || !budget_.TryTake(size)) return false;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    budget_.Give(size);
    return false;
  }
  {
    std::lock_guard lock(mu_);
    queue_.emplace_back(std::move(fd), size);
    if (!thread_.joinable()) thread_ = std::thread([this] { Run(); });
  }
  cv_.notify_all();
  return true;
}

// POSIX_FADV_WILLNEED submits the reads and returns without waiting for
// them, so this thread costs little CPU; chunks let a stop end it promptly.
void Warmer::Run() {
  for (;;) {
    std::pair<UniqueFd, uint64_t> job;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (stop_) {
        for (auto& q : queue_) budget_.Give(q.second);
        queue_.clear();
        return;
      }
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    for (uint64_t off = 0; off < job.second; off += kChunk) {
      {
        std::lock_guard lock(mu_);
        if (stop_) break;
      }
      (void)::posix_fadvise(job.first.get(), static_cast<off_t>(off), static_cast<off_t>(kChunk),
                            POSIX_FADV_WILLNEED);
    }
    budget_.Give(job.second);
  }
}

}  // namespace pier
