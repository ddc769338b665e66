#pragma once
// Typed reads of JSON object members, shared by every JSON parser of input
// (the config file, the config-seeded replication objects, Harbor's API
// bodies). Each function promises: never throws; a member that is absent or
// null leaves *out untouched and returns OK; a member of the wrong type gives
// InvalidArgument "<path>: <what was expected>", where <path> is the field's
// path as the user wrote it ("replication.policies[0].trigger.type"), built
// from the parent's path and the member name.
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "base/status.h"

namespace pier {

// Joins a parent path and a member name: ("trigger", "type") → "trigger.type",
// ("", "name") → "name".
std::string FieldPath(std::string_view parent, std::string_view name);

// An array element's path: ("filters", 1) → "filters[1]".
std::string IndexPath(std::string_view parent, size_t index);

// InvalidArgument "<path>: <what>", the shape every message here has.
Status FieldError(std::string_view path, std::string_view what);

// True when `obj` is an object with member `name` and it is not null.
bool HasField(const nlohmann::json& obj, std::string_view name);

// OK when `obj` is an object whose members are all in `allowed`; otherwise
// "<path>: must be an object" or "<path>.<member>: unknown key", so a typo in
// a key never silently falls back to a default.
Status CheckKeys(const nlohmann::json& obj, std::string_view path,
                 std::initializer_list<std::string_view> allowed);

Status ReadString(const nlohmann::json& obj, std::string_view parent, std::string_view name,
                  std::string* out);
Status ReadBool(const nlohmann::json& obj, std::string_view parent, std::string_view name, bool* out);

// Integers only: 1.5, 2.0 and "3" are refused, and so is a value outside
// [lo, hi] ("<path>: must be an integer in [lo, hi]").
Status ReadInt(const nlohmann::json& obj, std::string_view parent, std::string_view name, int64_t lo,
               int64_t hi, int64_t* out);

// The same into a narrower integer; [lo, hi] must fit in T.
template <std::integral T>
Status ReadInt(const nlohmann::json& obj, std::string_view parent, std::string_view name, int64_t lo,
               int64_t hi, T* out) {
  int64_t v = static_cast<int64_t>(*out);
  Status s = ReadInt(obj, parent, name, lo, hi, &v);
  if (s.ok()) *out = static_cast<T>(v);
  return s;
}

// A count, size or duration in a config file: an integer in [0, max of T].
template <std::integral T>
Status ReadNonNegative(const nlohmann::json& obj, std::string_view parent, std::string_view name, T* out) {
  constexpr auto kMax = static_cast<uint64_t>(std::numeric_limits<T>::max());
  constexpr int64_t kHi = kMax > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())
                              ? std::numeric_limits<int64_t>::max()
                              : static_cast<int64_t>(kMax);
  return ReadInt(obj, parent, name, 0, kHi, out);
}

}  // namespace pier
