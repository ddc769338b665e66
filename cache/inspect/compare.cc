#include "cache/inspect/compare.h"

#include <algorithm>
#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace pier::inspect {
namespace {

// The image's regular files (path → content hash) as the union of its
// layers: an upper layer's entry replaces a lower one's, a whiteout deletes
// its path. What lies under a whited-out directory, and what an opaque
// whiteout hides, is kept: the report errs on the side of "already there".
std::unordered_map<std::string, std::string> FilesOf(std::span<const LayerSummary> layers) {
  std::unordered_map<std::string, std::string> files;
  for (const LayerSummary& l : layers) {
    for (const FileEntry& e : l.entries) {
      if (e.whiteout) {
        const size_t slash = e.path.rfind('/');
        const std::string dir = slash == std::string::npos ? "" : e.path.substr(0, slash + 1);
        const std::string_view base = std::string_view(e.path).substr(dir.size());
        if (base != ".wh..wh..opq") files.erase(dir + std::string(base.substr(4)));
        continue;
      }
      if (e.type == EntryType::kFile) {
        files[e.path] = e.hash;
      } else {
        files.erase(e.path);
      }
    }
  }
  return files;
}

// Fat JARs by path, an upper layer's copy winning.
std::map<std::string, std::pair<size_t, const FatJar*>> JarsOf(std::span<const LayerSummary> layers) {
  std::map<std::string, std::pair<size_t, const FatJar*>> jars;
  for (size_t i = 0; i < layers.size(); ++i) {
    for (const FatJar& j : layers[i].fat_jars) jars[j.path] = {i, &j};
  }
  return jars;
}

void AddPackageFindings(size_t index, const PackageState& p, std::vector<PackageFinding>* out) {
  const std::pair<const char*, const PackageFiles*> caches[] = {
      {"apt-lists", &p.apt_lists}, {"apt-cache", &p.apt_cache}, {"apk-cache", &p.apk_cache},
      {"yum-cache", &p.yum_cache}, {"dnf-cache", &p.dnf_cache}};
  for (const auto& [what, files] : caches) {
    if (files->files > 0) out->push_back({index, what, files->files, files->bytes});
  }
}

}  // namespace

ImageComparison CompareImages(std::span<const LayerSummary> previous, std::span<const LayerSummary> current,
                              const CompareOptions& options) {
  ImageComparison out;
  const std::unordered_map<std::string, std::string> before = FilesOf(previous);
  std::unordered_set<std::string> hashes_before;
  std::unordered_set<std::string> diff_ids_before;
  for (const auto& [path, hash] : before) hashes_before.insert(hash);
  for (const LayerSummary& l : previous) diff_ids_before.insert(l.diff_id);

  for (size_t i = 0; i < current.size(); ++i) {
    const LayerSummary& l = current[i];
    LayerChange c;
    c.index = i;
    c.is_new = !diff_ids_before.contains(l.diff_id);
    std::vector<ChangedFile> changed;
    for (const FileEntry& e : l.entries) {
      if (e.type != EntryType::kFile || e.whiteout) continue;
      c.file_bytes += e.size;
      if (hashes_before.contains(e.hash)) c.reused_bytes += e.size;
      auto it = before.find(e.path);
      if (it == before.end() || it->second != e.hash) {
        changed.push_back({e.path, e.size, it == before.end()});
      }
    }
    c.changed_files = changed.size();
    for (const ChangedFile& f : changed) c.changed_bytes += f.size;
    c.rebuilt_identical = c.is_new && !previous.empty() && changed.empty() &&
                          std::any_of(l.entries.begin(), l.entries.end(), [](const FileEntry& e) { return e.type == EntryType::kFile; });
    std::stable_sort(changed.begin(), changed.end(), [](const ChangedFile& a, const ChangedFile& b) { return a.size > b.size; });
    if (options.max_files_per_layer > 0 && changed.size() > options.max_files_per_layer) changed.resize(options.max_files_per_layer);
    c.largest_changes = std::move(changed);
    if (c.is_new) AddPackageFindings(i, l.packages, &out.package_findings);
    out.layers.push_back(std::move(c));
  }

  const auto jars_before = JarsOf(previous);
  for (const auto& [path, where] : JarsOf(current)) {
    const auto& [index, jar] = where;
    FatJarChange f;
    f.path = path;
    f.layer_index = index;
    f.fat_jar_bytes = jar->size;
    f.has_layers_idx = jar->has_layers_idx;
    auto it = jars_before.find(path);
    f.has_previous = it != jars_before.end();
    for (BootLayer b : kBootLayers) {
      const bool changed = f.has_previous ? it->second.second->of(b).fingerprint != jar->of(b).fingerprint
                                          : b == BootLayer::kApplication || b == BootLayer::kSnapshotDependencies;
      if (!changed) continue;
      f.changed.push_back(b);
      f.layered_bytes += jar->of(b).estimated_bytes;
    }
    out.fat_jars.push_back(std::move(f));
  }
  return out;
}

}  // namespace pier::inspect
