#pragma once
// ClusterCollector: this replica's part in a cluster of replicas sharing
// their records (cache/leadership.h), with a `replica` label (PIER_REPLICA,
// the pod name in the Helm chart; else the host name) so a dashboard can
// tell replicas apart and sum over them. Only when the records are shared.
//
//   pier_cluster_leader{replica}                 gauge    1 while this replica leads (runs
//                                                         replication, fires schedules)
//   pier_cluster_leader_tenures_total{replica}   counter  times it became the leader
#include <prometheus/collectable.h>

#include <memory>
#include <string>
#include <vector>

#include "cache/leadership.h"

namespace pier::metrics {

class ClusterCollector : public prometheus::Collectable {
 public:
  ClusterCollector(std::shared_ptr<Leadership> leadership, std::string replica)
      : leadership_(std::move(leadership)), replica_(std::move(replica)) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  std::shared_ptr<Leadership> leadership_;
  std::string replica_;
};

}  // namespace pier::metrics
