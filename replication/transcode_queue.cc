#include "replication/transcode_queue.h"

#include <chrono>

namespace pier::replication {

TranscodeQueue::TranscodeQueue(std::shared_ptr<transcode::Transcoder> transcoder)
    : transcoder_(std::move(transcoder)), thread_([this](std::stop_token stop) { Loop(stop); }) {}

TranscodeQueue::~TranscodeQueue() {
  thread_.request_stop();
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& j : jobs_) {
    j.promise.set_value(Status::Unavailable("stopped"));
    transcoder_->NoteQueued(-1);
  }
}

TranscodeQueue::Future TranscodeQueue::Submit(std::string repo, Digest source, int level) {
  Job job{std::move(repo), std::move(source), level, {}};
  Future f = job.promise.get_future().share();
  {
    std::lock_guard lock(mu_);
    jobs_.push_back(std::move(job));
  }
  transcoder_->NoteQueued(1);
  cv_.notify_one();
  return f;
}

void TranscodeQueue::Loop(std::stop_token stop) {
  for (;;) {
    Job job;
    {
      std::unique_lock lock(mu_);
      if (!cv_.wait(lock, stop, [this] { return !jobs_.empty(); })) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
    }
    auto r = transcoder_->Ensure(job.repo, job.source, job.level, stop);
    transcoder_->NoteQueued(-1);  // after: "queued" covers the run, so queued == 0 means idle
    job.promise.set_value(std::move(r));
  }
}

Result<transcode::Transcoded> TranscodeQueue::Wait(const Future& f, std::stop_token stop) {
  // A future cannot be woken by a stop token: look every 100 ms, which is
  // far below what a stop is expected to take.
  while (f.wait_for(std::chrono::milliseconds(100)) != std::future_status::ready) {
    if (stop.stop_requested()) return Status::Unavailable("stopped");
  }
  return f.get();
}

}  // namespace pier::replication
