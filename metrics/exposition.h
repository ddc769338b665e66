#pragma once
// Exposition: everything /metrics shows, gathered at scrape time from a list
// of prometheus::Collectable sources (the prometheus-cpp Registry holding the
// event-driven families, plus collectors that read their values when
// scraped) and written in the Prometheus text format 0.0.4.
//
// Also small helpers to build scrape-time families by hand.
#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>

#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pier::metrics {

inline constexpr std::string_view kTextContentType = "text/plain; version=0.0.4; charset=utf-8";

class Exposition {
 public:
  // Thread-safe; sources are kept alive by the exposition.
  void Add(std::shared_ptr<const prometheus::Collectable> source);
  // Collects every source, in the order added, and serializes the result.
  std::string Text() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::shared_ptr<const prometheus::Collectable>> sources_;
};

// A family with one sample per call of Sample(); label names and values are
// given in pairs.
using LabelPairs = std::vector<std::pair<std::string, std::string>>;
prometheus::MetricFamily GaugeFamily(std::string name, std::string help);
prometheus::MetricFamily CounterFamily(std::string name, std::string help);
void Sample(prometheus::MetricFamily* family, double value, const LabelPairs& labels = {});

}  // namespace pier::metrics
