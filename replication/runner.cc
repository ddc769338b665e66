#include "replication/runner.h"

#include <algorithm>

#include "base/internal_errors.h"
#include "base/log.h"
#include "replication/direction.h"
#include "replication/retry.h"

namespace pier::replication {

Runner::Runner(RunnerDeps deps) : d_(std::move(deps)), dests_(d_.repl, d_.clients, d_.options) {}

std::chrono::system_clock::time_point Runner::NowMs() const {
  return std::chrono::time_point_cast<std::chrono::milliseconds>(d_.clock->Now());
}

double Runner::Since(std::chrono::steady_clock::time_point t) const {
  return std::chrono::duration<double>(d_.clock->Steady() - t).count();
}

Result<Execution> Runner::Start(int64_t policy_id, std::string_view trigger, const EventScope& scope) {
  auto policy = d_.repl->GetPolicy(policy_id);
  if (!policy.ok()) return policy.status();
  if (!policy->enabled) return Status::FailedPrecondition("the policy " + policy->name + " is disabled");
  Execution e;
  e.policy_id = policy_id;
  e.trigger = std::string(trigger);
  e.start_time = NowMs();
  e.event_repository = scope.repository;
  e.event_reference = scope.reference;
  e.event_digest = scope.digest;
  e.event_deletion = scope.deletion;
  if (policy->single_active_replication && ActiveFor(policy_id)) {
    e.status = std::string(kStatusFailed);
    e.status_text = "Execution skipped: active replication still in progress.";
    e.end_time = e.start_time;
    e.planned = true;
    return d_.executions->CreateExecution(e);
  }
  auto created = d_.executions->CreateExecution(e);
  if (!created.ok()) return created;
  d_.observer->OnExecutionStart(policy->name, e.trigger);
  // Another replica runs executions: it picks this one up from the records
  // (Engine::Sync on the leader).
  if (d_.options.may_run && !d_.options.may_run()) return created;
  Launch(*created, *policy);
  return created;
}

bool Runner::ActiveFor(int64_t policy_id) {
  std::lock_guard lock(mu_);
  for (auto& [id, r] : runs_) {
    if (r->exec.policy_id == policy_id) return true;
  }
  return false;
}

std::shared_ptr<ExecRun> Runner::Launch(const Execution& e, const Policy& p, bool resumed) {
  auto run = std::make_shared<ExecRun>();
  run->exec = e;
  run->resumed = resumed;
  run->policy = p;
  run->policy_bandwidth.SetRate(static_cast<uint64_t>(p.BytesPerSecond()));
  std::lock_guard lock(mu_);
  if (closing_) return nullptr;  // stays InProgress: the next start resumes it
  // Start and the leader's Sync may both reach a fresh execution (recorded,
  // not yet launched): the first launch wins.
  if (runs_.contains(e.id)) return nullptr;
  runs_[e.id] = run;
  run->runner = std::thread([self = shared_from_this(), run] { self->Run(run); });
  return run;
}

void Runner::Dispatched(const std::shared_ptr<ExecRun>& run) {
  std::lock_guard lock(run->mu);
  run->dispatched = true;
  run->cv.notify_all();
}

void Runner::Run(const std::shared_ptr<ExecRun>& run) {
  Status s = Execute(run);
  Finish(run, s);
}

Status Runner::Execute(const std::shared_ptr<ExecRun>& run) {
  // The remote side: the destination in push mode, the source in pull mode.
  auto dest = dests_.For(run->policy.RemoteRegistryId());
  if (!dest.ok()) return dest.status();
  DirectionEnv env;
  env.store = d_.store.get();
  env.remote = (*dest)->client.get();
  env.remote_endpoint = (*dest)->endpoint;
  env.policy = run->policy;
  env.observer = d_.observer.get();
  env.progress = d_.progress.get();
  env.retry = d_.options.retry;
  env.on_stored = d_.on_stored;
  env.transcodes = d_.transcodes.get();
  {
    std::lock_guard lock(run->mu);
    run->dest = *dest;
    run->direction = MakeDirection(std::move(env));
  }
  run->limiter = std::make_unique<LimiterChain>(
      std::vector<client::RateLimiter*>{&run->dest->bandwidth, &run->policy_bandwidth});
  std::vector<Task> tasks;
  if (!run->exec.planned) {
    PlanScope scope{run->exec.event_repository, run->exec.event_reference, run->exec.event_digest,
                    run->exec.event_deletion};
    auto planned = run->direction->Plan(scope, run->stop.get_token());
    if (!planned.ok()) return planned.status();
    run->exec.planned = true;
    auto created = d_.executions->CreateTasks(run->exec, std::move(*planned));
    if (!created.ok()) return created.status();
    tasks = std::move(*created);
    // Failed at planning (destination name, unreadable labels): the reason goes in the task log too.
    for (const Task& t : tasks) {
      if (t.status == kStatusFailed) TaskLog(t, t.status + ": " + t.status_text);
    }
  } else {
    auto listed = d_.executions->ListTasks(run->exec.id);
    if (!listed.ok()) return listed.status();
    tasks = std::move(*listed);
  }
  {
    std::lock_guard lock(run->mu);
    for (const Task& t : tasks) {
      if (!IsFinalStatus(t.status)) ++run->tasks_left;
      if (t.status == kStatusFailed) run->any_failed = true;
    }
  }
  for (Task& t : tasks) {
    if (IsFinalStatus(t.status)) continue;
    if (run->stop.stop_requested()) {
      EndTask(run, t, std::string(kStatusStopped), "stopped");
      continue;
    }
    StartTask(run, std::move(t));
  }
  Dispatched(run);
  std::unique_lock lock(run->mu);
  run->cv.wait(lock, [&] { return run->tasks_left == 0; });
  return Status::OK();
}

void Runner::Finish(const std::shared_ptr<ExecRun>& run, const Status& s) {
  Dispatched(run);  // also when it failed before starting its tasks
  if (run->dest) d_.observer->SetPending(run->dest->endpoint.name, run->policy.name, 0, 0);
  if (!run->shutdown.load()) {
    Execution e = run->exec;
    e.end_time = NowMs();
    e.final_progress = run->progress.Snapshot();
    if (run->stop.stop_requested()) {
      e.status = std::string(kStatusStopped);
    } else if (!s.ok()) {
      e.status = std::string(kStatusFailed);
      e.status_text = s.message();
    } else {
      std::lock_guard lock(run->mu);
      e.status = std::string(run->any_failed ? kStatusFailed : kStatusSucceed);
    }
    Record(e);
    NoteLinkRate(*run, e);
    d_.observer->OnExecutionFinish(run->policy.name, e.status);
    log::Info("replication execution finished", {{"execution", std::to_string(e.id)},
                                                 {"policy", run->policy.name},
                                                 {"status", e.status},
                                                 {"bytes_sent", std::to_string(run->progress.Snapshot().bytes_sent)}});
  }
  std::lock_guard lock(mu_);
  runs_.erase(run->exec.id);
  finished_.push_back(std::move(run->runner));
  cv_.notify_all();
}

void Runner::NoteLinkRate(const ExecRun& run, const Execution& e) {
  // Enough bytes that the average says something about the link, not about
  // round trips (the zstd level adapts to it: transcode_push.h).
  constexpr uint64_t kMinBytes = 4 << 20;
  const double seconds = std::chrono::duration<double>(e.end_time - e.start_time).count();
  // What crossed the link (zstd copies at their own size), not bytes_sent.
  const uint64_t wire = run.progress.WireBytes();
  if (!run.dest || !run.policy.PushMode() || wire < kMinBytes || seconds < 1) return;
  const double rate = static_cast<double>(wire) / seconds;
  Status s = d_.progress->NoteLinkRate(run.dest->endpoint.id, rate);
  if (!s.ok()) ReportInternalError("replication", "recording a destination's link rate failed", s);
}

void Runner::Record(const Execution& e) {
  // A store write that failed once (a RocksDB hiccup) usually succeeds again.
  constexpr int kAttempts = 3;
  Status s;
  for (int i = 0; i < kAttempts; ++i) {
    s = d_.executions->UpdateExecution(e);
    if (s.ok()) return;
    if (i + 1 < kAttempts) SleepFor(std::chrono::milliseconds(100 << i), std::stop_token());
  }
  // Left as it was stored (InProgress): ResumeUnfinished finishes it at the next start.
  ReportInternalError("replication", "recording execution " + std::to_string(e.id) + " as " + e.status, s);
}

void Runner::WakeGate(const std::shared_ptr<ExecRun>& run) {
  // A stopped execution's waiting images must not queue behind other executions.
  // run->dest is set once by the runner thread; before that no task has entered.
  std::shared_ptr<Destination> d;
  {
    std::lock_guard lock(run->mu);
    d = run->dest;
  }
  if (d) d->gate->Wake();
}

Status Runner::Stop(int64_t execution_id) {
  auto e = d_.executions->GetExecution(execution_id);
  if (!e.ok()) return e.status();
  std::shared_ptr<ExecRun> run;
  {
    std::lock_guard lock(mu_);
    auto it = runs_.find(execution_id);
    if (it != runs_.end()) run = it->second;
  }
  if (!run) {
    if (IsFinalStatus(e->status)) return Status::OK();  // Harbor: stopping an ended execution is a no-op
    // InProgress but not running here (e.g. resumed later): mark it stopped.
    e->status = std::string(kStatusStopped);
    e->end_time = NowMs();
    return d_.executions->UpdateExecution(*e);
  }
  {
    std::lock_guard lock(run->mu);
    run->exec.stop_requested = true;
  }
  run->stop.request_stop();
  WakeGate(run);
  return Status::OK();
}

void Runner::ResumeUnfinished() {
  auto list = d_.executions->Unfinished();
  if (!list.ok()) {
    ReportInternalError("replication", "listing unfinished replication executions", list.status());
    return;
  }
  // In the order they were started (first pushed first), each one's tasks
  // checked and queued for the link before the next one starts: launched
  // all at once they raced for the link and the first-pushed image could
  // end last. The wait is bounded: a destination that does not answer must
  // not hold the others (nor the start) for long.
  constexpr auto kDispatchWait = std::chrono::seconds(10);
  std::sort(list->begin(), list->end(), [](const Execution& a, const Execution& b) { return a.id < b.id; });
  for (const Execution& listed : *list) {
    {
      std::lock_guard lock(mu_);
      if (closing_ || runs_.contains(listed.id)) continue;  // running here already
    }
    // Read again: an execution that ended since the listing recorded its end
    // before it left runs_, so this sees it.
    auto fresh = d_.executions->GetExecution(listed.id);
    if (!fresh.ok() || IsFinalStatus(fresh->status)) continue;
    const Execution& e = *fresh;
    auto p = d_.repl->GetPolicy(e.policy_id);
    if (!p.ok()) {
      Execution f = e;
      f.status = std::string(kStatusFailed);
      f.status_text = "the policy was deleted";
      f.end_time = NowMs();
      Record(f);
      continue;
    }
    log::Info("resuming replication execution", {{"execution", std::to_string(e.id)}, {"policy", p->name}});
    auto run = Launch(e, *p, /*resumed=*/true);
    if (!run) continue;
    d_.observer->OnExecutionClaimed(p->name);
    std::unique_lock lock(run->mu);
    run->cv.wait_for(lock, kDispatchWait, [&] { return run->dispatched; });
  }
}

std::optional<LiveProgress> Runner::Progress(int64_t execution_id) const {
  std::lock_guard lock(mu_);
  auto it = runs_.find(execution_id);
  if (it == runs_.end()) return std::nullopt;
  return it->second->progress.Snapshot();
}

void Runner::ForgetDestination(int64_t registry_id) {
  dests_.Forget(registry_id);
  if (Status s = d_.progress->ForgetDestination(registry_id); !s.ok()) {
    ReportInternalError("replication", "forgetting the known blobs of registry " + std::to_string(registry_id), s);
  }
}

void Runner::JoinFinished() {
  std::vector<std::thread> done;
  {
    std::lock_guard lock(mu_);
    done.swap(finished_);
  }
  for (auto& t : done) {
    if (t.joinable()) t.join();
  }
}

void Runner::SyncStops() {
  std::vector<std::shared_ptr<ExecRun>> active;
  {
    std::lock_guard lock(mu_);
    for (auto& [id, r] : runs_) active.push_back(r);
  }
  for (auto& r : active) {
    auto e = d_.executions->GetExecution(r->exec.id);
    if (!e.ok() || e->status != kStatusStopped || r->stop.stop_requested()) continue;
    {
      std::lock_guard lock(r->mu);
      r->exec.stop_requested = true;
    }
    r->stop.request_stop();
    WakeGate(r);
  }
}

void Runner::Pause() { StopAll(/*closing=*/false); }

void Runner::Shutdown() { StopAll(/*closing=*/true); }

void Runner::StopAll(bool closing) {
  std::vector<std::shared_ptr<ExecRun>> active;
  {
    std::lock_guard lock(mu_);
    if (closing) closing_ = true;
    for (auto& [id, r] : runs_) active.push_back(r);
  }
  for (auto& r : active) {
    r->shutdown = true;
    r->stop.request_stop();
  }
  for (auto& r : active) WakeGate(r);
  // Runners end once their queued jobs have run (each returns at once).
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait_for(lock, std::chrono::milliseconds(200), [&] { return runs_.empty(); });
      if (runs_.empty() && finished_.empty()) break;
    }
    JoinFinished();
  }
  dests_.Clear();
}

}  // namespace pier::replication
