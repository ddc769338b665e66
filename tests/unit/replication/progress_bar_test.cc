#include "replication/progress_bar.h"

#include <gtest/gtest.h>

namespace pier::replication {
namespace {

TEST(ProgressBar, HalfwayWithRateAndEta) {
  ProgressView v;
  v.bytes_total = 200 << 20;
  v.bytes_sent = 100 << 20;
  v.bytes_pending = 100 << 20;
  v.rate = 1'048'576;  // 1 MiB/s → 100 s left
  v.tasks_done = 1;
  v.tasks_total = 2;
  std::string s = FormatProgress(v, 10);
  EXPECT_EQ(s, "[#####-----]  50%  100.0 MiB/200.0 MiB  1.0 MB/s  ETA 1m40s  tasks 1/2");
}

TEST(ProgressBar, UnknownRateShowsDashesNotAGuess) {
  ProgressView v;
  v.bytes_total = 1000;
  v.bytes_pending = 1000;
  EXPECT_EQ(FormatProgress(v, 4), "[----]   0%  0 B/1000 B  -- MB/s  ETA --  tasks 0/0");
  v.bytes_pending = 0;
  EXPECT_NE(FormatProgress(v, 4).find("[####] 100%"), std::string::npos);
}

TEST(ProgressBar, FullOnlyWhenNothingIsPending) {
  ProgressView v;
  v.bytes_total = 1000;
  v.bytes_pending = 1;  // 99.9 %
  EXPECT_EQ(FormatProgress(v, 10).substr(0, 17), "[#########-]  99%");
}

TEST(ProgressBar, AlreadyThereCountsAsDone) {
  ProgressView v;
  v.bytes_total = 4 << 20;
  v.bytes_sent = 1 << 20;
  v.bytes_pending = 1 << 20;  // 2 MiB were skipped or mounted
  EXPECT_EQ(FormatProgress(v, 4).substr(0, 28), "[###-]  75%  3.0 MiB/4.0 MiB");
}

TEST(ProgressBar, FinalLinesShowTheEndAsItIs) {
  ProgressView v;
  v.bytes_total = 200 << 20;
  v.bytes_sent = 60 << 20;
  v.bytes_pending = 140 << 20;
  v.rate = 1e6;
  v.tasks_done = 1;
  v.tasks_total = 2;
  EXPECT_EQ(FormatFinal(v, "Stopped", "", 12, 10),
            "[###-------]  30%  60.0 MiB/200.0 MiB  tasks 1/2  Stopped after 12s: 60.0 MiB sent");
  EXPECT_EQ(FormatFinal(v, "Failed", "PATCH: 500 internal error", 5, 10),
            "[###-------]  30%  60.0 MiB/200.0 MiB  tasks 1/2  Failed after 5s: 60.0 MiB sent; PATCH: 500 internal "
            "error");
  v.bytes_pending = 0;  // the rest was already at the destination
  v.tasks_done = 2;
  EXPECT_EQ(FormatFinal(v, "Succeed", "", 29, 10),
            "[##########] 100%  200.0 MiB/200.0 MiB  tasks 2/2  Succeed in 29s: 60.0 MiB sent, 140.0 MiB already "
            "there");
}

TEST(ProgressBar, Durations) {
  EXPECT_EQ(HumanDuration(45), "45s");
  EXPECT_EQ(HumanDuration(185), "3m05s");
  EXPECT_EQ(HumanDuration(7800), "2h10m");
  EXPECT_EQ(HumanDuration(-1), "--");
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(1536), "1.5 KiB");
}

// The run: 2 MB/s link, 8 MiB chunks acknowledged every ~4.2 s after
// ~3 s of handshakes, polled every 0.5 s. No rate before two steps 3 s apart;
// then the link's rate, not the socket buffer's.
TEST(RateMeter, UnknownUntilStepsSpanSecondsThenTheLinkRate) {
  constexpr double kLink = 2e6;
  constexpr uint64_t kChunk = 8 << 20;
  RateMeter m;
  const double first_ack = 3 + kChunk / kLink;
  for (double t = 0; t < 40; t += 0.5) {
    uint64_t acked = t < first_ack ? 0 : kChunk * static_cast<uint64_t>(1 + (t - first_ack) / (kChunk / kLink));
    m.Add(t, acked);
    auto r = m.Rate(t);
    if (t < first_ack + kChunk / kLink) {
      EXPECT_FALSE(r.has_value()) << "at " << t << " s";
    } else {
      ASSERT_TRUE(r.has_value()) << "at " << t << " s";
      EXPECT_NEAR(*r, kLink, 0.15 * kLink) << "at " << t << " s";
    }
  }
}

TEST(RateMeter, SmallStepsStillNeedSecondsBeforeARate) {
  RateMeter m;  // 3 s minimum span
  m.Add(0, 0);
  for (int i = 1; i <= 20; ++i) {
    double t = i * 0.5;
    m.Add(t, static_cast<uint64_t>(i) * 500'000);  // 1 MB/s in small steps
    if (t < 0.5 + 3) EXPECT_FALSE(m.Rate(t).has_value()) << "at " << t << " s";
    else EXPECT_NEAR(m.Rate(t).value_or(0), 1e6, 1) << "at " << t << " s";
  }
}

TEST(RateMeter, AStallPullsTheRateDown) {
  RateMeter m(30, 1);
  for (int i = 0; i <= 10; ++i) m.Add(i, static_cast<uint64_t>(i) * 1'000'000);  // 1 MB/s
  ASSERT_TRUE(m.Rate(10).has_value());
  EXPECT_NEAR(*m.Rate(10), 1e6, 1);
  EXPECT_NEAR(*m.Rate(11), 1e6, 1);  // within the usual gap
  EXPECT_LT(*m.Rate(30), 0.5e6);     // 20 s without an acknowledgement
}

}  // namespace
}  // namespace pier::replication
