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
//  - the estimate of the bytes a layer adds to a gzip image layer starts
//    from its entries' compressed sizes in the jar: BOOT-INF/lib jars are
//    STORED (already compressed), classes and resources deflated per entry,
//    about what gzip makes of the extracted files. gzip over the layer's tar
//    does a little better than that: a nested jar's local headers and names
//    (stored twice, once more in its central directory) compress, and
//    similar class files share strings across files. Measured on Debian's
//    jars and their classes (tests/unit/inspect), the real gzip layer was
//    0.89-0.94 of the compressed bytes; so the estimate is
//    kEstimateTenths / 10 × compressed bytes + kTarEntryOverhead per entry (a tar
//    header and padding after gzip);
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
// The estimate's constants (see above): gzip's gain over per-entry
// compression, in tenths, and a tar header block with its padding after gzip.
inline constexpr uint64_t kEstimateTenths = 9;
inline constexpr uint64_t kTarEntryOverhead = 32;

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
