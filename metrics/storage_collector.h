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
// With capacity eviction (cache/evict/evictor.h):
//   pier_storage_used_bytes            gauge    what the watermarks are compared with: the store's
//                                               blob bytes (storage.max_bytes set) or the file
//                                               system's used bytes
//   pier_storage_capacity_bytes        gauge    storage.max_bytes, or the file system's size
//   pier_storage_high_watermark_bytes  gauge    eviction starts above this...
//   pier_storage_low_watermark_bytes   gauge    ...and frees down to this
//   pier_storage_evicted_bytes_total{reason} counter  blob bytes eviction freed: reason="cached"
//                                               (pull-through copies), "replicated" (hosted images
//                                               every destination holds)
//   pier_storage_evicted_images_total  counter  images (manifest + what only it used) evicted
//   pier_storage_eviction_blocked      gauge    1: the last pass could not free what it had to
//                                               (everything left is pinned, in use or not safe)
// Every series exists from the first scrape (zeros are data).
#include <prometheus/collectable.h>

#include <memory>
#include <vector>

#include "cache/disk_space.h"
#include "cache/evict/evictor.h"
#include "cache/store.h"

namespace pier::metrics {

class StorageCollector : public prometheus::Collectable {
 public:
  // `store` may be null (then no quota series).
  // `evictor` may be null (then no capacity series).
  StorageCollector(std::shared_ptr<DiskSpace> space, std::shared_ptr<Store> store,
                   std::shared_ptr<evict::Evictor> evictor = nullptr)
      : space_(std::move(space)), store_(std::move(store)), evictor_(std::move(evictor)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<DiskSpace> space_;
  std::shared_ptr<Store> store_;
  std::shared_ptr<evict::Evictor> evictor_;
};

}  // namespace pier::metrics
