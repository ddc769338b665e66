#pragma once
// Planning a push-mode execution: which local artifacts a policy selects
// (its filters, or just the artifact an event names) and, per artifact,
// what has to reach the destination (blobs, child manifests, the manifest).
//
// Promises:
//  - PlanPush never sends anything; a repository whose destination name
//    cannot be built (replace count too deep, ACR's two levels) becomes a
//    Failed task saying why, so the rest still replicates;
//  - PrepareCopy lists each blob once (config, layers; for an index the
//    children's blobs), children manifests before their index, and keeps
//    manifest bytes as stored (digests unchanged) — except when the
//    policy's platform filter narrows an index: then the index is rewritten
//    over the chosen children and gets a new digest (said in the README).
#include <cstdint>
#include <string>
#include <vector>

#include "cache/status.h"
#include "cache/store.h"
#include "replication/blob_sender.h"
#include "replication/execution.h"
#include "replication/policy.h"
#include "replication/registry_endpoint.h"

namespace pier::replication {

struct PlanScope {
  std::string repository;  // "" = every repository the filters select
  std::string reference;   // a tag or digest within it ("" = all tags)
  bool deletion = false;   // the event deleted it: plan deletion tasks
};

Result<std::vector<Task>> PlanPush(Store& store, const Policy& policy, const Endpoint& dest, const PlanScope& scope);

struct ManifestToPush {
  std::string reference;  // digest string (children) or the digest of the top manifest
  std::string digest;
  std::string media_type;
  std::string bytes;
};

struct PlannedCopy {
  std::vector<BlobJob> blobs;
  std::vector<ManifestToPush> children;  // pushed by digest, before `top`
  ManifestToPush top;                    // pushed under each tag (by digest when untagged)
};

Result<PlannedCopy> PrepareCopy(Store& store, const Policy& policy, const Task& task);

// "os/arch[/variant]" of an index child's platform JSON ("" when absent).
std::string PlatformOf(const std::string& platform_json);

}  // namespace pier::replication
