// Pull-mode planning: what a policy selects on a remote registry.
#include <algorithm>
#include <map>

#include "replication/filter.h"
#include "replication/naming.h"
#include "replication/planner.h"

namespace pier::replication {

Result<std::vector<Task>> PlanPull(client::RegistryClient& c, const Policy& policy, const PlanScope& scope,
                                   std::stop_token stop) {
  for (const Filter& f : policy.filters) {
    if (f.type == kFilterLabel) {
      return Status::Unsupported("filters: the label filter is not supported for pull-mode policies yet");
    }
  }
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
        client::Call call;
        call.stop = stop;
        auto h = c.HeadManifest(call, repo, tag);
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
    for (const Artifact& a : FilterArtifacts(policy.filters, artifacts)) {
      tasks.push_back(MakeTask(repo, a, dst.ok() ? *dst : repo, scope.deletion, name_error));
    }
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
