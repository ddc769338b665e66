#include "cache/retention/records.h"

#include <cstdio>

#include "base/harbor_time.h"

namespace pier::retention {
namespace {

using nlohmann::json;

std::string Pad(int64_t id) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(id));
  return buf;
}
std::string PolicyKey(int64_t id) { return "p/" + Pad(id); }
std::string ExecKey(int64_t policy, int64_t id) { return "e/" + Pad(policy) + "/" + Pad(id); }
std::string TaskKey(int64_t exec, int64_t id) { return "t/" + Pad(exec) + "/" + Pad(id); }
std::string LogKey(int64_t task) { return "l/" + Pad(task); }

std::string Time(int64_t unix) {
  if (unix <= 0) return FormatTime({});
  return FormatTime(std::chrono::system_clock::from_time_t(unix));
}

Result<json> Parse(std::string_view v) {
  json j = json::parse(v, nullptr, false);
  if (j.is_discarded()) return Status::Corruption("bad retention record");
  return j;
}

Execution ExecFrom(const json& j) {
  return Execution{j.value("id", int64_t{0}),     j.value("policy_id", int64_t{0}), j.value("status", ""),
                   j.value("trigger", ""),         j.value("dry_run", false),       j.value("start", int64_t{0}),
                   j.value("end", int64_t{0})};
}
json ExecRecord(const Execution& e) {
  return json{{"id", e.id},           {"policy_id", e.policy_id}, {"status", e.status}, {"trigger", e.trigger},
              {"dry_run", e.dry_run}, {"start", e.start_unix},    {"end", e.end_unix}};
}
Task TaskFrom(const json& j) {
  return Task{j.value("id", int64_t{0}),    j.value("execution_id", int64_t{0}), j.value("repository", ""),
              j.value("status", ""),        j.value("start", int64_t{0}),        j.value("end", int64_t{0}),
              j.value("total", int64_t{0}), j.value("retained", int64_t{0})};
}
json TaskRecord(const Task& t) {
  return json{{"id", t.id},       {"execution_id", t.execution_id}, {"repository", t.repository},
              {"status", t.status}, {"start", t.start_unix},        {"end", t.end_unix},
              {"total", t.total},   {"retained", t.retained}};
}

}  // namespace

Result<int64_t> Records::Insert(const std::string& counter, const std::function<KvSpace::Op(int64_t id)>& record) {
  auto across = space_->Lock(counter);  // the counter, across replicas
  if (!across.ok()) return across.status();
  auto v = space_->Get(counter);
  int64_t last = 0;
  if (v.ok()) last = std::atoll(v->c_str());
  else if (v.status().code() != Code::kNotFound) return v.status();
  const int64_t id = last + 1;
  if (Status s = space_->Write({{counter, std::to_string(id)}, record(id)}); !s.ok()) return s;
  return id;
}

Result<int64_t> Records::CreatePolicy(Policy p) {
  std::lock_guard lock(mu_);
  auto all = ListPolicies();
  if (!all.ok()) return all.status();
  for (const auto& other : *all) {
    if (other.project_id == p.project_id)
      return Status::InvalidArgument("scope.ref: project " + std::to_string(p.project_id) +
                                     " already has retention policy " + std::to_string(other.id));
  }
  return Insert("next_id", [&](int64_t id) {
    p.id = id;
    return KvSpace::Op{PolicyKey(id), PolicyJson(p).dump()};
  });
}

Result<Policy> Records::GetPolicy(int64_t id) {
  auto v = space_->Get(PolicyKey(id));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Status::NotFound("retention policy " + std::to_string(id) + " unknown");
    return v.status();
  }
  auto j = Parse(*v);
  if (!j.ok()) return j.status();
  auto p = ParsePolicy(*j);
  if (!p.ok()) return Status::Corruption("stored retention policy " + std::to_string(id) + ": " + p.status().message());
  p->id = id;
  return p;
}

Status Records::UpdatePolicy(const Policy& p) {
  std::lock_guard lock(mu_);
  auto old = GetPolicy(p.id);
  if (!old.ok()) return old.status();
  auto all = ListPolicies();
  if (!all.ok()) return all.status();
  for (const auto& other : *all) {
    if (other.id != p.id && other.project_id == p.project_id)
      return Status::InvalidArgument("scope.ref: project " + std::to_string(p.project_id) +
                                     " already has retention policy " + std::to_string(other.id));
  }
  return space_->Write({{PolicyKey(p.id), PolicyJson(p).dump()}});
}

Status Records::DeletePolicy(int64_t id) {
  std::lock_guard lock(mu_);
  auto old = GetPolicy(id);
  if (!old.ok()) return old.status();
  std::vector<KvSpace::Op> ops{{PolicyKey(id), std::nullopt}};
  auto execs = ListExecutions(id);
  if (!execs.ok()) return execs.status();
  for (const auto& e : *execs) {
    ops.emplace_back(ExecKey(id, e.id), std::nullopt);
    auto tasks = ListTasks(e.id);
    if (!tasks.ok()) return tasks.status();
    for (const auto& t : *tasks) {
      ops.emplace_back(TaskKey(e.id, t.id), std::nullopt);
      ops.emplace_back(LogKey(t.id), std::nullopt);
    }
  }
  return space_->Write(ops);
}

Result<std::vector<Policy>> Records::ListPolicies() {
  std::vector<Policy> out;
  Status bad = Status::OK();
  Status s = space_->Scan("p/", [&](std::string_view key, std::string_view value) {
    auto j = Parse(value);
    auto p = j.ok() ? ParsePolicy(*j) : Result<Policy>(j.status());
    if (!p.ok()) {
      bad = Status::Corruption("stored retention policy " + std::string(key) + ": " + p.status().message());
      return false;
    }
    p->id = std::atoll(std::string(key.substr(2)).c_str());
    out.push_back(std::move(p).value());
    return true;
  });
  if (!s.ok()) return s;
  if (!bad.ok()) return bad;
  return out;
}

Result<Execution> Records::AddExecution(Execution e) {
  std::lock_guard lock(mu_);
  auto id = Insert("next_execution_id", [&](int64_t id) {
    e.id = id;
    return KvSpace::Op{ExecKey(e.policy_id, id), ExecRecord(e).dump()};
  });
  if (!id.ok()) return id.status();
  return e;
}

Status Records::PutExecution(const Execution& e) { return space_->Write({{ExecKey(e.policy_id, e.id), ExecRecord(e).dump()}}); }

Result<Execution> Records::GetExecution(int64_t policy_id, int64_t id) {
  auto v = space_->Get(ExecKey(policy_id, id));
  if (!v.ok()) {
    if (v.status().code() == Code::kNotFound) return Status::NotFound("execution " + std::to_string(id) + " unknown");
    return v.status();
  }
  auto j = Parse(*v);
  if (!j.ok()) return j.status();
  return ExecFrom(*j);
}

Result<std::vector<Execution>> Records::ListExecutions(int64_t policy_id) {
  std::vector<Execution> out;
  Status s = space_->Scan("e/" + Pad(policy_id) + "/", [&](std::string_view, std::string_view value) {
    if (auto j = Parse(value); j.ok()) out.push_back(ExecFrom(*j));
    return true;
  });
  if (!s.ok()) return s;
  std::reverse(out.begin(), out.end());
  return out;
}

Result<Task> Records::AddTask(Task t) {
  std::lock_guard lock(mu_);
  auto id = Insert("next_task_id", [&](int64_t id) {
    t.id = id;
    return KvSpace::Op{TaskKey(t.execution_id, id), TaskRecord(t).dump()};
  });
  if (!id.ok()) return id.status();
  return t;
}

Status Records::PutTask(const Task& t, const std::string& log) {
  return space_->Write({{TaskKey(t.execution_id, t.id), TaskRecord(t).dump()}, {LogKey(t.id), log}});
}

Result<std::vector<Task>> Records::ListTasks(int64_t execution_id) {
  std::vector<Task> out;
  Status s = space_->Scan("t/" + Pad(execution_id) + "/", [&](std::string_view, std::string_view value) {
    if (auto j = Parse(value); j.ok()) out.push_back(TaskFrom(*j));
    return true;
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::string> Records::GetLog(int64_t task_id) {
  auto v = space_->Get(LogKey(task_id));
  if (!v.ok() && v.status().code() == Code::kNotFound) return Status::NotFound("task " + std::to_string(task_id) + " has no log");
  return v;
}

json ExecutionJson(const Execution& e) {
  return json{{"id", e.id},           {"policy_id", e.policy_id},     {"status", e.status},
              {"trigger", e.trigger}, {"dry_run", e.dry_run},         {"start_time", Time(e.start_unix)},
              {"end_time", Time(e.end_unix)}};
}

json TaskJson(const Task& t) {
  return json{{"id", t.id},
              {"execution_id", t.execution_id},
              {"repository", t.repository},
              {"job_id", std::to_string(t.id)},
              {"status", t.status},
              {"status_code", t.status == "Running" ? 2 : 3},
              {"status_revision", 0},
              {"start_time", Time(t.start_unix)},
              {"end_time", Time(t.end_unix)},
              {"total", t.total},
              {"retained", t.retained}};
}

}  // namespace pier::retention
