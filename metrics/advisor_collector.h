#pragma once
// AdvisorCollector: the layer advisor's newest report per repository
// (replication/advisor/advisor.h; made after each tagged push, or asked
// for), read when /metrics is scraped — the dashboard's "Layer advisor" row.
//
//   pier_advisor_report_info{repository,reference}            gauge  1 for the build reported on
//   pier_advisor_report_timestamp_seconds{repository}         gauge  when that report was made
//   pier_advisor_image_bytes{repository}                      gauge  config + layers of the build
//   pier_advisor_new_bytes{repository}                        gauge  layers not in the previous build
//   pier_advisor_send_bytes{repository,destination}           gauge  what replication would send there
//   pier_advisor_send_seconds{repository,destination}         gauge  that at the destination's measured
//                                                                    rate (absent while the rate is unknown)
//   pier_advisor_fat_jar_bytes{repository}                    gauge  fat-JAR bytes this build sends
//   pier_advisor_layered_jar_bytes{repository}                gauge  what a Spring Boot layered jar would send
//   pier_advisor_gzip_bytes{repository}                       gauge  the new gzip layers whose zstd size
//                                                                    is known (estimated or made)...
//   pier_advisor_zstd_bytes{repository}                       gauge  ...and that size as zstd
// One series set per repository (its newest report): bounded by the
// repositories, not by builds.
#include <prometheus/collectable.h>

#include <memory>
#include <vector>

#include "replication/advisor/advisor.h"

namespace pier::metrics {

class AdvisorCollector : public prometheus::Collectable {
 public:
  explicit AdvisorCollector(std::shared_ptr<advisor::Advisor> a) : a_(std::move(a)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<advisor::Advisor> a_;
};

}  // namespace pier::metrics
