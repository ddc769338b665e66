#pragma once
// Replication filters with Harbor's semantics (reference/harbor.md, Filters),
// plus Pier's own `platform` filter for multi-arch indexes.
//
// Promises:
//  - ValidateFilters accepts exactly what the matchers below understand and
//    names the offending field ("filters[1].decoration: ...") otherwise.
//  - Filters are ANDed. A filter with an empty pattern / empty list selects
//    everything (Harbor). Patterns are doublestar 1.x globs (pier::GlobMatch).
//  - Nothing here throws or does I/O.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pier::replication {

// Filter types, as Harbor spells them ("platform" is Pier's).
inline constexpr std::string_view kFilterName = "name";
inline constexpr std::string_view kFilterTag = "tag";
inline constexpr std::string_view kFilterLabel = "label";
inline constexpr std::string_view kFilterResource = "resource";
inline constexpr std::string_view kFilterPlatform = "platform";

inline constexpr std::string_view kDecorationMatches = "matches";
inline constexpr std::string_view kDecorationExcludes = "excludes";

inline constexpr std::string_view kResourceImage = "image";
inline constexpr std::string_view kResourceArtifact = "artifact";

// One entry of a policy's "filters" array.
//  name:     value = glob string, matched against the full repository path;
//            takes no decoration.
//  tag:      value = glob string; decoration matches (default) | excludes.
//  label:    value = array of label names; decoration matches | excludes.
//  resource: value = "image" | "artifact" ("artifact" = every kind).
//  platform: value = "os/arch[/variant]" or an array of them; which children
//            of a multi-arch index to copy. No decoration; at most one.
struct Filter {
  std::string type;
  nlohmann::json value;
  std::string decoration;  // "" means the default (matches)
};

// What the filters see of one artifact (a manifest or index in a repository).
struct Artifact {
  std::string digest;
  std::vector<std::string> tags;  // empty: untagged
  std::vector<std::string> labels;
  std::string resource_type;  // "image" | "artifact"
};

// A repository and its artifacts, before or after filtering.
struct Candidate {
  std::string repository;
  std::vector<Artifact> artifacts;
};

// Parses a JSON "filters" array (null/absent is the caller's business: it
// means no filters). Validates as ValidateFilters does. `path` names the
// array in messages ("filters").
Result<std::vector<Filter>> ParseFilters(const nlohmann::json& array, std::string_view path = "filters");

// 400-style InvalidArgument naming the field, e.g.
// "filters[1].decoration: name filter takes no decoration", for: unknown
// type, a decoration on a type that takes none or other than
// matches|excludes, a value of the wrong shape, a malformed glob, a resource
// other than image|artifact, a platform not shaped os/arch[/variant], more
// than one platform filter.
Status ValidateFilters(const std::vector<Filter>& filters);

// Harbor's output shape: {"type","value"} plus "decoration" when set.
nlohmann::json FiltersToJson(const std::vector<Filter>& filters);

// True when every name filter matches `repository` (no name filter: true).
bool MatchRepository(const std::vector<Filter>& filters, std::string_view repository);

// Applies the tag, label and resource filters in order, Harbor's way:
//  tag:      keeps the tags that match (matches) or do not (excludes); an
//            artifact left with no tag is dropped; an untagged artifact is
//            judged by matching the pattern against "" (so an empty pattern
//            or "**"-like patterns keep it under matches).
//  label:    keeps artifacts carrying all listed labels (matches) or not all
//            of them (excludes).
//  resource: "image" keeps resource_type == image; "artifact" keeps all.
// Kept artifacts keep their order; their tag lists are narrowed.
std::vector<Artifact> FilterArtifacts(const std::vector<Filter>& filters,
                                      const std::vector<Artifact>& artifacts);

// The platforms selected by the platform filter ("linux/amd64", ...), in
// the order given; empty means all platforms.
std::vector<std::string> PlatformFilter(const std::vector<Filter>& filters);

}  // namespace pier::replication
