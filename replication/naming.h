#pragma once
// Destination repository names: Harbor's dest_namespace +
// dest_namespace_replace_count rule, and the shape check for Aliyun ACR
// personal edition (reference/harbor.md, Destination naming).
#include <string>
#include <string_view>

#include "base/status.h"

namespace pier::replication {

// Where `src_repo` lands under `dest_namespace`. For source "a/b/c" and
// namespace "n": -1 → "n/c" (flatten), 0 → "n/a/b/c", 1 → "n/b/c",
// 2 → "n/c", 3 → InvalidArgument (more levels than the path has).
// Source "c": -1 and 0 → "n/c", ≥1 → InvalidArgument. Empty namespace: the
// name is returned unchanged whatever the count (Harbor does the same).
// replace_count < -1 → InvalidArgument.
Result<std::string> DestinationRepository(std::string_view src_repo, std::string_view dest_namespace,
                                          int replace_count);

// OK when `dest_repo` has exactly two non-empty levels "namespace/repo", as
// ACR personal edition requires; otherwise InvalidArgument saying so.
Status CheckAcrName(std::string_view dest_repo);

// Number of '/'-separated levels in a repository name ("a/b/c" → 3).
int RepositoryLevels(std::string_view repo);

}  // namespace pier::replication
