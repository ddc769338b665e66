#include "metrics/advisor_collector.h"

#include "metrics/exposition.h"

namespace pier::metrics {

std::vector<prometheus::MetricFamily> AdvisorCollector::Collect() const {
  const std::vector<advisor::ReportDigest> reports = a_->Latest();
  std::vector<prometheus::MetricFamily> out;
  out.push_back(GaugeFamily("pier_advisor_report_info", "The build the layer advisor reported on last, per repository."));
  out.push_back(GaugeFamily("pier_advisor_report_timestamp_seconds", "When the newest report of a repository was made."));
  out.push_back(GaugeFamily("pier_advisor_image_bytes", "Config and layer bytes of the build reported on."));
  out.push_back(GaugeFamily("pier_advisor_new_bytes", "Layer bytes not in the previous build."));
  out.push_back(GaugeFamily("pier_advisor_send_bytes", "Bytes replication would send to the destination for the build."));
  out.push_back(GaugeFamily("pier_advisor_send_seconds",
                            "Seconds those bytes take at the destination's measured rate."));
  out.push_back(GaugeFamily("pier_advisor_fat_jar_bytes", "Fat-JAR bytes the build sends."));
  out.push_back(GaugeFamily("pier_advisor_layered_jar_bytes",
                            "Bytes a Spring Boot layered jar would send for the same change."));
  out.push_back(GaugeFamily("pier_advisor_zstd_bytes", "The new gzip layers' size as zstd (estimated or exact)."));
  out.push_back(GaugeFamily("pier_advisor_gzip_bytes", "The new gzip layers whose zstd size is known."));
  for (const advisor::ReportDigest& r : reports) {
    const LabelPairs repo = {{"repository", r.repository}};
    Sample(&out[0], 1, {{"repository", r.repository}, {"reference", r.reference}});
    Sample(&out[1], static_cast<double>(r.made_unix), repo);
    Sample(&out[2], static_cast<double>(r.image_bytes), repo);
    Sample(&out[3], static_cast<double>(r.new_bytes), repo);
    for (const auto& d : r.destinations) {
      const LabelPairs labels = {{"repository", r.repository}, {"destination", d.name}};
      Sample(&out[4], static_cast<double>(d.missing_bytes), labels);
      if (d.seconds) Sample(&out[5], *d.seconds, labels);
    }
    Sample(&out[6], static_cast<double>(r.fat_jar_bytes), repo);
    Sample(&out[7], static_cast<double>(r.layered_jar_bytes), repo);
    Sample(&out[8], static_cast<double>(r.zstd_bytes), repo);
    Sample(&out[9], static_cast<double>(r.gzip_bytes), repo);
  }
  return out;
}

}  // namespace pier::metrics
