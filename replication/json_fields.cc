// Typed JSON member reads, see json_fields.h.
#include "replication/json_fields.h"

#include <cstdio>

namespace pier::replication {

std::string FieldPath(std::string_view parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  std::string out(parent);
  out += '.';
  out += name;
  return out;
}

bool HasField(const nlohmann::json& obj, std::string_view name) {
  if (!obj.is_object()) return false;
  auto it = obj.find(name);
  return it != obj.end() && !it->is_null();
}

namespace {

const nlohmann::json* Member(const nlohmann::json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status Invalid(std::string_view path, std::string_view what) {
  return Status::InvalidArgument(std::string(path) + ": " + std::string(what));
}

}  // namespace

Status ReadString(const nlohmann::json& obj, std::string_view name, std::string_view path, std::string* out) {
  const auto* v = Member(obj, name);
  if (v == nullptr) return Status::OK();
  if (!v->is_string()) return Invalid(path, "must be a string");
  *out = v->get_ref<const std::string&>();
  return Status::OK();
}

Status ReadBool(const nlohmann::json& obj, std::string_view name, std::string_view path, bool* out) {
  const auto* v = Member(obj, name);
  if (v == nullptr) return Status::OK();
  if (!v->is_boolean()) return Invalid(path, "must be true or false");
  *out = v->get<bool>();
  return Status::OK();
}

Status ReadInt(const nlohmann::json& obj, std::string_view name, std::string_view path, int64_t lo,
               int64_t hi, int64_t* out) {
  const auto* v = Member(obj, name);
  if (v == nullptr) return Status::OK();
  std::string range = "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]";
  if (!v->is_number_integer()) return Invalid(path, range);
  int64_t value = 0;
  if (v->is_number_unsigned()) {
    auto u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(hi)) return Invalid(path, range);
    value = static_cast<int64_t>(u);
  } else {
    value = v->get<int64_t>();
  }
  if (value < lo || value > hi) return Invalid(path, range);
  *out = value;
  return Status::OK();
}

std::string FormatTime(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  if (t == system_clock::time_point{}) return "0001-01-01T00:00:00.000Z";
  auto ms = floor<milliseconds>(t);
  auto day = floor<days>(ms);
  year_month_day ymd{day};
  hh_mm_ss<milliseconds> hms{ms - day};
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()), static_cast<int>(hms.subseconds().count()));
  return buf;
}

}  // namespace pier::replication
