#include "metrics/proxy_metrics.h"

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
      up_(prometheus::BuildGauge()
              .Name("pier_proxy_upstream_up")
              .Help("1 while the pull-through upstream answers, 0 while Pier considers it offline.")
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
    up_.Add({{"upstream", u.name}}).Set(1);
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

}  // namespace pier::metrics
