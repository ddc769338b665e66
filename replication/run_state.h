#pragma once
// The live state of running executions, shared by the runner (runner.h), the
// directions (direction.h) and the engine: one Destination per remote
// registry, one ExecRun per running execution, one TaskRun per copy task
// whose blobs are moving.
//
// Lock order (outermost first): Engine::Impl::mu (the scheduler's) →
// Runner::mu_ → Destinations::mu_ → ExecRun::mu → TaskRun::mu →
// Destination::mu. Today none is ever held while
// another is taken, and none is held across a call into a client, a store,
// the image gate, a worker pool or the observer: each guards a few fields
// and is released before anything that can block or call back. Keep it so;
// if nesting becomes necessary, nest only in this order.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stop_token>
#include <string>
#include <thread>
#include <vector>

#include "adapter/client/registry_client.h"
#include "replication/bandwidth.h"
#include "replication/blob_sender.h"
#include "replication/exec_progress.h"
#include "replication/execution.h"
#include "replication/image_gate.h"
#include "replication/planner.h"
#include "replication/policy.h"
#include "replication/registry_endpoint.h"
#include "replication/worker_pool.h"

namespace pier::replication {

class Direction;

// A remote registry as the engine uses it: shared by every execution that
// talks to it, so its link budget, pool and single-flight map are too.
struct Destination {
  Endpoint endpoint;
  std::unique_ptr<client::RegistryClient> client;
  Bandwidth bandwidth;
  LinkState link;
  std::mutex mu;  // guards inflight
  // One transfer per digest: digest → jobs waiting for the one in flight.
  std::map<std::string, std::vector<std::function<void()>>> inflight;
  std::unique_ptr<ImageGate> gate;   // one image after another on the link
  // Blobs under kSmallBlobBytes (configs): a round trip each; on their own
  // lane they never hold a worker a layer could stream on.
  std::unique_ptr<WorkerPool> small_pool;
  std::unique_ptr<WorkerPool> pool;  // last members: their threads stop before the rest goes
};

struct ExecRun {
  Execution exec;
  Policy policy;
  std::shared_ptr<Destination> dest;    // set once by the runner thread (under mu)
  std::unique_ptr<Direction> direction;  // set with dest; push or pull
  std::stop_source stop;
  std::atomic<bool> shutdown{false};  // stopped by Pier's shutdown: resume later
  bool resumed = false;               // continued after a restart (set before its thread starts)
  Bandwidth policy_bandwidth;
  std::unique_ptr<LimiterChain> limiter;
  ExecProgress progress;  // bytes and blobs, deduplicated by digest
  std::mutex mu;  // guards dest (while being set), tasks_left, any_failed, dispatched, exec.stop_requested
  std::condition_variable cv;
  size_t tasks_left = 0;
  bool any_failed = false;
  bool dispatched = false;  // every task started (checked, queued for the link) or the run ended
  std::thread runner;
};

struct TaskRun {
  Task task;
  std::shared_ptr<ExecRun> exec;
  PlannedCopy copy;
  std::atomic<size_t> remaining{0};
  std::atomic<uint64_t> remaining_bytes{0};
  std::chrono::steady_clock::time_point started;
  std::mutex mu;  // guards failed, error
  bool failed = false;
  std::string error;
};

}  // namespace pier::replication
