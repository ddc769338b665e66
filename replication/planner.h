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
#include <functional>
#include <string>
#include <vector>

#include <stop_token>

#include "adapter/client/registry_client.h"
#include "base/status.h"
#include "cache/store.h"
#include "replication/blob_sender.h"
#include "replication/execution.h"
#include "replication/filter.h"
#include "replication/labels.h"
#include "replication/policy.h"
#include "replication/registry_endpoint.h"

namespace pier::replication {

struct PlanScope {
  std::string repository;  // "" = every repository the filters select
  std::string reference;   // a tag or digest within it ("" = all tags)
  std::string digest;      // the digest the event pushed under `reference` ("" = what the tag points to now)
  bool deletion = false;   // the event deleted it: plan deletion tasks
};

// One planned task for artifact `a` of `repo`; Failed with the reason when
// the destination name could not be built (name_error).
Task MakeTask(const std::string& repo, const Artifact& a, const std::string& dst_repo, bool deletion,
              const Status& name_error);

// Appends the tasks of one repository's filtered artifacts: one per kept
// artifact, and a Failed one ("label filter: <why>") per artifact whose
// labels could not be read (a destination-name error takes precedence).
void AddTasks(std::vector<Task>* out, const std::string& repo, const LabelVerdict& verdict, const std::string& dst_repo,
              bool deletion, const Status& name_error);

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

// A manifest as read from either side, and the reader PrepareFrom uses.
struct RawManifest {
  std::string bytes;
  std::string media_type;
  std::string digest;
};
using ManifestReader = std::function<Result<RawManifest>(std::string_view reference)>;
// The work of one copy task, reading manifests (the task's and its index
// children) with `read`: the common core of PrepareCopy and PreparePull.
Result<PlannedCopy> PrepareFrom(const ManifestReader& read, const Policy& policy, const Task& task);

// Pull mode (a remote registry → this instance): the same plans, read from
// the remote side with `client` (catalog, tags, manifest HEADs and GETs).
// With a label filter, the config blob of each candidate that survived the
// other filters is fetched (at most kMaxConfigBytes; an index: its children's
// manifests and configs); a candidate whose labels cannot be fetched becomes
// a Failed task saying why. Without one, no config is fetched.
Result<std::vector<Task>> PlanPull(client::RegistryClient& client, const Policy& policy, const PlanScope& scope,
                                   std::stop_token stop);
Result<PlannedCopy> PreparePull(client::RegistryClient& client, const Policy& policy, const Task& task,
                                std::stop_token stop);

// "os/arch[/variant]" of an index child's platform JSON ("" when absent).
std::string PlatformOf(const std::string& platform_json);

}  // namespace pier::replication
