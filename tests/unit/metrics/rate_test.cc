#include "metrics/rate.h"

#include <gtest/gtest.h>

#include <cmath>

namespace pier::metrics {
namespace {

using namespace std::chrono_literals;
using Clock = EwmaRate::Clock;

TEST(EwmaRate, ConvergesToASteadyRate) {
  EwmaRate r(15s);
  const auto t0 = Clock::time_point() + 1000s;
  uint64_t total = 0;
  r.Update(total, t0);
  EXPECT_EQ(r.rate(), 0.0);  // a baseline is not a rate
  // 1 MB/s for one time constant: 63% of the way there...
  for (int s = 1; s <= 15; ++s) r.Update(total += 1'000'000, t0 + std::chrono::seconds(s));
  EXPECT_NEAR(r.rate(), 1e6 * (1 - std::exp(-1.0)), 1e3);
  // ... and within 0.1% after ten.
  for (int s = 16; s <= 150; ++s) r.Update(total += 1'000'000, t0 + std::chrono::seconds(s));
  EXPECT_NEAR(r.rate(), 1e6, 1e3);
}

TEST(EwmaRate, IrregularUpdatesGiveTheSameAnswer) {
  // Same traffic (1 MB/s for 60 s), sampled every second or every 6 s.
  EwmaRate fine(15s), coarse(15s);
  const auto t0 = Clock::time_point() + 1000s;
  fine.Update(0, t0);
  coarse.Update(0, t0);
  for (int s = 1; s <= 60; ++s) fine.Update(uint64_t(s) * 1'000'000, t0 + std::chrono::seconds(s));
  for (int s = 6; s <= 60; s += 6) coarse.Update(uint64_t(s) * 1'000'000, t0 + std::chrono::seconds(s));
  EXPECT_NEAR(fine.rate(), coarse.rate(), 1.0);
  EXPECT_NEAR(fine.rate(), 1e6 * (1 - std::exp(-4.0)), 1e3);
}

TEST(EwmaRate, DecaysToExactlyZeroWhenStalled) {
  EwmaRate r(15s);
  const auto t0 = Clock::time_point() + 1000s;
  r.Update(0, t0);
  r.Update(100'000'000, t0 + 100s);  // 1 MB/s average
  const double before = r.rate();
  EXPECT_GT(before, 0.0);
  r.Update(100'000'000, t0 + 115s);  // nothing for one time constant
  EXPECT_NEAR(r.rate(), before * std::exp(-1.0), 1.0);
  r.Update(100'000'000, t0 + 1000s);
  EXPECT_EQ(r.rate(), 0.0);
}

TEST(EwmaRate, IgnoresTimeGoingBackwards) {
  EwmaRate r(10s);
  const auto t0 = Clock::time_point() + 1000s;
  r.Update(0, t0);
  r.Update(1000, t0 + 1s);
  const double v = r.rate();
  r.Update(5000, t0 + 1s);  // same instant
  r.Update(9000, t0);       // earlier
  EXPECT_EQ(r.rate(), v);
}

TEST(Eta, ZeroInfiniteOrPendingOverRate) {
  EXPECT_EQ(EtaSeconds(0, 0.0), 0.0);
  EXPECT_EQ(EtaSeconds(0, 1e6), 0.0);
  EXPECT_TRUE(std::isinf(EtaSeconds(1, 0.0)));
  EXPECT_GT(EtaSeconds(1, 0.0), 0.0);
  EXPECT_DOUBLE_EQ(EtaSeconds(10'000'000, 2e6), 5.0);
}

}  // namespace
}  // namespace pier::metrics
