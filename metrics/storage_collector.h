#pragma once
// StorageCollector: the disk-space guard's figures (cache/disk_space.h),
// read when /metrics is scraped.
//
//   pier_storage_free_bytes            gauge    bytes free on the data folder's file system (as the
//                                               reserve check sees them; left out when unknown)
//   pier_storage_reserve_bytes         gauge    storage.reserve_bytes: writes stop below it
//   pier_storage_refusals_total{reason} counter writes refused for lack of room (403 DENIED):
//                                               reason="space" (reserve reached or ENOSPC),
//                                               reason="quota" (a project quota; Store::Stats)
// Every series exists from the first scrape (zeros are data).
#include <prometheus/collectable.h>

#include <memory>
#include <vector>

#include "cache/disk_space.h"
#include "cache/store.h"

namespace pier::metrics {

class StorageCollector : public prometheus::Collectable {
 public:
  // `store` may be null (then no quota series).
  StorageCollector(std::shared_ptr<DiskSpace> space, std::shared_ptr<Store> store)
      : space_(std::move(space)), store_(std::move(store)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<DiskSpace> space_;
  std::shared_ptr<Store> store_;
};

}  // namespace pier::metrics
