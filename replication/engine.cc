// Engine: wires the parts together — the runner carries executions out,
// the triggers start them, one scheduler thread ticks cron and joins the
// threads of ended executions.
#include "replication/engine.h"

#include <condition_variable>

#include "base/internal_errors.h"
#include "replication/runner.h"
#include "replication/triggers.h"

namespace pier::replication {

struct Engine::Impl {
  std::shared_ptr<Runner> runner;
  std::unique_ptr<EventTriggers> events;
  std::unique_ptr<CronTrigger> cron;
  std::mutex mu;  // guards closing; taken alone (run_state.h)
  std::condition_variable cv;
  bool closing = false;
  std::thread scheduler;
  std::function<bool()> may_run;  // EngineOptions::may_run

  void Schedule() {
    std::unique_lock lock(mu);
    while (!closing) {
      // Cron has minute resolution; half a second keeps fires on time
      // without a busy loop, and ended runner threads are joined promptly.
      cv.wait_for(lock, std::chrono::milliseconds(500));
      if (closing) break;
      lock.unlock();
      runner->JoinFinished();
      cron->Tick(!may_run || may_run());
      lock.lock();
    }
  }
};

Engine::Engine(std::shared_ptr<Store> store, std::shared_ptr<ReplicationStore> repl,
               std::shared_ptr<ExecutionStore> executions, std::shared_ptr<ProgressStore> progress,
               std::shared_ptr<ReplicationObserver> observer, EngineOptions options)
    : impl_(std::make_unique<Impl>()) {
  RunnerDeps deps;
  deps.store = std::move(store);
  deps.repl = repl;
  deps.executions = std::move(executions);
  deps.progress = std::move(progress);
  deps.observer = observer ? std::move(observer) : std::make_shared<NullObserver>();
  deps.clients = options.clients
                     ? options.clients
                     : RegistryClientFactory(ClientTuning{options.no_progress_timeout_seconds,
                                                          options.workers_per_destination + 2});
  deps.clock = options.clock ? options.clock : &SystemClock();
  auto transcoder = options.transcoder;
  if (!transcoder) {
    transcode::Transcoder::Options t;
    t.clock = deps.clock;
    auto opened = transcode::Transcoder::Open(deps.store, t);
    if (opened.ok()) transcoder = *opened;
    else ReportInternalError("replication", "opening the transcoder failed: zstd policies will fail", opened.status());
  }
  if (transcoder) deps.transcodes = std::make_shared<TranscodeQueue>(std::move(transcoder));
  // What a pull-mode task stores is a push here: it starts event-based push policies.
  deps.on_stored = [impl = impl_.get()](std::string_view repo, std::string_view ref, std::string_view digest) {
    impl->events->OnPush(repo, ref, digest);
  };
  const Clock& clock = *deps.clock;
  impl_->may_run = options.may_run;
  deps.options = std::move(options);
  impl_->runner = std::make_shared<Runner>(std::move(deps));
  StartFn start = [runner = impl_->runner.get()](int64_t id, std::string_view trigger, const EventScope& scope) {
    return runner->Start(id, trigger, scope);
  };
  impl_->events = std::make_unique<EventTriggers>(repl, start);
  impl_->cron = std::make_unique<CronTrigger>(repl, clock, start);
  impl_->scheduler = std::thread([impl = impl_.get()] { impl->Schedule(); });
}

Engine::~Engine() {
  {
    std::lock_guard lock(impl_->mu);
    impl_->closing = true;
  }
  impl_->cv.notify_all();
  if (impl_->scheduler.joinable()) impl_->scheduler.join();
  impl_->runner->Shutdown();
}

Result<Execution> Engine::Start(int64_t policy_id, std::string_view trigger) {
  return impl_->runner->Start(policy_id, trigger, EventScope{});
}

Status Engine::Stop(int64_t execution_id) { return impl_->runner->Stop(execution_id); }

void Engine::ResumeUnfinished() { impl_->runner->ResumeUnfinished(); }

void Engine::Sync() {
  impl_->runner->SyncStops();
  impl_->runner->ResumeUnfinished();
}

void Engine::Pause() { impl_->runner->Pause(); }

void Engine::OnPush(std::string_view repo, std::string_view reference, std::string_view digest) {
  impl_->events->OnPush(repo, reference, digest);
}

void Engine::OnDelete(std::string_view repo, std::string_view reference, std::string_view digest) {
  impl_->events->OnDelete(repo, reference, digest);
}

void Engine::OnHarborEvent(std::string_view repo, std::string_view reference, std::string_view digest,
                           bool deletion, std::string_view source_host) {
  impl_->events->OnHarborEvent(repo, reference, digest, deletion, source_host);
}

std::optional<LiveProgress> Engine::Progress(int64_t execution_id) const {
  return impl_->runner->Progress(execution_id);
}

void Engine::ForgetDestination(int64_t registry_id) { impl_->runner->ForgetDestination(registry_id); }

}  // namespace pier::replication
