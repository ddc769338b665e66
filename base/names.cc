#include "base/names.h"

namespace pier {
namespace {

constexpr size_t kMaxRepositoryName = 255;
constexpr size_t kMaxTag = 128;

bool IsLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsAlnum(char c) { return IsLowerAlnum(c) || (c >= 'A' && c <= 'Z'); }

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*. A hand-written
// scanner instead of std::regex: this runs on every request.
bool IsValidComponent(std::string_view c) {
  size_t i = 0;
  const size_t n = c.size();
  while (true) {
    // A run of [a-z0-9]+ is required here: at the start and after a separator.
    if (i == n || !IsLowerAlnum(c[i])) return false;
    while (i < n && IsLowerAlnum(c[i])) ++i;
    if (i == n) return true;
    if (c[i] == '.') {
      ++i;
    } else if (c[i] == '_') {
      ++i;
      if (i < n && c[i] == '_') ++i;  // "__" is one separator, "___" is not
    } else if (c[i] == '-') {
      while (i < n && c[i] == '-') ++i;
    } else {
      return false;
    }
  }
}

}  // namespace

bool IsValidRepositoryName(std::string_view name) {
  if (name.empty() || name.size() > kMaxRepositoryName) return false;
  while (true) {
    size_t slash = name.find('/');
    if (!IsValidComponent(name.substr(0, slash))) return false;
    if (slash == std::string_view::npos) return true;
    name.remove_prefix(slash + 1);
  }
}

bool IsValidTag(std::string_view tag) {
  if (tag.empty() || tag.size() > kMaxTag) return false;
  if (!IsAlnum(tag[0]) && tag[0] != '_') return false;
  for (char c : tag.substr(1)) {
    if (!IsAlnum(c) && c != '_' && c != '.' && c != '-') return false;
  }
  return true;
}

bool LooksLikeDigest(std::string_view reference) { return reference.find(':') != std::string_view::npos; }

}  // namespace pier
