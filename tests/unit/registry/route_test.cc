#include "adapter/registry/route.h"

#include <gtest/gtest.h>

namespace pier::registry {
namespace {

TEST(Route, Base) {
  EXPECT_EQ(ParseRoute("/v2/").kind, RouteKind::kBase);
  EXPECT_EQ(ParseRoute("/v2").kind, RouteKind::kBase);
  EXPECT_EQ(ParseRoute("/v1/").kind, RouteKind::kNone);
  EXPECT_EQ(ParseRoute("/").kind, RouteKind::kNone);
}

TEST(Route, Catalog) { EXPECT_EQ(ParseRoute("/v2/_catalog").kind, RouteKind::kCatalog); }

TEST(Route, Tags) {
  Route r = ParseRoute("/v2/library/busybox/tags/list");
  EXPECT_EQ(r.kind, RouteKind::kTags);
  EXPECT_EQ(r.name, "library/busybox");
  EXPECT_EQ(ParseRoute("/v2/tags/list").kind, RouteKind::kNone);
}

TEST(Route, ManifestWithTrickyName) {
  Route r = ParseRoute("/v2/a/blobs/manifests/b/manifests/v1.0");
  EXPECT_EQ(r.kind, RouteKind::kManifest);
  EXPECT_EQ(r.name, "a/blobs/manifests/b");
  EXPECT_EQ(r.reference, "v1.0");
}

TEST(Route, Blob) {
  Route r = ParseRoute("/v2/x/blobs/sha256:abc");
  EXPECT_EQ(r.kind, RouteKind::kBlob);
  EXPECT_EQ(r.name, "x");
  EXPECT_EQ(r.reference, "sha256:abc");
}

TEST(Route, Uploads) {
  Route s = ParseRoute("/v2/team/app/blobs/uploads/");
  EXPECT_EQ(s.kind, RouteKind::kUploadStart);
  EXPECT_EQ(s.name, "team/app");
  EXPECT_EQ(ParseRoute("/v2/team/app/blobs/uploads").kind, RouteKind::kUploadStart);
  Route u = ParseRoute("/v2/team/app/blobs/uploads/1234");
  EXPECT_EQ(u.kind, RouteKind::kUpload);
  EXPECT_EQ(u.name, "team/app");
  EXPECT_EQ(u.reference, "1234");
}

TEST(Route, Referrers) {
  Route r = ParseRoute("/v2/a/b/referrers/sha256:00");
  EXPECT_EQ(r.kind, RouteKind::kReferrers);
  EXPECT_EQ(r.name, "a/b");
}

TEST(Route, MissingPieces) {
  EXPECT_EQ(ParseRoute("/v2/a/manifests/").kind, RouteKind::kNone);
  EXPECT_EQ(ParseRoute("/v2/manifests/x").kind, RouteKind::kNone);
  EXPECT_EQ(ParseRoute("/v2/a/unknown/x").kind, RouteKind::kNone);
}

}  // namespace
}  // namespace pier::registry
