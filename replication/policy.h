#pragma once
// Replication policies: Harbor's policy object field for field
// (reference/harbor.md, Policy object), parsing with Harbor's validation
// rules, Harbor's JSON output shape, and Pier's up-front check that a policy
// can only produce names its destination accepts.
//
// Promises: parsing never throws; every refusal is InvalidArgument whose
// message starts with the offending field's path as the client wrote it
// ("trigger.trigger_settings.cron: ...", "filters[1].decoration: ...").
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "replication/filter.h"
#include "replication/registry_endpoint.h"

namespace pier::replication {

inline constexpr std::string_view kTriggerManual = "manual";
inline constexpr std::string_view kTriggerScheduled = "scheduled";
inline constexpr std::string_view kTriggerEventBased = "event_based";

// Pier's extension of Harbor's policy: how layers travel. Harbor has no such
// field; it is read from and written as "compression": {"format", "level"}.
inline constexpr std::string_view kCompressionZstd = "zstd";
struct Compression {
  std::string format;  // "": layers are sent as stored; "zstd": gzip layers are transcoded to zstd
  int level = 0;       // zstd level 1..19; 0: adaptive (the engine chooses)
  bool operator==(const Compression&) const = default;
};

struct Trigger {
  std::string type = "manual";  // manual | scheduled | event_based
  std::string cron;             // trigger_settings.cron; required for scheduled
};

struct Policy {
  int64_t id = 0;
  std::string name;
  std::string description;
  int64_t src_registry_id = 0;   // 0: this instance
  int64_t dest_registry_id = 0;  // 0: this instance
  std::string dest_namespace;
  int dest_namespace_replace_count = -1;  // Harbor's API default: flatten
  Trigger trigger;
  std::vector<Filter> filters;
  bool replicate_deletion = false;
  bool override = true;  // defaults are those of Harbor's UI form
  bool enabled = true;
  int32_t speed = -1;  // Kibit/s; <= 0: unlimited
  bool copy_by_chunk = false;
  bool single_active_replication = false;
  Compression compression;  // Pier extension; default: send as stored
  std::chrono::system_clock::time_point creation_time{};
  std::chrono::system_clock::time_point update_time{};

  bool PushMode() const { return src_registry_id == 0; }   // local → remote
  bool PullMode() const { return dest_registry_id == 0; }  // remote → local
  int64_t RemoteRegistryId() const { return PushMode() ? dest_registry_id : src_registry_id; }
  // The speed limit in bytes per second (speed × 128); 0 means unlimited.
  int64_t BytesPerSecond() const { return speed > 0 ? int64_t{speed} * 128 : 0; }
};

// Harbor's rules for a scheduled trigger's cron: 6 fields that parse
// (CronSchedule), seconds field exactly "0", minutes field not "*". Errors
// are prefixed with `path`.
Status CheckHarborCron(std::string_view cron, std::string_view path = "trigger.trigger_settings.cron");

// Parses the body of POST /replication/policies (existing == nullptr) or
// PUT /replication/policies/{id} (existing = the stored policy).
//  - input names are Harbor's; replicate_deletion is read from "deletion"
//    (Harbor's input name) or, when that is absent, "replicate_deletion";
//    "deletion" wins when both are given (a GET-modify-PUT client keeps the
//    stale replicate_deletion and changes deletion).
//  - only the "id" of src_registry / dest_registry objects is read; null, a
//    missing id or id 0 means this instance. Exactly one side must be local.
//  - PUT merges: fields absent from the body keep the existing values
//    (Harbor replaces the whole object; its UI always sends every field, so
//    both agree for it). id and creation_time always come from `existing`.
//  - id, creation_time and update_time in the body are ignored.
//  - "compression" (Pier's extension): absent keeps the existing value
//    (POST: send as stored); null means send as stored; an object
//    {"format": "zstd" | "none" | "", "level": 0..19} is read as a whole
//    (format required; "none" and "" mean as stored; level 0 or absent:
//    adaptive; a level with format none is refused: the two contradict
//    each other, and guessing either could surprise the client).
// Refused: missing/empty name; both sides local or both remote; a registry
// id that is not a non-negative integer; dest_namespace that is not a valid
// repository path; dest_namespace_replace_count outside [-1, 127]; unknown
// trigger type; scheduled without a valid Harbor cron; single_active_replication
// with event_based; invalid filters (ValidateFilters); speed not a 32-bit
// integer; compression with an unknown key, a format other than zstd/none,
// or a level outside 0..19; wrong JSON types.
// Not checked here: name uniqueness and whether the registry ids exist.
Result<Policy> ParsePolicy(const nlohmann::json& body, const Policy* existing = nullptr);

// Harbor's output shape. src_registry / dest_registry are objects holding
// just {"id": N} (0 for this instance) for the caller to enrich with the
// registry object; both "replicate_deletion" and "deletion" are written so
// the object can be PUT back as is. "compression" is written only when the
// policy transcodes, so ordinary policies keep Harbor's exact shape.
nlohmann::json PolicyToJson(const Policy& p);

// Pier's up-front check that a push policy to `dest` can only produce
// destination names `dest` accepts. Only push policies to ali-acr
// destinations are constrained (personal edition: exactly namespace/repo);
// anything else returns OK.
// Decision, since future repositories are unknown:
//  - every repository in `known_source_repos` that passes the policy's name
//    filters is mapped with DestinationRepository and must pass CheckAcrName
//    (a mapping error, e.g. replace count deeper than the path, refuses too);
//  - with a non-empty dest_namespace, the result's shape is also judged from
//    the rule alone: a multi-level namespace never fits; count -1 with a
//    one-level namespace always fits; count 0 fits only single-level
//    sources, so a name filter that contains '/' (it can only select
//    multi-level names) is refused even when no such repository exists yet.
// Names that appear later and do not fit fail at execution time with the
// same CheckAcrName message.
Status CheckPolicyForDestination(const Policy& policy, const Endpoint& dest,
                                 const std::vector<std::string>& known_source_repos);

}  // namespace pier::replication
