#pragma once
// Manifests for gzip → zstd transcoding on replication (issue 13): the
// image manifest that names transcoded layers instead of their gzip
// originals, and the index that names those rewritten children. Pure
// functions over manifest bytes; the transcoding itself (cache/) and when to
// do it (the engine, the policy's "compression") live elsewhere.
//
// Promises:
//  - nothing changes unless a layer does: a manifest without a transcodable
//    layer (or whose LayerMap keeps every layer) is returned byte for byte,
//    changed = false, with its own digest;
//  - a rewritten manifest keeps every field it does not have to change
//    (annotations, subject, artifactType, platform, unknown fields, field
//    order), and is deterministic: the same input and map give the same
//    bytes and digest;
//  - never throws; input ParseManifest refuses is refused with its status
//    (InvalidArgument naming the field, Unsupported for schema1 / unknown
//    types), and so is the wrong kind (an index given to
//    RewriteImageManifest and the reverse).
//
// What is transcodable (TranscodableLayers):
//  - only layers of images: the config must be an image config (OCI or
//    Docker). Artifacts (Helm charts, ORAS files, signatures, SBOMs...) are
//    never touched, even when a layer is typed tar+gzip: their consumers
//    read the blob itself (ORAS writes it out under its title annotation),
//    so a zstd blob under a .tar.gz name would be a different file;
//  - gzip layer types: OCI and Docker, distributable or not;
//  - not foreign layers (with urls): the blob lives elsewhere, we never
//    had it;
//  - not eStargz layers (annotation containerd.io/snapshot/stargz/toc.digest):
//    their lazy-pull table of contents is gzip-specific, so a zstd copy would
//    carry a TOC annotation that no longer describes it.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "base/manifest.h"
#include "base/status.h"

namespace pier::replication {

// The media type of a transcoded layer. (Not in a `media` namespace here:
// it would hide pier::media inside pier::replication.)
inline constexpr std::string_view kOciLayerZstdType = "application/vnd.oci.image.layer.v1.tar+zstd";

// The four gzip layer media types (OCI and Docker; their non-distributable
// / foreign variants included).
bool IsGzipLayerType(std::string_view media_type);

// The layers of `m` that RewriteImageManifest hands to a LayerMap (see the
// rules above), in manifest order, each digest once. Empty for an index, an
// artifact, or an image without transcodable layers. The engine uses it to
// know which blobs to transcode (and send instead of the gzip ones).
std::vector<Descriptor> TranscodableLayers(const ParsedManifest& m);

// A transcoded blob.
struct ZstdLayer {
  Digest digest;
  uint64_t size = 0;
};

// The zstd replacement of one transcodable gzip layer, or nullopt to keep
// the layer as it is (not transcoded, not worth it, transcoding failed:
// the gzip layer is always a correct answer). Called once per digest.
using LayerMap = std::function<std::optional<ZstdLayer>(const Descriptor& gzip_layer)>;

struct RewrittenManifest {
  std::string media_type;  // the output's media type (resolved, never generic)
  std::string bytes;
  Digest digest;         // sha256 of bytes
  bool changed = false;  // false: bytes are the input's
};

// An image manifest (OCI or Docker schema2) with its transcodable layers
// replaced as `map` says. A replaced layer descriptor gets mediaType
// application/vnd.oci.image.layer.v1.tar+zstd and the zstd digest and size;
// its other fields stay (the uncompressed content, hence the config's
// diff_ids, is the same, so the config is not touched).
// Non-distributable gzip layers (no urls) become ordinary tar+zstd: the OCI
// non-distributable types are deprecated ("SHOULD NOT be produced") and the
// blob is being distributed by this very copy anyway.
// When at least one layer changes, a Docker schema2 manifest becomes an OCI
// image manifest (OCI has zstd, Docker schema2 does not): mediaType field
// set to the OCI type, config application/vnd.docker.container.image.v1+json
// → application/vnd.oci.image.config.v1+json (same blob), the Docker layer
// types that stay → their OCI equivalents (tar.gzip → tar+gzip, tar → tar).
// Foreign Docker layers (rootfs.foreign.diff.tar.gzip, with urls) keep their
// Docker type: OCI has them only as deprecated non-distributable types, and
// containerd and Docker read the Docker foreign type in any manifest. An OCI
// manifest stays OCI and keeps whatever Docker layer types it had.
// `media_type` is the stored Content-Type (may be generic, as ParseManifest).
Result<RewrittenManifest> RewriteImageManifest(std::string_view media_type, std::string_view bytes,
                                               const LayerMap& map);

// A child of an index rewritten (usually RewriteImageManifest of the child's
// bytes; changed = false keeps the child as it is). An error stops the
// rewrite and is returned as is (reading a child can fail). Called once per
// digest.
using ChildRewrite = std::function<Result<RewrittenManifest>(const Descriptor& child)>;

// An index (OCI index or Docker manifest list) naming its children's
// rewrites: a changed child's descriptor gets the new mediaType, digest and
// size, and keeps platform, annotations and everything else — except an
// annotation "vnd.docker.reference.digest" (BuildKit's attestation manifest
// → the image it describes) naming a rewritten sibling, which is updated to
// the sibling's new digest so the attestation stays attached.
// When any child changed, a Docker manifest list becomes an OCI index (its
// children may now be OCI manifests, which a Docker list cannot name).
Result<RewrittenManifest> RewriteIndex(std::string_view media_type, std::string_view bytes,
                                       const ChildRewrite& child);

}  // namespace pier::replication
