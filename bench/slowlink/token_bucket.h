#pragma once
// TokenBucket: the arithmetic of a byte-rate limit, with time passed in so it
// is exact and testable. Tokens accrue at `rate` bytes per second up to
// `burst`; a sender may send as many bytes as there are whole tokens. The
// bucket starts full. Integer arithmetic only: after t nanoseconds an empty
// bucket holds exactly floor(rate * t / 1e9) tokens (capped at burst).
// Not thread-safe; slowlink uses it from one io_context thread.
#include <chrono>
#include <cstdint>

namespace pier::slowlink {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // Largest burst accepted (keeps the internal nano-token counter in range).
  static constexpr uint64_t kMaxBurst = uint64_t{1} << 30;

  // The burst slowlink uses for a rate: 50 ms worth, at least 1 byte and at
  // most 64 KiB, so rates measured over seconds come out accurate.
  static uint64_t BurstFor(uint64_t rate);

  // rate >= 1 byte/s; 1 <= burst <= kMaxBurst (clamped into that range).
  TokenBucket(uint64_t rate, uint64_t burst, Clock::time_point now);

  uint64_t rate() const { return rate_; }
  uint64_t burst() const { return burst_; }

  // Whole tokens available at `now` (never more than burst). `now` earlier
  // than a previous call counts as no time passing.
  uint64_t Available(Clock::time_point now);
  // Spends n tokens; n must not exceed the last Available() result.
  void Consume(uint64_t n);
  // How long from `now` until n tokens are available (zero if they are).
  // n is clamped to burst, since more can never be available at once.
  Clock::duration TimeUntil(uint64_t n, Clock::time_point now);

 private:
  void Refill(Clock::time_point now);

  uint64_t rate_;
  uint64_t burst_;
  uint64_t nano_tokens_;  // tokens * 1e9
  Clock::time_point last_;
};

}  // namespace pier::slowlink
