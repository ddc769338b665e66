#pragma once
// ProxyMetrics: the pull-through cache's reports (PullThroughObserver) as
// Prometheus families. Labels are bounded: upstream (a configured name),
// kind (manifest|blob), result (hit|miss|coalesced|stale|error).
//
//   pier_proxy_requests_total{upstream,kind,result}      counter    one per manifest/blob a client asked for
//   pier_proxy_upstream_bytes_total{upstream}            counter    bytes fetched from the upstream
//   pier_proxy_served_bytes_total{upstream}              counter    bytes of proxied manifests/blobs sent to clients
//   pier_proxy_upstream_up{upstream}                     gauge      0 while considered offline
//   pier_proxy_upstream_latency_seconds{upstream}        histogram  request sent upstream → answer's header
//   pier_proxy_fetches_in_flight{upstream}               gauge      blob downloads running now
//
// Announce() exports every series of the configured upstreams at zero, so
// ratios and alerts work from the first scrape. Served bytes come from the
// HTTP edge (proxy_served.h), not from the cache: "bytes saved" is served
// minus fetched upstream.
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
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
  void OnUpstreamLatency(std::string_view upstream, double seconds) override;
  void SetFetchesInFlight(std::string_view upstream, size_t fetches) override;
  // Body bytes of a proxied manifest or blob answer written to a client.
  void OnServedBytes(std::string_view upstream, uint64_t bytes);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& requests_;
  prometheus::Family<prometheus::Counter>& bytes_;
  prometheus::Family<prometheus::Counter>& served_;
  prometheus::Family<prometheus::Gauge>& up_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Gauge>& in_flight_;
};

}  // namespace pier::metrics
