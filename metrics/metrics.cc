#include "metrics/metrics.h"

#include <prometheus/gauge.h>

#include "metrics/internal_errors_collector.h"
#include "metrics/process_collector.h"
#include "metrics/storage_collector.h"
#include "metrics/advisor_collector.h"
#include "metrics/cluster_collector.h"
#include "metrics/transcode_collector.h"
#include "metrics/store_collector.h"

namespace pier::metrics {

Metrics::Metrics(const MetricsOptions& o)
    : registry_(std::make_shared<prometheus::Registry>()),
      http_(std::make_shared<HttpMetrics>(registry_)),
      replication_(std::make_shared<ReplicationMetrics>(registry_, o.replica)),
      proxy_(std::make_shared<ProxyMetrics>(registry_)),
      gc_(std::make_shared<GcMetrics>(registry_)),
      exposition_(std::make_shared<Exposition>()) {
  prometheus::BuildGauge()
      .Name("pier_build_info")
      .Help("Always 1; the labels say which Pier build is running.")
      .Register(*registry_)
      .Add({{"version", o.version}, {"revision", o.revision}})
      .Set(1);
  exposition_->Add(registry_);
  if (o.store) {
    std::function<bool()> reports_cluster;
    if (o.leadership) reports_cluster = [l = o.leadership] { return l->leader(); };
    exposition_->Add(std::make_shared<StoreCollector>(o.store, o.data_dir, std::move(reports_cluster)));
  }
  if (o.disk_space) exposition_->Add(std::make_shared<StorageCollector>(o.disk_space, o.store, o.evictor));
  if (o.transcoder) exposition_->Add(std::make_shared<TranscodeCollector>(o.transcoder));
  if (o.advisor) exposition_->Add(std::make_shared<AdvisorCollector>(o.advisor));
  if (o.leadership) exposition_->Add(std::make_shared<ClusterCollector>(o.leadership, o.replica));
  exposition_->Add(std::make_shared<ProcessCollector>());
  exposition_->Add(std::make_shared<InternalErrorsCollector>());
}

}  // namespace pier::metrics
