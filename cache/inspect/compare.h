#pragma once
// CompareImages: what a build changed against the previous one, from the
// layer summaries alone (layer_summary.h), for the layer advisor.
//
// Promises, for `current` (base layer first) against `previous` (may be empty):
//  - a layer is new when its diff_id is not among the previous image's;
//  - per current layer, the regular files that are new or changed (the path
//    was not in the previous image, or held other content), largest first
//    (at most max_files_per_layer; their count and bytes are always whole),
//    and the bytes of its regular files whose content (hash) the previous
//    image already had anywhere;
//  - a new layer all of whose files the previous image already had at the
//    same paths with the same content is a rebuilt-but-identical layer: the
//    build cache was busted for nothing (rebuilt_identical);
//  - per fat JAR of the current image (by path; an upper layer's copy wins):
//    the boot layers whose fingerprint differs from the previous build's
//    same path, and what a layered jar would send (their estimates summed)
//    beside what the fat JAR sends as one file (its size). Without a
//    previous copy, application and snapshot-dependencies are assumed to
//    change (the usual edit-and-rebuild);
//  - package-manager findings: a new layer that leaves apt lists, the apt,
//    apk, yum or dnf caches in the image.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "cache/inspect/layer_summary.h"

namespace pier::inspect {

struct CompareOptions {
  size_t max_files_per_layer = 100;  // 0: all
};

struct ChangedFile {
  std::string path;
  uint64_t size = 0;
  bool is_new = false;  // the path was not in the previous image
};

struct LayerChange {
  size_t index = 0;  // in `current`
  bool is_new = false;
  bool rebuilt_identical = false;
  uint64_t file_bytes = 0;       // regular files' bytes in the layer
  uint64_t reused_bytes = 0;     // of those, content the previous image had
  uint64_t changed_files = 0;    // new or changed regular files
  uint64_t changed_bytes = 0;
  std::vector<ChangedFile> largest_changes;  // by size, largest first
};

struct FatJarChange {
  std::string path;
  size_t layer_index = 0;
  bool has_previous = false;        // the previous build had this path as a fat JAR
  std::vector<BootLayer> changed;   // in kBootLayers order
  uint64_t layered_bytes = 0;       // sum of the changed boot layers' estimates
  uint64_t fat_jar_bytes = 0;       // the jar's size: what an unlayered image sends
  bool has_layers_idx = false;
};

struct PackageFinding {
  size_t layer_index = 0;
  std::string what;  // "apt-lists", "apt-cache", "apk-cache", "yum-cache", "dnf-cache"
  uint64_t files = 0;
  uint64_t bytes = 0;
};

struct ImageComparison {
  std::vector<LayerChange> layers;  // one per current layer
  std::vector<FatJarChange> fat_jars;
  std::vector<PackageFinding> package_findings;
};

ImageComparison CompareImages(std::span<const LayerSummary> previous, std::span<const LayerSummary> current,
                              const CompareOptions& options = {});

}  // namespace pier::inspect
