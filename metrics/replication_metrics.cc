#include "metrics/replication_metrics.h"

#include "metrics/buckets.h"

namespace pier::metrics {
namespace {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

std::string S(std::string_view v) { return std::string(v); }

}  // namespace

ReplicationMetrics::ReplicationMetrics(std::shared_ptr<prometheus::Registry> registry, std::string replica)
    : registry_(std::move(registry)),
      sent_bytes_(BuildCounter()
                      .Name("pier_replication_sent_bytes_total")
                      .Help("Blob body bytes a destination acknowledged (a chunk or blob answered).")
                      .Register(*registry_)),
      transcode_saved_(BuildCounter()
                           .Name("pier_replication_transcode_saved_bytes_total")
                           .Help("Bytes not sent to a destination because gzip layers went as their smaller zstd "
                                 "copies (policies with \"compression\").")
                           .Register(*registry_)),
      blobs_(
          BuildCounter()
              .Name("pier_replication_blobs_total")
              .Help(
                  "Blobs that reached their outcome at a destination: uploaded, skipped, mounted or failed.")
              .Register(*registry_)),
      failures_(BuildCounter()
                    .Name("pier_replication_failures_total")
                    .Help("Failed replication attempts by reason (each attempt counts, retried or not).")
                    .Register(*registry_)),
      rate_(BuildGauge()
                .Name("pier_replication_rate_bytes_per_second")
                .Help("Smoothed rate of acknowledged bytes to a destination while it is busy (EWMA, 15 s time "
                      "constant; 0 below 1 B/s and when idle).")
                .Register(*registry_)),
      pending_bytes_(BuildGauge()
                         .Name("pier_replication_pending_bytes")
                         .Help("Bytes a running execution still has to send to a destination.")
                         .Register(*registry_)),
      pending_blobs_(BuildGauge()
                         .Name("pier_replication_pending_blobs")
                         .Help("Blobs a running execution still has to bring to a destination.")
                         .Register(*registry_)),
      eta_(
          BuildGauge()
              .Name("pier_replication_eta_seconds")
              .Help("Pending bytes of a destination divided by its smoothed rate; 0 when nothing is pending, "
                    "+Inf when bytes are pending and the rate is 0.")
              .Register(*registry_)),
      executions_started_(BuildCounter()
                              .Name("pier_replication_executions_started_total")
                              .Help("Replication executions started, by trigger.")
                              .Register(*registry_)),
      executions_finished_(BuildCounter()
                               .Name("pier_replication_executions_finished_total")
                               .Help("Replication executions finished, by final status.")
                               .Register(*registry_)),
      executions_in_progress_(BuildGauge()
                                  .Name("pier_replication_executions_in_progress")
                                  .Help("Replication executions running.")
                                  .Register(*registry_)),
      tasks_finished_(BuildCounter()
                          .Name("pier_replication_tasks_finished_total")
                          .Help("Replication tasks finished, by final status.")
                          .Register(*registry_)),
      tasks_in_progress_(BuildGauge()
                             .Name("pier_replication_tasks_in_progress")
                             .Help("Replication tasks running.")
                             .Register(*registry_)),
      task_duration_(BuildHistogram()
                         .Name("pier_replication_task_duration_seconds")
                         .Help("Duration of finished replication tasks.")
                         .Register(*registry_)),
      blob_transfer_duration_(BuildHistogram()
                                  .Name("pier_replication_blob_transfer_duration_seconds")
                                  .Help("Time from a blob's first attempt to its upload completing.")
                                  .Register(*registry_)),
      resumed_uploads_(BuildCounter()
                           .Name("pier_replication_resumed_uploads_total")
                           .Help("Uploads continued from a committed offset instead of byte 0.")
                           .Register(*registry_)),
      replica_(std::move(replica)),
      executions_claimed_(BuildCounter()
                              .Name("pier_replication_executions_claimed_total")
                              .Help("Executions this process took up without starting them: left unfinished by a "
                                    "restart or by a leader that went, or started through another replica.")
                              .Register(*registry_)),
      resume_saved_bytes_(BuildCounter()
                              .Name("pier_replication_resume_saved_bytes_total")
                              .Help("Bytes not sent again thanks to resumed uploads.")
                              .Register(*registry_)),
      transfers_in_flight_(BuildGauge()
                               .Name("pier_replication_transfers_in_flight")
                               .Help("Blob transfers to a destination in progress.")
                               .Register(*registry_)),
      destination_up_(
          BuildGauge()
              .Name("pier_replication_destination_up")
              .Help("Whether the destination answered its last request (1) or could not be reached (0).")
              .Register(*registry_)) {}

ReplicationMetrics::~ReplicationMetrics() {
  {
    std::lock_guard lock(ticker_mu_);
    stopping_ = true;
  }
  ticker_cv_.notify_all();
  if (ticker_.joinable()) ticker_.join();
}

void ReplicationMetrics::StartTicker() {
  std::lock_guard lock(ticker_mu_);
  if (ticker_.joinable() || stopping_) return;
  ticker_ = std::thread([this] {
    std::unique_lock lock(ticker_mu_);
    auto next = Clock::now();
    while (!stopping_) {
      next += std::chrono::seconds(1);
      if (ticker_cv_.wait_until(lock, next, [this] { return stopping_; })) break;
      lock.unlock();
      Tick(Clock::now());
      lock.lock();
    }
  });
}

ReplicationMetrics::Destination& ReplicationMetrics::DestinationLocked(std::string_view name) {
  auto it = destinations_.find(name);
  if (it == destinations_.end()) it = destinations_.emplace(std::string(name), Destination()).first;
  return it->second;
}

void ReplicationMetrics::RefreshLocked(const std::string& name, const Destination& d) {
  uint64_t pending = 0;
  for (const auto& [policy, bytes] : d.pending) pending += bytes;
  const double rate = d.rate.rate();
  rate_.Add({{"destination", name}}).Set(rate);
  eta_.Add({{"destination", name}}).Set(EtaSeconds(pending, rate));
}

void ReplicationMetrics::OnPolicyKnown(std::string_view destination, std::string_view policy) {
  using replication::BlobOutcome;
  using replication::FailureReason;
  const std::string d = S(destination), p = S(policy);
  sent_bytes_.Add({{"destination", d}, {"policy", p}});
  transcode_saved_.Add({{"destination", d}});
  for (BlobOutcome o : {BlobOutcome::kUploaded, BlobOutcome::kSkipped, BlobOutcome::kMounted, BlobOutcome::kFailed})
    blobs_.Add({{"destination", d}, {"policy", p}, {"outcome", BlobOutcomeName(o)}});
  for (FailureReason r : {FailureReason::kAuth, FailureReason::kNetwork, FailureReason::kTimeout,
                          FailureReason::kRemote4xx, FailureReason::kRemote5xx, FailureReason::kDigest,
                          FailureReason::kOther})
    failures_.Add({{"destination", d}, {"policy", p}, {"reason", FailureReasonName(r)}});
  pending_bytes_.Add({{"destination", d}, {"policy", p}});
  pending_blobs_.Add({{"destination", d}, {"policy", p}});
  for (const char* trigger : {"manual", "scheduled", "event_based"})
    executions_started_.Add({{"policy", p}, {"trigger", trigger}});
  for (const char* status : {"Succeed", "Failed", "Stopped"}) {
    executions_finished_.Add({{"policy", p}, {"status", status}});
    tasks_finished_.Add({{"policy", p}, {"status", status}});
  }
  executions_in_progress_.Add({{"policy", p}});
  tasks_in_progress_.Add({{"policy", p}});
  task_duration_.Add({{"policy", p}}, SlowDurationBuckets());
  blob_transfer_duration_.Add({{"destination", d}}, SlowDurationBuckets());
  resumed_uploads_.Add({{"destination", d}});
  resume_saved_bytes_.Add({{"destination", d}});
  transfers_in_flight_.Add({{"destination", d}});
  std::lock_guard lock(mu_);
  RefreshLocked(d, DestinationLocked(d));  // rate 0, ETA 0
}

void ReplicationMetrics::Tick(Clock::time_point now) {
  std::lock_guard lock(mu_);
  for (auto& [name, d] : destinations_) {
    const bool busy = d.in_flight > 0 || d.started || d.sent > d.sent_at_tick;
    d.started = false;
    d.sent_at_tick = d.sent;
    if (busy && !d.busy) {
      d.busy_since = now;
      d.sent_busy_since = d.sent;
      if (d.rate.seeded()) d.rate.Rebase(d.sent, now);  // the idle gap is no sample
    } else if (busy && !d.rate.seeded()) {
      // Acknowledgements come a chunk at a time (8 MiB can take seconds): the
      // first rate is measured between two of them at least 2 s apart. Until
      // then there is none (ETA +Inf): an average that includes handshakes
      // and the first chunk in flight read 4x too slow.
      if (d.sent > d.sent_busy_since && !d.first_step) {
        d.first_step.emplace(now, d.sent);
      } else if (d.first_step && d.sent > d.first_step->second && now - d.first_step->first >= std::chrono::seconds(2)) {
        double secs = std::chrono::duration<double>(now - d.first_step->first).count();
        d.rate.Seed(static_cast<double>(d.sent - d.first_step->second) / secs, d.sent, now);
      }
    } else if (busy) {
      d.rate.Update(d.sent, now);
    } else {
      uint64_t pending = 0;
      for (const auto& [policy, bytes] : d.pending) pending += bytes;
      if (pending == 0) {  // all done: the next run starts afresh
        d.rate.Reset();
        d.first_step.reset();
      }
    }
    d.busy = busy;
    RefreshLocked(name, d);
  }
}

void ReplicationMetrics::OnBytesSent(std::string_view destination, std::string_view policy, uint64_t bytes) {
  sent_bytes_.Add({{"destination", S(destination)}, {"policy", S(policy)}})
      .Increment(static_cast<double>(bytes));
  std::lock_guard lock(mu_);
  DestinationLocked(destination).sent += bytes;
}

void ReplicationMetrics::OnBlob(std::string_view destination, std::string_view policy,
                                replication::BlobOutcome outcome, uint64_t /*bytes*/, double seconds) {
  blobs_.Add({{"destination", S(destination)}, {"policy", S(policy)}, {"outcome", BlobOutcomeName(outcome)}})
      .Increment();
  if (outcome == replication::BlobOutcome::kUploaded) {
    blob_transfer_duration_.Add({{"destination", S(destination)}}, SlowDurationBuckets()).Observe(seconds);
  }
}

void ReplicationMetrics::OnFailure(std::string_view destination, std::string_view policy,
                                   replication::FailureReason reason) {
  failures_
      .Add({{"destination", S(destination)}, {"policy", S(policy)}, {"reason", FailureReasonName(reason)}})
      .Increment();
}

void ReplicationMetrics::OnTranscodeSaved(std::string_view destination, uint64_t bytes) {
  transcode_saved_.Add({{"destination", S(destination)}}).Increment(static_cast<double>(bytes));
}

void ReplicationMetrics::OnResume(std::string_view destination, uint64_t saved_bytes) {
  resumed_uploads_.Add({{"destination", S(destination)}}).Increment();
  resume_saved_bytes_.Add({{"destination", S(destination)}}).Increment(static_cast<double>(saved_bytes));
}

void ReplicationMetrics::OnExecutionClaimed(std::string_view policy) {
  executions_claimed_.Add({{"replica", replica_}, {"policy", S(policy)}}).Increment();
}

void ReplicationMetrics::OnTransferStart(std::string_view destination) {
  transfers_in_flight_.Add({{"destination", S(destination)}}).Increment();
  std::lock_guard lock(mu_);
  Destination& d = DestinationLocked(destination);
  d.in_flight += 1;
  d.started = true;
}

void ReplicationMetrics::OnTransferEnd(std::string_view destination) {
  transfers_in_flight_.Add({{"destination", S(destination)}}).Decrement();
  std::lock_guard lock(mu_);
  Destination& d = DestinationLocked(destination);
  d.in_flight -= 1;
}

void ReplicationMetrics::SetPending(std::string_view destination, std::string_view policy, uint64_t bytes,
                                    uint64_t blobs) {
  const prometheus::Labels labels{{"destination", S(destination)}, {"policy", S(policy)}};
  pending_bytes_.Add(labels).Set(static_cast<double>(bytes));
  pending_blobs_.Add(labels).Set(static_cast<double>(blobs));
  std::lock_guard lock(mu_);
  Destination& d = DestinationLocked(destination);
  d.pending[S(policy)] = bytes;
  RefreshLocked(S(destination), d);  // the ETA follows at once, not at the next tick
}

void ReplicationMetrics::SetDestinationUp(std::string_view destination, bool up) {
  destination_up_.Add({{"destination", S(destination)}}).Set(up ? 1 : 0);
}

void ReplicationMetrics::OnExecutionStart(std::string_view policy, std::string_view trigger) {
  executions_started_.Add({{"policy", S(policy)}, {"trigger", S(trigger)}}).Increment();
  executions_in_progress_.Add({{"policy", S(policy)}}).Increment();
}

void ReplicationMetrics::OnExecutionFinish(std::string_view policy, std::string_view status) {
  executions_finished_.Add({{"policy", S(policy)}, {"status", S(status)}}).Increment();
  executions_in_progress_.Add({{"policy", S(policy)}}).Decrement();
}

void ReplicationMetrics::OnTaskStart(std::string_view policy) {
  tasks_in_progress_.Add({{"policy", S(policy)}}).Increment();
}

void ReplicationMetrics::OnTaskFinish(std::string_view policy, std::string_view status, double seconds) {
  tasks_finished_.Add({{"policy", S(policy)}, {"status", S(status)}}).Increment();
  tasks_in_progress_.Add({{"policy", S(policy)}}).Decrement();
  task_duration_.Add({{"policy", S(policy)}}, SlowDurationBuckets()).Observe(seconds);
}

}  // namespace pier::metrics
