#include "replication/retry.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <random>

namespace pier::replication {

bool Backoff::ShouldRetry(const client::ClientError& error, bool also) const {
  return (error.Transient() || also) && attempts_ + 1 < o_.max_attempts_without_progress;
}

std::chrono::milliseconds BackoffDelay(const RetryOptions& o, int attempt,
                                       std::optional<uint32_t> retry_after_seconds, double unit) {
  const int shift = std::clamp(attempt - 1, 0, 16);
  const int64_t cap = std::max<int64_t>(0, std::min<int64_t>(o.max.count(), o.initial.count() << shift));
  const double u = std::clamp(unit, 0.0, 1.0);
  std::chrono::milliseconds d(cap / 2 + static_cast<int64_t>(u * static_cast<double>(cap - cap / 2) + 0.5));
  if (retry_after_seconds) {
    d = std::max(d, std::chrono::milliseconds(int64_t{*retry_after_seconds} * 1000));
  }
  return d;
}

bool Backoff::Wait(const client::ClientError& error, const std::stop_token& stop) {
  ++attempts_;
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const auto d = BackoffDelay(o_, attempts_, error.retry_after_seconds, unit(rng));
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
