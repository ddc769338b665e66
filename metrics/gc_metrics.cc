#include "metrics/gc_metrics.h"

namespace pier::metrics {
namespace {

prometheus::Counter& Counter(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildCounter().Name(name).Help(help).Register(r).Add({});
}
prometheus::Gauge& Gauge(prometheus::Registry& r, const char* name, const char* help) {
  return prometheus::BuildGauge().Name(name).Help(help).Register(r).Add({});
}

}  // namespace

GcMetrics::GcMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      runs_(prometheus::BuildCounter()
                .Name("pier_gc_runs_total")
                .Help("Garbage collection runs ended, by result: success, error, stopped (dry runs included).")
                .Register(*registry_)),
      reclaimed_bytes_(Counter(*registry_, "pier_gc_reclaimed_bytes_total",
                               "Bytes garbage collection freed: blob files, expired uploads and crash leftovers "
                               "(dry runs free nothing).")),
      reclaimed_blobs_(Counter(*registry_, "pier_gc_reclaimed_blobs_total", "Blob files garbage collection freed.")),
      duration_(Gauge(*registry_, "pier_gc_duration_seconds", "Seconds the last garbage collection run took.")),
      last_success_(Gauge(*registry_, "pier_gc_last_success_timestamp_seconds",
                          "Unix time the last successful garbage collection (not a dry run) ended; 0: none.")),
      pinned_bytes_(Gauge(*registry_, "pier_gc_pinned_bytes",
                          "Bytes the last garbage collection run kept only because a replication still has to "
                          "send them.")),
      last_error_(Gauge(*registry_, "pier_gc_last_run_error", "1 when the last garbage collection run ended in Error.")),
      interval_(Gauge(*registry_, "pier_gc_schedule_interval_seconds",
                      "Period of the garbage collection schedule (longest gap between its next fire times); "
                      "0: no schedule.")) {
  for (const char* result : {"success", "error", "stopped"}) runs_.Add({{"result", result}});
}

void GcMetrics::OnRunFinished(const gc::GcRun& run, double duration_seconds) {
  const char* result = run.status == gc::kSuccess ? "success" : run.status == gc::kStopped ? "stopped" : "error";
  runs_.Add({{"result", result}}).Increment();
  last_error_.Set(run.status == gc::kError ? 1 : 0);
  duration_.Set(duration_seconds);
  if (!run.report) return;
  const GcReport& r = *run.report;
  pinned_bytes_.Set(static_cast<double>(r.pinned_bytes));
  if (run.parameters.dry_run) return;
  reclaimed_bytes_.Increment(static_cast<double>(r.blob_bytes_deleted + r.upload_bytes_deleted + r.orphan_bytes_deleted));
  reclaimed_blobs_.Increment(static_cast<double>(r.blobs_deleted));
  if (run.status == gc::kSuccess) last_success_.Set(static_cast<double>(run.updated_ms) / 1000.0);
}

void GcMetrics::OnScheduled(double interval_seconds) { interval_.Set(interval_seconds); }

void GcMetrics::OnLastSuccess(int64_t unix_ms) { last_success_.Set(static_cast<double>(unix_ms) / 1000.0); }

}  // namespace pier::metrics
