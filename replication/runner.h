#pragma once
// Runner: carries executions out, from planning to the last task, on engine
// threads (one runner thread per execution; blob jobs on the destination's
// worker pool). What it promises is Engine's (engine.h): an execution is
// recorded at once and worked on in the background; a restart continues
// planned tasks; stop interrupts blobs in flight; every end is recorded (a
// record that cannot be written is retried, then counted as an internal
// error — the execution then resumes at the next start).
//
// runner.cc holds the execution level (start, plan, finish, stop, resume),
// task_runner.cc the task and blob level. Push and pull differ only in the
// Direction each execution is given. Lock order: run_state.h.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "base/clock.h"
#include "base/status.h"
#include "cache/store.h"
#include "replication/client_factory.h"
#include "replication/destinations.h"
#include "replication/engine.h"
#include "replication/execution_store.h"
#include "replication/observer.h"
#include "replication/progress_store.h"
#include "replication/run_state.h"
#include "replication/state_store.h"
#include "replication/transcode_queue.h"
#include "replication/triggers.h"

namespace pier::replication {

struct RunnerDeps {
  std::shared_ptr<Store> store;
  std::shared_ptr<ReplicationStore> repl;
  std::shared_ptr<ExecutionStore> executions;
  std::shared_ptr<ProgressStore> progress;
  std::shared_ptr<ReplicationObserver> observer;
  std::shared_ptr<ClientFactory> clients;
  const Clock* clock = nullptr;
  EngineOptions options;
  // Where push-with-zstd tasks get their transcodes (null: they fail saying so).
  std::shared_ptr<TranscodeQueue> transcodes;
  // Pull mode stored a manifest here: (repo, tag or digest, digest).
  std::function<void(std::string_view, std::string_view, std::string_view)> on_stored;
};

class Runner : public std::enable_shared_from_this<Runner> {
 public:
  explicit Runner(RunnerDeps deps);

  Result<Execution> Start(int64_t policy_id, std::string_view trigger, const EventScope& scope);
  Status Stop(int64_t execution_id);
  void ResumeUnfinished();
  std::optional<LiveProgress> Progress(int64_t execution_id) const;
  void ForgetDestination(int64_t registry_id);
  // Joins the threads of executions that ended (called by the scheduler).
  void JoinFinished();
  // Stops every execution (they stay InProgress, to resume) and waits for them.
  void Shutdown();
  // The same, but later starts and resumes still run here (this replica is
  // no longer the one that runs executions; it may be again).
  void Pause();
  // Stops the runs here whose record another replica marked Stopped (a
  // stop asked through that replica's API).
  void SyncStops();

 private:
  // ---- executions (runner.cc) ----
  void StopAll(bool closing);
  bool ActiveFor(int64_t policy_id);
  // The run, or null when shutting down or when it runs here already.
  std::shared_ptr<ExecRun> Launch(const Execution& e, const Policy& p, bool resumed = false);
  void Dispatched(const std::shared_ptr<ExecRun>& run);
  void Run(const std::shared_ptr<ExecRun>& run);
  Status Execute(const std::shared_ptr<ExecRun>& run);
  void Finish(const std::shared_ptr<ExecRun>& run, const Status& s);
  void WakeGate(const std::shared_ptr<ExecRun>& run);
  // UpdateExecution, retried a few times; reported when it still fails.
  void Record(const Execution& e);
  void NoteLinkRate(const ExecRun& run, const Execution& e);

  // ---- tasks and blobs (task_runner.cc) ----
  void StartTask(const std::shared_ptr<ExecRun>& run, Task t);
  // The task's blobs enter the execution's byte counts; logs what it copies.
  void Account(const std::shared_ptr<TaskRun>& tr);
  void EndTask(const std::shared_ptr<ExecRun>& run, Task& t, const std::string& status, const std::string& text);
  SendEnv MakeSendEnv(const std::shared_ptr<ExecRun>& run, std::function<void(const std::string&)> log);
  void Submit(const std::shared_ptr<TaskRun>& tr, const BlobJob& job);
  void RunBlob(const std::shared_ptr<TaskRun>& tr, const BlobJob& job);
  void BlobFinished(const std::shared_ptr<TaskRun>& tr, const BlobJob& job, const Result<BlobOutcome>& r,
                    std::chrono::steady_clock::time_point t0);
  void CompleteTask(const std::shared_ptr<TaskRun>& tr);
  void ReportPending(const ExecRun& run);
  void TaskLog(const Task& t, const std::string& line);
  std::chrono::system_clock::time_point NowMs() const;
  double Since(std::chrono::steady_clock::time_point t) const;

  RunnerDeps d_;
  Destinations dests_;
  mutable std::mutex mu_;  // guards closing_, runs_, finished_
  std::condition_variable cv_;
  bool closing_ = false;
  std::map<int64_t, std::shared_ptr<ExecRun>> runs_;
  std::vector<std::thread> finished_;  // runner threads of ended executions, to join
};

}  // namespace pier::replication
