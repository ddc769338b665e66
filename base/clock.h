#pragma once
// Clock: where components read time, so tests move time instead of sleeping.
// Production code takes a `const Clock&` (default SystemClock()); tests hand
// in a FakeClock and Advance() it. Both readings come from one object so a
// fake keeps wall and monotonic time moving together.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace pier {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall-clock time: timestamps, cron schedules, token `exp`/`iat`.
  virtual std::chrono::system_clock::time_point Now() const = 0;
  // Monotonic time: intervals, deadlines, cache expiry.
  virtual std::chrono::steady_clock::time_point Steady() const = 0;

  // Now() as whole seconds since the Unix epoch.
  int64_t UnixSeconds() const {
    return std::chrono::duration_cast<std::chrono::seconds>(Now().time_since_epoch()).count();
  }
};

// The process's real clocks. Lives for the whole program.
const Clock& SystemClock();

// A clock that moves only when told to. Thread-safe: readers on other
// threads see an Advance() at once.
class FakeClock final : public Clock {
 public:
  // Starts at `start` wall time (default 2026-01-01T00:00:00Z) and an
  // arbitrary monotonic origin.
  explicit FakeClock(std::chrono::system_clock::time_point start =
                         std::chrono::system_clock::time_point(std::chrono::seconds(1767225600)));

  std::chrono::system_clock::time_point Now() const override;
  std::chrono::steady_clock::time_point Steady() const override;

  // Moves both readings forward by `d` (negative values are ignored).
  void Advance(std::chrono::nanoseconds d);

 private:
  const std::chrono::system_clock::time_point wall_origin_;
  std::atomic<int64_t> elapsed_ns_{0};
};

}  // namespace pier
