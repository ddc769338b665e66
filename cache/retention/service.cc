#include "cache/retention/service.h"

#include <sstream>

#include "base/internal_errors.h"
#include "cache/keys.h"
#include "cache/project_usage.h"
#include "cache/retention/evaluator.h"
#include "base/cron.h"
#include "base/harbor_time.h"

namespace pier::retention {
namespace {

std::string Time(int64_t unix) {
  if (unix <= 0) return "never";
  return FormatTime(std::chrono::system_clock::from_time_t(unix));
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "<untagged>" : out;
}

}  // namespace

Result<std::shared_ptr<Service>> Service::Create(std::shared_ptr<Store> store, const Clock& clock) {
  auto space = store->OpenKeySpace(keys::kRetention);
  if (!space.ok()) return space.status();
  std::shared_ptr<Service> svc(new Service(std::move(store), std::move(space).value(), clock));
  // Executions a crash left Running never finish: mark them Failed.
  auto policies = svc->records_.ListPolicies();
  if (!policies.ok()) return policies.status();
  for (const auto& p : *policies) {
    auto execs = svc->records_.ListExecutions(p.id);
    if (!execs.ok()) return execs.status();
    for (auto e : *execs) {
      if (e.status != "Running") continue;
      e.status = "Failed";
      e.end_unix = clock.UnixSeconds();
      if (Status s = svc->records_.PutExecution(e); !s.ok()) return s;
    }
  }
  return svc;
}

Service::~Service() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    for (auto& [id, stop] : running_) stop->store(true);
  }
  cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  for (auto& [id, t] : threads_) t.join();
}

Result<std::string> Service::ProjectName(int64_t project_id) {
  auto quotas = store_->ListQuotas();
  if (!quotas.ok()) return quotas.status();
  for (const auto& q : *quotas)
    if (q.id == project_id) return q.project;
  return Status::NotFound("project " + std::to_string(project_id) + " unknown (ids are those of /api/v2.0/quotas)");
}

Result<Execution> Service::Execute(int64_t policy_id, bool dry_run, const std::string& trigger) {
  auto p = records_.GetPolicy(policy_id);
  if (!p.ok()) return p.status();
  std::lock_guard lock(mu_);
  if (closing_) return Status::FailedPrecondition("shutting down");
  for (int64_t done : finished_) {
    threads_[done].join();
    threads_.erase(done);
  }
  finished_.clear();
  for (const auto& [eid, pid] : running_policy_) {
    if (pid == policy_id)
      return Status::FailedPrecondition("execution " + std::to_string(eid) + " of this policy is still running");
  }
  Execution e;
  e.policy_id = policy_id;
  e.status = "Running";
  e.trigger = trigger;
  e.dry_run = dry_run;
  e.start_unix = clock_.UnixSeconds();
  auto added = records_.AddExecution(e);
  if (!added.ok()) return added.status();
  auto stop = std::make_shared<std::atomic<bool>>(false);
  running_[added->id] = stop;
  running_policy_[added->id] = policy_id;
  threads_.emplace(added->id, std::thread([this, e = *added, stop] { Run(e, stop); }));
  return added;
}

Status Service::Stop(int64_t policy_id, int64_t execution_id) {
  auto e = records_.GetExecution(policy_id, execution_id);
  if (!e.ok()) return e.status();
  std::lock_guard lock(mu_);
  if (auto it = running_.find(execution_id); it != running_.end()) it->second->store(true);
  return Status::OK();
}

void Service::WaitIdle() {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [&] { return running_.empty(); });
}

void Service::Run(Execution e, std::shared_ptr<std::atomic<bool>> stop) {
  bool failed = false;
  bool stopped = false;
  auto policy = records_.GetPolicy(e.policy_id);
  auto project = policy.ok() ? ProjectName(policy->project_id) : Result<std::string>(policy.status());
  if (!project.ok()) {
    ReportInternalError("retention", "execution " + std::to_string(e.id), project.status());
    failed = true;
  } else {
    const std::string& name = *project;
    auto repos = store_->ListRepositories("", 0, [&](std::string_view r) { return ProjectOf(r) == name; });
    if (!repos.ok()) {
      ReportInternalError("retention", "listing repositories", repos.status());
      failed = true;
    } else {
      for (const auto& repo : repos->items) {
        if (stop->load() || !RunRepository(*policy, e, name, repo, *stop, &failed)) {
          stopped = true;
          break;
        }
      }
    }
  }
  e.status = stopped ? "Stopped" : failed ? "Failed" : "Succeed";
  e.end_unix = clock_.UnixSeconds();
  if (Status s = records_.PutExecution(e); !s.ok()) ReportInternalError("retention", "saving execution", s);
  {
    std::lock_guard lock(mu_);
    running_.erase(e.id);
    running_policy_.erase(e.id);
    finished_.push_back(e.id);
  }
  cv_.notify_all();
}

bool Service::RunRepository(const Policy& p, const Execution& e, const std::string& project, const std::string& repo,
                            const std::atomic<bool>& stop, bool* failed) {
  const std::string name = repo.size() > project.size() ? repo.substr(project.size() + 1) : repo;
  auto artifacts = store_->ListArtifacts(repo);
  if (!artifacts.ok()) {
    ReportInternalError("retention", "listing artifacts of " + repo, artifacts.status());
    *failed = true;
    return true;
  }
  RepoDecision d = Evaluate(p, name, *artifacts, clock_.UnixSeconds());
  if (!d.in_scope) return true;
  Task t;
  t.execution_id = e.id;
  t.repository = repo;
  t.status = "Running";
  t.start_unix = clock_.UnixSeconds();
  auto added = records_.AddTask(t);
  if (!added.ok()) {
    ReportInternalError("retention", "saving task", added.status());
    *failed = true;
    return true;
  }
  t = *added;
  std::ostringstream log;
  log << "repository " << repo << (e.dry_run ? " (dry run: nothing is deleted)" : "") << "\n";
  log << "Digest | Tag | PushedTime | PulledTime | Size | Retention\n";
  bool stopped = false;
  bool task_failed = false;
  for (const auto& v : d.verdicts) {
    const ArtifactInfo& a = v.artifact;
    t.total++;
    log << a.digest.str() << " | " << Join(a.tags) << " | " << Time(a.pushed_unix) << " | " << Time(a.pulled_unix)
        << " | " << a.size << " | ";
    if (v.rule >= 0) {
      t.retained++;
      log << "RETAIN (rule " << v.rule << ": " << p.rules[static_cast<size_t>(v.rule)].template_id << ")\n";
      continue;
    }
    if (e.dry_run) {
      log << "DEL (dry run)\n";
      continue;
    }
    if (stop.load()) {
      log << "NOT DELETED (execution stopped)\n";
      stopped = true;
      continue;
    }
    Status s = store_->DeleteManifest(repo, a.digest);
    if (s.ok() || s.code() == Code::kNotFound) {
      log << "DEL\n";
    } else {
      log << "DEL FAILED: " << s.message() << "\n";
      task_failed = true;
    }
  }
  t.status = stopped ? "Stopped" : task_failed ? "Error" : "Success";
  t.end_unix = clock_.UnixSeconds();
  if (task_failed) *failed = true;
  if (Status s = records_.PutTask(t, log.str()); !s.ok()) {
    ReportInternalError("retention", "saving task", s);
    *failed = true;
  }
  return !stopped;
}

void Service::Tick() {
  auto policies = records_.ListPolicies();
  if (!policies.ok()) {
    ReportInternalError("retention", "reading policies for the schedule", policies.status());
    return;
  }
  const auto now = clock_.Now();
  for (const auto& p : *policies) {
    if (p.cron.empty()) continue;
    auto cron = CronSchedule::Parse(p.cron);
    if (!cron.ok()) continue;  // ParsePolicy refused it already
    bool due = false;
    {
      std::lock_guard lock(mu_);
      auto [it, fresh] = next_fire_.try_emplace(p.id, cron->Next(now));
      if (!fresh && now >= it->second) {
        due = true;
        it->second = cron->Next(now);
      }
    }
    if (!due || (may_fire_ && !may_fire_())) continue;
    if (auto e = Execute(p.id, false, "SCHEDULE"); !e.ok() && e.status().code() != Code::kFailedPrecondition)
      ReportInternalError("retention", "scheduled execution of policy " + std::to_string(p.id), e.status());
  }
}

void Service::Start() {
  ticker_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (!closing_) {
      lock.unlock();
      Tick();
      lock.lock();
      cv_.wait_for(lock, std::chrono::seconds(1), [&] { return closing_; });
    }
  });
}

void Service::Forget(int64_t policy_id) {
  std::lock_guard lock(mu_);
  next_fire_.erase(policy_id);
}

}  // namespace pier::retention
