#include "replication/progress_bar.h"

#include <gtest/gtest.h>

namespace pier::replication {
namespace {

TEST(ProgressBar, HalfwayWithRateAndEta) {
  ProgressView v;
  v.bytes_total = 200 << 20;
  v.bytes_pending = 100 << 20;
  v.rate = 1'048'576;  // 1 MiB/s → 100 s left
  v.tasks_done = 1;
  v.tasks_total = 2;
  std::string s = FormatProgress(v, 10);
  EXPECT_EQ(s, "[#####-----]  50%  100.0 MiB/200.0 MiB  1.0 MB/s  ETA 1m40s  tasks 1/2");
}

TEST(ProgressBar, NoRateMeansUnknownEta) {
  ProgressView v;
  v.bytes_total = 1000;
  v.bytes_pending = 1000;
  EXPECT_NE(FormatProgress(v, 4).find("ETA --"), std::string::npos);
  v.bytes_pending = 0;
  EXPECT_NE(FormatProgress(v, 4).find("[####] 100%"), std::string::npos);
}

TEST(ProgressBar, Durations) {
  EXPECT_EQ(HumanDuration(45), "45s");
  EXPECT_EQ(HumanDuration(185), "3m05s");
  EXPECT_EQ(HumanDuration(7800), "2h10m");
  EXPECT_EQ(HumanDuration(-1), "--");
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
}

TEST(RateMeter, ConvergesToSteadyRate) {
  RateMeter m(2);
  for (int i = 0; i <= 60; ++i) m.Add(i * 0.5, static_cast<uint64_t>(i) * 500'000);  // 1 MB/s
  EXPECT_NEAR(m.rate(), 1'000'000, 1'000);
  m.Add(31, 30'500'000);  // a stall of 0.5 s at the same byte count pulls it down
  EXPECT_LT(m.rate(), 1'000'000);
}

}  // namespace
}  // namespace pier::replication
