// The task and blob level of the Runner: a task's blobs go to the
// destination's worker pool through its image gate, one transfer per digest
// at a time; its manifests follow once every blob is there.
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "base/internal_errors.h"
#include "replication/direction.h"
#include "base/harbor_time.h"
#include "replication/runner.h"

namespace pier::replication {
namespace {

// Hands a task's blobs to the workers, each once, when both its check ended
// (Checked) and the image was admitted to the link (Open), whichever comes
// last. Thread-safe: checks end on checking threads, the gate admits on
// whichever thread let the image in.
class BlobDispatch {
 public:
  BlobDispatch(size_t n, std::function<void(size_t)> submit) : checked_(n, false), submit_(std::move(submit)) {}

  void Checked(size_t i) {
    {
      std::lock_guard lock(mu_);
      if (checked_[i]) return;
      checked_[i] = true;
      if (!open_) return;
    }
    submit_(i);
  }

  void Open() {
    std::vector<size_t> ready;
    {
      std::lock_guard lock(mu_);
      open_ = true;
      for (size_t i = 0; i < checked_.size(); ++i) {
        if (checked_[i]) ready.push_back(i);
      }
    }
    for (size_t i : ready) submit_(i);
  }

 private:
  std::mutex mu_;
  bool open_ = false;
  std::vector<bool> checked_;
  std::function<void(size_t)> submit_;
};

}  // namespace

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
  auto tr = std::make_shared<TaskRun>();
  tr->task = std::move(t);
  tr->exec = run;
  tr->started = started;
  Task& task = tr->task;
  auto finish = [&](const std::string& status, const std::string& text) {
    d_.observer->OnTaskFinish(run->policy.name, status, Since(started));
    EndTask(run, task, status, text);
  };
  task.status = std::string(kStatusInProgress);
  if (task.start_time == std::chrono::system_clock::time_point{}) task.start_time = NowMs();
  d_.observer->OnTaskStart(run->policy.name);
  if (Status s = d_.executions->UpdateTask(task); !s.ok()) {
    // Unrecorded work would be invisible and not resumable: fail it, saying why.
    return finish(std::string(kStatusFailed), "recording the task: " + s.message());
  }
  auto log = [this, &task](const std::string& line) { TaskLog(task, line); };
  if (task.operation == kOperationDeletion) {
    Status s = dir.Delete(task, log, stop);
    return finish(std::string(s.ok() ? kStatusSucceed : kStatusFailed), s.ok() ? "" : s.message());
  }
  if (run->resumed) log("resumed after a restart");
  auto copy = dir.Prepare(task, stop);
  if (!copy.ok()) return finish(std::string(kStatusFailed), copy.status().message());
  tr->copy = std::move(*copy);
  std::vector<BlobJob>& blobs = tr->copy.blobs;
  // The cheap checks before the image waits for the link, all at once: the
  // manifest HEAD beside every blob's HEAD (and, when the link is free, its
  // upload session). An image already there, or whose blobs all are, never
  // queues behind another image's upload. With the link free the image is
  // admitted at once, and each blob goes to the workers as soon as its own
  // check ends (and the manifest HEAD said the image is not there yet), not
  // when the slowest check of the image does.
  Destination& dest = *run->dest;
  bool link_free = dest.gate->admitted_unsent() == 0 && dest.gate->waiting() == 0;
  auto dispatch = std::make_shared<BlobDispatch>(
      blobs.size(), [self = shared_from_this(), tr](size_t i) { self->Submit(tr, tr->copy.blobs[i]); });
  std::vector<BlobCheck> checks;
  std::optional<TaskEnd> end;
  uint64_t admitted_bytes = 0;  // early: what the gate counts for the image
  {
    SendEnv env = MakeSendEnv(run, log);
    std::function<void(size_t)> checked;
    if (link_free) checked = [dispatch](size_t i) { dispatch->Checked(i); };
    std::jthread check_thread([&] { checks = dir.CheckBlobs(env, blobs, link_free, checked); });
    end = dir.Settled(task, tr->copy, log, stop);
    if (!end && link_free && !blobs.empty()) {
      Account(tr);
      // Admitted with every blob's bytes; those found present are credited below.
      admitted_bytes = tr->remaining_bytes.load();
      dest.gate->Enter(task.id, admitted_bytes, stop, [dispatch] { dispatch->Open(); });
    }
  }
  if (end) {
    for (auto& b : blobs) {
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
  bool early = link_free && !blobs.empty();
  if (!early) Account(tr);
  if (blobs.empty()) return CompleteTask(tr);
  bool known = checks.size() == blobs.size();
  size_t present = 0;
  for (size_t i = 0; known && i < blobs.size(); ++i) present += checks[i] == BlobCheck::kPresent;
  if (present > 0) {
    log(std::to_string(present) + " of " + std::to_string(checks.size()) + " blobs already at the destination");
  }
  // Found present: done here. The rest go (or went) to the workers.
  uint64_t missing_bytes = 0;
  std::vector<size_t> present_blobs;
  for (size_t i = 0; i < blobs.size(); ++i) {
    if (known && checks[i] == BlobCheck::kPresent) {
      present_blobs.push_back(i);
    } else {
      missing_bytes += blobs[i].size;
      dispatch->Checked(i);  // once per blob: a second call is ignored
    }
  }
  if (!early) {
    if (missing_bytes > 0) dest.gate->Enter(task.id, missing_bytes, stop, [dispatch] { dispatch->Open(); });
  } else if (missing_bytes < admitted_bytes) {
    dest.gate->Sent(task.id, admitted_bytes - missing_bytes);
  }
  // Last: the final BlobFinished may complete the task (and end `task`'s use here).
  auto now = d_.clock->Steady();
  for (size_t i : present_blobs) BlobFinished(tr, blobs[i], BlobOutcome::kSkipped, now);
}

void Runner::Account(const std::shared_ptr<TaskRun>& tr) {
  auto& run = tr->exec;
  uint64_t bytes = 0;
  for (const auto& b : tr->copy.blobs) bytes += b.size;
  tr->remaining = tr->copy.blobs.size();
  tr->remaining_bytes = bytes;
  for (const auto& b : tr->copy.blobs) (void)run->progress.Add(b.digest.str(), b.size);
  ReportPending(*run);
  TaskLog(tr->task, "copying " + tr->task.src_resource + " to " + tr->task.dst_resource + ": " +
                        std::to_string(tr->copy.blobs.size()) + " blob(s), " + std::to_string(bytes) + " bytes");
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
