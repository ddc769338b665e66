#include "base/clock.h"

namespace pier {
namespace {

class RealClock final : public Clock {
 public:
  std::chrono::system_clock::time_point Now() const override { return std::chrono::system_clock::now(); }
  std::chrono::steady_clock::time_point Steady() const override { return std::chrono::steady_clock::now(); }
};

}  // namespace

const Clock& SystemClock() {
  static const RealClock clock;
  return clock;
}

FakeClock::FakeClock(std::chrono::system_clock::time_point start) : wall_origin_(start) {}

std::chrono::system_clock::time_point FakeClock::Now() const {
  return wall_origin_ + std::chrono::duration_cast<std::chrono::system_clock::duration>(
                            std::chrono::nanoseconds(elapsed_ns_.load()));
}

std::chrono::steady_clock::time_point FakeClock::Steady() const {
  // A fixed, non-zero origin: code that treats time_point{} as "never" stays right.
  return std::chrono::steady_clock::time_point(std::chrono::hours(1)) +
         std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::nanoseconds(elapsed_ns_.load()));
}

void FakeClock::Advance(std::chrono::nanoseconds d) {
  if (d.count() > 0) elapsed_ns_.fetch_add(d.count());
}

}  // namespace pier
