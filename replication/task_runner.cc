// The task and blob level of the Runner: a task's blobs go to the
// destination's worker pool through its image gate, one transfer per digest
// at a time; its manifests follow once every blob is there.
#include <thread>

#include "base/internal_errors.h"
#include "replication/direction.h"
#include "replication/harbor_time.h"
#include "replication/runner.h"

namespace pier::replication {

void Runner::TaskLog(const Task& t, const std::string& line) {
  d_.executions->AppendLog(t.id, FormatTime(NowMs()) + " " + line);
}

void Runner::EndTask(const std::shared_ptr<ExecRun>& run, Task& t, const std::string& status, const std::string& text) {
  bool shutdown = run->shutdown.load() && status == kStatusStopped;
  if (!shutdown) {  // a shutdown leaves the task InProgress, to resume
    t.status = status;
    t.status_text = text;
    t.end_time = NowMs();
    if (Status s = d_.executions->UpdateTask(t); !s.ok()) {
      ReportInternalError("replication", "recording task " + std::to_string(t.id) + " as " + status, s);
    }
    TaskLog(t, status + (text.empty() ? "" : ": " + text));
  }
  std::lock_guard lock(run->mu);
  if (status == kStatusFailed) run->any_failed = true;
  if (--run->tasks_left == 0) run->cv.notify_all();
}

void Runner::StartTask(const std::shared_ptr<ExecRun>& run, Task t) {
  auto started = d_.clock->Steady();
  auto stop = run->stop.get_token();
  Direction& dir = *run->direction;
  auto finish = [&](const std::string& status, const std::string& text) {
    d_.observer->OnTaskFinish(run->policy.name, status, Since(started));
    EndTask(run, t, status, text);
  };
  t.status = std::string(kStatusInProgress);
  if (t.start_time == std::chrono::system_clock::time_point{}) t.start_time = NowMs();
  d_.observer->OnTaskStart(run->policy.name);
  if (Status s = d_.executions->UpdateTask(t); !s.ok()) {
    // Unrecorded work would be invisible and not resumable: fail it, saying why.
    return finish(std::string(kStatusFailed), "recording the task: " + s.message());
  }
  auto log = [this, &t](const std::string& line) { TaskLog(t, line); };
  if (t.operation == kOperationDeletion) {
    Status s = dir.Delete(t, log, stop);
    return finish(std::string(s.ok() ? kStatusSucceed : kStatusFailed), s.ok() ? "" : s.message());
  }
  if (run->resumed) log("resumed after a restart");
  auto copy = dir.Prepare(t, stop);
  if (!copy.ok()) return finish(std::string(kStatusFailed), copy.status().message());
  // The cheap checks before the image waits for the link, all at once: the
  // manifest HEAD beside every blob's HEAD (and, when the link is free, its
  // upload session). An image already there, or whose blobs all are, never
  // queues behind another image's upload.
  Destination& dest = *run->dest;
  bool link_free = dest.gate->admitted_unsent() == 0 && dest.gate->waiting() == 0;
  std::vector<BlobCheck> checks;
  std::optional<TaskEnd> end;
  {
    SendEnv env = MakeSendEnv(run, log);
    std::jthread blobs([&] { checks = dir.CheckBlobs(env, copy->blobs, link_free); });
    end = dir.Settled(t, *copy, log, stop);
  }
  if (end) {
    for (auto& b : copy->blobs) {
      if (!b.session) continue;
      client::Call call;
      call.stop = stop;
      (void)dest.client->CancelUpload(call, b.dst_repo, b.session->location);  // best effort: it expires
      if (Status s = d_.progress->DeleteUpload(dest.endpoint.id, b.digest.str()); !s.ok()) {
        ReportInternalError("replication", "forgetting the upload session of " + b.digest.str(), s);
      }
    }
    return finish(end->status, end->text);
  }
  size_t present = 0;
  for (BlobCheck c : checks) present += c == BlobCheck::kPresent;
  if (present > 0) {
    log(std::to_string(present) + " of " + std::to_string(checks.size()) + " blobs already at the destination");
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
  for (const auto& b : tr->copy.blobs) (void)run->progress.Add(b.digest.str(), b.size);
  ReportPending(*run);
  TaskLog(tr->task, "copying " + tr->task.src_resource + " to " + tr->task.dst_resource + ": " +
                        std::to_string(tr->copy.blobs.size()) + " blob(s), " + std::to_string(bytes) + " bytes");
  if (tr->copy.blobs.empty()) return CompleteTask(tr);
  // Found present: done here. The rest wait for the link with only their bytes.
  std::vector<BlobJob> missing;
  uint64_t missing_bytes = 0;
  for (size_t i = 0; i < tr->copy.blobs.size(); ++i) {
    if (checks.size() == tr->copy.blobs.size() && checks[i] == BlobCheck::kPresent) continue;
    missing.push_back(tr->copy.blobs[i]);
    missing_bytes += tr->copy.blobs[i].size;
  }
  if (missing.size() < tr->copy.blobs.size()) {
    auto now = d_.clock->Steady();
    for (size_t i = 0; i < tr->copy.blobs.size(); ++i) {
      if (checks[i] == BlobCheck::kPresent) BlobFinished(tr, tr->copy.blobs[i], BlobOutcome::kSkipped, now);
    }
  }
  if (missing.empty()) return;  // the last BlobFinished completed the task
  run->dest->gate->Enter(tr->task.id, missing_bytes, stop,
                         [self = shared_from_this(), tr, missing = std::move(missing)] {
                           for (const auto& b : missing) self->Submit(tr, b);
                         });
}

SendEnv Runner::MakeSendEnv(const std::shared_ptr<ExecRun>& run, std::function<void(const std::string&)> log) {
  Destination& d = *run->dest;
  SendEnv env;
  env.store = d_.store.get();
  env.client = d.client.get();
  env.progress = d_.progress.get();
  env.observer = d_.observer.get();
  env.link = &d.link;
  env.limiter = run->limiter.get();
  env.stop = run->stop.get_token();
  env.dest_id = d.endpoint.id;
  env.dest_name = d.endpoint.name;
  env.policy_name = run->policy.name;
  env.chunk_size = d_.options.chunk_size;
  env.retry = d_.options.retry;
  env.log = std::move(log);  // on_bytes/on_present are per blob (RunBlob)
  return env;
}

void Runner::ReportPending(const ExecRun& run) {
  d_.observer->SetPending(run.dest->endpoint.name, run.policy.name, run.progress.MovingBytes(),
                          run.progress.Snapshot().blobs_pending);
}

void Runner::Submit(const std::shared_ptr<TaskRun>& tr, const BlobJob& job) {
  Destination& d = *tr->exec->dest;
  WorkerPool& pool = job.size < kSmallBlobBytes ? *d.small_pool : *d.pool;
  pool.Submit(tr->remaining_bytes.load(), [self = shared_from_this(), tr, job] { self->RunBlob(tr, job); });
}

void Runner::RunBlob(const std::shared_ptr<TaskRun>& tr, const BlobJob& job) {
  auto& run = tr->exec;
  Destination& d = *run->dest;
  if (run->stop.stop_requested()) {
    BlobFinished(tr, job, Status::Internal("stopped"), d_.clock->Steady());
    return;
  }
  std::string digest = job.digest.str();
  {
    std::lock_guard lock(d.mu);
    auto it = d.inflight.find(digest);
    if (it != d.inflight.end()) {
      // One transfer per (destination, digest): wait for it, then mount or skip.
      it->second.push_back([self = shared_from_this(), tr, job] { self->Submit(tr, job); });
      return;
    }
    d.inflight[digest];
  }
  auto t0 = d_.clock->Steady();
  SendEnv env = MakeSendEnv(run, [this, tr](const std::string& line) { TaskLog(tr->task, line); });
  env.on_bytes = [this, run, digest](uint64_t n) {
    run->progress.Acknowledged(digest, n);
    ReportPending(*run);  // the pending gauge (and ETA) move with each acknowledgement
  };
  env.on_present = [run, digest](uint64_t n) { run->progress.AlreadyThere(digest, n); };
  d_.observer->OnTransferStart(d.endpoint.name);
  auto r = run->direction->MoveBlob(env, job);
  d_.observer->OnTransferEnd(d.endpoint.name);
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
  BlobFinished(tr, job, r, t0);
}

void Runner::BlobFinished(const std::shared_ptr<TaskRun>& tr, const BlobJob& job, const Result<BlobOutcome>& r,
                          std::chrono::steady_clock::time_point t0) {
  auto& run = tr->exec;
  bool stopped = run->stop.stop_requested() && !r.ok();
  if (!stopped) {
    BlobOutcome o = r.ok() ? *r : BlobOutcome::kFailed;
    d_.observer->OnBlob(run->dest->endpoint.name, run->policy.name, o, job.size, Since(t0));
    TaskLog(tr->task, "blob " + job.digest.str() + " (" + std::to_string(job.size) + " bytes): " +
                          BlobOutcomeName(o) + (r.ok() ? "" : ": " + r.status().message()));
  }
  if (!r.ok()) {
    std::lock_guard lock(tr->mu);
    tr->failed = true;
    if (tr->error.empty()) tr->error = r.status().message();
  }
  run->progress.Finished(job.digest.str(), r.ok() ? *r : BlobOutcome::kFailed);
  tr->remaining_bytes -= std::min(tr->remaining_bytes.load(), job.size);
  ReportPending(*run);
  if (--tr->remaining == 0) CompleteTask(tr);
}

void Runner::CompleteTask(const std::shared_ptr<TaskRun>& tr) {
  auto& run = tr->exec;
  run->dest->gate->Leave(tr->task.id);
  auto finish = [&](const std::string& status, const std::string& text) {
    d_.observer->OnTaskFinish(run->policy.name, status, Since(tr->started));
    EndTask(run, tr->task, status, text);
  };
  if (run->stop.stop_requested()) return finish(std::string(kStatusStopped), "stopped");
  bool failed;
  std::string error;
  {
    std::lock_guard lock(tr->mu);
    failed = tr->failed;
    error = tr->error;
  }
  if (failed) return finish(std::string(kStatusFailed), error);
  auto log = [this, &tr](const std::string& line) { TaskLog(tr->task, line); };
  Status s = run->direction->PutManifests(tr->task, tr->copy, log, run->stop.get_token());
  if (run->stop.stop_requested() && !s.ok()) return finish(std::string(kStatusStopped), "stopped");
  finish(std::string(s.ok() ? kStatusSucceed : kStatusFailed), s.ok() ? "" : s.message());
}

}  // namespace pier::replication
