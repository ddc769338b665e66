// Typed JSON member reads, see json_fields.h.
#include "base/json_fields.h"

namespace pier {
namespace {

const nlohmann::json* Member(const nlohmann::json& obj, std::string_view name) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(name);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

}  // namespace

std::string FieldPath(std::string_view parent, std::string_view name) {
  if (parent.empty()) return std::string(name);
  std::string out(parent);
  out += '.';
  out += name;
  return out;
}

std::string IndexPath(std::string_view parent, size_t index) {
  return std::string(parent) + "[" + std::to_string(index) + "]";
}

Status FieldError(std::string_view path, std::string_view what) {
  return Status::InvalidArgument(std::string(path) + ": " + std::string(what));
}

bool HasField(const nlohmann::json& obj, std::string_view name) { return Member(obj, name) != nullptr; }

Status CheckKeys(const nlohmann::json& obj, std::string_view path,
                 std::initializer_list<std::string_view> allowed) {
  if (!obj.is_object())
    return FieldError(path.empty() ? std::string_view("config") : path, "must be an object");
  for (const auto& [key, value] : obj.items()) {
    bool known = false;
    for (std::string_view a : allowed) known = known || a == key;
    if (!known) return FieldError(FieldPath(path, key), "unknown key");
  }
  return Status::OK();
}

Status ReadString(const nlohmann::json& obj, std::string_view parent, std::string_view name,
                  std::string* out) {
  const auto* v = Member(obj, name);
  if (v == nullptr) return Status::OK();
  if (!v->is_string()) return FieldError(FieldPath(parent, name), "must be a string");
  *out = v->get_ref<const std::string&>();
  return Status::OK();
}

Status ReadBool(const nlohmann::json& obj, std::string_view parent, std::string_view name, bool* out) {
  const auto* v = Member(obj, name);
  if (v == nullptr) return Status::OK();
  if (!v->is_boolean()) return FieldError(FieldPath(parent, name), "must be true or false");
  *out = v->get<bool>();
  return Status::OK();
}

Status ReadInt(const nlohmann::json& obj, std::string_view parent, std::string_view name, int64_t lo,
               int64_t hi, int64_t* out) {
  const auto* v = Member(obj, name);
  if (v == nullptr) return Status::OK();
  auto bad = [&] {
    return FieldError(FieldPath(parent, name),
                      "must be an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  };
  if (!v->is_number_integer()) return bad();
  int64_t value = 0;
  if (v->is_number_unsigned()) {
    auto u = v->get<uint64_t>();
    if (hi < 0 || u > static_cast<uint64_t>(hi)) return bad();
    value = static_cast<int64_t>(u);
  } else {
    value = v->get<int64_t>();
  }
  if (value < lo || value > hi) return bad();
  *out = value;
  return Status::OK();
}

}  // namespace pier
