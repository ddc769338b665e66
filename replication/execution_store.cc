#include "replication/execution_store.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "base/internal_errors.h"
#include "cache/keys.h"

namespace pier::replication {
namespace {

constexpr std::string_view kNextExecution = "next_execution_id";
constexpr std::string_view kNextTask = "next_task_id";

std::string ExecKey(int64_t id) {
  char b[40];
  std::snprintf(b, sizeof b, "e/%020lld", static_cast<long long>(id));
  return b;
}
std::string TaskPrefix(int64_t exec) {
  char b[40];
  std::snprintf(b, sizeof b, "t/%020lld/", static_cast<long long>(exec));
  return b;
}
std::string TaskKey(int64_t exec, int64_t task) {
  char b[24];
  std::snprintf(b, sizeof b, "%020lld", static_cast<long long>(task));
  return TaskPrefix(exec) + b;
}
std::string LogPrefix(int64_t task) {
  char b[40];
  std::snprintf(b, sizeof b, "l/%020lld/", static_cast<long long>(task));
  return b;
}

}  // namespace

Result<std::unique_ptr<ExecutionStore>> ExecutionStore::Open(Store& store, size_t keep_per_policy) {
  auto kv = store.OpenKeySpace(keys::kReplExecutions);
  if (!kv.ok()) return kv.status();
  return std::make_unique<ExecutionStore>(std::move(*kv), keep_per_policy);
}

ExecutionStore::ExecutionStore(std::shared_ptr<KvSpace> kv, size_t keep_per_policy)
    : kv_(std::move(kv)), keep_per_policy_(keep_per_policy) {
  // Log keys order by this sequence; starting from the clock keeps them
  // increasing across restarts.
  log_seq_ = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

Result<int64_t> ExecutionStore::NextId(std::string_view counter, int64_t count, std::vector<KvSpace::Op>* ops) {
  int64_t last = 0;
  auto v = kv_->Get(counter);
  if (v.ok()) {
    try {
      last = std::stoll(*v);
    } catch (...) {
      return Status::Corruption("replication id counter is damaged");
    }
  } else if (v.status().code() != Code::kNotFound) {
    return v.status();
  }
  ops->emplace_back(std::string(counter), std::to_string(last + count));
  return last + 1;
}

Result<Execution> ExecutionStore::CreateExecution(Execution e) {
  {
    std::lock_guard lock(mu_);
    auto across = kv_->Lock(kNextExecution);  // the counter, across replicas
    if (!across.ok()) return across.status();
    std::vector<KvSpace::Op> ops;
    auto id = NextId(kNextExecution, 1, &ops);
    if (!id.ok()) return id.status();
    e.id = *id;
    ops.emplace_back(ExecKey(e.id), EncodeExecution(e));
    if (Status s = kv_->Write(ops); !s.ok()) return s;
  }
  Prune(e.policy_id);
  return e;
}

Status ExecutionStore::UpdateExecution(const Execution& e) {
  std::lock_guard lock(mu_);
  return kv_->Write({{ExecKey(e.id), EncodeExecution(e)}});
}

void ExecutionStore::Count(Execution* e) {
  e->total = e->failed = e->succeed = e->in_progress = e->stopped = 0;
  Status s = kv_->Scan(TaskPrefix(e->id), [&](std::string_view, std::string_view v) {
    auto t = DecodeTask(v);
    if (!t.ok()) return true;
    ++e->total;
    if (t->status == kStatusFailed) ++e->failed;
    else if (t->status == kStatusSucceed) ++e->succeed;
    else if (t->status == kStatusStopped) ++e->stopped;
    else ++e->in_progress;  // Pending counts as in progress, as Harbor does
    return true;
  });
  // The counts are a view; a failed scan shows what was read and is counted.
  if (!s.ok()) ReportInternalError("replication", "counting an execution's tasks failed", s);
}

Result<Execution> ExecutionStore::GetExecution(int64_t id) {
  auto v = kv_->Get(ExecKey(id));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Status::NotFound("execution " + std::to_string(id) + " not found");
    return v.status();
  }
  auto e = DecodeExecution(*v);
  if (!e.ok()) return e.status();
  Count(&*e);
  return e;
}

Result<std::vector<Execution>> ExecutionStore::ListExecutions(const ExecutionFilter& f) {
  std::vector<Execution> out;
  Status s = kv_->Scan("e/", [&](std::string_view, std::string_view v) {
    auto e = DecodeExecution(v);
    if (!e.ok()) return true;
    if (f.policy_id != 0 && e->policy_id != f.policy_id) return true;
    if (!f.status.empty() && e->status != f.status) return true;
    if (!f.trigger.empty() && e->trigger != f.trigger) return true;
    out.push_back(std::move(*e));
    return true;
  });
  if (!s.ok()) return s;
  std::reverse(out.begin(), out.end());
  for (auto& e : out) Count(&e);
  return out;
}

Result<std::vector<Execution>> ExecutionStore::Unfinished() {
  ExecutionFilter f;
  f.status = std::string(kStatusInProgress);
  auto all = ListExecutions(f);
  if (!all.ok()) return all;
  std::reverse(all->begin(), all->end());
  return all;
}

Result<std::vector<Task>> ExecutionStore::CreateTasks(const Execution& e, std::vector<Task> tasks) {
  std::lock_guard lock(mu_);
  auto across = kv_->Lock(kNextTask);  // the counter, across replicas
  if (!across.ok()) return across.status();
  std::vector<KvSpace::Op> ops;
  if (!tasks.empty()) {
    auto first = NextId(kNextTask, static_cast<int64_t>(tasks.size()), &ops);
    if (!first.ok()) return first.status();
    int64_t id = *first;
    for (Task& t : tasks) {
      t.id = id++;
      t.execution_id = e.id;
      t.job_id = std::to_string(e.id) + "-" + std::to_string(t.id);
      ops.emplace_back(TaskKey(e.id, t.id), EncodeTask(t));
    }
  }
  ops.emplace_back(ExecKey(e.id), EncodeExecution(e));
  if (Status s = kv_->Write(ops); !s.ok()) return s;
  return tasks;
}

Status ExecutionStore::UpdateTask(const Task& t) {
  return kv_->Write({{TaskKey(t.execution_id, t.id), EncodeTask(t)}});
}

Result<Task> ExecutionStore::GetTask(int64_t execution_id, int64_t task_id) {
  auto v = kv_->Get(TaskKey(execution_id, task_id));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Status::NotFound("task " + std::to_string(task_id) + " not found");
    return v.status();
  }
  return DecodeTask(*v);
}

Result<std::vector<Task>> ExecutionStore::ListTasks(int64_t execution_id, const TaskFilter& f) {
  std::vector<Task> out;
  Status s = kv_->Scan(TaskPrefix(execution_id), [&](std::string_view, std::string_view v) {
    auto t = DecodeTask(v);
    if (!t.ok()) return true;
    if (!f.status.empty() && t->status != f.status) return true;
    if (!f.resource_type.empty() && t->resource_type != f.resource_type) return true;
    out.push_back(std::move(*t));
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

void ExecutionStore::AppendLog(int64_t task_id, std::string_view line) {
  {
    std::lock_guard lock(log_mu_);
    size_t& n = log_lines_[task_id];
    if (n >= kMaxLogLines) return;
    ++n;
  }
  char b[24];
  std::snprintf(b, sizeof b, "%020llu", static_cast<unsigned long long>(log_seq_.fetch_add(1)));
  // A task's log is advisory: losing a line must not fail the transfer.
  if (Status s = kv_->Write({{LogPrefix(task_id) + b, std::string(line)}}); !s.ok())
    ReportInternalError("replication", "writing a task log line failed", s);
}

Result<std::string> ExecutionStore::ReadLog(int64_t task_id) {
  std::string out;
  Status s = kv_->Scan(LogPrefix(task_id), [&](std::string_view, std::string_view v) {
    out.append(v);
    out += '\n';
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

void ExecutionStore::Prune(int64_t policy_id) {
  ExecutionFilter f;
  f.policy_id = policy_id;
  std::vector<Execution> finished;
  size_t total = 0;  // running ones count toward the limit too (Harbor keeps 50 in all)
  Status scanned = kv_->Scan("e/", [&](std::string_view, std::string_view v) {
    auto e = DecodeExecution(v);
    if (!e.ok() || e->policy_id != policy_id) return true;
    ++total;
    if (IsFinalStatus(e->status)) finished.push_back(std::move(*e));
    return true;
  });
  if (!scanned.ok()) {
    // Old executions stay until the next prune; nothing is lost but space.
    ReportInternalError("replication", "listing executions to prune failed", scanned);
    return;
  }
  if (total <= keep_per_policy_) return;
  // Oldest first (key order); never a running one.
  size_t drop = std::min(finished.size(), total - keep_per_policy_);
  for (size_t i = 0; i < drop; ++i) {
    std::vector<KvSpace::Op> ops;
    ops.emplace_back(ExecKey(finished[i].id), std::nullopt);
    Status s = kv_->Scan(TaskPrefix(finished[i].id), [&](std::string_view k, std::string_view v) {
      ops.emplace_back(std::string(k), std::nullopt);
      if (auto t = DecodeTask(v); t.ok()) {
        Status logs = kv_->Scan(LogPrefix(t->id), [&](std::string_view lk, std::string_view) {
          ops.emplace_back(std::string(lk), std::nullopt);
          return true;
        });
        if (!logs.ok()) s = logs;
      }
      return s.ok();
    });
    // A partial list would delete an execution and leave some of its tasks
    // behind, so write nothing for this execution unless every scan worked.
    if (s.ok()) s = kv_->Write(ops);
    if (!s.ok()) ReportInternalError("replication", "pruning an old execution failed", s);
  }
}

}  // namespace pier::replication
