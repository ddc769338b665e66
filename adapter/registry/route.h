#pragma once
// Recognises the OCI Distribution API routes in a request path. Repository
// names may themselves contain "blobs" or "manifests" components, so the
// route is read from the end of the path.
#include <string>
#include <string_view>

namespace pier::registry {

enum class RouteKind {
  kNone,         // not a registry path
  kBase,         // /v2/
  kCatalog,      // /v2/_catalog
  kTags,         // /v2/<name>/tags/list
  kManifest,     // /v2/<name>/manifests/<reference>
  kBlob,         // /v2/<name>/blobs/<digest>
  kUploadStart,  // /v2/<name>/blobs/uploads/
  kUpload,       // /v2/<name>/blobs/uploads/<uuid>
  kReferrers,    // /v2/<name>/referrers/<digest>
};

struct Route {
  RouteKind kind = RouteKind::kNone;
  std::string name;       // repository (unvalidated)
  std::string reference;  // tag/digest/uuid (unvalidated)
};

// `path` is the decoded path without query.
Route ParseRoute(std::string_view path);

}  // namespace pier::registry
