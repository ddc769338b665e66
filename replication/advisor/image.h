#pragma once
// One build as the advisor sees it: an image manifest of the store (an
// index resolves to its linux/amd64 child, else its first image child), its
// config's history and the build it is compared with.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/digest.h"
#include "base/manifest.h"
#include "base/status.h"
#include "cache/store.h"

namespace pier::advisor {

struct Layer {
  Descriptor desc;
  std::string compression;  // gzip | zstd | none | other
  std::string created_by;   // the config history step that made it ("" unknown)
};

struct Image {
  std::string repository;
  std::string reference;      // as asked (tag or digest)
  Digest digest;              // the manifest asked for (an index's own digest)
  std::string media_type;
  std::optional<Digest> image_digest;  // the child reported on, when `digest` is an index
  std::string platform;                // the child's platform ("" for a plain image)
  Descriptor config;
  std::vector<Layer> layers;
  int64_t pushed_unix = 0;
  std::string base_name;      // org.opencontainers.image.base.name annotation, if any
  std::string base_digest;    // org.opencontainers.image.base.digest annotation, if any

  uint64_t Bytes() const;  // config + layers
};

// Loads `reference` of `repository`. NotFound naming what is absent;
// InvalidArgument when it is not an image (an artifact, a signature, an
// index without an image child).
Result<Image> LoadImage(Store& store, std::string_view repository, std::string_view reference);

// The build to compare with: `against` when given (NotFound when absent),
// else the tagged image pushed last before `current` (another digest);
// nullopt when there is none.
Result<std::optional<Image>> LoadPrevious(Store& store, const Image& current, std::string_view against);

// "gzip" / "zstd" / "none" / "other" from a layer media type.
std::string CompressionOf(std::string_view media_type);

}  // namespace pier::advisor
