#pragma once
// Service: runs retention executions and fires scheduled ones.
//
// Promises: Execute starts an execution on its own thread and returns its
// record at once; each repository of the policy's project is one task whose
// log lists every top-level artifact with RETAIN (and the rule) or DEL
// (dry run: "DEL (dry run)", and nothing changes). A real run deletes each
// DEL artifact with Store::DeleteManifest (its tags go with it; GC frees the
// bytes later). Stop ends a running execution between two deletions
// (status Stopped). Tick starts the executions whose cron time has come
// (trigger SCHEDULE), reading the injected clock, so tests advance a
// FakeClock and call Tick; Start runs Tick once a second on a thread.
// An execution left Running by a crash is marked Failed on Create.
// Thread-safe.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "cache/retention/records.h"
#include "cache/store.h"

namespace pier::retention {

class Service {
 public:
  static Result<std::shared_ptr<Service>> Create(std::shared_ptr<Store> store, const Clock& clock = SystemClock());
  ~Service();  // stops the ticker and waits for running executions

  Records& records() { return records_; }
  // The project of a policy's scope (NotFound when no quota has that id).
  Result<std::string> ProjectName(int64_t project_id);

  // Starts an execution of policy `policy_id`. NotFound for an unknown
  // policy; FailedPrecondition when one of it is already running.
  Result<Execution> Execute(int64_t policy_id, bool dry_run, const std::string& trigger);
  // Asks a running execution to stop; NotFound if unknown, OK if finished.
  Status Stop(int64_t policy_id, int64_t execution_id);
  // Blocks until no execution runs (tests, shutdown).
  void WaitIdle();

  // Starts the scheduled executions that are due at clock.Now().
  void Tick();
  // Whether this replica fires schedules (the leader among replicas sharing
  // their records; unset: always). Times stay current either way. Call
  // before Start.
  void SetScheduleGate(std::function<bool()> may_fire) { may_fire_ = std::move(may_fire); }
  // Runs Tick every second on a thread until destruction.
  void Start();
  // The schedule of a policy changed or it was deleted: recompute its next time.
  void Forget(int64_t policy_id);

 private:
  Service(std::shared_ptr<Store> store, std::shared_ptr<KvSpace> space, const Clock& clock)
      : store_(std::move(store)), records_(std::move(space)), clock_(clock) {}
  void Run(Execution e, std::shared_ptr<std::atomic<bool>> stop);
  // One repository's task; false when stopped.
  bool RunRepository(const Policy& p, const Execution& e, const std::string& project, const std::string& repo,
                     const std::atomic<bool>& stop, bool* failed);

  std::shared_ptr<Store> store_;
  Records records_;
  const Clock& clock_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int64_t, std::shared_ptr<std::atomic<bool>>> running_;  // execution id → stop flag
  std::map<int64_t, int64_t> running_policy_;                      // execution id → policy id
  std::map<int64_t, std::thread> threads_;  // execution id → its thread, joined once finished
  std::vector<int64_t> finished_;            // executions whose thread is ending (join on next Execute)
  std::map<int64_t, std::chrono::system_clock::time_point> next_fire_;  // policy id → next cron time
  std::function<bool()> may_fire_;
  bool closing_ = false;
  std::thread ticker_;
};

}  // namespace pier::retention
