#pragma once
// Harbor's doublestar selectors (lib/selector/selectors/doublestar) over
// repositories and artifacts. Several selectors of one rule must all pick.
#include <string_view>
#include <vector>

#include "cache/retention/policy.h"
#include "cache/store.h"

namespace pier::retention {

// `name` is the repository without its project ("app" for "team/app").
bool RepoSelected(const std::vector<Selector>& selectors, std::string_view name);
// matches: some tag matches the pattern; excludes: some tag does not. An
// artifact without tags is picked when the selector's `untagged` is set.
bool ArtifactSelected(const std::vector<Selector>& selectors, const ArtifactInfo& a);

}  // namespace pier::retention
