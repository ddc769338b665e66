#include "metrics/cluster_collector.h"

#include "metrics/exposition.h"

namespace pier::metrics {

std::vector<prometheus::MetricFamily> ClusterCollector::Collect() const {
  std::vector<prometheus::MetricFamily> out;
  out.push_back(GaugeFamily("pier_cluster_leader",
                            "1 while this replica leads the cluster: it runs replication and fires schedules."));
  Sample(&out.back(), leadership_->leader() ? 1 : 0, {{"replica", replica_}});
  out.push_back(CounterFamily("pier_cluster_leader_tenures_total", "Times this replica became the cluster's leader."));
  Sample(&out.back(), static_cast<double>(leadership_->tenures()), {{"replica", replica_}});
  return out;
}

}  // namespace pier::metrics
