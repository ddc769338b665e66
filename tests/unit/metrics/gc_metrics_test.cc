// GcMetrics: every series at zero from the start, then what runs report,
// read back from the text a scrape returns.
#include "metrics/gc_metrics.h"

#include <gtest/gtest.h>

#include "tests/unit/metrics/text_util.h"

namespace pier::metrics {
namespace {

using testing::Type;
using testing::Value;

class GcMetricsTest : public ::testing::Test {
 protected:
  std::string Text() { return testing::Scrape(registry_); }
  static gc::GcRun Run(std::string_view status, bool dry_run, uint64_t bytes) {
    gc::GcRun r;
    r.status = std::string(status);
    r.parameters.dry_run = dry_run;
    r.updated_ms = 1767225600123;
    GcReport rep;
    rep.blobs_deleted = 2;
    rep.blob_bytes_deleted = bytes;
    rep.upload_bytes_deleted = 10;
    rep.pinned_bytes = 77;
    r.report = rep;
    return r;
  }
  std::shared_ptr<prometheus::Registry> registry_ = std::make_shared<prometheus::Registry>();
  std::shared_ptr<GcMetrics> m_ = std::make_shared<GcMetrics>(registry_);
};

TEST_F(GcMetricsTest, EverySeriesExistsAtZero) {
  const std::string t = Text();
  for (const char* r : {"success", "error", "stopped"}) {
    EXPECT_EQ(Value(t, std::string("pier_gc_runs_total{result=\"") + r + "\"}"), 0) << t;
  }
  EXPECT_EQ(Value(t, "pier_gc_reclaimed_bytes_total"), 0);
  EXPECT_EQ(Value(t, "pier_gc_reclaimed_blobs_total"), 0);
  EXPECT_EQ(Value(t, "pier_gc_duration_seconds"), 0);
  EXPECT_EQ(Value(t, "pier_gc_last_success_timestamp_seconds"), 0);
  EXPECT_EQ(Value(t, "pier_gc_pinned_bytes"), 0);
  EXPECT_EQ(Value(t, "pier_gc_schedule_interval_seconds"), 0);
  EXPECT_EQ(Value(t, "pier_gc_last_run_error"), 0);
  EXPECT_EQ(Type(t, "pier_gc_duration_seconds"), "gauge");
  EXPECT_EQ(Type(t, "pier_gc_runs_total"), "counter");
}

TEST_F(GcMetricsTest, RunsMoveTheSeries) {
  m_->OnScheduled(86400);
  m_->OnRunFinished(Run(gc::kSuccess, true, 1000), 1.5);  // dry: frees nothing
  std::string t = Text();
  EXPECT_EQ(Value(t, "pier_gc_runs_total{result=\"success\"}"), 1);
  EXPECT_EQ(Value(t, "pier_gc_reclaimed_bytes_total"), 0);
  EXPECT_EQ(Value(t, "pier_gc_last_success_timestamp_seconds"), 0);
  EXPECT_EQ(Value(t, "pier_gc_duration_seconds"), 1.5);
  EXPECT_EQ(Value(t, "pier_gc_pinned_bytes"), 77);
  EXPECT_EQ(Value(t, "pier_gc_schedule_interval_seconds"), 86400);
  m_->OnRunFinished(Run(gc::kSuccess, false, 1000), 2);
  m_->OnRunFinished(Run(gc::kStopped, false, 5), 1);
  gc::GcRun failed;
  failed.status = std::string(gc::kError);
  m_->OnRunFinished(failed, 0.25);
  t = Text();
  EXPECT_EQ(Value(t, "pier_gc_last_run_error"), 1);
  EXPECT_EQ(Value(t, "pier_gc_runs_total{result=\"success\"}"), 2);
  EXPECT_EQ(Value(t, "pier_gc_runs_total{result=\"stopped\"}"), 1);
  EXPECT_EQ(Value(t, "pier_gc_runs_total{result=\"error\"}"), 1);
  EXPECT_EQ(Value(t, "pier_gc_reclaimed_bytes_total"), 1010 + 15);
  EXPECT_EQ(Value(t, "pier_gc_reclaimed_blobs_total"), 4);
  ASSERT_SERIES(last, t, "pier_gc_last_success_timestamp_seconds");
  EXPECT_NEAR(last, 1767225600.123, 1e-3);
  EXPECT_EQ(Value(t, "pier_gc_duration_seconds"), 0.25);
  m_->OnLastSuccess(1767225700000);
  m_->OnScheduled(0);
  t = Text();
  EXPECT_EQ(Value(t, "pier_gc_last_success_timestamp_seconds"), 1767225700);
  EXPECT_EQ(Value(t, "pier_gc_schedule_interval_seconds"), 0);
  m_->OnRunFinished(Run(gc::kSuccess, false, 0), 1);
  EXPECT_EQ(Value(Text(), "pier_gc_last_run_error"), 0);
}

}  // namespace
}  // namespace pier::metrics
