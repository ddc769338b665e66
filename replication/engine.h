#pragma once
// Engine: runs replication executions, persistently and concurrently, for
// push-mode policies (this instance → a remote registry) and pull-mode ones
// (a remote registry → this instance; what they store fires push events, so
// a pull policy from Harbor chains into an event-based push policy to ACR).
//
// What it promises:
//  - Start() records an execution (Harbor's statuses and fields) and
//    returns at once; the work happens on engine threads. A disabled policy
//    is refused (FailedPrecondition → 412); with single_active_replication
//    a start while another execution of the policy runs is recorded as a
//    Failed execution "Execution skipped: active replication still in
//    progress." (Harbor's behaviour).
//  - Planning lists the local artifacts the policy's filters select (or
//    just the one an event names) and stores one task per artifact, so a
//    restart continues exactly the same work: ResumeUnfinished() picks up
//    every InProgress execution; blobs already at the destination are not
//    sent again and a blob's upload continues from its persisted offset.
//  - Per destination: one worker pool (workers_per_destination threads)
//    for all executions, one shared bandwidth budget (the policy's `speed`
//    per policy on top), and one upload per digest at a time: a second job
//    for a digest in flight waits and then mounts or skips.
//  - Completion order: blob jobs are ordered by their image's remaining
//    bytes, and an image's manifests are pushed (children of an index by
//    digest first, then the tags) as soon as its own blobs are there.
//  - Stop() interrupts blobs in flight; tasks end Stopped.
//  - Event triggers: OnPush / OnDelete start the enabled event_based
//    policies whose filters select the artifact, within the call; a push
//    replicates the digest that was pushed, even if the tag moved since.
//
// Inside (one idea per file): triggers.h starts executions (events,
// webhooks, cron), runner.h runs them, direction.h holds what differs
// between push and pull, destinations.h the shared per-registry state;
// run_state.h documents the lock order.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "cache/store.h"
#include "cache/transcode/transcoder.h"
#include "replication/client_factory.h"
#include "replication/execution_store.h"
#include "replication/observer.h"
#include "replication/progress_store.h"
#include "replication/retry.h"
#include "replication/state_store.h"

namespace pier::replication {

struct EngineOptions {
  size_t workers_per_destination = 4;
  uint64_t chunk_size = 8 << 20;  // bytes per PATCH; blobs up to this go in one request
  int no_progress_timeout_seconds = 60;
  RetryOptions retry;
  // Total upload budget per destination in bytes/s (0: unlimited); the
  // policy's speed applies on top of it.
  uint64_t destination_bytes_per_second = 0;
  // Images go onto a destination's link one after another: the next image
  // starts once those before it have at most this many bytes left to send.
  uint64_t image_overlap_bytes = 1 << 20;
  // Where registry clients come from; null: real clients tuned by the
  // fields above (RegistryClientFactory).
  std::shared_ptr<ClientFactory> clients;
  // Whether this replica runs executions and fires cron (replicas sharing
  // their records: only the leader does; cmd/pier/leadership). Empty:
  // always. When false, Start records the execution and leaves it to the
  // leader, which picks it up in Sync().
  std::function<bool()> may_run;
  // Timestamps and cron; null: SystemClock(). Must outlive the engine.
  const Clock* clock = nullptr;
  // The store's zstd copies of gzip layers (policies with "compression");
  // null: the engine opens one on its store. Shared so metrics and GC pins
  // (Transcoder::Held) see the same one.
  std::shared_ptr<transcode::Transcoder> transcoder;
};

// Live numbers of a running execution (for the API and `pier replicate`);
// see TransferProgress (execution.h) for what "sent" means.
using LiveProgress = TransferProgress;

class Engine {
 public:
  Engine(std::shared_ptr<Store> store, std::shared_ptr<ReplicationStore> repl,
         std::shared_ptr<ExecutionStore> executions, std::shared_ptr<ProgressStore> progress,
         std::shared_ptr<ReplicationObserver> observer, EngineOptions options);
  ~Engine();  // stops every execution (they stay InProgress and resume on the next start)
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  Result<Execution> Start(int64_t policy_id, std::string_view trigger);
  // Harbor's PUT /executions/{id}: NotFound; OK (nothing to do) when it
  // already ended.
  Status Stop(int64_t execution_id);
  void ResumeUnfinished();
  // For the replica that runs executions, called periodically: starts
  // InProgress executions not running here (recorded by other replicas, or
  // left by a replica that died: they continue from their persisted
  // progress) and stops those another replica's API marked Stopped.
  void Sync();
  // Stops every execution here, leaving them InProgress for whoever runs
  // executions next (this replica lost the lead).
  void Pause();

  // A manifest was pushed to repo (reference = the tag or digest it was
  // pushed by; digest = its digest) / deleted.
  void OnPush(std::string_view repo, std::string_view reference, std::string_view digest);
  void OnDelete(std::string_view repo, std::string_view reference, std::string_view digest);

  // A Harbor webhook event: starts the enabled event-based pull policies
  // whose source is a `harbor` endpoint on `source_host` (any harbor
  // endpoint when empty) and whose filters select the repository, for the
  // event's digest when it carries one (what was pushed, not what the tag
  // points to by planning time).
  void OnHarborEvent(std::string_view repo, std::string_view reference, std::string_view digest, bool deletion,
                     std::string_view source_host);

  std::optional<LiveProgress> Progress(int64_t execution_id) const;
  // The endpoint changed or went away: drop its connections and what the
  // engine knew of it.
  void ForgetDestination(int64_t registry_id);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace pier::replication
