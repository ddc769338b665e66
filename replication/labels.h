#pragma once
// The labels the `label` filter sees on an artifact, in both replication
// modes. Harbor's labels are Harbor-side metadata; Pier has none of those, so
// it uses the image config's labels ("config": {"Labels": {...}}, what
// `docker build --label` and Dockerfile LABEL write). Only label names count.
//
// Promises:
//  - An image manifest carries the labels of its config blob. The config is
//    read only when it is an image config (OCI or Docker media type, or none
//    given); an artifact's config (an SBOM, a signature) carries no labels
//    and is not read.
//  - An index carries the union of its children's labels (the children the
//    platform filter keeps, or all): a multi-arch image normally labels every
//    platform alike, and the union keeps `excludes` the exact opposite of
//    `matches`. Nested indexes add nothing.
//  - A config descriptor announcing more than `max_config_bytes` is refused
//    before it is read; any read error comes back naming the digest. Nothing
//    is ever silently treated as "no labels".
//  - Matching stays in filter.h (FilterArtifacts): this only finds labels
//    and decides which artifacts need them.
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/manifest.h"
#include "base/status.h"
#include "replication/filter.h"

namespace pier::replication {

// What Pier reads of a config blob to find labels (pull mode fetches it).
inline constexpr uint64_t kMaxConfigBytes = 1 << 20;

// Label names under config.Labels of an image config's JSON, sorted and
// unique. Not JSON, or no such object: none.
std::vector<std::string> ConfigLabelNames(std::string_view config_json);

// True for a config media type that is an image config (where labels live).
bool IsImageConfig(std::string_view media_type);

// Where the labels come from: an index child's manifest, parsed; a config
// blob's bytes (the reader may hold at most max_config_bytes).
struct LabelSources {
  std::function<Result<ParsedManifest>(const Descriptor& child)> child;
  std::function<Result<std::string>(const Descriptor& config)> config;
};

// The labels of the artifact whose manifest is `m` (sorted, unique).
// `platforms` ("os/arch[/variant]") narrows an index's children; empty = all.
Result<std::vector<std::string>> ArtifactLabels(const ParsedManifest& m, const LabelSources& from,
                                                const std::vector<std::string>& platforms,
                                                uint64_t max_config_bytes = kMaxConfigBytes);

// The policy's filters applied to one repository's artifacts when labels
// must be read. Labels are read (labels_of) only for artifacts the other
// filters keep, and only when there is a label filter; then every filter
// applies as FilterArtifacts does. An artifact whose labels cannot be read
// is neither kept nor dropped: it comes back in `unreadable` with the reason
// (a Failed task, so a policy never silently skips what it could not judge).
struct LabelVerdict {
  std::vector<Artifact> kept;
  std::vector<std::pair<Artifact, Status>> unreadable;
};
using LabelsOf = std::function<Result<std::vector<std::string>>(const Artifact&)>;
LabelVerdict FilterWithLabels(const std::vector<Filter>& filters, const std::vector<Artifact>& artifacts,
                              const LabelsOf& labels_of);

}  // namespace pier::replication
