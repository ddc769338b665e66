#include "replication/labels.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "replication/planner.h"

namespace pier::replication {
namespace {

using json = nlohmann::json;

Result<std::vector<std::string>> ImageLabels(const ParsedManifest& m, const LabelSources& from,
                                             uint64_t max_config_bytes) {
  if (m.blobs.empty()) return std::vector<std::string>{};
  const Descriptor& config = m.blobs.front();
  if (!IsImageConfig(m.artifact_type) || !IsImageConfig(config.media_type)) return std::vector<std::string>{};
  const std::string name = "config " + config.digest.str();
  if (config.size < 0 || static_cast<uint64_t>(config.size) > max_config_bytes) {
    return Status::OutOfRange(name + " is " + std::to_string(config.size) +
                              " bytes; Pier reads labels from configs of at most " +
                              std::to_string(max_config_bytes) + " bytes");
  }
  auto text = from.config(config);
  if (!text.ok()) return Status(text.status().code(), "reading " + name + ": " + text.status().message());
  return ConfigLabelNames(*text);
}

}  // namespace

std::vector<std::string> ConfigLabelNames(std::string_view config_json) {
  std::vector<std::string> out;
  json j = json::parse(config_json, nullptr, false);
  if (!j.is_object()) return out;
  auto c = j.find("config");
  if (c == j.end() || !c->is_object()) return out;
  auto l = c->find("Labels");
  if (l == c->end() || !l->is_object()) return out;
  for (auto it = l->begin(); it != l->end(); ++it) out.push_back(it.key());  // keys come sorted, unique
  return out;
}

bool IsImageConfig(std::string_view t) {
  return t.empty() || t == "application/vnd.oci.image.config.v1+json" ||
         t == "application/vnd.docker.container.image.v1+json";
}

Result<std::vector<std::string>> ArtifactLabels(const ParsedManifest& m, const LabelSources& from,
                                                const std::vector<std::string>& platforms,
                                                uint64_t max_config_bytes) {
  if (!IsIndexMediaType(m.media_type)) return ImageLabels(m, from, max_config_bytes);
  std::set<std::string> all;
  for (const Descriptor& child : m.manifests) {
    if (!platforms.empty()) {
      std::string p = child.platform_json ? PlatformOf(*child.platform_json) : "";
      if (std::find(platforms.begin(), platforms.end(), p) == platforms.end()) continue;
    }
    auto cm = from.child(child);
    if (!cm.ok()) {
      return Status(cm.status().code(),
                    "child manifest " + child.digest.str() + ": " + cm.status().message());
    }
    if (IsIndexMediaType(cm->media_type)) continue;  // nested index: not an image of this one
    auto labels = ImageLabels(*cm, from, max_config_bytes);
    if (!labels.ok()) return labels.status();
    all.insert(labels->begin(), labels->end());
  }
  return std::vector<std::string>(all.begin(), all.end());
}

LabelVerdict FilterWithLabels(const std::vector<Filter>& filters, const std::vector<Artifact>& artifacts,
                              const LabelsOf& labels_of) {
  LabelVerdict out;
  std::vector<Filter> others;
  for (const Filter& f : filters) {
    if (f.type != kFilterLabel) others.push_back(f);
  }
  if (others.size() == filters.size()) {
    out.kept = FilterArtifacts(filters, artifacts);
    return out;
  }
  // Reading labels costs a request or two per artifact in pull mode: only
  // for the candidates the name-independent filters (tag, resource) keep.
  std::vector<Artifact> judged;
  for (const Artifact& narrowed : FilterArtifacts(others, artifacts)) {
    auto labels = labels_of(narrowed);
    if (!labels.ok()) {
      out.unreadable.emplace_back(narrowed, labels.status());
      continue;
    }
    // The original (all its tags): the full filter list narrows it again.
    auto orig = std::find_if(artifacts.begin(), artifacts.end(),
                             [&](const Artifact& a) { return a.digest == narrowed.digest; });
    Artifact a = orig != artifacts.end() ? *orig : narrowed;
    a.labels = std::move(*labels);
    judged.push_back(std::move(a));
  }
  out.kept = FilterArtifacts(filters, judged);
  return out;
}

}  // namespace pier::replication
