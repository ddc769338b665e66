#pragma once
// ReplicationMetrics: the replication engine's reports (ReplicationObserver)
// as Prometheus families. Labels are the engine's bounded names only:
// destination (endpoint name), policy (policy name), outcome, reason,
// trigger, status.
//
//   pier_replication_sent_bytes_total{destination,policy}            counter
//   pier_replication_blobs_total{destination,policy,outcome}         counter  uploaded|skipped|mounted|failed
//   pier_replication_failures_total{destination,policy,reason}       counter  one per failed attempt
//   pier_replication_rate_bytes_per_second{destination}              gauge    smoothed, see below
//   pier_replication_pending_bytes{destination,policy}               gauge
//   pier_replication_pending_blobs{destination,policy}               gauge
//   pier_replication_eta_seconds{destination}                        gauge    see below
//   pier_replication_executions_started_total{policy,trigger}        counter
//   pier_replication_executions_finished_total{policy,status}        counter
//   pier_replication_executions_claimed_total{replica,policy}        counter  taken up by this process: left by
//                                                                             a restart or a dead leader, or
//                                                                             started through another replica
//   pier_replication_executions_in_progress{policy}                  gauge
//   pier_replication_tasks_finished_total{policy,status}             counter
//   pier_replication_tasks_in_progress{policy}                       gauge
//   pier_replication_task_duration_seconds{policy}                   histogram (0.1 s .. 1 day)
//   pier_replication_blob_transfer_duration_seconds{destination}     histogram (0.1 s .. 1 day)
//   pier_replication_resumed_uploads_total{destination}              counter
//   pier_replication_resume_saved_bytes_total{destination}           counter
//   pier_replication_transfers_in_flight{destination}                gauge
//   pier_replication_destination_up{destination}                     gauge    1 reachable, 0 not
//   pier_replication_transcode_saved_bytes_total{destination}        counter  gzip bytes not sent because
//                                                                             the layer went as zstd
//
// Sent: blob bytes the destination acknowledged (a PATCH/PUT answered, or an
// upload's Range), as in the execution JSON; never socket writes.
// Rate: an EWMA (rate.h) of each destination's sent bytes, sampled every
// second by Tick() with a 15 s time constant, only while the destination is
// busy (a transfer in flight, started or acknowledged since the last tick):
// it starts at the rate between the first acknowledgements 2 s or more
// apart (before that there is none; never an EWMA climbing from 0, which
// read 72 s for a 14 s run),
// and idle time (between images, waiting on the gate) is not a sample. It
// is 0 once nothing is pending and nothing moves, and reads 0 below 1 B/s.
// ETA: the destination's pending bytes (all policies) ÷ that rate; 0 when
// nothing is pending, +Inf when bytes are pending but there is no rate yet
// (nothing acknowledged since it became busy) or it fell to 0 (stalled).
//
// Every observer method is thread-safe and cheap (atomic increments, a
// short mutex for the rate/ETA state).
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "metrics/rate.h"
#include "replication/observer.h"

namespace pier::metrics {

class ReplicationMetrics : public replication::ReplicationObserver {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::chrono::seconds kRateTimeConstant{15};

  // Registers the families in `registry`, which it keeps alive.
  // `replica`: this replica's name when replicas share their records (the
  // claimed executions' label), else empty.
  explicit ReplicationMetrics(std::shared_ptr<prometheus::Registry> registry, std::string replica = "");
  ~ReplicationMetrics() override;
  ReplicationMetrics(const ReplicationMetrics&) = delete;
  ReplicationMetrics& operator=(const ReplicationMetrics&) = delete;

  // Starts a thread calling Tick(now) every second until destruction.
  // Without it (tests), call Tick yourself.
  void StartTicker();
  // Samples every destination's sent bytes into its rate and refreshes the
  // rate and ETA gauges.
  void Tick(Clock::time_point now);

  // --- ReplicationObserver ---
  void OnBytesSent(std::string_view destination, std::string_view policy, uint64_t bytes) override;
  void OnBlob(std::string_view destination, std::string_view policy, replication::BlobOutcome outcome,
              uint64_t bytes, double seconds) override;
  void OnFailure(std::string_view destination, std::string_view policy,
                 replication::FailureReason reason) override;
  void OnResume(std::string_view destination, uint64_t saved_bytes) override;
  void OnExecutionClaimed(std::string_view policy) override;
  void OnTranscodeSaved(std::string_view destination, uint64_t bytes) override;
  void OnTransferStart(std::string_view destination) override;
  void OnTransferEnd(std::string_view destination) override;
  void SetPending(std::string_view destination, std::string_view policy, uint64_t bytes,
                  uint64_t blobs) override;
  void SetDestinationUp(std::string_view destination, bool up) override;
  void OnExecutionStart(std::string_view policy, std::string_view trigger) override;
  void OnExecutionFinish(std::string_view policy, std::string_view status) override;
  void OnTaskStart(std::string_view policy) override;
  void OnTaskFinish(std::string_view policy, std::string_view status, double seconds) override;
  // Creates every series of the (destination, policy) at zero: each outcome,
  // each failure reason, each trigger and final status, the gauges and
  // histograms. destination_up is left to the health check (unknown ≠ down).
  void OnPolicyKnown(std::string_view destination, std::string_view policy) override;

 private:
  // Per destination: what the rate and ETA are computed from.
  struct Destination {
    Destination() : rate(kRateTimeConstant) {}
    uint64_t sent = 0;                        // bytes, all policies
    std::map<std::string, uint64_t> pending;  // policy → bytes
    EwmaRate rate;
    int64_t in_flight = 0;         // transfers now
    bool started = false;          // a transfer started since the last tick
    uint64_t sent_at_tick = 0;     // `sent` at the last tick
    bool busy = false;             // at the last tick
    Clock::time_point busy_since;  // when it became busy
    uint64_t sent_busy_since = 0;  // `sent` then
    // The first tick that saw bytes acknowledged since it became busy: the
    // first rate is measured from it to a later one 2 s on or more.
    std::optional<std::pair<Clock::time_point, uint64_t>> first_step;
  };
  Destination& DestinationLocked(std::string_view name);  // mu_ held
  void RefreshLocked(const std::string& name, const Destination& d);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Counter>& sent_bytes_;
  prometheus::Family<prometheus::Counter>& transcode_saved_;
  prometheus::Family<prometheus::Counter>& blobs_;
  prometheus::Family<prometheus::Counter>& failures_;
  prometheus::Family<prometheus::Gauge>& rate_;
  prometheus::Family<prometheus::Gauge>& pending_bytes_;
  prometheus::Family<prometheus::Gauge>& pending_blobs_;
  prometheus::Family<prometheus::Gauge>& eta_;
  prometheus::Family<prometheus::Counter>& executions_started_;
  prometheus::Family<prometheus::Counter>& executions_finished_;
  prometheus::Family<prometheus::Gauge>& executions_in_progress_;
  prometheus::Family<prometheus::Counter>& tasks_finished_;
  prometheus::Family<prometheus::Gauge>& tasks_in_progress_;
  prometheus::Family<prometheus::Histogram>& task_duration_;
  prometheus::Family<prometheus::Histogram>& blob_transfer_duration_;
  prometheus::Family<prometheus::Counter>& resumed_uploads_;
  const std::string replica_;
  prometheus::Family<prometheus::Counter>& executions_claimed_;
  prometheus::Family<prometheus::Counter>& resume_saved_bytes_;
  prometheus::Family<prometheus::Gauge>& transfers_in_flight_;
  prometheus::Family<prometheus::Gauge>& destination_up_;

  std::mutex mu_;
  std::map<std::string, Destination, std::less<>> destinations_;

  std::mutex ticker_mu_;
  std::condition_variable ticker_cv_;
  bool stopping_ = false;
  std::thread ticker_;
};

}  // namespace pier::metrics
