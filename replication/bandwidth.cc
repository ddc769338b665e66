#include "replication/bandwidth.h"

namespace pier::replication {

void Bandwidth::SetRate(uint64_t bytes_per_second) {
  std::lock_guard lock(mu_);
  rate_ = bytes_per_second;
}

uint64_t Bandwidth::rate() const {
  std::lock_guard lock(mu_);
  return rate_;
}

bool Bandwidth::Acquire(size_t bytes, const std::stop_token& stop) {
  std::unique_lock lock(mu_);
  if (rate_ == 0 || bytes == 0) return !stop.stop_requested();
  auto now = Clock::now();
  // After idling, at most 100 ms of credit: a short burst, not a flood.
  auto start = std::max(next_, now - std::chrono::milliseconds(100));
  auto cost = std::chrono::nanoseconds(static_cast<int64_t>(bytes * 1'000'000'000.0 / static_cast<double>(rate_)));
  next_ = start + std::chrono::duration_cast<Clock::duration>(cost);
  if (start <= now) return !stop.stop_requested();
  // Sleep until our slot; a stop request wakes us at once.
  cv_.wait_until(lock, stop, start, [] { return false; });
  return !stop.stop_requested();
}

}  // namespace pier::replication
