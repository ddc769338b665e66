#include "metrics/buckets.h"

namespace pier::metrics {

const prometheus::Histogram::BucketBoundaries& DurationBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600};
  return b;
}

const prometheus::Histogram::BucketBoundaries& SizeBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = [] {
    prometheus::Histogram::BucketBoundaries v;
    for (double x = 256; x <= 16.0 * 1024 * 1024 * 1024; x *= 4) v.push_back(x);
    return v;
  }();
  return b;
}

const prometheus::Histogram::BucketBoundaries& SlowDurationBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {
      0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 28800, 86400};
  return b;
}

const prometheus::Histogram::BucketBoundaries& UpstreamLatencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries b = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                            0.5,   1,    2.5,   5,    10,  30};
  return b;
}

}  // namespace pier::metrics
