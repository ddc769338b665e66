#include "replication/labels.h"

#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>

namespace pier::replication {
namespace {

using nlohmann::json;
using Labels = std::vector<std::string>;

constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
constexpr const char* kOciManifestType = "application/vnd.oci.image.manifest.v1+json";
constexpr const char* kOciIndexType = "application/vnd.oci.image.index.v1+json";

std::string ConfigWith(const json& labels) {
  return json{{"architecture", "amd64"}, {"os", "linux"}, {"config", {{"Labels", labels}}}}.dump();
}

json Desc(const std::string& media_type, const std::string& bytes) {
  return {{"mediaType", media_type}, {"digest", Sha256Of(bytes).str()}, {"size", bytes.size()}};
}

// A fake source: blobs and manifests by digest, and which ones were read.
struct Source {
  std::map<std::string, std::string> blobs;
  std::map<std::string, std::string> manifests;
  std::vector<std::string> reads;

  // An image manifest over `config` (with that config media type); returns its bytes.
  std::string Image(const std::string& config, const std::string& config_type = kOciConfig) {
    blobs[Sha256Of(config).str()] = config;
    std::string layer = "layer of " + config;
    json m = {{"schemaVersion", 2},
              {"mediaType", kOciManifestType},
              {"config", Desc(config_type, config)},
              {"layers", json::array({Desc("application/vnd.oci.image.layer.v1.tar+gzip", layer)})}};
    std::string bytes = m.dump();
    manifests[Sha256Of(bytes).str()] = bytes;
    return bytes;
  }
  std::string Index(const std::vector<std::pair<std::string, std::string>>& children) {  // (bytes, arch)
    json list = json::array();
    for (const auto& [bytes, arch] : children) {
      json d = Desc(kOciManifestType, bytes);
      d["platform"] = {{"os", "linux"}, {"architecture", arch}};
      list.push_back(d);
    }
    std::string bytes = json{{"schemaVersion", 2}, {"mediaType", kOciIndexType}, {"manifests", list}}.dump();
    manifests[Sha256Of(bytes).str()] = bytes;
    return bytes;
  }
  LabelSources From() {
    LabelSources s;
    s.child = [this](const Descriptor& d) -> Result<ParsedManifest> {
      reads.push_back("manifest " + d.digest.str());
      auto it = manifests.find(d.digest.str());
      if (it == manifests.end()) return Status::NotFound("manifest unknown");
      return ParseManifest("", it->second);
    };
    s.config = [this](const Descriptor& d) -> Result<std::string> {
      reads.push_back("blob " + d.digest.str());
      auto it = blobs.find(d.digest.str());
      if (it == blobs.end()) return Status::NotFound("GET blob: 404 BLOB_UNKNOWN");
      return it->second;
    };
    return s;
  }
};

ParsedManifest Parse(const std::string& bytes) {
  auto m = ParseManifest("", bytes);
  EXPECT_TRUE(m.ok()) << m.status().message();
  return m.ok() ? *m : ParsedManifest{};
}

TEST(ConfigLabelNames, ReadsConfigLabelsKeysSorted) {
  EXPECT_EQ(ConfigLabelNames(ConfigWith({{"team", "a"}, {"env", "prod"}})), (Labels{"env", "team"}));
  EXPECT_EQ(ConfigLabelNames(ConfigWith(json::object())), Labels{});
  EXPECT_EQ(ConfigLabelNames(ConfigWith(nullptr)), Labels{});
  EXPECT_EQ(ConfigLabelNames(R"({"config":{}})"), Labels{});
  EXPECT_EQ(ConfigLabelNames(R"({"Labels":{"top-level":"not a config label"}})"), Labels{});
  EXPECT_EQ(ConfigLabelNames("not json"), Labels{});
  EXPECT_EQ(ConfigLabelNames(""), Labels{});
}

TEST(IsImageConfig, OciDockerAndUnset) {
  EXPECT_TRUE(IsImageConfig(""));
  EXPECT_TRUE(IsImageConfig(kOciConfig));
  EXPECT_TRUE(IsImageConfig("application/vnd.docker.container.image.v1+json"));
  EXPECT_FALSE(IsImageConfig("application/vnd.oci.empty.v1+json"));
  EXPECT_FALSE(IsImageConfig("application/vnd.pier.test.sbom"));
}

TEST(ArtifactLabels, ImageCarriesItsConfigLabels) {
  Source src;
  std::string image = src.Image(ConfigWith({{"pier.prod", "yes"}}));
  auto got = ArtifactLabels(Parse(image), src.From(), {});
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_EQ(*got, Labels{"pier.prod"});
  EXPECT_EQ(src.reads.size(), 1u);
}

TEST(ArtifactLabels, ArtifactConfigIsNotRead) {
  Source src;
  std::string sbom = src.Image(ConfigWith({{"pier.prod", "yes"}}), "application/vnd.pier.test.sbom");
  auto got = ArtifactLabels(Parse(sbom), src.From(), {});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, Labels{});
  EXPECT_TRUE(src.reads.empty());
}

TEST(ArtifactLabels, OversizedConfigRefusedBeforeReading) {
  Source src;
  std::string config = ConfigWith({{"big", std::string(2000, 'x')}});
  std::string image = src.Image(config);
  auto got = ArtifactLabels(Parse(image), src.From(), {}, 1000);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kOutOfRange);
  EXPECT_NE(got.status().message().find("config " + Sha256Of(config).str()), std::string::npos)
      << got.status().message();
  EXPECT_NE(got.status().message().find("at most 1000 bytes"), std::string::npos) << got.status().message();
  EXPECT_TRUE(src.reads.empty());
  // Within the bound it is read.
  EXPECT_TRUE(ArtifactLabels(Parse(image), src.From(), {}, config.size()).ok());
}

TEST(ArtifactLabels, ReadErrorNamesTheConfig) {
  Source src;
  std::string config = ConfigWith({{"a", "1"}});
  std::string image = src.Image(config);
  src.blobs.clear();
  auto got = ArtifactLabels(Parse(image), src.From(), {});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), Code::kNotFound);
  EXPECT_EQ(got.status().message(),
            "reading config " + Sha256Of(config).str() + ": GET blob: 404 BLOB_UNKNOWN");
}

TEST(ArtifactLabels, IndexCarriesTheUnionOfItsChildren) {
  Source src;
  std::string amd = src.Image(ConfigWith({{"env", "prod"}, {"arch", "amd64"}}));
  std::string arm = src.Image(ConfigWith({{"env", "prod"}, {"arm-only", "1"}}));
  std::string index = src.Index({{amd, "amd64"}, {arm, "arm64"}});
  auto all = ArtifactLabels(Parse(index), src.From(), {});
  ASSERT_TRUE(all.ok()) << all.status().message();
  EXPECT_EQ(*all, (Labels{"arch", "arm-only", "env"}));
  // The platform filter narrows which children count.
  auto amd_only = ArtifactLabels(Parse(index), src.From(), {"linux/amd64"});
  ASSERT_TRUE(amd_only.ok());
  EXPECT_EQ(*amd_only, (Labels{"arch", "env"}));
}

TEST(ArtifactLabels, IndexChildErrorNamesTheChild) {
  Source src;
  std::string amd = src.Image(ConfigWith({{"env", "prod"}}));
  std::string index = src.Index({{amd, "amd64"}});
  src.manifests.erase(Sha256Of(amd).str());
  auto got = ArtifactLabels(Parse(index), src.From(), {});
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().message(), "child manifest " + Sha256Of(amd).str() + ": manifest unknown");
}

Filter LabelFilter(std::vector<std::string> names, std::string decoration = "") {
  return Filter{"label", json(names), std::move(decoration)};
}
Artifact Art(std::string digest, std::vector<std::string> tags) {
  Artifact a;
  a.digest = std::move(digest);
  a.tags = std::move(tags);
  a.resource_type = "image";
  return a;
}

TEST(FilterWithLabels, NoLabelFilterReadsNothing) {
  int calls = 0;
  auto v = FilterWithLabels({Filter{"tag", "v*", ""}}, {Art("d1", {"v1", "dev"}), Art("d2", {"dev"})},
                            [&](const Artifact&) -> Result<Labels> {
                              ++calls;
                              return Labels{};
                            });
  EXPECT_EQ(calls, 0);
  ASSERT_EQ(v.kept.size(), 1u);
  EXPECT_EQ(v.kept[0].tags, Labels{"v1"});
  EXPECT_TRUE(v.unreadable.empty());
}

TEST(FilterWithLabels, ReadsOnlyCandidatesAndAppliesTheSharedMatcher) {
  std::map<std::string, Labels> labels = {{"d1", {"prod"}}, {"d2", {}}, {"d3", {"prod", "eu"}}};
  std::vector<std::string> asked;
  auto labels_of = [&](const Artifact& a) -> Result<Labels> {
    asked.push_back(a.digest);
    return labels[a.digest];
  };
  std::vector<Artifact> arts = {Art("d1", {"v1", "dev"}), Art("d2", {"v2"}), Art("d3", {"v3"}),
                                Art("d4", {"dev"})};
  auto matches = FilterWithLabels({LabelFilter({"prod"}), Filter{"tag", "v*", ""}}, arts, labels_of);
  EXPECT_EQ(asked, (std::vector<std::string>{"d1", "d2", "d3"}));  // d4 has no v* tag: never read
  ASSERT_EQ(matches.kept.size(), 2u);
  EXPECT_EQ(matches.kept[0].digest, "d1");
  EXPECT_EQ(matches.kept[0].tags, Labels{"v1"});
  EXPECT_EQ(matches.kept[0].labels, Labels{"prod"});
  EXPECT_EQ(matches.kept[1].digest, "d3");

  auto excludes = FilterWithLabels({LabelFilter({"prod", "eu"}, "excludes")}, arts, labels_of);
  ASSERT_EQ(excludes.kept.size(), 3u);  // d3 carries both: excluded
  EXPECT_EQ(excludes.kept[0].digest, "d1");
  EXPECT_EQ(excludes.kept[0].tags, (Labels{"v1", "dev"}));
  EXPECT_EQ(excludes.kept[1].digest, "d2");
  EXPECT_EQ(excludes.kept[2].digest, "d4");
}

TEST(FilterWithLabels, UnreadableCandidatesComeBackWithTheReason) {
  auto v = FilterWithLabels({LabelFilter({"prod"}), Filter{"tag", "v*", ""}},
                            {Art("d1", {"v1", "dev"}), Art("d2", {"v2"})},
                            [](const Artifact& a) -> Result<Labels> {
                              if (a.digest == "d1") return Status::OutOfRange("config too big");
                              return Labels{"prod"};
                            });
  ASSERT_EQ(v.kept.size(), 1u);
  EXPECT_EQ(v.kept[0].digest, "d2");
  ASSERT_EQ(v.unreadable.size(), 1u);
  EXPECT_EQ(v.unreadable[0].first.digest, "d1");
  EXPECT_EQ(v.unreadable[0].first.tags, Labels{"v1"});  // narrowed by the tag filter
  EXPECT_EQ(v.unreadable[0].second.message(), "config too big");
}

}  // namespace
}  // namespace pier::replication
