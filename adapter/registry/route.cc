#include "adapter/registry/route.h"

namespace pier::registry {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// Splits "<name>/<marker>/<last>" where marker is e.g. "manifests"; the
// reference is the last component and must be non-empty.
bool SplitTail(std::string_view rest, std::string_view marker, Route* out) {
  size_t slash = rest.rfind('/');
  if (slash == std::string_view::npos) return false;
  std::string_view head = rest.substr(0, slash);
  std::string_view last = rest.substr(slash + 1);
  std::string m = "/" + std::string(marker);
  if (last.empty() || !EndsWith(head, m) || head.size() == m.size()) return false;
  out->name = std::string(head.substr(0, head.size() - m.size()));
  out->reference = std::string(last);
  return true;
}

}  // namespace

Route ParseRoute(std::string_view path) {
  Route r;
  if (path == "/v2" || path == "/v2/") {
    r.kind = RouteKind::kBase;
    return r;
  }
  if (path.substr(0, 4) != "/v2/") return r;
  std::string_view rest = path.substr(4);
  if (rest == "_catalog") {
    r.kind = RouteKind::kCatalog;
    return r;
  }
  if (EndsWith(rest, "/tags/list") && rest.size() > 10) {
    r.kind = RouteKind::kTags;
    r.name = std::string(rest.substr(0, rest.size() - 10));
    return r;
  }
  if (EndsWith(rest, "/blobs/uploads/") || EndsWith(rest, "/blobs/uploads")) {
    size_t cut = rest.size() - (rest.back() == '/' ? 15 : 14);
    if (cut > 0) {
      r.kind = RouteKind::kUploadStart;
      r.name = std::string(rest.substr(0, cut));
      return r;
    }
  }
  if (SplitTail(rest, "blobs/uploads", &r)) {
    r.kind = RouteKind::kUpload;
    return r;
  }
  if (SplitTail(rest, "manifests", &r)) {
    r.kind = RouteKind::kManifest;
    return r;
  }
  if (SplitTail(rest, "blobs", &r)) {
    r.kind = RouteKind::kBlob;
    return r;
  }
  if (SplitTail(rest, "referrers", &r)) {
    r.kind = RouteKind::kReferrers;
    return r;
  }
  return r;
}

}  // namespace pier::registry
