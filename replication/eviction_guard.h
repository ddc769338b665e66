#pragma once
// What capacity eviction asks before it drops a hosted image
// (EvictOptions::replicated, cache/evict/evictor.h): is it safe elsewhere?
// Yes only when at least one enabled push policy selects the image (its
// repository, tag and label filters, as PlanPush plans it) and, for every
// enabled push policy that selects it, the destination accepted the
// manifest under the name the policy gives it (ProgressStore's known
// manifests, written when the PUT was answered or a HEAD found it there).
// Anything it cannot read or plan answers no: the image stays.
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/digest.h"
#include "cache/store.h"
#include "replication/progress_store.h"
#include "replication/state_store.h"

namespace pier::replication {

std::function<bool(std::string_view repo, const Digest& manifest, const std::vector<std::string>& tags)> EvictionGuard(
    std::shared_ptr<ReplicationStore> state, std::shared_ptr<ProgressStore> progress, std::shared_ptr<Store> store);

}  // namespace pier::replication
