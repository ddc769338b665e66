#pragma once
// InternalErrorsCollector: the failures base/internal_errors.h counts (those
// with no caller to return to, logged and counted per component), read when
// /metrics is scraped:
//
//   pier_internal_errors_total{component}   counter   since start
// `component` is a fixed word of the code that reported ("store",
// "replication", "registry", ...); a component with no error yet has no
// series. Any rise deserves a look at the log: the error line names it.
#include <prometheus/collectable.h>

#include <vector>

namespace pier::metrics {

class InternalErrorsCollector : public prometheus::Collectable {
 public:
  std::vector<prometheus::MetricFamily> Collect() const override;
};

}  // namespace pier::metrics
