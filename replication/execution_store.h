#pragma once
// ExecutionStore: replication executions, their tasks and task logs, kept in
// the store's RocksDB (column family repl_executions, see cache/keys.h), so
// a restart finds every execution as it was and continues the unfinished.
//
// Promises:
//  - ids are allocated monotonically (executions and tasks each from 1) and
//    never reused; every write is one synced batch;
//  - an execution read back carries its task counts (total, failed,
//    succeed, in_progress, stopped) computed from its tasks;
//  - at most `keep_per_policy` executions are kept per policy, the new one
//    included (Harbor keeps 50): creating one removes the oldest finished
//    beyond that, with their tasks and logs (running ones are never removed);
//  - log lines are kept in order per task, at most kMaxLogLines per task
//    (later lines are counted, not stored).
// Thread-safe.
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "cache/store.h"
#include "replication/execution.h"

namespace pier::replication {

struct ExecutionFilter {
  int64_t policy_id = 0;  // 0: any
  std::string status;     // "": any
  std::string trigger;    // "": any
};

struct TaskFilter {
  std::string status;
  std::string resource_type;
};

class ExecutionStore {
 public:
  static constexpr size_t kMaxLogLines = 10000;

  static Result<std::unique_ptr<ExecutionStore>> Open(Store& store, size_t keep_per_policy = 50);
  ExecutionStore(std::shared_ptr<KvSpace> kv, size_t keep_per_policy);

  // Assigns the id; stores the execution as given otherwise.
  Result<Execution> CreateExecution(Execution e);
  Status UpdateExecution(const Execution& e);
  Result<Execution> GetExecution(int64_t id);
  // Newest first.
  Result<std::vector<Execution>> ListExecutions(const ExecutionFilter& f);
  // Executions whose status is InProgress (oldest first): to resume at startup.
  Result<std::vector<Execution>> Unfinished();

  // Assigns ids (and job_id "<execution>-<task>") to every task and stores
  // them in one batch, with `e` (e.g. marked planned) in the same batch.
  Result<std::vector<Task>> CreateTasks(const Execution& e, std::vector<Task> tasks);
  Status UpdateTask(const Task& t);
  Result<Task> GetTask(int64_t execution_id, int64_t task_id);
  // In id order.
  Result<std::vector<Task>> ListTasks(int64_t execution_id, const TaskFilter& f = {});

  void AppendLog(int64_t task_id, std::string_view line);
  // The task's log, one line per entry, each ending in '\n'.
  Result<std::string> ReadLog(int64_t task_id);

 private:
  Result<int64_t> NextId(std::string_view counter, int64_t count, std::vector<KvSpace::Op>* ops);
  void Prune(int64_t policy_id);
  void Count(Execution* e);

  std::mutex mu_;
  std::shared_ptr<KvSpace> kv_;
  size_t keep_per_policy_;
  std::atomic<uint64_t> log_seq_;
  std::mutex log_mu_;
  std::map<int64_t, size_t> log_lines_;  // lines stored per task in this process
};

}  // namespace pier::replication
