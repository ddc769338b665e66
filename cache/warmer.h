#pragma once
// Warmer: reads freshly committed blobs into the page cache in the
// background. Big uploads bypass the page cache (O_DIRECT,
// direct_appender.h), so without it the first pull of a new blob, which in
// the push-then-deploy flow comes at once, reads from the disk through
// sendfile's small readahead. The read-back starts when the push is
// answered, not during the upload, where its reads would compete with the
// upload's writes and slow the push; a pull that starts at once trails it.
// The budget (warm_budget.h) bounds the bytes queued or being read back;
// a blob that does not fit is left alone. Thread-safe.
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <thread>
#include <utility>

#include "base/file.h"
#include "cache/warm_budget.h"

namespace pier {

class Warmer {
 public:
  explicit Warmer(uint64_t budget) : budget_(budget) {}
  ~Warmer();  // stops after the chunk in progress; queued blobs are dropped
  Warmer(const Warmer&) = delete;
  Warmer& operator=(const Warmer&) = delete;

  // Queues the file for reading into the page cache; false when it does not
  // fit the budget or cannot be opened (advice only: nothing is lost).
  bool Warm(const std::filesystem::path& path, uint64_t size);
  const WarmBudget& budget() const { return budget_; }

  static constexpr uint64_t kChunk = 8 << 20;  // per readahead request

 private:
  void Run();

  WarmBudget budget_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<UniqueFd, uint64_t>> queue_;
  bool stop_ = false;
  std::thread thread_;  // started on the first Warm
};

}  // namespace pier
