#pragma once
// Typed reads of optional JSON object members for the Harbor-compatible API
// parsers. Each reader promises: never throws; a member that is absent or
// null leaves *out untouched and returns OK; a member of the wrong type gives
// InvalidArgument "<path>: <what was expected>", where <path> is the field's
// dotted name as the client wrote it (e.g. "trigger.trigger_settings.cron").
// Also RFC 3339 time formatting as Harbor prints it.
#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace pier::replication {

// Joins a parent path and a member name: ("trigger", "type") -> "trigger.type".
std::string FieldPath(std::string_view parent, std::string_view name);

// True when `obj` has member `name` and it is not null.
bool HasField(const nlohmann::json& obj, std::string_view name);

Status ReadString(const nlohmann::json& obj, std::string_view name, std::string_view path, std::string* out);
Status ReadBool(const nlohmann::json& obj, std::string_view name, std::string_view path, bool* out);
// Integers only: 1.5, 2.0 and "3" are refused. Range is [lo, hi].
Status ReadInt(const nlohmann::json& obj, std::string_view name, std::string_view path, int64_t lo,
               int64_t hi, int64_t* out);

// "2026-11-27T21:21:55.000Z" (UTC, milliseconds). The epoch (a default
// time_point) prints as "0001-01-01T00:00:00.000Z", Go's zero time, which is
// what Harbor shows for a time never set.
std::string FormatTime(std::chrono::system_clock::time_point t);

}  // namespace pier::replication
