// Store: manifests, tags, listings and referrers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace pier {
namespace {

using nlohmann::json;
using testing::PushBlob;
using testing::StoreTest;

json Desc(std::string_view media_type, const std::string& content) {
  return json{{"mediaType", media_type}, {"digest", Sha256Of(content).str()}, {"size", content.size()}};
}

class ManifestStoreTest : public StoreTest {
 protected:
  // An OCI image manifest over config "cfg-<seed>" and one layer "layer-<seed>".
  static std::string ImageManifest(const std::string& seed) {
    return json{{"schemaVersion", 2},
                {"mediaType", media::kOciManifest},
                {"config", Desc("application/vnd.oci.image.config.v1+json", "cfg-" + seed)},
                {"layers", {Desc("application/vnd.oci.image.layer.v1.tar+gzip", "layer-" + seed)}}}
        .dump();
  }
  void PushImageBlobs(std::string_view repo, const std::string& seed) {
    ASSERT_TRUE(PushBlob(*store_, repo, "cfg-" + seed).ok());
    ASSERT_TRUE(PushBlob(*store_, repo, "layer-" + seed).ok());
  }
  Result<Digest> Put(std::string_view repo, std::optional<std::string_view> tag, const std::string& bytes,
                     std::string_view ct = media::kOciManifest) {
    auto parsed = ParseManifest(ct, bytes);
    if (!parsed.ok()) return parsed.status();
    return store_->PutManifest(repo, tag, parsed->media_type, bytes, *parsed);
  }
  // Pushes a tagged image and returns its manifest digest.
  Digest PushImage(std::string_view repo, const std::string& seed, std::optional<std::string_view> tag) {
    PushImageBlobs(repo, seed);
    auto d = Put(repo, tag, ImageManifest(seed));
    EXPECT_TRUE(d.ok()) << d.status().ToString();
    return d.ok() ? *d : Digest{};
  }
  std::string Artifact(const Digest& subject, const std::string& artifact_type, const std::string& payload) {
    json j = {{"schemaVersion", 2},
              {"mediaType", media::kOciManifest},
              {"artifactType", artifact_type},
              {"config", Desc(media::kOciEmpty, "{}")},
              {"layers", {Desc("application/octet-stream", payload)}},
              {"subject", {{"mediaType", media::kOciManifest}, {"digest", subject.str()}, {"size", 123}}},
              {"annotations", {{"kind", artifact_type}}}};
    return j.dump();
  }
};

TEST_F(ManifestStoreTest, MissingBlobsAreNotFound) {
  const std::string bytes = ImageManifest("1");
  auto r = Put("app", "v1", bytes);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find(Sha256Of("cfg-1").str()), std::string::npos) << r.status().message();
  ASSERT_TRUE(PushBlob(*store_, "app", "cfg-1").ok());
  r = Put("app", "v1", bytes);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find(Sha256Of("layer-1").str()), std::string::npos);
  // A blob linked to another repository does not count.
  ASSERT_TRUE(PushBlob(*store_, "other", "layer-1").ok());
  EXPECT_EQ(Put("app", "v1", bytes).status().code(), Code::kNotFound);
  ASSERT_TRUE(PushBlob(*store_, "app", "layer-1").ok());
  EXPECT_TRUE(Put("app", "v1", bytes).ok());
}

TEST_F(ManifestStoreTest, PutAndGetByTagAndDigest) {
  const std::string bytes = ImageManifest("1");
  const Digest d = PushImage("app", "1", "v1");
  EXPECT_EQ(d, Sha256Of(bytes));
  for (std::string ref : {std::string("v1"), d.str()}) {
    auto m = store_->GetManifest("app", ref);
    ASSERT_TRUE(m.ok()) << ref << ": " << m.status().ToString();
    EXPECT_EQ(m->digest, d);
    EXPECT_EQ(m->bytes, bytes);
    EXPECT_EQ(m->media_type, media::kOciManifest);
    EXPECT_FALSE(m->subject);
  }
  EXPECT_EQ(store_->GetManifest("app", "v2").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetManifest("other", "v1").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetManifest("app", Sha256Of("x").str()).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetManifest("app", "sha256:bad").status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(store_->RepositoryExists("app"));
  Reopen();
  EXPECT_TRUE(store_->GetManifest("app", "v1").ok());
}

TEST_F(ManifestStoreTest, ForeignLayersNeedNotExist) {
  ASSERT_TRUE(PushBlob(*store_, "win", "cfg").ok());
  json foreign = Desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "windows-base");
  foreign["urls"] = {"https://mcr.example/layer"};
  json j = {{"schemaVersion", 2},
            {"mediaType", media::kDockerManifest},
            {"config", Desc("application/vnd.docker.container.image.v1+json", "cfg")},
            {"layers", {foreign}}};
  EXPECT_TRUE(Put("win", "ltsc", j.dump(), media::kDockerManifest).ok());
}

TEST_F(ManifestStoreTest, IndexNeedsItsChildren) {
  const Digest child = PushImage("multi", "amd64", std::nullopt);
  json idx = {{"schemaVersion", 2},
              {"mediaType", media::kOciIndex},
              {"manifests",
               {Desc(media::kOciManifest, ImageManifest("amd64")),
                Desc(media::kOciManifest, ImageManifest("arm64"))}}};
  auto r = Put("multi", "latest", idx.dump(), media::kOciIndex);
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_NE(r.status().message().find(Sha256Of(ImageManifest("arm64")).str()), std::string::npos);
  PushImage("multi", "arm64", std::nullopt);
  r = Put("multi", "latest", idx.dump(), media::kOciIndex);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto m = store_->GetManifest("multi", "latest");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->media_type, media::kOciIndex);
  EXPECT_TRUE(store_->GetManifest("multi", child.str()).ok());
}

TEST_F(ManifestStoreTest, DeleteManifestRemovesItsTagsAndReferrerEntry) {
  const Digest d = PushImage("app", "1", "v1");
  ASSERT_TRUE(Put("app", "stable", ImageManifest("1")).ok());
  const Digest other = PushImage("app", "2", "v2");
  ASSERT_TRUE(PushBlob(*store_, "app", "{}").ok());
  ASSERT_TRUE(PushBlob(*store_, "app", "sig").ok());
  auto sig = Put("app", std::nullopt, Artifact(d, "application/vnd.example.sig", "sig"));
  ASSERT_TRUE(sig.ok()) << sig.status().ToString();
  ASSERT_EQ(store_->ListReferrers("app", d, "")->size(), 1u);

  ASSERT_TRUE(store_->DeleteManifest("app", *sig).ok());
  EXPECT_TRUE(store_->ListReferrers("app", d, "")->empty());
  ASSERT_TRUE(store_->DeleteManifest("app", d).ok());
  EXPECT_EQ(store_->GetManifest("app", d.str()).status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetManifest("app", "v1").status().code(), Code::kNotFound);
  EXPECT_EQ(store_->GetManifest("app", "stable").status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->GetManifest("app", "v2").ok());
  EXPECT_EQ(store_->ListTags("app", "", 0)->items, std::vector<std::string>{"v2"});
  EXPECT_EQ(store_->DeleteManifest("app", d).code(), Code::kNotFound);
  EXPECT_TRUE(store_->GetManifest("app", other.str()).ok());
}

TEST_F(ManifestStoreTest, DeleteTagKeepsManifest) {
  const Digest d = PushImage("app", "1", "v1");
  ASSERT_TRUE(store_->DeleteTag("app", "v1").ok());
  EXPECT_EQ(store_->GetManifest("app", "v1").status().code(), Code::kNotFound);
  EXPECT_TRUE(store_->GetManifest("app", d.str()).ok());
  EXPECT_EQ(store_->DeleteTag("app", "v1").code(), Code::kNotFound);
}

TEST_F(ManifestStoreTest, RetaggingMovesTheTag) {
  PushImage("app", "1", "latest");
  const Digest d2 = PushImage("app", "2", "latest");
  EXPECT_EQ(store_->GetManifest("app", "latest")->digest, d2);
}

TEST_F(ManifestStoreTest, ListTagsPaginates) {
  PushImageBlobs("app", "1");
  const std::string bytes = ImageManifest("1");
  std::vector<std::string> tags = {"v9", "a", "v10", "B", "latest", "v1"};
  for (const auto& t : tags) ASSERT_TRUE(Put("app", t, bytes).ok());
  // A repository whose name extends "app" must not leak into the listing.
  PushImageBlobs("app/sub", "1");
  ASSERT_TRUE(Put("app/sub", "zzz", bytes).ok());
  PushImageBlobs("ap", "1");
  ASSERT_TRUE(Put("ap", "zzz", bytes).ok());

  auto all = store_->ListTags("app", "", 0);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items, (std::vector<std::string>{"B", "a", "latest", "v1", "v10", "v9"}));
  EXPECT_FALSE(all->more);

  auto p1 = store_->ListTags("app", "", 4);
  EXPECT_EQ(p1->items, (std::vector<std::string>{"B", "a", "latest", "v1"}));
  EXPECT_TRUE(p1->more);
  auto p2 = store_->ListTags("app", "v1", 4);
  EXPECT_EQ(p2->items, (std::vector<std::string>{"v10", "v9"}));
  EXPECT_FALSE(p2->more);
  auto exact = store_->ListTags("app", "", 6);
  EXPECT_EQ(exact->items.size(), 6u);
  EXPECT_FALSE(exact->more);
  auto between = store_->ListTags("app", "c", 0);  // `last` need not exist
  EXPECT_EQ(between->items, (std::vector<std::string>{"latest", "v1", "v10", "v9"}));
  EXPECT_TRUE(store_->ListTags("app", "v9", 0)->items.empty());
  EXPECT_TRUE(store_->ListTags("nothing", "", 0)->items.empty());
}

TEST_F(ManifestStoreTest, ListRepositoriesPaginatesAndFilters) {
  for (const char* r : {"team/b", "team/a", "other", "team/c", "z"})
    ASSERT_TRUE(PushBlob(*store_, r, "x").ok());
  auto all = store_->ListRepositories("", 0, nullptr);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->items, (std::vector<std::string>{"other", "team/a", "team/b", "team/c", "z"}));
  auto team = [](std::string_view r) { return r.starts_with("team/"); };
  auto p1 = store_->ListRepositories("", 2, team);
  EXPECT_EQ(p1->items, (std::vector<std::string>{"team/a", "team/b"}));
  EXPECT_TRUE(p1->more);
  auto p2 = store_->ListRepositories("team/b", 2, team);
  EXPECT_EQ(p2->items, (std::vector<std::string>{"team/c"}));
  EXPECT_FALSE(p2->more);
}

TEST_F(ManifestStoreTest, ReferrersWithArtifactTypeFilter) {
  const Digest subject = PushImage("app", "1", "v1");
  ASSERT_TRUE(PushBlob(*store_, "app", "{}").ok());
  ASSERT_TRUE(PushBlob(*store_, "app", "sbom").ok());
  ASSERT_TRUE(PushBlob(*store_, "app", "sig").ok());
  const std::string sbom = Artifact(subject, "application/vnd.example.sbom", "sbom");
  const std::string sig = Artifact(subject, "application/vnd.example.sig", "sig");
  ASSERT_TRUE(Put("app", std::nullopt, sbom).ok());
  ASSERT_TRUE(Put("app", std::nullopt, sig).ok());

  auto all = store_->ListReferrers("app", subject, "");
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 2u);
  auto only = store_->ListReferrers("app", subject, "application/vnd.example.sbom");
  ASSERT_TRUE(only.ok());
  ASSERT_EQ(only->size(), 1u);
  const Descriptor& d = (*only)[0];
  EXPECT_EQ(d.digest, Sha256Of(sbom));
  EXPECT_EQ(d.size, static_cast<int64_t>(sbom.size()));
  EXPECT_EQ(d.media_type, media::kOciManifest);
  EXPECT_EQ(d.artifact_type, "application/vnd.example.sbom");
  EXPECT_EQ(json::parse(d.annotations_json)["kind"], "application/vnd.example.sbom");
  EXPECT_TRUE(store_->ListReferrers("app", subject, "application/none")->empty());
  EXPECT_TRUE(store_->ListReferrers("other", subject, "")->empty());
  EXPECT_TRUE(store_->ListReferrers("app", Sha256Of("nothing"), "")->empty());

  auto stored = store_->GetManifest("app", Sha256Of(sig).str());
  ASSERT_TRUE(stored.ok());
  ASSERT_TRUE(stored->subject);
  EXPECT_EQ(*stored->subject, subject);
}

TEST_F(ManifestStoreTest, SubjectNeedNotExist) {
  ASSERT_TRUE(PushBlob(*store_, "app", "{}").ok());
  ASSERT_TRUE(PushBlob(*store_, "app", "sig").ok());
  const Digest absent = Sha256Of("not pushed yet");
  ASSERT_TRUE(Put("app", std::nullopt, Artifact(absent, "application/vnd.example.sig", "sig")).ok());
  EXPECT_EQ(store_->ListReferrers("app", absent, "")->size(), 1u);
}

TEST_F(ManifestStoreTest, RejectsBadTag) {
  PushImageBlobs("app", "1");
  EXPECT_EQ(Put("app", "-bad", ImageManifest("1")).status().code(), Code::kInvalidArgument);
  EXPECT_EQ(store_->DeleteTag("app", "a/b").code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace pier
