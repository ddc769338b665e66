#pragma once
// Metrics: everything Pier exports to Prometheus, built once in `pier serve`
// and handed to the parts that report into it:
//  - http():        fed by InstrumentedHandler around the top-level handler;
//  - replication(): the ReplicationObserver to give the replication engine;
//  - gc():          the GcObserver to give the garbage collection service;
//  - exposition():  what MetricsHandler serves at /metrics.
// Scrape-time sources (the store's gauges, process_*, pier_build_info,
// pier_internal_errors_total) are registered here too. Names follow Prometheus conventions: prefix pier_,
// base units in the name, _total on counters.
#include <prometheus/registry.h>

#include <filesystem>
#include <memory>
#include <string>

#include "cache/disk_space.h"
#include "cache/evict/evictor.h"
#include "cache/transcode/transcoder.h"
#include "replication/advisor/advisor.h"
#include "cache/leadership.h"
#include "cache/store.h"
#include "metrics/exposition.h"
#include "metrics/gc_metrics.h"
#include "metrics/http_metrics.h"
#include "metrics/proxy_metrics.h"
#include "metrics/replication_metrics.h"

namespace pier::metrics {

struct MetricsOptions {
  std::shared_ptr<Store> store;  // null: no pier_cache_* scrape-time gauges
  std::filesystem::path data_dir;
  std::string version = "unknown";
  std::string revision = "unknown";
  std::shared_ptr<DiskSpace> disk_space;  // null: no pier_storage_* gauges
  std::shared_ptr<evict::Evictor> evictor;  // null: no capacity/eviction series
  std::shared_ptr<transcode::Transcoder> transcoder;  // null: no pier_transcode_* series
  std::shared_ptr<advisor::Advisor> advisor;          // null: no pier_advisor_* series
  std::shared_ptr<Leadership> leadership = nullptr;  // null: no pier_cluster_* series (a single node)
  std::string replica = "";                          // their `replica` label
};

class Metrics {
 public:
  explicit Metrics(const MetricsOptions& options);

  const std::shared_ptr<HttpMetrics>& http() const { return http_; }
  const std::shared_ptr<ReplicationMetrics>& replication() const { return replication_; }
  // The PullThroughObserver to give the pull-through cache.
  const std::shared_ptr<ProxyMetrics>& proxy() const { return proxy_; }
  // The GcObserver to give the garbage collection service.
  const std::shared_ptr<GcMetrics>& gc() const { return gc_; }
  const std::shared_ptr<Exposition>& exposition() const { return exposition_; }
  prometheus::Registry& registry() { return *registry_; }

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<HttpMetrics> http_;
  std::shared_ptr<ReplicationMetrics> replication_;
  std::shared_ptr<ProxyMetrics> proxy_;
  std::shared_ptr<GcMetrics> gc_;
  std::shared_ptr<Exposition> exposition_;
};

}  // namespace pier::metrics
