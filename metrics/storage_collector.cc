#include "metrics/storage_collector.h"

#include "metrics/exposition.h"

namespace pier::metrics {

std::vector<prometheus::MetricFamily> StorageCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  if (std::optional<uint64_t> free = space_->FreeBytes()) {
    out.push_back(GaugeFamily("pier_storage_free_bytes",
                              "Bytes free on the data folder's file system, as the reserve check sees them."));
    Sample(&out.back(), static_cast<double>(*free));
  }
  out.push_back(GaugeFamily("pier_storage_reserve_bytes",
                            "storage.reserve_bytes: uploads are refused while fewer bytes than this are free."));
  Sample(&out.back(), static_cast<double>(space_->reserve_bytes()));
  out.push_back(CounterFamily("pier_storage_refusals_total",
                              "Writes refused for lack of room (403 DENIED), by reason: space = the disk "
                              "reserve was reached or the disk was full; quota = a project's quota."));
  Sample(&out.back(), static_cast<double>(space_->refusals()), {{"reason", "space"}});
  if (store_) Sample(&out.back(), static_cast<double>(store_->GetStats().quota_refusals), {{"reason", "quota"}});
  if (!evictor_) return out;
  const evict::EvictorStats e = evictor_->GetStats();
  if (e.known) {
    auto gauge = [&](const char* name, const char* help, uint64_t v) {
      out.push_back(GaugeFamily(name, help));
      Sample(&out.back(), static_cast<double>(v));
    };
    gauge("pier_storage_used_bytes",
          "Bytes the watermarks are compared with: the store's blobs (storage.max_bytes set) or the file system's "
          "used bytes.",
          e.used_bytes);
    gauge("pier_storage_capacity_bytes", "storage.max_bytes, or the size of the data folder's file system.",
          e.capacity_bytes);
    gauge("pier_storage_high_watermark_bytes", "Capacity eviction starts above this many used bytes.", e.high_bytes);
    gauge("pier_storage_low_watermark_bytes", "Capacity eviction frees down to this many used bytes.", e.low_bytes);
  }
  out.push_back(CounterFamily("pier_storage_evicted_bytes_total",
                              "Blob bytes capacity eviction freed, by reason: cached = pull-through copies, "
                              "replicated = hosted images every destination holds."));
  Sample(&out.back(), static_cast<double>(e.evicted_cached_bytes), {{"reason", "cached"}});
  Sample(&out.back(), static_cast<double>(e.evicted_replicated_bytes), {{"reason", "replicated"}});
  out.push_back(CounterFamily("pier_storage_evicted_images_total", "Images capacity eviction removed."));
  Sample(&out.back(), static_cast<double>(e.images_evicted));
  out.push_back(GaugeFamily("pier_storage_eviction_blocked",
                            "1 when the last eviction pass could not free what it had to: everything left is "
                            "pinned by replication, in use, or not yet safe at its destinations."));
  Sample(&out.back(), e.blocked ? 1.0 : 0.0);
  return out;
}

}  // namespace pier::metrics
