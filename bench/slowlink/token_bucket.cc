#include "bench/slowlink/token_bucket.h"

#include <algorithm>

namespace pier::slowlink {
namespace {
constexpr uint64_t kNano = 1'000'000'000;
}

uint64_t TokenBucket::BurstFor(uint64_t rate) { return std::clamp<uint64_t>(rate / 20, 1, 64 * 1024); }

TokenBucket::TokenBucket(uint64_t rate, uint64_t burst, Clock::time_point now)
    : rate_(std::max<uint64_t>(rate, 1)),
      burst_(std::clamp<uint64_t>(burst, 1, kMaxBurst)),
      nano_tokens_(burst_ * kNano),
      last_(now) {}

void TokenBucket::Refill(Clock::time_point now) {
  if (now <= last_) return;
  const uint64_t elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_).count();
  last_ = now;
  const uint64_t cap = burst_ * kNano;
  const uint64_t missing = cap - nano_tokens_;
  // rate_ * elapsed may overflow for long idle gaps; compare by division first.
  if (elapsed >= missing / rate_ + 1) {
    nano_tokens_ = cap;
  } else {
    nano_tokens_ = std::min(cap, nano_tokens_ + rate_ * elapsed);
  }
}

uint64_t TokenBucket::Available(Clock::time_point now) {
  Refill(now);
  return nano_tokens_ / kNano;
}

void TokenBucket::Consume(uint64_t n) {
  const uint64_t nano = std::min(n, burst_) * kNano;
  nano_tokens_ = nano_tokens_ >= nano ? nano_tokens_ - nano : 0;
}

TokenBucket::Clock::duration TokenBucket::TimeUntil(uint64_t n, Clock::time_point now) {
  Refill(now);
  const uint64_t need = std::min(n, burst_) * kNano;
  if (nano_tokens_ >= need) return Clock::duration::zero();
  const uint64_t ns = (need - nano_tokens_ + rate_ - 1) / rate_;  // round up
  return std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(ns));
}

}  // namespace pier::slowlink
