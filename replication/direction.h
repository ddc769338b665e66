#pragma once
// Direction: the half of replication that depends on which side is remote.
// Push (this instance → a remote registry) and pull (a remote registry →
// this instance) implement the same steps, so the runner (runner.h) never
// asks which mode it runs: MakeDirection is the one place that looks.
//
// What every implementation promises:
//  - Plan lists the tasks of a scope (the policy's filters, or one event's
//    artifact) and sends nothing to the destination;
//  - Prepare says what one copy task moves (blobs, child manifests, top);
//  - Settled answers, before any blob moves, whether the task is already
//    done (the artifact is there, or there with another digest and override
//    off), with the status and text it ends with;
//  - CheckBlobs (optional) says up front which blobs are already there;
//  - MoveBlob makes one blob present at the destination (blob_sender.h,
//    blob_fetcher.h);
//  - PutManifests makes the artifact visible (children by digest, then each
//    tag) once all its blobs are there;
//  - Delete carries out a deletion task.
// Failures come back as a Status naming what failed; a stop request ends
// any of them promptly (the caller tells a stop apart by its token).
#include <functional>
#include <memory>
#include <optional>
#include <stop_token>
#include <string>
#include <string_view>
#include <vector>

#include "adapter/client/registry_client.h"
#include "base/status.h"
#include "cache/store.h"
#include "replication/blob_sender.h"
#include "replication/execution.h"
#include "replication/observer.h"
#include "replication/planner.h"
#include "replication/policy.h"
#include "replication/registry_endpoint.h"
#include "replication/retry.h"

namespace pier::replication {

using TaskLogFn = std::function<void(const std::string&)>;

class TranscodeQueue;  // transcode_queue.h

struct DirectionEnv {
  Store* store = nullptr;                    // this instance
  client::RegistryClient* remote = nullptr;  // the other side (owned by the Destination)
  Endpoint remote_endpoint;
  Policy policy;
  ReplicationObserver* observer = nullptr;
  // Push mode: manifests the destination accepted are recorded here
  // (AddKnownManifest) for capacity eviction. May be null (tests).
  ProgressStore* progress = nullptr;
  RetryOptions retry;
  // Push with "compression": {"format": "zstd"}: where transcodes are made
  // (transcode_push.h). Null: such a policy's tasks fail saying so.
  TranscodeQueue* transcodes = nullptr;
  // Pull mode: a manifest was stored here (repo, tag or digest, digest), so
  // push policies chain (Harbor → Pier → ACR).
  std::function<void(std::string_view, std::string_view, std::string_view)> on_stored;
};

// How a task ends when it ends early.
struct TaskEnd {
  std::string status;
  std::string text;
};

class Direction {
 public:
  virtual ~Direction() = default;
  virtual Result<std::vector<Task>> Plan(const PlanScope& scope, std::stop_token stop) = 0;
  virtual Result<PlannedCopy> Prepare(const Task& task, std::stop_token stop) = 0;
  virtual std::optional<TaskEnd> Settled(const Task& task, const PlannedCopy& copy, const TaskLogFn& log,
                                         std::stop_token stop) = 0;
  virtual Result<BlobOutcome> MoveBlob(const SendEnv& env, const BlobJob& job) = 0;
  // The cheap checks of all a task's blobs at once, before it waits for the
  // link (blob_sender.h CheckBlobs, `checked` included); a direction without
  // them finds nothing.
  virtual std::vector<BlobCheck> CheckBlobs(const SendEnv&, std::vector<BlobJob>& jobs, bool /*open_sessions*/,
                                            const std::function<void(size_t)>& /*checked*/) {
    return std::vector<BlobCheck>(jobs.size(), BlobCheck::kUnknown);
  }
  virtual Status PutManifests(const Task& task, const PlannedCopy& copy, const TaskLogFn& log,
                              std::stop_token stop) = 0;
  virtual Status Delete(const Task& task, const TaskLogFn& log, std::stop_token stop) = 0;
};

std::unique_ptr<Direction> MakePushDirection(DirectionEnv env);
std::unique_ptr<Direction> MakePullDirection(DirectionEnv env);
// Push when the policy's source is this instance, else pull: the one place
// the mode is looked at; a push whose policy asks for zstd is wrapped by
// transcode_push.h (push_direction.cc).
std::unique_ptr<Direction> MakeDirection(DirectionEnv env);

// The reference a task's artifact is looked up by at the destination: its
// first tag, else its digest.
inline std::string FirstReference(const Task& task, const PlannedCopy& copy) {
  return task.tags.empty() ? copy.top.reference : task.tags.front();
}

}  // namespace pier::replication
