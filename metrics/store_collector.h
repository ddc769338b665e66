#pragma once
// StoreCollector: the cache's gauges, read when /metrics is scraped (no
// polling in between): Store::GetStats() (counters kept in step with commits
// and deletes) and statvfs(2) of the data folder.
//
//   pier_cache_stored_bytes          gauge    bytes of distinct blobs stored
//   pier_cache_stored_blobs          gauge    distinct blobs stored
//   pier_cache_dedup_saved_bytes_total counter bytes not stored again (duplicate upload or mount)
//   pier_cache_uploads_in_progress   gauge    upload sessions open
//   pier_cache_disk_free_bytes       gauge    space available to Pier on the data folder's filesystem
//   pier_cache_disk_size_bytes       gauge    size of that filesystem
//   pier_quota_used_bytes{project}   gauge    a project's usage (blobs and manifests, once per project)
//   pier_quota_limit_bytes{project}  gauge    its quota, for projects that have one
// The disk gauges are left out of a scrape if statvfs fails.
// Replicas sharing their records (PostgreSQL) report the same store-wide
// figures (stored bytes and blobs, uploads, quota usage and limits): only
// the leader exports them (`reports_cluster`), so the dashboard's sum() over
// instances counts the cluster once, as it counts each single node once.
#include <prometheus/collectable.h>

#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

#include "cache/store.h"

namespace pier::metrics {

class StoreCollector : public prometheus::Collectable {
 public:
  // reports_cluster: whether this process exports the store-wide figures
  // (null: always, a single node).
  StoreCollector(std::shared_ptr<Store> store, std::filesystem::path data_dir,
                 std::function<bool()> reports_cluster = nullptr)
      : store_(std::move(store)), data_dir_(std::move(data_dir)), reports_cluster_(std::move(reports_cluster)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  void CollectStoreWide(const Store::Stats& stats, std::vector<prometheus::MetricFamily>* out) const;

  std::shared_ptr<Store> store_;
  std::filesystem::path data_dir_;
  std::function<bool()> reports_cluster_;
};

}  // namespace pier::metrics
