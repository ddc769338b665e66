#pragma once
// GcMetrics: the garbage collector's reports (gc::GcObserver) as Prometheus
// families. Every series exists at zero from the start.
//
//   pier_gc_runs_total{result}                   counter  runs ended: success|error|stopped (dry runs too)
//   pier_gc_reclaimed_bytes_total                counter  bytes freed by real runs (blobs, uploads, orphans)
//   pier_gc_reclaimed_blobs_total                counter  blob files freed by real runs
//   pier_gc_duration_seconds                     gauge    how long the last run took
//   pier_gc_last_success_timestamp_seconds       gauge    end of the last successful real run (from the
//                                                         history at startup; 0: none yet)
//   pier_gc_pinned_bytes                         gauge    bytes the last run kept because replication still
//                                                         needs them
//   pier_gc_last_run_error                       gauge    1 when the last run ended in Error
//   pier_gc_schedule_interval_seconds            gauge    the schedule's period (longest gap between its
//                                                         next fire times); 0: no schedule
//
// The duration is a last-run gauge, not a histogram: GC runs a few times a
// day at most, so buckets would hold a handful of samples and quantiles over
// them say nothing; the gauge's history in Prometheus is the series of run
// durations, and its current value answers "how long does GC take now".
// A dry run counts in runs_total and duration but frees nothing, so it moves
// neither the reclaimed counters nor the last success. The alert
// PierGcNotRun compares the last success with the schedule's period, so a
// weekly schedule does not alarm after a day.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <memory>

#include "cache/gc/gc_service.h"

namespace pier::metrics {

class GcMetrics : public gc::GcObserver {
 public:
  explicit GcMetrics(std::shared_ptr<prometheus::Registry> registry);

  void OnRunFinished(const gc::GcRun& run, double duration_seconds) override;
  void OnScheduled(double interval_seconds) override;
  void OnLastSuccess(int64_t unix_ms) override;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& runs_;
  prometheus::Counter& reclaimed_bytes_;
  prometheus::Counter& reclaimed_blobs_;
  prometheus::Gauge& duration_;
  prometheus::Gauge& last_success_;
  prometheus::Gauge& pinned_bytes_;
  prometheus::Gauge& last_error_;
  prometheus::Gauge& interval_;
};

}  // namespace pier::metrics
