#pragma once
// ProcessCollector: the standard process_* metrics every Prometheus client
// exports (same names and meanings as the Go and Python clients), read from
// /proc when /metrics is scraped:
//
//   process_cpu_seconds_total       counter  user + system CPU time
//   process_resident_memory_bytes   gauge
//   process_virtual_memory_bytes    gauge
//   process_open_fds                gauge
//   process_max_fds                 gauge    soft RLIMIT_NOFILE
//   process_start_time_seconds      gauge    Unix time the process started
// A value that cannot be read is left out of that scrape.
#include <prometheus/collectable.h>

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace pier::metrics {

// The fields of /proc/<pid>/stat used here, in the kernel's units.
struct ProcStat {
  uint64_t utime_ticks = 0;
  uint64_t stime_ticks = 0;
  uint64_t start_ticks = 0;  // after boot
  uint64_t vsize_bytes = 0;
  uint64_t rss_pages = 0;
};
// Parses the text of /proc/<pid>/stat (the command name may hold spaces and
// parentheses); nullopt when malformed.
std::optional<ProcStat> ParseProcStat(std::string_view text);
// The "btime" line of /proc/stat: boot time in Unix seconds.
std::optional<uint64_t> ParseBootTime(std::string_view proc_stat_text);

class ProcessCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace pier::metrics
