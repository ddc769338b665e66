#include "replication/eviction_guard.h"

#include "replication/execution.h"
#include "replication/planner.h"

namespace pier::replication {

std::function<bool(std::string_view, const Digest&, const std::vector<std::string>&)> EvictionGuard(
    std::shared_ptr<ReplicationStore> state, std::shared_ptr<ProgressStore> progress, std::shared_ptr<Store> store) {
  return [state = std::move(state), progress = std::move(progress), store = std::move(store)](
             std::string_view repo, const Digest& manifest, const std::vector<std::string>& tags) {
    auto policies = state->ListPolicies();
    if (!policies.ok()) return false;
    const std::string digest = manifest.str();
    // Each tag may be selected by other policies (tag filters): ask for each.
    std::vector<std::string> refs = tags;
    if (refs.empty()) refs.push_back(digest);
    bool selected = false;
    for (const Policy& p : *policies) {
      if (!p.enabled || !p.PushMode()) continue;
      auto dest = state->GetEndpoint(p.dest_registry_id);
      if (!dest.ok()) return false;
      for (const std::string& ref : refs) {
        PlanScope scope{std::string(repo), ref, digest, false};
        auto tasks = PlanPush(*store, p, *dest, scope);
        if (!tasks.ok()) return false;
        for (const Task& t : *tasks) {
          if (t.status == kStatusFailed || t.digest != digest) return false;
          selected = true;
          if (!progress->IsKnownManifest(dest->id, digest, t.dst_repo)) return false;
        }
      }
    }
    return selected;
  };
}

}  // namespace pier::replication
