#include "base/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace pier {
namespace {

using nlohmann::json;

std::string D(const std::string& content) { return Sha256Of(content).str(); }

json Desc(const std::string& media_type, const std::string& content, int64_t size = 10) {
  return json{{"mediaType", media_type}, {"digest", D(content)}, {"size", size}};
}

json DockerManifest() {
  return json{{"schemaVersion", 2},
              {"mediaType", media::kDockerManifest},
              {"config", Desc("application/vnd.docker.container.image.v1+json", "cfg")},
              {"layers",
               {Desc("application/vnd.docker.image.rootfs.diff.tar.gzip", "l1"),
                Desc("application/vnd.docker.image.rootfs.diff.tar.gzip", "l2")}}};
}

json OciManifest() {
  return json{{"schemaVersion", 2},
              {"config", Desc("application/vnd.oci.image.config.v1+json", "cfg")},
              {"layers",
               {Desc("application/vnd.oci.image.layer.v1.tar+gzip", "l1"),
                Desc("application/vnd.oci.image.layer.v1.tar+zstd", "l2"),
                Desc("application/vnd.oci.image.layer.v1.tar", "l3")}}};
}

json Index(std::string_view media_type) {
  json child1 = Desc(std::string(media::kOciManifest), "m1");
  child1["platform"] = {{"architecture", "amd64"}, {"os", "linux"}};
  json child2 = Desc(std::string(media::kOciManifest), "m2");
  return json{{"schemaVersion", 2}, {"mediaType", media_type}, {"manifests", {child1, child2}}};
}

Result<ParsedManifest> Parse(std::string_view ct, const json& j) { return ParseManifest(ct, j.dump()); }

void ExpectInvalid(std::string_view ct, const json& j, const std::string& field) {
  auto r = Parse(ct, j);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << r.status().ToString();
  EXPECT_NE(r.status().message().find(field), std::string::npos) << r.status().message();
}

TEST(ParseManifest, DockerSchema2) {
  auto r = Parse(media::kDockerManifest, DockerManifest());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->media_type, media::kDockerManifest);
  ASSERT_EQ(r->blobs.size(), 3u);
  EXPECT_EQ(r->blobs[0].digest.str(), D("cfg"));
  EXPECT_EQ(r->blobs[2].digest.str(), D("l2"));
  EXPECT_EQ(r->blobs[1].size, 10);
  EXPECT_TRUE(r->manifests.empty());
  EXPECT_TRUE(r->artifact_type.empty());
  EXPECT_FALSE(r->subject);
}

TEST(ParseManifest, DockerManifestList) {
  auto r = Parse(media::kDockerList, Index(media::kDockerList));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->media_type, media::kDockerList);
  EXPECT_TRUE(r->blobs.empty());
  ASSERT_EQ(r->manifests.size(), 2u);
  ASSERT_TRUE(r->manifests[0].platform_json);
  EXPECT_EQ(json::parse(*r->manifests[0].platform_json)["os"], "linux");
  EXPECT_FALSE(r->manifests[1].platform_json);
}

TEST(ParseManifest, OciManifestTypedByContentType) {
  auto r = Parse(media::kOciManifest, OciManifest());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->media_type, media::kOciManifest);
  EXPECT_EQ(r->blobs.size(), 4u);
  EXPECT_EQ(r->artifact_type, "application/vnd.oci.image.config.v1+json");
}

TEST(ParseManifest, ContentTypeParametersAndCaseIgnored) {
  auto r = Parse("Application/Vnd.Oci.Image.Manifest.v1+json; charset=utf-8", OciManifest());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->media_type, media::kOciManifest);
}

TEST(ParseManifest, GenericContentTypeUsesBodyMediaType) {
  json j = DockerManifest();
  for (const char* ct : {"", "application/json", "application/octet-stream"}) {
    auto r = Parse(ct, j);
    ASSERT_TRUE(r.ok()) << ct << ": " << r.status().ToString();
    EXPECT_EQ(r->media_type, media::kDockerManifest);
  }
}

TEST(ParseManifest, InfersOciTypesFromShape) {
  auto m = Parse("", OciManifest());
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->media_type, media::kOciManifest);
  json idx = Index(media::kOciIndex);
  idx.erase("mediaType");
  auto i = Parse("application/json", idx);
  ASSERT_TRUE(i.ok()) << i.status().ToString();
  EXPECT_EQ(i->media_type, media::kOciIndex);
  EXPECT_EQ(i->manifests.size(), 2u);
  json neither = {{"schemaVersion", 2}};
  EXPECT_EQ(Parse("", neither).status().code(), Code::kInvalidArgument);
}

TEST(ParseManifest, OciArtifactWithSubject) {
  json j = {{"schemaVersion", 2},
            {"mediaType", media::kOciManifest},
            {"artifactType", "application/vnd.example.sbom"},
            {"config", Desc(std::string(media::kOciEmpty), "{}", 2)},
            {"layers", {Desc("application/spdx+json", "sbom")}},
            {"subject", Desc(std::string(media::kOciManifest), "target", 500)},
            {"annotations", {{"org.opencontainers.image.created", "2024-01-01T00:00:00Z"}}}};
  auto r = Parse(media::kOciManifest, j);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->artifact_type, "application/vnd.example.sbom");
  ASSERT_TRUE(r->subject);
  EXPECT_EQ(r->subject->digest.str(), D("target"));
  EXPECT_EQ(r->subject->size, 500);
  EXPECT_EQ(json::parse(r->annotations_json)["org.opencontainers.image.created"], "2024-01-01T00:00:00Z");
  EXPECT_EQ(r->blobs[0].media_type, media::kOciEmpty);
}

TEST(ParseManifest, ArtifactTypeFallsBackToConfigMediaType) {
  json j = OciManifest();
  j["config"]["mediaType"] = "application/vnd.example.config+json";
  auto r = Parse(media::kOciManifest, j);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->artifact_type, "application/vnd.example.config+json");
}

TEST(ParseManifest, IndexWithSubjectAndArtifactType) {
  json j = Index(media::kOciIndex);
  j["artifactType"] = "application/vnd.example.bundle";
  j["subject"] = Desc(std::string(media::kOciManifest), "target");
  auto r = Parse(media::kOciIndex, j);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->artifact_type, "application/vnd.example.bundle");
  ASSERT_TRUE(r->subject);
}

TEST(ParseManifest, ForeignLayersKeepUrls) {
  json j = DockerManifest();
  json foreign = Desc("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "win");
  foreign["urls"] = {"https://example.com/layer"};
  j["layers"].push_back(foreign);
  auto r = Parse(media::kDockerManifest, j);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->blobs.size(), 4u);
  EXPECT_TRUE(r->blobs[1].urls.empty());
  EXPECT_EQ(r->blobs[3].urls, std::vector<std::string>{"https://example.com/layer"});
}

TEST(ParseManifest, MediaTypeMustMatchContentType) {
  auto r = Parse(media::kOciManifest, DockerManifest());
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("does not match Content-Type"), std::string::npos);
}

TEST(ParseManifest, Schema1Unsupported) {
  json s1 = {{"schemaVersion", 1}, {"name", "x"}, {"tag", "latest"}, {"fsLayers", json::array()}};
  EXPECT_EQ(Parse(media::kDockerSchema1, s1).status().code(), Code::kUnsupported);
  EXPECT_EQ(Parse(media::kDockerSchema1Signed, s1).status().code(), Code::kUnsupported);
  EXPECT_EQ(Parse("", s1).status().code(), Code::kUnsupported);
  json typed = s1;
  typed["mediaType"] = media::kDockerSchema1;
  EXPECT_EQ(Parse("application/json", typed).status().code(), Code::kUnsupported);
}

TEST(ParseManifest, UnknownTypesUnsupported) {
  EXPECT_EQ(Parse("text/plain", OciManifest()).status().code(), Code::kUnsupported);
  EXPECT_EQ(Parse("application/vnd.oci.image.config.v1+json", OciManifest()).status().code(),
            Code::kUnsupported);
  json j = OciManifest();
  j["mediaType"] = "application/vnd.example.thing";
  EXPECT_EQ(Parse("", j).status().code(), Code::kUnsupported);
}

TEST(ParseManifest, MalformedJson) {
  for (std::string bad : {"", "{", "[]", "\"x\"", "{\"schemaVersion\":2,}", "nul"}) {
    auto r = ParseManifest(media::kOciManifest, bad);
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ParseManifest(media::kOciManifest, std::string("{\"a\":\"\xff\"}")).status().code(),
            Code::kInvalidArgument);
}

TEST(ParseManifest, DeepNestingDoesNotCrash) {
  const size_t depth = 200000;
  std::string deep = "{\"a\":" + std::string(depth, '[') + std::string(depth, ']') + "}";
  EXPECT_FALSE(ParseManifest(media::kOciManifest, deep).ok());
}

TEST(ParseManifest, ErrorsNameTheField) {
  json j = OciManifest();
  j["layers"][2]["digest"] = "sha256:nothex";
  ExpectInvalid(media::kOciManifest, j, "layers[2].digest");

  j = OciManifest();
  j["layers"][0]["size"] = -1;
  ExpectInvalid(media::kOciManifest, j, "layers[0].size");
  j["layers"][0]["size"] = 1.5;
  ExpectInvalid(media::kOciManifest, j, "layers[0].size");
  j["layers"][0]["size"] = "10";
  ExpectInvalid(media::kOciManifest, j, "layers[0].size");
  j["layers"][0].erase("size");
  ExpectInvalid(media::kOciManifest, j, "layers[0].size");

  j = OciManifest();
  j["layers"][1].erase("mediaType");
  ExpectInvalid(media::kOciManifest, j, "layers[1].mediaType");

  j = OciManifest();
  j["layers"][1]["digest"] = "sha512:" + std::string(128, 'a');  // valid but not storable
  ExpectInvalid(media::kOciManifest, j, "layers[1].digest");

  j = OciManifest();
  j["config"]["digest"] = 5;
  ExpectInvalid(media::kOciManifest, j, "config.digest");
  j.erase("config");
  ExpectInvalid(media::kOciManifest, j, "config");

  j = OciManifest();
  j["layers"] = "nope";
  ExpectInvalid(media::kOciManifest, j, "layers");

  j = OciManifest();
  j["subject"] = {{"mediaType", media::kOciManifest}, {"digest", "bad"}, {"size", 1}};
  ExpectInvalid(media::kOciManifest, j, "subject.digest");

  j = OciManifest();
  j["annotations"] = "x";
  ExpectInvalid(media::kOciManifest, j, "annotations");
  j = OciManifest();
  j["layers"][0]["urls"] = {1};
  ExpectInvalid(media::kOciManifest, j, "layers[0].urls");

  json idx = Index(media::kOciIndex);
  idx["manifests"][1].erase("mediaType");
  ExpectInvalid(media::kOciIndex, idx, "manifests[1].mediaType");
  idx = Index(media::kOciIndex);
  idx["manifests"][0]["platform"] = "linux";
  ExpectInvalid(media::kOciIndex, idx, "manifests[0].platform");
}

// Every typed field of the image and distribution specs, for OCI and Docker
// schema2 alike: wrong types are refused naming the field.
TEST(ParseManifest, FieldTypesFollowTheSpecs) {
  for (std::string_view mt : {media::kOciManifest, media::kDockerManifest}) {
    json base = mt == media::kOciManifest ? OciManifest() : DockerManifest();
    json j = base;
    j["annotations"] = {{"org.example.nested", {{"a", "b"}}}};
    ExpectInvalid(mt, j, "annotations[\"org.example.nested\"]");
    j = base;
    j["annotations"] = {{"n", 5}};
    ExpectInvalid(mt, j, "annotations[\"n\"]");
    j = base;
    j["layers"][1]["annotations"] = {{"ok", "x"}, {"bad", true}};
    ExpectInvalid(mt, j, "layers[1].annotations[\"bad\"]");
    j = base;
    j["config"]["annotations"] = {{"list", json::array({"a"})}};
    ExpectInvalid(mt, j, "config.annotations[\"list\"]");
    j = base;
    j["layers"][0]["mediaType"] = "not a media type";
    ExpectInvalid(mt, j, "layers[0].mediaType");
    j = base;
    j["layers"][0]["mediaType"] = 7;
    ExpectInvalid(mt, j, "layers[0].mediaType");
    j = base;
    j["artifactType"] = "application";
    ExpectInvalid(mt, j, "artifactType");
    j = base;
    j["layers"][0]["data"] = 5;
    ExpectInvalid(mt, j, "layers[0].data");
  }
  for (std::string_view mt : {media::kOciIndex, media::kDockerList}) {
    json idx = Index(mt);
    idx["manifests"][0]["platform"] = {{"os", "linux"}};
    ExpectInvalid(mt, idx, "manifests[0].platform.architecture");
    idx = Index(mt);
    idx["manifests"][0]["platform"] = {{"architecture", "arm64"}, {"os", 1}};
    ExpectInvalid(mt, idx, "manifests[0].platform.os");
    idx = Index(mt);
    idx["manifests"][0]["platform"]["os.features"] = "win32k";
    ExpectInvalid(mt, idx, "manifests[0].platform.os.features");
    idx = Index(mt);
    idx["manifests"][0]["platform"]["variant"] = 8;
    ExpectInvalid(mt, idx, "manifests[0].platform.variant");
    idx = Index(mt);
    idx["manifests"][1]["annotations"] = {{"x", nullptr}};
    ExpectInvalid(mt, idx, "manifests[1].annotations[\"x\"]");
    idx = Index(mt);
    idx["annotations"] = {{"x", {1, 2}}};
    ExpectInvalid(mt, idx, "annotations[\"x\"]");
  }
}

// What the specs say must be tolerated: unknown media types, unknown fields,
// and well-typed optional fields.
TEST(ParseManifest, UnknownTypesAndExtraFieldsTolerated) {
  json j = OciManifest();
  j["annotations"] = {{"org.opencontainers.image.created", "2026-01-01T00:00:00Z"}, {"empty", ""}};
  j["x-vendor-extension"] = {{"nested", {1, 2, 3}}};
  j["layers"][0]["mediaType"] = "application/vnd.example.unknown.layer+custom";
  j["layers"][0]["data"] = "aGVsbG8=";
  j["layers"][0]["x-extra"] = 5;
  j["config"]["mediaType"] = "application/vnd.example.config.v1+json";
  EXPECT_TRUE(Parse(media::kOciManifest, j).ok()) << Parse(media::kOciManifest, j).status().ToString();
  json idx = Index(media::kOciIndex);
  idx["manifests"][0]["platform"] = {{"architecture", "arm64"}, {"os", "linux"}, {"variant", "v8"},
                                     {"os.version", "1"}, {"os.features", {"a"}}, {"features", {"sse4"}}};
  idx["manifests"][1]["mediaType"] = "application/vnd.example.other+json";
  EXPECT_TRUE(Parse(media::kOciIndex, idx).ok()) << Parse(media::kOciIndex, idx).status().ToString();
}

TEST(ParseManifest, SchemaVersionMustBeTwo) {
  json j = OciManifest();
  j.erase("schemaVersion");
  ExpectInvalid(media::kOciManifest, j, "schemaVersion");
  j["schemaVersion"] = 3;
  ExpectInvalid(media::kOciManifest, j, "schemaVersion");
}

TEST(DescriptorJson, RendersAndRoundTrips) {
  Descriptor d;
  d.media_type = std::string(media::kOciManifest);
  d.digest = Sha256Of("x");
  d.size = 42;
  std::string plain = DescriptorJson(d);
  json j = json::parse(plain);
  EXPECT_EQ(j["mediaType"], media::kOciManifest);
  EXPECT_EQ(j["digest"], d.digest.str());
  EXPECT_EQ(j["size"], 42);
  EXPECT_FALSE(j.contains("artifactType"));
  EXPECT_FALSE(j.contains("annotations"));

  d.artifact_type = "application/vnd.example";
  d.annotations_json = R"({"k":"v"})";
  j = json::parse(DescriptorJson(d));
  EXPECT_EQ(j["artifactType"], "application/vnd.example");
  EXPECT_EQ(j["annotations"]["k"], "v");

  auto back = ParseDescriptorJson(DescriptorJson(d));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->digest, d.digest);
  EXPECT_EQ(back->size, 42);
  EXPECT_EQ(back->artifact_type, d.artifact_type);
  EXPECT_EQ(json::parse(back->annotations_json), json::parse(d.annotations_json));
  EXPECT_FALSE(ParseDescriptorJson("{").ok());
}

}  // namespace
}  // namespace pier
