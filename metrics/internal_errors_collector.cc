#include "metrics/internal_errors_collector.h"

#include "base/internal_errors.h"
#include "metrics/exposition.h"

namespace pier::metrics {

std::vector<prometheus::MetricFamily> InternalErrorsCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  out.push_back(CounterFamily("pier_internal_errors_total",
                              "Internal errors with no caller to report to (logged), by component, since start."));
  for (const auto& [component, count] : InternalErrorCounts()) {
    Sample(&out.back(), static_cast<double>(count), {{"component", component}});
  }
  return out;
}

}  // namespace pier::metrics
