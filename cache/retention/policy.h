#pragma once
// A Harbor tag retention policy (reference/caching.md 5.5) and its JSON.
//
// Promises: ParsePolicy accepts Harbor's policy JSON and refuses anything
// Pier would not run the way Harbor does, with InvalidArgument naming the
// field ("rules[0].params.latestPushedK: must be a positive integer").
// PolicyJson(ParsePolicy(j)) is Harbor's shape again. Rules are retain
// rules combined with "or": what no enabled rule retains is deleted, in the
// repositories some enabled rule's repository selectors pick.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace pier::retention {

// A doublestar selector. Tags: decoration "matches" or "excludes", with
// `untagged` (extras {"untagged":bool}; Harbor's default: true for matches,
// false for excludes) deciding whether artifacts without tags are selected.
// Repositories: "repoMatches" or "repoExcludes"; the pattern is matched
// against the repository name without its project ("app", "team/app").
struct Selector {
  std::string kind = "doublestar";
  std::string decoration;
  std::string pattern;
  bool untagged = false;
  bool untagged_given = false;  // extras named it (echoed back only then)
};

struct Rule {
  int64_t id = 0;
  int64_t priority = 0;
  bool disabled = false;
  std::string action = "retain";
  std::string template_id;  // latestPushedK, latestPulledN, nDaysSinceLastPush, nDaysSinceLastPull, always
  int64_t param = 0;        // K, N or days (0 for always)
  std::vector<Selector> tag_selectors;
  std::vector<Selector> repo_selectors;
};

struct Policy {
  int64_t id = 0;
  std::string algorithm = "or";
  std::vector<Rule> rules;
  std::string cron;  // 6-field, seconds first; "" = no schedule (manual only)
  int64_t project_id = 0;  // scope.ref: the project's quota id (README, "Tag retention")
};

// The templates Pier runs, in Harbor's metadata order.
const std::vector<std::string>& Templates();

Result<Policy> ParsePolicy(const nlohmann::json& j);
nlohmann::json PolicyJson(const Policy& p);
// GET /retentions/metadatas: templates, scope and tag selectors, Harbor's shape.
nlohmann::json Metadatas();

}  // namespace pier::retention
