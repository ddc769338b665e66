#pragma once
// StorageCollector: the disk-space guard's figures (cache/disk_space.h),
// read when /metrics is scraped.
//
//   pier_storage_free_bytes            gauge    bytes free on the data folder's file system (as the
//                                               reserve check sees them; left out when unknown)
//   pier_storage_reserve_bytes         gauge    storage.reserve_bytes: writes stop below it
//   pier_storage_refusals_total{reason} counter writes refused for lack of room; reason="space"
//                                               (reserve reached or ENOSPC); "quota" is kept for quotas
// Every series exists from the first scrape (zeros are data).
#include <prometheus/collectable.h>

#include <memory>
#include <vector>

#include "cache/disk_space.h"

namespace pier::metrics {

class StorageCollector : public prometheus::Collectable {
 public:
  explicit StorageCollector(std::shared_ptr<DiskSpace> space) : space_(std::move(space)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<DiskSpace> space_;
};

}  // namespace pier::metrics
