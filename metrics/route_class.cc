#include "metrics/route_class.h"

#include "adapter/api/api.h"
#include "adapter/registry/route.h"

namespace pier::metrics {

std::string_view RouteClass(std::string_view path) {
  if (path == "/metrics") return "metrics";
  if (path == "/healthz" || path == "/readyz") return "health";
  // Docker token endpoints (Harbor's path and the usual one): none is served
  // yet, but a client probing them should not land in "other".
  if (path == "/token" || path == "/v2/token" || path == "/service/token") return "token";
  if (api::PrefixRouter::IsApiPath(path)) return "api";
  switch (registry::ParseRoute(path).kind) {
    case registry::RouteKind::kBase:
      return "base";
    case registry::RouteKind::kCatalog:
      return "catalog";
    case registry::RouteKind::kTags:
      return "tags";
    case registry::RouteKind::kManifest:
      return "manifest";
    case registry::RouteKind::kBlob:
      return "blob";
    case registry::RouteKind::kUploadStart:
    case registry::RouteKind::kUpload:
      return "blob_upload";
    case registry::RouteKind::kReferrers:
      return "referrers";
    case registry::RouteKind::kNone:
      break;
  }
  return "other";
}

std::string_view MethodClass(std::string_view method) {
  for (std::string_view m : {"GET", "HEAD", "PUT", "POST", "PATCH", "DELETE", "OPTIONS"}) {
    if (method == m) return m;
  }
  return "other";
}

}  // namespace pier::metrics
