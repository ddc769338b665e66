#pragma once
// The bounded label values of Pier's HTTP metrics. A request path becomes
// one of a fixed set of route classes, and a method one of a fixed set of
// verbs, so no label ever carries a repository name, digest or client input.
#include <string_view>

namespace pier::metrics {

// One of: base, blob, blob_upload, manifest, tags, catalog, referrers, api,
// token, metrics, health, other. `path` is the decoded path without query.
std::string_view RouteClass(std::string_view path);

// GET, HEAD, PUT, POST, PATCH, DELETE, OPTIONS, or "other".
std::string_view MethodClass(std::string_view method);

}  // namespace pier::metrics
