#include "base/cron.h"

#include <gtest/gtest.h>

#include "base/harbor_time.h"

namespace pier::replication {
namespace {

using namespace std::chrono;

system_clock::time_point At(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

std::string NextOf(const std::string& spec, system_clock::time_point after) {
  auto c = CronSchedule::Parse(spec);
  EXPECT_TRUE(c.ok()) << spec << ": " << c.status().ToString();
  if (!c.ok()) return "";
  auto t = c->Next(after);
  if (t == system_clock::time_point::max()) return "never";
  return FormatTime(t);
}

TEST(Cron, NextForCommonSchedules) {
  auto t0 = At(2026, 11, 27, 21, 21, 55);  // a Friday
  EXPECT_EQ(NextOf("0 0 * * * *", t0), "2026-11-27T22:00:00.000Z");
  EXPECT_EQ(NextOf("0 */15 * * * *", t0), "2026-11-27T21:30:00.000Z");
  EXPECT_EQ(NextOf("* * * * * *", t0), "2026-11-27T21:21:56.000Z");
  EXPECT_EQ(NextOf("0 30 2 * * *", t0), "2026-11-28T02:30:00.000Z");
  EXPECT_EQ(NextOf("0 0 0 1 1 *", t0), "2027-01-01T00:00:00.000Z");
  EXPECT_EQ(NextOf("0 0 9 * * MON-FRI", t0), "2026-11-30T09:00:00.000Z");  // Monday
  EXPECT_EQ(NextOf("0 0 9 * * 1-5", At(2026, 11, 26, 10)), "2026-11-27T09:00:00.000Z");
  EXPECT_EQ(NextOf("0 0 12 ? * SUN", t0), "2026-11-29T12:00:00.000Z");
  EXPECT_EQ(NextOf("0 0 12 * * 7", t0), "2026-11-29T12:00:00.000Z");  // 7 = Sunday
  EXPECT_EQ(NextOf("0 0 0 29 feb *", t0), "2028-02-29T00:00:00.000Z");
  EXPECT_EQ(NextOf("0 5,10 1-10/3 * * *", t0), "2026-11-28T01:05:00.000Z");
  EXPECT_EQ(NextOf("30 59 23 31 12 *", At(2026, 12, 31, 23, 59, 30)), "2027-12-31T23:59:30.000Z");
  EXPECT_EQ(NextOf("0 0 0 30 2 *", t0), "never");
}

TEST(Cron, DayOfMonthOrDayOfWeekWhenBothRestricted) {
  // The 1st of the month or any Sunday, like classic cron / robfig.
  auto t0 = At(2026, 11, 27);
  EXPECT_EQ(NextOf("0 0 0 1 * SUN", t0), "2026-11-29T00:00:00.000Z");
  EXPECT_EQ(NextOf("0 0 0 1 * SUN", At(2026, 11, 29, 1)), "2026-12-01T00:00:00.000Z");
  EXPECT_EQ(NextOf("0 0 0 13 * FRI", At(2026, 11, 27)), "2026-12-04T00:00:00.000Z");
  // With one side '*', the other decides alone.
  EXPECT_EQ(NextOf("0 0 0 13 * *", At(2026, 11, 27)), "2026-12-13T00:00:00.000Z");
  EXPECT_EQ(NextOf("0 0 0 * * FRI", At(2026, 11, 27)), "2026-12-04T00:00:00.000Z");
  // "*/2" restricts (Sun, Tue, Thu, Sat), so the 13th OR those days.
  EXPECT_EQ(NextOf("0 0 0 13 * */2", At(2026, 11, 27)), "2026-11-28T00:00:00.000Z");
  EXPECT_EQ(NextOf("0 0 0 13 * 1/2", At(2026, 11, 27)), "2026-11-30T00:00:00.000Z");  // Mon, Wed, Fri
  EXPECT_EQ(NextOf("0 0 0 * * 5/2", At(2026, 11, 27)), "2026-12-04T00:00:00.000Z");   // 5/2 = Fri only
}

TEST(Cron, StepFromValueRunsToMax) {
  EXPECT_EQ(NextOf("0 50/5 * * * *", At(2026, 1, 1, 0, 56)), "2026-01-01T01:50:00.000Z");
}

TEST(Cron, Refusals) {
  for (const char* bad : {"", "0 0 * * *", "0 0 * * * * *", "60 * * * * *", "0 0 24 * * *", "0 0 0 0 * *",
                          "0 0 0 * 13 *", "0 0 0 * * 8", "0 */0 * * * *", "0 5-1 * * * *", "0 a * * * *",
                          "0 0 0 * FOO *", "0 0 0 * * ?x", "0 ? * * * *", "@hourly", "0 0,,1 * * *"}) {
    auto c = CronSchedule::Parse(bad);
    EXPECT_FALSE(c.ok()) << bad;
    if (!c.ok()) {
      EXPECT_EQ(c.status().code(), Code::kInvalidArgument);
    }
  }
  EXPECT_NE(CronSchedule::Parse("0 0 * * *").status().message().find("has 5 fields"), std::string::npos);
  EXPECT_NE(CronSchedule::Parse("0 0 25 * * *").status().message().find("hours"), std::string::npos);
}

}  // namespace
}  // namespace pier::replication
