#pragma once
// Bandwidth: a byte-rate budget shared by every worker that sends to one
// destination (or runs one policy). Virtual-time scheduling: each Acquire
// reserves the next slot of bytes/rate seconds, so the total over all
// callers never exceeds the rate (beyond a 100 ms burst after idling),
// whatever the number of workers — unlike Harbor, whose limit is per worker.
// Thread-safe. Rate 0 means unlimited.
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <stop_token>
#include <vector>

#include "adapter/client/call.h"

namespace pier::replication {

class Bandwidth : public client::RateLimiter {
 public:
  explicit Bandwidth(uint64_t bytes_per_second = 0) : rate_(bytes_per_second) {}
  void SetRate(uint64_t bytes_per_second);
  uint64_t rate() const;
  bool Acquire(size_t bytes, const std::stop_token& stop) override;

 private:
  using Clock = std::chrono::steady_clock;
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  uint64_t rate_;
  Clock::time_point next_{};
};

// Acquires from each limiter in turn (a policy's speed and a registry cap).
class LimiterChain : public client::RateLimiter {
 public:
  explicit LimiterChain(std::vector<client::RateLimiter*> limiters) : limiters_(std::move(limiters)) {}
  bool Acquire(size_t bytes, const std::stop_token& stop) override {
    for (auto* l : limiters_) {
      if (l != nullptr && !l->Acquire(bytes, stop)) return false;
    }
    return !stop.stop_requested();
  }

 private:
  std::vector<client::RateLimiter*> limiters_;
};

}  // namespace pier::replication
