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
  return out;
}

}  // namespace pier::metrics
