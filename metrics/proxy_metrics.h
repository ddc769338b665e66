#pragma once
// ProxyMetrics: the pull-through cache's reports (PullThroughObserver) as
// Prometheus families. Labels are bounded: upstream (a configured name),
// kind (manifest|blob), result (hit|miss|coalesced|stale|error).
//
//   pier_proxy_requests_total{upstream,kind,result}   counter  one per manifest/blob a client asked for
//   pier_proxy_upstream_bytes_total{upstream}         counter  bytes fetched from the upstream
//   pier_proxy_upstream_up{upstream}                  gauge    0 while considered offline
//
// Announce() exports every series of the configured upstreams at zero, so
// ratios and alerts work from the first scrape. Bytes served from the cache
// are pier_http_response_size_bytes of the registry routes (http_metrics.h).
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>
#include <vector>

#include "cache/proxy/pull_through.h"

namespace pier::metrics {

class ProxyMetrics : public proxy::PullThroughObserver {
 public:
  explicit ProxyMetrics(std::shared_ptr<prometheus::Registry> registry);

  // Zero-valued series for each upstream × kind × result, up = 1.
  void Announce(const std::vector<proxy::Upstream>& upstreams);

  void OnRequest(std::string_view upstream, std::string_view kind, proxy::Outcome outcome) override;
  void OnFetchedBytes(std::string_view upstream, uint64_t bytes) override;
  void SetUpstreamUp(std::string_view upstream, bool up) override;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Gauge>& up_;
};

}  // namespace pier::metrics
