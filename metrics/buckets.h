#pragma once
// Histogram bucket boundaries shared by Pier's families (base units:
// seconds and bytes).
#include <prometheus/histogram.h>

namespace pier::metrics {

// HTTP requests: 1 ms .. 10 min (a multi-GiB blob push on a LAN is minutes).
const prometheus::Histogram::BucketBoundaries& DurationBuckets();
// Bodies: 256 B .. 16 GiB, ×4 per bucket.
const prometheus::Histogram::BucketBoundaries& SizeBuckets();
// Replication tasks and blob transfers: 0.1 s .. 1 day (slow cloud links).
const prometheus::Histogram::BucketBoundaries& SlowDurationBuckets();
// Upstream answers (pull-through): 5 ms (a LAN mirror) .. 30 s (a registry
// on the far side of the world, or the client's own timeout).
const prometheus::Histogram::BucketBoundaries& UpstreamLatencyBuckets();

}  // namespace pier::metrics
