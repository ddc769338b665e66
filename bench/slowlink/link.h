#pragma once
// Link: what every connection through one slowlink shares: the link's shape
// (Config), the total-rate token buckets, the counters and the stats
// reporter. Connections hold it by shared_ptr, so it outlives them all.
#include <cstddef>
#include <memory>

#include "bench/slowlink/config.h"
#include "bench/slowlink/stats.h"
#include "bench/slowlink/stats_reporter.h"
#include "bench/slowlink/token_bucket.h"

namespace pier::slowlink {

struct Link {
  Link(boost::asio::io_context& io, Config config);

  // How many bytes a pipe may hold in flight: a fixed window plus the
  // bandwidth-delay product at its rate (or at 256 MB/s when uncapped), so
  // latency alone never caps throughput.
  size_t MaxQueued(bool up) const;
  // The per-connection rate for a direction; 0 = none.
  uint64_t PerConnRate(bool up) const { return up || config.limit_down ? config.rate_per_conn : 0; }

  const Config config;
  std::shared_ptr<Counters> counters;
  StatsReporter reporter;
  std::unique_ptr<TokenBucket> up_total;    // null: no --rate
  std::unique_ptr<TokenBucket> down_total;  // null: no --rate or --direction up
};

}  // namespace pier::slowlink
