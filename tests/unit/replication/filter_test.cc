#include "replication/filter.h"

#include <gtest/gtest.h>

namespace pier::replication {
namespace {

using nlohmann::json;

Filter Name(const std::string& pattern) { return Filter{"name", pattern, ""}; }
Filter Tag(const std::string& pattern, const std::string& decoration = "") {
  return Filter{"tag", pattern, decoration};
}

struct RepoCase {
  std::string pattern;
  std::string repo;
  bool match;
};

TEST(MatchRepository, HarborNameCases) {
  const RepoCase cases[] = {
      {"*", "library/hello-world", false},
      {"**", "library/hello-world", true},
      {"*", "hello-world", true},
      {"", "library/hello-world", true},
      {"library/*", "library/hello-world", true},
      {"library/*", "library/a/b", false},
      {"library/**", "library/a/b", true},
      {"{library,harbor}/**", "library/hello-world", true},
      {"{library,harbor}/**", "harbor/x/y", true},
      {"{library,harbor}/**", "other/hello-world", false},
      {"team/**", "team/app", true},
      {"team/**", "teams/app", false},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(MatchRepository({Name(c.pattern)}, c.repo), c.match) << c.pattern << " vs " << c.repo;
  }
}

TEST(MatchRepository, NameFiltersAreAndedAndOthersIgnored) {
  EXPECT_TRUE(MatchRepository({}, "anything/at/all"));
  EXPECT_TRUE(MatchRepository({Name("library/**"), Name("**/app")}, "library/x/app"));
  EXPECT_FALSE(MatchRepository({Name("library/**"), Name("**/app")}, "library/x/web"));
  EXPECT_TRUE(MatchRepository({Tag("nothing-matches")}, "library/x"));
}

Artifact Art(std::string digest, std::vector<std::string> tags, std::vector<std::string> labels = {},
             std::string type = "image") {
  return Artifact{std::move(digest), std::move(tags), std::move(labels), std::move(type)};
}

std::vector<std::string> Digests(const std::vector<Artifact>& v) {
  std::vector<std::string> out;
  for (const auto& a : v) out.push_back(a.digest);
  return out;
}

struct TagCase {
  std::string pattern;
  std::string decoration;
  std::string tag;
  bool kept;
};

TEST(FilterArtifacts, HarborTagCases) {
  const TagCase cases[] = {
      {"1.?", "", "1.0", true},
      {"1.?", "", "1.01", false},
      {"v2.[4-6].*", "", "v2.4.0", true},
      {"v2.[4-6].*", "", "v2.6.1", true},
      {"v2.[4-6].*", "", "v2.7.0", false},
      {"v2.[4-6].*", "matches", "v2.5.3", true},
      {"v*", "excludes", "v1", false},
      {"v*", "excludes", "latest", true},
      {"1.?", "excludes", "1.01", true},
      {"", "", "anything", true},
      {"", "excludes", "anything", true},  // Harbor: an empty pattern keeps everything
  };
  for (const auto& c : cases) {
    auto out = FilterArtifacts({Tag(c.pattern, c.decoration)}, {Art("d", {c.tag})});
    EXPECT_EQ(out.size(), c.kept ? 1u : 0u) << c.pattern << " " << c.decoration << " " << c.tag;
  }
}

TEST(FilterArtifacts, TagFilterNarrowsTagsAndDropsEmpty) {
  std::vector<Artifact> in = {Art("a", {"v1", "latest", "v2"}), Art("b", {"latest"}), Art("c", {"v3"})};
  auto out = FilterArtifacts({Tag("v*")}, in);
  ASSERT_EQ(Digests(out), (std::vector<std::string>{"a", "c"}));
  EXPECT_EQ(out[0].tags, (std::vector<std::string>{"v1", "v2"}));

  out = FilterArtifacts({Tag("v*", "excludes")}, in);
  ASSERT_EQ(Digests(out), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(out[0].tags, (std::vector<std::string>{"latest"}));
  EXPECT_EQ(in[0].tags.size(), 3u);  // input untouched
}

TEST(FilterArtifacts, UntaggedMatchedAgainstEmptyString) {
  std::vector<Artifact> in = {Art("untagged", {}), Art("tagged", {"v1"})};
  // "v*" does not match "": untagged dropped under matches, kept under excludes.
  EXPECT_EQ(Digests(FilterArtifacts({Tag("v*")}, in)), (std::vector<std::string>{"tagged"}));
  EXPECT_EQ(Digests(FilterArtifacts({Tag("v*", "excludes")}, in)), (std::vector<std::string>{"untagged"}));
  // "*" matches "": untagged kept under matches, dropped under excludes.
  EXPECT_EQ(Digests(FilterArtifacts({Tag("*")}, in)), (std::vector<std::string>{"untagged", "tagged"}));
  EXPECT_EQ(Digests(FilterArtifacts({Tag("*", "excludes")}, in)), (std::vector<std::string>{}));
  // Empty pattern: everything, untagged included.
  EXPECT_EQ(Digests(FilterArtifacts({Tag("")}, in)), (std::vector<std::string>{"untagged", "tagged"}));
}

TEST(FilterArtifacts, Labels) {
  std::vector<Artifact> in = {Art("both", {"t"}, {"prod", "eu"}), Art("prod", {"t"}, {"prod"}),
                              Art("none", {"t"}, {})};
  Filter matches{"label", json::array({"prod", "eu"}), "matches"};
  Filter excludes{"label", json::array({"prod", "eu"}), "excludes"};
  Filter prod_excl{"label", json::array({"prod"}), "excludes"};
  Filter empty{"label", json::array(), "matches"};
  EXPECT_EQ(Digests(FilterArtifacts({matches}, in)), (std::vector<std::string>{"both"}));
  EXPECT_EQ(Digests(FilterArtifacts({excludes}, in)), (std::vector<std::string>{"prod", "none"}));
  EXPECT_EQ(Digests(FilterArtifacts({prod_excl}, in)), (std::vector<std::string>{"none"}));
  EXPECT_EQ(Digests(FilterArtifacts({empty}, in)), (std::vector<std::string>{"both", "prod", "none"}));
}

TEST(FilterArtifacts, Resource) {
  std::vector<Artifact> in = {Art("img", {"t"}, {}, "image"), Art("sig", {"t"}, {}, "artifact"),
                              Art("IMG", {"t"}, {}, "IMAGE")};
  EXPECT_EQ(Digests(FilterArtifacts({Filter{"resource", "image", ""}}, in)),
            (std::vector<std::string>{"img", "IMG"}));
  EXPECT_EQ(Digests(FilterArtifacts({Filter{"resource", "artifact", ""}}, in)),
            (std::vector<std::string>{"img", "sig", "IMG"}));
}

TEST(FilterArtifacts, FiltersAreAnded) {
  std::vector<Artifact> in = {Art("a", {"v1"}, {"prod"}), Art("b", {"v2"}, {}), Art("c", {"latest"}, {}),
                              Art("d", {"v3"}, {}, "artifact")};
  std::vector<Filter> filters = {Tag("v*"), Filter{"label", json::array({"prod"}), "excludes"},
                                 Filter{"resource", "image", ""}, Name("ignored/here")};
  EXPECT_EQ(Digests(FilterArtifacts(filters, in)), (std::vector<std::string>{"b"}));
}

TEST(PlatformFilter, SelectsPlatforms) {
  EXPECT_TRUE(PlatformFilter({Tag("v*")}).empty());
  EXPECT_EQ(PlatformFilter({Filter{"platform", "linux/amd64", ""}}),
            (std::vector<std::string>{"linux/amd64"}));
  EXPECT_EQ(PlatformFilter({Filter{"platform", json::array({"linux/amd64", "linux/arm64/v8"}), ""}}),
            (std::vector<std::string>{"linux/amd64", "linux/arm64/v8"}));
}

struct BadCase {
  json filters;
  std::string message_start;
};

TEST(ValidateFilters, RefusesWithFieldName) {
  const BadCase cases[] = {
      {json::parse(R"([{"type":"tag","value":"v*"},{"type":"name","value":"a/**","decoration":"matches"}])"),
       "filters[1].decoration: name filter takes no decoration"},
      {json::parse(R"([{"type":"tag","value":"v*","decoration":"include"}])"),
       "filters[0].decoration: must be"},
      {json::parse(R"([{"type":"colour","value":"red"}])"), "filters[0].type: unknown filter type"},
      {json::parse(R"([{"value":"red"}])"), "filters[0].type: required"},
      {json::parse(R"([{"type":"resource","value":"chart"}])"), "filters[0].value: resource filter value"},
      {json::parse(R"([{"type":"resource","value":"image","decoration":"excludes"}])"),
       "filters[0].decoration: resource filter takes no decoration"},
      {json::parse(R"([{"type":"name","value":42}])"), "filters[0].value: name filter value must be a glob"},
      {json::parse(R"([{"type":"tag","value":"v[1-"}])"), "filters[0].value: malformed pattern"},
      {json::parse(R"([{"type":"name","value":"{a,b"}])"), "filters[0].value: malformed pattern"},
      {json::parse(R"([{"type":"label","value":"prod"}])"), "filters[0].value: label filter value"},
      {json::parse(R"([{"type":"label","value":["prod",1]}])"), "filters[0].value: label filter value"},
      {json::parse(R"([{"type":"platform","value":"linux"}])"), "filters[0].value: platform filter value"},
      {json::parse(R"([{"type":"platform","value":["linux/amd64","x//y"]}])"), "filters[0].value: platform"},
      {json::parse(
           R"([{"type":"platform","value":"linux/amd64"},{"type":"platform","value":"linux/arm64"}])"),
       "filters[1].type: only one platform filter"},
      {json::parse(R"({"type":"tag"})"), "filters: must be an array"},
      {json::parse(R"(["tag"])"), "filters[0]: must be an object"},
  };
  for (const auto& c : cases) {
    auto r = ParseFilters(c.filters);
    ASSERT_FALSE(r.ok()) << c.filters.dump();
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(r.status().message().rfind(c.message_start, 0), 0u)
        << c.filters.dump() << " -> " << r.status().message();
  }
}

TEST(ValidateFilters, AcceptsHarborShapes) {
  auto r = ParseFilters(json::parse(R"([
    {"type":"name","value":"team/**"},
    {"type":"name","value":"","decoration":""},
    {"type":"tag","value":"v*","decoration":"matches"},
    {"type":"tag","value":null},
    {"type":"label","value":["prod"],"decoration":"excludes"},
    {"type":"resource","value":"image"},
    {"type":"platform","value":["linux/amd64","linux/arm/v7"]}])"));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size(), 7u);
  EXPECT_TRUE(ValidateFilters(*r).ok());
  EXPECT_TRUE(ParseFilters(json()).ok());
  // Round trip through Harbor's output shape.
  auto again = ParseFilters(FiltersToJson(*r));
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(FiltersToJson(*again), FiltersToJson(*r));
}

}  // namespace
}  // namespace pier::replication
