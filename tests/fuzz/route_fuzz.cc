// ParseRoute on a decoded request path. Invariants: a route with a
// repository has a non-empty name taken from the path right after "/v2/",
// and a reference (tag, digest, upload id) that is one non-empty path
// component.
#include <cstddef>
#include <cstdint>

#include "adapter/registry/route.h"
#include "tests/fuzz/fuzz_check.h"

using pier::registry::RouteKind;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view path = pier::fuzz::AsText(data, size);
  auto r = pier::registry::ParseRoute(path);
  switch (r.kind) {
    case RouteKind::kNone:
    case RouteKind::kBase:
    case RouteKind::kCatalog:
      FUZZ_CHECK(r.name.empty() && r.reference.empty(), "routes without a repository carry none");
      break;
    case RouteKind::kTags:
    case RouteKind::kUploadStart:
      FUZZ_CHECK(!r.name.empty() && r.reference.empty(), "repository-level routes carry a name only");
      FUZZ_CHECK(path.substr(0, 4 + r.name.size()) == "/v2/" + r.name, "the name is the path after /v2/");
      break;
    case RouteKind::kManifest:
    case RouteKind::kBlob:
    case RouteKind::kUpload:
    case RouteKind::kReferrers:
      FUZZ_CHECK(!r.name.empty() && !r.reference.empty(), "resource routes carry a name and a reference");
      FUZZ_CHECK(r.reference.find('/') == std::string::npos, "the reference is one path component");
      FUZZ_CHECK(path.substr(0, 4 + r.name.size()) == "/v2/" + r.name, "the name is the path after /v2/");
      FUZZ_CHECK(path.ends_with("/" + r.reference), "the reference is the last path component");
      break;
  }
  return 0;
}
