#include "metrics/store_collector.h"

#include <sys/statvfs.h>

#include "metrics/exposition.h"

namespace pier::metrics {
namespace {

void Gauge(std::vector<prometheus::MetricFamily>* out, const char* name, const char* help, double v) {
  out->push_back(GaugeFamily(name, help));
  Sample(&out->back(), v);
}

}  // namespace

void StoreCollector::CollectStoreWide(const Store::Stats& stats, std::vector<prometheus::MetricFamily>* out) const {
  Gauge(out, "pier_cache_stored_bytes", "Bytes of distinct blobs in the store (each digest counted once).",
        static_cast<double>(stats.blob_bytes));
  Gauge(out, "pier_cache_stored_blobs", "Distinct blobs in the store.", static_cast<double>(stats.blobs));
  Gauge(out, "pier_cache_uploads_in_progress", "Blob upload sessions open.", static_cast<double>(stats.uploads));

  // Project quotas: usage for every project, the limit where one is set.
  // (A project seen for the first time gets its quota id here: one write.)
  if (auto quotas = store_->ListQuotas(); quotas.ok()) {
    out->push_back(GaugeFamily("pier_quota_used_bytes",
                               "Bytes a project holds, each blob and manifest counted once per project."));
    prometheus::MetricFamily limits =
        GaugeFamily("pier_quota_limit_bytes", "A project's storage quota in bytes (projects with a limit).");
    for (const auto& q : *quotas) {
      Sample(&out->back(), static_cast<double>(q.used), {{"project", q.project}});
      if (q.hard >= 0) Sample(&limits, static_cast<double>(q.hard), {{"project", q.project}});
    }
    out->push_back(std::move(limits));
  }
}

std::vector<prometheus::MetricFamily> StoreCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  const bool store_wide = !reports_cluster_ || reports_cluster_();
  const Store::Stats stats = store_->GetStats();
  if (store_wide) CollectStoreWide(stats, &out);
  // This process's own: deduplication it did, the disk it writes to.
  out.push_back(CounterFamily("pier_cache_dedup_saved_bytes_total",
                              "Bytes not stored again because the digest was already stored "
                              "(duplicate upload or cross-repository mount), since start."));
  Sample(&out.back(), static_cast<double>(stats.dedup_saved_bytes));
  struct statvfs vfs {};
  if (::statvfs(data_dir_.c_str(), &vfs) == 0) {
    const double unit = static_cast<double>(vfs.f_frsize);
    Gauge(&out, "pier_cache_disk_free_bytes", "Bytes available to Pier on the data folder's filesystem.",
          static_cast<double>(vfs.f_bavail) * unit);
    Gauge(&out, "pier_cache_disk_size_bytes", "Size of the data folder's filesystem in bytes.",
          static_cast<double>(vfs.f_blocks) * unit);
  }
  return out;
}

}  // namespace pier::metrics
