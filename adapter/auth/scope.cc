// Token scope parsing and the check of an access list against a request.
#include "adapter/auth/scope.h"

#include <algorithm>

#include "adapter/auth/auth.h"
#include "base/names.h"

namespace pier::auth {
namespace {

constexpr size_t kMaxScopeLength = 1024;

bool IsLowerWord(std::string_view s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); });
}

bool IsAction(std::string_view s) {
  if (s == "*") return true;
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return (c >= 'a' && c <= 'z') || c == '-'; });
}

// "registry.example.com", "localhost:5000", "10.0.0.1:443": a host, optional port.
bool IsHostPort(std::string_view s) {
  size_t colon = s.find(':');
  std::string_view host = s.substr(0, colon);
  if (host.empty() || host.front() == '.' || host.front() == '-') return false;
  for (char c : host) {
    bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '-';
    if (!ok) return false;
  }
  if (colon == std::string_view::npos) return true;
  std::string_view port = s.substr(colon + 1);
  if (port.empty() || port.size() > 5) return false;
  return std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool IsScopeRepositoryName(std::string_view name) {
  if (IsValidRepositoryName(name)) return true;
  size_t slash = name.find('/');
  if (slash == std::string_view::npos) return false;
  return IsHostPort(name.substr(0, slash)) && IsValidRepositoryName(name.substr(slash + 1));
}

Status Bad(std::string_view text, std::string_view why) {
  std::string shown(text.substr(0, 200));
  return Status::InvalidArgument("scope \"" + shown + "\": " + std::string(why));
}

}  // namespace

std::string Scope::ToString() const {
  std::string out = type + ":" + name + ":";
  for (size_t i = 0; i < actions.size(); ++i) out += (i ? "," : "") + actions[i];
  return out;
}

Result<Scope> ParseScope(std::string_view text) {
  if (text.size() > kMaxScopeLength) return Bad(text, "too long");
  size_t first = text.find(':');
  size_t last = text.rfind(':');
  if (first == std::string_view::npos || first == last) return Bad(text, "expected type:name:actions");
  Scope scope;
  std::string_view type = text.substr(0, first);
  // "repository(plugin)": the class narrows the type; Pier has one class per type.
  if (size_t open = type.find('('); open != std::string_view::npos) {
    if (type.back() != ')' || !IsLowerWord(type.substr(open + 1, type.size() - open - 2))) {
      return Bad(text, "malformed resource class");
    }
    type = type.substr(0, open);
  }
  if (!IsLowerWord(type)) return Bad(text, "resource type must be lower-case letters and digits");
  scope.type = std::string(type);
  scope.name = std::string(text.substr(first + 1, last - first - 1));
  if (scope.name.empty()) return Bad(text, "empty resource name");
  if (scope.type == "repository" && !IsScopeRepositoryName(scope.name))
    return Bad(text, "invalid repository name");
  std::string_view actions = text.substr(last + 1);
  if (actions.empty()) return Bad(text, "no actions");
  size_t pos = 0;
  while (true) {
    size_t comma = actions.find(',', pos);
    std::string_view action = actions.substr(pos, comma == std::string_view::npos ? comma : comma - pos);
    if (!IsAction(action)) return Bad(text, "malformed action list");
    if (std::find(scope.actions.begin(), scope.actions.end(), action) == scope.actions.end()) {
      scope.actions.emplace_back(action);
    }
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  return scope;
}

Result<std::vector<Scope>> ParseScopes(std::string_view text) {
  std::vector<Scope> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t space = text.find(' ', pos);
    if (space == std::string_view::npos) space = text.size();
    if (space > pos) {
      Result<Scope> s = ParseScope(text.substr(pos, space - pos));
      if (!s.ok()) return s.status();
      out.push_back(std::move(*s));
    }
    pos = space + 1;
  }
  return out;
}

bool GrantsCover(const std::vector<Scope>& grants, std::string_view name, unsigned actions) {
  unsigned have = 0;
  for (const Scope& g : grants) {
    if (g.type != "repository" || g.name != name) continue;
    for (const std::string& a : g.actions) {
      if (a == "*")
        have |= kPull | kPush | kDelete;
      else if (a == "pull")
        have |= kPull;
      else if (a == "push")
        have |= kPush;
      else if (a == "delete")
        have |= kDelete;
    }
  }
  return (have & actions) == actions;
}

bool GrantsCatalog(const std::vector<Scope>& grants) {
  for (const Scope& g : grants) {
    if (g.type == "registry" && g.name == "catalog" &&
        std::find(g.actions.begin(), g.actions.end(), "*") != g.actions.end()) {
      return true;
    }
  }
  return false;
}

}  // namespace pier::auth
