// The retention decision with fixed times: each template, "or" of rules,
// selectors, untagged extras, index children and referrers.
#include <gtest/gtest.h>

#include <set>

#include "cache/retention/evaluator.h"

namespace pier::retention {
namespace {

constexpr int64_t kNow = 1800000000;
constexpr int64_t kDay = 86400;

Digest D(int i) { return Sha256Of("artifact-" + std::to_string(i)); }

ArtifactInfo Art(int i, std::vector<std::string> tags, int64_t pushed_days_ago, int64_t pulled_days_ago = -1) {
  ArtifactInfo a;
  a.digest = D(i);
  a.tags = std::move(tags);
  a.pushed_unix = kNow - pushed_days_ago * kDay;
  a.pulled_unix = pulled_days_ago < 0 ? 0 : kNow - pulled_days_ago * kDay;
  return a;
}

Rule MakeRule(std::string tmpl, int64_t param, std::string tag_pattern = "**", std::string deco = "matches",
              bool untagged = true, std::string repo_pattern = "**") {
  Rule r;
  r.template_id = std::move(tmpl);
  r.param = param;
  Selector t;
  t.decoration = std::move(deco);
  t.pattern = std::move(tag_pattern);
  t.untagged = untagged;
  r.tag_selectors = {t};
  Selector s;
  s.decoration = "repoMatches";
  s.pattern = std::move(repo_pattern);
  r.repo_selectors = {s};
  return r;
}

// Digests (by index i of D(i)) that the policy keeps.
std::set<int> Kept(const Policy& p, const std::vector<ArtifactInfo>& arts, int n = 10) {
  RepoDecision d = Evaluate(p, "app", arts, kNow);
  std::set<int> out;
  for (const auto& v : d.verdicts) {
    if (v.rule < 0) continue;
    for (int i = 0; i < n; ++i)
      if (v.artifact.digest == D(i)) out.insert(i);
  }
  return out;
}

std::vector<ArtifactInfo> Five() {
  return {Art(0, {"a"}, 5, 1), Art(1, {"b"}, 4, -1), Art(2, {"c"}, 3, 10), Art(3, {"d"}, 2, -1), Art(4, {"e"}, 1, 3)};
}

Policy With(std::vector<Rule> rules) {
  Policy p;
  p.rules = std::move(rules);
  return p;
}

TEST(RetentionEvaluator, LatestPushedKKeepsTheKNewestPushes) {
  EXPECT_EQ(Kept(With({MakeRule("latestPushedK", 2)}), Five()), (std::set<int>{3, 4}));
}

TEST(RetentionEvaluator, LatestPulledNKeepsTheNNewestPulls) {
  EXPECT_EQ(Kept(With({MakeRule("latestPulledN", 2)}), Five()), (std::set<int>{0, 4}));
}

TEST(RetentionEvaluator, NDaysSinceLastPushAndPull) {
  EXPECT_EQ(Kept(With({MakeRule("nDaysSinceLastPush", 3)}), Five()), (std::set<int>{2, 3, 4}));
  EXPECT_EQ(Kept(With({MakeRule("nDaysSinceLastPull", 3)}), Five()), (std::set<int>{0, 4}));
}

TEST(RetentionEvaluator, AlwaysKeepsEverythingSelected) {
  EXPECT_EQ(Kept(With({MakeRule("always", 0)}), Five()), (std::set<int>{0, 1, 2, 3, 4}));
  EXPECT_EQ(Kept(With({MakeRule("always", 0, "{a,c}")}), Five()), (std::set<int>{0, 2}));
}

TEST(RetentionEvaluator, RulesCombineWithOrAndNameTheFirstRuleThatKept) {
  Policy p = With({MakeRule("latestPushedK", 2), MakeRule("latestPulledN", 1)});
  EXPECT_EQ(Kept(p, Five()), (std::set<int>{0, 3, 4}));
  RepoDecision d = Evaluate(p, "app", Five(), kNow);
  for (const auto& v : d.verdicts) {
    if (v.artifact.digest == D(0)) { EXPECT_EQ(v.rule, 1); }
    if (v.artifact.digest == D(4)) { EXPECT_EQ(v.rule, 0); }
    if (v.artifact.digest == D(1)) { EXPECT_EQ(v.rule, -1); }
  }
}

TEST(RetentionEvaluator, ExcludesAndDisabledRules) {
  // keep everything but dev-* tags
  std::vector<ArtifactInfo> arts{Art(0, {"dev-1"}, 1), Art(1, {"1.0"}, 2), Art(2, {"dev-2", "2.0"}, 3)};
  EXPECT_EQ(Kept(With({MakeRule("always", 0, "dev-*", "excludes", false)}), arts), (std::set<int>{1, 2}));
  Policy off = With({MakeRule("always", 0)});
  off.rules[0].disabled = true;
  EXPECT_FALSE(Evaluate(off, "app", arts, kNow).in_scope);
}

TEST(RetentionEvaluator, UntaggedExtras) {
  std::vector<ArtifactInfo> arts{Art(0, {}, 1), Art(1, {"1.0"}, 2)};
  EXPECT_EQ(Kept(With({MakeRule("always", 0, "**", "matches", true)}), arts), (std::set<int>{0, 1}));
  EXPECT_EQ(Kept(With({MakeRule("always", 0, "**", "matches", false)}), arts), (std::set<int>{1}));
}

TEST(RetentionEvaluator, RepositoriesOutOfScopeAreNotJudged) {
  Policy p = With({MakeRule("latestPushedK", 1, "**", "matches", true, "web")});
  EXPECT_FALSE(Evaluate(p, "app", Five(), kNow).in_scope);
  EXPECT_TRUE(Evaluate(p, "web", Five(), kNow).in_scope);
}

TEST(RetentionEvaluator, IndexChildrenAndReferrersAreNeverJudged) {
  std::vector<ArtifactInfo> arts{Art(0, {"multi"}, 9), Art(1, {}, 9), Art(2, {}, 9), Art(3, {"new"}, 1),
                                 Art(4, {}, 0)};
  arts[0].children = {D(1), D(2)};
  arts[4].subject = D(3);  // a signature of 3
  RepoDecision d = Evaluate(With({MakeRule("latestPushedK", 1)}), "app", arts, kNow);
  ASSERT_EQ(d.verdicts.size(), 2u);  // the index and 3 only
  EXPECT_EQ(d.verdicts[0].artifact.digest, D(3));
  EXPECT_EQ(d.verdicts[0].rule, 0);
  EXPECT_EQ(d.verdicts[1].artifact.digest, D(0));
  EXPECT_EQ(d.verdicts[1].rule, -1);
}

}  // namespace
}  // namespace pier::retention
