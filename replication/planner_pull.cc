// Pull-mode planning: what a policy selects on a remote registry.
#include <algorithm>
#include <map>
#include <span>
#include <string>

#include "base/manifest.h"
#include "replication/filter.h"
#include "replication/labels.h"
#include "replication/naming.h"
#include "replication/planner.h"

namespace pier::replication {
namespace {

// A config blob from the source, refused past kMaxConfigBytes even when
// its descriptor announced less (the sink stops the download).
Result<std::string> FetchConfig(client::RegistryClient& c, const std::string& repo, const Descriptor& d,
                                std::stop_token stop) {
  std::string text;
  client::Call call;
  call.stop = stop;
  auto got = c.GetBlob(call, repo, d.digest, 0, [&](std::span<const char> bytes) {
    if (text.size() + bytes.size() > kMaxConfigBytes) {
      return Status::OutOfRange("larger than the " + std::to_string(kMaxConfigBytes) + " bytes Pier reads for labels");
    }
    text.append(bytes.data(), bytes.size());
    return Status::OK();
  });
  if (!got.ok()) return got.status();
  return text;
}

Result<ParsedManifest> FetchManifest(client::RegistryClient& c, const std::string& repo, std::string_view ref,
                                     std::stop_token stop) {
  client::Call call;
  call.stop = stop;
  auto m = c.GetManifest(call, repo, ref);
  if (!m.ok()) return m.status();
  return ParseManifest(m->media_type, m->bytes);
}

// The labels of a remote artifact (labels.h), read from the source registry.
Result<std::vector<std::string>> RemoteLabels(client::RegistryClient& c, const std::string& repo, const Policy& policy,
                                              const std::string& digest, std::stop_token stop) {
  auto top = FetchManifest(c, repo, digest, stop);
  if (!top.ok()) return Status(top.status().code(), "manifest " + digest + ": " + top.status().message());
  LabelSources from;
  from.child = [&](const Descriptor& d) { return FetchManifest(c, repo, d.digest.str(), stop); };
  from.config = [&](const Descriptor& d) { return FetchConfig(c, repo, d, stop); };
  return ArtifactLabels(*top, from, PlatformFilter(policy.filters));
}

}  // namespace

Result<std::vector<Task>> PlanPull(client::RegistryClient& c, const Policy& policy, const PlanScope& scope,
                                   std::stop_token stop) {
  std::vector<std::string> repos;
  if (!scope.repository.empty()) {
    repos.push_back(scope.repository);
  } else {
    client::Call call;
    call.stop = stop;
    auto cat = c.Catalog(call);
    if (!cat.ok()) return Status(cat.status().code(), "listing the source registry: " + cat.status().message());
    repos = std::move(*cat);
  }
  std::vector<Task> tasks;
  for (const std::string& repo : repos) {
    if (!MatchRepository(policy.filters, repo)) continue;
    std::vector<std::string> tags;
    if (!scope.reference.empty()) {
      tags.push_back(scope.reference);
    } else {
      client::Call call;
      call.stop = stop;
      auto t = c.ListTags(call, repo);
      if (!t.ok()) {
        if (t.status().code() == Code::kNotFound) continue;
        return t.status();
      }
      tags = std::move(*t);
    }
    // Group the tags by digest (one HEAD each) and learn each artifact's kind.
    std::vector<Artifact> artifacts;
    std::map<std::string, size_t> index;
    for (const std::string& tag : tags) {
      std::string digest;
      if (scope.deletion) {
        digest = tag;  // nothing to read on the source any more
      } else {
        // An event's digest is what was pushed: the tag may have moved on
        // since (another push meanwhile), and that image has its own event.
        // Still asked for, so an artifact deleted since is skipped as a
        // vanished tag is.
        std::string ref = scope.reference.empty() || scope.digest.empty() ? tag : scope.digest;
        client::Call call;
        call.stop = stop;
        auto h = c.HeadManifest(call, repo, ref);
        if (!h.ok()) {
          if (h.status().code() == Code::kNotFound) continue;
          return h.status();
        }
        digest = h->digest.str();
      }
      auto [it, fresh] = index.emplace(digest, artifacts.size());
      if (fresh) {
        Artifact a;
        a.digest = digest;
        a.resource_type = "image";
        artifacts.push_back(std::move(a));
      }
      if (tag.rfind("sha256:", 0) != 0) artifacts[it->second].tags.push_back(tag);
    }
    auto dst = DestinationRepository(repo, policy.dest_namespace, policy.dest_namespace_replace_count);
    Status name_error = dst.ok() ? Status::OK() : dst.status();
    // A deleted artifact's labels are gone with it: judged as carrying none (as in push mode).
    auto verdict = FilterWithLabels(policy.filters, artifacts, [&](const Artifact& a) {
      return scope.deletion ? Result<std::vector<std::string>>(std::vector<std::string>{})
                            : RemoteLabels(c, repo, policy, a.digest, stop);
    });
    // A stop during the fetches is a stop, not a list of failed candidates.
    if (stop.stop_requested()) return Status::FailedPrecondition("stopped while reading labels");
    AddTasks(&tasks, repo, verdict, dst.ok() ? *dst : repo, scope.deletion, name_error);
  }
  return tasks;
}

Result<PlannedCopy> PreparePull(client::RegistryClient& c, const Policy& policy, const Task& task,
                                std::stop_token stop) {
  return PrepareFrom(
      [&](std::string_view ref) -> Result<RawManifest> {
        client::Call call;
        call.stop = stop;
        auto m = c.GetManifest(call, task.src_repo, ref);
        if (!m.ok()) return m.status();
        return RawManifest{m->bytes, m->media_type, m->digest.str()};
      },
      policy, task);
}

}  // namespace pier::replication
