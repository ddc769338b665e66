#include "replication/planner.h"

#include <unistd.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "base/manifest.h"
#include "replication/filter.h"
#include "replication/labels.h"
#include "replication/naming.h"

namespace pier::replication {
namespace {

using json = nlohmann::json;

// A local config blob's bytes (labels only: small reads, at most `max`).
Result<std::string> ReadLocalConfig(Store& store, std::string_view repo, const Descriptor& d, uint64_t max) {
  BlobInfo info;
  auto reader = store.OpenBlobReader(repo, d.digest, &info);
  if (!reader.ok()) return reader.status();
  if (info.size > max) return Status::OutOfRange("stored config is " + std::to_string(info.size) + " bytes");
  std::string text(info.size, '\0');
  size_t got = 0;
  while (got < text.size()) {
    auto r = (*reader)->ReadAt(got, std::span<char>(text.data() + got, text.size() - got));
    if (!r.ok()) return r.status();
    if (*r == 0) return Status::Corruption("stored config is shorter than its size");
    got += *r;
  }
  return text;
}

// Labels of a local artifact (labels.h: config labels; an index: its children's).
Result<std::vector<std::string>> LocalLabels(Store& store, const std::string& repo, const Policy& policy,
                                             const std::string& digest) {
  // Locally a read costs no request: configs up to 4 MiB (pull mode fetches at most kMaxConfigBytes).
  constexpr uint64_t kMaxLocalConfig = 4 << 20;
  auto parse = [&](std::string_view ref) -> Result<ParsedManifest> {
    auto m = store.GetManifest(repo, ref);
    if (!m.ok()) return m.status();
    return ParseManifest(m->media_type, m->bytes);
  };
  auto top = parse(digest);
  if (!top.ok()) return top.status();
  LabelSources from;
  from.child = [&](const Descriptor& d) { return parse(d.digest.str()); };
  from.config = [&](const Descriptor& d) { return ReadLocalConfig(store, repo, d, kMaxLocalConfig); };
  return ArtifactLabels(*top, from, PlatformFilter(policy.filters), kMaxLocalConfig);
}

struct Found {
  std::string digest;
  std::vector<std::string> tags;
};

// Artifacts of `repo` by digest with their tags (tags in name order).
Result<std::vector<Found>> ListArtifacts(Store& store, const std::string& repo, const PlanScope& scope) {
  std::vector<Found> out;
  if (!scope.reference.empty()) {
    Found f;
    if (scope.reference.rfind("sha256:", 0) == 0) {
      f.digest = scope.reference;
    } else {
      f.tags.push_back(scope.reference);
      if (!scope.deletion && !scope.digest.empty()) {
        // The pushed artifact, not whatever the tag points to by now.
        f.digest = scope.digest;
      } else if (!scope.deletion) {
        auto m = store.GetManifest(repo, scope.reference);
        if (!m.ok()) return m.status();
        f.digest = m->digest.str();
      }
    }
    out.push_back(std::move(f));
    return out;
  }
  auto tags = store.ListTags(repo, "", 0);
  if (!tags.ok()) return tags.status();
  std::map<std::string, size_t> index;
  for (const std::string& tag : tags->items) {
    auto m = store.GetManifest(repo, tag);
    if (!m.ok()) continue;  // deleted meanwhile
    std::string d = m->digest.str();
    auto [it, fresh] = index.emplace(d, out.size());
    if (fresh) out.push_back(Found{d, {}});
    out[it->second].tags.push_back(tag);
  }
  return out;
}

}  // namespace

std::string PlatformOf(const std::string& platform_json) {
  json p = json::parse(platform_json, nullptr, false);
  if (!p.is_object()) return "";
  std::string s = p.value("os", "") + "/" + p.value("architecture", "");
  std::string v = p.value("variant", "");
  if (!v.empty()) s += "/" + v;
  return s;
}

Task MakeTask(const std::string& repo, const Artifact& a, const std::string& dst_repo, bool deletion,
              const Status& name_error) {
  Task t;
  t.operation = std::string(deletion ? kOperationDeletion : kOperationCopy);
  t.resource_type = a.resource_type;
  t.src_repo = repo;
  t.digest = a.digest;
  t.tags = a.tags;
  t.dst_repo = dst_repo;
  t.src_resource = ResourceName(repo, a.tags, a.digest);
  t.dst_resource = ResourceName(t.dst_repo, a.tags, a.digest);
  if (!name_error.ok()) {
    t.status = std::string(kStatusFailed);
    t.status_text = "destination name: " + name_error.message();
  }
  return t;
}

void AddTasks(std::vector<Task>* out, const std::string& repo, const LabelVerdict& verdict, const std::string& dst_repo,
              bool deletion, const Status& name_error) {
  for (const Artifact& a : verdict.kept) out->push_back(MakeTask(repo, a, dst_repo, deletion, name_error));
  for (const auto& [a, why] : verdict.unreadable) {
    Task t = MakeTask(repo, a, dst_repo, deletion, name_error);
    if (name_error.ok()) {
      t.status = std::string(kStatusFailed);
      t.status_text = "label filter: " + why.message();
    }
    out->push_back(std::move(t));
  }
}

Result<std::vector<Task>> PlanPush(Store& store, const Policy& policy, const Endpoint& dest, const PlanScope& scope) {
  std::vector<std::string> repos;
  if (!scope.repository.empty()) {
    repos.push_back(scope.repository);
  } else {
    auto page = store.ListRepositories("", 0, [](std::string_view) { return true; });
    if (!page.ok()) return page.status();
    repos = std::move(page->items);
  }
  std::vector<Task> tasks;
  for (const std::string& repo : repos) {
    if (!MatchRepository(policy.filters, repo)) continue;
    auto found = ListArtifacts(store, repo, scope);
    if (!found.ok()) {
      if (found.status().code() == Code::kNotFound) continue;  // gone meanwhile
      return found.status();
    }
    std::vector<Artifact> artifacts;
    for (const Found& f : *found) {
      Artifact a;
      a.digest = f.digest;
      a.tags = f.tags;
      a.resource_type = "image";
      if (!scope.deletion) {
        auto m = store.GetManifest(repo, f.digest);
        if (!m.ok()) continue;
        auto parsed = ParseManifest(m->media_type, m->bytes);
        if (!parsed.ok()) continue;
        if (!IsIndexMediaType(parsed->media_type) && !IsImageConfig(parsed->artifact_type)) a.resource_type = "artifact";
      }
      artifacts.push_back(std::move(a));
    }
    auto dst = DestinationRepository(repo, policy.dest_namespace, policy.dest_namespace_replace_count);
    Status name_error = dst.ok() ? Status::OK() : dst.status();
    if (dst.ok() && dest.type == kTypeAliAcr) name_error = CheckAcrName(*dst);
    // A deleted artifact's labels are gone with it: judged as carrying none.
    auto verdict = FilterWithLabels(policy.filters, artifacts, [&](const Artifact& a) {
      return scope.deletion ? Result<std::vector<std::string>>(std::vector<std::string>{})
                            : LocalLabels(store, repo, policy, a.digest);
    });
    AddTasks(&tasks, repo, verdict, dst.ok() ? *dst : repo, scope.deletion, name_error);
  }
  return tasks;
}

Result<PlannedCopy> PrepareFrom(const ManifestReader& read, const Policy& policy, const Task& task) {
  auto top = read(task.digest);
  if (!top.ok()) return Status(top.status().code(), task.src_resource + ": " + top.status().message());
  auto parsed = ParseManifest(top->media_type, top->bytes);
  if (!parsed.ok()) return parsed.status();
  PlannedCopy out;
  std::set<std::string> seen;
  auto add_blobs = [&](const ParsedManifest& m) {
    for (const Descriptor& d : m.blobs) {
      if (!d.urls.empty()) continue;  // foreign layer: not ours to send
      if (!seen.insert(d.digest.str()).second) continue;
      out.blobs.push_back(BlobJob{task.src_repo, task.dst_repo, d.digest, static_cast<uint64_t>(d.size)});
    }
  };
  add_blobs(*parsed);
  std::string top_bytes = top->bytes;
  if (IsIndexMediaType(parsed->media_type)) {
    std::vector<std::string> platforms = PlatformFilter(policy.filters);
    std::set<std::string> kept;
    for (const Descriptor& child : parsed->manifests) {
      if (!platforms.empty()) {
        std::string p = child.platform_json ? PlatformOf(*child.platform_json) : "";
        if (std::find(platforms.begin(), platforms.end(), p) == platforms.end()) continue;
      }
      auto cm = read(child.digest.str());
      if (!cm.ok()) return Status(cm.status().code(), "child manifest " + child.digest.str() + ": " + cm.status().message());
      auto cp = ParseManifest(cm->media_type, cm->bytes);
      if (!cp.ok()) return cp.status();
      add_blobs(*cp);
      kept.insert(child.digest.str());
      out.children.push_back(ManifestToPush{child.digest.str(), child.digest.str(), cm->media_type, cm->bytes});
    }
    if (!platforms.empty()) {
      if (kept.empty()) return Status::NotFound("no child of the index matches the platform filter");
      // A narrowed index: the same JSON with only the chosen children.
      json j = json::parse(top->bytes, nullptr, false);
      json kept_list = json::array();
      for (const auto& m : j["manifests"]) {
        if (m.is_object() && kept.count(m.value("digest", ""))) kept_list.push_back(m);
      }
      j["manifests"] = kept_list;
      top_bytes = j.dump();
    }
  }
  std::string digest = top_bytes == top->bytes ? top->digest : Sha256Of(top_bytes).str();
  out.top = ManifestToPush{digest, digest, top->media_type, std::move(top_bytes)};
  return out;
}

Result<PlannedCopy> PrepareCopy(Store& store, const Policy& policy, const Task& task) {
  return PrepareFrom(
      [&](std::string_view ref) -> Result<RawManifest> {
        auto m = store.GetManifest(task.src_repo, ref);
        if (!m.ok()) return m.status();
        return RawManifest{m->bytes, m->media_type, m->digest.str()};
      },
      policy, task);
}

}  // namespace pier::replication
