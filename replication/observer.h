#pragma once
// ReplicationObserver: what the replication engine reports as it works, for
// metrics (metrics/ implements it with Prometheus families) and progress
// displays. The engine never depends on how the reports are used.
//
// Promises of the engine to an observer:
//  - every method may be called from many worker threads at once, so an
//    implementation must be thread-safe and cheap (no I/O, no blocking);
//  - labels are bounded: `destination` is an endpoint name, `policy` a
//    policy name; never digests or repository names;
//  - OnBytesSent reports blob body bytes as they leave (after pacing), so
//    a rate computed from it is the wire rate of blob data;
//  - SetPending is the whole remaining work of one (destination, policy):
//    bytes and blobs not yet at the destination, updated as it changes and
//    set to zero when an execution ends.
#include <cstdint>
#include <string_view>

namespace pier::replication {

// What happened to one blob of an image on its way to a destination.
enum class BlobOutcome {
  kUploaded,  // bytes were sent
  kSkipped,   // the destination already had it (known index or HEAD)
  kMounted,   // linked from another repository at the destination
  kFailed,    // gave up on it (the task fails)
};
const char* BlobOutcomeName(BlobOutcome o);  // "uploaded", "skipped", "mounted", "failed"

// Why an attempt failed (each failed attempt counts once, retried or not).
enum class FailureReason {
  kAuth,       // credentials refused
  kNetwork,    // connect, reset, TLS
  kTimeout,    // no progress for the no-progress timeout
  kRemote4xx,  // the destination refused the request (includes 429)
  kRemote5xx,  // the destination failed
  kDigest,     // content did not hash to its digest
  kOther,      // anything else (local errors, protocol errors)
};
const char* FailureReasonName(FailureReason r);  // "auth", "network", "timeout", "remote_4xx", "remote_5xx", "digest", "other"

class ReplicationObserver {
 public:
  virtual ~ReplicationObserver() = default;

  // Blob body bytes that left for the destination.
  virtual void OnBytesSent(std::string_view destination, std::string_view policy, uint64_t bytes) = 0;
  // A blob reached its final outcome; `seconds` is the time from its first
  // attempt to the outcome, `bytes` its size.
  virtual void OnBlob(std::string_view destination, std::string_view policy, BlobOutcome outcome,
                      uint64_t bytes, double seconds) = 0;
  // One failed attempt (of a blob, a manifest or a listing).
  virtual void OnFailure(std::string_view destination, std::string_view policy, FailureReason reason) = 0;
  // An upload continued from a committed offset instead of byte 0;
  // `saved_bytes` is that offset (bytes not sent again).
  virtual void OnResume(std::string_view destination, uint64_t saved_bytes) = 0;
  // A blob transfer started / ended (in-flight gauge).
  virtual void OnTransferStart(std::string_view destination) = 0;
  virtual void OnTransferEnd(std::string_view destination) = 0;
  // Remaining work of one execution's (destination, policy).
  virtual void SetPending(std::string_view destination, std::string_view policy, uint64_t bytes,
                          uint64_t blobs) = 0;
  // Whether the destination can be used. Two sources report it: the engine
  // after each request to it (network, TLS or timeout failures set 0, any
  // HTTP answer sets 1), and the endpoint health check (health_checker.h)
  // after each ping (1 only when it answered as a registry and took the
  // credentials, as Harbor's "healthy").
  virtual void SetDestinationUp(std::string_view destination, bool up) = 0;
  // Executions: one start, then exactly one finish with Harbor's final
  // status ("Succeed", "Failed", "Stopped"). `trigger` is manual|scheduled|event_based.
  virtual void OnExecutionStart(std::string_view policy, std::string_view trigger) = 0;
  virtual void OnExecutionFinish(std::string_view policy, std::string_view status) = 0;
  // This process took up an execution it did not start: one left
  // unfinished by a restart, by a leader that died or stepped down, or
  // recorded through another replica's API (the leader runs them all).
  virtual void OnExecutionClaimed(std::string_view /*policy*/) {}
  // Tasks: one start, one finish with "Succeed", "Failed" or "Stopped".
  virtual void OnTaskStart(std::string_view policy) = 0;
  virtual void OnTaskFinish(std::string_view policy, std::string_view status, double seconds) = 0;
  // An enabled policy and the remote registry it talks to exist (at start):
  // an observer may show their series at zero before anything replicates,
  // so dashboards have data and rate() alerts can fire from the first second.
  virtual void OnPolicyKnown(std::string_view /*destination*/, std::string_view /*policy*/) {}
  // A layer went to `destination` as its zstd copy: `bytes` fewer than the
  // gzip layer would have taken (transcode_push.h).
  virtual void OnTranscodeSaved(std::string_view /*destination*/, uint64_t /*bytes*/) {}
};

// An observer that ignores everything (the default when metrics are off).
class NullObserver : public ReplicationObserver {
 public:
  void OnBytesSent(std::string_view, std::string_view, uint64_t) override {}
  void OnBlob(std::string_view, std::string_view, BlobOutcome, uint64_t, double) override {}
  void OnFailure(std::string_view, std::string_view, FailureReason) override {}
  void OnResume(std::string_view, uint64_t) override {}
  void OnTransferStart(std::string_view) override {}
  void OnTransferEnd(std::string_view) override {}
  void SetPending(std::string_view, std::string_view, uint64_t, uint64_t) override {}
  void SetDestinationUp(std::string_view, bool) override {}
  void OnExecutionStart(std::string_view, std::string_view) override {}
  void OnExecutionFinish(std::string_view, std::string_view) override {}
  void OnTaskStart(std::string_view) override {}
  void OnTaskFinish(std::string_view, std::string_view, double) override {}
};

}  // namespace pier::replication
