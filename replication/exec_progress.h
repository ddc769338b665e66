#pragma once
// ExecProgress: one execution's byte accounting (TransferProgress in
// execution.h), kept per digest so a blob several tasks need counts once
// and bytes re-sent after the destination lost an upload session are not
// counted twice. Thread-safe (one short mutex; no call-outs while held).
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

#include "replication/execution.h"
#include "replication/observer.h"

namespace pier::replication {

class ExecProgress {
 public:
  // A task needs this blob. True when the execution did not count it yet.
  bool Add(const std::string& digest, uint64_t size);
  // The destination acknowledged `bytes` more of the blob (a chunk or the
  // whole blob answered, or an upload's Range moved on; the sender counts
  // each offset once, see blob_sender.h). Counted up to the blob's size.
  void Acknowledged(const std::string& digest, uint64_t bytes);
  // `bytes` of the blob were at the destination before this execution sent
  // any (an upload resumed from an earlier run): skipped, not sent.
  void AlreadyThere(const std::string& digest, uint64_t bytes);
  // The blob reached its outcome. Uploaded: any rest counts as sent;
  // skipped or mounted: as skipped; failed (or stopped): stays pending.
  // Only the first outcome of a digest counts.
  void Finished(const std::string& digest, BlobOutcome outcome);

  TransferProgress Snapshot() const;
  // Pending bytes of blobs still on their way (failed ones excluded): what
  // the ETA is about.
  uint64_t MovingBytes() const;
  // Every byte the destination acknowledged, as acknowledged: what crossed
  // the link. Not bytes_sent, which counts a blob at its planned size — a
  // gzip layer sent as its smaller zstd copy counts whole there.
  uint64_t WireBytes() const;

 private:
  struct Blob {
    uint64_t size = 0;
    uint64_t counted = 0;  // bytes moved out of pending (sent or skipped)
    bool finished = false;
    bool failed = false;
  };
  void MoveLocked(Blob& b, uint64_t upto, uint64_t* into);

  mutable std::mutex mu_;
  std::map<std::string, Blob> blobs_;
  TransferProgress p_;
  uint64_t failed_pending_ = 0;
  uint64_t wire_ = 0;
};

}  // namespace pier::replication
