// Replication policies, see policy.h. Validation mirrors Harbor's policy
// checks, with the offending field named at the start of each message.
#include "replication/policy.h"

#include <algorithm>
#include <limits>
#include <optional>

#include "base/json_fields.h"
#include "base/log.h"
#include "base/names.h"
#include "base/cron.h"
#include "base/harbor_time.h"
#include "replication/naming.h"

namespace pier::replication {
namespace {

Status Invalid(std::string_view path, const std::string& what) {
  return Status::InvalidArgument(std::string(path) + ": " + what);
}

// How many '/'-separated levels the names a name-filter glob selects can
// have: [min, max], max < 0 meaning unbounded (a "**" component). nullopt
// when the pattern's alternatives contain '/' (not worth judging).
struct LevelRange {
  int min = 0;
  int max = 0;
};
std::optional<LevelRange> PatternLevels(std::string_view pattern) {
  LevelRange r;
  int depth = 0;  // inside {...}
  size_t start = 0;
  for (size_t i = 0; i <= pattern.size(); ++i) {
    char c = i < pattern.size() ? pattern[i] : '/';
    if (c == '{') ++depth;
    if (c == '}' && depth > 0) --depth;
    if (c != '/') continue;
    if (depth > 0) return std::nullopt;
    if (pattern.substr(start, i - start) == "**") {
      r.max = -1;  // zero or more levels
    } else {
      ++r.min;
      if (r.max >= 0) ++r.max;
    }
    start = i + 1;
  }
  r.min = std::max(r.min, 1);  // a repository name has at least one level
  return r;
}

std::string LevelsText(const LevelRange& r) {
  if (r.max < 0) return std::to_string(r.min) + " or more levels";
  if (r.min == r.max) return std::to_string(r.min) + (r.min == 1 ? " level" : " levels");
  return std::to_string(r.min) + " to " + std::to_string(r.max) + " levels";
}

// The rule-only judgement: every source repository must have exactly
// `needed` levels to become namespace/repo. A name filter that can select
// only other depths is refused; one that selects other depths too is
// logged as a warning (those tasks fail at run time, the others work).
Status CheckFilterDepth(const Policy& policy, int needed, const std::string& why, const std::string& rule) {
  bool any_name_filter = false;
  for (const auto& f : policy.filters) {
    if (f.type != kFilterName || !f.value.is_string() || f.value.get_ref<const std::string&>().empty()) continue;
    any_name_filter = true;
    const std::string& pattern = f.value.get_ref<const std::string&>();
    auto range = PatternLevels(pattern);
    if (!range) continue;
    if (needed < range->min || (range->max >= 0 && needed > range->max)) {
      return Invalid(policy.dest_namespace.empty() ? "dest_namespace" : "dest_namespace_replace_count",
                     why + "name filter \"" + pattern + "\" selects repositories of " + LevelsText(*range) +
                         ", but " + rule + " needs sources of exactly " + std::to_string(needed) +
                         " level(s) to give ACR personal edition's namespace/repo");
    }
    if (range->min != needed || range->max != needed) {
      log::Warn("policy may select repositories ACR refuses",
                {{"policy", policy.name}, {"filter", pattern}, {"levels", LevelsText(*range)},
                 {"needed", std::to_string(needed)}});
    }
  }
  if (!any_name_filter) {
    log::Warn("policy without a name filter may select repositories ACR refuses",
              {{"policy", policy.name}, {"needed", std::to_string(needed)}});
  }
  return Status::OK();
}

// src_registry / dest_registry: null, absent id or id 0 → 0 (this instance).
Status ReadRegistryRef(const nlohmann::json& body, std::string_view name, int64_t* id) {
  auto it = body.find(name);
  if (it == body.end()) return Status::OK();
  if (it->is_null()) {
    *id = 0;
    return Status::OK();
  }
  if (!it->is_object()) return Invalid(name, "must be an object {\"id\": N} or null (this instance)");
  int64_t v = 0;
  if (auto s = ReadInt(*it, name, "id", 0, std::numeric_limits<int64_t>::max(), &v); !s.ok()) {
    return s;
  }
  *id = v;
  return Status::OK();
}

Status ReadTrigger(const nlohmann::json& body, Trigger* trigger) {
  auto it = body.find("trigger");
  if (it == body.end()) return Status::OK();
  if (it->is_null()) {
    *trigger = Trigger{};
    return Status::OK();
  }
  if (!it->is_object()) return Invalid("trigger", "must be an object {type, trigger_settings{cron}}");
  Status s;
  if (!(s = ReadString(*it, "trigger", "type", &trigger->type)).ok()) return s;
  if (HasField(*it, "trigger_settings")) {
    const auto& settings = (*it)["trigger_settings"];
    if (!settings.is_object()) return Invalid("trigger.trigger_settings", "must be an object {cron}");
    if (!(s = ReadString(settings, "trigger.trigger_settings", "cron", &trigger->cron)).ok()) return s;
  }
  return Status::OK();
}

// Pier's "compression" object, read as a whole: a half-given object (a
// level without its format) is refused rather than merged, since the two
// only mean something together.
Status ReadCompression(const nlohmann::json& body, Compression* out) {
  auto it = body.find("compression");
  if (it == body.end()) return Status::OK();
  if (it->is_null()) {
    *out = Compression{};
    return Status::OK();
  }
  if (!it->is_object()) {
    return Invalid("compression",
                   "must be an object {\"format\": \"zstd\", \"level\": N} or null (send as stored)");
  }
  PIER_TRY(CheckKeys(*it, "compression", {"format", "level"}));
  if (!HasField(*it, "format")) return Invalid("compression.format", "required: \"zstd\" or \"none\"");
  std::string format;
  PIER_TRY(ReadString(*it, "compression", "format", &format));
  if (format == "none") format.clear();
  if (!format.empty() && format != kCompressionZstd) {
    return Invalid("compression.format", "must be \"zstd\" or \"none\", got \"" + format + "\"");
  }
  int64_t level = 0;
  if (!ReadInt(*it, "compression", "level", 0, 19, &level).ok()) {
    return Invalid("compression.level", "must be an integer from 1 to 19 (0 or absent: the engine chooses)");
  }
  if (format.empty() && level != 0) {
    return Invalid("compression.level", "only with format \"zstd\" (format \"none\" sends layers as stored)");
  }
  *out = Compression{format, static_cast<int>(level)};
  return Status::OK();
}

Status Validate(const Policy& p) {
  if (p.name.empty()) return Invalid("name", "required");
  if (p.src_registry_id == 0 && p.dest_registry_id == 0) {
    return Invalid("src_registry",
                   "exactly one of src_registry / dest_registry must be this instance (null or id 0); "
                   "both are local");
  }
  if (p.src_registry_id != 0 && p.dest_registry_id != 0) {
    return Invalid("src_registry",
                   "exactly one of src_registry / dest_registry must be this instance (null or id 0); "
                   "both are remote (ids " +
                       std::to_string(p.src_registry_id) + " and " + std::to_string(p.dest_registry_id) +
                       ")");
  }
  if (!p.dest_namespace.empty() && !IsValidRepositoryName(p.dest_namespace)) {
    return Invalid(
        "dest_namespace",
        "\"" + p.dest_namespace + "\" is not a valid repository path (lower-case components joined by '/')");
  }
  if (p.dest_namespace_replace_count < -1 || p.dest_namespace_replace_count > 127) {
    return Invalid("dest_namespace_replace_count", "must be -1 (flatten) or 0..127");
  }
  const auto& t = p.trigger;
  if (t.type != kTriggerManual && t.type != kTriggerScheduled && t.type != kTriggerEventBased) {
    return Invalid("trigger.type", "must be manual, scheduled or event_based, got \"" + t.type + "\"");
  }
  if (t.type == kTriggerScheduled) {
    if (auto s = CheckHarborCron(t.cron); !s.ok()) return s;
  }
  if (p.single_active_replication && t.type == kTriggerEventBased) {
    return Invalid("single_active_replication", "cannot be used with an event_based trigger");
  }
  return ValidateFilters(p.filters);
}

}  // namespace

Status CheckHarborCron(std::string_view cron, std::string_view path) {
  if (cron.find_first_not_of(" \t") == std::string_view::npos) {
    return Invalid(path, "required when the trigger type is scheduled");
  }
  auto schedule = CronSchedule::Parse(cron);
  if (!schedule.ok()) return Invalid(path, schedule.status().message());
  // Split exactly as Parse did (any whitespace, not only spaces and tabs: a
  // form feed once made this split disagree and read past the end).
  const std::vector<std::string_view> fields = CronFields(cron);
  const std::string_view seconds = fields[0];
  const std::string_view minutes = fields[1];
  if (seconds != "0") {
    return Invalid(path, "the 1st field (seconds) must be 0, got \"" + std::string(seconds) + "\"");
  }
  if (minutes == "*") return Invalid(path, "the 2nd field (minutes) must not be *");
  return Status::OK();
}

Result<Policy> ParsePolicy(const nlohmann::json& body, const Policy* existing) {
  try {
    if (!body.is_object()) return Status::InvalidArgument("body: must be a JSON object");
    Policy p = existing != nullptr ? *existing : Policy{};
    Status s;
    if (!(s = ReadString(body, "", "name", &p.name)).ok()) return s;
    if (!(s = ReadString(body, "", "description", &p.description)).ok()) return s;
    if (!(s = ReadRegistryRef(body, "src_registry", &p.src_registry_id)).ok()) return s;
    if (!(s = ReadRegistryRef(body, "dest_registry", &p.dest_registry_id)).ok()) return s;
    if (!(s = ReadString(body, "", "dest_namespace", &p.dest_namespace)).ok()) return s;
    int64_t count = p.dest_namespace_replace_count;
    if (!(s = ReadInt(body, "", "dest_namespace_replace_count", -1, 127, &count)).ok()) {
      return s;
    }
    p.dest_namespace_replace_count = static_cast<int>(count);
    if (!(s = ReadTrigger(body, &p.trigger)).ok()) return s;
    if (auto it = body.find("filters"); it != body.end()) {
      auto filters = ParseFilters(*it, "filters");
      if (!filters.ok()) return filters.status();
      p.filters = std::move(filters).value();
    }
    if (HasField(body, "deletion")) {
      if (!(s = ReadBool(body, "", "deletion", &p.replicate_deletion)).ok()) return s;
    } else if (!(s = ReadBool(body, "", "replicate_deletion", &p.replicate_deletion)).ok()) {
      return s;
    }
    if (!(s = ReadBool(body, "", "override", &p.override)).ok()) return s;
    if (!(s = ReadBool(body, "", "enabled", &p.enabled)).ok()) return s;
    int64_t speed = p.speed;
    if (!(s = ReadInt(body, "", "speed", std::numeric_limits<int32_t>::min(),
                      std::numeric_limits<int32_t>::max(), &speed))
             .ok()) {
      return Invalid("speed", "must be a 32-bit integer (Kibit/s; 0 or negative means unlimited)");
    }
    p.speed = static_cast<int32_t>(speed);
    if (!(s = ReadBool(body, "", "copy_by_chunk", &p.copy_by_chunk)).ok()) return s;
    if (!(s = ReadBool(body, "", "single_active_replication", &p.single_active_replication)).ok()) {
      return s;
    }
    if (!(s = ReadCompression(body, &p.compression)).ok()) return s;
    if (existing != nullptr) {
      p.id = existing->id;
      p.creation_time = existing->creation_time;
    } else {
      p.id = 0;
    }
    if (!(s = Validate(p)).ok()) return s;
    return p;
  } catch (const nlohmann::json::exception& ex) {
    return Status::InvalidArgument(std::string("body: ") + ex.what());
  }
}

nlohmann::json PolicyToJson(const Policy& p) {
  nlohmann::json j = {
      {"id", p.id},
      {"name", p.name},
      {"description", p.description},
      {"src_registry", {{"id", p.src_registry_id}}},
      {"dest_registry", {{"id", p.dest_registry_id}}},
      {"dest_namespace", p.dest_namespace},
      {"dest_namespace_replace_count", p.dest_namespace_replace_count},
      {"trigger", {{"type", p.trigger.type}, {"trigger_settings", {{"cron", p.trigger.cron}}}}},
      {"filters", FiltersToJson(p.filters)},
      {"replicate_deletion", p.replicate_deletion},
      {"deletion", p.replicate_deletion},
      {"override", p.override},
      {"enabled", p.enabled},
      {"speed", p.speed},
      {"copy_by_chunk", p.copy_by_chunk},
      {"single_active_replication", p.single_active_replication},
      {"creation_time", FormatTime(p.creation_time)},
      {"update_time", FormatTime(p.update_time)},
  };
  if (!p.compression.format.empty()) {
    j["compression"] = {{"format", p.compression.format}, {"level", p.compression.level}};
  }
  return j;
}

Status CheckPolicyForDestination(const Policy& policy, const Endpoint& dest,
                                 const std::vector<std::string>& known_source_repos) {
  // Pull policies land here, and Pier takes any depth.
  if (!policy.PushMode() || dest.type != kTypeAliAcr) return Status::OK();
  const std::string why = "policy \"" + policy.name + "\" to ali-acr endpoint \"" + dest.name + "\": ";
  const auto& ns = policy.dest_namespace;
  const int count = policy.dest_namespace_replace_count;
  if (!ns.empty()) {
    if (RepositoryLevels(ns) != 1) {
      return Invalid("dest_namespace", why + "namespace \"" + ns +
                                           "\" has several levels, but ACR personal edition accepts exactly "
                                           "namespace/repo");
    }
    if (count == 0) {
      for (const auto& f : policy.filters) {
        if (f.type == kFilterName && f.value.is_string() &&
            f.value.get_ref<const std::string&>().find('/') != std::string::npos) {
          return Invalid("dest_namespace_replace_count",
                         why + "replace count 0 keeps the whole source path under \"" + ns +
                             "\", and name filter \"" + f.value.get_ref<const std::string&>() +
                             "\" selects multi-level repositories, which would become 3+ levels; ACR "
                             "personal edition accepts exactly namespace/repo (use -1 to flatten)");
        }
      }
    }
  }
  // Names stay as they are (no namespace), keep `count` levels after the
  // namespace, or are flattened (-1: always fits).
  if (ns.empty()) {
    PIER_TRY(CheckFilterDepth(policy, 2, why, "an empty dest_namespace (names unchanged)"));
  } else if (count >= 0) {
    PIER_TRY(CheckFilterDepth(policy, count + 1, why,
                              "dest_namespace \"" + ns + "\" with replace count " + std::to_string(count)));
  }
  for (const auto& repo : known_source_repos) {
    if (!MatchRepository(policy.filters, repo)) continue;
    auto target = DestinationRepository(repo, ns, count);
    if (!target.ok()) return Invalid("dest_namespace_replace_count", why + target.status().message());
    if (auto s = CheckAcrName(*target); !s.ok()) {
      std::string field = ns.empty() ? "dest_namespace" : "dest_namespace_replace_count";
      return Invalid(field, why + "source \"" + repo + "\": " + s.message());
    }
  }
  return Status::OK();
}

}  // namespace pier::replication
