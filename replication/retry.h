#pragma once
// Retry policy of the transfer engine: exponential backoff with full
// jitter, honouring Retry-After (429/503), and a budget of consecutive
// attempts *without progress* — an attempt that moved the upload forward
// resets it, so a link that keeps cutting connections but lets bytes
// through never makes Pier give up (there is no total-time limit).
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <stop_token>

#include "adapter/client/call.h"
#include "base/status.h"
#include "replication/observer.h"

namespace pier::replication {

struct RetryOptions {
  int max_attempts_without_progress = 6;
  std::chrono::milliseconds initial{500};
  std::chrono::milliseconds max{60'000};
  // How the waits happen: false when `stop` came first. Null: a real sleep
  // (SleepFor). Tests pass a recorder so they see the delay asked for
  // (Retry-After) without spending it.
  std::function<bool(std::chrono::milliseconds, const std::stop_token&)> sleep;
};

// The wait before retry number `attempt` (1 for the first): exponential,
// cap = min(max, initial · 2^(attempt-1)), with "equal jitter" — `unit`
// (uniform in [0, 1]) picks a point in [cap/2, cap], so it is never near
// zero — and never shorter than `retry_after_seconds` when the registry
// sent one (429/503). Pure: the schedule is tested without sleeping.
std::chrono::milliseconds BackoffDelay(const RetryOptions& o, int attempt,
                                       std::optional<uint32_t> retry_after_seconds, double unit);

class Backoff {
 public:
  explicit Backoff(RetryOptions o = {}) : o_(o) {}
  // Whether another attempt is allowed after a failure with `error`:
  // transient errors only, and within the budget.
  // `also` makes an otherwise permanent error retryable (e.g. an upload
  // session the destination dropped: start a new one).
  bool ShouldRetry(const client::ClientError& error, bool also = false) const;
  // Sleeps before the next attempt (BackoffDelay with a random `unit`).
  // False when `stop` was requested meanwhile.
  bool Wait(const client::ClientError& error, const std::stop_token& stop);
  // The last attempt made progress: the budget starts again.
  void Progress() { attempts_ = 0; }
  int attempts() const { return attempts_; }

 private:
  RetryOptions o_;
  int attempts_ = 0;
};

// Sleeps `d` unless `stop` is requested first (then returns false).
bool SleepFor(std::chrono::milliseconds d, const std::stop_token& stop);

// The observer's failure reason for a client error kind.
FailureReason ReasonOf(client::ErrorKind kind);

// Runs `op(call)` with a fresh Call wired to `stop` until it succeeds, is
// cancelled, fails permanently, or the attempts without progress run out;
// `on_failure` hears every failed attempt (for metrics). Returns the last
// Status.
template <class Op>
Status WithRetry(const RetryOptions& options, const std::stop_token& stop,
                 const std::function<void(const client::ClientError&)>& on_failure, Op op) {
  Backoff backoff(options);
  for (;;) {
    client::Call call;
    call.stop = stop;
    Status s = op(call);
    if (s.ok() || call.error.kind == client::ErrorKind::kCancelled) return s;
    if (on_failure) on_failure(call.error);
    if (!backoff.ShouldRetry(call.error) || !backoff.Wait(call.error, call.stop)) return s;
  }
}

}  // namespace pier::replication
