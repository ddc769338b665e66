#include "replication/retry.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>

namespace pier::replication {

bool Backoff::ShouldRetry(const client::ClientError& error, bool also) const {
  return (error.Transient() || also) && attempts_ + 1 < o_.max_attempts_without_progress;
}

bool Backoff::Wait(const client::ClientError& error, const std::stop_token& stop) {
  ++attempts_;
  auto cap = std::min<int64_t>(o_.max.count(), o_.initial.count() << std::min(attempts_ - 1, 16));
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> jitter(cap / 2, cap);  // "equal jitter": never near zero
  std::chrono::milliseconds d(jitter(rng));
  if (error.retry_after_seconds) {
    d = std::max(d, std::chrono::milliseconds(int64_t{*error.retry_after_seconds} * 1000));
  }
  return o_.sleep ? o_.sleep(d, stop) : SleepFor(d, stop);
}

bool SleepFor(std::chrono::milliseconds d, const std::stop_token& stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  cv.wait_for(lock, stop, d, [] { return false; });
  return !stop.stop_requested();
}

FailureReason ReasonOf(client::ErrorKind kind) {
  using client::ErrorKind;
  switch (kind) {
    case ErrorKind::kAuth: return FailureReason::kAuth;
    case ErrorKind::kNetwork:
    case ErrorKind::kTls: return FailureReason::kNetwork;
    case ErrorKind::kTimeout: return FailureReason::kTimeout;
    case ErrorKind::kNotFound:
    case ErrorKind::kThrottled:
    case ErrorKind::kRemote4xx: return FailureReason::kRemote4xx;
    case ErrorKind::kRemote5xx: return FailureReason::kRemote5xx;
    case ErrorKind::kDigestMismatch: return FailureReason::kDigest;
    default: return FailureReason::kOther;
  }
}

}  // namespace pier::replication
