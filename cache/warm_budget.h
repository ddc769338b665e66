#pragma once
// WarmBudget: how many bytes of fresh blobs may be queued or being read
// back into the page cache at once (warmer.h). It bounds the memory (and
// extra disk reads) a burst of large pushes could take; once a read-back is
// done its share is given back and the pages are ordinary clean page cache
// the kernel evicts under pressure like any other. Thread-safe.
#include <atomic>
#include <cstdint>

namespace pier {

class WarmBudget {
 public:
  explicit WarmBudget(uint64_t limit) : limit_(limit) {}
  WarmBudget(const WarmBudget&) = delete;
  WarmBudget& operator=(const WarmBudget&) = delete;

  // Takes n bytes of the budget; false (nothing taken) when that would pass it.
  bool TryTake(uint64_t n) {
    uint64_t cur = used_.load(std::memory_order_relaxed);
    do {
      if (n > limit_ || cur > limit_ - n) return false;
    } while (!used_.compare_exchange_weak(cur, cur + n, std::memory_order_relaxed));
    return true;
  }
  void Give(uint64_t n) { used_.fetch_sub(n, std::memory_order_relaxed); }
  uint64_t used() const { return used_.load(std::memory_order_relaxed); }
  uint64_t limit() const { return limit_; }

 private:
  const uint64_t limit_;
  std::atomic<uint64_t> used_{0};
};

}  // namespace pier
