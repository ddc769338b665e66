#pragma once
// Retention policies, executions, tasks and task logs in the store's
// "retention" key space (keys are listed in cache/keys.h). Values are
// Harbor's JSON objects. Thread-safe (ids are allocated under a mutex).
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "cache/retention/policy.h"
#include "cache/store.h"

namespace pier::retention {

struct Execution {
  int64_t id = 0;
  int64_t policy_id = 0;
  std::string status;   // Running, Succeed, Failed, Stopped
  std::string trigger;  // MANUAL, SCHEDULE
  bool dry_run = false;
  int64_t start_unix = 0;
  int64_t end_unix = 0;
};

struct Task {
  int64_t id = 0;
  int64_t execution_id = 0;
  std::string repository;
  std::string status;
  int64_t start_unix = 0;
  int64_t end_unix = 0;
  int64_t total = 0;     // top-level artifacts judged
  int64_t retained = 0;  // of which retained
};

class Records {
 public:
  explicit Records(std::shared_ptr<KvSpace> space) : space_(std::move(space)) {}

  // InvalidArgument ("scope.ref: ...") when the project already has one.
  Result<int64_t> CreatePolicy(Policy p);
  Result<Policy> GetPolicy(int64_t id);  // NotFound
  Status UpdatePolicy(const Policy& p);  // NotFound; p.id names it
  Status DeletePolicy(int64_t id);       // NotFound; its executions go too
  Result<std::vector<Policy>> ListPolicies();

  Result<Execution> AddExecution(Execution e);  // allocates e.id
  Status PutExecution(const Execution& e);
  Result<Execution> GetExecution(int64_t policy_id, int64_t id);  // NotFound
  Result<std::vector<Execution>> ListExecutions(int64_t policy_id);  // newest first

  Result<Task> AddTask(Task t);
  Status PutTask(const Task& t, const std::string& log);
  Result<std::vector<Task>> ListTasks(int64_t execution_id);
  Result<std::string> GetLog(int64_t task_id);  // NotFound

 private:
  // Allocates the next id of `counter` and writes it with record(id), in
  // one batch. The caller holds mu_.
  Result<int64_t> Insert(const std::string& counter, const std::function<KvSpace::Op(int64_t id)>& record);

  std::shared_ptr<KvSpace> space_;
  std::mutex mu_;
};

nlohmann::json ExecutionJson(const Execution& e);
nlohmann::json TaskJson(const Task& t);

}  // namespace pier::retention
