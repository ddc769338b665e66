// Replication filters, see filter.h. Semantics follow Harbor's registry
// filters (repository name; artifact tag, label and type).
#include "replication/filter.h"

#include <algorithm>
#include <cctype>

#include "base/glob.h"
#include "base/text.h"

namespace pier::replication {
namespace {

// Structural check mirroring cache/glob.cc's parser: a pattern that parser
// would call malformed (and so would match nothing) is refused up front.
class GlobChecker {
 public:
  explicit GlobChecker(std::string_view p) : p_(p) {}
  bool Ok() { return Sequence(0) && pos_ == p_.size(); }

 private:
  bool Sequence(int depth) {
    while (pos_ < p_.size()) {
      char c = p_[pos_];
      if (depth > 0 && (c == ',' || c == '}')) return true;
      if (c == '\\') {
        if (pos_ + 1 >= p_.size()) return false;
        pos_ += 2;
      } else if (c == '[') {
        if (!Class()) return false;
      } else if (c == '{') {
        if (depth + 1 > 32) return false;
        ++pos_;
        for (;;) {
          if (!Sequence(depth + 1)) return false;
          if (pos_ >= p_.size()) return false;
          if (p_[pos_++] == '}') break;
        }
      } else {
        ++pos_;
      }
    }
    return true;
  }

  bool Class() {
    ++pos_;
    size_t end = pos_;
    while (end < p_.size() && p_[end] != ']') end += (p_[end] == '\\') ? 2 : 1;
    if (end >= p_.size()) return false;
    if (pos_ < end && (p_[pos_] == '^' || p_[pos_] == '!')) ++pos_;
    if (pos_ >= end) return false;
    while (pos_ < end) {
      if (p_[pos_] == '-') return false;
      if (!ClassChar(end)) return false;
      if (pos_ < end && p_[pos_] == '-') {
        ++pos_;
        if (pos_ >= end || p_[pos_] == '-') return false;
        if (!ClassChar(end)) return false;
      }
    }
    pos_ = end + 1;
    return true;
  }

  bool ClassChar(size_t end) {
    if (pos_ >= end) return false;
    if (p_[pos_] == '\\') {
      if (pos_ + 1 >= end) return false;
      pos_ += 2;
      return true;
    }
    ++pos_;
    return true;
  }

  std::string_view p_;
  size_t pos_ = 0;
};

bool IsPlatformToken(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.';
  });
}

// "os/arch" or "os/arch/variant", each part [A-Za-z0-9._-]+.
bool IsPlatform(std::string_view s) {
  int parts = 0;
  size_t start = 0;
  for (;;) {
    size_t slash = s.find('/', start);
    std::string_view part =
        s.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start);
    if (!IsPlatformToken(part)) return false;
    ++parts;
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return parts == 2 || parts == 3;
}

std::string At(std::string_view path, size_t i) { return std::string(path) + "[" + std::to_string(i) + "]"; }

Status Invalid(const std::string& at, std::string_view field, std::string_view what) {
  return Status::InvalidArgument(at + "." + std::string(field) + ": " + std::string(what));
}

// An upper-case letter that is not inside a [...] class (where [A-Za-z]
// can still match lower case).
bool HasUpperOutsideClass(std::string_view pattern) {
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char c = pattern[i];
    if (c == '\\') {
      ++i;
      continue;
    }
    if (c == '[') in_class = true;
    else if (c == ']') in_class = false;
    else if (!in_class && c >= 'A' && c <= 'Z') return true;
  }
  return false;
}

Status ValidateOne(const Filter& f, const std::string& at, int* platforms) {
  const bool takes_decoration = f.type == kFilterTag || f.type == kFilterLabel;
  if (f.type != kFilterName && f.type != kFilterTag && f.type != kFilterLabel && f.type != kFilterResource &&
      f.type != kFilterPlatform) {
    return Invalid(at, "type",
                   "unknown filter type \"" + f.type + "\" (want name, tag, label, resource or platform)");
  }
  if (!f.decoration.empty()) {
    if (!takes_decoration) return Invalid(at, "decoration", f.type + " filter takes no decoration");
    if (f.decoration != kDecorationMatches && f.decoration != kDecorationExcludes) {
      return Invalid(at, "decoration", "must be \"matches\" or \"excludes\", got \"" + f.decoration + "\"");
    }
  }
  if (f.type == kFilterName || f.type == kFilterTag) {
    if (f.value.is_null()) return Status::OK();
    if (!f.value.is_string()) return Invalid(at, "value", f.type + " filter value must be a glob string");
    const auto& pattern = f.value.get_ref<const std::string&>();
    if (!GlobChecker(pattern).Ok()) {
      return Invalid(
          at, "value",
          "malformed pattern \"" + pattern + "\" (unclosed '[' or '{', empty class or trailing '\\')");
    }
    if (f.type == kFilterName && HasUpperOutsideClass(pattern)) {
      return Invalid(at, "value",
                     "name pattern \"" + pattern + "\" has capitals, but repository names are lowercase: it can "
                     "never match");
    }
    return Status::OK();
  }
  if (f.type == kFilterLabel) {
    if (f.value.is_null()) return Status::OK();
    if (!f.value.is_array())
      return Invalid(at, "value", "label filter value must be an array of label names");
    for (const auto& l : f.value) {
      if (!l.is_string()) return Invalid(at, "value", "label filter value must be an array of label names");
    }
    return Status::OK();
  }
  if (f.type == kFilterResource) {
    if (!f.value.is_string() || (f.value.get_ref<const std::string&>() != kResourceImage &&
                                 f.value.get_ref<const std::string&>() != kResourceArtifact)) {
      return Invalid(at, "value", "resource filter value must be \"image\" or \"artifact\"");
    }
    return Status::OK();
  }
  // platform
  if (++*platforms > 1) return Invalid(at, "type", "only one platform filter is allowed");
  const char* shape = "platform filter value must be \"os/arch[/variant]\" or an array of them";
  if (f.value.is_string()) {
    if (!IsPlatform(f.value.get_ref<const std::string&>())) return Invalid(at, "value", shape);
    return Status::OK();
  }
  if (!f.value.is_array() || f.value.empty()) return Invalid(at, "value", shape);
  for (const auto& p : f.value) {
    if (!p.is_string() || !IsPlatform(p.get_ref<const std::string&>())) return Invalid(at, "value", shape);
  }
  return Status::OK();
}

std::string_view Pattern(const Filter& f) {
  return f.value.is_string() ? std::string_view(f.value.get_ref<const std::string&>()) : std::string_view();
}

bool Excludes(const Filter& f) { return f.decoration == kDecorationExcludes; }

std::vector<Artifact> ApplyTag(const Filter& f, std::vector<Artifact> in) {
  std::string_view pattern = Pattern(f);
  if (pattern.empty()) return in;  // Harbor: an empty pattern keeps everything
  std::vector<Artifact> out;
  for (auto& a : in) {
    if (a.tags.empty()) {
      if (GlobMatch(pattern, "") != Excludes(f)) out.push_back(std::move(a));
      continue;
    }
    std::vector<std::string> kept;
    for (auto& t : a.tags) {
      if (GlobMatch(pattern, t) != Excludes(f)) kept.push_back(std::move(t));
    }
    if (kept.empty()) continue;
    a.tags = std::move(kept);
    out.push_back(std::move(a));
  }
  return out;
}

std::vector<Artifact> ApplyLabel(const Filter& f, std::vector<Artifact> in) {
  if (!f.value.is_array() || f.value.empty()) return in;
  std::vector<Artifact> out;
  for (auto& a : in) {
    bool all = true;
    for (const auto& want : f.value) {
      if (!want.is_string()) continue;
      if (std::find(a.labels.begin(), a.labels.end(), want.get_ref<const std::string&>()) == a.labels.end()) {
        all = false;
        break;
      }
    }
    if (all != Excludes(f)) out.push_back(std::move(a));
  }
  return out;
}

std::vector<Artifact> ApplyResource(const Filter& f, std::vector<Artifact> in) {
  std::string_view want = Pattern(f);
  if (want.empty() || want == kResourceArtifact) return in;  // "artifact": every kind
  std::vector<Artifact> out;
  for (auto& a : in) {
    if (EqualsNoCase(a.resource_type, want)) out.push_back(std::move(a));
  }
  return out;
}

}  // namespace

Result<std::vector<Filter>> ParseFilters(const nlohmann::json& array, std::string_view path) {
  if (array.is_null()) return std::vector<Filter>{};
  if (!array.is_array()) return Status::InvalidArgument(std::string(path) + ": must be an array");
  std::vector<Filter> out;
  for (size_t i = 0; i < array.size(); ++i) {
    const auto& item = array[i];
    std::string at = At(path, i);
    if (!item.is_object())
      return Status::InvalidArgument(at + ": must be an object {type, value, decoration}");
    Filter f;
    auto type = item.find("type");
    if (type == item.end() || !type->is_string()) return Invalid(at, "type", "required string");
    f.type = type->get<std::string>();
    if (auto v = item.find("value"); v != item.end()) f.value = *v;
    if (auto d = item.find("decoration"); d != item.end() && !d->is_null()) {
      if (!d->is_string()) return Invalid(at, "decoration", "must be a string");
      f.decoration = d->get<std::string>();
    }
    out.push_back(std::move(f));
  }
  int platforms = 0;
  for (size_t i = 0; i < out.size(); ++i) {
    if (auto s = ValidateOne(out[i], At(path, i), &platforms); !s.ok()) return s;
  }
  return out;
}

Status ValidateFilters(const std::vector<Filter>& filters) {
  int platforms = 0;
  for (size_t i = 0; i < filters.size(); ++i) {
    if (auto s = ValidateOne(filters[i], At("filters", i), &platforms); !s.ok()) return s;
  }
  return Status::OK();
}

nlohmann::json FiltersToJson(const std::vector<Filter>& filters) {
  auto out = nlohmann::json::array();
  for (const auto& f : filters) {
    nlohmann::json j = {{"type", f.type}, {"value", f.value}};
    if (!f.decoration.empty()) j["decoration"] = f.decoration;
    out.push_back(std::move(j));
  }
  return out;
}

bool MatchRepository(const std::vector<Filter>& filters, std::string_view repository) {
  for (const auto& f : filters) {
    if (f.type == kFilterName && !GlobMatch(Pattern(f), repository)) return false;
  }
  return true;
}

std::vector<Artifact> FilterArtifacts(const std::vector<Filter>& filters,
                                      const std::vector<Artifact>& artifacts) {
  std::vector<Artifact> out = artifacts;
  for (const auto& f : filters) {
    if (f.type == kFilterTag) {
      out = ApplyTag(f, std::move(out));
    } else if (f.type == kFilterLabel) {
      out = ApplyLabel(f, std::move(out));
    } else if (f.type == kFilterResource) {
      out = ApplyResource(f, std::move(out));
    }
  }
  return out;
}

std::vector<std::string> PlatformFilter(const std::vector<Filter>& filters) {
  std::vector<std::string> out;
  for (const auto& f : filters) {
    if (f.type != kFilterPlatform) continue;
    if (f.value.is_string()) {
      out.push_back(f.value.get<std::string>());
    } else if (f.value.is_array()) {
      for (const auto& p : f.value) {
        if (p.is_string()) out.push_back(p.get<std::string>());
      }
    }
  }
  return out;
}

}  // namespace pier::replication
