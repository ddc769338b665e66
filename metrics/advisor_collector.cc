#include "metrics/advisor_collector.h"

#include <algorithm>
#include <map>
#include <string>

#include "metrics/exposition.h"

namespace pier::metrics {

std::vector<prometheus::MetricFamily> AdvisorCollector::Collect() const {
  const std::vector<advisor::ReportDigest> reports = a_->Latest();
  struct Dest {
    uint64_t bytes = 0;
    double seconds = 0;
    bool rate_known = true;
  };
  uint64_t image = 0, fresh = 0, fat = 0, layered = 0, gzip = 0, zstd = 0;
  int64_t newest = 0;
  std::map<std::string, Dest> dests;
  for (const advisor::ReportDigest& r : reports) {
    image += r.image_bytes;
    fresh += r.new_bytes;
    fat += r.fat_jar_bytes;
    layered += r.layered_jar_bytes;
    gzip += r.gzip_bytes;
    zstd += r.zstd_bytes;
    newest = std::max(newest, r.made_unix);
    for (const auto& d : r.destinations) {
      Dest& x = dests[d.name];
      x.bytes += d.missing_bytes;
      if (d.seconds) x.seconds += *d.seconds;
      else if (d.missing_bytes > 0) x.rate_known = false;
    }
  }
  std::vector<prometheus::MetricFamily> out;
  auto add = [&](prometheus::MetricFamily f, double v) {
    out.push_back(std::move(f));
    Sample(&out.back(), v);
  };
  add(GaugeFamily("pier_advisor_repositories", "Repositories the layer advisor has a report on."),
      static_cast<double>(reports.size()));
  add(GaugeFamily("pier_advisor_report_timestamp_seconds", "When the newest layer advisor report was made."),
      static_cast<double>(newest));
  add(GaugeFamily("pier_advisor_image_bytes", "Config and layer bytes of each repository's newest build, summed."),
      static_cast<double>(image));
  add(GaugeFamily("pier_advisor_new_bytes", "Layer bytes of each repository's newest build not in its previous build, summed."),
      static_cast<double>(fresh));
  out.push_back(GaugeFamily("pier_advisor_send_bytes", "Bytes replication would send to the destination for the newest builds."));
  out.push_back(GaugeFamily("pier_advisor_send_seconds", "Seconds those bytes take at the destination's measured rate."));
  const size_t bytes_at = out.size() - 2, seconds_at = out.size() - 1;
  for (const auto& [name, d] : dests) {
    Sample(&out[bytes_at], static_cast<double>(d.bytes), {{"destination", name}});
    if (d.rate_known) Sample(&out[seconds_at], d.seconds, {{"destination", name}});
  }
  add(GaugeFamily("pier_advisor_fat_jar_bytes", "Fat-JAR bytes the newest builds send."), static_cast<double>(fat));
  add(GaugeFamily("pier_advisor_layered_jar_bytes", "Bytes Spring Boot layered jars would send for the same changes."),
      static_cast<double>(layered));
  add(GaugeFamily("pier_advisor_gzip_bytes", "New gzip layers of the newest builds whose zstd size is known."),
      static_cast<double>(gzip));
  add(GaugeFamily("pier_advisor_zstd_bytes", "Those layers' size as zstd (level 3, or the stored copy)."),
      static_cast<double>(zstd));
  return out;
}

}  // namespace pier::metrics
