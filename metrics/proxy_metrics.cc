#include "metrics/proxy_metrics.h"

#include "metrics/buckets.h"

namespace pier::metrics {

ProxyMetrics::ProxyMetrics(std::shared_ptr<prometheus::Registry> registry)
    : registry_(std::move(registry)),
      requests_(prometheus::BuildCounter()
                    .Name("pier_proxy_requests_total")
                    .Help("Manifests and blobs clients asked the pull-through cache for, by result: hit (cached), "
                          "miss (fetched), coalesced (waited for another client's fetch), stale (cached copy served "
                          "while the upstream is unreachable), error.")
                    .Register(*registry_)),
      bytes_(prometheus::BuildCounter()
                 .Name("pier_proxy_upstream_bytes_total")
                 .Help("Bytes fetched from each pull-through upstream (manifests and blobs).")
                 .Register(*registry_)),
      served_(prometheus::BuildCounter()
                  .Name("pier_proxy_served_bytes_total")
                  .Help("Body bytes of proxied manifests and blobs sent to clients (GET, 2xx); minus "
                        "pier_proxy_upstream_bytes_total it is what the cache saved the upstream link.")
                  .Register(*registry_)),
      up_(prometheus::BuildGauge()
              .Name("pier_proxy_upstream_up")
              .Help("1 while the pull-through upstream answers, 0 while Pier considers it offline.")
              .Register(*registry_)),
      latency_(prometheus::BuildHistogram()
                   .Name("pier_proxy_upstream_latency_seconds")
                   .Help("Seconds from a request sent to a pull-through upstream to its answer's header "
                         "(manifest HEAD/GET, first byte of a blob GET).")
                   .Register(*registry_)),
      in_flight_(prometheus::BuildGauge()
                     .Name("pier_proxy_fetches_in_flight")
                     .Help("Blob downloads from each pull-through upstream running now.")
                     .Register(*registry_)) {}

void ProxyMetrics::Announce(const std::vector<proxy::Upstream>& upstreams) {
  for (const proxy::Upstream& u : upstreams) {
    for (const char* kind : {"manifest", "blob"}) {
      for (proxy::Outcome o : {proxy::Outcome::kHit, proxy::Outcome::kMiss, proxy::Outcome::kCoalesced,
                               proxy::Outcome::kStale, proxy::Outcome::kError}) {
        requests_.Add({{"upstream", u.name}, {"kind", kind}, {"result", proxy::OutcomeName(o)}});
      }
    }
    bytes_.Add({{"upstream", u.name}});
    served_.Add({{"upstream", u.name}});
    up_.Add({{"upstream", u.name}}).Set(1);
    latency_.Add({{"upstream", u.name}}, UpstreamLatencyBuckets());
    in_flight_.Add({{"upstream", u.name}});
  }
}

void ProxyMetrics::OnRequest(std::string_view upstream, std::string_view kind, proxy::Outcome outcome) {
  requests_.Add({{"upstream", std::string(upstream)}, {"kind", std::string(kind)}, {"result", proxy::OutcomeName(outcome)}})
      .Increment();
}

void ProxyMetrics::OnFetchedBytes(std::string_view upstream, uint64_t bytes) {
  bytes_.Add({{"upstream", std::string(upstream)}}).Increment(static_cast<double>(bytes));
}

void ProxyMetrics::SetUpstreamUp(std::string_view upstream, bool up) {
  up_.Add({{"upstream", std::string(upstream)}}).Set(up ? 1 : 0);
}

void ProxyMetrics::OnUpstreamLatency(std::string_view upstream, double seconds) {
  latency_.Add({{"upstream", std::string(upstream)}}, UpstreamLatencyBuckets()).Observe(seconds);
}

void ProxyMetrics::SetFetchesInFlight(std::string_view upstream, size_t fetches) {
  in_flight_.Add({{"upstream", std::string(upstream)}}).Set(static_cast<double>(fetches));
}

void ProxyMetrics::OnServedBytes(std::string_view upstream, uint64_t bytes) {
  served_.Add({{"upstream", std::string(upstream)}}).Increment(static_cast<double>(bytes));
}

}  // namespace pier::metrics
