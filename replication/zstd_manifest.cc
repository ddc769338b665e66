// Manifest rewrites for zstd transcoding, see zstd_manifest.h.
// ParseManifest validates first, so the edits below only touch fields whose
// shape it checked. The JSON is edited as nlohmann::ordered_json: the output
// keeps the input's field order, so a diff of the two shows only what changed,
// and serializing an ordered object is as deterministic as a sorted one.
#include "replication/zstd_manifest.h"

#include <exception>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

namespace pier::replication {
namespace {

using ojson = nlohmann::ordered_json;

constexpr std::string_view kOciGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr std::string_view kOciNondistributableGzip =
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip";
constexpr std::string_view kOciTar = "application/vnd.oci.image.layer.v1.tar";
constexpr std::string_view kDockerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
constexpr std::string_view kDockerForeignGzip = "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
constexpr std::string_view kDockerTar = "application/vnd.docker.image.rootfs.diff.tar";
constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
// stargz-snapshotter's marker of an eStargz layer (its gzip TOC's digest).
constexpr const char* kEstargzToc = "containerd.io/snapshot/stargz/toc.digest";
// BuildKit: on an attestation manifest in an index, the image it describes.
constexpr const char* kDockerReferenceDigest = "vnd.docker.reference.digest";

bool HasAnnotation(const Descriptor& d, const char* key) {
  if (d.annotations_json.empty()) return false;
  auto a = nlohmann::json::parse(d.annotations_json, nullptr, /*allow_exceptions=*/false);
  return a.is_object() && a.contains(key);
}

bool IsImageConfigType(std::string_view t) { return t == kOciConfig || t == kDockerConfig; }

bool IsTranscodable(const Descriptor& layer) {
  return IsGzipLayerType(layer.media_type) && layer.urls.empty() && !HasAnnotation(layer, kEstargzToc);
}

// A Docker layer type in a manifest that becomes OCI. Foreign layers keep
// their Docker type (see RewriteImageManifest in the header); unknown types
// are not ours to rename.
std::string OciLayerType(const std::string& t) {
  if (t == kDockerGzip) return std::string(kOciGzip);
  if (t == kDockerTar) return std::string(kOciTar);
  return t;
}

std::string Dump(const ojson& j) {
  // The parser accepted only valid UTF-8, so `replace` never fires; it is
  // there so that serializing cannot throw.
  return j.dump(-1, ' ', false, ojson::error_handler_t::replace);
}

struct Input {
  ParsedManifest parsed;
  ojson root;
};

Result<Input> Read(std::string_view media_type, std::string_view bytes, bool want_index, const char* caller) {
  auto parsed = ParseManifest(media_type, bytes);
  if (!parsed.ok()) return parsed.status();
  const bool is_index = IsIndexMediaType(parsed->media_type);
  if (is_index != want_index) {
    return Status::InvalidArgument(std::string(caller) + ": " + parsed->media_type +
                                   (is_index ? " is an index, not an image manifest" : " is not an index"));
  }
  // ParseManifest checked the depth and the syntax: this parse succeeds.
  ojson root = ojson::parse(bytes.begin(), bytes.end(), nullptr, /*allow_exceptions=*/false);
  if (!root.is_object()) return Status::InvalidArgument("manifest is not a JSON object");
  return Input{std::move(parsed).value(), std::move(root)};
}

RewrittenManifest Unchanged(const ParsedManifest& parsed, std::string_view bytes) {
  return RewrittenManifest{parsed.media_type, std::string(bytes), Sha256Of(bytes), false};
}

RewrittenManifest Changed(std::string media_type, const ojson& root) {
  std::string bytes = Dump(root);
  Digest digest = Sha256Of(bytes);
  return RewrittenManifest{std::move(media_type), std::move(bytes), std::move(digest), true};
}

Result<RewrittenManifest> RewriteImageUnchecked(std::string_view media_type, std::string_view bytes,
                                                const LayerMap& map) {
  auto in = Read(media_type, bytes, /*want_index=*/false, "RewriteImageManifest");
  if (!in.ok()) return in.status();
  std::map<std::string, ZstdLayer> zstd;  // by gzip digest; only the layers that change
  if (map) {
    for (const Descriptor& layer : TranscodableLayers(in->parsed)) {
      if (auto z = map(layer)) zstd.emplace(layer.digest.str(), std::move(*z));
    }
  }
  ojson& root = in->root;
  ojson& layers = root["layers"];
  bool changed = false;
  for (size_t i = 0; i < layers.size(); ++i) {
    const Descriptor& d = in->parsed.blobs[i + 1];  // blobs[0] is the config
    if (!IsTranscodable(d)) continue;  // the same digest may also appear as, say, a foreign layer
    auto z = zstd.find(d.digest.str());
    if (z == zstd.end()) continue;
    layers[i]["mediaType"] = std::string(kOciLayerZstdType);
    layers[i]["digest"] = z->second.digest.str();
    layers[i]["size"] = z->second.size;
    changed = true;
  }
  if (!changed) return Unchanged(in->parsed, bytes);

  std::string out_type = in->parsed.media_type;
  if (out_type == pier::media::kDockerManifest) {
    out_type = std::string(pier::media::kOciManifest);
    root["mediaType"] = out_type;
    ojson& config_type = root["config"]["mediaType"];
    if (config_type.get_ref<const std::string&>() == kDockerConfig) config_type = std::string(kOciConfig);
    for (ojson& layer : layers) {
      layer["mediaType"] = OciLayerType(layer["mediaType"].get<std::string>());
    }
  }
  return Changed(std::move(out_type), root);
}

Result<RewrittenManifest> RewriteIndexUnchecked(std::string_view media_type, std::string_view bytes,
                                                const ChildRewrite& child) {
  auto in = Read(media_type, bytes, /*want_index=*/true, "RewriteIndex");
  if (!in.ok()) return in.status();
  std::map<std::string, RewrittenManifest> rewritten;  // by the child's old digest; changed ones only
  std::set<std::string> asked;
  if (child) {
    for (const Descriptor& c : in->parsed.manifests) {
      if (!asked.insert(c.digest.str()).second) continue;
      auto r = child(c);
      if (!r.ok()) return r.status();
      if (!r->changed) continue;
      if (r->media_type.empty()) {
        return Status::InvalidArgument("RewriteIndex: the rewrite of child " + c.digest.str() +
                                       " has no media type");
      }
      rewritten.emplace(c.digest.str(), std::move(r).value());
    }
  }
  if (rewritten.empty()) return Unchanged(in->parsed, bytes);

  ojson& root = in->root;
  ojson& manifests = root["manifests"];
  for (size_t i = 0; i < manifests.size(); ++i) {
    ojson& m = manifests[i];
    if (auto it = rewritten.find(in->parsed.manifests[i].digest.str()); it != rewritten.end()) {
      m["mediaType"] = it->second.media_type;
      m["digest"] = it->second.digest.str();
      m["size"] = it->second.bytes.size();
    }
    // An attestation names its image by digest: follow the image's rewrite.
    auto annotations = m.find("annotations");
    if (annotations == m.end() || !annotations->is_object()) continue;
    auto ref = annotations->find(kDockerReferenceDigest);
    if (ref == annotations->end() || !ref->is_string()) continue;
    if (auto it = rewritten.find(ref->get<std::string>()); it != rewritten.end()) {
      *ref = it->second.digest.str();
    }
  }
  // Unchanged Docker schema2 children stay as they are: an OCI index may
  // name any manifest type, and containerd and Docker read such mixes.
  std::string out_type = in->parsed.media_type;
  if (out_type == pier::media::kDockerList) {
    out_type = std::string(pier::media::kOciIndex);
    root["mediaType"] = out_type;
  }
  return Changed(std::move(out_type), root);
}

}  // namespace

bool IsGzipLayerType(std::string_view media_type) {
  return media_type == kOciGzip || media_type == kOciNondistributableGzip || media_type == kDockerGzip ||
         media_type == kDockerForeignGzip;
}

std::vector<Descriptor> TranscodableLayers(const ParsedManifest& m) {
  std::vector<Descriptor> out;
  if (IsIndexMediaType(m.media_type) || m.blobs.empty() || !IsImageConfigType(m.blobs[0].media_type)) {
    return out;
  }
  std::set<std::string> seen;
  for (size_t i = 1; i < m.blobs.size(); ++i) {
    const Descriptor& layer = m.blobs[i];
    if (IsTranscodable(layer) && seen.insert(layer.digest.str()).second) out.push_back(layer);
  }
  return out;
}

Result<RewrittenManifest> RewriteImageManifest(std::string_view media_type, std::string_view bytes,
                                               const LayerMap& map) {
  // nlohmann reports type errors and allocation failures by exception; none
  // may leave the module (a callback that throws is reported the same way).
  try {
    return RewriteImageUnchecked(media_type, bytes, map);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("RewriteImageManifest: ") + e.what());
  }
}

Result<RewrittenManifest> RewriteIndex(std::string_view media_type, std::string_view bytes,
                                       const ChildRewrite& child) {
  try {
    return RewriteIndexUnchecked(media_type, bytes, child);
  } catch (const std::exception& e) {
    return Status::InvalidArgument(std::string("RewriteIndex: ") + e.what());
  }
}

}  // namespace pier::replication
