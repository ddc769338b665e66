#include "cache/inspect/spring_boot.h"

#include <algorithm>
#include <cstdio>
#include <vector>

#include "base/digest.h"

namespace pier::inspect {

std::string_view BootLayerName(BootLayer l) {
  switch (l) {
    case BootLayer::kDependencies: return "dependencies";
    case BootLayer::kSpringBootLoader: return "spring-boot-loader";
    case BootLayer::kSnapshotDependencies: return "snapshot-dependencies";
    case BootLayer::kApplication: break;
  }
  return "application";
}

std::optional<BootLayer> ParseBootLayer(std::string_view name) {
  for (BootLayer l : kBootLayers) {
    if (BootLayerName(l) == name) return l;
  }
  return std::nullopt;
}

BootLayer ClassifyBootEntry(std::string_view name) {
  if (name.starts_with("BOOT-INF/lib/") && name.size() > 13) {
    return name.find("SNAPSHOT") != std::string_view::npos ? BootLayer::kSnapshotDependencies : BootLayer::kDependencies;
  }
  if (name.starts_with("org/springframework/boot/loader/")) return BootLayer::kSpringBootLoader;
  return BootLayer::kApplication;
}

bool IsSpringBootJar(std::span<const ZipEntry> entries) {
  return std::any_of(entries.begin(), entries.end(), [](const ZipEntry& e) {
    return e.name.starts_with("BOOT-INF/lib/") || e.name.starts_with("BOOT-INF/classes/");
  });
}

BootJarLayers SplitBootJar(std::span<const ZipEntry> entries) {
  BootJarLayers out;
  std::array<std::vector<const ZipEntry*>, 4> members;
  for (const ZipEntry& e : entries) {
    if (e.name == "BOOT-INF/layers.idx") out.has_layers_idx = true;
    const BootLayer l = ClassifyBootEntry(e.name);
    members[static_cast<size_t>(l)].push_back(&e);
  }
  for (size_t i = 0; i < kBootLayers.size(); ++i) {
    BootLayerStats& s = out.layers[i];
    s.layer = kBootLayers[i];
    std::vector<const ZipEntry*>& m = members[i];
    std::sort(m.begin(), m.end(), [](const ZipEntry* a, const ZipEntry* b) { return a->name < b->name; });
    Sha256 sha;
    for (const ZipEntry* e : m) {
      ++s.entries;
      s.size += e->size;
      s.compressed_size += e->compressed_size;
      s.estimated_bytes += kTarEntryOverhead;
      char line[64];
      const int n = std::snprintf(line, sizeof line, "%08x %llu\n", e->crc32, static_cast<unsigned long long>(e->size));
      sha.Update(std::string_view(e->name.data(), e->name.size() + 1));  // with its NUL: no name is a prefix of a line
      sha.Update(std::string_view(line, static_cast<size_t>(n)));
    }
    s.estimated_bytes += s.compressed_size * kEstimateTenths / 10;
    s.fingerprint = sha.Finish().hex;
  }
  return out;
}

}  // namespace pier::inspect
