// Harbor retention policy JSON: accepted shapes and errors naming the field.
#include <gtest/gtest.h>

#include "cache/retention/policy.h"
#include "cache/retention/selectors.h"

namespace pier::retention {
namespace {

using nlohmann::json;

json Rule(const std::string& tmpl, json params) {
  return json{{"action", "retain"},
              {"template", tmpl},
              {"params", params},
              {"tag_selectors", {{{"kind", "doublestar"}, {"decoration", "matches"}, {"pattern", "**"}}}},
              {"scope_selectors", {{"repository", {{{"kind", "doublestar"}, {"decoration", "repoMatches"}, {"pattern", "**"}}}}}}};
}

json Policy1() {
  return json{{"algorithm", "or"},
              {"rules", {Rule("latestPushedK", {{"latestPushedK", 2}}), Rule("always", json::object())}},
              {"trigger", {{"kind", "Schedule"}, {"settings", {{"cron", "0 0 0 * * *"}}}}},
              {"scope", {{"level", "project"}, {"ref", 3}}}};
}

std::string Error(json j) {
  auto p = ParsePolicy(j);
  EXPECT_FALSE(p.ok());
  return p.ok() ? "" : p.status().message();
}

TEST(RetentionPolicy, ParsesHarborJsonAndPrintsItBack) {
  auto p = ParsePolicy(Policy1());
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->project_id, 3);
  EXPECT_EQ(p->cron, "0 0 0 * * *");
  ASSERT_EQ(p->rules.size(), 2u);
  EXPECT_EQ(p->rules[0].param, 2);
  EXPECT_TRUE(p->rules[0].tag_selectors[0].untagged);  // Harbor: matches selects untagged by default
  json back = PolicyJson(*p);
  EXPECT_EQ(back["rules"][0]["params"]["latestPushedK"], 2);
  EXPECT_EQ(back["scope"]["ref"], 3);
  auto again = ParsePolicy(back);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(PolicyJson(*again), back);
}

TEST(RetentionPolicy, BadInputNamesTheField) {
  json j = Policy1();
  j["rules"][0]["params"]["latestPushedK"] = 0;
  EXPECT_EQ(Error(j), "rules[0].params.latestPushedK: must be a positive integer");
  j = Policy1();
  j["rules"][1]["template"] = "sometimes";
  EXPECT_NE(Error(j).find("rules[1].template: unknown template"), std::string::npos);
  j = Policy1();
  j["rules"][0]["tag_selectors"][0]["decoration"] = "maybe";
  EXPECT_NE(Error(j).find("rules[0].tag_selectors[0].decoration"), std::string::npos);
  j = Policy1();
  j["rules"][0]["tag_selectors"][0]["extras"] = "{\"untagged\":1}";
  EXPECT_NE(Error(j).find("rules[0].tag_selectors[0].extras.untagged"), std::string::npos);
  j = Policy1();
  j["rules"][0]["scope_selectors"]["repository"][0]["decoration"] = "matches";
  EXPECT_NE(Error(j).find("rules[0].scope_selectors.repository[0].decoration"), std::string::npos);
  j = Policy1();
  j["algorithm"] = "and";
  EXPECT_NE(Error(j).find("algorithm:"), std::string::npos);
  j = Policy1();
  j["trigger"]["settings"]["cron"] = "0 0 25 * * *";
  EXPECT_NE(Error(j).find("trigger.settings.cron"), std::string::npos);
  j = Policy1();
  j["scope"]["ref"] = "x";
  EXPECT_NE(Error(j).find("scope.ref"), std::string::npos);
  j = Policy1();
  j["rules"][0]["action"] = "delete";
  EXPECT_NE(Error(j).find("rules[0].action"), std::string::npos);
  j = Policy1();
  j["rules"][0].erase("params");
  EXPECT_EQ(Error(j), "rules[0].params.latestPushedK: missing");
}

TEST(RetentionPolicy, MetadatasListTheTemplates) {
  json m = Metadatas();
  ASSERT_EQ(m["templates"].size(), Templates().size());
  EXPECT_EQ(m["templates"][0]["rule_template"], "latestPushedK");
  EXPECT_EQ(m["tag_selectors"][0]["kind"], "doublestar");
}

ArtifactInfo Art(std::vector<std::string> tags) {
  ArtifactInfo a;
  a.tags = std::move(tags);
  return a;
}

Selector Sel(std::string deco, std::string pattern, bool untagged) {
  Selector s;
  s.decoration = std::move(deco);
  s.pattern = std::move(pattern);
  s.untagged = untagged;
  return s;
}

TEST(RetentionSelectors, DoublestarMatchesExcludesAndUntagged) {
  EXPECT_TRUE(ArtifactSelected({Sel("matches", "v1.*", true)}, Art({"v1.2", "x"})));
  EXPECT_FALSE(ArtifactSelected({Sel("matches", "v1.*", true)}, Art({"v2.0"})));
  EXPECT_TRUE(ArtifactSelected({Sel("matches", "v1.*", true)}, Art({})));
  EXPECT_FALSE(ArtifactSelected({Sel("matches", "v1.*", false)}, Art({})));
  // excludes: some tag outside the pattern
  EXPECT_FALSE(ArtifactSelected({Sel("excludes", "dev-*", false)}, Art({"dev-1"})));
  EXPECT_TRUE(ArtifactSelected({Sel("excludes", "dev-*", false)}, Art({"dev-1", "1.0"})));
  EXPECT_FALSE(ArtifactSelected({Sel("excludes", "dev-*", false)}, Art({})));
  EXPECT_TRUE(RepoSelected({Sel("repoMatches", "**", false)}, "team/app"));
  EXPECT_FALSE(RepoSelected({Sel("repoMatches", "*", false)}, "team/app"));
  EXPECT_TRUE(RepoSelected({Sel("repoMatches", "{app,web}", false)}, "web"));
  EXPECT_FALSE(RepoSelected({Sel("repoExcludes", "web", false)}, "web"));
  EXPECT_TRUE(RepoSelected({Sel("repoExcludes", "web", false)}, "app"));
}

}  // namespace
}  // namespace pier::retention
