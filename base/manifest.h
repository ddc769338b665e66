#pragma once
// Manifest parsing and reference extraction for every kind Pier serves:
// Docker schema2 manifest and manifest list, OCI image manifest and index,
// and OCI artifacts (any artifactType / config media type).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/status.h"

namespace pier {

namespace media {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerSchema1 = "application/vnd.docker.distribution.manifest.v1+json";
inline constexpr std::string_view kDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr std::string_view kOciEmpty = "application/vnd.oci.empty.v1+json";
}  // namespace media

// True for the four manifest media types Pier stores.
bool IsManifestMediaType(std::string_view media_type);
bool IsIndexMediaType(std::string_view media_type);

struct Descriptor {
  std::string media_type;
  Digest digest;
  int64_t size = 0;
  std::string artifact_type;     // may be empty
  std::string annotations_json;  // JSON object text, or empty
  std::vector<std::string> urls; // non-empty for foreign layers (not required to exist)
  std::optional<std::string> platform_json;  // index children only
};

struct ParsedManifest {
  std::string media_type;       // the resolved media type (Content-Type or mediaType field)
  std::string artifact_type;    // artifactType, else config.mediaType for OCI manifests
  std::string annotations_json; // top-level annotations object, or empty
  std::vector<Descriptor> blobs;      // config + layers: must exist as blobs
  std::vector<Descriptor> manifests;  // index children: must exist as manifests
  std::optional<Descriptor> subject;  // OCI 1.1 subject (need not exist)
};

// Parses `bytes` as a manifest. `content_type` is the request Content-Type
// (may be empty or generic). Returns InvalidArgument with a message naming
// the offending field when the JSON is malformed or a descriptor is invalid,
// Unsupported for Docker schema1 or an unknown manifest media type.
Result<ParsedManifest> ParseManifest(std::string_view content_type, std::string_view bytes);

// A descriptor (as stored for referrers) rendered to JSON object text.
std::string DescriptorJson(const Descriptor& d);

// Parses one descriptor object (the inverse of DescriptorJson; also accepts
// urls and platform). InvalidArgument naming the bad field.
Result<Descriptor> ParseDescriptorJson(std::string_view json);

}  // namespace pier
