#include "metrics/proxy_served.h"

#include "adapter/registry/route.h"
#include "base/names.h"

namespace pier::metrics {

http::Exchange ProxyServedHandler::Begin(const http::Request& request) {
  http::Exchange ex = inner_->Begin(request);
  if (request.method != "GET") return ex;
  registry::Route route = registry::ParseRoute(request.path);
  if (route.kind != registry::RouteKind::kManifest && route.kind != registry::RouteKind::kBlob) return ex;
  // Resolve assumes a valid name; an invalid one is answered 400 anyway.
  if (!IsValidRepositoryName(route.name)) return ex;
  std::optional<std::string> ns = request.Query("ns");
  std::optional<proxy::Target> target =
      pull_through_->Resolve(route.name, ns ? std::optional<std::string_view>(*ns) : std::nullopt);
  if (!target) return ex;
  ex.on_end = [metrics = metrics_, upstream = pull_through_->upstreams()[target->upstream].name,
               inner = std::move(ex.on_end)](const http::ExchangeEnd& e) {
    if (inner) inner(e);
    if (e.status == 200 || e.status == 206) metrics->OnServedBytes(upstream, e.response_bytes);
  };
  return ex;
}

}  // namespace pier::metrics
