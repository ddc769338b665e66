#include "replication/engine.h"

#include <algorithm>
#include <condition_variable>
#include <nlohmann/json.hpp>
#include <set>

#include "adapter/client/registry_client.h"
#include "base/log.h"
#include "base/manifest.h"
#include "replication/bandwidth.h"
#include "replication/blob_fetcher.h"
#include "replication/blob_sender.h"
#include "replication/cron.h"
#include "replication/filter.h"
#include "replication/image_gate.h"
#include "replication/json_fields.h"
#include "replication/naming.h"
#include "replication/planner.h"
#include "replication/worker_pool.h"

namespace pier::replication {
namespace {

using Clock = std::chrono::system_clock;
using Steady = std::chrono::steady_clock;

Clock::time_point NowMs() {
  return Clock::time_point(
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now().time_since_epoch()));
}

double Since(Steady::time_point t) { return std::chrono::duration<double>(Steady::now() - t).count(); }

struct Destination {
  Endpoint endpoint;
  std::unique_ptr<client::RegistryClient> client;
  Bandwidth bandwidth;
  LinkState link;
  std::mutex mu;
  std::map<std::string, std::vector<std::function<void()>>> inflight;  // digest → waiting jobs
  std::unique_ptr<ImageGate> gate;   // one image after another on the link
  std::unique_ptr<WorkerPool> pool;  // last member: its threads stop before the rest goes
};

struct ExecRun;

struct TaskRun {
  Task task;
  std::shared_ptr<ExecRun> exec;
  PlannedCopy copy;
  std::atomic<size_t> remaining{0};
  std::atomic<uint64_t> remaining_bytes{0};
  Steady::time_point started = Steady::now();
  std::mutex mu;
  bool failed = false;
  std::string error;
};

struct ExecRun {
  Execution exec;
  Policy policy;
  std::shared_ptr<Destination> dest;
  std::stop_source stop;
  std::atomic<bool> shutdown{false};  // stopped by Pier's shutdown: resume later
  Bandwidth policy_bandwidth;
  std::unique_ptr<LimiterChain> limiter;
  std::atomic<uint64_t> bytes_total{0}, bytes_sent{0}, bytes_pending{0}, blobs_pending{0}, blobs_done{0};
  std::mutex mu;
  std::condition_variable cv;
  size_t tasks_left = 0;
  bool any_failed = false;
  std::thread runner;
};

}  // namespace

struct Engine::Impl : std::enable_shared_from_this<Engine::Impl> {
  std::shared_ptr<Store> store;
  std::shared_ptr<ReplicationStore> repl;
  std::shared_ptr<ExecutionStore> executions;
  std::shared_ptr<ProgressStore> progress;
  std::shared_ptr<ReplicationObserver> observer;
  EngineOptions options;

  std::mutex mu;
  std::condition_variable cv;
  bool closing = false;
  std::map<int64_t, std::shared_ptr<Destination>> dests;
  std::vector<std::shared_ptr<Destination>> retired;
  std::map<int64_t, std::shared_ptr<ExecRun>> runs;
  std::vector<std::thread> finished_runners;  // joined by the scheduler or at shutdown
  std::thread scheduler;

  // ---- destinations ----
  Result<std::shared_ptr<Destination>> DestinationFor(int64_t registry_id) {
    auto ep = repl->GetEndpoint(registry_id);
    if (!ep.ok()) return ep.status();
    std::lock_guard lock(mu);
    auto it = dests.find(registry_id);
    if (it != dests.end() && it->second->endpoint.update_time == ep->update_time) return it->second;
    client::ClientOptions co;
    co.url = ep->url;
    co.username = ep->credential.access_key;
    co.password = ep->credential.access_secret;
    co.ca_pem = ep->ca_certificate;
    co.insecure = ep->insecure;
    co.no_progress_timeout_seconds = options.no_progress_timeout_seconds;
    co.max_idle_connections = options.workers_per_destination + 2;
    auto c = client::RegistryClient::Create(co);
    if (!c.ok()) return Status(c.status().code(), "registry " + ep->name + ": " + c.status().message());
    auto d = std::make_shared<Destination>();
    d->endpoint = *ep;
    d->client = std::move(*c);
    d->bandwidth.SetRate(options.destination_bytes_per_second);
    d->gate = std::make_unique<ImageGate>(options.image_overlap_bytes);
    d->pool = std::make_unique<WorkerPool>(options.workers_per_destination);
    // A replaced destination keeps running its queued jobs until they end;
    // it is retired, not destroyed, so no pool thread ever joins itself.
    if (it != dests.end()) retired.push_back(std::move(it->second));
    dests[registry_id] = d;
    return d;
  }

  // ---- logging ----
  void TaskLog(const Task& t, const std::string& line) {
    executions->AppendLog(t.id, FormatTime(NowMs()) + " " + line);
  }

  // ---- start ----
  Result<Execution> Start(int64_t policy_id, std::string_view trigger, std::string event_repo,
                          std::string event_ref, bool deletion) {
    auto policy = repl->GetPolicy(policy_id);
    if (!policy.ok()) return policy.status();
    if (!policy->enabled) {
      return Status::FailedPrecondition("the policy " + policy->name + " is disabled");
    }
    Execution e;
    e.policy_id = policy_id;
    e.trigger = std::string(trigger);
    e.start_time = NowMs();
    e.event_repository = std::move(event_repo);
    e.event_reference = std::move(event_ref);
    e.event_deletion = deletion;
    if (policy->single_active_replication && ActiveFor(policy_id)) {
      e.status = std::string(kStatusFailed);
      e.status_text = "Execution skipped: active replication still in progress.";
      e.end_time = e.start_time;
      e.planned = true;
      return executions->CreateExecution(e);
    }
    auto created = executions->CreateExecution(e);
    if (!created.ok()) return created;
    observer->OnExecutionStart(policy->name, e.trigger);
    Launch(*created, *policy);
    return created;
  }

  bool ActiveFor(int64_t policy_id) {
    std::lock_guard lock(mu);
    for (auto& [id, r] : runs) {
      if (r->exec.policy_id == policy_id) return true;
    }
    return false;
  }

  void Launch(const Execution& e, const Policy& p) {
    auto run = std::make_shared<ExecRun>();
    run->exec = e;
    run->policy = p;
    run->policy_bandwidth.SetRate(static_cast<uint64_t>(p.BytesPerSecond()));
    std::lock_guard lock(mu);
    if (closing) return;
    runs[e.id] = run;
    auto self = shared_from_this();
    run->runner = std::thread([self, run] { self->RunExecution(run); });
  }

  // ---- one execution ----
  void RunExecution(const std::shared_ptr<ExecRun>& run) {
    Status s = Execute(run);
    Finish(run, s);
  }

  Status Execute(const std::shared_ptr<ExecRun>& run) {
    // The remote side: the destination in push mode, the source in pull mode.
    auto d = DestinationFor(run->policy.RemoteRegistryId());
    if (!d.ok()) return d.status();
    {
      std::lock_guard lock(run->mu);
      run->dest = *d;
    }
    run->limiter = std::make_unique<LimiterChain>(
        std::vector<client::RateLimiter*>{&run->dest->bandwidth, &run->policy_bandwidth});
    std::vector<Task> tasks;
    if (!run->exec.planned) {
      PlanScope scope{run->exec.event_repository, run->exec.event_reference, run->exec.event_deletion};
      auto planned = run->policy.PushMode()
                         ? PlanPush(*store, run->policy, run->dest->endpoint, scope)
                         : PlanPull(*run->dest->client, run->policy, scope, run->stop.get_token());
      if (!planned.ok()) return planned.status();
      run->exec.planned = true;
      auto created = executions->CreateTasks(run->exec, std::move(*planned));
      if (!created.ok()) return created.status();
      tasks = std::move(*created);
      // Failed at planning (destination name, unreadable labels): the reason goes in the task log too.
      for (const Task& t : tasks) {
        if (t.status == kStatusFailed) TaskLog(t, t.status + ": " + t.status_text);
      }
    } else {
      auto listed = executions->ListTasks(run->exec.id);
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
    std::unique_lock lock(run->mu);
    run->cv.wait(lock, [&] { return run->tasks_left == 0; });
    return Status::OK();
  }

  void Finish(const std::shared_ptr<ExecRun>& run, const Status& s) {
    const std::string& dest_name = run->dest ? run->dest->endpoint.name : std::string();
    if (run->dest) observer->SetPending(dest_name, run->policy.name, 0, 0);
    if (!run->shutdown.load()) {
      Execution e = run->exec;
      e.end_time = NowMs();
      if (run->stop.stop_requested()) {
        e.status = std::string(kStatusStopped);
      } else if (!s.ok()) {
        e.status = std::string(kStatusFailed);
        e.status_text = s.message();
      } else {
        std::lock_guard lock(run->mu);
        e.status = std::string(run->any_failed ? kStatusFailed : kStatusSucceed);
      }
      executions->UpdateExecution(e);
      observer->OnExecutionFinish(run->policy.name, e.status);
      log::Info("replication execution finished", {{"execution", std::to_string(e.id)},
                                                   {"policy", run->policy.name},
                                                   {"status", e.status},
                                                   {"bytes_sent", std::to_string(run->bytes_sent.load())}});
    }
    std::lock_guard lock(mu);
    runs.erase(run->exec.id);
    finished_runners.push_back(std::move(run->runner));
    cv.notify_all();
  }

  // ---- tasks ----
  void EndTask(const std::shared_ptr<ExecRun>& run, Task& t, const std::string& status, const std::string& text) {
    bool shutdown = run->shutdown.load() && status == kStatusStopped;
    if (!shutdown) {
      t.status = status;
      t.status_text = text;
      t.end_time = NowMs();
      executions->UpdateTask(t);
      TaskLog(t, status + (text.empty() ? "" : ": " + text));
    }
    std::lock_guard lock(run->mu);
    if (status == kStatusFailed) run->any_failed = true;
    if (--run->tasks_left == 0) run->cv.notify_all();
  }

  void StartTask(const std::shared_ptr<ExecRun>& run, Task t) {
    Steady::time_point started = Steady::now();
    t.status = std::string(kStatusInProgress);
    if (t.start_time == Clock::time_point{}) t.start_time = NowMs();
    executions->UpdateTask(t);
    observer->OnTaskStart(run->policy.name);
    auto finish = [&](const std::string& status, const std::string& text) {
      observer->OnTaskFinish(run->policy.name, status, Since(started));
      EndTask(run, t, status, text);
    };
    if (t.operation == kOperationDeletion) {
      Status s = run->policy.PushMode() ? DeleteAtDestination(run, t) : DeleteLocally(t);
      finish(std::string(s.ok() ? kStatusSucceed : kStatusFailed), s.ok() ? "" : s.message());
      return;
    }
    bool push = run->policy.PushMode();
    auto copy = push ? PrepareCopy(*store, run->policy, t)
                     : PreparePull(*run->dest->client, run->policy, t, run->stop.get_token());
    if (!copy.ok()) {
      finish(std::string(kStatusFailed), copy.status().message());
      return;
    }
    if (!push) {
      // Pull mode: this instance is the destination.
      std::string ref = t.tags.empty() ? copy->top.reference : t.tags.front();
      auto have = store->GetManifest(t.dst_repo, ref);
      if (have.ok() && have->digest.str() == copy->top.digest) {
        finish(std::string(kStatusSucceed), "already here");
        return;
      }
      if (have.ok() && !run->policy.override) {
        finish(std::string(kStatusSucceed), "skipped: exists here and override is off");
        return;
      }
    }
    // Manifest HEAD at the destination first: nothing to do when it is there.
    if (push) {
      client::Call call;
      call.stop = run->stop.get_token();
      std::string ref = t.tags.empty() ? copy->top.reference : t.tags.front();
      auto head = run->dest->client->HeadManifest(call, t.dst_repo, ref);
      if (head.ok()) {
        if (head->digest.str() == copy->top.digest && AllTagsThere(run, t, copy->top.digest)) {
          TaskLog(t, "the destination already has " + t.dst_resource + " (" + copy->top.digest + ")");
          finish(std::string(kStatusSucceed), "already at the destination");
          return;
        }
        if (head->digest.str() != copy->top.digest && !run->policy.override) {
          TaskLog(t, "skipped: " + t.dst_resource + " exists with another digest and override is off");
          finish(std::string(kStatusSucceed), "skipped: exists at the destination and override is off");
          return;
        }
      } else if (head.status().code() != Code::kNotFound) {
        if (call.error.kind == client::ErrorKind::kCancelled) {
          finish(std::string(kStatusStopped), "stopped");
          return;
        }
        observer->OnFailure(run->dest->endpoint.name, run->policy.name, ReasonOf(call.error.kind));
        // Not fatal: the blob steps will retry and tell.
        TaskLog(t, "manifest HEAD failed: " + head.status().message());
      }
    }
    auto tr = std::make_shared<TaskRun>();
    tr->task = std::move(t);
    tr->exec = run;
    tr->copy = std::move(*copy);
    tr->started = started;
    uint64_t bytes = 0;
    for (const auto& b : tr->copy.blobs) bytes += b.size;
    tr->remaining = tr->copy.blobs.size();
    tr->remaining_bytes = bytes;
    run->bytes_total += bytes;
    run->bytes_pending += bytes;
    run->blobs_pending += tr->copy.blobs.size();
    ReportPending(run);
    TaskLog(tr->task, "copying " + tr->task.src_resource + " to " + tr->task.dst_resource + ": " +
                          std::to_string(tr->copy.blobs.size()) + " blob(s), " + std::to_string(bytes) + " bytes");
    if (tr->copy.blobs.empty()) {
      CompleteTask(tr);
      return;
    }
    auto self = shared_from_this();
    run->dest->gate->Enter(tr->task.id, bytes, run->stop.get_token(), [self, tr] {
      for (const auto& b : tr->copy.blobs) self->Submit(tr, b);
    });
  }

  bool AllTagsThere(const std::shared_ptr<ExecRun>& run, const Task& t, const std::string& digest) {
    for (size_t i = 1; i < t.tags.size(); ++i) {
      client::Call call;
      call.stop = run->stop.get_token();
      auto h = run->dest->client->HeadManifest(call, t.dst_repo, t.tags[i]);
      if (!h.ok() || h->digest.str() != digest) return false;
    }
    return true;
  }

  void ReportPending(const std::shared_ptr<ExecRun>& run) {
    observer->SetPending(run->dest->endpoint.name, run->policy.name, run->bytes_pending.load(),
                         run->blobs_pending.load());
  }

  void Submit(const std::shared_ptr<TaskRun>& tr, const BlobJob& job) {
    auto self = shared_from_this();
    tr->exec->dest->pool->Submit(tr->remaining_bytes.load(), [self, tr, job] { self->RunBlob(tr, job); });
  }

  void RunBlob(const std::shared_ptr<TaskRun>& tr, const BlobJob& job) {
    auto& run = tr->exec;
    Destination& d = *run->dest;
    if (run->stop.stop_requested()) {
      BlobFinished(tr, job, Status::Internal("stopped"), Steady::now());
      return;
    }
    std::string digest = job.digest.str();
    {
      std::lock_guard lock(d.mu);
      auto it = d.inflight.find(digest);
      if (it != d.inflight.end()) {
        // One upload per (destination, digest): wait for it, then mount or skip.
        auto self = shared_from_this();
        it->second.push_back([self, tr, job] { self->Submit(tr, job); });
        return;
      }
      d.inflight[digest];
    }
    auto t0 = Steady::now();
    SendEnv env;
    env.store = store.get();
    env.client = d.client.get();
    env.progress = progress.get();
    env.observer = observer.get();
    env.link = &d.link;
    env.limiter = run->limiter.get();
    env.stop = run->stop.get_token();
    env.dest_id = d.endpoint.id;
    env.dest_name = d.endpoint.name;
    env.policy_name = run->policy.name;
    env.chunk_size = options.chunk_size;
    env.retry = options.retry;
    env.on_bytes = [run](uint64_t n) { run->bytes_sent += n; };
    env.log = [this, tr](const std::string& line) { TaskLog(tr->task, line); };
    observer->OnTransferStart(d.endpoint.name);
    auto r = run->policy.PushMode() ? SendBlob(env, job) : FetchBlob(env, job);
    observer->OnTransferEnd(d.endpoint.name);
    std::vector<std::function<void()>> waiters;
    {
      std::lock_guard lock(d.mu);
      auto it = d.inflight.find(digest);
      waiters = std::move(it->second);
      d.inflight.erase(it);
    }
    for (auto& w : waiters) w();
    // Credited only now: bytes written to a socket may still sit in buffers
    // on the way (megabytes on a slow link), so "sent" is not "arrived".
    d.gate->Sent(tr->task.id, job.size);
    BlobFinished(tr, job, r.ok() ? Result<BlobOutcome>(*r) : Result<BlobOutcome>(r.status()), t0);
  }

  void BlobFinished(const std::shared_ptr<TaskRun>& tr, const BlobJob& job, const Result<BlobOutcome>& r,
                    Steady::time_point t0) {
    auto& run = tr->exec;
    bool stopped = run->stop.stop_requested() && !r.ok();
    if (!stopped) {
      BlobOutcome o = r.ok() ? *r : BlobOutcome::kFailed;
      observer->OnBlob(run->dest->endpoint.name, run->policy.name, o, job.size, Since(t0));
      TaskLog(tr->task, "blob " + job.digest.str() + " (" + std::to_string(job.size) + " bytes): " +
                            BlobOutcomeName(o) + (r.ok() ? "" : ": " + r.status().message()));
    }
    if (!r.ok()) {
      std::lock_guard lock(tr->mu);
      tr->failed = true;
      if (tr->error.empty()) tr->error = r.status().message();
    }
    run->bytes_pending -= std::min(run->bytes_pending.load(), job.size);
    run->blobs_pending -= std::min<uint64_t>(run->blobs_pending.load(), 1);
    run->blobs_done += 1;
    tr->remaining_bytes -= std::min(tr->remaining_bytes.load(), job.size);
    ReportPending(run);
    if (--tr->remaining == 0) CompleteTask(tr);
  }

  void CompleteTask(const std::shared_ptr<TaskRun>& tr) {
    auto& run = tr->exec;
    run->dest->gate->Leave(tr->task.id);
    auto finish = [&](const std::string& status, const std::string& text) {
      observer->OnTaskFinish(run->policy.name, status, Since(tr->started));
      EndTask(run, tr->task, status, text);
    };
    if (run->stop.stop_requested()) return finish(std::string(kStatusStopped), "stopped");
    if (tr->failed) return finish(std::string(kStatusFailed), tr->error);
    Status s = PushManifests(run, tr);
    if (run->stop.stop_requested() && !s.ok()) return finish(std::string(kStatusStopped), "stopped");
    finish(std::string(s.ok() ? kStatusSucceed : kStatusFailed), s.ok() ? "" : s.message());
  }

  // Runs `op` with retries on transient failures.
  template <class Op>
  Status WithRetry(const std::shared_ptr<ExecRun>& run, Op op) {
    Backoff backoff(options.retry);
    for (;;) {
      client::Call call;
      call.stop = run->stop.get_token();
      Status s = op(call);
      if (s.ok()) return s;
      if (call.error.kind == client::ErrorKind::kCancelled) return s;
      observer->OnFailure(run->dest->endpoint.name, run->policy.name, ReasonOf(call.error.kind));
      if (!backoff.ShouldRetry(call.error) || !backoff.Wait(call.error, call.stop)) return s;
    }
  }

  Status PushManifests(const std::shared_ptr<ExecRun>& run, const std::shared_ptr<TaskRun>& tr) {
    if (!run->policy.PushMode()) return StoreManifests(tr);
    auto& c = *run->dest->client;
    const Task& t = tr->task;
    for (const auto& m : tr->copy.children) {
      Status s = WithRetry(run, [&](client::Call& call) {
        return c.PutManifest(call, t.dst_repo, m.reference, m.media_type, m.bytes).status();
      });
      if (!s.ok()) return s;
    }
    std::vector<std::string> refs = t.tags;
    if (refs.empty()) refs.push_back(tr->copy.top.reference);
    for (const auto& ref : refs) {
      Status s = WithRetry(run, [&](client::Call& call) {
        return c.PutManifest(call, t.dst_repo, ref, tr->copy.top.media_type, tr->copy.top.bytes).status();
      });
      if (!s.ok()) return s;
    }
    TaskLog(t, "manifest " + tr->copy.top.digest + " pushed as " + t.dst_resource);
    return Status::OK();
  }

  // Pull mode: the manifests go into this instance's store, children first;
  // then the push events fire, so push policies chain (Harbor → Pier → ACR).
  Status StoreManifests(const std::shared_ptr<TaskRun>& tr) {
    const Task& t = tr->task;
    auto put = [&](const ManifestToPush& m, std::optional<std::string_view> tag) -> Status {
      auto parsed = ParseManifest(m.media_type, m.bytes);
      if (!parsed.ok()) return parsed.status();
      auto d = store->PutManifest(t.dst_repo, tag, parsed->media_type, m.bytes, *parsed);
      return d.ok() ? Status::OK() : d.status();
    };
    for (const auto& m : tr->copy.children) {
      if (Status s = put(m, std::nullopt); !s.ok()) return s;
    }
    if (t.tags.empty()) {
      if (Status s = put(tr->copy.top, std::nullopt); !s.ok()) return s;
      OnLocalPush(t.dst_repo, tr->copy.top.digest);
    }
    for (const auto& tag : t.tags) {
      if (Status s = put(tr->copy.top, tag); !s.ok()) return s;
      OnLocalPush(t.dst_repo, tag);
    }
    TaskLog(t, "manifest " + tr->copy.top.digest + " stored as " + t.dst_resource);
    return Status::OK();
  }

  Status DeleteLocally(const Task& t) {
    std::vector<std::string> refs = t.tags;
    if (refs.empty()) refs.push_back(t.digest);
    for (const auto& ref : refs) {
      auto m = store->GetManifest(t.dst_repo, ref);
      if (!m.ok()) continue;  // already gone
      Status s = store->DeleteManifest(t.dst_repo, m->digest);
      if (!s.ok() && s.code() != Code::kNotFound) return s;
      TaskLog(t, "deleted " + t.dst_repo + "@" + m->digest.str());
    }
    return Status::OK();
  }

  // A push on this instance (from a client or from a pull-mode task).
  void OnLocalPush(std::string_view repo, std::string_view reference) {
    auto policies = repl->ListPolicies();
    if (!policies.ok()) return;
    for (const Policy& p : *policies) {
      if (!p.enabled || p.trigger.type != kTriggerEventBased || !p.PushMode()) continue;
      if (!MatchRepository(p.filters, repo)) continue;
      auto s = Start(p.id, kTriggerEventBased, std::string(repo), std::string(reference), false);
      if (!s.ok()) log::Warn("event replication did not start", {{"policy", p.name}, {"error", s.status().message()}});
    }
  }

  Status DeleteAtDestination(const std::shared_ptr<ExecRun>& run, const Task& t) {
    auto& c = *run->dest->client;
    std::vector<std::string> refs = t.tags;
    if (refs.empty()) refs.push_back(t.digest);
    std::set<std::string> digests;
    for (const auto& ref : refs) {
      client::Call call;
      call.stop = run->stop.get_token();
      auto h = c.HeadManifest(call, t.dst_repo, ref);
      if (h.ok()) digests.insert(h->digest.str());
      else if (h.status().code() != Code::kNotFound) return h.status();
    }
    for (const auto& d : digests) {
      auto parsed = Digest::Parse(d);
      if (!parsed.ok()) continue;
      Status s = WithRetry(run, [&](client::Call& call) {
        Status r = c.DeleteManifest(call, t.dst_repo, *parsed);
        return r.code() == Code::kNotFound ? Status::OK() : r;
      });
      if (!s.ok()) return s;
      TaskLog(t, "deleted " + t.dst_repo + "@" + d + " at the destination");
    }
    if (digests.empty()) TaskLog(t, "nothing to delete: " + t.dst_resource + " is not at the destination");
    return Status::OK();
  }

  // ---- scheduler: cron triggers, and joining finished runner threads ----
  void Schedule() {
    std::map<int64_t, Clock::time_point> next;  // policy id → next fire time
    std::unique_lock lock(mu);
    while (!closing) {
      cv.wait_for(lock, std::chrono::milliseconds(500));
      std::vector<std::thread> done = std::move(finished_runners);
      finished_runners.clear();
      lock.unlock();
      for (auto& t : done) {
        if (t.joinable()) t.join();
      }
      auto policies = repl->ListPolicies();
      auto now = Clock::now();
      if (policies.ok()) {
        std::map<int64_t, Clock::time_point> seen;
        for (const Policy& p : *policies) {
          if (!p.enabled || p.trigger.type != kTriggerScheduled) continue;
          auto cron = CronSchedule::Parse(p.trigger.cron);
          if (!cron.ok()) continue;
          auto it = next.find(p.id);
          Clock::time_point at = it != next.end() ? it->second : cron->Next(now);
          if (at <= now) {
            auto started = Start(p.id, kTriggerScheduled, "", "", false);
            if (!started.ok()) {
              log::Warn("scheduled replication did not start",
                        {{"policy", p.name}, {"error", started.status().message()}});
            }
            at = cron->Next(now);
          }
          seen[p.id] = at;
        }
        next = std::move(seen);
      }
      lock.lock();
    }
  }

  // A stopped execution's waiting images must not queue behind other executions.
  // run->dest is set once by the runner thread; before that no task has entered.
  void WakeGate(const std::shared_ptr<ExecRun>& run) {
    std::shared_ptr<Destination> d;
    {
      std::lock_guard lock(run->mu);
      d = run->dest;
    }
    if (d) d->gate->Wake();
  }

  void Shutdown() {
    std::vector<std::shared_ptr<ExecRun>> active;
    {
      std::lock_guard lock(mu);
      closing = true;
      for (auto& [id, r] : runs) active.push_back(r);
    }
    cv.notify_all();
    if (scheduler.joinable()) scheduler.join();
    for (auto& r : active) {
      r->shutdown = true;
      r->stop.request_stop();
    }
    for (auto& r : active) WakeGate(r);
    // Runners end once their queued jobs have run (each returns at once).
    for (;;) {
      std::vector<std::thread> done;
      {
        std::unique_lock lock(mu);
        cv.wait_for(lock, std::chrono::milliseconds(200), [&] { return runs.empty(); });
        done = std::move(finished_runners);
        finished_runners.clear();
        if (runs.empty() && done.empty()) break;
      }
      for (auto& t : done) {
        if (t.joinable()) t.join();
      }
    }
    std::lock_guard lock(mu);
    dests.clear();
    retired.clear();
  }
};

Engine::Engine(std::shared_ptr<Store> store, std::shared_ptr<ReplicationStore> repl,
               std::shared_ptr<ExecutionStore> executions, std::shared_ptr<ProgressStore> progress,
               std::shared_ptr<ReplicationObserver> observer, EngineOptions options)
    : impl_(std::make_shared<Impl>()) {
  impl_->store = std::move(store);
  impl_->repl = std::move(repl);
  impl_->executions = std::move(executions);
  impl_->progress = std::move(progress);
  impl_->observer = observer ? std::move(observer) : std::make_shared<NullObserver>();
  impl_->options = options;
  impl_->scheduler = std::thread([impl = impl_.get()] { impl->Schedule(); });
}

Engine::~Engine() { impl_->Shutdown(); }

Result<Execution> Engine::Start(int64_t policy_id, std::string_view trigger) {
  return impl_->Start(policy_id, trigger, "", "", false);
}

Status Engine::Stop(int64_t execution_id) {
  auto e = impl_->executions->GetExecution(execution_id);
  if (!e.ok()) return e.status();
  std::shared_ptr<ExecRun> run;
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->runs.find(execution_id);
    if (it != impl_->runs.end()) run = it->second;
  }
  if (!run) {
    if (IsFinalStatus(e->status)) return Status::OK();  // Harbor: stopping an ended execution is a no-op
    // InProgress but not running here (e.g. resumed later): mark it stopped.
    e->status = std::string(kStatusStopped);
    e->end_time = NowMs();
    return impl_->executions->UpdateExecution(*e);
  }
  {
    std::lock_guard lock(run->mu);
    run->exec.stop_requested = true;
  }
  run->stop.request_stop();
  impl_->WakeGate(run);
  return Status::OK();
}

void Engine::ResumeUnfinished() {
  auto list = impl_->executions->Unfinished();
  if (!list.ok()) {
    log::Error("cannot list unfinished replication executions", {{"error", list.status().message()}});
    return;
  }
  for (const Execution& e : *list) {
    auto p = impl_->repl->GetPolicy(e.policy_id);
    if (!p.ok()) {
      Execution f = e;
      f.status = std::string(kStatusFailed);
      f.status_text = "the policy was deleted";
      f.end_time = NowMs();
      impl_->executions->UpdateExecution(f);
      continue;
    }
    log::Info("resuming replication execution", {{"execution", std::to_string(e.id)}, {"policy", p->name}});
    impl_->Launch(e, *p);
  }
}

void Engine::OnPush(std::string_view repo, std::string_view reference, std::string_view digest) {
  (void)digest;
  impl_->OnLocalPush(repo, reference);
}

void Engine::OnDelete(std::string_view repo, std::string_view reference, std::string_view digest) {
  auto policies = impl_->repl->ListPolicies();
  if (!policies.ok()) return;
  for (const Policy& p : *policies) {
    if (!p.enabled || p.trigger.type != kTriggerEventBased || !p.PushMode() || !p.replicate_deletion) continue;
    if (!MatchRepository(p.filters, repo)) continue;
    std::string ref(reference.empty() ? digest : reference);
    auto s = impl_->Start(p.id, kTriggerEventBased, std::string(repo), ref, true);
    if (!s.ok()) log::Warn("event replication did not start", {{"policy", p.name}, {"error", s.status().message()}});
  }
}

namespace {
// "http://h:5000/" → "h:5000".
std::string HostPort(std::string_view url) {
  if (auto p = url.find("://"); p != std::string_view::npos) url.remove_prefix(p + 3);
  return std::string(url.substr(0, url.find('/')));
}
}  // namespace

void Engine::OnHarborEvent(std::string_view repo, std::string_view reference, bool deletion,
                           std::string_view source_host) {
  auto policies = impl_->repl->ListPolicies();
  if (!policies.ok()) return;
  for (const Policy& p : *policies) {
    if (!p.enabled || p.trigger.type != kTriggerEventBased || !p.PullMode()) continue;
    if (deletion && !p.replicate_deletion) continue;
    auto src = impl_->repl->GetEndpoint(p.src_registry_id);
    if (!src.ok() || src->type != kTypeHarbor) continue;
    if (!source_host.empty() && HostPort(src->url) != source_host) continue;
    if (!MatchRepository(p.filters, repo)) continue;
    auto s = impl_->Start(p.id, kTriggerEventBased, std::string(repo), std::string(reference), deletion);
    if (!s.ok()) log::Warn("webhook replication did not start", {{"policy", p.name}, {"error", s.status().message()}});
  }
}

std::optional<LiveProgress> Engine::Progress(int64_t execution_id) const {
  std::lock_guard lock(impl_->mu);
  auto it = impl_->runs.find(execution_id);
  if (it == impl_->runs.end()) return std::nullopt;
  const ExecRun& r = *it->second;
  LiveProgress p;
  p.bytes_total = r.bytes_total.load();
  p.bytes_sent = r.bytes_sent.load();
  p.bytes_pending = r.bytes_pending.load();
  p.blobs_pending = r.blobs_pending.load();
  p.blobs_done = r.blobs_done.load();
  return p;
}

void Engine::ForgetDestination(int64_t registry_id) {
  {
    std::lock_guard lock(impl_->mu);
    auto it = impl_->dests.find(registry_id);
    if (it != impl_->dests.end()) {
      impl_->retired.push_back(std::move(it->second));
      impl_->dests.erase(it);
    }
  }
  impl_->progress->ForgetDestination(registry_id);
}

}  // namespace pier::replication
