#pragma once
// AdvisorCollector: the layer advisor's newest report per repository
// (replication/advisor/advisor.h; made after each tagged push, or asked
// for), summed over repositories, read when /metrics is scraped — the
// dashboard's "Layer advisor" row.
//
//   pier_advisor_repositories                      gauge  repositories with a report
//   pier_advisor_report_timestamp_seconds          gauge  when the newest report was made
//   pier_advisor_image_bytes                       gauge  config + layers of those builds
//   pier_advisor_new_bytes                         gauge  their layers not in each previous build
//   pier_advisor_send_bytes{destination}           gauge  what replication would send there for them
//   pier_advisor_send_seconds{destination}         gauge  that at the destination's measured rate
//                                                         (absent while the rate is unknown)
//   pier_advisor_fat_jar_bytes                     gauge  fat-JAR bytes those builds send
//   pier_advisor_layered_jar_bytes                 gauge  what Spring Boot layered jars would send
//   pier_advisor_gzip_bytes                        gauge  their new gzip layers whose zstd size is known...
//   pier_advisor_zstd_bytes                        gauge  ...and that size as zstd
// No repository label: names of repositories stay out of the metrics (the
// metrics contract: they are unbounded and they leak what is built); the
// per-repository detail is `pier report`'s.
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
