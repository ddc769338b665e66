#include "cache/retention/policy.h"

#include <algorithm>

#include "base/cron.h"

namespace pier::retention {
namespace {

using nlohmann::json;

struct TemplateInfo {
  const char* id;
  const char* action;  // Harbor's display text
  const char* param_kind;  // "int" (count or days) or "" (no parameter)
  const char* unit;    // COUNT, DAYS or NONE
};

const TemplateInfo kTemplates[] = {
    {"latestPushedK", "retain the most recently pushed # artifacts", "int", "COUNT"},
    {"latestPulledN", "retain the most recently pulled # artifacts", "int", "COUNT"},
    {"nDaysSinceLastPush", "retain the artifacts pushed within the last # days", "int", "DAYS"},
    {"nDaysSinceLastPull", "retain the artifacts pulled within the last # days", "int", "DAYS"},
    {"always", "retain always", "", "NONE"},
};

const TemplateInfo* FindTemplate(std::string_view id) {
  for (const auto& t : kTemplates)
    if (id == t.id) return &t;
  return nullptr;
}

Status Bad(const std::string& field, const std::string& why) { return Status::InvalidArgument(field + ": " + why); }

Result<std::string> String(const json& o, const std::string& key, const std::string& field, bool required) {
  if (!o.contains(key) || o[key].is_null()) {
    if (required) return Bad(field, "missing");
    return std::string();
  }
  if (!o[key].is_string()) return Bad(field, "must be a string");
  return o[key].get<std::string>();
}

Result<Selector> ParseSelector(const json& j, const std::string& field, bool tag) {
  if (!j.is_object()) return Bad(field, "must be an object");
  Selector s;
  auto kind = String(j, "kind", field + ".kind", false);
  if (!kind.ok()) return kind.status();
  if (!kind->empty() && *kind != "doublestar") return Bad(field + ".kind", "only \"doublestar\" is supported");
  auto deco = String(j, "decoration", field + ".decoration", true);
  if (!deco.ok()) return deco.status();
  s.decoration = *deco;
  if (tag && s.decoration != "matches" && s.decoration != "excludes")
    return Bad(field + ".decoration", "must be \"matches\" or \"excludes\"");
  if (!tag && s.decoration != "repoMatches" && s.decoration != "repoExcludes")
    return Bad(field + ".decoration", "must be \"repoMatches\" or \"repoExcludes\"");
  auto pattern = String(j, "pattern", field + ".pattern", true);
  if (!pattern.ok()) return pattern.status();
  if (pattern->empty()) return Bad(field + ".pattern", "must not be empty (\"**\" selects everything)");
  s.pattern = *pattern;
  s.untagged = s.decoration == "matches";
  auto extras = String(j, "extras", field + ".extras", false);
  if (!extras.ok()) return extras.status();
  if (!extras->empty()) {
    if (!tag) return Bad(field + ".extras", "only tag selectors take extras");
    json e = json::parse(*extras, nullptr, false);
    if (e.is_discarded() || !e.is_object()) return Bad(field + ".extras", "must be a JSON object in a string");
    for (const auto& [k, v] : e.items()) {
      if (k != "untagged") return Bad(field + ".extras." + k, "unknown (only untagged)");
      if (!v.is_boolean()) return Bad(field + ".extras.untagged", "must be true or false");
      s.untagged = v.get<bool>();
      s.untagged_given = true;
    }
  }
  return s;
}

Result<Rule> ParseRule(const json& j, const std::string& field) {
  if (!j.is_object()) return Bad(field, "must be an object");
  Rule r;
  if (j.contains("id") && !j["id"].is_null()) {
    if (!j["id"].is_number_integer()) return Bad(field + ".id", "must be an integer");
    r.id = j["id"].get<int64_t>();
  }
  if (j.contains("priority") && !j["priority"].is_null()) {
    if (!j["priority"].is_number_integer()) return Bad(field + ".priority", "must be an integer");
    r.priority = j["priority"].get<int64_t>();
  }
  if (j.contains("disabled") && !j["disabled"].is_null()) {
    if (!j["disabled"].is_boolean()) return Bad(field + ".disabled", "must be true or false");
    r.disabled = j["disabled"].get<bool>();
  }
  auto action = String(j, "action", field + ".action", false);
  if (!action.ok()) return action.status();
  if (!action->empty() && *action != "retain") return Bad(field + ".action", "only \"retain\" rules exist");
  auto tmpl = String(j, "template", field + ".template", true);
  if (!tmpl.ok()) return tmpl.status();
  const TemplateInfo* info = FindTemplate(*tmpl);
  if (info == nullptr) {
    return Bad(field + ".template",
               "unknown template \"" + tmpl->substr(0, 64) +
                   "\" (latestPushedK, latestPulledN, nDaysSinceLastPush, nDaysSinceLastPull, always)");
  }
  r.template_id = *tmpl;
  if (*info->param_kind != '\0') {
    const std::string pf = field + ".params." + r.template_id;
    if (!j.contains("params") || !j["params"].is_object() || !j["params"].contains(r.template_id))
      return Bad(pf, "missing");
    const json& v = j["params"][r.template_id];
    if (!v.is_number_integer() || v.get<int64_t>() <= 0 || v.get<int64_t>() > 1000000)
      return Bad(pf, "must be a positive integer");
    r.param = v.get<int64_t>();
  }
  const std::string tf = field + ".tag_selectors";
  if (!j.contains("tag_selectors") || !j["tag_selectors"].is_array() || j["tag_selectors"].empty())
    return Bad(tf, "must be a non-empty array");
  for (size_t i = 0; i < j["tag_selectors"].size(); ++i) {
    auto s = ParseSelector(j["tag_selectors"][i], tf + "[" + std::to_string(i) + "]", true);
    if (!s.ok()) return s.status();
    r.tag_selectors.push_back(std::move(s).value());
  }
  const std::string sf = field + ".scope_selectors";
  if (!j.contains("scope_selectors") || !j["scope_selectors"].is_object()) return Bad(sf, "must be an object");
  for (const auto& [k, v] : j["scope_selectors"].items()) {
    if (k != "repository") return Bad(sf + "." + k, "unknown (only repository)");
  }
  const std::string rf = sf + ".repository";
  const json& repos = j["scope_selectors"].value("repository", json());
  if (!repos.is_array() || repos.empty()) return Bad(rf, "must be a non-empty array");
  for (size_t i = 0; i < repos.size(); ++i) {
    auto s = ParseSelector(repos[i], rf + "[" + std::to_string(i) + "]", false);
    if (!s.ok()) return s.status();
    r.repo_selectors.push_back(std::move(s).value());
  }
  return r;
}

json SelectorJson(const Selector& s) {
  json j{{"kind", s.kind}, {"decoration", s.decoration}, {"pattern", s.pattern}};
  if (s.untagged_given) j["extras"] = json{{"untagged", s.untagged}}.dump();
  return j;
}

}  // namespace

const std::vector<std::string>& Templates() {
  static const std::vector<std::string> ids = [] {
    std::vector<std::string> v;
    for (const auto& t : kTemplates) v.emplace_back(t.id);
    return v;
  }();
  return ids;
}

Result<Policy> ParsePolicy(const json& j) {
  if (!j.is_object()) return Bad("body", "must be a JSON object");
  Policy p;
  auto algorithm = String(j, "algorithm", "algorithm", false);
  if (!algorithm.ok()) return algorithm.status();
  if (!algorithm->empty() && *algorithm != "or") return Bad("algorithm", "only \"or\" is supported");
  if (!j.contains("rules") || !j["rules"].is_array()) return Bad("rules", "must be an array");
  if (j["rules"].size() > 15) return Bad("rules", "at most 15 rules");  // Harbor's limit
  for (size_t i = 0; i < j["rules"].size(); ++i) {
    auto r = ParseRule(j["rules"][i], "rules[" + std::to_string(i) + "]");
    if (!r.ok()) return r.status();
    p.rules.push_back(std::move(r).value());
  }
  if (j.contains("trigger") && !j["trigger"].is_null()) {
    const json& t = j["trigger"];
    if (!t.is_object()) return Bad("trigger", "must be an object");
    auto kind = String(t, "kind", "trigger.kind", false);
    if (!kind.ok()) return kind.status();
    if (!kind->empty() && *kind != "Schedule") return Bad("trigger.kind", "only \"Schedule\" is supported");
    if (t.contains("settings") && !t["settings"].is_null()) {
      if (!t["settings"].is_object()) return Bad("trigger.settings", "must be an object");
      auto cron = String(t["settings"], "cron", "trigger.settings.cron", false);
      if (!cron.ok()) return cron.status();
      if (!cron->empty()) {
        auto parsed = CronSchedule::Parse(*cron);
        if (!parsed.ok()) return Bad("trigger.settings.cron", parsed.status().message());
      }
      p.cron = *cron;
    }
  }
  if (!j.contains("scope") || !j["scope"].is_object()) return Bad("scope", "must be an object");
  const json& scope = j["scope"];
  auto level = String(scope, "level", "scope.level", true);
  if (!level.ok()) return level.status();
  if (*level != "project") return Bad("scope.level", "only \"project\" is supported");
  if (!scope.contains("ref") || !scope["ref"].is_number_integer() || scope["ref"].get<int64_t>() <= 0)
    return Bad("scope.ref", "must be a positive integer (the project's id, as /quotas shows it)");
  p.project_id = scope["ref"].get<int64_t>();
  return p;
}

json PolicyJson(const Policy& p) {
  json rules = json::array();
  for (const auto& r : p.rules) {
    json params = json::object();
    if (r.param > 0) params[r.template_id] = r.param;
    json tags = json::array();
    for (const auto& s : r.tag_selectors) tags.push_back(SelectorJson(s));
    json repos = json::array();
    for (const auto& s : r.repo_selectors) repos.push_back(SelectorJson(s));
    rules.push_back(json{{"id", r.id},
                         {"priority", r.priority},
                         {"disabled", r.disabled},
                         {"action", r.action},
                         {"template", r.template_id},
                         {"params", params},
                         {"tag_selectors", tags},
                         {"scope_selectors", {{"repository", repos}}}});
  }
  return json{{"id", p.id},
              {"algorithm", p.algorithm},
              {"rules", rules},
              {"trigger", {{"kind", "Schedule"}, {"settings", {{"cron", p.cron}}}, {"references", json::object()}}},
              {"scope", {{"level", "project"}, {"ref", p.project_id}}}};
}

json Metadatas() {
  json templates = json::array();
  for (const auto& t : kTemplates) {
    json params = json::array();
    if (*t.param_kind != '\0') params.push_back(json{{"type", t.param_kind}, {"unit", t.unit}, {"required", true}});
    templates.push_back(json{{"rule_template", t.id}, {"display_text", t.action}, {"action", "retain"}, {"params", params}});
  }
  return json{
      {"templates", templates},
      {"scope_selectors",
       json::array({json{{"display_text", "Repositories"}, {"kind", "doublestar"}, {"decorations", {"repoMatches", "repoExcludes"}}}})},
      {"tag_selectors",
       json::array({json{{"display_text", "Tags"}, {"kind", "doublestar"}, {"decorations", {"matches", "excludes"}}}})}};
}

}  // namespace pier::retention
