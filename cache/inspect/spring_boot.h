#pragma once
// Spring Boot fat JARs seen as the layers `java -Djarmode=layertools -jar
// app.jar extract` would make of them (Spring Boot's default layers.idx),
// so a report can say what a layered image would send per build.
//
// Promises:
//  - a jar is a Spring Boot fat JAR when it has entries under BOOT-INF/lib/
//    or BOOT-INF/classes/;
//  - every entry falls in exactly one layer, decided as Spring Boot's
//    default does, in its order: dependencies (BOOT-INF/lib/ entries whose
//    name lacks "SNAPSHOT"), spring-boot-loader (org/springframework/boot/loader/),
//    snapshot-dependencies (BOOT-INF/lib/ entries with "SNAPSHOT"),
//    application (everything else: BOOT-INF/classes/, META-INF/, the .idx files);
//  - the estimate of the bytes a layer adds to a gzip image layer is the sum
//    of its entries' compressed sizes in the jar plus kTarEntryOverhead per
//    entry. It holds because the jar's compression is what gzip would achieve
//    on the extracted files: BOOT-INF/lib jars are STORED and already
//    compressed (gzip keeps them at their size), classes and resources are
//    deflated per entry as gzip deflates the tar stream; the overhead is a
//    tar header and its padding after gzip. Cross-file matches that gzip
//    finds in a tar (and deflate per entry cannot) make it an upper bound
//    for layers of many small files;
//  - the fingerprint of a layer is the sha256 (hex) over its entries sorted
//    by name, each as name, crc32 and size: two builds' layers with the same
//    fingerprint hold the same files (up to crc32 collisions), whatever the
//    jar's order or timestamps.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "cache/inspect/zip_scan.h"

namespace pier::inspect {

enum class BootLayer { kDependencies, kSpringBootLoader, kSnapshotDependencies, kApplication };
inline constexpr std::array<BootLayer, 4> kBootLayers{BootLayer::kDependencies, BootLayer::kSpringBootLoader,
                                                       BootLayer::kSnapshotDependencies, BootLayer::kApplication};
// A tar header block (512 bytes, mostly zeros) and the padding of the
// file's last block, after gzip; measured on extracted layers.
inline constexpr uint64_t kTarEntryOverhead = 64;

// "dependencies", "spring-boot-loader", "snapshot-dependencies", "application"
std::string_view BootLayerName(BootLayer l);
std::optional<BootLayer> ParseBootLayer(std::string_view name);

BootLayer ClassifyBootEntry(std::string_view name);
bool IsSpringBootJar(std::span<const ZipEntry> entries);

struct BootLayerStats {
  BootLayer layer = BootLayer::kApplication;
  uint64_t entries = 0;
  uint64_t size = 0;             // uncompressed bytes of the entries
  uint64_t compressed_size = 0;  // their bytes in the jar
  uint64_t estimated_bytes = 0;  // what the layer would add to a gzip image layer
  std::string fingerprint;       // sha256 hex over sorted name, crc32, size
};

struct BootJarLayers {
  std::array<BootLayerStats, 4> layers;  // in kBootLayers order
  bool has_layers_idx = false;           // BOOT-INF/layers.idx: already a layered jar

  const BootLayerStats& of(BootLayer l) const { return layers[static_cast<size_t>(l)]; }
};

BootJarLayers SplitBootJar(std::span<const ZipEntry> entries);

}  // namespace pier::inspect
