#include "replication/advisor/image.h"

#include <algorithm>

#include "base/file.h"
#include "replication/planner.h"

namespace pier::advisor {
namespace {

using json = nlohmann::json;

// Configs are small JSON documents; a "config" larger than this is not one
// the advisor needs to understand (history is optional anyway).
constexpr uint64_t kMaxConfig = 4 << 20;

bool IsImageConfig(std::string_view t) {
  return t == "application/vnd.oci.image.config.v1+json" ||
         t == "application/vnd.docker.container.image.v1+json";
}

std::string Annotation(const std::string& annotations_json, const char* key) {
  if (annotations_json.empty()) return "";
  json a = json::parse(annotations_json, nullptr, false);
  if (!a.is_object() || !a.contains(key) || !a[key].is_string()) return "";
  return a[key].get<std::string>();
}

// history[] entries that made a layer (empty_layer not true), in order.
std::vector<std::string> LayerSteps(Store& store, std::string_view repo, const Descriptor& config) {
  std::vector<std::string> out;
  if (config.size <= 0 || static_cast<uint64_t>(config.size) > kMaxConfig) return out;
  BlobInfo info;
  auto reader = store.OpenBlobReader(repo, config.digest, &info);  // local or S3
  if (!reader.ok()) return out;
  std::string text(static_cast<size_t>(config.size), '\0');
  auto n = (*reader)->ReadAt(0, std::span<char>(text.data(), text.size()));
  if (!n.ok()) return out;
  text.resize(*n);
  json c = json::parse(text, nullptr, false);
  if (!c.is_object() || !c.contains("history") || !c["history"].is_array()) return out;
  for (const json& h : c["history"]) {
    if (!h.is_object()) continue;
    if (h.contains("empty_layer") && h["empty_layer"].is_boolean() && h["empty_layer"].get<bool>()) continue;
    std::string step = h.contains("created_by") && h["created_by"].is_string() ? h["created_by"].get<std::string>() : "";
    // BuildKit's "/bin/sh -c #(nop) " prefixes say nothing to a reader.
    if (auto p = step.find("#(nop) "); p != std::string::npos) step = step.substr(p + 7);
    out.push_back(std::move(step));
  }
  return out;
}

Result<Image> FromManifest(Store& store, std::string_view repository, std::string_view reference,
                           const StoredManifest& m, const ParsedManifest& parsed) {
  Image img;
  img.repository = std::string(repository);
  img.reference = std::string(reference);
  img.digest = m.digest;
  img.media_type = parsed.media_type;
  if (parsed.blobs.empty() || !IsImageConfig(parsed.blobs[0].media_type)) {
    return Status::InvalidArgument(std::string(repository) + ":" + std::string(reference) +
                                   " is not an image (config type " +
                                   (parsed.blobs.empty() ? std::string("none") : parsed.blobs[0].media_type) + ")");
  }
  img.config = parsed.blobs[0];
  std::vector<std::string> steps = LayerSteps(store, repository, img.config);
  // History may list fewer or more steps than layers (squashed builds):
  // only a count that matches is trusted.
  bool steps_match = steps.size() == parsed.blobs.size() - 1;
  for (size_t i = 1; i < parsed.blobs.size(); ++i) {
    Layer l;
    l.desc = parsed.blobs[i];
    l.compression = CompressionOf(l.desc.media_type);
    if (steps_match) l.created_by = steps[i - 1];
    img.layers.push_back(std::move(l));
  }
  img.base_name = Annotation(parsed.annotations_json, "org.opencontainers.image.base.name");
  img.base_digest = Annotation(parsed.annotations_json, "org.opencontainers.image.base.digest");
  return img;
}

}  // namespace

uint64_t Image::Bytes() const {
  uint64_t n = static_cast<uint64_t>(std::max<int64_t>(0, config.size));
  for (const Layer& l : layers) n += static_cast<uint64_t>(std::max<int64_t>(0, l.desc.size));
  return n;
}

std::string CompressionOf(std::string_view t) {
  if (t.ends_with("+gzip") || t.ends_with(".tar.gzip") || t.ends_with("tar.gzip")) return "gzip";
  if (t.ends_with("+zstd")) return "zstd";
  if (t.ends_with(".tar") || t == "application/vnd.oci.image.layer.v1.tar") return "none";
  return "other";
}

Result<Image> LoadImage(Store& store, std::string_view repository, std::string_view reference) {
  auto m = store.GetManifest(repository, reference);
  if (!m.ok()) {
    if (m.status().code() == Code::kNotFound) {
      return Status::NotFound("no manifest " + std::string(reference) + " in repository " + std::string(repository));
    }
    return m.status();
  }
  auto parsed = ParseManifest(m->media_type, m->bytes);
  if (!parsed.ok()) return parsed.status();
  int64_t pushed = 0;
  if (auto arts = store.ListArtifacts(repository); arts.ok()) {
    for (const ArtifactInfo& a : *arts) {
      if (a.digest == m->digest) pushed = a.pushed_unix;
    }
  }
  if (!IsIndexMediaType(parsed->media_type)) {
    auto img = FromManifest(store, repository, reference, *m, *parsed);
    if (img.ok()) img->pushed_unix = pushed;
    return img;
  }
  // An index: the child a linux/amd64 node pulls, else the first image.
  std::optional<Result<Image>> first;
  for (const Descriptor& child : parsed->manifests) {
    std::string platform = child.platform_json ? replication::PlatformOf(*child.platform_json) : "";
    auto cm = store.GetManifest(repository, child.digest.str());
    if (!cm.ok()) continue;
    auto cp = ParseManifest(cm->media_type, cm->bytes);
    if (!cp.ok() || IsIndexMediaType(cp->media_type)) continue;
    auto img = FromManifest(store, repository, reference, *cm, *cp);
    if (!img.ok()) continue;
    img->digest = m->digest;
    img->media_type = parsed->media_type;
    img->image_digest = cm->digest;
    img->platform = platform;
    img->pushed_unix = pushed;
    if (platform == "linux/amd64") return img;
    if (!first) first = std::move(img);
  }
  if (first) return std::move(*first);
  return Status::InvalidArgument(std::string(repository) + ":" + std::string(reference) +
                                 " is an index without an image child");
}

Result<std::optional<Image>> LoadPrevious(Store& store, const Image& current, std::string_view against) {
  if (!against.empty()) {
    auto img = LoadImage(store, current.repository, against);
    if (!img.ok()) return img.status();
    return std::optional<Image>(std::move(*img));
  }
  auto arts = store.ListArtifacts(current.repository);
  if (!arts.ok()) return arts.status();
  // The tagged manifest pushed last before this one (ties: the later tag name).
  const ArtifactInfo* best = nullptr;
  for (const ArtifactInfo& a : *arts) {
    if (a.tags.empty() || a.digest == current.digest || a.subject) continue;
    if (current.pushed_unix != 0 && a.pushed_unix > current.pushed_unix) continue;
    if (best == nullptr || a.pushed_unix > best->pushed_unix ||
        (a.pushed_unix == best->pushed_unix && a.tags.back() > best->tags.back())) {
      best = &a;
    }
  }
  if (best == nullptr) return std::optional<Image>();
  auto img = LoadImage(store, current.repository, best->tags.back());
  if (!img.ok()) {
    // Not an image (a chart, an artifact): nothing to compare with.
    if (img.status().code() == Code::kInvalidArgument) return std::optional<Image>();
    return img.status();
  }
  return std::optional<Image>(std::move(*img));
}

}  // namespace pier::advisor
