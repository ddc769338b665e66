#include "replication/zstd_manifest.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <utility>
#include <vector>

namespace pier::replication {
namespace {

using nlohmann::json;
using ojson = nlohmann::ordered_json;

constexpr const char* kOciGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr const char* kOciNondistGzip = "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
constexpr const char* kOciTar = "application/vnd.oci.image.layer.v1.tar";
constexpr const char* kOciZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
constexpr const char* kDockerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
constexpr const char* kDockerForeign = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
constexpr const char* kDockerTar = "application/vnd.docker.image.rootfs.diff.tar";
constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";

ojson Desc(std::string_view media_type, const std::string& content) {
  return ojson{{"mediaType", media_type}, {"digest", Sha256Of(content).str()}, {"size", content.size()}};
}

// A vector, not a braced ojson: `ojson{one_json}` may copy instead of making an array.
ojson Image(std::string_view media_type, std::string_view config_type, const std::vector<ojson>& layers) {
  ojson list = ojson::array();
  for (const auto& l : layers) list.push_back(l);
  return ojson{{"schemaVersion", 2},
               {"mediaType", media_type},
               {"config", Desc(config_type, "config")},
               {"layers", std::move(list)}};
}

// Transcodes every layer whose content name is in `zstd` ("gz1" → "zs1"),
// counting the calls.
struct FakeTranscoder {
  std::map<std::string, std::string> zstd;  // gzip content → zstd content
  std::map<std::string, int> calls;         // by gzip digest

  LayerMap Map() {
    return [this](const Descriptor& d) -> std::optional<ZstdLayer> {
      ++calls[d.digest.str()];
      for (const auto& [gz, zs] : zstd) {
        if (Sha256Of(gz) == d.digest) return ZstdLayer{Sha256Of(zs), zs.size()};
      }
      return std::nullopt;
    };
  }
};

ParsedManifest MustParse(const RewrittenManifest& m) {
  auto p = ParseManifest(m.media_type, m.bytes);
  EXPECT_TRUE(p.ok()) << p.status().ToString() << "\n" << m.bytes;
  return p.ok() ? *p : ParsedManifest{};
}

TEST(ZstdManifest, GzipLayerTypes) {
  for (const char* t : {kOciGzip, kOciNondistGzip, kDockerGzip, kDockerForeign}) {
    EXPECT_TRUE(IsGzipLayerType(t)) << t;
  }
  for (const char* t :
       {kOciTar, kOciZstd, kDockerTar, kOciConfig, "application/vnd.cncf.helm.chart.content.v1.tar+gzip",
        "application/vnd.oci.image.layer.v1.tar+gzip; x=y", ""}) {
    EXPECT_FALSE(IsGzipLayerType(t)) << t;
  }
}

TEST(ZstdManifest, DockerSchema2BecomesOci) {
  ojson foreign = Desc(kDockerForeign, "win-base");
  foreign["urls"] = ojson::array({"https://mcr.microsoft.com/v2/blobs/x"});
  const std::string in =
      Image(pier::media::kDockerManifest, kDockerConfig,
            {foreign, Desc(kDockerGzip, "gz1"), Desc(kDockerTar, "plain"), Desc(kDockerGzip, "gz-declined")})
          .dump();
  FakeTranscoder t{{{"gz1", "zs1"}}, {}};
  auto r = RewriteImageManifest(pier::media::kDockerManifest, in, t.Map());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->changed);
  EXPECT_EQ(r->media_type, pier::media::kOciManifest);
  EXPECT_EQ(r->digest, Sha256Of(r->bytes));
  EXPECT_NE(r->digest, Sha256Of(in));
  // The foreign layer was never offered; the others once each.
  EXPECT_EQ(t.calls.size(), 2u);
  EXPECT_EQ(t.calls.count(Sha256Of("win-base").str()), 0u);

  auto out = json::parse(r->bytes);
  EXPECT_EQ(out["mediaType"], pier::media::kOciManifest);
  EXPECT_EQ(out["config"]["mediaType"], kOciConfig);
  EXPECT_EQ(out["config"]["digest"], Sha256Of("config").str()) << "same config blob";
  const auto& l = out["layers"];
  ASSERT_EQ(l.size(), 4u);
  EXPECT_EQ(l[0]["mediaType"], kDockerForeign) << "foreign layers keep their Docker type";
  EXPECT_EQ(l[0]["urls"], json::array({"https://mcr.microsoft.com/v2/blobs/x"}));
  EXPECT_EQ(l[1], json::parse(Desc(kOciZstd, "zs1").dump()));
  EXPECT_EQ(l[2]["mediaType"], kOciTar) << "uncompressed Docker layer → its OCI twin";
  EXPECT_EQ(l[3]["mediaType"], kOciGzip) << "declined gzip layer → its OCI twin";
  EXPECT_EQ(l[3]["digest"], Sha256Of("gz-declined").str());

  // The project's parser accepts it and sees the mapped digests.
  ParsedManifest p = MustParse(*r);
  EXPECT_EQ(p.media_type, pier::media::kOciManifest);
  ASSERT_EQ(p.blobs.size(), 5u);
  EXPECT_EQ(p.blobs[0].media_type, kOciConfig);
  EXPECT_EQ(p.blobs[1].digest, Sha256Of("win-base"));
  EXPECT_EQ(p.blobs[2].digest, Sha256Of("zs1"));
  EXPECT_EQ(p.blobs[2].size, 3);
  EXPECT_EQ(p.blobs[3].digest, Sha256Of("plain"));
  EXPECT_EQ(p.blobs[4].digest, Sha256Of("gz-declined"));
}

TEST(ZstdManifest, OciKeepsEverythingElse) {
  ojson layer = Desc(kOciGzip, "gz1");
  layer["annotations"] = {{"org.opencontainers.image.title", "layer"}, {"a.b", "c"}};
  ojson in_json{{"schemaVersion", 2},
                {"mediaType", pier::media::kOciManifest},
                {"artifactType", "application/vnd.example.thing"},
                {"config", Desc(kOciConfig, "config")},
                {"layers", {Desc(kDockerTar, "mixed"), layer}},
                {"subject", Desc(pier::media::kOciManifest, "parent")},
                {"annotations", {{"org.opencontainers.image.created", "2024-01-01T00:00:00Z"}}},
                {"x-unknown", {{"kept", true}}}};
  const std::string in = in_json.dump();
  FakeTranscoder t{{{"gz1", "zs1"}}, {}};
  auto r = RewriteImageManifest("application/json", in, t.Map());  // a generic type: the body says
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->changed);
  EXPECT_EQ(r->media_type, pier::media::kOciManifest);

  auto out = ojson::parse(r->bytes);
  // Only the layer changed; the rest, field order included, is the input's.
  ojson expect = in_json;
  expect["layers"][1]["mediaType"] = kOciZstd;
  expect["layers"][1]["digest"] = Sha256Of("zs1").str();
  expect["layers"][1]["size"] = 3;
  EXPECT_EQ(out, expect);
  EXPECT_EQ(r->bytes, expect.dump());
  EXPECT_EQ(out["layers"][0]["mediaType"], kDockerTar) << "an OCI manifest's Docker types are left alone";

  ParsedManifest p = MustParse(*r);
  ASSERT_TRUE(p.subject.has_value());
  EXPECT_EQ(p.subject->digest, Sha256Of("parent"));
  EXPECT_EQ(p.artifact_type, "application/vnd.example.thing");
  EXPECT_EQ(json::parse(p.blobs[2].annotations_json), json::parse(layer["annotations"].dump()));
}

TEST(ZstdManifest, ForeignAndEstargzLayersAreKept) {
  ojson foreign = Desc(kOciNondistGzip, "foreign");
  foreign["urls"] = ojson::array({"https://example.com/foreign"});
  ojson estargz = Desc(kOciGzip, "estargz");
  estargz["annotations"] = {{"containerd.io/snapshot/stargz/toc.digest", Sha256Of("toc").str()}};
  // Non-distributable without urls: we hold the blob, it is transcoded.
  ojson held = Desc(kOciNondistGzip, "held");
  const std::string in = Image(pier::media::kOciManifest, kOciConfig, {foreign, estargz, held}).dump();
  FakeTranscoder t{{{"foreign", "zf"}, {"estargz", "ze"}, {"held", "zh"}}, {}};

  auto parsed = ParseManifest(pier::media::kOciManifest, in);
  ASSERT_TRUE(parsed.ok());
  auto offered = TranscodableLayers(*parsed);
  ASSERT_EQ(offered.size(), 1u);
  EXPECT_EQ(offered[0].digest, Sha256Of("held"));

  auto r = RewriteImageManifest(pier::media::kOciManifest, in, t.Map());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->changed);
  EXPECT_EQ(t.calls.size(), 1u);
  auto out = ojson::parse(r->bytes);
  EXPECT_EQ(out["layers"][0], foreign);
  EXPECT_EQ(out["layers"][1], estargz);
  EXPECT_EQ(out["layers"][2], Desc(kOciZstd, "zh"));
}

TEST(ZstdManifest, NothingToTranscodeIsByteIdentical) {
  // Pretty-printed, odd spacing: any re-serialization would show.
  const std::string oci =
      Image(pier::media::kOciManifest, kOciConfig, {Desc(kOciZstd, "z1"), Desc(kOciTar, "t1")}).dump(3) +
      "\n";
  FakeTranscoder t{{{"z1", "never"}, {"t1", "never"}}, {}};
  auto r = RewriteImageManifest(pier::media::kOciManifest, oci, t.Map());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->changed);
  EXPECT_EQ(r->bytes, oci);
  EXPECT_EQ(r->digest, Sha256Of(oci));
  EXPECT_EQ(r->media_type, pier::media::kOciManifest);
  EXPECT_TRUE(t.calls.empty());

  // Gzip layers the map keeps: a Docker manifest stays Docker, byte for byte.
  const std::string docker =
      Image(pier::media::kDockerManifest, kDockerConfig, {Desc(kDockerGzip, "g1")}).dump(2);
  FakeTranscoder none;
  r = RewriteImageManifest(pier::media::kDockerManifest, docker, none.Map());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->changed);
  EXPECT_EQ(r->bytes, docker);
  EXPECT_EQ(r->media_type, pier::media::kDockerManifest);
  EXPECT_EQ(none.calls.size(), 1u);
  // No map at all: the same.
  r = RewriteImageManifest(pier::media::kDockerManifest, docker, nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->changed);
  EXPECT_EQ(r->bytes, docker);
}

TEST(ZstdManifest, ArtifactsAreNeverTouched) {
  FakeTranscoder t{{{"chart", "z"}, {"files", "z2"}}, {}};
  // A Helm chart (its own config type) and an ORAS artifact (empty config)
  // whose blob happens to be typed tar+gzip.
  const std::string helm =
      Image(pier::media::kOciManifest, "application/vnd.cncf.helm.config.v1+json", {Desc(kOciGzip, "chart")})
          .dump();
  ojson oras_json = Image(pier::media::kOciManifest, pier::media::kOciEmpty, {Desc(kOciGzip, "files")});
  oras_json["artifactType"] = "application/vnd.example.bundle";
  const std::string oras = oras_json.dump();
  for (const std::string& in : {helm, oras}) {
    auto r = RewriteImageManifest(pier::media::kOciManifest, in, t.Map());
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_FALSE(r->changed);
    EXPECT_EQ(r->bytes, in);
    EXPECT_TRUE(TranscodableLayers(*ParseManifest(pier::media::kOciManifest, in)).empty());
  }
  EXPECT_TRUE(t.calls.empty());
}

TEST(ZstdManifest, RepeatedLayerAskedOnceReplacedEverywhere) {
  const std::string in =
      Image(pier::media::kOciManifest, kOciConfig, {Desc(kOciGzip, "gz1"), Desc(kOciGzip, "gz1")}).dump();
  FakeTranscoder t{{{"gz1", "zs1"}}, {}};
  auto r = RewriteImageManifest(pier::media::kOciManifest, in, t.Map());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(t.calls[Sha256Of("gz1").str()], 1);
  ParsedManifest p = MustParse(*r);
  ASSERT_EQ(p.blobs.size(), 3u);
  EXPECT_EQ(p.blobs[1].digest, Sha256Of("zs1"));
  EXPECT_EQ(p.blobs[2].digest, Sha256Of("zs1"));
}

TEST(ZstdManifest, DeterministicAndIdempotent) {
  const std::string in =
      Image(pier::media::kDockerManifest, kDockerConfig, {Desc(kDockerGzip, "gz1"), Desc(kDockerGzip, "gz2")})
          .dump();
  FakeTranscoder t{{{"gz1", "zs1"}, {"gz2", "zs2"}}, {}};
  auto a = RewriteImageManifest(pier::media::kDockerManifest, in, t.Map());
  auto b = RewriteImageManifest(pier::media::kDockerManifest, in, t.Map());
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->bytes, b->bytes);
  EXPECT_EQ(a->digest, b->digest);
  // The output has nothing left to transcode: rewriting it again is a no-op.
  auto again = RewriteImageManifest(a->media_type, a->bytes, t.Map());
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->changed);
  EXPECT_EQ(again->bytes, a->bytes);
}

// An index of `children` (digest of each child's bytes), each with a platform.
ojson Index(std::string_view media_type,
            const std::vector<std::pair<std::string_view, std::string>>& children) {
  ojson list = ojson::array();
  for (const auto& [child_type, bytes] : children) list.push_back(Desc(child_type, bytes));
  return ojson{{"schemaVersion", 2}, {"mediaType", media_type}, {"manifests", std::move(list)}};
}

TEST(ZstdManifest, IndexNamesRewrittenChildren) {
  const std::string gz_child =
      Image(pier::media::kOciManifest, kOciConfig, {Desc(kOciGzip, "gz-amd64")}).dump();
  const std::string plain_child =
      Image(pier::media::kOciManifest, kOciConfig, {Desc(kOciZstd, "zs-arm64")}).dump();
  ojson index_json = Index(pier::media::kOciIndex,
                           {{pier::media::kOciManifest, gz_child}, {pier::media::kOciManifest, plain_child}});
  index_json["manifests"][0]["platform"] = {{"architecture", "amd64"}, {"os", "linux"}};
  index_json["manifests"][0]["annotations"] = {{"org.example.note", "first"}};
  index_json["manifests"][1]["platform"] = {{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"}};
  index_json["annotations"] = {{"org.opencontainers.image.ref.name", "v1"}};
  const std::string in = index_json.dump();

  FakeTranscoder t{{{"gz-amd64", "zs-amd64"}}, {}};
  std::map<std::string, std::string> store = {{Sha256Of(gz_child).str(), gz_child},
                                              {Sha256Of(plain_child).str(), plain_child}};
  int asked = 0;
  auto child = [&](const Descriptor& d) -> Result<RewrittenManifest> {
    ++asked;
    return RewriteImageManifest(d.media_type, store.at(d.digest.str()), t.Map());
  };
  auto r = RewriteIndex(pier::media::kOciIndex, in, child);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(asked, 2);
  ASSERT_TRUE(r->changed);
  EXPECT_EQ(r->media_type, pier::media::kOciIndex);
  EXPECT_EQ(r->digest, Sha256Of(r->bytes));

  auto new_child = RewriteImageManifest(pier::media::kOciManifest, gz_child, t.Map());
  ASSERT_TRUE(new_child.ok());
  ojson expect = index_json;
  expect["manifests"][0]["digest"] = new_child->digest.str();
  expect["manifests"][0]["size"] = new_child->bytes.size();
  EXPECT_EQ(ojson::parse(r->bytes), expect);

  ParsedManifest p = MustParse(*r);
  ASSERT_EQ(p.manifests.size(), 2u);
  EXPECT_EQ(p.manifests[0].digest, new_child->digest);
  EXPECT_EQ(p.manifests[0].size, static_cast<int64_t>(new_child->bytes.size()));
  EXPECT_EQ(json::parse(*p.manifests[0].platform_json),
            json::parse(R"({"architecture":"amd64","os":"linux"})"));
  EXPECT_EQ(p.manifests[1].digest, Sha256Of(plain_child));

  // Nothing changed in any child: the index is byte-identical.
  auto same = RewriteIndex(pier::media::kOciIndex, in, [&](const Descriptor& d) -> Result<RewrittenManifest> {
    return RewriteImageManifest(d.media_type, store.at(d.digest.str()), nullptr);
  });
  ASSERT_TRUE(same.ok()) << same.status().ToString();
  EXPECT_FALSE(same->changed);
  EXPECT_EQ(same->bytes, in);
  EXPECT_EQ(same->digest, Sha256Of(in));

  // A child that cannot be read stops the rewrite with its status.
  auto failed = RewriteIndex(pier::media::kOciIndex, in, [](const Descriptor&) -> Result<RewrittenManifest> {
    return Status::NotFound("child gone");
  });
  EXPECT_EQ(failed.status().code(), Code::kNotFound);
  EXPECT_EQ(failed.status().message(), "child gone");
}

TEST(ZstdManifest, DockerListBecomesOciIndex) {
  const std::string amd64 =
      Image(pier::media::kDockerManifest, kDockerConfig, {Desc(kDockerGzip, "gz-amd64")}).dump();
  const std::string arm64 =
      Image(pier::media::kDockerManifest, kDockerConfig, {Desc(kDockerGzip, "gz-arm64")}).dump();
  // A BuildKit attestation manifest naming the amd64 image by digest.
  const std::string attestation =
      Image(pier::media::kOciManifest, kOciConfig, {Desc("application/vnd.in-toto+json", "provenance")})
          .dump();
  ojson list_json = Index(pier::media::kDockerList, {{pier::media::kDockerManifest, amd64},
                                                     {pier::media::kDockerManifest, arm64},
                                                     {pier::media::kOciManifest, attestation}});
  list_json["manifests"][0]["platform"] = {{"architecture", "amd64"}, {"os", "linux"}};
  list_json["manifests"][1]["platform"] = {{"architecture", "arm64"}, {"os", "linux"}};
  list_json["manifests"][2]["platform"] = {{"architecture", "unknown"}, {"os", "unknown"}};
  list_json["manifests"][2]["annotations"] = {{"vnd.docker.reference.digest", Sha256Of(amd64).str()},
                                              {"vnd.docker.reference.type", "attestation-manifest"}};
  const std::string in = list_json.dump();

  // Only amd64's layer is transcoded: arm64 stays a Docker schema2 manifest.
  FakeTranscoder t{{{"gz-amd64", "zs-amd64"}}, {}};
  std::map<std::string, std::string> store = {{Sha256Of(amd64).str(), amd64},
                                              {Sha256Of(arm64).str(), arm64},
                                              {Sha256Of(attestation).str(), attestation}};
  auto child = [&](const Descriptor& d) -> Result<RewrittenManifest> {
    return RewriteImageManifest(d.media_type, store.at(d.digest.str()), t.Map());
  };
  auto r = RewriteIndex(pier::media::kDockerList, in, child);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(r->changed);
  EXPECT_EQ(r->media_type, pier::media::kOciIndex);

  auto new_amd64 = RewriteImageManifest(pier::media::kDockerManifest, amd64, t.Map());
  ASSERT_TRUE(new_amd64.ok());
  auto out = json::parse(r->bytes);
  EXPECT_EQ(out["mediaType"], pier::media::kOciIndex);
  const auto& m = out["manifests"];
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[0]["mediaType"], pier::media::kOciManifest);
  EXPECT_EQ(m[0]["digest"], new_amd64->digest.str());
  EXPECT_EQ(m[0]["platform"]["architecture"], "amd64");
  EXPECT_EQ(m[1]["mediaType"], pier::media::kDockerManifest);
  EXPECT_EQ(m[1]["digest"], Sha256Of(arm64).str());
  EXPECT_EQ(m[2]["digest"], Sha256Of(attestation).str()) << "the attestation itself is unchanged";
  EXPECT_EQ(m[2]["annotations"]["vnd.docker.reference.digest"], new_amd64->digest.str())
      << "but it follows its image's new digest";
  EXPECT_EQ(m[2]["annotations"]["vnd.docker.reference.type"], "attestation-manifest");

  ParsedManifest p = MustParse(*r);
  EXPECT_EQ(p.media_type, pier::media::kOciIndex);
  ASSERT_EQ(p.manifests.size(), 3u);
  EXPECT_EQ(p.manifests[0].digest, new_amd64->digest);
  // The rewritten child parses too, as the OCI manifest the index says it is.
  ParsedManifest c = MustParse(*new_amd64);
  EXPECT_EQ(c.media_type, p.manifests[0].media_type);
  EXPECT_EQ(c.blobs[1].digest, Sha256Of("zs-amd64"));

  // Same input, same bytes.
  auto again = RewriteIndex(pier::media::kDockerList, in, child);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->bytes, r->bytes);
}

TEST(ZstdManifest, MalformedInputIsRefused) {
  FakeTranscoder t{{{"gz1", "zs1"}}, {}};
  auto image_error = [&](std::string_view media_type, const std::string& bytes) {
    auto r = RewriteImageManifest(media_type, bytes, t.Map());
    EXPECT_FALSE(r.ok()) << bytes;
    return r.ok() ? Status::OK() : r.status();
  };
  Status s = image_error(pier::media::kOciManifest, "{not json");
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("not valid JSON"), std::string::npos) << s.message();
  EXPECT_EQ(image_error(pier::media::kOciManifest, "[1,2]").code(), Code::kInvalidArgument);
  EXPECT_EQ(image_error(pier::media::kOciManifest, "").code(), Code::kInvalidArgument);

  ojson no_layers = Image(pier::media::kOciManifest, kOciConfig, {});
  no_layers.erase("layers");
  s = image_error(pier::media::kOciManifest, no_layers.dump());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("layers: ", 0), 0u) << s.message();

  ojson bad_digest = Image(pier::media::kOciManifest, kOciConfig, {Desc(kOciGzip, "gz1")});
  bad_digest["layers"][0]["digest"] = "sha256:nothex";
  s = image_error(pier::media::kOciManifest, bad_digest.dump());
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_EQ(s.message().rfind("layers[0].digest: ", 0), 0u) << s.message();

  ojson bad_size = Image(pier::media::kOciManifest, kOciConfig, {Desc(kOciGzip, "gz1")});
  bad_size["layers"][0]["size"] = "12";
  s = image_error(pier::media::kOciManifest, bad_size.dump());
  EXPECT_EQ(s.message().rfind("layers[0].size: ", 0), 0u) << s.message();

  // Deeply nested: refused before any recursion.
  s = image_error(pier::media::kOciManifest, std::string(100000, '[') + std::string(100000, ']'));
  EXPECT_EQ(s.code(), Code::kInvalidArgument);

  // The wrong kind, either way round.
  const std::string index = Index(pier::media::kOciIndex, {{pier::media::kOciManifest, "x"}}).dump();
  s = image_error(pier::media::kOciIndex, index);
  EXPECT_EQ(s.code(), Code::kInvalidArgument);
  EXPECT_NE(s.message().find("is an index"), std::string::npos) << s.message();
  const std::string image = Image(pier::media::kOciManifest, kOciConfig, {Desc(kOciGzip, "gz1")}).dump();
  auto r = RewriteIndex(pier::media::kOciManifest, image, nullptr);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("is not an index"), std::string::npos) << r.status().message();
  r = RewriteIndex(pier::media::kOciIndex, "{\"manifests\": 3, \"schemaVersion\": 2}", nullptr);
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);

  // Schema1 is ParseManifest's Unsupported.
  EXPECT_EQ(image_error(pier::media::kDockerSchema1, R"({"schemaVersion":1})").code(), Code::kUnsupported);
  EXPECT_TRUE(t.calls.empty());

  // A rewrite of a child without a media type is a caller bug, reported.
  const std::string list = Index(pier::media::kOciIndex, {{pier::media::kOciManifest, image}}).dump();
  r = RewriteIndex(pier::media::kOciIndex, list, [](const Descriptor&) -> Result<RewrittenManifest> {
    return RewrittenManifest{"", "{}", Sha256Of("{}"), true};
  });
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  // A callback that throws does not take the caller down.
  r = RewriteIndex(pier::media::kOciIndex, list,
                   [](const Descriptor&) -> Result<RewrittenManifest> { throw std::runtime_error("boom"); });
  EXPECT_FALSE(r.ok());
}

}  // namespace
}  // namespace pier::replication
