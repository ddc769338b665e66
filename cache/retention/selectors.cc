#include "cache/retention/selectors.h"

#include "base/glob.h"

namespace pier::retention {
namespace {

bool TagSelected(const Selector& s, const ArtifactInfo& a) {
  if (a.tags.empty()) return s.untagged;
  const bool want_match = s.decoration == "matches";
  for (const auto& t : a.tags) {
    if (GlobMatch(s.pattern, t) == want_match) return true;
  }
  return false;
}

}  // namespace

bool RepoSelected(const std::vector<Selector>& selectors, std::string_view name) {
  for (const auto& s : selectors) {
    const bool matched = GlobMatch(s.pattern, name);
    if (matched != (s.decoration == "repoMatches")) return false;
  }
  return true;
}

bool ArtifactSelected(const std::vector<Selector>& selectors, const ArtifactInfo& a) {
  for (const auto& s : selectors) {
    if (!TagSelected(s, a)) return false;
  }
  return true;
}

}  // namespace pier::retention
